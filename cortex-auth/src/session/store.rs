//! [`SessionStore`]: where sessions live, and the in-memory one.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cortex_di::BoxError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The user a session is logged in as, as it was at login (id, roles, permissions).
///
/// ```
/// use cortex_auth::SessionUser;
/// let user = SessionUser { id: "42".into(), roles: vec!["admin".into()], permissions: vec![] };
/// assert_eq!(user.id, "42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    /// The user's id.
    pub id: String,
    /// The user's roles at login.
    pub roles: Vec<String>,
    /// The user's permissions at login.
    pub permissions: Vec<String>,
}

/// What a store keeps for a session: serialize it as it is (JSON is what the built-in stores
/// write).
///
/// ```
/// use cortex_auth::SessionRecord;
/// let record = SessionRecord::new(1_700_000_000);
/// assert!(record.user.is_none());
/// assert_eq!(record.last_seen_at, record.created_at);
/// let json = serde_json::to_string(&record)?;
/// assert_eq!(serde_json::from_str::<SessionRecord>(&json)?, record);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The logged-in user, if any.
    pub user: Option<SessionUser>,
    /// When the session was made or last logged in (Unix seconds): the absolute timeout counts
    /// from here.
    pub created_at: u64,
    /// When the session was last used (Unix seconds, written at most once a minute): the idle
    /// timeout counts from here.
    pub last_seen_at: u64,
    /// The CSRF token unsafe requests must carry (base64url of 32 random bytes).
    pub csrf: String,
    /// The app's values ([`Session::insert`](crate::Session::insert)).
    pub values: Map<String, Value>,
}

impl SessionRecord {
    /// An empty session made at `now` (Unix seconds).
    pub fn new(now: u64) -> SessionRecord {
        SessionRecord {
            user: None,
            created_at: now,
            last_seen_at: now,
            csrf: String::new(),
            values: Map::new(),
        }
    }
}

/// Where sessions live. `key` is the session id hashed (SHA-256, hex): a store never sees an id a
/// cookie could be made from.
///
/// Implement it for a store of your own and give it to [`SessionAuthenticator::new`]
/// (crate::SessionAuthenticator::new); the built-in ones are [`MemorySessionStore`],
/// `DatabaseSessionStore` (`database` feature) and `RedisSessionStore` (`redis` feature).
///
/// ```
/// use std::time::Duration;
/// use cortex_auth::{SessionRecord, SessionStore};
/// use cortex_di::BoxError;
///
/// /// Forgets everything (a sketch).
/// struct Nowhere;
///
/// impl SessionStore for Nowhere {
///     async fn load(&self, _key: &str) -> Result<Option<SessionRecord>, BoxError> {
///         Ok(None)
///     }
///     async fn save(&self, _key: &str, _record: &SessionRecord, _ttl: Duration) -> Result<(), BoxError> {
///         Ok(())
///     }
///     async fn delete(&self, _key: &str) -> Result<(), BoxError> {
///         Ok(())
///     }
/// }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The session stored under `key`, if any (and not past its `ttl`).
    fn load(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<SessionRecord>, BoxError>> + Send;

    /// Stores `record` under `key` for `ttl` (the time left before it would expire): a store may
    /// drop it afterwards.
    fn save(
        &self,
        key: &str,
        record: &SessionRecord,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// Deletes the session under `key` (nothing when there is none).
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), BoxError>> + Send;
}

/// A shared store (one store behind several authenticators).
impl<S: SessionStore> SessionStore for std::sync::Arc<S> {
    fn load(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<SessionRecord>, BoxError>> + Send {
        S::load(self, key)
    }

    fn save(
        &self,
        key: &str,
        record: &SessionRecord,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), BoxError>> + Send {
        S::save(self, key, record, ttl)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), BoxError>> + Send {
        S::delete(self, key)
    }
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe form of [`SessionStore`] the authenticator keeps: implemented for every
/// `SessionStore`, never by hand.
pub trait ErasedSessionStore: Send + Sync + 'static {
    /// [`SessionStore::load`], boxed.
    fn load_boxed<'a>(&'a self, key: &'a str)
    -> Boxed<'a, Result<Option<SessionRecord>, BoxError>>;
    /// [`SessionStore::save`], boxed.
    fn save_boxed<'a>(
        &'a self,
        key: &'a str,
        record: &'a SessionRecord,
        ttl: Duration,
    ) -> Boxed<'a, Result<(), BoxError>>;
    /// [`SessionStore::delete`], boxed.
    fn delete_boxed<'a>(&'a self, key: &'a str) -> Boxed<'a, Result<(), BoxError>>;
}

impl<S: SessionStore> ErasedSessionStore for S {
    fn load_boxed<'a>(
        &'a self,
        key: &'a str,
    ) -> Boxed<'a, Result<Option<SessionRecord>, BoxError>> {
        Box::pin(self.load(key))
    }

    fn save_boxed<'a>(
        &'a self,
        key: &'a str,
        record: &'a SessionRecord,
        ttl: Duration,
    ) -> Boxed<'a, Result<(), BoxError>> {
        Box::pin(self.save(key, record, ttl))
    }

    fn delete_boxed<'a>(&'a self, key: &'a str) -> Boxed<'a, Result<(), BoxError>> {
        Box::pin(self.delete(key))
    }
}

/// Sessions in the process's memory: lost on restart and not shared between instances (use the
/// database or Redis store behind a load balancer). Entries past their `ttl` are never returned, and
/// swept every 256 saves.
///
/// ```
/// use std::time::Duration;
/// use cortex_auth::{MemorySessionStore, SessionRecord, SessionStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_di::BoxError> {
/// let store = MemorySessionStore::new();
/// store.save("k", &SessionRecord::new(0), Duration::from_secs(60)).await?;
/// assert!(store.load("k").await?.is_some());
/// store.delete("k").await?;
/// assert!(store.load("k").await?.is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    entries: Mutex<HashMap<String, (SessionRecord, Instant)>>,
    saves: std::sync::atomic::AtomicU64,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many sessions it holds (expired ones included until the next sweep).
    ///
    /// ```
    /// assert_eq!(cortex_auth::MemorySessionStore::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds no session.
    ///
    /// ```
    /// assert!(cortex_auth::MemorySessionStore::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (SessionRecord, Instant)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SessionStore for MemorySessionStore {
    async fn load(&self, key: &str) -> Result<Option<SessionRecord>, BoxError> {
        let now = Instant::now();
        Ok(self
            .lock()
            .get(key)
            .filter(|(_, deadline)| *deadline > now)
            .map(|(record, _)| record.clone()))
    }

    async fn save(&self, key: &str, record: &SessionRecord, ttl: Duration) -> Result<(), BoxError> {
        let now = Instant::now();
        let mut entries = self.lock();
        // Expired entries are swept every 256 saves (not on each: O(sessions)).
        if self
            .saves
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .is_multiple_of(256)
        {
            entries.retain(|_, (_, deadline)| *deadline > now);
        }
        entries.insert(key.to_string(), (record.clone(), now + ttl));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), BoxError> {
        self.lock().remove(key);
        Ok(())
    }
}
