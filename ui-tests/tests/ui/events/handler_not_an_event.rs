use cortex::prelude::*;

struct UserCreated;

#[event_handler]
async fn welcome(_user: Envelope<UserCreated>) {}

fn main() {}
