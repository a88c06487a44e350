//! JWT access tokens and refresh tokens (rotation, reuse detection), signing keys with `kid`,
//! the JWKS endpoint.

use serde::Deserialize;

/// `[auth.jwt]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct JwtConfig {}

/// Adds JWT authentication to the app when `[auth.jwt]` configures it.
pub(crate) fn install(
    app: cortex_core::App,
    _config: &crate::AuthConfig,
    _setup: &mut crate::plugin::Setup,
) -> cortex_core::App {
    app
}
