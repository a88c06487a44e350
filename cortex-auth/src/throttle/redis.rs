//! [`RedisThrottleStore`]: login failures counted in Redis, shared by every instance of the app.

use std::fmt;
use std::time::{Duration, SystemTime};

use cortex_di::BoxError;
use redis::aio::ConnectionManager;
use sha2::{Digest, Sha256};

use super::store::{Backoff, ThrottleEntry, ThrottleStore};
use crate::error::AuthError;

/// Counts one failure atomically. KEYS[1]: the hash (`n` failures, `u` locked until, `l` last
/// failure, `w` window, times in ms since the epoch, from the throttle's clock); ARGV: now, free
/// attempts, base, max, window.
const RECORD: &str = r"
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local maxl = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
local last = tonumber(redis.call('HGET', KEYS[1], 'l') or '-1')
local w = tonumber(redis.call('HGET', KEYS[1], 'w') or ARGV[5])
if last >= 0 and now - last >= w then
  redis.call('DEL', KEYS[1])
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local u = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
if n > free then
  local e = n - free - 1
  if e > 40 then e = 40 end
  local lock = base * (2 ^ e)
  if lock > maxl then lock = maxl end
  if now + lock > u then u = now + lock end
end
redis.call('HSET', KEYS[1], 'u', string.format('%d', u), 'l', string.format('%d', now), 'w', string.format('%d', window))
redis.call('PEXPIRE', KEYS[1], string.format('%d', window))
return {n, u}
";

/// Reads an entry, empty when its window has passed. ARGV: now.
const GET: &str = r"
local v = redis.call('HMGET', KEYS[1], 'n', 'u', 'l', 'w')
if not v[1] then return {0, 0} end
if tonumber(ARGV[1]) - tonumber(v[3] or '0') >= tonumber(v[4] or '0') then return {0, 0} end
return {tonumber(v[1]), tonumber(v[2] or '0')}
";

/// Login failures in Redis (`redis` feature; `[auth.throttle] store = "redis"` with
/// `[auth] redis_url`): one count per account and address for every instance of the app. Each
/// failure is one `EVAL` (read, increment, lock and expiry in one atomic script); keys are
/// `<key_prefix><sha-256 of the key>`, so that account names never appear in Redis, and expire a
/// window after their last failure. Times are kept in whole milliseconds.
///
/// ```no_run
/// use cortex_auth::RedisThrottleStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_auth::AuthError> {
/// let store = RedisThrottleStore::connect("redis://127.0.0.1:6379", "myapp:throttle:").await?;
/// # let _ = store;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisThrottleStore {
    connection: ConnectionManager,
    prefix: String,
}

impl fmt::Debug for RedisThrottleStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisThrottleStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

const STORE: &str = "login throttle (redis)";

impl RedisThrottleStore {
    /// Connects (a `ConnectionManager`, which reconnects by itself) and checks the server
    /// answers.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cortex_auth::AuthError> {
    /// let store = cortex_auth::RedisThrottleStore::connect("redis://127.0.0.1", "app:throttle:").await?;
    /// # let _ = store; Ok(()) }
    /// ```
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self, AuthError> {
        let client = redis::Client::open(url).map_err(|error| AuthError::Config {
            key: "auth.redis_url".into(),
            reason: format!("is not a Redis URL ({error}); hint: redis://127.0.0.1:6379"),
        })?;
        let connection = ConnectionManager::new(client)
            .await
            .map_err(|error| AuthError::store(STORE, error))?;
        Ok(RedisThrottleStore::new(connection, prefix))
    }

    /// A store on an existing connection.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::Client::open("redis://127.0.0.1")?;
    /// let connection = redis::aio::ConnectionManager::new(client).await?;
    /// let store = cortex_auth::RedisThrottleStore::new(connection, "app:throttle:");
    /// # let _ = store; Ok(()) }
    /// ```
    pub fn new(connection: ConnectionManager, prefix: impl Into<String>) -> Self {
        RedisThrottleStore {
            connection,
            prefix: prefix.into(),
        }
    }

    fn key(&self, key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        let mut out = self.prefix.clone();
        for byte in &digest[..16] {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn entry(reply: (u64, u64)) -> ThrottleEntry {
    let (failures, until) = reply;
    ThrottleEntry::new(
        u32::try_from(failures).unwrap_or(u32::MAX),
        (until > 0).then(|| SystemTime::UNIX_EPOCH + Duration::from_millis(until)),
    )
}

impl ThrottleStore for RedisThrottleStore {
    async fn get(&self, key: &str, now: SystemTime) -> Result<ThrottleEntry, BoxError> {
        let mut connection = self.connection.clone();
        let reply: (u64, u64) = redis::cmd("EVAL")
            .arg(GET)
            .arg(1)
            .arg(self.key(key))
            .arg(millis(now))
            .query_async(&mut connection)
            .await?;
        Ok(entry(reply))
    }

    async fn record_failure(
        &self,
        key: &str,
        now: SystemTime,
        backoff: Backoff,
    ) -> Result<ThrottleEntry, BoxError> {
        let mut connection = self.connection.clone();
        let reply: (u64, u64) = redis::cmd("EVAL")
            .arg(RECORD)
            .arg(1)
            .arg(self.key(key))
            .arg(millis(now))
            .arg(backoff.free_attempts)
            .arg(ms(backoff.base))
            .arg(ms(backoff.max))
            .arg(ms(backoff.window).max(1))
            .query_async(&mut connection)
            .await?;
        Ok(entry(reply))
    }

    async fn reset(&self, key: &str) -> Result<(), BoxError> {
        let mut connection = self.connection.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(self.key(key))
            .query_async(&mut connection)
            .await?;
        Ok(())
    }
}
