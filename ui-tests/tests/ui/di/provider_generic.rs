use cortex_di::provider;

#[provider]
fn make<T: Default + Send + Sync + 'static>() -> T {
    T::default()
}

fn main() {}
