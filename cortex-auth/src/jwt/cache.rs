//! The tokens a [`Jwt`](super::Jwt) verified, so that a client sending the same access token on
//! every request pays the signature check once (an Ed25519 check costs several times a whole
//! request).
//!
//! Keyed by the SHA-256 of the exact token bytes: a token that differs by one byte (tampered,
//! re-encoded, another `kid`) is another key and goes through the full verification. The value
//! is the verified user and the token's `exp` / `nbf`, checked again on every hit. Bounded: at
//! [`CAPACITY`] entries, the oldest is evicted (first in, first out). Only verified tokens are
//! inserted, so a client cannot fill it with tokens of its own making.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::user::CurrentUser;

/// How many verified tokens a `Jwt` remembers.
pub(crate) const CAPACITY: usize = 10_000;

/// A cache key: the SHA-256 of the token.
pub(crate) type Key = [u8; 32];

/// The key of `token`.
pub(crate) fn key(token: &str) -> Key {
    Sha256::digest(token.as_bytes()).into()
}

/// A verified token.
#[derive(Clone)]
pub(crate) struct Verified {
    pub(crate) user: CurrentUser,
    /// The token's `exp` (seconds since the epoch).
    pub(crate) exp: u64,
    /// The token's `nbf`, if it has one.
    pub(crate) nbf: Option<u64>,
}

/// The verified tokens, at most `capacity`.
pub(crate) struct VerifiedTokens {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<Key, Verified>,
    /// The keys of `entries`, oldest first.
    order: VecDeque<Key>,
}

impl VerifiedTokens {
    /// An empty cache of at most `capacity` tokens.
    pub(crate) fn new(capacity: usize) -> VerifiedTokens {
        VerifiedTokens {
            capacity,
            state: Mutex::default(),
        }
    }

    /// The token of `key`, if it was verified.
    pub(crate) fn get(&self, key: &Key) -> Option<Verified> {
        self.lock().entries.get(key).cloned()
    }

    /// Remembers a verified token, evicting the oldest when full.
    pub(crate) fn insert(&self, key: Key, verified: Verified) {
        let mut state = self.lock();
        if state.entries.insert(key, verified).is_some() {
            // Verified twice at the same time: one entry, one place in the order.
            return;
        }
        state.order.push_back(key);
        while state.order.len() > self.capacity {
            if let Some(oldest) = state.order.pop_front() {
                state.entries.remove(&oldest);
            }
        }
    }

    /// How many tokens it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent map (every change is one call).
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(id: &str) -> Verified {
        Verified {
            user: CurrentUser::builder(id).build(),
            exp: 100,
            nbf: None,
        }
    }

    #[test]
    fn the_oldest_token_is_evicted_when_full() {
        let cache = VerifiedTokens::new(2);
        cache.insert(key("a"), verified("a"));
        cache.insert(key("b"), verified("b"));
        cache.insert(key("a"), verified("a"));
        assert_eq!(cache.len(), 2);
        cache.insert(key("c"), verified("c"));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&key("a")).is_none());
        assert_eq!(cache.get(&key("b")).unwrap().user.id(), "b");
        assert_eq!(cache.get(&key("c")).unwrap().user.id(), "c");
    }

    #[test]
    fn a_cache_of_no_capacity_remembers_nothing() {
        let cache = VerifiedTokens::new(0);
        cache.insert(key("a"), verified("a"));
        assert!(cache.get(&key("a")).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn keys_are_the_sha256_of_the_exact_bytes() {
        assert_ne!(key("a.b.c"), key("a.b.C"));
        assert_eq!(key("abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
