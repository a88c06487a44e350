//! The API-key guard on destructive routes.

use cortex::prelude::*;
use http::request::Parts;

/// The header that carries the key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Lets a request through when its `x-api-key` header holds `todo.api_key` from the
/// configuration; answers `401 Unauthorized` otherwise.
///
/// Injectable, so routes use it with `#[guard(inject = ApiKeyGuard)]` and the key comes from
/// `cortex.toml` (or `CORTEX_TODO__API_KEY` in production; keys named `*api_key*` are masked
/// wherever the configuration is shown).
#[injectable]
pub struct ApiKeyGuard {
    #[inject(config = "todo.api_key")]
    key: String,
}

impl Guard for ApiKeyGuard {
    async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {
        match request.headers.get(API_KEY_HEADER) {
            None => Err(HttpError::unauthorized(format!(
                "send the API key in the `{API_KEY_HEADER}` header"
            ))),
            Some(given) if constant_time_eq(given.as_bytes(), self.key.as_bytes()) => Ok(()),
            Some(_) => Err(HttpError::unauthorized("the API key is not valid")),
        }
    }
}

/// Compares without stopping at the first difference, so response times do not reveal how much
/// of a guessed key is right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
