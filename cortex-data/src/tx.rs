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
/// assert_eq!(format!("{tx:?}"), "Tx { .. }");
/// sqlx::query("INSERT INTO t VALUES (1)").execute(&mut **tx.sqlite().unwrap()).await?;
/// tx.rollback().await?;
/// let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(db.sqlite().unwrap()).await?;
/// assert_eq!(n, 0);
/// # Ok(()) }
/// ```
pub struct Tx {
    pub(crate) inner: TxInner,
    /// The database it was begun on: statements run in it are counted in its stats.
    pub(crate) db: Db,
}

impl Db {
    /// Runs `work` in a transaction: commits when it returns `Ok`, rolls back when it returns
    /// `Err` or panics (the panic then goes on, after the rollback). `work` is an async closure
    /// that borrows the transaction; its error type is any error a [`DataError`] converts into
    /// (`DataError` itself, `HttpError`, an app's own error).
    ///
    /// ```
    /// use cortex_data::{DataError, DatabaseConfig, Db};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), DataError> {
    /// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
    /// sqlx::query("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0))")
    ///     .execute(db.sqlite().unwrap()).await?;
    /// sqlx::query("INSERT INTO accounts VALUES (1, 100), (2, 0)").execute(db.sqlite().unwrap()).await?;
    ///
    /// // Both updates, or neither.
    /// let moved = db.transaction(async |tx| {
    ///     let conn = &mut **tx.sqlite().unwrap();
    ///     sqlx::query("UPDATE accounts SET balance = balance + 150 WHERE id = 2").execute(&mut *conn).await?;
    ///     sqlx::query("UPDATE accounts SET balance = balance - 150 WHERE id = 1").execute(&mut *conn).await?;
    ///     Ok::<_, DataError>(150)
    /// }).await;
    /// assert!(matches!(moved, Err(DataError::Constraint { .. }))); // the balance check
    /// let second: i64 = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = 2")
    ///     .fetch_one(db.sqlite().unwrap()).await?;
    /// assert_eq!(second, 0); // rolled back
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `work`'s error (after the rollback), or a [`DataError`] converted into `E` when the
    /// transaction cannot begin or commit. A rollback that fails (the connection was lost, and
    /// the database rolls the transaction back itself) is logged, and `work`'s error returned.
    pub async fn transaction<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: AsyncFnOnce(&mut Tx) -> Result<T, E>,
        E: From<DataError>,
    {
        use futures_util::FutureExt as _;
        let mut tx = self.begin().await?;
        let outcome = std::panic::AssertUnwindSafe(work(&mut tx))
            .catch_unwind()
            .await;
        match outcome {
            Ok(Ok(value)) => {
                tx.commit().await.map_err(|e| self.named(e))?;
                Ok(value)
            }
            Ok(Err(error)) => {
                self.rollback_quietly(tx).await;
                Err(error)
            }
            Err(panic) => {
                self.rollback_quietly(tx).await;
                std::panic::resume_unwind(panic)
            }
        }
    }

    /// Rolls `tx` back, logging a failure (the connection is then dropped, which rolls back too).
    async fn rollback_quietly(&self, tx: Tx) {
        if let Err(error) = tx.rollback().await {
            tracing::warn!(target: "cortex::data", url = self.url(), error = %error, "rolling a transaction back failed");
        }
    }

    /// `error` with an unavailable database named by this pool's URL.
    pub(crate) fn named(&self, error: DataError) -> DataError {
        match error {
            DataError::Unavailable { reason, .. } => DataError::unavailable(self.url(), reason),
            other => other,
        }
    }

    /// Begins a transaction on a connection from the pool.
    ///
    /// # Errors
    /// [`DataError::Unavailable`] when no connection can be had in time.
    pub async fn begin(&self) -> Result<Tx, DataError> {
        // Counted as waiting for a connection (`db_client_connection_pending_requests`) until the
        // database has answered `BEGIN` too: sqlx begins on a pooled connection in one call.
        let inner = match self.pool() {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => TxInner::Sqlite(
                self.waiting(pool.begin())
                    .await
                    .map_err(|e| self.error(e))?,
            ),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => TxInner::Postgres(
                self.waiting(pool.begin())
                    .await
                    .map_err(|e| self.error(e))?,
            ),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => TxInner::MySql(
                self.waiting(pool.begin())
                    .await
                    .map_err(|e| self.error(e))?,
            ),
        };
        Ok(Tx {
            inner,
            db: self.clone(),
        })
    }

    /// A sqlx error as a [`DataError`], classified (a unique violation is a
    /// [`Conflict`](DataError::Conflict) naming the column, …) and an unavailable database named
    /// by this pool's masked URL: what raw queries on the escape hatches
    /// ([`sqlite`](Db::sqlite), [`postgres`](Db::postgres), [`mysql`](Db::mysql)) map their
    /// errors with. (`?` converts a `sqlx::Error` too, without the URL.)
    ///
    /// ```
    /// use cortex_data::{DataError, DatabaseConfig, Db};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), ..Default::default() }).unwrap();
    /// db.close().await;
    /// let error = sqlx::query("SELECT 1").execute(db.sqlite().unwrap()).await.map_err(|e| db.error(e)).unwrap_err();
    /// assert!(matches!(error, DataError::Unavailable { ref url, .. } if url == "sqlite::memory:"));
    /// # }
    /// ```
    pub fn error(&self, error: sqlx::Error) -> DataError {
        self.named(DataError::from(error))
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
