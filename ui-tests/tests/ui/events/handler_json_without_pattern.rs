use cortex::prelude::*;

#[event_handler]
async fn audit(event: Envelope<cortex::events::Json>) {}

fn main() {}
