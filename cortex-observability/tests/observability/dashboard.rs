//! The operations dashboard at `/_cortex`.
