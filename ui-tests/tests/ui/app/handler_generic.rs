use cortex::prelude::*;

#[controller("/echo")]
struct EchoController;

#[routes]
impl EchoController {
    #[post("/")]
    async fn echo<T: serde::de::DeserializeOwned + serde::Serialize>(&self, Json(body): Json<T>) -> Json<T> {
        Json(body)
    }
}

fn main() {}
