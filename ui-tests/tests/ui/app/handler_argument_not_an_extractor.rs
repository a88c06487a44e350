use cortex::prelude::*;

#[controller("/users")]
struct UserController;

#[routes]
impl UserController {
    #[get("/{id}")]
    async fn show(&self, id: u32, Query(page): Query<u32>) -> String {
        format!("{id} {page}")
    }
}

fn main() {}
