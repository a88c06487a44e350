//! `[auth.jwt]`: issuer, audience, lifetimes and keys.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The longest clock leeway accepted: more would keep expired tokens alive.
pub(crate) const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// `[auth.jwt]`: access tokens' issuer, audience, lifetime, the clock leeway, and the keys.
///
/// ```toml
/// [auth.jwt]
/// issuer = "https://blog.example"   # default "cortex"
/// audience = "blog"                 # default: the issuer
/// access_ttl = "15m"                # default 15 minutes
/// leeway = "30s"                    # default 30 s, at most 5 min
/// secret = "…"                      # short form: one HS256 key (at least 32 bytes)
///
/// [[auth.jwt.keys]]                 # or keys, with rotation
/// kid = "2026-12"
/// algorithm = "EdDSA"               # "EdDSA" | "ES256" | "HS256" | "RS256" (`rsa` feature)
/// private_key_file = "keys/2026-12.pem"
/// signing = true                    # exactly one signing key; the others verify only
/// ```
///
/// ```
/// use cortex_auth::AuthConfig;
/// use cortex_core::config::Config;
/// use std::time::Duration;
///
/// let config = Config::from_toml("[auth.jwt]\naccess_ttl = '5m'\nsecret = 'a secret of at least thirty-two bytes'")?;
/// let jwt = AuthConfig::from_config(&config)?.jwt;
/// assert_eq!(jwt.access_ttl, Duration::from_secs(300));
/// assert_eq!(jwt.leeway, Duration::from_secs(30));
/// assert!(!format!("{jwt:?}").contains("thirty-two")); // secrets are not printed
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct JwtConfig {
    /// Whether bearer JWT authentication is on. Unset: on when keys are configured, off when none
    /// are (in every profile); `true` without keys signs with an ephemeral key in the `dev` and
    /// `test` profiles and stops the start in the others; `false`: off.
    pub enabled: Option<bool>,
    /// `iss` of issued tokens, and the only issuer accepted. Default `"cortex"`.
    pub issuer: String,
    /// `aud` of issued tokens, and the audience required. Default: the issuer.
    pub audience: Option<String>,
    /// Lifetime of access tokens. Default 15 minutes.
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub access_ttl: Duration,
    /// Clock skew tolerated on `exp` and `nbf`. Default 30 s, at most 5 minutes.
    #[serde(deserialize_with = "cortex_core::config::units::de::duration")]
    pub leeway: Duration,
    /// Short form: one HS256 key (kid `default`), at least 32 bytes.
    pub secret: Option<String>,
    /// `[[auth.jwt.keys]]`: the keys, one of them signing.
    pub keys: Vec<JwtKeyConfig>,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            enabled: None,
            issuer: "cortex".to_string(),
            audience: None,
            access_ttl: Duration::from_secs(15 * 60),
            leeway: Duration::from_secs(30),
            secret: None,
            keys: Vec::new(),
        }
    }
}

impl JwtConfig {
    /// The audience required (`audience`, or the issuer).
    ///
    /// ```
    /// let config = cortex_auth::JwtConfig::default();
    /// assert_eq!(config.audience(), "cortex");
    /// ```
    pub fn audience(&self) -> &str {
        self.audience.as_deref().unwrap_or(&self.issuer)
    }

    /// Whether any key is configured.
    pub(crate) fn has_keys(&self) -> bool {
        self.secret.is_some() || !self.keys.is_empty()
    }
}

impl fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtConfig")
            .field("enabled", &self.enabled)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience())
            .field("access_ttl", &self.access_ttl)
            .field("leeway", &self.leeway)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("keys", &self.keys)
            .finish()
    }
}

/// One key of `[[auth.jwt.keys]]`.
///
/// ```
/// use cortex_auth::JwtKeyConfig;
/// use cortex_core::config::Config;
///
/// let key: JwtKeyConfig = Config::from_toml("kid = 'k1'\nalgorithm = 'EdDSA'\npublic_key_file = 'old.pub.pem'")?.get("")?;
/// assert_eq!(key.signing, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JwtKeyConfig {
    /// The key id, in the header (`kid`) of the tokens it signs.
    pub kid: String,
    /// `"EdDSA"`, `"ES256"`, `"HS256"`, or `"RS256"` with the `rsa` feature.
    pub algorithm: String,
    /// HS256: the shared secret (at least 32 bytes).
    #[serde(default)]
    pub secret: Option<String>,
    /// EdDSA/ES256/RS256: the PKCS#8 PEM private key, inline.
    #[serde(default)]
    pub private_key: Option<String>,
    /// The private key, from a file.
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
    /// The PEM public key, inline (derived from the private key when left out): enough for a
    /// verify-only key.
    #[serde(default)]
    pub public_key: Option<String>,
    /// The public key, from a file.
    #[serde(default)]
    pub public_key_file: Option<PathBuf>,
    /// Whether new tokens are signed with this key (exactly one key signs). Unset: a lone key
    /// with a private part signs; with several keys, only those marked `true`.
    #[serde(default)]
    pub signing: Option<bool>,
}

impl fmt::Debug for JwtKeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeyConfig")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("private_key", &self.private_key.as_ref().map(|_| "***"))
            .field("private_key_file", &self.private_key_file)
            .field("public_key", &self.public_key.is_some())
            .field("public_key_file", &self.public_key_file)
            .field("signing", &self.signing)
            .finish()
    }
}
