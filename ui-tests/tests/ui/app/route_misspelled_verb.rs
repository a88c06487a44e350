use cortex::prelude::*;

#[controller("/items")]
struct ItemController;

#[routes]
impl ItemController {
    #[gte("/json")]
    async fn json(&self) -> String {
        String::new()
    }

    #[post("/")]
    #[gaurd(Admin)]
    async fn create(&self) -> String {
        String::new()
    }
}

fn main() {}
