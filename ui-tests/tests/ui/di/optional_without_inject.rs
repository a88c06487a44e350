use cortex_di::injectable;

struct Cache;

#[injectable]
struct Service {
    cache: Option<Cache>,
}

fn main() {}
