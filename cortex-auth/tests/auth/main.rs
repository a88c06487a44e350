//! The auth test binary: every area adds its module here.

mod api_keys;
#[allow(dead_code)]
mod support;
