//! Rate limiting: the [`RateLimitStore`] extension point and its in-memory GCRA implementation.
//!
//! The middleware asks the store for a [`Decision`] per request, keyed by a [`RateLimitKey`].
//! [`InMemoryStore`] keeps one GCRA cell per key in process; a shared store
//! (Redis, so that several instances share quotas) implements the same trait and replaces it:
//! in an app, bound in the container ([`rate_limit_store`], [`App::rate_limit_store`](crate::App::rate_limit_store));
//! around a bare router, with [`Stack::with_rate_limit_store`](super::Stack::with_rate_limit_store).
//! A [`PrincipalResolver`] from the container likewise keys `key = "user"` limiting.

use cortex_di::BoxError;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Extensions, HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// The identity a request is limited under.
///
/// ```
/// use cortex_core::http::middleware::RateLimitKey;
///
/// let key = RateLimitKey::ip("2001:db8::1:2:3:4".parse().unwrap());
/// // IPv6 clients share the quota of their /64.
/// assert_eq!(key.to_string(), "ip:2001:db8::");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitKey {
    /// A client address (IPv6 truncated to its /64).
    Ip(IpAddr),
    /// An authenticated principal.
    User(Arc<str>),
    /// A header value, such as an API key.
    Header(HeaderValue),
}

impl RateLimitKey {
    /// The key for a client address: IPv4 as is, IPv6 as its /64 network.
    pub fn ip(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V6(v6) => RateLimitKey::Ip(IpAddr::V6(Ipv6Addr::from(
                u128::from(v6) & !((1u128 << 64) - 1),
            ))),
            v4 => RateLimitKey::Ip(v4),
        }
    }
}

/// An address hashes as one number (the derived hash writes the variants' tags and the octets as
/// a slice, several rounds of the hasher on every request).
impl Hash for RateLimitKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            RateLimitKey::Ip(IpAddr::V4(v4)) => state.write_u32(u32::from(*v4)),
            RateLimitKey::Ip(IpAddr::V6(v6)) => state.write_u128(u128::from(*v6)),
            RateLimitKey::User(user) => {
                state.write_u8(1);
                user.hash(state);
            }
            RateLimitKey::Header(value) => {
                state.write_u8(2);
                value.hash(state);
            }
        }
    }
}

impl fmt::Display for RateLimitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateLimitKey::Ip(ip) => write!(f, "ip:{ip}"),
            RateLimitKey::User(user) => write!(f, "user:{user}"),
            RateLimitKey::Header(value) => {
                write!(f, "header:{}", String::from_utf8_lossy(value.as_bytes()))
            }
        }
    }
}

/// The authenticated principal, for `key = "user"` rate limiting: authentication middleware
/// inserts it into the request's extensions, or a [`PrincipalResolver`] (from the container, or
/// given to [`Stack::with_principal_resolver`](super::Stack::with_principal_resolver)) derives it.
///
/// ```
/// use cortex_core::http::middleware::Principal;
///
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(Principal::new("user-42"));
/// assert_eq!(request.extensions().get::<Principal>().unwrap().id(), "user-42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal(Arc<str>);

impl Principal {
    /// A principal with a stable id (user id, API client id…).
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Principal(id.into())
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.0
    }

    pub(crate) fn key(&self) -> RateLimitKey {
        RateLimitKey::User(self.0.clone())
    }
}

/// A store's verdict on one request.
///
/// ```
/// use cortex_core::http::middleware::Decision;
/// use std::time::Duration;
///
/// let no = Decision::deny(100, Duration::from_millis(1500));
/// assert!(!no.allowed);
/// assert_eq!(no.retry_after_secs(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The quota: how many requests a key may make at once.
    pub limit: u32,
    /// How many more requests the key may make right now.
    pub remaining: u32,
    /// When denied, how long until a request would be allowed.
    pub retry_after: Option<Duration>,
}

impl Decision {
    /// An allowed request.
    pub fn allow(limit: u32, remaining: u32) -> Self {
        Decision {
            allowed: true,
            limit,
            remaining,
            retry_after: None,
        }
    }

    /// A denied request, allowed again after `retry_after`.
    pub fn deny(limit: u32, retry_after: Duration) -> Self {
        Decision {
            allowed: false,
            limit,
            remaining: 0,
            retry_after: Some(retry_after),
        }
    }

    /// `Retry-After` in whole seconds, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let wait = self.retry_after.unwrap_or_default();
        (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
    }
}

/// A store failed to decide (for example, Redis is unreachable). The middleware lets the request
/// through and logs a warning: an outage of the limiter must not become an outage of the app.
#[deprecated(
    note = "use `cortex::BoxError` (`cortex_di::BoxError`, in the prelude): the same type"
)]
pub type RateLimitError = BoxError;

/// What the stack's rate limiter gets from its store: ready at once (the built-in in-memory store,
/// no allocation) or a boxed future (a store of the app's own).
pub(crate) enum DecisionFuture {
    /// Already decided.
    Ready(Option<Result<Decision, BoxError>>),
    /// Deciding.
    Pending(Pin<Box<dyn Future<Output = Result<Decision, BoxError>> + Send + 'static>>),
}

impl Future for DecisionFuture {
    type Output = Result<Decision, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            DecisionFuture::Ready(decision) => Poll::Ready(
                decision
                    .take()
                    .expect("DecisionFuture polled after completion"),
            ),
            DecisionFuture::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

/// Where rate-limit state lives: the built-in [`InMemoryStore`], or a store of your own (Redis,
/// to share quotas between instances). An app takes it from the container (bound with
/// [`rate_limit_store`], [`App::rate_limit_store`](crate::App::rate_limit_store) or
/// `#[injectable(provides = dyn ErasedRateLimitStore)]`); a bare router's stack is given it with
/// [`Stack::with_rate_limit_store`](super::Stack::with_rate_limit_store).
///
/// A store counts one request per call and answers with a [`Decision`]. Implement `check` with an
/// `async fn`; its future must be `Send`. The stack boxes a custom store's future (one allocation
/// per request); the built-in store is called directly, with none.
///
/// ```
/// use cortex_core::http::middleware::{Decision, RateLimitKey, RateLimitStore};
/// use cortex_di::BoxError;
///
/// /// Lets everyone through: what a test double looks like.
/// struct Unlimited;
///
/// impl RateLimitStore for Unlimited {
///     async fn check(&self, _key: &RateLimitKey) -> Result<Decision, BoxError> {
///         Ok(Decision::allow(u32::MAX, u32::MAX))
///     }
/// }
/// ```
pub trait RateLimitStore: Send + Sync + 'static {
    /// Counts one request for `key` and decides; an error lets the request through (and is
    /// logged).
    fn check(&self, key: &RateLimitKey) -> impl Future<Output = Result<Decision, BoxError>> + Send;
}

impl<S: RateLimitStore> RateLimitStore for Arc<S> {
    fn check(&self, key: &RateLimitKey) -> impl Future<Output = Result<Decision, BoxError>> + Send {
        (**self).check(key)
    }
}

/// The boxed future of an [`ErasedRateLimitStore`]: it owns the store's handle and the key (the
/// stack's response futures are `'static`).
pub type BoxedDecision = Pin<Box<dyn Future<Output = Result<Decision, BoxError>> + Send + 'static>>;

/// The object-safe form of [`RateLimitStore`] that the container binds
/// (`dyn ErasedRateLimitStore`) and the stack calls: implemented for every `RateLimitStore`,
/// never by hand. It boxes the store's future, as [`ErasedHealthCheck`](crate::health::ErasedHealthCheck)
/// does for health checks.
///
/// An app gets its store from the container: bind it with [`rate_limit_store`] (or
/// [`App::rate_limit_store`](crate::App::rate_limit_store)), or with
/// `#[injectable(provides = dyn ErasedRateLimitStore)]` on the store's struct.
///
/// ```
/// use std::sync::Arc;
/// use cortex_core::http::middleware::{Decision, ErasedRateLimitStore, RateLimitKey, RateLimitStore};
/// use cortex_di::BoxError;
///
/// struct Everyone;
/// impl RateLimitStore for Everyone {
///     async fn check(&self, _key: &RateLimitKey) -> Result<Decision, BoxError> {
///         Ok(Decision::allow(10, 9))
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store: Arc<dyn ErasedRateLimitStore> = Arc::new(Everyone);
/// assert!(store.store_name().ends_with("Everyone"));
/// let key = RateLimitKey::ip("192.0.2.1".parse().unwrap());
/// assert_eq!(store.check_boxed(key).await.unwrap().remaining, 9);
/// # });
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a rate-limit store",
    note = "implement `RateLimitStore` for it: `impl RateLimitStore for {Self} {{ async fn check(&self, key: &RateLimitKey) -> Result<Decision, BoxError> {{ .. }} }}`"
)]
pub trait ErasedRateLimitStore: Send + Sync + 'static {
    /// The store's type name, for startup messages.
    fn store_name(&self) -> &'static str;
    /// [`RateLimitStore::check`], boxed, owning the store's handle and the key.
    fn check_boxed(self: Arc<Self>, key: RateLimitKey) -> BoxedDecision;
}

impl<S: RateLimitStore> ErasedRateLimitStore for S {
    fn store_name(&self) -> &'static str {
        std::any::type_name::<S>()
    }

    fn check_boxed(self: Arc<Self>, key: RateLimitKey) -> BoxedDecision {
        Box::pin(async move { self.check(&key).await })
    }
}

/// The container binding that makes `T` (provided on its own) the app's rate-limit store: a
/// `dyn ErasedRateLimitStore` named after `T`'s type, aliasing `T`'s instance. What
/// [`App::rate_limit_store`](crate::App::rate_limit_store) adds; a plugin working on the
/// container builder adds it directly. An app may have one store: two fail the start with
/// [`RateLimitSetupError::SeveralStores`].
///
/// ```
/// use cortex_core::http::middleware::{Decision, ErasedRateLimitStore, RateLimitKey, RateLimitStore, rate_limit_store};
/// use cortex_di::{BoxError, ContainerBuilder, Provider};
///
/// struct Shared;
/// impl RateLimitStore for Shared {
///     async fn check(&self, _key: &RateLimitKey) -> Result<Decision, BoxError> {
///         Ok(Decision::allow(1, 0))
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let container = ContainerBuilder::new()
///     .add(Provider::value(Shared))
///     .add(rate_limit_store::<Shared>())
///     .build()
///     .await?;
/// assert_eq!(container.get_all::<dyn ErasedRateLimitStore>()?.len(), 1);
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
#[track_caller]
pub fn rate_limit_store<T: RateLimitStore>() -> cortex_di::Provider<dyn ErasedRateLimitStore> {
    cortex_di::Provider::<dyn ErasedRateLimitStore>::alias::<T>(|store| store)
        .named(std::any::type_name::<T>())
}

/// Derives the [`Principal`] of a request for `key = "user"` rate limiting when no middleware put
/// one in its extensions (from an API key header, a session cookie, a client certificate).
///
/// It is synchronous on purpose: it runs on every rate-limited request, before the store is
/// asked, and reads only what the request already carries; an `async fn` would cost a boxed
/// future per request. Work that needs I/O (looking a token up) belongs in authentication
/// middleware, which inserts the `Principal` itself.
///
/// An app takes its resolver from the container: bind it with [`principal_resolver`] (or
/// [`App::principal_resolver`](crate::App::principal_resolver)), or with
/// `#[injectable(provides = dyn PrincipalResolver)]`. A closure
/// `Fn(&HeaderMap, &Extensions) -> Option<Principal>` is a resolver too
/// ([`Stack::with_principal_resolver`](super::Stack::with_principal_resolver) takes one).
///
/// ```
/// use cortex_core::http::middleware::{Principal, PrincipalResolver};
/// use http::{Extensions, HeaderMap};
///
/// /// Each API key has its own quota.
/// struct ApiKeys;
///
/// impl PrincipalResolver for ApiKeys {
///     fn resolve(&self, headers: &HeaderMap, _extensions: &Extensions) -> Option<Principal> {
///         let key = headers.get("x-api-key")?.to_str().ok()?;
///         Some(Principal::new(format!("api-key:{key}")))
///     }
/// }
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-api-key", "k1".parse().unwrap());
/// assert_eq!(ApiKeys.resolve(&headers, &Extensions::new()).unwrap().id(), "api-key:k1");
/// ```
pub trait PrincipalResolver: Send + Sync + 'static {
    /// The request's principal, or `None` to key it by IP.
    fn resolve(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<Principal>;
}

impl<F> PrincipalResolver for F
where
    F: Fn(&HeaderMap, &Extensions) -> Option<Principal> + Send + Sync + 'static,
{
    fn resolve(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<Principal> {
        self(headers, extensions)
    }
}

/// The container binding that makes `T` (provided on its own) the app's principal resolver: a
/// `dyn PrincipalResolver` named after `T`'s type, aliasing `T`'s instance (what
/// [`App::principal_resolver`](crate::App::principal_resolver) adds). An app may have one: two
/// fail the start with [`RateLimitSetupError::SeveralResolvers`].
///
/// ```
/// use cortex_core::http::middleware::{Principal, PrincipalResolver, principal_resolver};
/// use cortex_di::{ContainerBuilder, Provider};
/// use http::{Extensions, HeaderMap};
///
/// struct Anonymous;
/// impl PrincipalResolver for Anonymous {
///     fn resolve(&self, _: &HeaderMap, _: &Extensions) -> Option<Principal> { None }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let container = ContainerBuilder::new()
///     .add(Provider::value(Anonymous))
///     .add(principal_resolver::<Anonymous>())
///     .build()
///     .await?;
/// assert_eq!(container.get_all::<dyn PrincipalResolver>()?.len(), 1);
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
#[track_caller]
pub fn principal_resolver<T: PrincipalResolver>() -> cortex_di::Provider<dyn PrincipalResolver> {
    cortex_di::Provider::<dyn PrincipalResolver>::alias::<T>(|resolver| resolver)
        .named(std::any::type_name::<T>())
}

/// What the container holds that the rate limiter cannot use: found when the app is built.
///
/// ```
/// use cortex_core::http::middleware::RateLimitSetupError;
///
/// let error = RateLimitSetupError::SeveralStores { stores: vec!["app::Redis".into(), "app::Memcached".into()] };
/// assert!(error.to_string().starts_with("2 rate-limit stores are registered (`app::Redis`, `app::Memcached`)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitSetupError {
    /// More than one `dyn ErasedRateLimitStore` is bound: the limiter would not know which to ask.
    #[error(
        "{} rate-limit stores are registered ({}); an app has one; hint: remove all but one (a plugin may register one: see `cortex plugins`)",
        stores.len(),
        quoted(stores)
    )]
    SeveralStores {
        /// Each store's type (or binding) name.
        stores: Vec<String>,
    },
    /// More than one `dyn PrincipalResolver` is bound.
    #[error(
        "{} principal resolvers are registered ({}); an app has one; hint: remove all but one, or combine them in one resolver that tries each",
        resolvers.len(),
        quoted(resolvers)
    )]
    SeveralResolvers {
        /// Each resolver's binding name.
        resolvers: Vec<String>,
    },
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The store the stack holds: the built-in one, called directly so that the default stack pays no
/// boxed future, or the app's own, erased.
#[derive(Clone)]
pub(crate) enum StoreHandle {
    InMemory(Arc<InMemoryStore>),
    Custom(Arc<dyn ErasedRateLimitStore>),
}

impl StoreHandle {
    /// `store`, kept on the fast path when it is an [`InMemoryStore`].
    pub(crate) fn of<S: RateLimitStore>(store: S) -> Self {
        let mut store = Some(store);
        match (&mut store as &mut dyn std::any::Any).downcast_mut::<Option<InMemoryStore>>() {
            Some(in_memory) => StoreHandle::InMemory(Arc::new(
                in_memory.take().expect("the store was just put there"),
            )),
            None => StoreHandle::Custom(Arc::new(store.expect("not taken"))),
        }
    }

    /// Counts one request for `key` and decides.
    pub(crate) fn check(&self, key: RateLimitKey) -> DecisionFuture {
        match self {
            StoreHandle::InMemory(store) => DecisionFuture::Ready(Some(Ok(store.decide(&key)))),
            StoreHandle::Custom(store) => DecisionFuture::Pending(store.clone().check_boxed(key)),
        }
    }
}

/// The in-memory GCRA store: one cell per key, in shards to keep lock contention low; idle keys
/// are evicted as the store is used, so memory follows the active clients.
///
/// GCRA (the generic cell rate algorithm) keeps one number per key, its *theoretical arrival
/// time*: a request is allowed when, counting it, that time is at most `burst` emission intervals
/// (`1 s / per_second`) ahead of now. It refills smoothly, with no windows to game.
///
/// Why not `governor`, which implements the same algorithm (and which this store replaced): its
/// keyed limiter hashed the key as a derived enum, read its clock through a reference type and
/// built a state snapshot for the remaining count, on the request path of every app with the
/// default stack; the few lines here cost less and need no dependency
/// (docs/src/performance.md#changes-made-for-the-targets).
///
/// ```
/// use cortex_core::http::middleware::{InMemoryStore, RateLimitKey, RateLimitStore};
/// use futures_util::FutureExt;
///
/// let store = InMemoryStore::new(1, 2).unwrap(); // 1 request/s, bursts of 2
/// let key = RateLimitKey::ip("192.0.2.1".parse().unwrap());
/// let check = || store.check(&key).now_or_never().unwrap().unwrap();
/// assert!(check().allowed);
/// assert!(check().allowed);
/// let third = check();
/// assert!(!third.allowed);
/// assert_eq!(third.retry_after_secs(), 1);
/// ```
pub struct InMemoryStore {
    shards: Box<[Shard]>,
    hasher: foldhash::fast::RandomState,
    /// The time the store counts from.
    start: Instant,
    /// Nanoseconds between two requests at the sustained rate.
    interval: u64,
    /// How far ahead of now a key's arrival time may be: `burst` intervals.
    tolerance: u64,
    limit: u32,
}

struct Shard {
    /// Each key's theoretical arrival time, in nanoseconds after `start`.
    cells: Mutex<HashMap<RateLimitKey, u64, foldhash::fast::RandomState>>,
    calls: AtomicU32,
}

/// Every this many checks, a shard forgets keys whose cells are back to full.
const SWEEP_EVERY: u32 = 4096;

impl InMemoryStore {
    /// A store allowing `per_second` requests a second per key, with bursts of `burst`;
    /// `None` if either is zero.
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        if per_second == 0 || burst == 0 {
            return None;
        }
        let shards = std::thread::available_parallelism()
            .map_or(4, |n| n.get())
            .next_power_of_two()
            .clamp(4, 64);
        let hasher = foldhash::fast::RandomState::default();
        let shards = (0..shards)
            .map(|_| Shard {
                cells: Mutex::new(HashMap::with_hasher(hasher.clone())),
                calls: AtomicU32::new(0),
            })
            .collect();
        let interval = 1_000_000_000 / u64::from(per_second);
        Some(InMemoryStore {
            shards,
            hasher,
            start: Instant::now(),
            interval,
            tolerance: interval * u64::from(burst),
            limit: burst,
        })
    }

    /// How many keys are tracked (for metrics and tests).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.cells).len()).sum()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shard of `key`: an address's bits spread by a multiplication (the shard's map hashes
    /// it again; a second full hash costs more than this), other keys hashed.
    fn shard_of(&self, key: &RateLimitKey) -> usize {
        const SPREAD: u64 = 0x9e37_79b9_7f4a_7c15;
        let bits = match key {
            RateLimitKey::Ip(IpAddr::V4(v4)) => u64::from(u32::from(*v4)).wrapping_mul(SPREAD),
            // Only the /64 network is kept (see `RateLimitKey::ip`).
            RateLimitKey::Ip(IpAddr::V6(v6)) => {
                ((u128::from(*v6) >> 64) as u64).wrapping_mul(SPREAD)
            }
            _ => self.hasher.hash_one(key),
        };
        // The high bits of the product are the well-mixed ones.
        (bits >> 32) as usize & (self.shards.len() - 1)
    }

    fn decide(&self, key: &RateLimitKey) -> Decision {
        self.decide_at(key, self.now())
    }

    /// Nanoseconds since the store was created.
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn decide_at(&self, key: &RateLimitKey, now: u64) -> Decision {
        let shard = &self.shards[self.shard_of(key)];
        let sweep = shard.calls.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1;
        let mut cells = lock(&shard.cells);
        if sweep {
            // A cell whose arrival time has passed is full again: the same as no cell.
            cells.retain(|_, arrival| *arrival > now);
        }
        // A key without a cell is as one whose arrival time is now.
        let cell = cells.get_mut(key);
        let arrival = cell.as_deref().map_or(now, |arrival| (*arrival).max(now));
        let next = arrival.saturating_add(self.interval);
        let ahead = next - now;
        if ahead > self.tolerance {
            drop(cells);
            // Allowed again once `next` is no more than `tolerance` ahead.
            return Decision::deny(self.limit, Duration::from_nanos(ahead - self.tolerance));
        }
        match cell {
            Some(cell) => *cell = next,
            None => {
                cells.insert(key.clone(), next);
            }
        }
        drop(cells);
        let remaining = (self.tolerance - ahead) / self.interval;
        Decision::allow(self.limit, u32::try_from(remaining).unwrap_or(u32::MAX))
    }
}

/// A shard's cells, also after a panic elsewhere while they were locked (they stay consistent:
/// every update is one store).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RateLimitStore for InMemoryStore {
    fn check(&self, key: &RateLimitKey) -> impl Future<Output = Result<Decision, BoxError>> + Send {
        std::future::ready(Ok(self.decide(key)))
    }
}

impl fmt::Debug for InMemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryStore")
            .field("limit", &self.limit)
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_limited_independently() {
        let store = InMemoryStore::new(1, 1).unwrap();
        let a = RateLimitKey::ip("192.0.2.1".parse().unwrap());
        let b = RateLimitKey::ip("192.0.2.2".parse().unwrap());
        assert!(store.decide(&a).allowed);
        assert!(!store.decide(&a).allowed);
        assert!(store.decide(&b).allowed);
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn remaining_counts_down() {
        let store = InMemoryStore::new(1, 3).unwrap();
        let key = RateLimitKey::User("u".into());
        assert_eq!(store.decide(&key).remaining, 2);
        assert_eq!(store.decide(&key).remaining, 1);
        assert_eq!(store.decide(&key).remaining, 0);
        assert!(!store.decide(&key).allowed);
    }

    #[test]
    fn cells_refill_at_the_sustained_rate() {
        let store = InMemoryStore::new(10, 2).unwrap(); // one every 100 ms, bursts of 2
        let key = RateLimitKey::ip("192.0.2.7".parse().unwrap());
        let ms = |n: u64| n * 1_000_000;
        assert!(store.decide_at(&key, ms(1_000)).allowed);
        assert!(store.decide_at(&key, ms(1_000)).allowed);
        let denied = store.decide_at(&key, ms(1_000));
        assert!(!denied.allowed);
        assert_eq!(denied.retry_after, Some(Duration::from_millis(100)));
        // A refused request costs nothing: 40 ms later it waits 60 ms more.
        let later = store.decide_at(&key, ms(1_040));
        assert_eq!(later.retry_after, Some(Duration::from_millis(60)));
        // One interval later one request passes, and only one.
        let refilled = store.decide_at(&key, ms(1_100));
        assert!(refilled.allowed);
        assert_eq!(refilled.remaining, 0);
        assert!(!store.decide_at(&key, ms(1_100)).allowed);
        // Idle long enough, the whole burst is back.
        assert_eq!(store.decide_at(&key, ms(5_000)).remaining, 1);
    }

    #[test]
    fn full_cells_are_forgotten_as_the_store_is_used() {
        let store = InMemoryStore::new(1_000, 1).unwrap();
        for i in 0..50u8 {
            let key = RateLimitKey::ip(IpAddr::from([192, 0, 2, i]));
            assert!(store.decide_at(&key, 0).allowed);
        }
        assert_eq!(store.len(), 50);
        // Ten seconds on, every cell is full again; a shard sweeps every `SWEEP_EVERY` of its
        // checks, and 64 busy clients reach every shard.
        let busy: Vec<_> = (0..64)
            .map(|i| RateLimitKey::User(format!("busy-{i}").into()))
            .collect();
        let checks = u64::from(SWEEP_EVERY) * store.shards.len() as u64 * 4;
        for n in 0..checks {
            let key = &busy[(n % 64) as usize];
            store.decide_at(key, 10_000_000_000 + n * 1_000_000);
        }
        let keys: Vec<_> = (0..50u8)
            .map(|i| RateLimitKey::ip(IpAddr::from([192, 0, 2, i])))
            .collect();
        // Only busy keys can be left.
        assert!(store.len() <= busy.len(), "{} keys left", store.len());
        assert!(
            keys.iter()
                .all(|k| store.decide_at(k, 20_000_000_000).allowed)
        );
    }

    #[test]
    fn zero_quotas_are_refused() {
        assert!(InMemoryStore::new(0, 1).is_none());
        assert!(InMemoryStore::new(1, 0).is_none());
    }
}
