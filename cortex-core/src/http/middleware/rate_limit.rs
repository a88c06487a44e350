//! Rate limiting: the [`RateLimitStore`] extension point and its in-memory GCRA implementation.
//!
//! The middleware asks the store for a [`Decision`] per request, keyed by a [`RateLimitKey`].
//! [`InMemoryStore`] keeps one GCRA cell per key in process (on `governor`); a shared store
//! (Redis, so that several instances share quotas) implements the same trait and replaces it with
//! [`Stack::with_rate_limit_store`](super::Stack::with_rate_limit_store).

use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use governor::clock::{Clock, MonotonicClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use http::HeaderValue;

/// The identity a request is limited under.
///
/// ```
/// use cortex_core::http::middleware::RateLimitKey;
///
/// let key = RateLimitKey::ip("2001:db8::1:2:3:4".parse().unwrap());
/// // IPv6 clients share the quota of their /64.
/// assert_eq!(key.to_string(), "ip:2001:db8::");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
/// inserts it into the request's extensions, or a resolver registered with
/// [`Stack::with_principal_resolver`](super::Stack::with_principal_resolver) derives it.
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
pub type RateLimitError = Box<dyn std::error::Error + Send + Sync>;

/// The outcome of [`RateLimitStore::check`]: ready at once (in-memory stores, no allocation) or a
/// boxed future (network stores).
pub enum DecisionFuture {
    /// Already decided.
    Ready(Option<Result<Decision, RateLimitError>>),
    /// Deciding.
    Pending(Pin<Box<dyn Future<Output = Result<Decision, RateLimitError>> + Send + 'static>>),
}

impl DecisionFuture {
    /// A decision available now.
    pub fn ready(decision: Decision) -> Self {
        DecisionFuture::Ready(Some(Ok(decision)))
    }

    /// A decision that needs I/O.
    pub fn pending(
        future: impl Future<Output = Result<Decision, RateLimitError>> + Send + 'static,
    ) -> Self {
        DecisionFuture::Pending(Box::pin(future))
    }
}

impl Future for DecisionFuture {
    type Output = Result<Decision, RateLimitError>;

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

impl fmt::Debug for DecisionFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecisionFuture::Ready(_) => "DecisionFuture::Ready",
            DecisionFuture::Pending(_) => "DecisionFuture::Pending",
        })
    }
}

/// Where rate-limit state lives. Object-safe, so the stack holds an `Arc<dyn RateLimitStore>`.
///
/// A store counts one request per call and answers with a [`Decision`]. An in-process store
/// returns [`DecisionFuture::ready`]; a networked one (Redis) returns
/// [`DecisionFuture::pending`] with a future that owns what it needs (format the key first).
///
/// ```
/// use cortex_core::http::middleware::{Decision, DecisionFuture, RateLimitKey, RateLimitStore};
///
/// /// Lets everyone through: what a test double looks like.
/// struct Unlimited;
///
/// impl RateLimitStore for Unlimited {
///     fn check(&self, _key: &RateLimitKey) -> DecisionFuture {
///         DecisionFuture::ready(Decision::allow(u32::MAX, u32::MAX))
///     }
/// }
/// ```
pub trait RateLimitStore: Send + Sync + 'static {
    /// Counts one request for `key` and decides.
    fn check(&self, key: &RateLimitKey) -> DecisionFuture;
}

type Limiter = RateLimiter<
    RateLimitKey,
    HashMapStateStore<RateLimitKey, foldhash::fast::RandomState>,
    MonotonicClock,
    StateInformationMiddleware,
>;

/// The in-memory GCRA store (on `governor`): one cell per key, in shards to keep lock contention
/// low; idle keys are evicted as the store is used, so memory follows the active clients.
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
    limit: u32,
}

struct Shard {
    limiter: Limiter,
    calls: AtomicU32,
}

/// Every this many checks, a shard forgets keys whose cells are back to full.
const SWEEP_EVERY: u32 = 4096;

impl InMemoryStore {
    /// A store allowing `per_second` requests a second per key, with bursts of `burst`;
    /// `None` if either is zero.
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        let quota =
            Quota::per_second(NonZeroU32::new(per_second)?).allow_burst(NonZeroU32::new(burst)?);
        let shards = std::thread::available_parallelism()
            .map_or(4, |n| n.get())
            .next_power_of_two()
            .clamp(4, 64);
        let shards = (0..shards)
            .map(|_| Shard {
                limiter: Limiter::new(
                    quota,
                    HashMapStateStore::new(Default::default()),
                    MonotonicClock,
                ),
                calls: AtomicU32::new(0),
            })
            .collect();
        Some(InMemoryStore {
            shards,
            hasher: foldhash::fast::RandomState::default(),
            limit: burst,
        })
    }

    /// How many keys are tracked (for metrics and tests).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.limiter.len()).sum()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shard of `key`: an address's bits spread by a multiplication (its map hashes it
    /// again; a second full hash cost about 40 instructions), other keys hashed.
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
        let shard = &self.shards[self.shard_of(key)];
        if shard.calls.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            shard.limiter.retain_recent();
        }
        match shard.limiter.check_key(key) {
            Ok(state) => Decision::allow(self.limit, state.remaining_burst_capacity()),
            Err(not_until) => Decision::deny(
                self.limit,
                not_until.wait_time_from(shard.limiter.clock().now()),
            ),
        }
    }
}

impl RateLimitStore for InMemoryStore {
    fn check(&self, key: &RateLimitKey) -> DecisionFuture {
        DecisionFuture::ready(self.decide(key))
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
    fn zero_quotas_are_refused() {
        assert!(InMemoryStore::new(0, 1).is_none());
        assert!(InMemoryStore::new(1, 0).is_none());
    }
}
