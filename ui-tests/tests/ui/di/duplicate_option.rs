use cortex_di::injectable;

#[injectable(scope = "request", lazy = false, scope = "transient")]
struct Audit;

fn main() {}
