use cortex::prelude::*;

#[controller("/users")]
struct UserController;

#[routes]
impl UserController {
    #[route(FETCH, "/")]
    async fn list(&self) -> &'static str {
        "all"
    }
}

fn main() {}
