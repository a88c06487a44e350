//! [`PasswordLogin`]: the throttle, the password check and the dummy hash in the order a login
//! needs them.

use std::net::IpAddr;

use axum::response::{IntoResponse, Response};
use cortex_core::http::HttpError;

use super::hasher::{PasswordError, PasswordHash, Passwords};
use tracing::Instrument as _;

use crate::error::AuthError;
use crate::observe::Attempts;
use crate::throttle::{LoginThrottle, Throttled};

/// A login that went through.
///
/// ```
/// let success = cortex_auth::LoginSuccess::default();
/// assert!(success.rehash.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginSuccess {
    /// A new hash to store in place of the account's: its hash was made with other parameters.
    pub rehash: Option<PasswordHash>,
}

/// Why a login was refused. The client sees one of three answers: `401` with the same body for an
/// unknown account, a wrong password or an over-long password; `429` with `Retry-After`; or `500`
/// when the stored hash cannot be read (the app's problem, logged at `error`).
///
/// ```
/// use cortex_auth::LoginRefused;
/// use cortex_core::http::HttpError;
///
/// let error = HttpError::from(LoginRefused::InvalidCredentials);
/// assert_eq!(error.status().as_u16(), 401);
/// assert_eq!(error.problem().detail.as_deref(), Some("invalid credentials"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginRefused {
    /// Unknown account or wrong password: deliberately the same.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The account or the address is locked by the throttle.
    #[error(transparent)]
    Throttled(Throttled),
    /// The account's stored hash cannot be read, or hashing failed.
    #[error("the login could not be checked: {0}")]
    Error(AuthError),
}

impl From<LoginRefused> for HttpError {
    fn from(refused: LoginRefused) -> Self {
        match refused {
            LoginRefused::InvalidCredentials => HttpError::unauthorized("invalid credentials"),
            LoginRefused::Throttled(throttled) => throttled.into(),
            LoginRefused::Error(error) => HttpError::internal(error),
        }
    }
}

impl IntoResponse for LoginRefused {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}

/// A password login: the [`LoginThrottle`], then [`Passwords::verify`] (or
/// [`Passwords::verify_unknown`] when the account does not exist, so that both cost the same),
/// then the failure counted or the account's count reset. What `cortex generate auth`'s login
/// endpoint calls; bound by the [`AuthPlugin`](struct@crate::AuthPlugin) (inject `Inject<PasswordLogin>`).
///
/// Every refusal is logged (target `cortex::auth`, `login refused` with the reason:
/// `unknown_account`, `wrong_password`, `too_long`), never sent: the client gets the same `401`.
///
/// ```
/// use cortex_auth::{LoginRefused, LoginThrottle, PasswordConfig, PasswordLogin, Passwords};
/// use cortex_core::config::Profile;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_auth::AuthError> {
/// let passwords = Passwords::new(&PasswordConfig::default(), &Profile::TEST)?;
/// let login = PasswordLogin::new(passwords.clone(), LoginThrottle::new(&Default::default())?);
/// let stored = passwords.hash("a long passphrase").await?;
/// let ip = "192.0.2.7".parse().unwrap();
///
/// // `stored` comes from the users table; `None` when no account has that name.
/// assert!(login.attempt("ann", ip, Some(stored.as_str()), "a long passphrase").await.is_ok());
/// assert!(matches!(
///     login.attempt("ann", ip, Some(stored.as_str()), "wrong").await,
///     Err(LoginRefused::InvalidCredentials)
/// ));
/// assert!(matches!(
///     login.attempt("bob", ip, None, "a long passphrase").await,
///     Err(LoginRefused::InvalidCredentials)
/// ));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PasswordLogin {
    passwords: Passwords,
    throttle: LoginThrottle,
    /// `cortex_auth_attempts_total{mechanism="password"}`.
    attempts: Attempts,
}

impl PasswordLogin {
    /// A login helper on these passwords and this throttle.
    ///
    /// ```
    /// # use cortex_auth::{LoginThrottle, PasswordConfig, PasswordLogin, Passwords};
    /// let passwords = Passwords::new(&PasswordConfig::default(), &cortex_core::config::Profile::TEST)?;
    /// let login = PasswordLogin::new(passwords, LoginThrottle::new(&Default::default())?);
    /// # let _ = login;
    /// # Ok::<(), cortex_auth::AuthError>(())
    /// ```
    pub fn new(passwords: Passwords, throttle: LoginThrottle) -> Self {
        PasswordLogin {
            passwords,
            throttle,
            attempts: Attempts::new("password"),
        }
    }

    /// The passwords it verifies with.
    ///
    /// ```
    /// # use cortex_auth::{LoginThrottle, PasswordConfig, PasswordLogin, Passwords};
    /// # let passwords = Passwords::new(&PasswordConfig::default(), &cortex_core::config::Profile::TEST)?;
    /// let login = PasswordLogin::new(passwords, LoginThrottle::new(&Default::default())?);
    /// assert_eq!(login.passwords().iterations(), 1);
    /// # Ok::<(), cortex_auth::AuthError>(())
    /// ```
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// The throttle it counts failures with.
    ///
    /// ```
    /// # use cortex_auth::{LoginThrottle, PasswordConfig, PasswordLogin, Passwords};
    /// # let passwords = Passwords::new(&PasswordConfig::default(), &cortex_core::config::Profile::TEST)?;
    /// let login = PasswordLogin::new(passwords, LoginThrottle::new(&Default::default())?);
    /// # let _ = login.throttle();
    /// # Ok::<(), cortex_auth::AuthError>(())
    /// ```
    pub fn throttle(&self) -> &LoginThrottle {
        &self.throttle
    }

    /// Tries a login: `account` is the normalised name the user typed, `ip` the client's address
    /// (behind a proxy, the one the app's trusted-proxy setting resolved), `stored` the account's
    /// hash or `None` when there is no such account, `password` what was typed.
    ///
    /// On success, store `rehash` when it is `Some`.
    ///
    /// Each attempt counts in `cortex_auth_attempts_total{mechanism="password", outcome}`
    /// (`ok`; `refused`: invalid credentials or throttled; `error`: the hash cannot be checked)
    /// and, when spans are exported, is an `auth.authenticate` span (`enduser.id` = `account`
    /// once the password matched; never the password).
    pub async fn attempt(
        &self,
        account: &str,
        ip: IpAddr,
        stored: Option<&str>,
        password: &str,
    ) -> Result<LoginSuccess, LoginRefused> {
        let span = crate::observe::span();
        let result = if span.is_disabled() {
            self.check(account, ip, stored, password).await
        } else {
            span.record("auth.mechanism", "password");
            self.check(account, ip, stored, password)
                .instrument(span.clone())
                .await
        };
        let outcome = match &result {
            Ok(_) => {
                self.attempts.ok();
                span.record("enduser.id", account);
                "ok"
            }
            Err(LoginRefused::Error(_)) => {
                self.attempts.error();
                "error"
            }
            Err(_) => {
                self.attempts.refused();
                "refused"
            }
        };
        if !span.is_disabled() {
            span.record("auth.outcome", outcome);
            if let Err(refused) = &result {
                span.record("otel.status_code", "ERROR");
                span.record(
                    "error.type",
                    match refused {
                        LoginRefused::InvalidCredentials => "invalid_credentials",
                        LoginRefused::Throttled(_) => "throttled",
                        LoginRefused::Error(_) => "error",
                    },
                );
            }
        }
        result
    }

    /// [`attempt`](Self::attempt) without its metric and span.
    async fn check(
        &self,
        account: &str,
        ip: IpAddr,
        stored: Option<&str>,
        password: &str,
    ) -> Result<LoginSuccess, LoginRefused> {
        self.throttle
            .check(account, ip)
            .await
            .map_err(LoginRefused::Throttled)?;
        let reason = match stored {
            None => {
                self.passwords
                    .verify_unknown(password)
                    .await
                    .map_err(LoginRefused::Error)?;
                "unknown_account"
            }
            Some(stored) => match self.passwords.verify(password, stored).await {
                Ok(verified) if verified.matched => {
                    self.throttle.succeeded(account, ip).await;
                    tracing::info!(target: "cortex::auth", account, address = %ip, rehashed = verified.rehash.is_some(), "login succeeded");
                    return Ok(LoginSuccess {
                        rehash: verified.rehash,
                    });
                }
                Ok(_) => "wrong_password",
                Err(AuthError::Passwords(PasswordError::TooLong { .. })) => "too_long",
                Err(error) => {
                    tracing::error!(target: "cortex::auth", account, %error, "the account's password hash cannot be checked");
                    return Err(LoginRefused::Error(error));
                }
            },
        };
        self.throttle.failed(account, ip).await;
        tracing::info!(target: "cortex::auth", account, address = %ip, reason, "login refused");
        Err(LoginRefused::InvalidCredentials)
    }
}
