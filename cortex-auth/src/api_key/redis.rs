//! API keys in Redis (`[auth] redis_url`).

use std::collections::HashMap;
use std::time::SystemTime;

use cortex_di::BoxError;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use super::key::{hex, unhex};
use super::store::{
    ApiKeyInfo, ApiKeyRecord, ApiKeyStore, from_secs, join_scopes, split_scopes, to_secs,
};
use crate::error::AuthError;

/// API keys in Redis: a hash per key at `<prefix>:key:<id>` (the secret's SHA-256 digest in hex,
/// times in seconds since the epoch), and sets of ids, `<prefix>:ids` and
/// `<prefix>:owner:<owner>`, for `list`. Keys do not expire in Redis (an expired key stays
/// listed, and refused as expired, until it is revoked). Connects on first use, and when the app
/// starts.
///
/// ```no_run
/// use cortex_auth::api_key::{ApiKeys, RedisApiKeyStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisApiKeyStore::new("redis://127.0.0.1:6379", "myapp:api_keys")?;
/// let keys = ApiKeys::new(store, "ck")?;
/// let new = keys.create("42", "ci", ["posts:read"], None).await?;
/// # let _ = new;
/// # Ok(()) }
/// ```
pub struct RedisApiKeyStore {
    client: redis::Client,
    prefix: String,
    conn: OnceCell<ConnectionManager>,
}

impl std::fmt::Debug for RedisApiKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisApiKeyStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisApiKeyStore {
    /// The store on the Redis server `url` names, its keys starting with `prefix`.
    ///
    /// # Errors
    /// [`AuthError::Config`] naming `auth.redis_url` when the URL does not parse.
    pub fn new(url: &str, prefix: &str) -> Result<Self, AuthError> {
        let client = redis::Client::open(url).map_err(|e| AuthError::Config {
            key: "auth.redis_url".into(),
            reason: format!("is not a Redis URL ({e}); hint: `redis://127.0.0.1:6379`"),
        })?;
        Ok(RedisApiKeyStore {
            client,
            prefix: prefix.to_string(),
            conn: OnceCell::new(),
        })
    }

    async fn conn(&self) -> Result<ConnectionManager, BoxError> {
        let conn = self
            .conn
            .get_or_try_init(|| self.client.get_connection_manager())
            .await?;
        Ok(conn.clone())
    }

    fn key(&self, id: &str) -> String {
        format!("{}:key:{id}", self.prefix)
    }

    fn ids(&self) -> String {
        format!("{}:ids", self.prefix)
    }

    fn owner(&self, owner: &str) -> String {
        format!("{}:owner:{owner}", self.prefix)
    }
}

fn record(fields: &HashMap<String, String>) -> Result<Option<ApiKeyRecord>, BoxError> {
    if fields.is_empty() {
        return Ok(None);
    }
    let get = |name: &str| {
        fields
            .get(name)
            .ok_or_else(|| BoxError::from(format!("a stored API key lacks `{name}`")))
    };
    let time = |name: &str| -> Result<Option<SystemTime>, BoxError> {
        match fields.get(name).filter(|v| !v.is_empty()) {
            Some(v) => Ok(Some(from_secs(v.parse::<i64>()?))),
            None => Ok(None),
        }
    };
    let hash =
        unhex(get("secret_sha256")?).ok_or("a stored API key digest is not 64 hex digits")?;
    let mut record = ApiKeyRecord::new(
        get("id")?.clone(),
        hash,
        get("name")?.clone(),
        get("owner")?.clone(),
        split_scopes(get("scopes")?),
        from_secs(get("created_at")?.parse::<i64>()?),
        time("expires_at")?,
    );
    record.info.revoked_at = time("revoked_at")?;
    record.info.last_used_at = time("last_used_at")?;
    Ok(Some(record))
}

impl ApiKeyStore for RedisApiKeyStore {
    async fn prepare(&self) -> Result<(), BoxError> {
        let mut conn = self.conn().await?;
        redis::cmd("PING").query_async::<()>(&mut conn).await?;
        Ok(())
    }

    async fn insert(&self, record: ApiKeyRecord) -> Result<(), BoxError> {
        let mut conn = self.conn().await?;
        let info = &record.info;
        let key = self.key(&info.id);
        let created: bool = redis::cmd("HSETNX")
            .arg(&key)
            .arg("id")
            .arg(&info.id)
            .query_async(&mut conn)
            .await?;
        if !created {
            return Err(format!("an API key with the id `{}` exists already", info.id).into());
        }
        let opt = |t: Option<SystemTime>| t.map(|t| to_secs(t).to_string()).unwrap_or_default();
        redis::pipe()
            .atomic()
            .cmd("HSET")
            .arg(&key)
            .arg("secret_sha256")
            .arg(hex(&record.hash))
            .arg("name")
            .arg(&info.name)
            .arg("owner")
            .arg(&info.owner)
            .arg("scopes")
            .arg(join_scopes(&info.scopes))
            .arg("created_at")
            .arg(to_secs(info.created_at))
            .arg("expires_at")
            .arg(opt(info.expires_at))
            .arg("revoked_at")
            .arg(opt(info.revoked_at))
            .arg("last_used_at")
            .arg(opt(info.last_used_at))
            .ignore()
            .cmd("SADD")
            .arg(self.ids())
            .arg(&info.id)
            .ignore()
            .cmd("SADD")
            .arg(self.owner(&info.owner))
            .arg(&info.id)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn find(&self, id: &str) -> Result<Option<ApiKeyRecord>, BoxError> {
        let mut conn = self.conn().await?;
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.key(id))
            .query_async(&mut conn)
            .await?;
        record(&fields)
    }

    async fn list(&self, owner: Option<&str>) -> Result<Vec<ApiKeyInfo>, BoxError> {
        let mut conn = self.conn().await?;
        let set = owner.map_or_else(|| self.ids(), |o| self.owner(o));
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(set)
            .query_async(&mut conn)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HGETALL").arg(self.key(id));
        }
        let all: Vec<HashMap<String, String>> = pipe.query_async(&mut conn).await?;
        let mut out = Vec::with_capacity(all.len());
        for fields in &all {
            if let Some(record) = record(fields)? {
                out.push(record.info);
            }
        }
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    async fn revoke(&self, id: &str, at: SystemTime) -> Result<bool, BoxError> {
        let mut conn = self.conn().await?;
        let Some(record) = self.find(id).await? else {
            return Ok(false);
        };
        if record.info.revoked_at.is_none() {
            redis::cmd("HSET")
                .arg(self.key(id))
                .arg("revoked_at")
                .arg(to_secs(at))
                .query_async::<()>(&mut conn)
                .await?;
        }
        Ok(true)
    }

    async fn touch(&self, id: &str, at: SystemTime) -> Result<(), BoxError> {
        let mut conn = self.conn().await?;
        // `HSET` only on a key that exists (`touch` never creates a half key).
        let exists: bool = redis::cmd("EXISTS")
            .arg(self.key(id))
            .query_async(&mut conn)
            .await?;
        if exists {
            redis::cmd("HSET")
                .arg(self.key(id))
                .arg("last_used_at")
                .arg(to_secs(at))
                .query_async::<()>(&mut conn)
                .await?;
        }
        Ok(())
    }
}
