use cortex::prelude::*;

#[controller]
struct UserController;

#[routes("/users")]
impl UserController {
    #[get("/")]
    async fn list(&self) -> &'static str {
        "all"
    }
}

fn main() {}
