use cortex_di::injectable;

fn enabled() -> bool {
    true
}

#[injectable(when = enabled)]
struct Metrics;

fn main() {}
