//! The `bearer` authenticator (`Authorization: Bearer <jwt>`) and the rate limiter's principal
//! resolver for `[http.rate_limit] key = "user"`.

use cortex_core::http::middleware::{Principal, PrincipalResolver};
use cortex_core::openapi::GuardDoc;
use cortex_core::openapi::utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{Extensions, HeaderMap};

use super::service::Jwt;
use crate::authn::Authenticator;
use crate::error::AuthFailure;
use crate::user::CurrentUser;

/// The token of `Authorization: Bearer <token>` (the scheme case-insensitive): `None` without
/// the header or with another scheme, `Some(Err)` when it is there and unreadable.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<Result<&str, AuthFailure>> {
    let value = headers.get(AUTHORIZATION)?;
    let Ok(value) = value.to_str() else {
        // Not visible ASCII: not a bearer token we could read, nor another scheme we know of.
        return if value.as_bytes().len() >= 7
            && value.as_bytes()[..7].eq_ignore_ascii_case(b"bearer ")
        {
            Some(Err(AuthFailure::Malformed("the bearer token is not ASCII")))
        } else {
            None
        };
    };
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    if token.is_empty() {
        return Some(Err(AuthFailure::Malformed("the bearer token is empty")));
    }
    Some(Ok(token))
}

/// The `bearer` authenticator: verifies `Authorization: Bearer <jwt>` with [`Jwt`].
pub(crate) struct Bearer(pub(crate) Jwt);

impl Authenticator for Bearer {
    fn name(&self) -> &'static str {
        "bearer"
    }

    async fn authenticate(
        &self,
        request: &mut Parts,
        _state: &mut Extensions,
    ) -> Result<Option<CurrentUser>, AuthFailure> {
        match bearer_token(&request.headers) {
            None => Ok(None),
            Some(Err(failure)) => {
                tracing::info!(
                    target: "cortex::auth",
                    mechanism = "bearer",
                    reason = failure.code(),
                    "access token refused: {failure}"
                );
                Err(failure)
            }
            Some(Ok(token)) => self.0.verify(token).map(Some),
        }
    }

    fn describe(&self, doc: &mut GuardDoc) {
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_string());
        doc.security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Keys `[http.rate_limit] key = "user"` by the verified bearer token's `sub`: an unverified
/// token (forged, expired) is limited by its address, as an anonymous request.
pub(crate) struct BearerPrincipal(pub(crate) Jwt);

impl PrincipalResolver for BearerPrincipal {
    fn resolve(&self, headers: &HeaderMap, _extensions: &Extensions) -> Option<Principal> {
        let token = bearer_token(headers)?.ok()?;
        let user = self.0.verify_quiet(token).ok()?;
        Some(Principal::new(user.id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &[u8]) -> Option<Result<String, &'static str>> {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, http::HeaderValue::from_bytes(value).unwrap());
        bearer_token(&headers).map(|r| r.map(str::to_string).map_err(|f| f.code()))
    }

    #[test]
    fn the_bearer_scheme_is_read_case_insensitively_and_other_schemes_are_left_alone() {
        assert_eq!(token(b"Bearer abc"), Some(Ok("abc".into())));
        assert_eq!(token(b"bearer abc"), Some(Ok("abc".into())));
        assert_eq!(token(b"BEARER  abc "), Some(Ok("abc".into())));
        assert_eq!(token(b"Basic YWRhOnB3"), None);
        assert_eq!(token(b"ApiKey k"), None);
        assert_eq!(token(b"Bearerabc"), None);
        assert_eq!(token(b"Bearer"), Some(Err("malformed")));
        assert_eq!(token(b"Bearer   "), Some(Err("malformed")));
        assert_eq!(token(b"Bearer \xff\xfe"), Some(Err("malformed")));
        assert_eq!(token(b"Basic \xff"), None);
        assert!(bearer_token(&HeaderMap::new()).is_none());
    }
}
