use cortex_di::{Inject, injectable};

#[injectable]
struct Repository<T: Send + Sync + 'static> {
    inner: Inject<T>,
}

fn main() {}
