//! Benchmarks of the event bus (see `benches/`).
