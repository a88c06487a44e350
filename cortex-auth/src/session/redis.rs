//! Sessions in Redis: one key per session, its TTL the time the session has left.

use std::time::Duration;

use cortex_di::BoxError;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use super::store::{SessionRecord, SessionStore};
use crate::error::AuthError;

/// Sessions in Redis (the `redis` feature): `<prefix><hashed id>` holds the [`SessionRecord`] as
/// JSON, with a TTL of the time the session has left (so Redis drops expired sessions itself).
/// Connects on first use, and reconnects when the connection drops.
///
/// ```
/// use cortex_auth::RedisSessionStore;
///
/// let store = RedisSessionStore::new("redis://127.0.0.1:6379", "myapp:session:")?;
/// assert!(RedisSessionStore::new("not a url", "x:").is_err());
/// # Ok::<(), cortex_auth::AuthError>(())
/// ```
pub struct RedisSessionStore {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisSessionStore {
    /// A store at `url` (`redis://host:port[/db]`), its keys starting with `prefix`.
    ///
    /// # Errors
    /// [`AuthError::Config`] naming `auth.redis_url` when the URL does not parse.
    pub fn new(url: &str, prefix: &str) -> Result<Self, AuthError> {
        let client = redis::Client::open(url).map_err(|e| AuthError::Config {
            key: "auth.redis_url".into(),
            reason: format!("is not a Redis URL ({e}); hint: `redis://127.0.0.1:6379`"),
        })?;
        Ok(RedisSessionStore {
            client,
            connection: OnceCell::new(),
            prefix: prefix.to_string(),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, BoxError> {
        let connection = self
            .connection
            .get_or_try_init(|| ConnectionManager::new(self.client.clone()))
            .await?;
        Ok(connection.clone())
    }
}

impl SessionStore for RedisSessionStore {
    async fn load(&self, key: &str) -> Result<Option<SessionRecord>, BoxError> {
        let mut connection = self.connection().await?;
        let data: Option<String> = redis::cmd("GET")
            .arg(format!("{}{key}", self.prefix))
            .query_async(&mut connection)
            .await?;
        match data {
            Some(data) => Ok(Some(serde_json::from_str(&data)?)),
            None => Ok(None),
        }
    }

    async fn save(&self, key: &str, record: &SessionRecord, ttl: Duration) -> Result<(), BoxError> {
        let mut connection = self.connection().await?;
        let data = serde_json::to_string(record)?;
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        redis::cmd("SET")
            .arg(format!("{}{key}", self.prefix))
            .arg(data)
            .arg("PX")
            .arg(millis)
            .query_async::<()>(&mut connection)
            .await?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), BoxError> {
        let mut connection = self.connection().await?;
        redis::cmd("DEL")
            .arg(format!("{}{key}", self.prefix))
            .query_async::<()>(&mut connection)
            .await?;
        Ok(())
    }
}
