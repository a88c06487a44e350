//! Helpers shared by the test modules.

use std::sync::{Arc, Mutex};

/// A log that factories and hooks append to, to check order.
#[derive(Clone, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub(crate) fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    pub(crate) fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// The line of the caller, for asserting on recorded locations.
#[track_caller]
pub(crate) fn here() -> u32 {
    std::panic::Location::caller().line()
}
