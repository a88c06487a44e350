//! [`MemoryRefreshStore`]: refresh tokens in the process (the default).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use cortex_di::BoxError;

use super::store::{RefreshRecord, RefreshStore, RotateOutcome};

#[derive(Debug)]
struct Token {
    record: RefreshRecord,
    /// When it was rotated (`None`: current).
    used_at: Option<i64>,
}

#[derive(Debug)]
struct Family {
    user_id: String,
    revoked: bool,
    expires_at: i64,
}

#[derive(Debug, Default)]
struct State {
    tokens: HashMap<String, Token>,
    families: HashMap<String, Family>,
}

/// Refresh tokens in the process's memory, behind one mutex: the default store. Lost on restart
/// and not shared between instances — use the database or Redis store when either matters.
/// Clones share the tokens.
///
/// ```
/// use cortex_auth::{MemoryRefreshStore, RefreshConfig, RefreshTokens};
/// let tokens = RefreshTokens::new(RefreshConfig::default(), MemoryRefreshStore::new());
/// # let _ = tokens;
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryRefreshStore {
    state: Arc<Mutex<State>>,
}

impl MemoryRefreshStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many tokens it holds (rotated and revoked ones included, until they expire).
    ///
    /// ```
    /// assert_eq!(cortex_auth::MemoryRefreshStore::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().tokens.len()
    }

    /// Whether it holds no token.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hashes it holds (what a test reads to check no token is stored in the clear).
    pub fn hashes(&self) -> Vec<String> {
        self.lock().tokens.keys().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent maps (every change is one insert).
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl RefreshStore for MemoryRefreshStore {
    async fn insert(&self, record: RefreshRecord) -> Result<(), BoxError> {
        let mut state = self.lock();
        state.families.insert(
            record.family.clone(),
            Family {
                user_id: record.user.id.clone(),
                revoked: false,
                expires_at: record.family_expires_at,
            },
        );
        state.tokens.insert(
            record.hash.clone(),
            Token {
                record,
                used_at: None,
            },
        );
        Ok(())
    }

    async fn rotate(
        &self,
        hash: &str,
        next_hash: &str,
        next_expires_at: i64,
        now: i64,
        grace: i64,
    ) -> Result<RotateOutcome, BoxError> {
        let mut state = self.lock();
        let State { tokens, families } = &mut *state;
        let Some(token) = tokens.get_mut(hash) else {
            return Ok(RotateOutcome::Unknown);
        };
        let family = families.get_mut(&token.record.family);
        if family.as_ref().is_none_or(|f| f.revoked) {
            return Ok(RotateOutcome::Revoked);
        }
        if token.record.expires_at <= now || token.record.family_expires_at <= now {
            return Ok(RotateOutcome::Expired);
        }
        if let Some(used_at) = token.used_at
            && (grace <= 0 || used_at.saturating_add(grace) <= now)
        {
            if let Some(family) = family {
                family.revoked = true;
            }
            return Ok(RotateOutcome::Reused {
                family: token.record.family.clone(),
                user_id: token.record.user.id.clone(),
            });
        }
        token.used_at.get_or_insert(now);
        let old = token.record.clone();
        let next = RefreshRecord {
            hash: next_hash.to_string(),
            issued_at: now,
            expires_at: next_expires_at.min(old.family_expires_at),
            ..old.clone()
        };
        tokens.insert(
            next_hash.to_string(),
            Token {
                record: next,
                used_at: None,
            },
        );
        Ok(RotateOutcome::Rotated(old))
    }

    async fn family_of(&self, hash: &str) -> Result<Option<String>, BoxError> {
        Ok(self
            .lock()
            .tokens
            .get(hash)
            .map(|t| t.record.family.clone()))
    }

    async fn revoke_family(&self, family: &str) -> Result<u64, BoxError> {
        Ok(self
            .lock()
            .families
            .get_mut(family)
            .map_or(0, |f| u64::from(!std::mem::replace(&mut f.revoked, true))))
    }

    async fn revoke_user(&self, user_id: &str) -> Result<u64, BoxError> {
        let mut count = 0;
        for family in self.lock().families.values_mut() {
            if family.user_id == user_id && !family.revoked {
                family.revoked = true;
                count += 1;
            }
        }
        Ok(count)
    }

    async fn prune(&self, now: i64) -> Result<u64, BoxError> {
        let mut state = self.lock();
        let before = state.tokens.len();
        state.tokens.retain(|_, t| t.record.expires_at > now);
        state.families.retain(|_, f| f.expires_at > now);
        Ok((before - state.tokens.len()) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refresh::{RefreshRecord, RefreshStore, RotateOutcome, UserSnapshot};

    fn record(hash: &str, family: &str, expires_at: i64) -> RefreshRecord {
        RefreshRecord {
            hash: hash.into(),
            family: family.into(),
            user: UserSnapshot {
                id: "ada".into(),
                roles: vec![],
                permissions: vec![],
            },
            issued_at: 0,
            expires_at,
            family_expires_at: expires_at,
        }
    }

    #[tokio::test]
    async fn the_next_token_is_stored_under_its_hash_issued_now() {
        let store = MemoryRefreshStore::new();
        assert!(store.is_empty());
        store.insert(record("h1", "f", 10_000)).await.unwrap();
        assert_eq!((store.len(), store.is_empty()), (1, false));
        let RotateOutcome::Rotated(first) = store.rotate("h1", "h2", 9_000, 100, 0).await.unwrap()
        else {
            panic!("not rotated")
        };
        assert_eq!((first.hash.as_str(), first.issued_at), ("h1", 0));
        assert_eq!(store.len(), 2);
        assert!(store.hashes().contains(&"h2".to_string()));
        let RotateOutcome::Rotated(second) = store.rotate("h2", "h3", 9_000, 200, 0).await.unwrap()
        else {
            panic!("not rotated")
        };
        assert_eq!((second.hash.as_str(), second.issued_at), ("h2", 100));
    }

    #[tokio::test]
    async fn a_family_is_revoked_once_and_pruned_at_its_expiry() {
        let store = MemoryRefreshStore::new();
        store.insert(record("h1", "f", 1_000)).await.unwrap();
        assert_eq!(store.revoke_family("f").await.unwrap(), 1);
        assert_eq!(store.revoke_family("f").await.unwrap(), 0);
        store.insert(record("h2", "g", 1_000)).await.unwrap();
        // One millisecond before: nothing goes; at the expiry, the tokens and the family go.
        assert_eq!(store.prune(999).await.unwrap(), 0);
        assert_eq!(store.prune(1_000).await.unwrap(), 2);
        assert!(store.is_empty());
        assert_eq!(
            store.revoke_family("g").await.unwrap(),
            0,
            "the family is gone"
        );
    }
}
