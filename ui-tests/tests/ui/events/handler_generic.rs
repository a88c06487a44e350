use cortex::prelude::*;

#[event_handler]
async fn any<E: Event>(event: Envelope<E>) {}

fn main() {}
