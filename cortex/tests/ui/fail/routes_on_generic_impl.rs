use cortex::prelude::*;

#[controller("/users")]
struct UserController;

#[routes]
impl<T> UserController {
    #[get("/")]
    async fn list(&self) -> &'static str {
        "all"
    }
}

fn main() {}
