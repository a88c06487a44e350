use cortex::prelude::*;

#[derive(Event, serde::Serialize, serde::Deserialize)]
struct OrderPlaced;

#[derive(Event, serde::Serialize, serde::Deserialize)]
#[event(name = "order.shipped")]
struct OrderShipped;

fn main() {}
