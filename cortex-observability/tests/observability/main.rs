//! The observability crate's integration tests: one binary, a module per area.

mod dashboard;
mod metrics;
mod traces;
