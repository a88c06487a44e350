//! [`Tokens`]: what a login, a refresh and a logout endpoint call — an access token from
//! [`Jwt`] and a refresh token from [`RefreshTokens`], issued, rotated and revoked together.

use std::fmt;
use std::time::SystemTime;

use cortex_core::App;
use cortex_core::http::HttpError;
use cortex_di::{Dependency, Provider};
use serde::Serialize;

use crate::error::{AuthError, AuthFailure};
use crate::jwt::Jwt;
use crate::refresh::RefreshTokens;
use crate::user::CurrentUser;

/// An access token and the refresh token that renews it: the body a login or a refresh answers
/// with, in OAuth 2.0's field names (RFC 6749, section 5.1).
///
/// ```
/// use cortex_auth::TokenPair;
/// let pair = TokenPair::new("a.b.c".into(), 900, "r".into());
/// let json = serde_json::to_value(&pair).unwrap();
/// assert_eq!(json["token_type"], "Bearer");
/// assert_eq!(json["expires_in"], 900);
/// // Tokens are credentials: `Debug` never shows them.
/// assert!(!format!("{pair:?}").contains("a.b.c"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[non_exhaustive]
pub struct TokenPair {
    /// The JWT, for `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The refresh token: sent once to the refresh endpoint, which answers with a new pair.
    pub refresh_token: String,
}

impl TokenPair {
    /// A pair from its parts (`token_type` is `Bearer`).
    pub fn new(access_token: String, expires_in: u64, refresh_token: String) -> Self {
        TokenPair {
            access_token,
            token_type: "Bearer",
            expires_in,
            refresh_token,
        }
    }
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Why [`Tokens::refresh`] gave no pair.
///
/// As an [`HttpError`]: a refused refresh token (unknown, expired, revoked, reused) is a `401`
/// that never says which (the reason was logged by [`RefreshTokens::rotate`]); a store that
/// failed is a `503`; a token that could not be signed is a `500`.
///
/// ```
/// use cortex_auth::{AuthFailure, TokenError};
/// use cortex_core::http::HttpError;
///
/// let refused = HttpError::from(TokenError::Refused(AuthFailure::Reused));
/// assert_eq!(refused.status(), 401);
/// assert!(!refused.to_string().contains("reused"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The refresh token does not hold.
    #[error("the refresh token was refused: {0}")]
    Refused(#[source] AuthFailure),
    /// Issuing failed (a key, a store).
    #[error(transparent)]
    Failed(#[from] AuthError),
}

impl From<TokenError> for HttpError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Refused(AuthFailure::Store(source)) => {
                tracing::warn!(target: "cortex::auth", error = %source, "the refresh token store failed");
                HttpError::from_status(http::StatusCode::SERVICE_UNAVAILABLE)
            }
            TokenError::Refused(_) => {
                HttpError::unauthorized("the refresh token is invalid or has expired")
            }
            TokenError::Failed(error) => HttpError::internal(error),
        }
    }
}

/// Access and refresh tokens together: bound by the [`AuthPlugin`](struct@crate::AuthPlugin)
/// when JWT is on (`[auth.jwt]`), next to [`Jwt`] and [`RefreshTokens`].
///
/// - [`issue`](Self::issue) at login: a new refresh-token family and an access token;
/// - [`refresh`](Self::refresh): rotates the refresh token (reuse revokes its family) and issues
///   a new access token for the user as they were at login;
/// - [`revoke`](Self::revoke) at logout, [`revoke_user`](Self::revoke_user) after a password
///   change (every device).
///
/// ```
/// use cortex_auth::{AuthPlugin, CurrentUser, Tokens};
/// use cortex_core::App;
/// use cortex_core::config::Config;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = Config::from_toml("[auth.jwt]\nsecret = 'a secret of at least thirty-two bytes'")?;
/// let app = App::with_config(config).plugin(AuthPlugin).build().await?;
/// let tokens = app.container().get::<Tokens>()?;
///
/// let pair = tokens.issue(&CurrentUser::builder("ada").roles(["editor"]).build()).await?;
/// let renewed = tokens.refresh(&pair.refresh_token).await?;
/// assert_ne!(renewed.refresh_token, pair.refresh_token);
/// // The first refresh token again: reuse, and the whole family is revoked.
/// assert!(tokens.refresh(&pair.refresh_token).await.is_err());
/// assert!(tokens.refresh(&renewed.refresh_token).await.is_err());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Tokens {
    jwt: Jwt,
    refresh: RefreshTokens,
}

impl Tokens {
    /// The pair service on `jwt` and `refresh`.
    pub fn new(jwt: Jwt, refresh: RefreshTokens) -> Self {
        Tokens { jwt, refresh }
    }

    /// The access-token service.
    pub fn jwt(&self) -> &Jwt {
        &self.jwt
    }

    /// The refresh-token service.
    pub fn refresh_tokens(&self) -> &RefreshTokens {
        &self.refresh
    }

    /// A new pair for `user` (at login): a new refresh-token family.
    pub async fn issue(&self, user: &CurrentUser) -> Result<TokenPair, AuthError> {
        let refresh = self.refresh.issue(user).await?;
        self.pair(user, refresh.as_str())
    }

    /// Rotates `refresh_token` and issues a new access token for its user.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, TokenError> {
        let rotated = self
            .refresh
            .rotate(refresh_token)
            .await
            .map_err(TokenError::Refused)?;
        Ok(self.pair(&rotated.user, rotated.token.as_str())?)
    }

    /// Revokes `refresh_token`'s family (logout): `false` when it was unknown. Access tokens
    /// already issued stay valid until they expire (keep `[auth.jwt] access_ttl` short).
    pub async fn revoke(&self, refresh_token: &str) -> Result<bool, AuthError> {
        self.refresh.revoke(refresh_token).await
    }

    /// Revokes every refresh token of `user_id` (logout everywhere, a password change); the
    /// number of families revoked.
    pub async fn revoke_user(&self, user_id: &str) -> Result<u64, AuthError> {
        self.refresh.revoke_user(user_id).await
    }

    fn pair(&self, user: &CurrentUser, refresh_token: &str) -> Result<TokenPair, AuthError> {
        let access = self.jwt.issue(user)?;
        let expires_in = access
            .expires_at
            .duration_since(SystemTime::now())
            .map(|left| left.as_secs())
            .unwrap_or(0);
        Ok(TokenPair::new(
            access.token,
            expires_in,
            refresh_token.to_string(),
        ))
    }
}

/// Binds [`Tokens`] when the app has [`Jwt`] (the JWT module bound it).
pub(crate) fn install(app: App, jwt_on: bool) -> App {
    if !jwt_on {
        return app;
    }
    app.provide(
        Provider::factory(|r| {
            Ok(Tokens::new(
                (*r.get::<Jwt>()?).clone(),
                (*r.get::<RefreshTokens>()?).clone(),
            ))
        })
        .depends_on(Dependency::on::<Jwt>())
        .depends_on(Dependency::on::<RefreshTokens>())
        .declared_by("AuthPlugin"),
    )
}

#[cfg(test)]
mod tests {
    use cortex_core::App;
    use cortex_core::config::Config;

    use super::*;

    async fn app(toml: &str) -> cortex_core::Application {
        App::with_config(Config::from_toml(toml).unwrap())
            .plugin(crate::AuthPlugin)
            .build()
            .await
            .unwrap()
    }

    const JWT: &str = "[auth.jwt]\nsecret = 'a secret of at least thirty-two bytes'";

    #[tokio::test]
    async fn a_pair_is_issued_refreshed_and_revoked() {
        let app = app(JWT).await;
        let tokens = app.container().get::<Tokens>().unwrap();
        let ada = CurrentUser::builder("ada").roles(["editor"]).build();
        let pair = tokens.issue(&ada).await.unwrap();
        assert_eq!(pair.token_type, "Bearer");
        assert!((1..=900).contains(&pair.expires_in), "{}", pair.expires_in);
        let user = tokens.jwt().verify(&pair.access_token).unwrap();
        assert_eq!((user.id(), user.has_role("editor")), ("ada", true));

        let renewed = tokens.refresh(&pair.refresh_token).await.unwrap();
        assert_eq!(
            tokens.jwt().verify(&renewed.access_token).unwrap().id(),
            "ada"
        );
        assert!(tokens.revoke(&renewed.refresh_token).await.unwrap());
        assert!(!tokens.revoke("not-a-token-at-all").await.unwrap());
        assert!(matches!(
            tokens.refresh(&renewed.refresh_token).await,
            Err(TokenError::Refused(AuthFailure::Revoked))
        ));

        // Two logins, one `revoke_user`: both families.
        let one = tokens.issue(&ada).await.unwrap();
        let two = tokens.issue(&ada).await.unwrap();
        let bob = tokens
            .issue(&CurrentUser::builder("bob").build())
            .await
            .unwrap();
        assert_eq!(tokens.revoke_user("ada").await.unwrap(), 2);
        assert!(tokens.refresh(&one.refresh_token).await.is_err());
        assert!(tokens.refresh(&two.refresh_token).await.is_err());
        assert!(tokens.refresh(&bob.refresh_token).await.is_ok());
        assert!(tokens.refresh_tokens().config().ttl > std::time::Duration::ZERO);
    }

    #[tokio::test]
    async fn without_jwt_there_are_no_tokens() {
        let without = app("").await;
        assert!(without.container().get::<Tokens>().is_err());
        let with = app(JWT).await;
        assert!(with.container().get::<Tokens>().is_ok());
    }

    #[test]
    fn a_pair_never_shows_its_tokens() {
        let pair = TokenPair::new("access.jwt.value".into(), 60, "refresh-value".into());
        let shown = format!("{pair:?}");
        assert!(shown.starts_with("TokenPair"), "{shown}");
        assert!(shown.contains("expires_in: 60"), "{shown}");
        assert!(!shown.contains("access.jwt.value") && !shown.contains("refresh-value"));
    }

    #[test]
    fn refusals_answer_401_and_failures_503_or_500() {
        let status = |error: TokenError| HttpError::from(error).status();
        assert_eq!(status(TokenError::Refused(AuthFailure::Expired)), 401);
        assert_eq!(
            status(TokenError::Refused(AuthFailure::Store("down".into()))),
            503
        );
        assert_eq!(
            status(TokenError::Failed(AuthError::Issue("no key".into()))),
            500
        );
    }
}
