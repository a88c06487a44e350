//! cortex-events' integration tests: one binary, one module per area.

mod bus;
mod graph;
#[cfg(feature = "nats")]
mod nats;
#[cfg(feature = "redis")]
mod redis;
mod store;
mod testkit;
