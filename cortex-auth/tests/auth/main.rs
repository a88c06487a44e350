//! The auth test binary: every area adds its module here.

#[allow(dead_code)]
mod support;
