//! The auth test binary: every area adds its module here.

mod api_keys;
mod core;
mod e2e;
mod jwt;
mod jwt_cache;
mod observe;
mod passwords;
mod refresh;
mod sessions;
#[allow(dead_code, unreachable_pub)]
mod support;
#[allow(dead_code)]
mod support_sessions;
mod throttle;
