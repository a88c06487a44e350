use cortex::prelude::*;

#[event_handler("user.created*")]
async fn audit(_event: Envelope<cortex::events::Json>) {}

fn main() {}
