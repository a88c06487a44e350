use cortex::prelude::*;

struct AdminOnly;

#[controller("/admin")]
struct AdminController;

#[routes]
impl AdminController {
    #[get("/")]
    #[guard(AdminOnly)]
    #[public]
    async fn dashboard(&self) -> &'static str {
        "admin"
    }
}

fn main() {}
