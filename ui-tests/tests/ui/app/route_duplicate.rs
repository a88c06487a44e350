use cortex::prelude::*;

#[controller("/users")]
struct UserController;

#[routes]
impl UserController {
    #[get("/")]
    async fn list(&self) -> &'static str {
        "all"
    }

    #[get("/")]
    async fn everyone(&self) -> &'static str {
        "everyone"
    }
}

fn main() {}
