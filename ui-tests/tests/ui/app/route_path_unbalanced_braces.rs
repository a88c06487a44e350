use cortex::prelude::*;

#[controller("/users")]
struct UserController;

#[routes]
impl UserController {
    #[get("/{id")]
    async fn show(&self, Path(id): Path<u32>) -> String {
        id.to_string()
    }
}

fn main() {}
