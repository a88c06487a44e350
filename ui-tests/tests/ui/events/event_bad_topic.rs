use cortex::prelude::*;

#[derive(Event, serde::Serialize, serde::Deserialize)]
#[event(topic = "user..created")]
struct UserCreated;

fn main() {}
