use cortex::prelude::*;

#[event_handler]
async fn any<E: Event>(_event: Envelope<E>) {}

fn main() {}
