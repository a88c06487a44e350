//! The event bus's integration tests: one binary, a module per area.

mod graph;
