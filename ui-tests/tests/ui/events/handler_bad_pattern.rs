use cortex::prelude::*;

#[event_handler("user.created*")]
async fn audit(event: Envelope<cortex::events::Json>) {}

fn main() {}
