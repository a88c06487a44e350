//! [`Tx`]: a transaction on the app's database, whichever backend it is.

use crate::db::{Db, Pool};
use crate::error::DataError;

/// One backend's transaction. Each variant exists only when its feature is compiled in.
pub(crate) enum TxInner {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(sqlx::Transaction<'static, sqlx::MySql>),
}

/// A transaction: queries made on it (`repo.on(&mut tx)`, or raw sqlx on
/// [`sqlite`](Tx::sqlite)/[`postgres`](Tx::postgres)/[`mysql`](Tx::mysql)) are committed together
/// by [`commit`](Tx::commit); dropped without a commit, it rolls back.
///
/// ```
/// use cortex_data::{Db, DatabaseConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_data::DataError> {
/// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
/// sqlx::query("CREATE TABLE t (x INTEGER)").execute(db.sqlite().unwrap()).await?;
/// let mut tx = db.begin().await?;
/// sqlx::query("INSERT INTO t VALUES (1)").execute(&mut **tx.sqlite().unwrap()).await?;
/// tx.rollback().await?;
/// let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(db.sqlite().unwrap()).await?;
/// assert_eq!(n, 0);
/// # Ok(()) }
/// ```
pub struct Tx {
    pub(crate) inner: TxInner,
}

impl Db {
    /// Begins a transaction on a connection from the pool.
    ///
    /// # Errors
    /// [`DataError::Unavailable`] when no connection can be had in time.
    pub async fn begin(&self) -> Result<Tx, DataError> {
        let inner = match self.pool() {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => TxInner::Sqlite(pool.begin().await.map_err(|e| self.error(e))?),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => {
                TxInner::Postgres(pool.begin().await.map_err(|e| self.error(e))?)
            }
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => TxInner::MySql(pool.begin().await.map_err(|e| self.error(e))?),
        };
        Ok(Tx { inner })
    }

    /// A sqlx error as a [`DataError`], an unavailable database named by this pool's (masked) URL.
    pub(crate) fn error(&self, error: sqlx::Error) -> DataError {
        match DataError::from(error) {
            DataError::Unavailable { reason, .. } => DataError::unavailable(self.url(), reason),
            other => other,
        }
    }
}

impl Tx {
    /// Commits the transaction.
    ///
    /// # Errors
    /// The database's refusal (a deferred constraint) or a lost connection.
    pub async fn commit(self) -> Result<(), DataError> {
        match self.inner {
            #[cfg(feature = "sqlite")]
            TxInner::Sqlite(tx) => tx.commit().await?,
            #[cfg(feature = "postgres")]
            TxInner::Postgres(tx) => tx.commit().await?,
            #[cfg(feature = "mysql")]
            TxInner::MySql(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Rolls the transaction back (dropping it does too, without waiting).
    ///
    /// # Errors
    /// A lost connection.
    pub async fn rollback(self) -> Result<(), DataError> {
        match self.inner {
            #[cfg(feature = "sqlite")]
            TxInner::Sqlite(tx) => tx.rollback().await?,
            #[cfg(feature = "postgres")]
            TxInner::Postgres(tx) => tx.rollback().await?,
            #[cfg(feature = "mysql")]
            TxInner::MySql(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    /// The SQLite transaction, for raw sqlx (`&mut **tx.sqlite().unwrap()` is an executor).
    #[cfg(feature = "sqlite")]
    pub fn sqlite(&mut self) -> Option<&mut sqlx::Transaction<'static, sqlx::Sqlite>> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => Some(tx),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The PostgreSQL transaction, for raw sqlx.
    #[cfg(feature = "postgres")]
    pub fn postgres(&mut self) -> Option<&mut sqlx::Transaction<'static, sqlx::Postgres>> {
        match &mut self.inner {
            TxInner::Postgres(tx) => Some(tx),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The MySQL/MariaDB transaction, for raw sqlx.
    #[cfg(feature = "mysql")]
    pub fn mysql(&mut self) -> Option<&mut sqlx::Transaction<'static, sqlx::MySql>> {
        match &mut self.inner {
            TxInner::MySql(tx) => Some(tx),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}
