//! [`RefreshStore`]: where refresh tokens live, and its erased twin.

use std::future::Future;
use std::pin::Pin;

use cortex_di::BoxError;
use serde::{Deserialize, Serialize};

/// What a refresh token carries of its user: what the next access token needs.
///
/// ```
/// use cortex_auth::UserSnapshot;
/// let user = UserSnapshot { id: "ada".into(), roles: vec!["admin".into()], permissions: vec![] };
/// assert_eq!(user.id, "ada");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSnapshot {
    /// The user's id.
    pub id: String,
    /// The user's roles when the family was issued.
    pub roles: Vec<String>,
    /// The user's permissions when the family was issued.
    pub permissions: Vec<String>,
}

/// One stored refresh token. Times are Unix milliseconds.
///
/// ```
/// use cortex_auth::{RefreshRecord, UserSnapshot};
/// let record = RefreshRecord {
///     hash: "ab".repeat(32),
///     family: "f1".into(),
///     user: UserSnapshot { id: "ada".into(), roles: vec![], permissions: vec![] },
///     issued_at: 0,
///     expires_at: 1_000,
///     family_expires_at: 5_000,
/// };
/// assert!(record.expires_at <= record.family_expires_at);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// The SHA-256 of the token, in lowercase hex (the token itself is never stored).
    pub hash: String,
    /// The family: one per login, shared by every token rotated from it.
    pub family: String,
    /// The user snapshot.
    pub user: UserSnapshot,
    /// When it was issued.
    pub issued_at: i64,
    /// When it expires (never after `family_expires_at`).
    pub expires_at: i64,
    /// When its family expires, however often it is rotated.
    pub family_expires_at: i64,
}

/// What [`RefreshStore::rotate`] found.
///
/// ```
/// use cortex_auth::RotateOutcome;
/// assert!(matches!(RotateOutcome::Unknown, RotateOutcome::Unknown));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was current: it is now used, and the next one is stored. Holds the rotated
    /// token's record.
    Rotated(RefreshRecord),
    /// The token was already rotated (beyond the grace): the store revoked its whole family.
    Reused {
        /// The family revoked.
        family: String,
        /// Its user.
        user_id: String,
    },
    /// The token (or its family) has expired.
    Expired,
    /// The token's family was revoked.
    Revoked,
    /// No such token.
    Unknown,
}

/// Where refresh tokens live: implement it to keep them elsewhere, and pass it to
/// [`RefreshTokens::new`](crate::RefreshTokens::new). The built-in stores are
/// [`MemoryRefreshStore`](crate::MemoryRefreshStore), `DatabaseRefreshStore` (`database`
/// feature) and `RedisRefreshStore` (`redis` feature).
///
/// Tokens are identified by their hash (hex SHA-256); times are Unix milliseconds. `rotate` must
/// be atomic: of two concurrent rotations of one token, exactly one gets
/// [`RotateOutcome::Rotated`] (with a zero grace).
///
/// ```
/// use cortex_auth::{MemoryRefreshStore, RefreshRecord, RefreshStore, RotateOutcome};
/// use cortex_di::BoxError;
///
/// /// A store that logs and delegates.
/// struct Logged(MemoryRefreshStore);
///
/// impl RefreshStore for Logged {
///     async fn insert(&self, record: RefreshRecord) -> Result<(), BoxError> {
///         self.0.insert(record).await
///     }
///     async fn rotate(&self, hash: &str, next_hash: &str, next_expires_at: i64, now: i64, grace: i64) -> Result<RotateOutcome, BoxError> {
///         self.0.rotate(hash, next_hash, next_expires_at, now, grace).await
///     }
///     async fn family_of(&self, hash: &str) -> Result<Option<String>, BoxError> {
///         self.0.family_of(hash).await
///     }
///     async fn revoke_family(&self, family: &str) -> Result<u64, BoxError> {
///         self.0.revoke_family(family).await
///     }
///     async fn revoke_user(&self, user_id: &str) -> Result<u64, BoxError> {
///         self.0.revoke_user(user_id).await
///     }
///     async fn prune(&self, now: i64) -> Result<u64, BoxError> {
///         self.0.prune(now).await
///     }
/// }
/// ```
pub trait RefreshStore: Send + Sync + 'static {
    /// Stores the first token of a new family.
    fn insert(&self, record: RefreshRecord) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// Atomically: the token `hash` is looked up; unknown → `Unknown`; its family revoked →
    /// `Revoked`; expired (`expires_at <= now`, or its family's) → `Expired`; used more than
    /// `grace` ms ago (or `grace` is 0) → its family revoked, `Reused`; otherwise it is marked
    /// used and `next_hash` stored in its family, expiring at `min(next_expires_at,
    /// family_expires_at)`, → `Rotated` with the old record.
    fn rotate(
        &self,
        hash: &str,
        next_hash: &str,
        next_expires_at: i64,
        now: i64,
        grace: i64,
    ) -> impl Future<Output = Result<RotateOutcome, BoxError>> + Send;

    /// The family of the token `hash`, if the store has it.
    fn family_of(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<String>, BoxError>> + Send;

    /// Revokes every token of `family`; returns how many tokens (or families) that touched.
    fn revoke_family(&self, family: &str) -> impl Future<Output = Result<u64, BoxError>> + Send;

    /// Revokes every token of `user_id`; returns how many tokens (or families) that touched.
    fn revoke_user(&self, user_id: &str) -> impl Future<Output = Result<u64, BoxError>> + Send;

    /// Deletes what expired at `now`; returns how many tokens that deleted.
    fn prune(&self, now: i64) -> impl Future<Output = Result<u64, BoxError>> + Send;
}

/// A boxed future of the erased store.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The dyn-compatible twin of [`RefreshStore`], implemented for every `RefreshStore` (users
/// never implement it): what [`RefreshTokens`](crate::RefreshTokens) holds.
///
/// ```
/// use std::sync::Arc;
/// use cortex_auth::{ErasedRefreshStore, MemoryRefreshStore};
/// let store: Arc<dyn ErasedRefreshStore> = Arc::new(MemoryRefreshStore::new());
/// # let _ = store;
/// ```
pub trait ErasedRefreshStore: Send + Sync + 'static {
    /// [`RefreshStore::insert`].
    fn insert(&self, record: RefreshRecord) -> BoxFuture<'_, Result<(), BoxError>>;
    /// [`RefreshStore::rotate`].
    fn rotate<'a>(
        &'a self,
        hash: &'a str,
        next_hash: &'a str,
        next_expires_at: i64,
        now: i64,
        grace: i64,
    ) -> BoxFuture<'a, Result<RotateOutcome, BoxError>>;
    /// [`RefreshStore::family_of`].
    fn family_of<'a>(&'a self, hash: &'a str) -> BoxFuture<'a, Result<Option<String>, BoxError>>;
    /// [`RefreshStore::revoke_family`].
    fn revoke_family<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<u64, BoxError>>;
    /// [`RefreshStore::revoke_user`].
    fn revoke_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, BoxError>>;
    /// [`RefreshStore::prune`].
    fn prune(&self, now: i64) -> BoxFuture<'_, Result<u64, BoxError>>;
}

impl<T: RefreshStore> ErasedRefreshStore for T {
    fn insert(&self, record: RefreshRecord) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(RefreshStore::insert(self, record))
    }

    fn rotate<'a>(
        &'a self,
        hash: &'a str,
        next_hash: &'a str,
        next_expires_at: i64,
        now: i64,
        grace: i64,
    ) -> BoxFuture<'a, Result<RotateOutcome, BoxError>> {
        Box::pin(RefreshStore::rotate(
            self,
            hash,
            next_hash,
            next_expires_at,
            now,
            grace,
        ))
    }

    fn family_of<'a>(&'a self, hash: &'a str) -> BoxFuture<'a, Result<Option<String>, BoxError>> {
        Box::pin(RefreshStore::family_of(self, hash))
    }

    fn revoke_family<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<u64, BoxError>> {
        Box::pin(RefreshStore::revoke_family(self, family))
    }

    fn revoke_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, BoxError>> {
        Box::pin(RefreshStore::revoke_user(self, user_id))
    }

    fn prune(&self, now: i64) -> BoxFuture<'_, Result<u64, BoxError>> {
        Box::pin(RefreshStore::prune(self, now))
    }
}
