//! The auth test binary: every area adds its module here.

mod refresh;
#[allow(dead_code)]
mod support;
