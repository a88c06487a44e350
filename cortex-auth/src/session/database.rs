//! Sessions in the app's database: table `cortex_auth_sessions`, made when the app starts (or on
//! first use).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cortex_data::Db;
#[allow(unused_imports)]
use cortex_data::sqlx::{self, Row as _};
use cortex_di::BoxError;
use tokio::sync::OnceCell;

use super::store::{SessionRecord, SessionStore};

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS cortex_auth_sessions (id VARCHAR(64) NOT NULL PRIMARY KEY, user_id VARCHAR(255) NULL, data TEXT NOT NULL, expires_at BIGINT NOT NULL)";
const CREATE_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS cortex_auth_sessions_user ON cortex_auth_sessions (user_id)";
/// MySQL/MariaDB has no `CREATE INDEX IF NOT EXISTS` before 10.1.4 / 8.0.29: the index is made
/// with the table.
const CREATE_TABLE_MYSQL: &str = "CREATE TABLE IF NOT EXISTS cortex_auth_sessions (id VARCHAR(64) NOT NULL PRIMARY KEY, user_id VARCHAR(255) NULL, data TEXT NOT NULL, expires_at BIGINT NOT NULL, INDEX cortex_auth_sessions_user (user_id))";

/// Sessions in the app's database (the `database` feature; the `DataPlugin` binds the [`Db`]).
///
/// A plugin cannot ship migrations in `cortex-data` (an app's binary has one migration set, the
/// app's), so the table is made when the app starts, or on first use for a store made by hand
/// (`CREATE TABLE IF NOT EXISTS`): `cortex_auth_sessions
/// (id VARCHAR(64) PRIMARY KEY, user_id VARCHAR(255) NULL, data TEXT, expires_at BIGINT)`, indexed
/// on `user_id`; `id` the session id hashed, `user_id` the logged-in user's (for
/// [`delete_user`](SessionStore::delete_user)), `data` the [`SessionRecord`] as JSON, `expires_at`
/// Unix seconds. Expired rows are swept every 100 saves.
///
/// ```no_run
/// use cortex_auth::DatabaseSessionStore;
/// use cortex_data::{DatabaseConfig, Db};
///
/// let config = DatabaseConfig { url: "sqlite::memory:".into(), ..Default::default() };
/// let store = DatabaseSessionStore::new(Db::connect_lazy(&config)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DatabaseSessionStore {
    db: Db,
    table: OnceCell<()>,
    saves: AtomicU64,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl DatabaseSessionStore {
    /// A store on `db`.
    pub fn new(db: Db) -> Self {
        DatabaseSessionStore {
            db,
            table: OnceCell::new(),
            saves: AtomicU64::new(0),
        }
    }

    /// Creates the table and its index if they do not exist: done before the first statement,
    /// and by the [`AuthPlugin`](struct@crate::AuthPlugin) when the app starts (so that a missing
    /// database fails the start, not the first login). Call it yourself to fail early with a
    /// store you made.
    ///
    /// ```no_run
    /// # use cortex_auth::DatabaseSessionStore;
    /// # use cortex_data::{DatabaseConfig, Db};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cortex_di::BoxError> {
    /// # let config = DatabaseConfig { url: "sqlite::memory:".into(), ..Default::default() };
    /// let store = DatabaseSessionStore::new(Db::connect_lazy(&config)?);
    /// store.ensure_table().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The database's error.
    pub async fn ensure_table(&self) -> Result<(), BoxError> {
        self.ready().await
    }

    async fn ready(&self) -> Result<(), BoxError> {
        self.table
            .get_or_try_init(|| async {
                if self.is_mysql() {
                    self.execute(Sql(CREATE_TABLE_MYSQL, ""), &[]).await?;
                } else {
                    self.execute(Sql(CREATE_TABLE, CREATE_TABLE), &[]).await?;
                    self.execute(Sql(CREATE_INDEX, CREATE_INDEX), &[]).await?;
                }
                Ok::<(), BoxError>(())
            })
            .await?;
        Ok(())
    }

    /// Runs `sql` with text or integer arguments.
    async fn execute(&self, sql: Sql, args: &[Arg<'_>]) -> Result<u64, BoxError> {
        #[cfg(feature = "sqlite")]
        if let Some(pool) = self.db.sqlite() {
            let mut query = sqlx::query(sql.0);
            for arg in args {
                query = match arg {
                    Arg::Text(t) => query.bind(*t),
                    Arg::OptText(t) => query.bind(*t),
                    Arg::Int(i) => query.bind(*i),
                };
            }
            return Ok(query.execute(pool).await?.rows_affected());
        }
        #[cfg(feature = "postgres")]
        if let Some(pool) = self.db.postgres() {
            let mut query = sqlx::query(sql.1);
            for arg in args {
                query = match arg {
                    Arg::Text(t) => query.bind(*t),
                    Arg::OptText(t) => query.bind(*t),
                    Arg::Int(i) => query.bind(*i),
                };
            }
            return Ok(query.execute(pool).await?.rows_affected());
        }
        #[cfg(feature = "mysql")]
        if let Some(pool) = self.db.mysql() {
            let mut query = sqlx::query(sql.0);
            for arg in args {
                query = match arg {
                    Arg::Text(t) => query.bind(*t),
                    Arg::OptText(t) => query.bind(*t),
                    Arg::Int(i) => query.bind(*i),
                };
            }
            return Ok(query.execute(pool).await?.rows_affected());
        }
        let _ = (sql, args);
        Err("the database's backend is not compiled in".into())
    }

    async fn fetch_data(&self, key: &str, now: i64) -> Result<Option<String>, BoxError> {
        const SELECT: Sql = Sql(
            "SELECT data FROM cortex_auth_sessions WHERE id = ? AND expires_at > ?",
            "SELECT data FROM cortex_auth_sessions WHERE id = $1 AND expires_at > $2",
        );
        #[cfg(feature = "sqlite")]
        if let Some(pool) = self.db.sqlite() {
            let row = sqlx::query(SELECT.0)
                .bind(key)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            return Ok(row.map(|row| row.try_get::<String, _>(0)).transpose()?);
        }
        #[cfg(feature = "postgres")]
        if let Some(pool) = self.db.postgres() {
            let row = sqlx::query(SELECT.1)
                .bind(key)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            return Ok(row.map(|row| row.try_get::<String, _>(0)).transpose()?);
        }
        #[cfg(feature = "mysql")]
        if let Some(pool) = self.db.mysql() {
            let row = sqlx::query(SELECT.0)
                .bind(key)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            return Ok(row.map(|row| row.try_get::<String, _>(0)).transpose()?);
        }
        let _ = (key, now);
        Err("the database's backend is not compiled in".into())
    }

    fn is_mysql(&self) -> bool {
        #[cfg(feature = "mysql")]
        if self.db.mysql().is_some() {
            return true;
        }
        false
    }
}

/// A statement: `?` placeholders, and PostgreSQL's `$n` form.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
struct Sql(&'static str, &'static str);

enum Arg<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
}

impl SessionStore for DatabaseSessionStore {
    async fn load(&self, key: &str) -> Result<Option<SessionRecord>, BoxError> {
        self.ready().await?;
        match self.fetch_data(key, unix_now()).await? {
            Some(data) => Ok(Some(serde_json::from_str(&data)?)),
            None => Ok(None),
        }
    }

    async fn save(&self, key: &str, record: &SessionRecord, ttl: Duration) -> Result<(), BoxError> {
        self.ready().await?;
        let data = serde_json::to_string(record)?;
        let now = unix_now();
        let expires_at = expires_at(now, ttl);
        let user = record.user.as_ref().map(|u| u.id.as_str());
        let sql = if self.is_mysql() {
            Sql(
                "INSERT INTO cortex_auth_sessions (id, user_id, data, expires_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE user_id = VALUES(user_id), data = VALUES(data), expires_at = VALUES(expires_at)",
                "",
            )
        } else {
            Sql(
                "INSERT INTO cortex_auth_sessions (id, user_id, data, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, expires_at = excluded.expires_at",
                "INSERT INTO cortex_auth_sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, expires_at = excluded.expires_at",
            )
        };
        self.execute(
            sql,
            &[
                Arg::Text(key),
                Arg::OptText(user),
                Arg::Text(&data),
                Arg::Int(expires_at),
            ],
        )
        .await?;
        if self.saves.fetch_add(1, Ordering::Relaxed) % 100 == 99 {
            self.execute(
                Sql(
                    "DELETE FROM cortex_auth_sessions WHERE expires_at <= ?",
                    "DELETE FROM cortex_auth_sessions WHERE expires_at <= $1",
                ),
                &[Arg::Int(now)],
            )
            .await?;
        }
        Ok(())
    }

    async fn update(
        &self,
        key: &str,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<bool, BoxError> {
        self.ready().await?;
        let data = serde_json::to_string(record)?;
        let now = unix_now();
        let user = record.user.as_ref().map(|u| u.id.as_str());
        let updated = self
            .execute(
                Sql(
                    "UPDATE cortex_auth_sessions SET user_id = ?, data = ?, expires_at = ? WHERE id = ? AND expires_at > ?",
                    "UPDATE cortex_auth_sessions SET user_id = $1, data = $2, expires_at = $3 WHERE id = $4 AND expires_at > $5",
                ),
                &[
                    Arg::OptText(user),
                    Arg::Text(&data),
                    Arg::Int(expires_at(now, ttl)),
                    Arg::Text(key),
                    Arg::Int(now),
                ],
            )
            .await?;
        // MySQL counts changed rows unless the connection asks for found rows: an update that
        // changed nothing says 0 although the row is there.
        Ok(updated > 0 || (self.is_mysql() && self.fetch_data(key, now).await?.is_some()))
    }

    async fn delete(&self, key: &str) -> Result<(), BoxError> {
        self.ready().await?;
        self.execute(
            Sql(
                "DELETE FROM cortex_auth_sessions WHERE id = ?",
                "DELETE FROM cortex_auth_sessions WHERE id = $1",
            ),
            &[Arg::Text(key)],
        )
        .await?;
        Ok(())
    }

    async fn delete_user(&self, user_id: &str) -> Result<u64, BoxError> {
        self.ready().await?;
        self.execute(
            Sql(
                "DELETE FROM cortex_auth_sessions WHERE user_id = ? AND expires_at > ?",
                "DELETE FROM cortex_auth_sessions WHERE user_id = $1 AND expires_at > $2",
            ),
            &[Arg::Text(user_id), Arg::Int(unix_now())],
        )
        .await
    }
}

fn expires_at(now: i64, ttl: Duration) -> i64 {
    now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))
}
