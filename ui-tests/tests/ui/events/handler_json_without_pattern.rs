use cortex::prelude::*;

#[event_handler]
async fn audit(_event: Envelope<cortex::events::Json>) {}

fn main() {}
