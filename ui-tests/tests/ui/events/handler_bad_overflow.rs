use cortex::prelude::*;

#[derive(Event, serde::Serialize, serde::Deserialize)]
#[event(topic = "user.created")]
struct UserCreated;

#[event_handler(capacity = 10, overflow = "drop-oldest")]
async fn welcome(_user: Envelope<UserCreated>) {}

fn main() {}
