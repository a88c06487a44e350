use cortex::prelude::*;

struct NewUser {
    name: String,
}

#[controller("/users")]
struct UserController;

#[routes]
impl UserController {
    #[post("/")]
    async fn create(&self, user: NewUser) -> String {
        user.name
    }
}

fn main() {}
