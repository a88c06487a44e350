use cortex_di::{Inject, injectable};

#[injectable]
struct Clock;

#[injectable]
struct Scheduler(Inject<Clock>);

fn main() {}
