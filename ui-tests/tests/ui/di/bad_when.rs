use cortex_di::injectable;

#[injectable(when = "prod")]
struct Metrics;

fn main() {}
