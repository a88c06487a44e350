use cortex::prelude::*;

#[controller("/login")]
struct LoginController;

#[routes]
impl LoginController {
    #[get("/")]
    #[public(always)]
    async fn form(&self) -> &'static str {
        "<form>"
    }
}

fn main() {}
