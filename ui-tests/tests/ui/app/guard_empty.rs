use cortex::prelude::*;

#[controller("/users")]
struct UserController;

#[routes]
impl UserController {
    #[get("/")]
    #[guard()]
    async fn list(&self) -> &'static str {
        "all"
    }
}

fn main() {}
