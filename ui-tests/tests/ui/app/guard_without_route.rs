use cortex::prelude::*;

struct AdminOnly;

#[controller("/users")]
struct UserController;

#[routes]
impl UserController {
    #[get("/")]
    async fn list(&self) -> &'static str {
        "all"
    }

    #[guard(AdminOnly)]
    fn helper(&self) -> u32 {
        7
    }
}

fn main() {}
