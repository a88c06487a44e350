//! The auth test binary: every area adds its module here.

mod jwt;
#[allow(dead_code)]
mod support;
