//! `[auth]`: the whole section, each mechanism's part defined next to the mechanism.
//!
//! Every key has a default; an unknown key is an error naming it. Secrets (`secret`, `*_key`,
//! `password`) are masked wherever the configuration is shown, as for every section.

use cortex_core::config::{Config, ConfigError};
use serde::Deserialize;

use crate::api_key::ApiKeyConfig;
use crate::jwt::JwtConfig;
use crate::password::PasswordConfig;
use crate::refresh::RefreshConfig;
use crate::roles::RolesConfig;
use crate::session::SessionConfig;
use crate::throttle::ThrottleConfig;

/// The `[auth]` section of `cortex.toml`.
///
/// ```
/// use cortex_auth::AuthConfig;
/// use cortex_core::config::Config;
///
/// let config = Config::from_toml("[auth]\ndeny_by_default = true")?;
/// let auth = AuthConfig::from_config(&config)?;
/// assert!(auth.deny_by_default);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthConfig {
    /// Every route needs an auth guard or an explicit `#[public]`: a route with neither stops the
    /// start, naming it.
    pub deny_by_default: bool,
    /// The order authenticators are asked in, by name (default: `bearer`, `api_key`, `session`).
    pub order: Option<Vec<String>>,
    /// `[auth.roles]`: the role hierarchy and the permissions each role grants.
    pub roles: RolesConfig,
    /// `[auth.passwords]`: argon2id parameters.
    pub passwords: PasswordConfig,
    /// `[auth.jwt]`: signing keys, lifetimes, issuer and audience.
    pub jwt: JwtConfig,
    /// `[auth.api_keys]`.
    pub api_keys: ApiKeyConfig,
    /// `[auth.sessions]`: cookie sessions and CSRF.
    pub sessions: SessionConfig,
    /// `[auth.throttle]`: login throttling.
    pub throttle: ThrottleConfig,
    /// `[auth.refresh]`: refresh tokens' lifetimes, reuse grace and store.
    pub refresh: RefreshConfig,
    /// `[auth] redis_url`: where the Redis stores connect (`redis://127.0.0.1:6379`).
    pub redis_url: Option<String>,
}

impl AuthConfig {
    /// Reads `[auth]` (every key defaulted).
    pub fn from_config(config: &Config) -> Result<AuthConfig, ConfigError> {
        config.get_or_default("auth")
    }
}

#[cfg(test)]
mod tests {
    use cortex_core::config::Config;

    /// Every secret `[auth]` takes is masked where the configuration is shown (`cortex config
    /// show`, the startup log): the names were chosen for the masking rule.
    #[test]
    fn every_secret_of_auth_is_masked() {
        let secrets = [
            "jwt-secret-of-at-least-thirty-two-bytes",
            "hs-key-secret-of-at-least-thirty-two-bytes",
            "PRIVATE-PEM",
            "session-key-one",
            "pepper-value",
            "redis-password",
        ];
        let config = Config::from_toml(&format!(
            r#"
            [auth]
            redis_url = "redis://:{redis}@127.0.0.1:6379"
            [auth.jwt]
            secret = "{jwt}"
            [[auth.jwt.keys]]
            kid = "a"
            algorithm = "HS256"
            secret = "{hs}"
            [[auth.jwt.keys]]
            kid = "b"
            algorithm = "EdDSA"
            private_key = "{pem}"
            [auth.sessions]
            secret_keys = ["{session}"]
            [auth.passwords]
            pepper_secret = "{pepper}"
            "#,
            jwt = secrets[0],
            hs = secrets[1],
            pem = secrets[2],
            session = secrets[3],
            pepper = secrets[4],
            redis = secrets[5],
        ))
        .unwrap();
        let shown = config.redacted().to_string();
        for secret in secrets {
            assert!(!shown.contains(secret), "`{secret}` is shown: {shown}");
        }
        assert!(shown.contains("127.0.0.1:6379"), "{shown}");
    }
}
