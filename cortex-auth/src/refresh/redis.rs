//! [`RedisRefreshStore`]: refresh tokens in Redis, keys expiring with the tokens, a Lua script
//! for the atomic rotation.

use std::sync::{Arc, LazyLock};

use cortex_di::BoxError;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use super::store::{RefreshRecord, RefreshStore, RotateOutcome, UserSnapshot};
use crate::error::AuthError;

/// KEYS: token, family, user. ARGV: family, user, snapshot, issued_at, expires_at,
/// family_expires_at, now.
const INSERT: &str = r"
redis.call('HSET', KEYS[1], 'family', ARGV[1], 'user', ARGV[2], 'snapshot', ARGV[3],
  'state', 'active', 'issued_at', ARGV[4], 'expires_at', ARGV[5], 'family_expires_at', ARGV[6])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
redis.call('HSET', KEYS[2], 'user', ARGV[2], 'revoked', '0')
redis.call('PEXPIREAT', KEYS[2], ARGV[6])
redis.call('SADD', KEYS[3], ARGV[1])
local want = tonumber(ARGV[6]) - tonumber(ARGV[7])
if redis.call('PTTL', KEYS[3]) < want then redis.call('PEXPIRE', KEYS[3], want) end
return 1
";

/// KEYS: token, next token. ARGV: prefix, now, grace, next_expires_at.
const ROTATE: &str = r"
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return {'unknown'} end
local tok = {}
for i = 1, #fields, 2 do tok[fields[i]] = fields[i + 1] end
local now = tonumber(ARGV[2])
local grace = tonumber(ARGV[3])
local next_exp = tonumber(ARGV[4])
local family_key = ARGV[1] .. 'f:' .. tok.family
if redis.call('HGET', family_key, 'revoked') ~= '0' then return {'revoked'} end
local exp = tonumber(tok.expires_at)
local family_exp = tonumber(tok.family_expires_at)
if exp <= now or family_exp <= now then return {'expired'} end
if tok.state == 'used' then
  if grace <= 0 or tonumber(tok.used_at) + grace <= now then
    redis.call('HSET', family_key, 'revoked', '1')
    return {'reused', tok.family, tok.user}
  end
else
  redis.call('HSET', KEYS[1], 'state', 'used', 'used_at', ARGV[2])
end
if next_exp > family_exp then next_exp = family_exp end
redis.call('HSET', KEYS[2], 'family', tok.family, 'user', tok.user, 'snapshot', tok.snapshot,
  'state', 'active', 'issued_at', ARGV[2], 'expires_at', next_exp,
  'family_expires_at', tok.family_expires_at)
redis.call('PEXPIREAT', KEYS[2], next_exp)
return {'rotated', tok.family, tok.user, tok.snapshot, tok.issued_at, tok.expires_at,
  tok.family_expires_at}
";

/// KEYS: family.
const REVOKE_FAMILY: &str = r"
if redis.call('HGET', KEYS[1], 'revoked') == '0' then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  return 1
end
return 0
";

/// KEYS: user. ARGV: prefix.
const REVOKE_USER: &str = r"
local count = 0
for _, family in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. 'f:' .. family
  if redis.call('HGET', key, 'revoked') == '0' then
    redis.call('HSET', key, 'revoked', '1')
    count = count + 1
  end
end
return count
";

// The scripts, their SHA-1 computed once (`EVALSHA`, loaded on the server on a miss).
static INSERT_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(INSERT));
static ROTATE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(ROTATE));
static REVOKE_FAMILY_SCRIPT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(REVOKE_FAMILY));
static REVOKE_USER_SCRIPT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(REVOKE_USER));

/// Refresh tokens in Redis (`[auth] redis_url`), under a key prefix (`[auth.refresh]
/// redis_prefix`, default `cortex:auth:refresh:`):
///
/// | key | what |
/// | --- | --- |
/// | `<prefix>t:<sha-256 of the token>` | a hash: family, user, snapshot, state, times; expires with the token |
/// | `<prefix>f:<family>` | a hash: user, revoked; expires with the family |
/// | `<prefix>u:<user id>` | the set of the user's families; expires with the latest |
///
/// Redis expires the keys itself, so [`prune`](crate::RefreshTokens::prune) has nothing to do
/// (and a token past its expiry is answered as unknown once Redis dropped its key). The rotation
/// (check, mark used, store the next, or revoke the family on a reuse) is one Lua script, atomic
/// on the server. The scripts name keys they compute (the family's, from the token's hash), so
/// the store needs one Redis node, not a cluster.
///
/// ```
/// use cortex_auth::{RedisRefreshStore, RefreshConfig, RefreshTokens};
///
/// let store = RedisRefreshStore::open("redis://127.0.0.1:6379", "myapp:refresh:")?;
/// let tokens = RefreshTokens::new(RefreshConfig::default(), store); // connects on first use
/// # let _ = tokens;
/// # Ok::<(), cortex_auth::AuthError>(())
/// ```
#[derive(Clone)]
pub struct RedisRefreshStore {
    client: redis::Client,
    prefix: Arc<str>,
    connection: Arc<OnceCell<ConnectionManager>>,
}

impl std::fmt::Debug for RedisRefreshStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRefreshStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRefreshStore {
    /// A store on the Redis at `url`, its keys under `prefix`; it connects on first use.
    ///
    /// # Errors
    /// [`AuthError::Config`] naming `auth.redis_url` when the URL does not parse.
    pub fn open(url: &str, prefix: &str) -> Result<Self, AuthError> {
        let client = redis::Client::open(url).map_err(|e| AuthError::Config {
            key: "auth.redis_url".into(),
            reason: format!(
                "is not a Redis URL ({e}); hint: write it as `redis://host:6379` or `redis://:password@host:6379/0`"
            ),
        })?;
        Ok(RedisRefreshStore {
            client,
            prefix: prefix.into(),
            connection: Arc::default(),
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    async fn connection(&self) -> Result<ConnectionManager, BoxError> {
        let connection = self
            .connection
            .get_or_try_init(|| ConnectionManager::new(self.client.clone()))
            .await?;
        Ok(connection.clone())
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }
}

fn number(value: Option<&String>) -> Result<i64, BoxError> {
    Ok(value
        .ok_or("a refresh token's hash lacks a field")?
        .parse()?)
}

impl RefreshStore for RedisRefreshStore {
    async fn insert(&self, record: RefreshRecord) -> Result<(), BoxError> {
        let mut connection = self.connection().await?;
        let snapshot = serde_json::to_string(&(&record.user.roles, &record.user.permissions))?;
        let _: i64 = INSERT_SCRIPT
            .key(self.key("t", &record.hash))
            .key(self.key("f", &record.family))
            .key(self.key("u", &record.user.id))
            .arg(&record.family)
            .arg(&record.user.id)
            .arg(snapshot)
            .arg(record.issued_at)
            .arg(record.expires_at)
            .arg(record.family_expires_at)
            .arg(record.issued_at)
            .invoke_async(&mut connection)
            .await?;
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
        let mut connection = self.connection().await?;
        let reply: Vec<String> = ROTATE_SCRIPT
            .key(self.key("t", hash))
            .key(self.key("t", next_hash))
            .arg(&*self.prefix)
            .arg(now)
            .arg(grace)
            .arg(next_expires_at)
            .invoke_async(&mut connection)
            .await?;
        let outcome = match reply.first().map(String::as_str) {
            Some("rotated") => {
                let (roles, permissions): (Vec<String>, Vec<String>) =
                    serde_json::from_str(reply.get(3).ok_or("the script's reply is short")?)?;
                RotateOutcome::Rotated(RefreshRecord {
                    hash: hash.to_string(),
                    family: reply[1].clone(),
                    user: UserSnapshot {
                        id: reply[2].clone(),
                        roles,
                        permissions,
                    },
                    issued_at: number(reply.get(4))?,
                    expires_at: number(reply.get(5))?,
                    family_expires_at: number(reply.get(6))?,
                })
            }
            Some("reused") if reply.len() == 3 => RotateOutcome::Reused {
                family: reply[1].clone(),
                user_id: reply[2].clone(),
            },
            Some("expired") => RotateOutcome::Expired,
            Some("revoked") => RotateOutcome::Revoked,
            Some("unknown") => RotateOutcome::Unknown,
            _ => return Err(format!("unexpected reply of the rotation script: {reply:?}").into()),
        };
        Ok(outcome)
    }

    async fn family_of(&self, hash: &str) -> Result<Option<String>, BoxError> {
        let mut connection = self.connection().await?;
        let family: Option<String> = redis::cmd("HGET")
            .arg(self.key("t", hash))
            .arg("family")
            .query_async(&mut connection)
            .await?;
        Ok(family)
    }

    async fn revoke_family(&self, family: &str) -> Result<u64, BoxError> {
        let mut connection = self.connection().await?;
        let count: u64 = REVOKE_FAMILY_SCRIPT
            .key(self.key("f", family))
            .invoke_async(&mut connection)
            .await?;
        Ok(count)
    }

    async fn revoke_user(&self, user_id: &str) -> Result<u64, BoxError> {
        let mut connection = self.connection().await?;
        let count: u64 = REVOKE_USER_SCRIPT
            .key(self.key("u", user_id))
            .arg(&*self.prefix)
            .invoke_async(&mut connection)
            .await?;
        Ok(count)
    }

    async fn prune(&self, _now: i64) -> Result<u64, BoxError> {
        Ok(0)
    }
}
