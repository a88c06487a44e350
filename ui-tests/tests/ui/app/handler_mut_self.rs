use cortex::prelude::*;

#[controller("/counter")]
struct CounterController {
    #[inject(default)]
    hits: u64,
}

#[routes]
impl CounterController {
    #[post("/")]
    async fn hit(&mut self) -> String {
        self.hits += 1;
        self.hits.to_string()
    }
}

fn main() {}
