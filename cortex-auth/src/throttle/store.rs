//! Where login failures are counted: the [`ThrottleStore`] trait, its erased twin, the in-memory
//! store.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use cortex_di::BoxError;

/// How failures on one key turn into a lock: the first `free_attempts` failures cost nothing,
/// each one after locks the key for `base`, doubling (`base`, `2 × base`, `4 × base`, …) up to
/// `max`. Failures are forgotten `window` after the last one.
///
/// ```
/// use std::time::Duration;
/// use cortex_auth::Backoff;
///
/// let backoff = Backoff::new(5, Duration::from_secs(1), Duration::from_secs(900), Duration::from_secs(3600));
/// assert_eq!(backoff.lock_for(5), Duration::ZERO);
/// assert_eq!(backoff.lock_for(6), Duration::from_secs(1));
/// assert_eq!(backoff.lock_for(8), Duration::from_secs(4));
/// assert_eq!(backoff.lock_for(40), Duration::from_secs(900));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backoff {
    /// Failures allowed before the first lock.
    pub free_attempts: u32,
    /// The first lock.
    pub base: Duration,
    /// The longest lock.
    pub max: Duration,
    /// How long after the last failure the count is forgotten.
    pub window: Duration,
}

impl Backoff {
    /// A backoff policy.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = cortex_auth::Backoff::new(0, Duration::from_secs(1), Duration::from_secs(8), Duration::from_secs(60));
    /// assert_eq!(backoff.lock_for(1), Duration::from_secs(1));
    /// ```
    pub fn new(free_attempts: u32, base: Duration, max: Duration, window: Duration) -> Self {
        Backoff {
            free_attempts,
            base,
            max,
            window,
        }
    }

    /// How long a key is locked after its `failures`-th failure (zero while the failures are
    /// free).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = cortex_auth::Backoff::new(2, Duration::from_secs(1), Duration::from_secs(8), Duration::from_secs(60));
    /// let locks: Vec<u64> = (1..=7).map(|n| backoff.lock_for(n).as_secs()).collect();
    /// assert_eq!(locks, [0, 0, 1, 2, 4, 8, 8]);
    /// ```
    pub fn lock_for(&self, failures: u32) -> Duration {
        if failures <= self.free_attempts {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free_attempts - 1).min(40);
        self.base
            .checked_mul(1u32 << doublings.min(31))
            .map_or(self.max, |lock| lock.min(self.max))
    }
}

/// The state of one key: its failures in the current window and the lock they earned.
///
/// ```
/// let entry = cortex_auth::ThrottleEntry::default();
/// assert_eq!((entry.failures, entry.locked_until), (0, None));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThrottleEntry {
    /// Failures counted since the window started.
    pub failures: u32,
    /// Until when the key is locked (possibly already past).
    pub locked_until: Option<SystemTime>,
}

impl ThrottleEntry {
    /// An entry.
    ///
    /// ```
    /// let entry = cortex_auth::ThrottleEntry::new(3, None);
    /// assert_eq!(entry.failures, 3);
    /// ```
    pub fn new(failures: u32, locked_until: Option<SystemTime>) -> Self {
        ThrottleEntry {
            failures,
            locked_until,
        }
    }

    /// How long the key stays locked after `now` (`None` when it is not locked).
    ///
    /// ```
    /// # use std::time::{Duration, SystemTime};
    /// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
    /// let entry = cortex_auth::ThrottleEntry::new(6, Some(now + Duration::from_secs(2)));
    /// assert_eq!(entry.locked_for(now), Some(Duration::from_secs(2)));
    /// assert_eq!(entry.locked_for(now + Duration::from_secs(2)), None);
    /// ```
    pub fn locked_for(&self, now: SystemTime) -> Option<Duration> {
        self.locked_until
            .and_then(|until| until.duration_since(now).ok())
            .filter(|left| !left.is_zero())
    }
}

/// Where login failures are counted, by key (`account:<name>`, `address:<ip>`): the built-in
/// [`MemoryThrottleStore`] (one instance), [`RedisThrottleStore`](crate::RedisThrottleStore)
/// (several instances, `redis` feature), or a store of your own. `now` is the throttle's clock,
/// so that tests control time; a store never reads the system clock itself.
///
/// Implement each method with an `async fn`; the throttle boxes the futures
/// ([`ErasedThrottleStore`]).
///
/// ```
/// use std::time::SystemTime;
/// use cortex_auth::{Backoff, ThrottleEntry, ThrottleStore};
/// use cortex_di::BoxError;
///
/// /// Never locks anyone: a test double.
/// struct Lenient;
///
/// impl ThrottleStore for Lenient {
///     async fn get(&self, _key: &str, _now: SystemTime) -> Result<ThrottleEntry, BoxError> {
///         Ok(ThrottleEntry::default())
///     }
///     async fn record_failure(&self, _key: &str, _now: SystemTime, _backoff: Backoff) -> Result<ThrottleEntry, BoxError> {
///         Ok(ThrottleEntry::default())
///     }
///     async fn reset(&self, _key: &str) -> Result<(), BoxError> {
///         Ok(())
///     }
/// }
/// ```
pub trait ThrottleStore: Send + Sync + 'static {
    /// The key's entry at `now` (the default entry when it has none, or when its window has
    /// passed).
    fn get(
        &self,
        key: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<ThrottleEntry, BoxError>> + Send;

    /// Counts one failure at `now`, atomically: forgets the old count when `backoff.window` has
    /// passed since the last failure, adds one, extends the lock to `now +
    /// backoff.lock_for(failures)` (never shortens it), and answers the new entry.
    fn record_failure(
        &self,
        key: &str,
        now: SystemTime,
        backoff: Backoff,
    ) -> impl Future<Output = Result<ThrottleEntry, BoxError>> + Send;

    /// Forgets the key (a successful login).
    fn reset(&self, key: &str) -> impl Future<Output = Result<(), BoxError>> + Send;
}

/// A boxed future of an [`ErasedThrottleStore`].
pub type BoxedThrottle<'a, T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send + 'a>>;

/// The object-safe form of [`ThrottleStore`] that the [`LoginThrottle`](crate::LoginThrottle)
/// holds: implemented for every `ThrottleStore`, never by hand.
///
/// ```
/// use std::sync::Arc;
/// use std::time::SystemTime;
/// use cortex_auth::{ErasedThrottleStore, MemoryThrottleStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store: Arc<dyn ErasedThrottleStore> = Arc::new(MemoryThrottleStore::new());
/// assert_eq!(store.get_boxed("account:ann", SystemTime::now()).await.unwrap().failures, 0);
/// # });
/// ```
pub trait ErasedThrottleStore: Send + Sync + 'static {
    /// [`ThrottleStore::get`], boxed.
    fn get_boxed<'a>(&'a self, key: &'a str, now: SystemTime) -> BoxedThrottle<'a, ThrottleEntry>;
    /// [`ThrottleStore::record_failure`], boxed.
    fn record_failure_boxed<'a>(
        &'a self,
        key: &'a str,
        now: SystemTime,
        backoff: Backoff,
    ) -> BoxedThrottle<'a, ThrottleEntry>;
    /// [`ThrottleStore::reset`], boxed.
    fn reset_boxed<'a>(&'a self, key: &'a str) -> BoxedThrottle<'a, ()>;
}

impl<S: ThrottleStore> ErasedThrottleStore for S {
    fn get_boxed<'a>(&'a self, key: &'a str, now: SystemTime) -> BoxedThrottle<'a, ThrottleEntry> {
        Box::pin(self.get(key, now))
    }

    fn record_failure_boxed<'a>(
        &'a self,
        key: &'a str,
        now: SystemTime,
        backoff: Backoff,
    ) -> BoxedThrottle<'a, ThrottleEntry> {
        Box::pin(self.record_failure(key, now, backoff))
    }

    fn reset_boxed<'a>(&'a self, key: &'a str) -> BoxedThrottle<'a, ()> {
        Box::pin(self.reset(key))
    }
}

/// The in-memory store (the default): one process's counts, lost on restart. Entries whose window
/// has passed are pruned as the map grows, so that a spray of made-up accounts cannot grow it
/// without bound for longer than a window.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use cortex_auth::{Backoff, MemoryThrottleStore, ThrottleStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryThrottleStore::new();
/// let backoff = Backoff::new(0, Duration::from_secs(1), Duration::from_secs(60), Duration::from_secs(3600));
/// let now = SystemTime::now();
/// let entry = store.record_failure("account:ann", now, backoff).await?;
/// assert_eq!(entry.locked_for(now), Some(Duration::from_secs(1)));
/// # Ok::<_, cortex_di::BoxError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct MemoryThrottleStore {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    entries: HashMap<String, MemoryEntry>,
    /// The size at which the next pruning runs.
    prune_at: usize,
}

#[derive(Debug, Clone, Copy)]
struct MemoryEntry {
    failures: u32,
    locked_until: Option<SystemTime>,
    last_failure: SystemTime,
    window: Duration,
}

impl MemoryEntry {
    fn expired(&self, now: SystemTime) -> bool {
        now.duration_since(self.last_failure)
            .is_ok_and(|since| since >= self.window)
    }
}

const PRUNE_FLOOR: usize = 1024;

impl MemoryThrottleStore {
    /// An empty store.
    ///
    /// ```
    /// let store = cortex_auth::MemoryThrottleStore::new();
    /// assert_eq!(store.len(), 0);
    /// ```
    pub fn new() -> Self {
        MemoryThrottleStore::default()
    }

    /// How many keys it holds (expired ones included until pruned).
    ///
    /// ```
    /// assert!(cortex_auth::MemoryThrottleStore::new().is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether it holds no key.
    ///
    /// ```
    /// assert!(cortex_auth::MemoryThrottleStore::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A panic while holding the lock leaves plain counters: still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ThrottleStore for MemoryThrottleStore {
    async fn get(&self, key: &str, now: SystemTime) -> Result<ThrottleEntry, BoxError> {
        let state = self.lock();
        Ok(match state.entries.get(key) {
            Some(entry) if !entry.expired(now) => {
                ThrottleEntry::new(entry.failures, entry.locked_until)
            }
            _ => ThrottleEntry::default(),
        })
    }

    async fn record_failure(
        &self,
        key: &str,
        now: SystemTime,
        backoff: Backoff,
    ) -> Result<ThrottleEntry, BoxError> {
        let mut state = self.lock();
        if state.entries.len() >= state.prune_at.max(PRUNE_FLOOR) {
            state.entries.retain(|_, entry| !entry.expired(now));
            state.prune_at = (state.entries.len() * 2).max(PRUNE_FLOOR);
        }
        let entry = state.entries.entry(key.to_owned()).or_insert(MemoryEntry {
            failures: 0,
            locked_until: None,
            last_failure: now,
            window: backoff.window,
        });
        if entry.expired(now) {
            entry.failures = 0;
            entry.locked_until = None;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        entry.window = backoff.window;
        let lock = backoff.lock_for(entry.failures);
        if !lock.is_zero() {
            let until = now + lock;
            entry.locked_until = Some(entry.locked_until.map_or(until, |old| old.max(until)));
        }
        Ok(ThrottleEntry::new(entry.failures, entry.locked_until))
    }

    async fn reset(&self, key: &str) -> Result<(), BoxError> {
        self.lock().entries.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn backoff() -> Backoff {
        Backoff::new(5, Duration::from_secs(1), Duration::from_secs(60), HOUR)
    }

    #[tokio::test]
    async fn an_expired_entry_reads_as_none_and_len_counts_keys() {
        let store = MemoryThrottleStore::new();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert!(store.is_empty());
        store.record_failure("a", t0, backoff()).await.unwrap();
        store.record_failure("a", t0, backoff()).await.unwrap();
        store.record_failure("b", t0, backoff()).await.unwrap();
        assert_eq!(store.len(), 2);
        assert!(!store.is_empty());
        assert_eq!(store.get("a", t0).await.unwrap().failures, 2);
        // One second before the window ends the count holds; at its end it is gone.
        let almost = t0 + HOUR - Duration::from_secs(1);
        assert_eq!(store.get("a", almost).await.unwrap().failures, 2);
        assert_eq!(store.get("a", t0 + HOUR).await.unwrap().failures, 0);
    }

    #[tokio::test]
    async fn a_full_store_drops_the_expired_keys_and_keeps_the_live_ones() {
        let store = MemoryThrottleStore::new();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for i in 0..424 {
            store
                .record_failure(&format!("old-{i}"), t0, backoff())
                .await
                .unwrap();
        }
        let later = t0 + HOUR / 2;
        for i in 0..600 {
            store
                .record_failure(&format!("live-{i}"), later, backoff())
                .await
                .unwrap();
        }
        assert_eq!(store.len(), PRUNE_FLOOR);
        // Past the old keys' window: the next failure prunes them, the live ones stay.
        let pruning = t0 + HOUR + Duration::from_secs(1);
        store
            .record_failure("new", pruning, backoff())
            .await
            .unwrap();
        assert_eq!(store.len(), 601);
        assert_eq!(store.get("live-7", pruning).await.unwrap().failures, 1);
    }
}
