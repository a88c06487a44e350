use cortex::prelude::*;

#[controller("/users")]
struct UserController;

#[routes]
impl UserController {
    #[get(users)]
    async fn list(&self) -> &'static str {
        "users"
    }
}

fn main() {}
