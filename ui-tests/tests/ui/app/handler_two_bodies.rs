use cortex::prelude::*;

#[derive(serde::Deserialize)]
struct NewItem {
    name: String,
}

#[controller("/items")]
struct ItemController;

#[routes]
impl ItemController {
    #[post("/")]
    async fn create(&self, raw: String, Json(item): Json<NewItem>) -> String {
        format!("{raw} {}", item.name)
    }
}

fn main() {}
