//! The `api_key` authenticator: the key from its header (or `Authorization: ApiKey …`).

use cortex_core::openapi::GuardDoc;
use cortex_core::openapi::utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use http::Extensions;
use http::header::{AUTHORIZATION, HeaderName};
use http::request::Parts;

use super::ApiKeys;
use crate::authn::Authenticator;
use crate::error::AuthFailure;
use crate::user::CurrentUser;

/// Authenticates requests by API key: the `[auth.api_keys] header` (`x-api-key` by default), or
/// `Authorization: ApiKey <key>` for clients that can only set `Authorization`. Registered by
/// the [`AuthPlugin`](struct@crate::AuthPlugin) as `api_key` when `[auth.api_keys] enabled = true`.
///
/// ```
/// use cortex_auth::api_key::{ApiKeyAuthenticator, ApiKeys, MemoryApiKeyStore};
/// use cortex_auth::Authenticator;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = ApiKeys::new(MemoryApiKeyStore::new(), "ck")?;
/// let new = keys.create("42", "ci", ["posts:read"], None).await?;
/// let authn = ApiKeyAuthenticator::new(keys, "x-api-key")?;
///
/// let (mut parts, ()) = http::Request::get("/").header("x-api-key", &new.key).body(())?.into_parts();
/// let user = authn.authenticate(&mut parts, &mut http::Extensions::new()).await?.unwrap();
/// assert_eq!(user.id(), "42");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ApiKeyAuthenticator {
    keys: ApiKeys,
    header: HeaderName,
}

impl ApiKeyAuthenticator {
    /// Reads keys from `header` and checks them with `keys`.
    ///
    /// # Errors
    /// [`AuthError::Config`](crate::AuthError::Config) naming `auth.api_keys.header` when it is
    /// not a header name.
    pub fn new(keys: ApiKeys, header: &str) -> Result<Self, crate::AuthError> {
        Ok(ApiKeyAuthenticator {
            keys,
            header: header_name(header)?,
        })
    }

    /// The keys it checks against.
    pub fn keys(&self) -> &ApiKeys {
        &self.keys
    }

    /// The presented key, if the request carries one.
    fn presented<'a>(&self, request: &'a Parts) -> Result<Option<&'a str>, AuthFailure> {
        if let Some(value) = request.headers.get(&self.header) {
            let text = value
                .to_str()
                .map_err(|_| AuthFailure::Malformed("the API key header is not ASCII"))?;
            return Ok(Some(text.trim()));
        }
        for value in request.headers.get_all(AUTHORIZATION) {
            let Ok(text) = value.to_str() else { continue };
            let text = text.trim_start();
            if let Some((scheme, rest)) = text.split_once(' ')
                && scheme.eq_ignore_ascii_case("apikey")
            {
                return Ok(Some(rest.trim()));
            }
        }
        Ok(None)
    }
}

impl Authenticator for ApiKeyAuthenticator {
    fn name(&self) -> &'static str {
        "api_key"
    }

    async fn authenticate(
        &self,
        request: &mut Parts,
        _state: &mut Extensions,
    ) -> Result<Option<CurrentUser>, AuthFailure> {
        let presented = self.presented(request).inspect_err(|failure| {
            tracing::warn!(target: "cortex::auth", reason = failure.code(), "API key refused: {failure}");
        })?;
        match presented {
            None => Ok(None),
            Some(key) => self.keys.verify(key).await.map(Some),
        }
    }

    fn describe(&self, doc: &mut GuardDoc) {
        doc.security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                self.header.as_str().to_string(),
                format!(
                    "An API key `{}_<id>_<secret>` (or `Authorization: ApiKey <key>`)",
                    self.keys.prefix()
                ),
            ))),
        );
    }
}

/// `[auth.api_keys] header`, checked.
pub(crate) fn header_name(header: &str) -> Result<HeaderName, crate::AuthError> {
    let name = HeaderName::from_bytes(header.as_bytes()).map_err(|_| crate::AuthError::Config {
        key: "auth.api_keys.header".into(),
        reason: format!("(`{header}`) is not an HTTP header name; hint: such as `x-api-key`"),
    })?;
    if name == AUTHORIZATION {
        return Err(crate::AuthError::Config {
            key: "auth.api_keys.header".into(),
            reason: "must not be `authorization`: `Authorization: ApiKey <key>` is accepted already; hint: keep the default `x-api-key`".into(),
        });
    }
    Ok(name)
}
