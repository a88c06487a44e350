use cortex_di::injectable;

#[injectable(scope = "request", lazy)]
struct Audit;

fn main() {}
