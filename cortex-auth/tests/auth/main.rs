//! The auth test binary: every area adds its module here.

mod core;
#[allow(dead_code, unreachable_pub)]
mod support;
