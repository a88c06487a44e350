use std::rc::Rc;

use cortex::prelude::*;

#[controller("/users")]
struct UserController;

#[routes]
impl UserController {
    #[get("/count")]
    async fn count(&self) -> String {
        let shared = Rc::new(1);
        tokio::task::yield_now().await;
        shared.to_string()
    }
}

fn main() {}
