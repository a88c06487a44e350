//! Cookie sessions (signed and encrypted), their stores, rotation, timeouts, and CSRF protection.

use serde::Deserialize;

/// `[auth.sessions]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionConfig {}

/// Adds session authentication to the app when `[auth.sessions]` enables it.
pub(crate) fn install(
    app: cortex_core::App,
    _config: &crate::AuthConfig,
    _setup: &mut crate::plugin::Setup,
) -> cortex_core::App {
    app
}
