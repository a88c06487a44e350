//! cortex-events' integration tests: one binary, one module per area.

#[cfg(feature = "redis")]
mod redis;
