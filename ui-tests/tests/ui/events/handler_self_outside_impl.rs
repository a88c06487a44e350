use cortex::prelude::*;

#[derive(Event, serde::Serialize, serde::Deserialize)]
#[event(topic = "order.placed")]
struct OrderPlaced;

#[injectable]
struct Stock;

impl Stock {
    #[event_handler]
    async fn reserve(&self, _order: Envelope<OrderPlaced>) {}
}

fn main() {}
