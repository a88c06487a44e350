//! JWT access tokens and refresh tokens (rotation, reuse detection), signing keys with `kid`,
//! the JWKS endpoint.

mod bearer;
mod cache;
mod config;
mod keys;
mod service;

use std::sync::Arc;

use cortex_core::App;
use cortex_core::routing::Route;
use cortex_di::{Dependency, Provider};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};

pub use config::{JwtConfig, JwtKeyConfig};
pub use service::{AccessToken, Jwt, MAX_TOKEN_LEN};

use crate::authn::ErasedAuthenticator;
use crate::error::AuthError;
use crate::plugin::{Registration, Setup};

/// Where the JWKS document is served.
pub(crate) const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Decides whether JWT is on and with which keys (see [`JwtConfig::enabled`]).
fn service(app: &App, config: &JwtConfig) -> Result<Option<Jwt>, AuthError> {
    let profile = app.config().profile();
    let throwaway = profile.is_dev() || profile.is_test();
    service::check_settings(config)?;
    match config.enabled {
        Some(false) => Ok(None),
        _ if config.has_keys() => Jwt::new(config).map(Some),
        // Unset and no keys: off in every profile, so that `dev` behaves as `prod` will.
        None => Ok(None),
        Some(true) if !throwaway => Err(AuthError::Config {
            key: "auth.jwt.keys".into(),
            reason: format!(
                "is empty while `auth.jwt.enabled = true` in the `{}` profile; hint: configure \
                 `[[auth.jwt.keys]]` (EdDSA recommended) or `[auth.jwt] secret` (HS256, at \
                 least 32 bytes); ephemeral keys exist only in `dev` and `test`",
                profile.as_str()
            ),
        }),
        _ => {
            if profile.is_dev() {
                tracing::warn!(
                    target: "cortex::auth",
                    "[auth.jwt] has no keys: access tokens are signed with an ephemeral HS256 \
                     key that dies with the process; configure `[[auth.jwt.keys]]` before \
                     deploying (the `prod` profile has no ephemeral key)"
                );
            }
            Jwt::ephemeral(config).map(Some)
        }
    }
}

/// Adds JWT authentication to the app when `[auth.jwt]` configures it: the [`Jwt`] singleton,
/// the `bearer` authenticator, the JWKS route for asymmetric keys, and, with
/// `[http.rate_limit] key = "user"`, the principal resolver that keys limits by verified `sub`.
pub(crate) fn install(app: App, config: &crate::AuthConfig, setup: &mut Setup) -> App {
    let jwt = match service(&app, &config.jwt) {
        Ok(Some(jwt)) => jwt,
        Ok(None) => return app,
        Err(error) => return app.fail(error),
    };
    setup.authenticators.push(Registration {
        name: "bearer",
        dependency: Dependency::on::<Jwt>(),
        resolve: Box::new(|resolver| {
            let jwt = resolver.get::<Jwt>()?;
            Ok(Arc::new(bearer::Bearer((*jwt).clone())) as Arc<dyn ErasedAuthenticator>)
        }),
    });
    let user_keyed = app
        .config()
        .get::<String>("http.rate_limit.key")
        .is_ok_and(|key| key == "user");
    let mut app = app.provide(Provider::value(jwt.clone()).declared_by("AuthPlugin"));
    if user_keyed {
        app = app
            .provide(
                Provider::factory(|r| Ok(bearer::BearerPrincipal((*r.get::<Jwt>()?).clone())))
                    .depends_on(Dependency::on::<Jwt>())
                    .declared_by("AuthPlugin"),
            )
            .principal_resolver::<bearer::BearerPrincipal>();
    }
    if let Some(jwks) = jwt.jwks_json() {
        let body: Arc<str> = Arc::from(jwks);
        // Public keys for other services to verify this app's tokens: cached for 5 minutes,
        // rate limited like every public route (it is cheap, and the limiter is per client).
        app = app.route(
            Route::get(JWKS_PATH, "jwks", move || {
                let body = body.clone();
                async move {
                    (
                        [
                            (CONTENT_TYPE, "application/jwk-set+json"),
                            (CACHE_CONTROL, "public, max-age=300"),
                        ],
                        body.to_string(),
                    )
                }
            })
            .with_summary("The public keys access tokens are signed with (JWKS)")
            .with_tag("auth")
            .public(),
        );
    }
    app
}
