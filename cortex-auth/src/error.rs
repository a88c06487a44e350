//! The crate's errors: [`AuthError`] (configuration and stores: the app's problem) and
//! [`AuthFailure`] (a credential that does not hold: the client's problem, answered `401` with the
//! reason logged, never sent).

use std::fmt;

use cortex_di::BoxError;

/// Why a presented credential was refused. The reason is logged (target `cortex::auth`) and never
/// leaves the server: the client gets a `401` whose body says only that the credential is
/// invalid, so that an attacker learns nothing about which check failed.
///
/// ```
/// use cortex_auth::AuthFailure;
/// assert_eq!(AuthFailure::Expired.to_string(), "the token has expired");
/// assert_eq!(AuthFailure::Expired.code(), "expired");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The credential is not in the expected form (not a JWT, a bad cookie encoding…).
    #[error("the credential is malformed: {0}")]
    Malformed(&'static str),
    /// The token names an algorithm this app does not accept (`none`, or HS256 where keys are
    /// asymmetric: key confusion).
    #[error("the token's algorithm `{0}` is not accepted")]
    Algorithm(String),
    /// The token names a key id (`kid`) this app does not have.
    #[error("the token's key id is unknown")]
    UnknownKey,
    /// The signature (or the cookie's authentication tag) does not verify.
    #[error("the signature does not verify")]
    Signature,
    /// `exp` has passed (beyond the leeway), or the session timed out.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is still to come (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("the token's issuer is not accepted")]
    Issuer,
    /// `aud` does not include the configured audience.
    #[error("the token's audience is not accepted")]
    Audience,
    /// A claim the app requires is missing or has the wrong type.
    #[error("the token lacks the claim `{0}`")]
    MissingClaim(&'static str),
    /// The credential was revoked (a logged-out session, a revoked API key or refresh family).
    #[error("the credential was revoked")]
    Revoked,
    /// A refresh token that was already rotated was presented again: its whole family is revoked.
    #[error("a rotated refresh token was reused; its family is revoked")]
    Reused,
    /// No credential matches (an unknown API key, session or refresh token).
    #[error("the credential is unknown")]
    Unknown,
    /// The store that holds credentials failed: answered `503`, not `401`.
    #[error("the credential store failed: {0}")]
    Store(BoxError),
    /// A cookie-authenticated unsafe request failed the CSRF checks (cross-site, or without the
    /// session's token): answered `403`, not `401`.
    #[error("the request failed the CSRF checks: {0}")]
    Csrf(&'static str),
}

impl AuthFailure {
    /// A short stable code for logs and metrics (`expired`, `signature`, …).
    pub fn code(&self) -> &'static str {
        match self {
            AuthFailure::Malformed(_) => "malformed",
            AuthFailure::Algorithm(_) => "algorithm",
            AuthFailure::UnknownKey => "unknown_key",
            AuthFailure::Signature => "signature",
            AuthFailure::Expired => "expired",
            AuthFailure::NotYetValid => "not_yet_valid",
            AuthFailure::Issuer => "issuer",
            AuthFailure::Audience => "audience",
            AuthFailure::MissingClaim(_) => "missing_claim",
            AuthFailure::Revoked => "revoked",
            AuthFailure::Reused => "reused",
            AuthFailure::Unknown => "unknown",
            AuthFailure::Store(_) => "store",
            AuthFailure::Csrf(_) => "csrf",
        }
    }
}

/// What can go wrong setting auth up or reaching its stores: a bad `[auth]` section, an unusable
/// key, a store that fails. Startup errors stop the app with the key named.
///
/// ```
/// use cortex_auth::AuthError;
/// let error = AuthError::Config { key: "auth.jwt.secret".into(), reason: "is too short".into() };
/// assert_eq!(error.to_string(), "`auth.jwt.secret` is too short");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A value of `[auth]` is wrong: the reason says how to fix it.
    #[error("`{key}` {reason}")]
    Config {
        /// The dotted key (`auth.jwt.secret`).
        key: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A store (database, Redis) failed.
    #[error("the {store} store failed: {source}")]
    Store {
        /// Which store (`refresh tokens (redis)`).
        store: &'static str,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// A token could not be issued.
    #[error("the token could not be issued: {0}")]
    Issue(String),
    /// A password was refused by the policy (too short, too long), or a stored hash cannot be
    /// read.
    #[error(transparent)]
    Passwords(crate::password::PasswordError),
}

impl AuthError {
    /// A store error.
    pub fn store(store: &'static str, source: impl Into<BoxError>) -> Self {
        AuthError::Store {
            store,
            source: source.into(),
        }
    }
}

/// Formats a list of items for error messages: `a, b and c`.
#[allow(dead_code)]
pub(crate) fn list(items: &[impl fmt::Display]) -> String {
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}
