use cortex_di::provider;

#[provider]
struct Clock;

fn main() {}
