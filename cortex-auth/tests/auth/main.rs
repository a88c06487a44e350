//! The auth test binary: every area adds its module here.

mod passwords;
#[allow(dead_code)]
mod support;
mod throttle;
