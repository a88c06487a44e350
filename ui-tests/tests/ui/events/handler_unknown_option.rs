use cortex::prelude::*;

#[derive(Event, serde::Serialize, serde::Deserialize)]
#[event(topic = "user.created")]
struct UserCreated;

#[event_handler(retrys = 3)]
async fn welcome(_user: Envelope<UserCreated>) {}

fn main() {}
