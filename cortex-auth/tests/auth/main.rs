//! The auth test binary: every area adds its module here.

#[allow(dead_code, unreachable_pub)]
mod support;
mod core;
