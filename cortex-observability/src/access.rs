//! Who may read the operational endpoints (`/metrics`, `/_cortex`): [`AccessConfig`], checked by
//! [`Access::check`].
//!
//! Open by default on the main port in `dev` and `test`; `token` puts them behind a bearer token
//! (what Prometheus' `authorization` scrape setting sends), compared in constant time. A refusal
//! is a 401 problem with `WWW-Authenticate: Bearer`, and says nothing about the token.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use cortex_core::http::Problem;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;

/// Who may read an operational endpoint: `[observability.metrics.access]`,
/// `[observability.dashboard.access]`.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_observability::ObservabilityConfig;
///
/// let config = Config::from_toml(
///     "[observability.metrics.access]\ntoken = 'a-long-random-scrape-token'",
/// )?;
/// let observability = ObservabilityConfig::from_config(&config)?;
/// assert!(observability.metrics.access.token.is_some());
/// // The token is masked wherever the configuration is shown.
/// assert!(!config.redacted().to_string().contains("a-long-random-scrape-token"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AccessConfig {
    /// A bearer token the request must carry (`Authorization: Bearer <token>`); open when unset.
    pub token: Option<String>,
}

/// The check an [`AccessConfig`] describes, ready to run per request.
///
/// ```
/// use cortex_observability::access::{Access, AccessConfig};
/// use http::HeaderMap;
///
/// let mut config = AccessConfig::default();
/// config.token = Some("s3cret-token".into());
/// let access = Access::new(&config);
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(access.check(&headers).unwrap_err().status(), 401);
/// headers.insert("authorization", "Bearer s3cret-token".parse().unwrap());
/// assert!(access.check(&headers).is_ok());
/// ```
#[derive(Clone, Default)]
pub struct Access {
    token: Option<Arc<[u8]>>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("token", &self.token.as_ref().map(|_| "********"))
            .finish()
    }
}

impl Access {
    /// The check for `config`.
    pub fn new(config: &AccessConfig) -> Self {
        Access {
            token: config.token.as_deref().map(|t| Arc::from(t.as_bytes())),
        }
    }

    /// Whether a token is required.
    pub fn is_protected(&self) -> bool {
        self.token.is_some()
    }

    /// `Ok` when the request may read the endpoint, else the 401 to answer.
    // The refusal is a whole response, built only when refusing.
    #[allow(clippy::result_large_err)]
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Response> {
        let Some(expected) = &self.token else {
            return Ok(());
        };
        let presented = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
        match presented {
            Some(token) if constant_time_eq(token, expected) => Ok(()),
            _ => Err(refusal()),
        }
    }
}

/// Compares without returning early on the first differing byte (the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn refusal() -> Response {
    let mut response = Problem::new(StatusCode::UNAUTHORIZED)
        .with_detail("this endpoint needs the operations token")
        .into_response();
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_token(token: &str) -> Access {
        Access::new(&AccessConfig {
            token: Some(token.into()),
        })
    }

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization.parse().unwrap());
        headers
    }

    #[test]
    fn open_without_a_token() {
        let access = Access::new(&AccessConfig::default());
        assert!(!access.is_protected());
        assert!(access.check(&HeaderMap::new()).is_ok());
    }

    #[test]
    fn the_right_bearer_token_passes_and_anything_else_is_a_401() {
        let access = with_token("abc123");
        assert!(access.is_protected());
        assert!(access.check(&headers("Bearer abc123")).is_ok());
        for wrong in [
            "Bearer abc124",
            "Bearer abc12",
            "Bearer abc1234",
            "Basic abc123",
            "abc123",
            "Bearer ",
        ] {
            let refused = access.check(&headers(wrong)).unwrap_err();
            assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{wrong}");
            assert_eq!(refused.headers()[WWW_AUTHENTICATE], "Bearer", "{wrong}");
        }
        assert!(access.check(&HeaderMap::new()).is_err());
    }

    #[test]
    fn debug_masks_the_token() {
        let shown = format!("{:?}", with_token("abc123"));
        assert!(!shown.contains("abc123"), "{shown}");
        assert!(
            shown.contains("Access") && shown.contains("********"),
            "{shown}"
        );
    }

    #[test]
    fn constant_time_eq_compares_every_byte_and_the_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"xbc", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        // Two differences that would cancel out if they were combined with `^`.
        assert!(!constant_time_eq(b"ab", b"ba"));
        assert!(constant_time_eq(b"", b""));
    }
}
