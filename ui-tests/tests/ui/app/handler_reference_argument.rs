use cortex::prelude::*;

#[controller("/echo")]
struct EchoController;

#[routes]
impl EchoController {
    #[post("/")]
    async fn echo(&self, body: &str) -> String {
        body.to_string()
    }
}

fn main() {}
