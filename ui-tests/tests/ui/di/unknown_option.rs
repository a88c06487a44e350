use cortex_di::injectable;

#[injectable(scop = "request")]
struct Audit;

fn main() {}
