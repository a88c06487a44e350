//! API keys in the app's database (`cortex_data::Db`), table `cortex_auth_api_keys`.
//!
//! A plugin cannot ship migrations (`cortex_data::Migrations::registered` takes the app's one
//! set), so the store creates its table, if missing, when the app starts
//! (`CREATE TABLE IF NOT EXISTS`).

use std::time::SystemTime;

use cortex_data::sqlx::{self, AssertSqlSafe, Row as _};
use cortex_data::{Backend, Db};
use cortex_di::BoxError;

use super::key::{hex, unhex};
use super::store::{
    ApiKeyInfo, ApiKeyRecord, ApiKeyStore, from_secs, join_scopes, split_scopes, to_secs,
};
use crate::error::AuthError;

/// API keys in the app's database: one row per key in `cortex_auth_api_keys` (or the table
/// [`with_table`](Self::with_table) names), the secret's SHA-256 digest in hex, times in seconds
/// since the epoch. The table is created when the app starts, if it is missing.
///
/// ```
/// use cortex_auth::api_key::{ApiKeyStore, ApiKeys, DbApiKeyStore};
/// use cortex_data::{DatabaseConfig, Db};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_di::BoxError> {
/// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
/// let store = DbApiKeyStore::new(db);
/// store.prepare().await?; // what the app's start does
/// let keys = ApiKeys::new(store, "ck")?;
/// let new = keys.create("42", "ci", ["posts:read"], None).await?;
/// assert_eq!(keys.verify(&new.key).await?.id(), "42");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DbApiKeyStore {
    db: Db,
    table: String,
}

impl DbApiKeyStore {
    /// The store on `db`, in the table `cortex_auth_api_keys`.
    pub fn new(db: Db) -> Self {
        DbApiKeyStore {
            db,
            table: super::TABLE.to_string(),
        }
    }

    /// The store in the table `table` (lowercase letters, digits and `_`, starting with a
    /// letter, at most 64 characters).
    ///
    /// # Errors
    /// [`AuthError::Config`] for another name.
    pub fn with_table(db: Db, table: &str) -> Result<Self, AuthError> {
        let ok = table.len() <= 64
            && table.starts_with(|c: char| c.is_ascii_lowercase())
            && table
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(AuthError::Config {
                key: "auth.api_keys.table".into(),
                reason: format!(
                    "(`{table}`) is not a table name; hint: lowercase letters, digits and `_`, such as `cortex_auth_api_keys`"
                ),
            });
        }
        Ok(DbApiKeyStore {
            db,
            table: table.to_string(),
        })
    }

    /// The table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The `n`th placeholder (from 1) in the backend's dialect.
    fn sql(&self, template: &str) -> String {
        let with_table = template.replace("{table}", &self.table);
        match self.db.backend() {
            Backend::Postgres => {
                let mut out = String::with_capacity(with_table.len());
                let mut n = 0;
                for c in with_table.chars() {
                    if c == '?' {
                        n += 1;
                        out.push_str(&format!("${n}"));
                    } else {
                        out.push(c);
                    }
                }
                out
            }
            _ => with_table,
        }
    }
}

const COLUMNS: &str = "id, secret_sha256, key_name, owner_id, scopes, created_at, expires_at, revoked_at, last_used_at";

/// Runs `$body` with `$pool` bound to the backend's own pool.
macro_rules! on_pool {
    ($self:ident, $pool:ident => $body:expr) => {
        match $self.db.backend() {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let $pool = $self.db.sqlite().ok_or("no SQLite pool")?;
                $body
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let $pool = $self.db.postgres().ok_or("no PostgreSQL pool")?;
                $body
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => {
                let $pool = $self.db.mysql().ok_or("no MySQL pool")?;
                $body
            }
            #[allow(unreachable_patterns)]
            other => return Err(format!("the {other} backend is not compiled in").into()),
        }
    };
}

/// The record of a row with [`COLUMNS`].
macro_rules! record {
    ($row:expr) => {{
        let row = $row;
        let hash: String = row.try_get("secret_sha256")?;
        let hash = unhex(&hash).ok_or("a stored API key digest is not 64 hex digits")?;
        let scopes: String = row.try_get("scopes")?;
        let mut record = ApiKeyRecord::new(
            row.try_get::<String, _>("id")?,
            hash,
            row.try_get::<String, _>("key_name")?,
            row.try_get::<String, _>("owner_id")?,
            split_scopes(&scopes),
            from_secs(row.try_get::<i64, _>("created_at")?),
            row.try_get::<Option<i64>, _>("expires_at")?.map(from_secs),
        );
        record.info.revoked_at = row.try_get::<Option<i64>, _>("revoked_at")?.map(from_secs);
        record.info.last_used_at = row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(from_secs);
        record
    }};
}

impl ApiKeyStore for DbApiKeyStore {
    async fn prepare(&self) -> Result<(), BoxError> {
        let create = self.sql(
            "CREATE TABLE IF NOT EXISTS {table} (\
             id VARCHAR(32) NOT NULL PRIMARY KEY, \
             secret_sha256 CHAR(64) NOT NULL, \
             key_name VARCHAR(255) NOT NULL, \
             owner_id VARCHAR(255) NOT NULL, \
             scopes TEXT NOT NULL, \
             created_at BIGINT NOT NULL, \
             expires_at BIGINT NULL, \
             revoked_at BIGINT NULL, \
             last_used_at BIGINT NULL)",
        );
        on_pool!(self, pool => {
            sqlx::query(AssertSqlSafe(create)).execute(pool).await?;
        });
        Ok(())
    }

    async fn insert(&self, record: ApiKeyRecord) -> Result<(), BoxError> {
        let sql = self.sql(&format!(
            "INSERT INTO {{table}} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ));
        let info = &record.info;
        on_pool!(self, pool => {
            sqlx::query(AssertSqlSafe(sql))
                .bind(&info.id)
                .bind(hex(&record.hash))
                .bind(&info.name)
                .bind(&info.owner)
                .bind(join_scopes(&info.scopes))
                .bind(to_secs(info.created_at))
                .bind(info.expires_at.map(to_secs))
                .bind(info.revoked_at.map(to_secs))
                .bind(info.last_used_at.map(to_secs))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn find(&self, id: &str) -> Result<Option<ApiKeyRecord>, BoxError> {
        let sql = self.sql(&format!("SELECT {COLUMNS} FROM {{table}} WHERE id = ?"));
        on_pool!(self, pool => {
            let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?;
            match row {
                Some(row) => Ok(Some(record!(row))),
                None => Ok(None),
            }
        })
    }

    async fn list(&self, owner: Option<&str>) -> Result<Vec<ApiKeyInfo>, BoxError> {
        let filter = if owner.is_some() {
            " WHERE owner_id = ?"
        } else {
            ""
        };
        let sql = self.sql(&format!(
            "SELECT {COLUMNS} FROM {{table}}{filter} ORDER BY created_at, id"
        ));
        on_pool!(self, pool => {
            let mut query = sqlx::query(AssertSqlSafe(sql));
            if let Some(owner) = owner {
                query = query.bind(owner);
            }
            let rows = query.fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(record!(row).info);
            }
            Ok(out)
        })
    }

    async fn revoke(&self, id: &str, at: SystemTime) -> Result<bool, BoxError> {
        // `COALESCE`: a key revoked already keeps its first time; the row still counts as found
        // (MySQL reports changed rows, not matched ones, so the existence is asked separately).
        let update =
            self.sql("UPDATE {table} SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?");
        on_pool!(self, pool => {
            sqlx::query(AssertSqlSafe(update)).bind(to_secs(at)).bind(id).execute(pool).await?;
        });
        Ok(self.find(id).await?.is_some())
    }

    async fn touch(&self, id: &str, at: SystemTime) -> Result<(), BoxError> {
        let sql = self.sql("UPDATE {table} SET last_used_at = ? WHERE id = ?");
        on_pool!(self, pool => {
            sqlx::query(AssertSqlSafe(sql)).bind(to_secs(at)).bind(id).execute(pool).await?;
        });
        Ok(())
    }
}
