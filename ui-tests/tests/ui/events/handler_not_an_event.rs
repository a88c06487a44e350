use cortex::prelude::*;

struct UserCreated;

#[event_handler]
async fn welcome(user: Envelope<UserCreated>) {}

fn main() {}
