//! Login throttling: failures counted per account and per address, with exponential backoff.

#[cfg(feature = "redis")]
mod redis;
mod store;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::response::{IntoResponse, Response};
use cortex_core::http::HttpError;
use cortex_di::Provider;
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;

#[cfg(feature = "redis")]
pub use self::redis::RedisThrottleStore;
pub use store::{
    Backoff, BoxedThrottle, ErasedThrottleStore, MemoryThrottleStore, ThrottleEntry, ThrottleStore,
};

use crate::error::AuthError;

/// Where `[auth.throttle]` counts failures.
///
/// ```
/// use cortex_auth::{ThrottleConfig, ThrottleStoreKind};
/// let config: ThrottleConfig = cortex_core::config::Config::from_toml("store = 'redis'")?.get("")?;
/// assert_eq!(config.store, ThrottleStoreKind::Redis);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ThrottleStoreKind {
    /// In this process (the default): one instance.
    #[default]
    Memory,
    /// In Redis at `[auth] redis_url` (the `redis` feature): shared by every instance.
    Redis,
}

/// `[auth.throttle]`: login throttling.
///
/// ```toml
/// [auth.throttle]
/// enabled = true
/// free_attempts = 5            # failures per account before the first lock
/// address_free_attempts = 20   # failures per client address before the first lock
/// base = "1s"                  # the first lock, doubling with each further failure…
/// max = "15m"                  # …up to this
/// window = "1h"                # failures are forgotten this long after the last one
/// store = "memory"             # or "redis" (the `redis` feature, `[auth] redis_url`)
/// key_prefix = "cortex:auth:throttle:"
/// ```
///
/// ```
/// use std::time::Duration;
/// use cortex_auth::ThrottleConfig;
///
/// let config: ThrottleConfig = cortex_core::config::Config::from_toml("free_attempts = 3\nmax = '5m'")?.get("")?;
/// assert_eq!((config.free_attempts, config.max), (3, Duration::from_secs(300)));
/// assert_eq!(config.base, Duration::from_secs(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ThrottleConfig {
    /// Off, [`LoginThrottle::check`] always passes (failures are still logged).
    pub enabled: bool,
    /// Failures of one account allowed before it is locked (default 5).
    pub free_attempts: u32,
    /// Failures from one client address allowed before it is locked (default 20: higher, since
    /// many users may share an address).
    pub address_free_attempts: u32,
    /// The first lock (default 1 s).
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub base: Duration,
    /// The longest lock (default 15 min).
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub max: Duration,
    /// How long after its last failure a key's count is forgotten (default 1 h).
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub window: Duration,
    /// Where failures are counted (default in memory).
    pub store: ThrottleStoreKind,
    /// The prefix of the Redis keys (default `cortex:auth:throttle:`).
    pub key_prefix: String,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            enabled: true,
            free_attempts: 5,
            address_free_attempts: 20,
            base: Duration::from_secs(1),
            max: Duration::from_secs(15 * 60),
            window: Duration::from_secs(60 * 60),
            store: ThrottleStoreKind::Memory,
            key_prefix: "cortex:auth:throttle:".to_owned(),
        }
    }
}

impl ThrottleConfig {
    /// Checks the values: `base` at most `max`, `window` at least `max`.
    ///
    /// ```
    /// let mut config = cortex_auth::ThrottleConfig::default();
    /// config.base = std::time::Duration::from_secs(3600);
    /// let error = config.validate().unwrap_err();
    /// assert!(error.to_string().starts_with("`auth.throttle.base` is longer than `max`"), "{error}");
    /// ```
    pub fn validate(&self) -> Result<(), AuthError> {
        if self.base > self.max {
            return Err(AuthError::Config {
                key: "auth.throttle.base".into(),
                reason: format!(
                    "is longer than `max` ({}); hint: the first lock is the shortest, e.g. base = \"1s\", max = \"15m\"",
                    humantime::format_duration(self.max)
                ),
            });
        }
        if self.window < self.max {
            return Err(AuthError::Config {
                key: "auth.throttle.window".into(),
                reason: format!(
                    "is shorter than `max` ({}); hint: a count forgotten before its lock ends would restart the backoff, use at least `max`",
                    humantime::format_duration(self.max)
                ),
            });
        }
        Ok(())
    }

    fn account_backoff(&self) -> Backoff {
        Backoff::new(self.free_attempts, self.base, self.max, self.window)
    }

    fn address_backoff(&self) -> Backoff {
        Backoff::new(self.address_free_attempts, self.base, self.max, self.window)
    }
}

/// A login refused before its password was looked at: the account or the address is locked for
/// `retry_after`. Answers `429 Too Many Requests` as problem+json with `Retry-After` (seconds,
/// rounded up).
///
/// ```
/// use std::time::Duration;
/// use cortex_auth::Throttled;
/// use cortex_core::http::HttpError;
///
/// let error = HttpError::from(Throttled { retry_after: Duration::from_millis(1500) });
/// assert_eq!(error.status().as_u16(), 429);
/// assert_eq!(error.headers()["retry-after"], "2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins; retry in {} s", retry_after_secs(*retry_after))]
pub struct Throttled {
    /// How long until a login may be tried again.
    pub retry_after: Duration,
}

fn retry_after_secs(retry_after: Duration) -> u64 {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    secs.max(1)
}

impl From<Throttled> for HttpError {
    fn from(throttled: Throttled) -> Self {
        let secs = retry_after_secs(throttled.retry_after);
        HttpError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed login attempts; retry later",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(secs))
    }
}

impl IntoResponse for Throttled {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}

/// The system clock.
fn system_now() -> SystemTime {
    SystemTime::now()
}

/// Login throttling: failures counted per account and per client address, each with exponential
/// backoff ([`Backoff`]), from `[auth.throttle]` ([`ThrottleConfig`]). The
/// [`AuthPlugin`](struct@crate::AuthPlugin) binds it; [`PasswordLogin`](crate::PasswordLogin) uses it.
/// Cheap to clone.
///
/// - [`check`](Self::check) before verifying: `Err(Throttled)` while the account or the address
///   is locked (logged at `warn`, target `cortex::auth`, `login throttled`).
/// - [`failed`](Self::failed) after a refused login: counts one failure for both.
/// - [`succeeded`](Self::succeeded) after a good one: forgets the **account**'s failures (not the
///   address's: an attacker with one account of their own must not reset their address's count by
///   logging into it).
///
/// A store that fails lets the login through (logged at `error`): throttling must not turn a
/// Redis outage into a login outage. Account names are compared as given: normalise them (case,
/// whitespace) the way your lookup does before calling.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use std::sync::{Arc, Mutex};
/// use cortex_auth::{LoginThrottle, ThrottleConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_auth::AuthError> {
/// let now = Arc::new(Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000)));
/// let clock = now.clone();
/// let throttle = LoginThrottle::new(&ThrottleConfig::default())?
///     .with_clock(move || *clock.lock().unwrap());
/// let ip = "192.0.2.7".parse().unwrap();
/// for _ in 0..6 {
///     throttle.failed("ann", ip).await;
/// }
/// let refused = throttle.check("ann", ip).await.unwrap_err();
/// assert_eq!(refused.retry_after, Duration::from_secs(1));
/// *now.lock().unwrap() += Duration::from_secs(1);
/// assert!(throttle.check("ann", ip).await.is_ok());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LoginThrottle {
    store: Arc<dyn ErasedThrottleStore>,
    clock: Arc<dyn Fn() -> SystemTime + Send + Sync>,
    enabled: bool,
    account: Backoff,
    address: Backoff,
}

impl fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("enabled", &self.enabled)
            .field("account", &self.account)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl LoginThrottle {
    /// A throttle counting in memory, on the system clock.
    ///
    /// ```
    /// let throttle = cortex_auth::LoginThrottle::new(&cortex_auth::ThrottleConfig::default())?;
    /// # let _ = throttle;
    /// # Ok::<(), cortex_auth::AuthError>(())
    /// ```
    pub fn new(config: &ThrottleConfig) -> Result<Self, AuthError> {
        LoginThrottle::with_store(config, MemoryThrottleStore::new())
    }

    /// A throttle counting in `store`.
    ///
    /// ```
    /// use cortex_auth::{LoginThrottle, MemoryThrottleStore, ThrottleConfig};
    /// let throttle = LoginThrottle::with_store(&ThrottleConfig::default(), MemoryThrottleStore::new())?;
    /// # let _ = throttle;
    /// # Ok::<(), cortex_auth::AuthError>(())
    /// ```
    pub fn with_store(
        config: &ThrottleConfig,
        store: impl ThrottleStore,
    ) -> Result<Self, AuthError> {
        config.validate()?;
        Ok(LoginThrottle {
            store: Arc::new(store),
            clock: Arc::new(system_now),
            enabled: config.enabled,
            account: config.account_backoff(),
            address: config.address_backoff(),
        })
    }

    /// The same throttle reading time from `clock` (tests move it instead of sleeping).
    ///
    /// ```
    /// use std::time::SystemTime;
    /// let throttle = cortex_auth::LoginThrottle::new(&Default::default())?
    ///     .with_clock(|| SystemTime::UNIX_EPOCH);
    /// # let _ = throttle;
    /// # Ok::<(), cortex_auth::AuthError>(())
    /// ```
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Whether a login for `account` from `ip` may be tried now: `Err(Throttled)` with the longer
    /// of the two locks when the account or the address is locked.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cortex_auth::AuthError> {
    /// let throttle = cortex_auth::LoginThrottle::new(&Default::default())?;
    /// assert!(throttle.check("ann", "192.0.2.7".parse().unwrap()).await.is_ok());
    /// # Ok(()) }
    /// ```
    pub async fn check(&self, account: &str, ip: IpAddr) -> Result<(), Throttled> {
        if !self.enabled {
            return Ok(());
        }
        let now = (self.clock)();
        let account_key = account_key(account);
        let address_key = address_key(ip);
        let account_lock = self.locked_for(&account_key, now).await;
        let address_lock = self.locked_for(&address_key, now).await;
        let (scope, retry_after) = match (account_lock, address_lock) {
            (None, None) => return Ok(()),
            (Some(a), Some(b)) if b > a => ("address", b),
            (Some(a), _) => ("account", a),
            (None, Some(b)) => ("address", b),
        };
        tracing::warn!(
            target: "cortex::auth",
            account,
            address = %ip,
            locked = scope,
            retry_after_ms = u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX),
            "login throttled"
        );
        Err(Throttled { retry_after })
    }

    async fn locked_for(&self, key: &str, now: SystemTime) -> Option<Duration> {
        match self.store.get_boxed(key, now).await {
            Ok(entry) => entry.locked_for(now),
            Err(error) => {
                tracing::error!(target: "cortex::auth", %error, "the login throttle's store failed; the login is let through");
                None
            }
        }
    }

    /// Counts a failed login for `account` and for `ip`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cortex_auth::AuthError> {
    /// let throttle = cortex_auth::LoginThrottle::new(&Default::default())?;
    /// throttle.failed("ann", "192.0.2.7".parse().unwrap()).await;
    /// # Ok(()) }
    /// ```
    pub async fn failed(&self, account: &str, ip: IpAddr) {
        let now = (self.clock)();
        let account_key = account_key(account);
        let address_key = address_key(ip);
        for (scope, key, backoff) in [
            ("account", &account_key, self.account),
            ("address", &address_key, self.address),
        ] {
            match self.store.record_failure_boxed(key, now, backoff).await {
                Ok(entry) => {
                    if let Some(lock) = entry.locked_for(now) {
                        tracing::warn!(
                            target: "cortex::auth",
                            account,
                            address = %ip,
                            locked = scope,
                            failures = entry.failures,
                            lock_ms = u64::try_from(lock.as_millis()).unwrap_or(u64::MAX),
                            "login locked after repeated failures"
                        );
                    }
                }
                Err(error) => {
                    tracing::error!(target: "cortex::auth", %error, "the login throttle's store failed; the failure is not counted");
                }
            }
        }
    }

    /// Forgets the failures of `account` after a successful login (the address's count stays).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cortex_auth::AuthError> {
    /// let throttle = cortex_auth::LoginThrottle::new(&Default::default())?;
    /// throttle.succeeded("ann", "192.0.2.7".parse().unwrap()).await;
    /// # Ok(()) }
    /// ```
    pub async fn succeeded(&self, account: &str, _ip: IpAddr) {
        if let Err(error) = self.store.reset_boxed(&account_key(account)).await {
            tracing::error!(target: "cortex::auth", %error, "the login throttle's store failed; the account's failures are not reset");
        }
    }
}

fn account_key(account: &str) -> String {
    format!("account:{account}")
}

fn address_key(ip: IpAddr) -> String {
    // An IPv6 client controls its whole /64: count the prefix, not the address.
    match ip {
        IpAddr::V4(v4) => format!("address:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("address:{v4}"),
            None => {
                let s = v6.segments();
                format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Binds the [`LoginThrottle`] from `[auth.throttle]`: in memory, or in Redis (connected when the
/// app is built; an unreachable server stops the start).
pub(crate) fn install(
    app: cortex_core::App,
    config: &crate::AuthConfig,
    _setup: &mut crate::plugin::Setup,
) -> cortex_core::App {
    let throttle = config.throttle.clone();
    if let Err(error) = throttle.validate() {
        return app.fail(error);
    }
    match throttle.store {
        ThrottleStoreKind::Memory => match LoginThrottle::new(&throttle) {
            Ok(login) => app.provide(Provider::value(login).declared_by("AuthPlugin")),
            Err(error) => app.fail(error),
        },
        #[cfg(feature = "redis")]
        ThrottleStoreKind::Redis => {
            let Some(url) = config.redis_url.clone() else {
                return app.fail(AuthError::Config {
                    key: "auth.redis_url".into(),
                    reason: "is not set, and `auth.throttle.store` is \"redis\"; hint: redis_url = \"redis://127.0.0.1:6379\"".into(),
                });
            };
            app.provide(
                Provider::async_factory(move |_| {
                    let throttle = throttle.clone();
                    let url = url.clone();
                    async move {
                        let store = RedisThrottleStore::connect(&url, throttle.key_prefix.clone())
                            .await?;
                        Ok(LoginThrottle::with_store(&throttle, store)?)
                    }
                })
                .declared_by("AuthPlugin"),
            )
        }
        #[cfg(not(feature = "redis"))]
        ThrottleStoreKind::Redis => app.fail(AuthError::Config {
            key: "auth.throttle.store".into(),
            reason: "is \"redis\", but cortex-auth was built without its `redis` feature; hint: enable the `cortex` facade's `redis` feature".into(),
        }),
    }
}
