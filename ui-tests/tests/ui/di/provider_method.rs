use cortex_di::provider;

struct Pool;
struct Database;

impl Database {
    #[provider]
    fn pool(&self) -> Pool {
        Pool
    }
}

fn main() {}
