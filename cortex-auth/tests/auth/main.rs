//! The auth test binary: every area adds its module here.

mod sessions;
#[allow(dead_code)]
mod support;
#[allow(dead_code)]
mod support_sessions;
