//! The event bus's integration tests: one binary, one module per area.

mod bus;
mod testkit;
