//! Sessions in Redis: one key per session, its TTL the time the session has left.

use std::sync::LazyLock;
use std::time::Duration;

use cortex_di::BoxError;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use super::store::{SessionRecord, SessionStore};
use crate::error::AuthError;

/// KEYS: session, user index (or none). ARGV: data, ttl in ms, only if present (`1`/`0`),
/// the session key's member name.
const SAVE: &str = r"
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if KEYS[2] then
  redis.call('SADD', KEYS[2], ARGV[4])
  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
  end
end
return 1
";

/// KEYS: user index. ARGV: prefix.
const DELETE_USER: &str = r"
local count = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  count = count + redis.call('DEL', ARGV[1] .. member)
end
redis.call('DEL', KEYS[1])
return count
";

static SAVE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(SAVE));
static DELETE_USER_SCRIPT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(DELETE_USER));

/// Sessions in Redis (the `redis` feature), under a key prefix (`[auth.sessions] redis_prefix`):
///
/// | key | what |
/// | --- | --- |
/// | `<prefix><hashed id>` | the [`SessionRecord`] as JSON; its TTL the time the session has left (Redis drops expired sessions itself) |
/// | `<prefix>u:<user id>` | the set of the user's sessions (their hashed ids); expires with the latest |
///
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

impl RedisSessionStore {
    fn user_key(&self, user_id: &str) -> String {
        format!("{}u:{user_id}", self.prefix)
    }

    async fn write(
        &self,
        key: &str,
        record: &SessionRecord,
        ttl: Duration,
        only_if_present: bool,
    ) -> Result<bool, BoxError> {
        let mut connection = self.connection().await?;
        let data = serde_json::to_string(record)?;
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut invocation = SAVE_SCRIPT.key(format!("{}{key}", self.prefix));
        if let Some(user) = &record.user {
            invocation.key(self.user_key(&user.id));
        }
        let written: u64 = invocation
            .arg(data)
            .arg(millis)
            .arg(if only_if_present { "1" } else { "0" })
            .arg(key)
            .invoke_async(&mut connection)
            .await?;
        Ok(written == 1)
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
        self.write(key, record, ttl, false).await.map(|_| ())
    }

    async fn update(
        &self,
        key: &str,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<bool, BoxError> {
        self.write(key, record, ttl, true).await
    }

    async fn delete(&self, key: &str) -> Result<(), BoxError> {
        // Read first to find the user's index (not atomic with the delete: a member left behind
        // names a session that is gone, which `delete_user` counts as nothing).
        let user = self.load(key).await?.and_then(|record| record.user);
        let mut connection = self.connection().await?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("DEL")
            .arg(format!("{}{key}", self.prefix));
        if let Some(user) = user {
            pipe.cmd("SREM").arg(self.user_key(&user.id)).arg(key);
        }
        pipe.query_async::<()>(&mut connection).await?;
        Ok(())
    }

    async fn delete_user(&self, user_id: &str) -> Result<u64, BoxError> {
        let mut connection = self.connection().await?;
        let count: u64 = DELETE_USER_SCRIPT
            .key(self.user_key(user_id))
            .arg(&self.prefix)
            .invoke_async(&mut connection)
            .await?;
        Ok(count)
    }
}
