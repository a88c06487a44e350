//! The compile-fail cases of every Cortex macro, run by trybuild from `tests/ui.rs`; this crate
//! has no code of its own. See `tests/ui.rs` for how to run and regenerate them.
