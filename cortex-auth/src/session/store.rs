//! [`SessionStore`]: where sessions live, and the in-memory one.

use std::collections::{HashMap, HashSet};
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
/// A store keeps an index by user ([`SessionUser::id`] of [`SessionRecord::user`]) so that
/// [`delete_user`](Self::delete_user) ends every session of a user (logout everywhere, after a
/// password change).
///
/// Implement it for a store of your own and give it to
/// [`SessionAuthenticator::new`](crate::SessionAuthenticator::new); the built-in ones are [`MemorySessionStore`],
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
///     async fn update(&self, _key: &str, _record: &SessionRecord, _ttl: Duration) -> Result<bool, BoxError> {
///         Ok(false)
///     }
///     async fn delete(&self, _key: &str) -> Result<(), BoxError> {
///         Ok(())
///     }
///     async fn delete_user(&self, _user_id: &str) -> Result<u64, BoxError> {
///         Ok(0)
///     }
/// }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The session stored under `key`, if any (and not past its `ttl`).
    fn load(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<SessionRecord>, BoxError>> + Send;

    /// Stores a new session: `record` under `key` for `ttl` (the time left before it would
    /// expire; a store may drop it afterwards), indexed by its user if it has one.
    fn save(
        &self,
        key: &str,
        record: &SessionRecord,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// Stores `record` under `key` for `ttl` **only if** a session is still stored there, and
    /// says whether it was: a request that loaded a session which was logged out or revoked
    /// meanwhile (by another request, [`delete_user`](Self::delete_user)) must not bring it back.
    fn update(
        &self,
        key: &str,
        record: &SessionRecord,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, BoxError>> + Send;

    /// Deletes the session under `key` (nothing when there is none).
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// Deletes every session of the user `user_id`, returning how many there were.
    fn delete_user(&self, user_id: &str) -> impl Future<Output = Result<u64, BoxError>> + Send;
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

    fn update(
        &self,
        key: &str,
        record: &SessionRecord,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, BoxError>> + Send {
        S::update(self, key, record, ttl)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), BoxError>> + Send {
        S::delete(self, key)
    }

    fn delete_user(&self, user_id: &str) -> impl Future<Output = Result<u64, BoxError>> + Send {
        S::delete_user(self, user_id)
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
    /// [`SessionStore::update`], boxed.
    fn update_boxed<'a>(
        &'a self,
        key: &'a str,
        record: &'a SessionRecord,
        ttl: Duration,
    ) -> Boxed<'a, Result<bool, BoxError>>;
    /// [`SessionStore::delete`], boxed.
    fn delete_boxed<'a>(&'a self, key: &'a str) -> Boxed<'a, Result<(), BoxError>>;
    /// [`SessionStore::delete_user`], boxed.
    fn delete_user_boxed<'a>(&'a self, user_id: &'a str) -> Boxed<'a, Result<u64, BoxError>>;
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

    fn update_boxed<'a>(
        &'a self,
        key: &'a str,
        record: &'a SessionRecord,
        ttl: Duration,
    ) -> Boxed<'a, Result<bool, BoxError>> {
        Box::pin(self.update(key, record, ttl))
    }

    fn delete_boxed<'a>(&'a self, key: &'a str) -> Boxed<'a, Result<(), BoxError>> {
        Box::pin(self.delete(key))
    }

    fn delete_user_boxed<'a>(&'a self, user_id: &'a str) -> Boxed<'a, Result<u64, BoxError>> {
        Box::pin(self.delete_user(user_id))
    }
}

/// Sessions in the process's memory: lost on restart and not shared between instances (use the
/// database or Redis store behind a load balancer). Entries past their `ttl` are never returned, and
/// swept every 256 saves.
///
/// ```
/// use std::time::Duration;
/// use cortex_auth::{MemorySessionStore, SessionRecord, SessionStore, SessionUser};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_di::BoxError> {
/// let store = MemorySessionStore::new();
/// let mut record = SessionRecord::new(0);
/// record.user = Some(SessionUser { id: "42".into(), roles: vec![], permissions: vec![] });
/// store.save("k", &record, Duration::from_secs(60)).await?;
/// assert!(store.load("k").await?.is_some());
/// assert_eq!(store.delete_user("42").await?, 1);
/// assert!(store.load("k").await?.is_none());
/// assert!(!store.update("k", &record, Duration::from_secs(60)).await?, "not brought back");
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    entries: Mutex<Entries>,
    saves: std::sync::atomic::AtomicU64,
}

/// The sessions by key, and their keys by user.
#[derive(Debug, Default)]
struct Entries {
    sessions: HashMap<String, (SessionRecord, Instant)>,
    by_user: HashMap<String, HashSet<String>>,
}

impl Entries {
    fn unindex(&mut self, key: &str, record: &SessionRecord) {
        if let Some(user) = &record.user
            && let Some(keys) = self.by_user.get_mut(&user.id)
        {
            keys.remove(key);
            if keys.is_empty() {
                self.by_user.remove(&user.id);
            }
        }
    }

    fn insert(&mut self, key: &str, record: &SessionRecord, deadline: Instant) {
        if let Some((old, _)) = self
            .sessions
            .insert(key.to_string(), (record.clone(), deadline))
        {
            self.unindex(key, &old);
        }
        if let Some(user) = &record.user {
            self.by_user
                .entry(user.id.clone())
                .or_default()
                .insert(key.to_string());
        }
    }

    fn remove(&mut self, key: &str) -> Option<(SessionRecord, Instant)> {
        let removed = self.sessions.remove(key)?;
        self.unindex(key, &removed.0);
        Some(removed)
    }
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
        self.lock().sessions.len()
    }

    /// Whether it holds no session.
    ///
    /// ```
    /// assert!(cortex_auth::MemorySessionStore::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
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
            .sessions
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
            let expired: Vec<String> = entries
                .sessions
                .iter()
                .filter(|(_, (_, deadline))| *deadline <= now)
                .map(|(key, _)| key.clone())
                .collect();
            for key in expired {
                entries.remove(&key);
            }
        }
        entries.insert(key, record, now + ttl);
        Ok(())
    }

    async fn update(
        &self,
        key: &str,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<bool, BoxError> {
        let now = Instant::now();
        let mut entries = self.lock();
        let live = entries
            .sessions
            .get(key)
            .is_some_and(|(_, deadline)| *deadline > now);
        if live {
            entries.insert(key, record, now + ttl);
        }
        Ok(live)
    }

    async fn delete(&self, key: &str) -> Result<(), BoxError> {
        self.lock().remove(key);
        Ok(())
    }

    async fn delete_user(&self, user_id: &str) -> Result<u64, BoxError> {
        let now = Instant::now();
        let mut entries = self.lock();
        let keys = entries.by_user.remove(user_id).unwrap_or_default();
        let mut live = 0;
        for key in keys {
            if let Some((_, deadline)) = entries.sessions.remove(&key)
                && deadline > now
            {
                live += 1;
            }
        }
        Ok(live)
    }
}
