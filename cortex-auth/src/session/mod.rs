//! Cookie sessions (signed and encrypted), their stores, rotation, timeouts, and CSRF protection.
//!
//! - [`SessionConfig`], the `[auth.sessions]` section.
//! - [`SessionAuthenticator`]: the `session` authenticator the [`AuthPlugin`](struct@crate::AuthPlugin)
//!   registers when `[auth.sessions] enabled = true`.
//! - [`Session`] and [`CsrfToken`]: what handlers take.
//! - [`SessionStore`]: where sessions live (memory, the database, Redis, or the app's own).

mod authn;
mod cookie;
mod store;

#[cfg(feature = "database")]
mod database;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cortex_core::App;
use cortex_core::config::Profile;
use cortex_di::{Dependency, Provider, Resolver};
use serde::Deserialize;

use crate::authn::ErasedAuthenticator;
use crate::error::AuthError;

pub use authn::{CsrfToken, Session, SessionAuthenticator, SessionClock, SessionError, Sessions};
#[cfg(feature = "database")]
pub use database::DatabaseSessionStore;
#[cfg(feature = "redis")]
pub use redis::RedisSessionStore;
pub use store::{ErasedSessionStore, MemorySessionStore, SessionRecord, SessionStore, SessionUser};

/// The header unsafe requests carry the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The `SameSite` attribute of the session cookie (`[auth.sessions] same_site`).
///
/// ```
/// use cortex_auth::SameSite;
/// assert_eq!(SameSite::default(), SameSite::Lax);
/// assert_eq!(SameSite::Strict.as_str(), "Strict");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSite {
    /// Sent on same-site requests only.
    Strict,
    /// Sent on same-site requests and top-level cross-site navigations (`GET` links): the
    /// default.
    #[default]
    Lax,
    /// Sent on every request (needs `secure = true`).
    None,
}

impl SameSite {
    /// The attribute's value (`Strict`, `Lax`, `None`).
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// Where sessions are kept (`[auth.sessions] store`).
///
/// ```
/// use cortex_auth::SessionStoreKind;
/// assert_eq!(SessionStoreKind::default(), SessionStoreKind::Memory);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SessionStoreKind {
    /// In the process (lost on restart, not shared between instances): the default.
    #[default]
    Memory,
    /// In the app's database, table `cortex_auth_sessions` (the `database` feature and the
    /// `DataPlugin`).
    Database,
    /// In Redis at `[auth] redis_url` (the `redis` feature).
    Redis,
}

/// `[auth.sessions]`: cookie sessions and their CSRF protection.
///
/// | key | default | |
/// | --- | --- | --- |
/// | `enabled` | `false` | registers the `session` authenticator |
/// | `cookie` | `__Host-session` (`session` when not `secure`) | the cookie's name |
/// | `secret_keys` | generated in `dev`/`test`, **required** otherwise | base64 32-byte keys; the first encrypts, all decrypt |
/// | `idle_timeout` | `30m` | sliding: a session unused this long expires |
/// | `absolute_timeout` | `12h` | from login (or creation), whatever the activity |
/// | `secure` | `true` (`false` in `dev`) | the cookie's `Secure` attribute |
/// | `same_site` | `lax` | `strict`, `lax` or `none` |
/// | `store` | `memory` | `memory`, `database` or `redis` |
/// | `trusted_origins` | `[]` | other origins (`https://admin.example.com`) allowed to send unsafe requests |
/// | `redis_prefix` | `cortex:auth:session:` | the Redis keys' prefix |
/// | `max_values_size` | `4KiB` | the most JSON the app's values ([`Session::insert`]) may take |
///
/// ```
/// use cortex_auth::AuthConfig;
/// use cortex_core::config::Config;
/// use std::time::Duration;
///
/// let config = Config::from_toml("[auth.sessions]\nenabled = true\nidle_timeout = '10m'")?;
/// let sessions = AuthConfig::from_config(&config)?.sessions;
/// assert!(sessions.enabled);
/// assert_eq!(sessions.idle_timeout, Duration::from_secs(600));
/// assert_eq!(sessions.absolute_timeout, Duration::from_secs(12 * 3600));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Registers the `session` authenticator.
    pub enabled: bool,
    /// The cookie's name (default `__Host-session`, or `session` when `secure` is off: the
    /// `__Host-` prefix requires `Secure`).
    pub cookie: Option<String>,
    /// The encryption keys, base64 of 32 random bytes each (`openssl rand -base64 32`): the first
    /// encrypts new cookies, every one decrypts (key rotation: put the new key first, drop the
    /// old one once its cookies have expired). Named `secret_keys` so that `cortex config show`
    /// and the logs mask them.
    pub secret_keys: Vec<String>,
    /// A session unused this long expires (sliding; `last_seen_at` is written at most once a
    /// minute).
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub idle_timeout: Duration,
    /// A session expires this long after its login (or creation), whatever its activity.
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub absolute_timeout: Duration,
    /// The cookie's `Secure` attribute (default: on, except in the `dev` profile).
    pub secure: Option<bool>,
    /// The cookie's `SameSite` attribute.
    pub same_site: SameSite,
    /// Where sessions are kept.
    pub store: SessionStoreKind,
    /// Origins besides the app's own allowed to send unsafe (`POST`, `PUT`, `PATCH`, `DELETE`)
    /// cookie-authenticated requests, as `scheme://host[:port]`.
    pub trusted_origins: Vec<String>,
    /// The prefix of the Redis keys (`<prefix><hashed id>`, `<prefix>u:<user id>`).
    pub redis_prefix: String,
    /// The most bytes of JSON the app's values may take ([`Session::insert`] answers
    /// [`SessionError::TooLarge`] beyond): a session is read on every request and written on
    /// each change.
    #[serde(deserialize_with = "cortex_core::config::units::de::size")]
    pub max_values_size: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            enabled: false,
            cookie: None,
            secret_keys: Vec::new(),
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            secure: None,
            same_site: SameSite::Lax,
            store: SessionStoreKind::Memory,
            trusted_origins: Vec::new(),
            redis_prefix: "cortex:auth:session:".to_string(),
            max_values_size: 4096,
        }
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("enabled", &self.enabled)
            .field("cookie", &self.cookie)
            .field(
                "secret_keys",
                &format_args!("[{} masked]", self.secret_keys.len()),
            )
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_timeout", &self.absolute_timeout)
            .field("secure", &self.secure)
            .field("same_site", &self.same_site)
            .field("store", &self.store)
            .field("trusted_origins", &self.trusted_origins)
            .field("redis_prefix", &self.redis_prefix)
            .field("max_values_size", &self.max_values_size)
            .finish()
    }
}

impl SessionConfig {
    /// Whether the cookie is `Secure` in `profile`: `secure`, else on except in `dev`.
    ///
    /// ```
    /// use cortex_auth::SessionConfig;
    /// use cortex_core::config::Profile;
    /// assert!(!SessionConfig::default().is_secure(&Profile::DEV));
    /// assert!(SessionConfig::default().is_secure(&Profile::PROD));
    /// ```
    pub fn is_secure(&self, profile: &Profile) -> bool {
        self.secure.unwrap_or(!profile.is_dev())
    }

    /// The cookie's name in `profile` (see [`cookie`](Self::cookie)).
    ///
    /// ```
    /// use cortex_auth::SessionConfig;
    /// use cortex_core::config::Profile;
    /// assert_eq!(SessionConfig::default().cookie_name(&Profile::PROD), "__Host-session");
    /// assert_eq!(SessionConfig::default().cookie_name(&Profile::DEV), "session");
    /// ```
    pub fn cookie_name(&self, profile: &Profile) -> String {
        match &self.cookie {
            Some(name) => name.clone(),
            None if self.is_secure(profile) => "__Host-session".to_string(),
            None => "session".to_string(),
        }
    }
}

/// `authenticator` judging time by the [`SessionClock`] bound in the container, if any.
fn clocked(
    authenticator: SessionAuthenticator,
    r: &Resolver<'_>,
) -> Result<SessionAuthenticator, cortex_di::BoxError> {
    Ok(match r.get_optional::<SessionClock>()? {
        Some(clock) => authenticator.with_clock((*clock).clone()),
        None => authenticator,
    })
}

/// Adds session authentication to the app when `[auth.sessions]` enables it: binds the
/// [`SessionAuthenticator`] (on the configured store, judging time by the container's
/// [`SessionClock`] if one is bound) and [`Sessions`].
pub(crate) fn install(
    app: App,
    config: &crate::AuthConfig,
    setup: &mut crate::plugin::Setup,
) -> App {
    let sessions = &config.sessions;
    if !sessions.enabled {
        return app;
    }
    let profile = app.config().profile().clone();
    let clock = Dependency::on::<SessionClock>().optional();
    let provider: Provider<SessionAuthenticator> = match sessions.store {
        SessionStoreKind::Memory => {
            let authenticator =
                match SessionAuthenticator::new(sessions, &profile, MemorySessionStore::new()) {
                    Ok(authenticator) => authenticator,
                    Err(error) => return app.fail(error),
                };
            Provider::factory(move |r| clocked(authenticator.clone(), r)).depends_on(clock)
        }
        #[cfg(feature = "database")]
        SessionStoreKind::Database => {
            // Checked now, so that a bad configuration stops the start with the key named.
            if let Err(error) = cookie::Keys::from_config(sessions, &profile) {
                return app.fail(error);
            }
            let sessions = sessions.clone();
            Provider::factory(move |r| {
                let db = (*r.get::<cortex_data::Db>()?).clone();
                let authenticator =
                    SessionAuthenticator::new(&sessions, &profile, DatabaseSessionStore::new(db))?;
                clocked(authenticator, r)
            })
            .depends_on(Dependency::on::<cortex_data::Db>())
            .depends_on(clock)
        }
        #[cfg(feature = "redis")]
        SessionStoreKind::Redis => {
            let Some(url) = config.redis_url.as_deref() else {
                return app.fail(AuthError::Config {
                    key: "auth.redis_url".into(),
                    reason: "is required by `auth.sessions.store = \"redis\"`; hint: set `[auth] redis_url = \"redis://127.0.0.1:6379\"`".into(),
                });
            };
            let store = match RedisSessionStore::new(url, &sessions.redis_prefix) {
                Ok(store) => store,
                Err(error) => return app.fail(error),
            };
            match SessionAuthenticator::new(sessions, &profile, store) {
                Ok(authenticator) => {
                    Provider::factory(move |r| clocked(authenticator.clone(), r)).depends_on(clock)
                }
                Err(error) => return app.fail(error),
            }
        }
        #[allow(unreachable_patterns)]
        other => {
            let feature = match other {
                SessionStoreKind::Redis => "redis",
                _ => "sqlite`, `postgres` or `mysql",
            };
            return app.fail(AuthError::Config {
                key: "auth.sessions.store".into(),
                reason: format!(
                    "names a store this build lacks; hint: turn on cortex-auth's `{feature}` feature"
                ),
            });
        }
    };
    setup.authenticators.push(crate::plugin::Registration {
        name: "session",
        dependency: Dependency::on::<SessionAuthenticator>(),
        resolve: Box::new(|r| {
            let authenticator: Arc<dyn ErasedAuthenticator> =
                r.get::<SessionAuthenticator>()?.into_arc();
            Ok(authenticator)
        }),
    });
    #[cfg(feature = "database")]
    let app = if sessions.store == SessionStoreKind::Database {
        app.provide(
            Provider::factory(|r| Ok(SessionTable((*r.get::<cortex_data::Db>()?).clone())))
                .depends_on(Dependency::on::<cortex_data::Db>())
                .declared_by("AuthPlugin (sessions)")
                .on_start(),
        )
    } else {
        app
    };
    app.provide(provider.declared_by("AuthPlugin")).provide(
        Provider::factory(|r| Ok(r.get::<SessionAuthenticator>()?.sessions()))
            .depends_on(Dependency::on::<SessionAuthenticator>())
            .declared_by("AuthPlugin"),
    )
}

/// Creates the sessions table when the app starts, so that a missing or unreachable database
/// fails the start, not the first login (the store itself still checks before its first
/// statement: `CREATE TABLE IF NOT EXISTS`, once per process).
#[cfg(feature = "database")]
struct SessionTable(cortex_data::Db);

#[cfg(feature = "database")]
impl cortex_di::OnStart for SessionTable {
    async fn on_start(&self) -> Result<(), cortex_di::BoxError> {
        DatabaseSessionStore::new(self.0.clone())
            .ensure_table()
            .await
    }
}
