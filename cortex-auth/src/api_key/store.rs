//! Where API keys are kept: the [`ApiKeyStore`] trait, its object-safe twin, and the in-memory
//! store.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cortex_di::BoxError;

/// An API key as a store keeps it: everything but the secret, whose SHA-256 digest stands in for
/// it.
///
/// ```
/// use cortex_auth::api_key::ApiKeyRecord;
/// use std::time::SystemTime;
///
/// let record = ApiKeyRecord::new("a1b2c3d4e5f6", [0; 32], "ci", "42", vec!["posts:read".into()], SystemTime::UNIX_EPOCH, None);
/// assert_eq!(record.info.owner, "42");
/// assert!(record.info.revoked_at.is_none());
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiKeyRecord {
    /// SHA-256 of the secret.
    pub hash: [u8; 32],
    /// What can be shown: id, name, owner, scopes, times.
    pub info: ApiKeyInfo,
}

impl ApiKeyRecord {
    /// A record that was never used nor revoked.
    pub fn new(
        id: impl Into<String>,
        hash: [u8; 32],
        name: impl Into<String>,
        owner: impl Into<String>,
        scopes: Vec<String>,
        created_at: SystemTime,
        expires_at: Option<SystemTime>,
    ) -> ApiKeyRecord {
        ApiKeyRecord {
            hash,
            info: ApiKeyInfo {
                id: id.into(),
                name: name.into(),
                owner: owner.into(),
                scopes,
                created_at,
                expires_at,
                revoked_at: None,
                last_used_at: None,
            },
        }
    }
}

impl std::fmt::Debug for ApiKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyRecord")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// What is known about an API key, without its secret: what `list` shows.
///
/// ```
/// use cortex_auth::api_key::ApiKeyRecord;
/// use std::time::{Duration, SystemTime};
///
/// let created = SystemTime::UNIX_EPOCH;
/// let record = ApiKeyRecord::new("a1b2c3d4e5f6", [0; 32], "ci", "42", vec![], created, Some(created + Duration::from_secs(60)));
/// assert!(!record.info.is_expired_at(created));
/// assert!(record.info.is_expired_at(created + Duration::from_secs(60)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiKeyInfo {
    /// The lookup id (the middle part of the key): safe to log and show.
    pub id: String,
    /// A name for people (`ci`, `billing-sync`).
    pub name: String,
    /// The user the key acts for: the [`CurrentUser`](crate::CurrentUser)'s id.
    pub owner: String,
    /// The permissions the key grants.
    pub scopes: Vec<String>,
    /// When it was made.
    pub created_at: SystemTime,
    /// When it stops working, if ever.
    pub expires_at: Option<SystemTime>,
    /// When it was revoked.
    pub revoked_at: Option<SystemTime>,
    /// When it last authenticated a request (to the minute: updated at most once a minute).
    pub last_used_at: Option<SystemTime>,
}

impl ApiKeyInfo {
    /// Whether the key has expired at `now` (an expiry at `now` exactly has passed).
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// Where API keys are kept. Cortex has three ([`MemoryApiKeyStore`], the database's and Redis',
/// chosen by `[auth.api_keys] store`); implement it for another.
///
/// A store fails with a [`BoxError`], which Cortex reports (an API key refused with `503`, a
/// task's error): it never needs to say *why* a key does not hold, only what it holds.
///
/// ```
/// use cortex_auth::api_key::{ApiKeyRecord, ApiKeyStore, MemoryApiKeyStore};
/// use std::time::SystemTime;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_di::BoxError> {
/// let store = MemoryApiKeyStore::new();
/// store.insert(ApiKeyRecord::new("a1b2c3d4e5f6", [7; 32], "ci", "42", vec![], SystemTime::now(), None)).await?;
/// assert_eq!(store.find("a1b2c3d4e5f6").await?.unwrap().hash, [7; 32]);
/// assert!(store.revoke("a1b2c3d4e5f6", SystemTime::now()).await?);
/// assert!(!store.revoke("nope", SystemTime::now()).await?);
/// # Ok(()) }
/// ```
pub trait ApiKeyStore: Send + Sync + 'static {
    /// Prepares the store when the app starts (creates the database table). The default does
    /// nothing.
    fn prepare(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        std::future::ready(Ok(()))
    }

    /// Stores a new key (its id is new).
    fn insert(&self, record: ApiKeyRecord) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// The key with this id, if any.
    fn find(&self, id: &str)
    -> impl Future<Output = Result<Option<ApiKeyRecord>, BoxError>> + Send;

    /// Every key, or `owner`'s, oldest first.
    fn list(
        &self,
        owner: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ApiKeyInfo>, BoxError>> + Send;

    /// Marks the key revoked at `at` (a key revoked already keeps its first time); `false` when
    /// there is no such key.
    fn revoke(
        &self,
        id: &str,
        at: SystemTime,
    ) -> impl Future<Output = Result<bool, BoxError>> + Send;

    /// Records that the key authenticated a request at `at`.
    fn touch(&self, id: &str, at: SystemTime) -> impl Future<Output = Result<(), BoxError>> + Send;
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send + 'a>>;

/// The object-safe form of [`ApiKeyStore`] that [`ApiKeys`](crate::api_key::ApiKeys) holds:
/// implemented for every `ApiKeyStore`, never by hand.
pub trait ErasedApiKeyStore: Send + Sync + 'static {
    /// [`ApiKeyStore::prepare`], boxed.
    fn prepare_boxed(&self) -> Boxed<'_, ()>;
    /// [`ApiKeyStore::insert`], boxed.
    fn insert_boxed(&self, record: ApiKeyRecord) -> Boxed<'_, ()>;
    /// [`ApiKeyStore::find`], boxed.
    fn find_boxed<'a>(&'a self, id: &'a str) -> Boxed<'a, Option<ApiKeyRecord>>;
    /// [`ApiKeyStore::list`], boxed.
    fn list_boxed<'a>(&'a self, owner: Option<&'a str>) -> Boxed<'a, Vec<ApiKeyInfo>>;
    /// [`ApiKeyStore::revoke`], boxed.
    fn revoke_boxed<'a>(&'a self, id: &'a str, at: SystemTime) -> Boxed<'a, bool>;
    /// [`ApiKeyStore::touch`], boxed.
    fn touch_boxed<'a>(&'a self, id: &'a str, at: SystemTime) -> Boxed<'a, ()>;
}

impl<S: ApiKeyStore> ErasedApiKeyStore for S {
    fn prepare_boxed(&self) -> Boxed<'_, ()> {
        Box::pin(self.prepare())
    }
    fn insert_boxed(&self, record: ApiKeyRecord) -> Boxed<'_, ()> {
        Box::pin(self.insert(record))
    }
    fn find_boxed<'a>(&'a self, id: &'a str) -> Boxed<'a, Option<ApiKeyRecord>> {
        Box::pin(self.find(id))
    }
    fn list_boxed<'a>(&'a self, owner: Option<&'a str>) -> Boxed<'a, Vec<ApiKeyInfo>> {
        Box::pin(self.list(owner))
    }
    fn revoke_boxed<'a>(&'a self, id: &'a str, at: SystemTime) -> Boxed<'a, bool> {
        Box::pin(self.revoke(id, at))
    }
    fn touch_boxed<'a>(&'a self, id: &'a str, at: SystemTime) -> Boxed<'a, ()> {
        Box::pin(self.touch(id, at))
    }
}

/// API keys in the process's memory: for tests and single-instance apps whose keys may vanish on
/// restart (every key is lost when the process ends).
///
/// ```
/// use cortex_auth::api_key::MemoryApiKeyStore;
/// let store = MemoryApiKeyStore::new();
/// # let _ = store;
/// ```
#[derive(Debug, Default)]
pub struct MemoryApiKeyStore {
    keys: Mutex<HashMap<String, ApiKeyRecord>>,
}

impl MemoryApiKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, ApiKeyRecord>> {
        // A panic while holding the lock leaves the map consistent (each operation is one
        // insert or field update).
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ApiKeyStore for MemoryApiKeyStore {
    async fn insert(&self, record: ApiKeyRecord) -> Result<(), BoxError> {
        let mut keys = self.keys();
        if keys.contains_key(&record.info.id) {
            return Err(
                format!("an API key with the id `{}` exists already", record.info.id).into(),
            );
        }
        keys.insert(record.info.id.clone(), record);
        Ok(())
    }

    async fn find(&self, id: &str) -> Result<Option<ApiKeyRecord>, BoxError> {
        Ok(self.keys().get(id).cloned())
    }

    async fn list(&self, owner: Option<&str>) -> Result<Vec<ApiKeyInfo>, BoxError> {
        let mut all: Vec<ApiKeyInfo> = self
            .keys()
            .values()
            .filter(|r| owner.is_none_or(|o| r.info.owner == o))
            .map(|r| r.info.clone())
            .collect();
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    async fn revoke(&self, id: &str, at: SystemTime) -> Result<bool, BoxError> {
        Ok(match self.keys().get_mut(id) {
            Some(record) => {
                record.info.revoked_at.get_or_insert(at);
                true
            }
            None => false,
        })
    }

    async fn touch(&self, id: &str, at: SystemTime) -> Result<(), BoxError> {
        if let Some(record) = self.keys().get_mut(id) {
            record.info.last_used_at = Some(at);
        }
        Ok(())
    }
}

/// Seconds since the epoch, as the database and Redis stores keep times.
pub(crate) fn to_secs(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// The time `secs` seconds after the epoch.
pub(crate) fn from_secs(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

/// Scopes as the stores keep them: separated by spaces (a scope holds none).
#[cfg_attr(not(any(feature = "database", feature = "redis")), allow(dead_code))]
pub(crate) fn join_scopes(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// The scopes of [`join_scopes`]'s text.
#[cfg_attr(not(any(feature = "database", feature = "redis")), allow(dead_code))]
pub(crate) fn split_scopes(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}
