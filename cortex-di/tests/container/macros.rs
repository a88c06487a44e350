//! `#[injectable]` and `#[provider]` end to end.
