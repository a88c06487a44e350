//! [`DatabaseRefreshStore`]: refresh tokens in the app's database, table
//! `cortex_auth_refresh_tokens`.

use cortex_data::sqlx::{self, AssertSqlSafe};
use cortex_data::{Backend, Db};
use cortex_di::BoxError;
use tokio::sync::OnceCell;

use super::store::{RefreshRecord, RefreshStore, RotateOutcome, UserSnapshot};

/// The table.
pub(crate) const TABLE: &str = "cortex_auth_refresh_tokens";

const CREATE_SQLITE: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS cortex_auth_refresh_tokens (
        token_hash VARCHAR(64) NOT NULL PRIMARY KEY,
        family VARCHAR(64) NOT NULL,
        user_id VARCHAR(255) NOT NULL,
        snapshot TEXT NOT NULL,
        state VARCHAR(16) NOT NULL,
        issued_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        family_expires_at BIGINT NOT NULL,
        used_at BIGINT NULL)",
    "CREATE INDEX IF NOT EXISTS cortex_auth_refresh_tokens_family ON cortex_auth_refresh_tokens (family)",
    "CREATE INDEX IF NOT EXISTS cortex_auth_refresh_tokens_user ON cortex_auth_refresh_tokens (user_id)",
    "CREATE INDEX IF NOT EXISTS cortex_auth_refresh_tokens_expires ON cortex_auth_refresh_tokens (expires_at)",
];

const CREATE_MYSQL: &[&str] = &["CREATE TABLE IF NOT EXISTS cortex_auth_refresh_tokens (
        token_hash VARCHAR(64) NOT NULL PRIMARY KEY,
        family VARCHAR(64) NOT NULL,
        user_id VARCHAR(255) NOT NULL,
        snapshot TEXT NOT NULL,
        state VARCHAR(16) NOT NULL,
        issued_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        family_expires_at BIGINT NOT NULL,
        used_at BIGINT NULL,
        INDEX cortex_auth_refresh_tokens_family (family),
        INDEX cortex_auth_refresh_tokens_user (user_id),
        INDEX cortex_auth_refresh_tokens_expires (expires_at))"];

const COLUMNS: &str = "token_hash, family, user_id, snapshot, state, issued_at, expires_at, family_expires_at, used_at";

/// Runs `$body` with `$pool` bound to the backend's own sqlx pool (the same code, typed per
/// backend).
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db.backend() {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let $pool = $db.sqlite().ok_or("the SQLite pool is missing")?;
                $body
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let $pool = $db.postgres().ok_or("the PostgreSQL pool is missing")?;
                $body
            }
            #[cfg(feature = "mysql")]
            Backend::MySql => {
                let $pool = $db.mysql().ok_or("the MySQL pool is missing")?;
                $body
            }
            #[allow(unreachable_patterns)]
            other => {
                return Err(format!(
                    "cortex-auth was built without the `{}` feature",
                    other.feature()
                )
                .into())
            }
        }
    };
}

/// Refresh tokens in the app's database (`cortex-data`'s [`Db`]: SQLite, PostgreSQL, MySQL or
/// MariaDB), one row per token in the table `cortex_auth_refresh_tokens`, which the store creates
/// if it does not exist (`CREATE TABLE IF NOT EXISTS`, with indexes on the family, the user and
/// the expiry) before its first statement — and the [`AuthPlugin`](struct@crate::AuthPlugin) when
/// the app starts, so that a missing database fails the start: no migration to add to the app.
///
/// A rotation is one transaction whose first statement is a conditional `UPDATE … WHERE
/// state = 'active'`: of two concurrent rotations, the database lets one update the row; the
/// other finds it used, a reuse. Expired rows are deleted with each rotation of their family, and
/// all of them by [`RefreshTokens::prune`](crate::RefreshTokens::prune) (the task
/// `auth:refresh:prune`).
///
/// ```
/// use cortex_auth::{DatabaseRefreshStore, RefreshConfig, RefreshTokens};
/// use cortex_data::{DatabaseConfig, Db};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), ..Default::default() })?;
/// let tokens = RefreshTokens::new(RefreshConfig::default(), DatabaseRefreshStore::new(db));
/// # let _ = tokens; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DatabaseRefreshStore {
    db: Db,
    ready: std::sync::Arc<OnceCell<()>>,
}

impl DatabaseRefreshStore {
    /// The store on `db` (nothing runs until its first use).
    pub fn new(db: Db) -> Self {
        DatabaseRefreshStore {
            db,
            ready: std::sync::Arc::default(),
        }
    }

    /// The table's name.
    ///
    /// ```
    /// assert_eq!(cortex_auth::DatabaseRefreshStore::TABLE, "cortex_auth_refresh_tokens");
    /// ```
    pub const TABLE: &'static str = TABLE;

    /// Creates the table and its indexes if they do not exist (done before the first statement;
    /// call it at start to fail early).
    ///
    /// # Errors
    /// The database's error.
    pub async fn ensure_table(&self) -> Result<(), BoxError> {
        self.ready
            .get_or_try_init(|| async {
                let statements = match self.db.backend() {
                    Backend::MySql => CREATE_MYSQL,
                    _ => CREATE_SQLITE,
                };
                for statement in statements {
                    on_pool!(self.db, |pool| {
                        sqlx::query(*statement).execute(pool).await?;
                    });
                }
                Ok::<(), BoxError>(())
            })
            .await?;
        Ok(())
    }

    /// `?` placeholders, as PostgreSQL writes them.
    fn sql(&self, sql: &str) -> String {
        if self.db.backend() != Backend::Postgres {
            return sql.to_string();
        }
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// A row, as read.
struct Stored {
    record: RefreshRecord,
    state: String,
}

fn decode<R>(row: &R) -> Result<Stored, BoxError>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let snapshot: String = row.try_get("snapshot")?;
    let (roles, permissions): (Vec<String>, Vec<String>) = serde_json::from_str(&snapshot)?;
    Ok(Stored {
        record: RefreshRecord {
            hash: row.try_get("token_hash")?,
            family: row.try_get("family")?,
            user: UserSnapshot {
                id: row.try_get("user_id")?,
                roles,
                permissions,
            },
            issued_at: row.try_get("issued_at")?,
            expires_at: row.try_get("expires_at")?,
            family_expires_at: row.try_get("family_expires_at")?,
        },
        state: row.try_get("state")?,
    })
}

impl RefreshStore for DatabaseRefreshStore {
    async fn insert(&self, record: RefreshRecord) -> Result<(), BoxError> {
        self.ensure_table().await?;
        let sql = self.sql(&format!(
            "INSERT INTO {TABLE} ({COLUMNS}) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, NULL)"
        ));
        let snapshot = serde_json::to_string(&(&record.user.roles, &record.user.permissions))?;
        on_pool!(self.db, |pool| {
            sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(&record.hash)
                .bind(&record.family)
                .bind(&record.user.id)
                .bind(&snapshot)
                .bind(record.issued_at)
                .bind(record.expires_at)
                .bind(record.family_expires_at)
                .execute(pool)
                .await?;
        });
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
        self.ensure_table().await?;
        // Within the grace, a used token may be rotated again: `used_at > now - grace`. With no
        // grace the bound is above any time, so only an active token is.
        let grace_bound = if grace > 0 {
            now.saturating_sub(grace)
        } else {
            i64::MAX
        };
        let claim = self.sql(&format!(
            "UPDATE {TABLE} SET state = 'used', used_at = COALESCE(used_at, ?) \
             WHERE token_hash = ? AND expires_at > ? AND family_expires_at > ? \
             AND (state = 'active' OR (state = 'used' AND used_at > ?))"
        ));
        let select = self.sql(&format!(
            "SELECT {COLUMNS} FROM {TABLE} WHERE token_hash = ?"
        ));
        let insert = self.sql(&format!(
            "INSERT INTO {TABLE} ({COLUMNS}) \
             SELECT ?, family, user_id, snapshot, 'active', ?, \
             CASE WHEN family_expires_at < ? THEN family_expires_at ELSE ? END, \
             family_expires_at, NULL FROM {TABLE} WHERE token_hash = ?"
        ));
        let cleanup = self.sql(&format!(
            "DELETE FROM {TABLE} WHERE family = ? AND expires_at <= ?"
        ));
        let revoke = self.sql(&format!(
            "UPDATE {TABLE} SET state = 'revoked' WHERE family = ?"
        ));
        let stored = on_pool!(self.db, |pool| {
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query(AssertSqlSafe(claim.as_str()))
                .bind(now)
                .bind(hash)
                .bind(now)
                .bind(now)
                .bind(grace_bound)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let row = sqlx::query(AssertSqlSafe(select.as_str()))
                .bind(hash)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                return Ok(RotateOutcome::Unknown);
            };
            let stored = decode(&row)?;
            if claimed == 1 {
                sqlx::query(AssertSqlSafe(insert.as_str()))
                    .bind(next_hash)
                    .bind(now)
                    .bind(next_expires_at)
                    .bind(next_expires_at)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(AssertSqlSafe(cleanup.as_str()))
                    .bind(&stored.record.family)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                return Ok(RotateOutcome::Rotated(stored.record));
            }
            tx.commit().await?;
            stored
        });
        if stored.state == "revoked" {
            return Ok(RotateOutcome::Revoked);
        }
        if stored.record.expires_at <= now || stored.record.family_expires_at <= now {
            return Ok(RotateOutcome::Expired);
        }
        // Used, beyond the grace: a reuse.
        on_pool!(self.db, |pool| {
            sqlx::query(AssertSqlSafe(revoke.as_str()))
                .bind(&stored.record.family)
                .execute(pool)
                .await?;
        });
        Ok(RotateOutcome::Reused {
            family: stored.record.family,
            user_id: stored.record.user.id,
        })
    }

    async fn family_of(&self, hash: &str) -> Result<Option<String>, BoxError> {
        self.ensure_table().await?;
        let sql = self.sql(&format!("SELECT family FROM {TABLE} WHERE token_hash = ?"));
        let family = on_pool!(self.db, |pool| {
            sqlx::query_scalar::<_, String>(AssertSqlSafe(sql.as_str()))
                .bind(hash)
                .fetch_optional(pool)
                .await?
        });
        Ok(family)
    }

    async fn revoke_family(&self, family: &str) -> Result<u64, BoxError> {
        self.ensure_table().await?;
        let sql = self.sql(&format!(
            "UPDATE {TABLE} SET state = 'revoked' WHERE family = ? AND state <> 'revoked'"
        ));
        let count = on_pool!(self.db, |pool| {
            sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(family)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(count)
    }

    async fn revoke_user(&self, user_id: &str) -> Result<u64, BoxError> {
        self.ensure_table().await?;
        let sql = self.sql(&format!(
            "UPDATE {TABLE} SET state = 'revoked' WHERE user_id = ? AND state <> 'revoked'"
        ));
        let count = on_pool!(self.db, |pool| {
            sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(user_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(count)
    }

    async fn prune(&self, now: i64) -> Result<u64, BoxError> {
        self.ensure_table().await?;
        let sql = self.sql(&format!("DELETE FROM {TABLE} WHERE expires_at <= ?"));
        let count = on_pool!(self.db, |pool| {
            sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(count)
    }
}
