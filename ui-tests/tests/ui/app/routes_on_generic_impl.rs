use cortex::prelude::*;

struct Store<T> {
    items: Vec<T>,
}

#[routes]
impl<T: Send + Sync + 'static> Store<T> {
    #[get("/")]
    async fn count(&self) -> String {
        self.items.len().to_string()
    }
}

fn main() {}
