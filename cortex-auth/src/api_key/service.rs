//! [`ApiKeys`]: create, list, revoke and verify API keys on a store.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cortex_di::{BoxError, OnStart};

use super::key;
use super::store::{ApiKeyInfo, ApiKeyRecord, ApiKeyStore, ErasedApiKeyStore, from_secs, to_secs};
use crate::error::{AuthError, AuthFailure};
use crate::user::{AuthMethod, CurrentUser};

/// How often a key's `last_used_at` is written at most: a key used on every request costs one
/// store write a minute, not one per request.
pub(crate) const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A key just made: the plaintext [`key`](Self::key), shown to its owner once and never stored,
/// and what the store keeps about it.
#[derive(Clone)]
#[non_exhaustive]
pub struct NewApiKey {
    /// The whole key, `<prefix>_<id>_<secret>`: give it to the client now; it cannot be shown
    /// again.
    pub key: String,
    /// The key's id, name, owner, scopes and times.
    pub info: ApiKeyInfo,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: never in a log line.
        f.debug_struct("NewApiKey")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// API keys: made with a visible prefix (`ck_live_…`), stored as a SHA-256 digest, looked up by
/// their id, with scopes (the [`CurrentUser`]'s permissions), expiry and revocation.
///
/// The [`AuthPlugin`](struct@crate::AuthPlugin) binds one when `[auth.api_keys] enabled = true`: inject
/// it (`Inject<ApiKeys>`) to issue keys from an endpoint of the app.
///
/// ```
/// use cortex_auth::api_key::{ApiKeys, MemoryApiKeyStore};
/// use cortex_auth::AuthMethod;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = ApiKeys::new(MemoryApiKeyStore::new(), "ck_live")?;
/// let new = keys.create("42", "ci", ["posts:read"], None).await?;
/// assert!(new.key.starts_with("ck_live_"));
///
/// let user = keys.verify(&new.key).await?;
/// assert_eq!((user.id(), user.method()), ("42", AuthMethod::ApiKey));
/// assert!(user.has_permission("posts:read"));
/// assert_eq!(user.credential_id(), Some(new.info.id.as_str()));
///
/// keys.revoke(&new.info.id).await?;
/// assert!(keys.verify(&new.key).await.is_err());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ApiKeys {
    store: Arc<dyn ErasedApiKeyStore>,
    prefix: Arc<str>,
    default_ttl: Option<Duration>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("prefix", &self.prefix)
            .field("default_ttl", &self.default_ttl)
            .finish_non_exhaustive()
    }
}

impl ApiKeys {
    /// API keys on `store`, with the visible `prefix` (1 to 32 lowercase letters, digits and `_`,
    /// starting with a letter).
    ///
    /// # Errors
    /// [`AuthError::Config`] naming `auth.api_keys.prefix` when the prefix is not usable.
    pub fn new(store: impl ApiKeyStore, prefix: &str) -> Result<ApiKeys, AuthError> {
        Self::from_erased(Arc::new(store), prefix)
    }

    /// [`new`](Self::new) on a store already erased.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn from_erased(
        store: Arc<dyn ErasedApiKeyStore>,
        prefix: &str,
    ) -> Result<ApiKeys, AuthError> {
        if let Some(problem) = key::prefix_problem(prefix) {
            return Err(AuthError::Config {
                key: "auth.api_keys.prefix".into(),
                reason: format!(
                    "{problem}; hint: a short name for the app and environment, such as `ck_live`"
                ),
            });
        }
        Ok(ApiKeys {
            store,
            prefix: prefix.into(),
            default_ttl: None,
        })
    }

    /// Keys made without a lifetime of their own expire after `ttl` (`None`: never).
    pub fn with_default_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// The visible prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Makes a key for `owner` (the user it acts for), named `name`, granting `scopes`, valid for
    /// `ttl` (`None`: `[auth.api_keys] default_ttl`, or forever without one).
    ///
    /// # Errors
    /// [`AuthError::Issue`] for an empty owner or name, or a scope that is empty or holds a
    /// space or a control character; [`AuthError::Store`] when the store fails.
    pub async fn create<I, S>(
        &self,
        owner: &str,
        name: &str,
        scopes: I,
        ttl: Option<Duration>,
    ) -> Result<NewApiKey, AuthError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.create_at(owner, name, scopes, ttl, SystemTime::now())
            .await
    }

    /// [`create`](Self::create) as if the time were `now` (for tests: a key that expired).
    ///
    /// # Errors
    /// As [`create`](Self::create).
    pub async fn create_at<I, S>(
        &self,
        owner: &str,
        name: &str,
        scopes: I,
        ttl: Option<Duration>,
        now: SystemTime,
    ) -> Result<NewApiKey, AuthError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        check_text("owner", owner)?;
        check_text("name", name)?;
        let mut scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        for scope in &scopes {
            check_scope(scope)?;
        }
        scopes.sort();
        scopes.dedup();
        let id = key::random_base62(key::ID_LEN)?;
        let secret = key::random_base62(key::SECRET_LEN)?;
        // Stores keep whole seconds: so do the answers.
        let now = from_secs(to_secs(now));
        let expires_at = ttl.or(self.default_ttl).map(|ttl| now + ttl);
        let record = ApiKeyRecord::new(
            id.clone(),
            key::digest(&secret),
            name,
            owner,
            scopes,
            now,
            expires_at,
        );
        let info = record.info.clone();
        self.store
            .insert_boxed(record)
            .await
            .map_err(|e| AuthError::store("API keys", e))?;
        tracing::info!(target: "cortex::auth", key_id = %id, owner, name, "API key created");
        Ok(NewApiKey {
            key: format!("{}_{id}_{secret}", self.prefix),
            info,
        })
    }

    /// Every key, or `owner`'s, oldest first (without their secrets, which no one has).
    ///
    /// # Errors
    /// [`AuthError::Store`] when the store fails.
    pub async fn list(&self, owner: Option<&str>) -> Result<Vec<ApiKeyInfo>, AuthError> {
        self.store
            .list_boxed(owner)
            .await
            .map_err(|e| AuthError::store("API keys", e))
    }

    /// Revokes the key `id`: it authenticates nothing from now on. `Ok(false)` when there is no
    /// such key; revoking a key twice keeps the first time.
    ///
    /// # Errors
    /// [`AuthError::Store`] when the store fails.
    pub async fn revoke(&self, id: &str) -> Result<bool, AuthError> {
        if !key::is_id(id) {
            return Ok(false);
        }
        let done = self
            .store
            .revoke_boxed(id, from_secs(to_secs(SystemTime::now())))
            .await
            .map_err(|e| AuthError::store("API keys", e))?;
        if done {
            tracing::info!(target: "cortex::auth", key_id = %id, "API key revoked");
        }
        Ok(done)
    }

    /// The user a presented key authenticates: its owner, with its scopes as permissions, method
    /// [`AuthMethod::ApiKey`] and the key's id as [`credential_id`](CurrentUser::credential_id).
    ///
    /// # Errors
    /// [`AuthFailure::Malformed`] (not this app's prefix, or not a key's shape),
    /// [`Unknown`](AuthFailure::Unknown) (no such id, or a wrong secret),
    /// [`Expired`](AuthFailure::Expired), [`Revoked`](AuthFailure::Revoked), and
    /// [`Store`](AuthFailure::Store) when the store fails. Each is logged (target
    /// `cortex::auth`) with the key's id, never its secret.
    pub async fn verify(&self, presented: &str) -> Result<CurrentUser, AuthFailure> {
        self.verify_at(presented, SystemTime::now()).await
    }

    /// [`verify`](Self::verify) as if the time were `now`.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub async fn verify_at(
        &self,
        presented: &str,
        now: SystemTime,
    ) -> Result<CurrentUser, AuthFailure> {
        let parsed = key::parse(&self.prefix, presented.trim()).inspect_err(|failure| {
            tracing::warn!(target: "cortex::auth", reason = failure.code(), "API key refused: {failure}");
        })?;
        let id = parsed.id;
        let refuse = |failure: AuthFailure| {
            tracing::warn!(target: "cortex::auth", key_id = %id, reason = failure.code(), "API key refused: {failure}");
            failure
        };
        let record = match self.store.find_boxed(id).await {
            Ok(Some(record)) => record,
            Ok(None) => return Err(refuse(AuthFailure::Unknown)),
            Err(e) => return Err(refuse(AuthFailure::Store(e))),
        };
        // A wrong secret for a real id answers as an unknown key: nothing tells an attacker that
        // the id exists.
        if !key::matches(parsed.secret, &record.hash) {
            tracing::warn!(target: "cortex::auth", key_id = %id, reason = "secret", "API key refused: the secret does not match the key's");
            return Err(AuthFailure::Unknown);
        }
        let info = record.info;
        if info.revoked_at.is_some() {
            return Err(refuse(AuthFailure::Revoked));
        }
        if info.is_expired_at(now) {
            return Err(refuse(AuthFailure::Expired));
        }
        let stale = info
            .last_used_at
            .is_none_or(|at| now.duration_since(at).is_ok_and(|d| d >= TOUCH_EVERY));
        if stale && let Err(error) = self.store.touch_boxed(id, from_secs(to_secs(now))).await {
            // The key holds; only its `last_used_at` is late.
            tracing::warn!(target: "cortex::auth", key_id = %id, %error, "could not record the API key's use");
        }
        Ok(CurrentUser::builder(info.owner)
            .method(AuthMethod::ApiKey)
            .permissions(info.scopes)
            .credential_id(info.id)
            .claim("api_key_name", info.name)
            .build())
    }
}

/// Prepares the store when the app starts (the database store creates its table).
impl OnStart for ApiKeys {
    async fn on_start(&self) -> Result<(), BoxError> {
        self.store.prepare_boxed().await
    }
}

fn check_text(what: &str, value: &str) -> Result<(), AuthError> {
    if value.trim().is_empty() {
        return Err(AuthError::Issue(format!(
            "an API key's {what} must not be empty"
        )));
    }
    if value.len() > 255 {
        return Err(AuthError::Issue(format!(
            "an API key's {what} must be at most 255 bytes"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(AuthError::Issue(format!(
            "an API key's {what} must not hold control characters"
        )));
    }
    Ok(())
}

fn check_scope(scope: &str) -> Result<(), AuthError> {
    let ok = !scope.is_empty()
        && scope.len() <= 255
        && scope
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.' | '*' | '/'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::Issue(format!(
            "the scope `{scope}` is not a permission name; hint: letters, digits and `:_-.*/`, such as `posts:read` or `posts:*`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_key::store::MemoryApiKeyStore;

    #[tokio::test]
    async fn debug_shows_the_settings_and_the_info_never_the_key() {
        let keys = ApiKeys::new(MemoryApiKeyStore::new(), "ck_test").unwrap();
        assert_eq!(keys.prefix(), "ck_test");
        let shown = format!("{keys:?}");
        assert!(
            shown.starts_with("ApiKeys") && shown.contains("ck_test"),
            "{shown}"
        );
        let made = keys
            .create("ada", "ci", ["posts:read"], None)
            .await
            .unwrap();
        let shown = format!("{made:?}");
        assert!(
            shown.starts_with("NewApiKey") && shown.contains("ci"),
            "{shown}"
        );
        assert!(!shown.contains(&made.key), "the key is shown: {shown}");
    }

    #[tokio::test]
    async fn a_name_is_at_most_255_bytes() {
        let keys = ApiKeys::new(MemoryApiKeyStore::new(), "ck").unwrap();
        let longest = "n".repeat(255);
        assert!(keys.create("ada", &longest, ["a"], None).await.is_ok());
        let error = keys
            .create("ada", &"n".repeat(256), ["a"], None)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("at most 255 bytes"), "{error}");
    }
}
