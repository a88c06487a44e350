use cortex::prelude::*;

struct User {
    name: String,
}

#[controller("/users")]
struct UserController;

#[routes]
impl UserController {
    #[get("/me")]
    async fn me(&self) -> User {
        User { name: "Ada".into() }
    }
}

fn main() {}
