//! Refresh tokens: opaque, random, stored hashed server-side, rotated on every use, with reuse
//! detection (a rotated token presented again revokes its whole family).
//!
//! [`RefreshTokens`] is the service (a singleton the [`AuthPlugin`](struct@crate::AuthPlugin) binds);
//! [`RefreshStore`] is where the tokens live: in memory (the default), in the app's database
//! (`database` feature) or in Redis (`redis` feature), chosen by `[auth.refresh] store`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cortex_core::App;
#[cfg(feature = "database")]
use cortex_di::Dependency;
use cortex_di::Provider;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{AuthError, AuthFailure};
use crate::user::{AuthMethod, CurrentUser};

#[cfg(feature = "database")]
mod database;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod store;

#[cfg(feature = "database")]
pub use database::DatabaseRefreshStore;
pub use memory::MemoryRefreshStore;
#[cfg(feature = "redis")]
pub use redis::RedisRefreshStore;
pub use store::{ErasedRefreshStore, RefreshRecord, RefreshStore, RotateOutcome, UserSnapshot};

/// The name the log lines and the store errors use.
const TARGET: &str = "cortex::auth";

/// Where `[auth.refresh]` keeps the tokens.
///
/// ```
/// use cortex_auth::RefreshStoreKind;
/// assert_eq!(RefreshStoreKind::default(), RefreshStoreKind::Memory);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RefreshStoreKind {
    /// In the process (lost on restart, not shared between instances): the default.
    #[default]
    Memory,
    /// The app's database (`cortex-data`'s `Db`), table `cortex_auth_refresh_tokens`.
    Database,
    /// Redis at `[auth] redis_url`.
    Redis,
}

/// `[auth.refresh]`: refresh tokens' lifetimes and store.
///
/// ```
/// use cortex_auth::AuthConfig;
/// use cortex_core::config::Config;
/// use std::time::Duration;
///
/// let config = Config::from_toml("[auth.refresh]\nttl = '7d'\nreuse_grace = '2s'")?;
/// let refresh = AuthConfig::from_config(&config)?.refresh;
/// assert_eq!(refresh.ttl, Duration::from_secs(7 * 86_400));
/// assert_eq!(refresh.absolute_ttl, Duration::from_secs(90 * 86_400));
/// assert_eq!(refresh.reuse_grace, Duration::from_secs(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RefreshConfig {
    /// How long one token is valid (default 30 days): a client idle longer logs in again.
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub ttl: Duration,
    /// How long a family lives from its login, however often it is rotated (default 90 days).
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub absolute_ttl: Duration,
    /// How long after its rotation a token may be presented again without counting as a reuse
    /// (default 0: never). Within it, the token is rotated once more (the family then has two
    /// live branches), for clients that refresh concurrently; a stolen token is also accepted
    /// within it, so keep it to a few seconds.
    #[serde(deserialize_with = "cortex_core::config::units::de::duration")]
    pub reuse_grace: Duration,
    /// Where the tokens live: `memory` (default), `database`, `redis`.
    pub store: RefreshStoreKind,
    /// The prefix of the Redis keys (default `cortex:auth:refresh:`).
    pub redis_prefix: String,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        RefreshConfig {
            ttl: Duration::from_secs(30 * 86_400),
            absolute_ttl: Duration::from_secs(90 * 86_400),
            reuse_grace: Duration::ZERO,
            store: RefreshStoreKind::Memory,
            redis_prefix: "cortex:auth:refresh:".into(),
        }
    }
}

/// A refresh token, as handed to the client: 32 random bytes, base64url (43 characters). Its
/// `Debug` does not show it.
///
/// ```
/// use cortex_auth::RefreshToken;
/// let token = RefreshToken::from("abc".to_string());
/// assert_eq!(token.as_str(), "abc");
/// assert_eq!(format!("{token:?}"), "RefreshToken(***)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    token: String,
    family: String,
    expires_at: Option<SystemTime>,
}

impl RefreshToken {
    /// The token, to send to the client.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// The id of its family (one per login), for logs and [`RefreshTokens::revoke_family`]
    /// (empty for a token made with `From<String>`).
    pub fn family(&self) -> &str {
        &self.family
    }

    /// When it expires (`None` for a token made with `From<String>`).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }
}

impl From<String> for RefreshToken {
    fn from(token: String) -> Self {
        RefreshToken {
            token,
            family: String::new(),
            expires_at: None,
        }
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(***)")
    }
}

/// What a successful [`RefreshTokens::rotate`] gives: the family's next token and the user
/// snapshot taken at login, to issue the new access token from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rotated {
    /// The next token of the family (the presented one is now used).
    pub token: RefreshToken,
    /// The user, as it was when the family was issued (id, roles, permissions).
    pub user: CurrentUser,
}

/// Where the service reads the time: the system clock, or a test's.
type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Refresh tokens: issue one at login, rotate it on refresh, revoke on logout.
///
/// Each token is random (32 bytes from the OS) and only its SHA-256 is stored, with its family
/// (one per login), the user snapshot, its expiry and its state. Rotating a token marks it used
/// and issues the family's next one; presenting a used token again — a stolen token replayed, or
/// the thief's copy after the client rotated — revokes the whole family, the newest token
/// included, and fails with [`AuthFailure::Reused`] (logged at `warn`, target `cortex::auth`,
/// with the family and user ids, never the token). Two concurrent rotations of one token: one
/// wins, the other is a reuse (unless within `[auth.refresh] reuse_grace`).
///
/// ```
/// use cortex_auth::{AuthFailure, CurrentUser, MemoryRefreshStore, RefreshConfig, RefreshTokens};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tokens = RefreshTokens::new(RefreshConfig::default(), MemoryRefreshStore::new());
/// let ada = CurrentUser::builder("ada").roles(["editor"]).build();
///
/// let first = tokens.issue(&ada).await?;
/// let rotated = tokens.rotate(first.as_str()).await?;
/// assert_eq!(rotated.user.id(), "ada");
/// assert!(rotated.user.has_role("editor"));
///
/// // The first token again: a reuse, and the family is revoked.
/// assert!(matches!(tokens.rotate(first.as_str()).await, Err(AuthFailure::Reused)));
/// assert!(matches!(tokens.rotate(rotated.token.as_str()).await, Err(AuthFailure::Revoked)));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RefreshTokens {
    config: Arc<RefreshConfig>,
    store: Arc<dyn ErasedRefreshStore>,
    clock: Clock,
}

impl fmt::Debug for RefreshTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokens")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RefreshTokens {
    /// The service on `store`, with `config`'s lifetimes.
    ///
    /// ```
    /// use cortex_auth::{MemoryRefreshStore, RefreshConfig, RefreshTokens};
    /// let tokens = RefreshTokens::new(RefreshConfig::default(), MemoryRefreshStore::new());
    /// assert_eq!(tokens.config().ttl.as_secs(), 30 * 86_400);
    /// ```
    pub fn new(config: RefreshConfig, store: impl RefreshStore) -> Self {
        Self::from_erased(config, Arc::new(store))
    }

    /// The service on a store already erased (what the plugin binds).
    pub fn from_erased(config: RefreshConfig, store: Arc<dyn ErasedRefreshStore>) -> Self {
        RefreshTokens {
            config: Arc::new(config),
            store,
            clock: Arc::new(SystemTime::now),
        }
    }

    /// The same service reading the time from `clock` (tests move it forward).
    ///
    /// ```
    /// use cortex_auth::{MemoryRefreshStore, RefreshConfig, RefreshTokens};
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let tokens = RefreshTokens::new(RefreshConfig::default(), MemoryRefreshStore::new())
    ///     .with_clock(|| UNIX_EPOCH + Duration::from_secs(1_000_000));
    /// # let _ = tokens;
    /// ```
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &RefreshConfig {
        &self.config
    }

    fn now_ms(&self) -> i64 {
        millis((self.clock)())
    }

    /// Starts a family for `user` (at login) and returns its first token.
    ///
    /// # Errors
    /// [`AuthError::Issue`] when the OS has no randomness, [`AuthError::Store`] when the store
    /// fails.
    pub async fn issue(&self, user: &CurrentUser) -> Result<RefreshToken, AuthError> {
        let now = self.now_ms();
        let (token, hash) = new_token()?;
        let family = random_id()?;
        let family_expires_at = now.saturating_add(duration_ms(self.config.absolute_ttl));
        let expires_at = now
            .saturating_add(duration_ms(self.config.ttl))
            .min(family_expires_at);
        let record = RefreshRecord {
            hash,
            family: family.clone(),
            user: UserSnapshot::of(user),
            issued_at: now,
            expires_at,
            family_expires_at,
        };
        self.store
            .insert(record)
            .await
            .map_err(|e| AuthError::store("refresh tokens", e))?;
        tracing::debug!(target: TARGET, family = %family, user = user.id(), "refresh token family issued");
        Ok(RefreshToken {
            token,
            family,
            expires_at: Some(from_millis(expires_at)),
        })
    }

    /// Rotates `token`: marks it used and returns the family's next token with the user
    /// snapshot. Every refusal is logged (target `cortex::auth`) with its reason.
    ///
    /// # Errors
    /// [`AuthFailure::Malformed`] (not a token of this form), [`AuthFailure::Unknown`],
    /// [`AuthFailure::Expired`], [`AuthFailure::Revoked`], [`AuthFailure::Reused`] (the family is
    /// now revoked), [`AuthFailure::Store`].
    pub async fn rotate(&self, token: &str) -> Result<Rotated, AuthFailure> {
        let result = self.rotate_inner(token).await;
        if let Err(failure) = &result {
            match failure {
                AuthFailure::Reused | AuthFailure::Store(_) => {}
                other => {
                    tracing::info!(target: TARGET, reason = other.code(), "refresh token refused: {other}");
                }
            }
        }
        result
    }

    async fn rotate_inner(&self, token: &str) -> Result<Rotated, AuthFailure> {
        let hash = hash_token(token)?;
        let now = self.now_ms();
        let (next, next_hash) = new_token().map_err(|e| AuthFailure::Store(e.into()))?;
        let next_expires_at = now.saturating_add(duration_ms(self.config.ttl));
        let grace = duration_ms(self.config.reuse_grace);
        let outcome = self
            .store
            .rotate(&hash, &next_hash, next_expires_at, now, grace)
            .await
            .map_err(|e| {
                tracing::error!(target: TARGET, error = %e, "the refresh token store failed");
                AuthFailure::Store(e)
            })?;
        match outcome {
            RotateOutcome::Rotated(old) => {
                let expires_at = next_expires_at.min(old.family_expires_at);
                tracing::debug!(target: TARGET, family = %old.family, user = %old.user.id, "refresh token rotated");
                Ok(Rotated {
                    user: old.user.to_user(),
                    token: RefreshToken {
                        token: next,
                        family: old.family,
                        expires_at: Some(from_millis(expires_at)),
                    },
                })
            }
            RotateOutcome::Reused { family, user_id } => {
                tracing::warn!(
                    target: TARGET,
                    family = %family,
                    user = %user_id,
                    reason = "reused",
                    "a rotated refresh token was reused: its family is revoked"
                );
                Err(AuthFailure::Reused)
            }
            RotateOutcome::Expired => Err(AuthFailure::Expired),
            RotateOutcome::Revoked => Err(AuthFailure::Revoked),
            RotateOutcome::Unknown => Err(AuthFailure::Unknown),
        }
    }

    /// Logs out: revokes `token`'s family (the token and every other of its login). Returns
    /// whether the token was known; a malformed token is `false`.
    ///
    /// # Errors
    /// [`AuthError::Store`].
    pub async fn revoke(&self, token: &str) -> Result<bool, AuthError> {
        let Ok(hash) = hash_token(token) else {
            return Ok(false);
        };
        let family = self
            .store
            .family_of(&hash)
            .await
            .map_err(|e| AuthError::store("refresh tokens", e))?;
        match family {
            Some(family) => {
                self.revoke_family(&family).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Revokes every token of the family `family`; returns how many tokens that touched.
    ///
    /// # Errors
    /// [`AuthError::Store`].
    pub async fn revoke_family(&self, family: &str) -> Result<u64, AuthError> {
        let count = self
            .store
            .revoke_family(family)
            .await
            .map_err(|e| AuthError::store("refresh tokens", e))?;
        tracing::info!(target: TARGET, family = %family, "refresh token family revoked");
        Ok(count)
    }

    /// Revokes every token of `user_id` (logout everywhere, a password change); returns how many
    /// tokens that touched.
    ///
    /// # Errors
    /// [`AuthError::Store`].
    pub async fn revoke_user(&self, user_id: &str) -> Result<u64, AuthError> {
        let count = self
            .store
            .revoke_user(user_id)
            .await
            .map_err(|e| AuthError::store("refresh tokens", e))?;
        tracing::info!(target: TARGET, user = %user_id, "every refresh token of the user revoked");
        Ok(count)
    }

    /// Deletes the expired tokens (what the task `auth:refresh:prune` runs; Redis expires its
    /// keys by itself). Returns how many were deleted.
    ///
    /// # Errors
    /// [`AuthError::Store`].
    pub async fn prune(&self) -> Result<u64, AuthError> {
        let now = self.now_ms();
        self.store
            .prune(now)
            .await
            .map_err(|e| AuthError::store("refresh tokens", e))
    }
}

/// A new token and the hash the store keeps.
fn new_token() -> Result<(String, String), AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AuthError::Issue(format!("the OS gave no randomness: {e}")))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hex_sha256(token.as_bytes());
    Ok((token, hash))
}

fn random_id() -> Result<String, AuthError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| AuthError::Issue(format!("the OS gave no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a presented token, refusing what is not 32 bytes in base64url.
fn hash_token(token: &str) -> Result<String, AuthFailure> {
    let well_formed = token.len() == 43
        && URL_SAFE_NO_PAD
            .decode(token)
            .is_ok_and(|bytes| bytes.len() == 32);
    if !well_formed {
        return Err(AuthFailure::Malformed("not a refresh token"));
    }
    Ok(hex_sha256(token.as_bytes()))
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl UserSnapshot {
    fn of(user: &CurrentUser) -> Self {
        UserSnapshot {
            id: user.id().to_string(),
            roles: user.roles().map(str::to_string).collect(),
            permissions: user.permissions().map(str::to_string).collect(),
        }
    }

    fn to_user(&self) -> CurrentUser {
        CurrentUser::builder(self.id.clone())
            .roles(self.roles.iter().cloned())
            .permissions(self.permissions.iter().cloned())
            .method(AuthMethod::Other("refresh"))
            .build()
    }
}

/// Binds [`RefreshTokens`] on the store `[auth.refresh] store` names, and the task
/// `auth:refresh:prune`.
pub(crate) fn install(
    app: App,
    config: &crate::AuthConfig,
    _setup: &mut crate::plugin::Setup,
) -> App {
    let refresh = config.refresh.clone();
    let app = match refresh.store {
        RefreshStoreKind::Memory => {
            let store: Arc<dyn ErasedRefreshStore> = Arc::new(MemoryRefreshStore::new());
            app.provide(
                Provider::value(RefreshTokens::from_erased(refresh, store))
                    .declared_by("AuthPlugin"),
            )
        }
        RefreshStoreKind::Database => install_database(app, refresh),
        RefreshStoreKind::Redis => install_redis(app, refresh, config.redis_url.as_deref()),
    };
    app.task("auth:refresh:prune", |container| async move {
        let tokens = container.get::<RefreshTokens>()?;
        let pruned = tokens.prune().await?;
        tracing::info!(target: TARGET, pruned, "expired refresh tokens deleted");
        Ok(())
    })
}

/// The database store, its table created when the app starts (so that a missing or unreachable
/// database fails the start, not the first login); [`RefreshTokens`] uses this very store.
#[cfg(feature = "database")]
struct RefreshTable(DatabaseRefreshStore);

#[cfg(feature = "database")]
impl cortex_di::OnStart for RefreshTable {
    async fn on_start(&self) -> Result<(), cortex_di::BoxError> {
        self.0.ensure_table().await
    }
}

#[cfg(feature = "database")]
fn install_database(app: App, refresh: RefreshConfig) -> App {
    app.provide(
        Provider::factory(|r| {
            let db = (*r.get::<cortex_data::Db>()?).clone();
            Ok(RefreshTable(DatabaseRefreshStore::new(db)))
        })
        .depends_on(Dependency::on::<cortex_data::Db>())
        .declared_by("AuthPlugin (refresh tokens)")
        .on_start(),
    )
    .provide(
        Provider::factory(move |r| {
            let store: Arc<dyn ErasedRefreshStore> = Arc::new(r.get::<RefreshTable>()?.0.clone());
            Ok(RefreshTokens::from_erased(refresh.clone(), store))
        })
        .depends_on(Dependency::on::<RefreshTable>())
        .declared_by("AuthPlugin"),
    )
}

#[cfg(not(feature = "database"))]
fn install_database(app: App, _refresh: RefreshConfig) -> App {
    app.fail(AuthError::Config {
        key: "auth.refresh.store".into(),
        reason: "is `database`, but cortex-auth was built without a database; hint: turn on the feature `sqlite`, `postgres` or `mysql` of cortex-auth (with the `cortex` facade: `auth` and a database feature)".into(),
    })
}

#[cfg(feature = "redis")]
fn install_redis(app: App, refresh: RefreshConfig, url: Option<&str>) -> App {
    let Some(url) = url else {
        return app.fail(missing_redis_url());
    };
    let store = match RedisRefreshStore::open(url, &refresh.redis_prefix) {
        Ok(store) => store,
        Err(error) => return app.fail(error),
    };
    let store: Arc<dyn ErasedRefreshStore> = Arc::new(store);
    app.provide(
        Provider::value(RefreshTokens::from_erased(refresh, store)).declared_by("AuthPlugin"),
    )
}

#[cfg(feature = "redis")]
fn missing_redis_url() -> AuthError {
    AuthError::Config {
        key: "auth.redis_url".into(),
        reason: "is missing, and `auth.refresh.store` is `redis`; hint: set `[auth] redis_url = \"redis://127.0.0.1:6379\"`".into(),
    }
}

#[cfg(not(feature = "redis"))]
fn install_redis(app: App, _refresh: RefreshConfig, _url: Option<&str>) -> App {
    app.fail(AuthError::Config {
        key: "auth.refresh.store".into(),
        reason: "is `redis`, but cortex-auth was built without Redis; hint: turn on the feature `redis` of cortex-auth (or of the `cortex` facade)".into(),
    })
}
