use cortex::prelude::*;

#[derive(Event, serde::Serialize, serde::Deserialize)]
#[event(topic = "user.created")]
struct UserCreated;

#[event_handler]
async fn welcome(_user: Envelope<UserCreated>) -> u32 {
    7
}

fn main() {}
