//! Benchmarks of `cortex-auth` (see `benches/`): argon2id at the defaults.
