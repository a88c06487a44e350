//! [`Db`]: the app's connection pool, whichever database it is.

use std::fmt;
use std::sync::Arc;

use crate::backend::Backend;
use crate::config::{DatabaseConfig, mask_url};
use crate::error::DataError;

/// The pool of one backend. Each variant exists only when its feature is compiled in.
#[derive(Clone)]
pub(crate) enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

/// The app's database: a cheap, shared handle to its connection pool (clones share the pool).
///
/// Made without connecting ([`Db::connect_lazy`]), so that inspection (`cortex routes`,
/// `cortex graph`) works with the database down; the [`DataPlugin`](crate::DataPlugin) pings it
/// at start. Each backend's own sqlx pool stays reachable ([`sqlite`](Db::sqlite),
/// [`postgres`](Db::postgres), [`mysql`](Db::mysql)) for raw `sqlx::query`.
///
/// ```
/// use cortex_data::{Backend, Db, DatabaseConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_data::DataError> {
/// let config = DatabaseConfig { url: "sqlite::memory:".into(), ..DatabaseConfig::default() };
/// let db = Db::connect_lazy(&config)?;
/// assert_eq!(db.backend(), Backend::Sqlite);
/// db.ping().await?;
/// let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(db.sqlite().unwrap()).await?;
/// assert_eq!(one, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    backend: Backend,
    /// The URL with its password masked.
    url: String,
    config: DatabaseConfig,
    metrics: crate::metrics::Metrics,
    /// The app's shutdown signal, when the [`DataPlugin`](crate::DataPlugin) made the pool: its
    /// start spawns the task that sets the pool gauges, stopped by the signal.
    pub(crate) shutdown: std::sync::OnceLock<cortex_core::ShutdownSignal>,
}

impl Db {
    /// A pool for `config.url`, opened on first use: nothing connects here.
    ///
    /// # Errors
    /// [`DataError::Config`] when the URL's scheme names no database, names one this build was
    /// compiled without (the message names the feature to turn on), or cannot be parsed.
    pub fn connect_lazy(config: &DatabaseConfig) -> Result<Db, DataError> {
        let url = mask_url(&config.url);
        let backend = crate::pool::check_url(&config.url)?;
        let pool = crate::pool::open_lazy(backend, config, &url)?;
        Ok(Db {
            inner: Arc::new(Inner {
                pool,
                backend,
                url,
                config: config.clone(),
                metrics: crate::metrics::Metrics::default(),
                shutdown: std::sync::OnceLock::new(),
            }),
        })
    }

    /// The database behind the pool.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The URL, its password masked: safe to log.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The `[database]` settings the pool was made with.
    pub fn config(&self) -> &DatabaseConfig {
        &self.inner.config
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    pub(crate) fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// Hands the app's shutdown signal to the pool: its start spawns the pool-gauge task on it.
    pub(crate) fn set_shutdown(&self, signal: cortex_core::ShutdownSignal) {
        let _ = self.inner.shutdown.set(signal);
    }

    /// The app's shutdown signal, when the plugin made the pool.
    pub(crate) fn shutdown_signal(&self) -> Option<&cortex_core::ShutdownSignal> {
        self.inner.shutdown.get()
    }

    /// The SQLite pool, when this is a SQLite database.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(&self) -> Option<&sqlx::SqlitePool> {
        match &self.inner.pool {
            Pool::Sqlite(pool) => Some(pool),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The PostgreSQL pool, when this is a PostgreSQL database.
    #[cfg(feature = "postgres")]
    pub fn postgres(&self) -> Option<&sqlx::PgPool> {
        match &self.inner.pool {
            Pool::Postgres(pool) => Some(pool),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The MySQL/MariaDB pool, when this is a MySQL or MariaDB database.
    #[cfg(feature = "mysql")]
    pub fn mysql(&self) -> Option<&sqlx::MySqlPool> {
        match &self.inner.pool {
            Pool::MySql(pool) => Some(pool),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// Opens a connection (or takes an idle one) and runs `SELECT 1`, within
    /// `[database] connect_timeout`.
    ///
    /// # Errors
    /// [`DataError::Unavailable`] naming the (masked) URL when the database cannot be reached in
    /// time.
    pub async fn ping(&self) -> Result<(), DataError> {
        let timeout = self.inner.config.connect_timeout;
        let ping = async {
            match &self.inner.pool {
                #[cfg(feature = "sqlite")]
                Pool::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
                #[cfg(feature = "postgres")]
                Pool::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
                #[cfg(feature = "mysql")]
                Pool::MySql(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            }
        };
        match tokio::time::timeout(timeout, ping).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(DataError::unavailable(self.url(), error)),
            Err(_) => Err(DataError::unavailable(
                self.url(),
                format!("no answer within {timeout:?} (`[database] connect_timeout`)"),
            )),
        }
    }

    /// `SELECT 1` on a connection of the pool.
    pub(crate) async fn select_one(&self) -> Result<(), DataError> {
        let result = match &self.inner.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
        };
        result.map_err(|e| self.error(e))
    }

    /// Opens one connection outside the pool, runs `SELECT 1` and closes it, within
    /// `[database] connect_timeout`: unlike the pool, which retries a refused connection until
    /// its timeout and then reports only the timeout, this says why the database cannot be
    /// reached (connection refused, authentication failed, unknown database).
    pub(crate) async fn connect_once(&self) -> Result<(), DataError> {
        use sqlx::{ConnectOptions as _, Connection as _};
        let timeout = self.inner.config.connect_timeout;
        let attempt = async {
            match &self.inner.pool {
                #[cfg(feature = "sqlite")]
                Pool::Sqlite(pool) => {
                    let mut conn = pool.connect_options().connect().await?;
                    sqlx::query("SELECT 1").execute(&mut conn).await?;
                    conn.close().await
                }
                #[cfg(feature = "postgres")]
                Pool::Postgres(pool) => {
                    let mut conn = pool.connect_options().connect().await?;
                    sqlx::query("SELECT 1").execute(&mut conn).await?;
                    conn.close().await
                }
                #[cfg(feature = "mysql")]
                Pool::MySql(pool) => {
                    let mut conn = pool.connect_options().connect().await?;
                    sqlx::query("SELECT 1").execute(&mut conn).await?;
                    conn.close().await
                }
            }
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(DataError::unavailable(self.url(), error)),
            Err(_) => Err(DataError::unavailable(
                self.url(),
                format!("no answer within {timeout:?} (`[database] connect_timeout`)"),
            )),
        }
    }

    /// Closes the pool: waits for connections in use to come back, closes them all; queries
    /// made afterwards fail with [`DataError::Unavailable`].
    pub async fn close(&self) {
        match &self.inner.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => pool.close().await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => pool.close().await,
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => pool.close().await,
        }
    }

    /// Whether [`close`](Self::close) has been called.
    pub fn is_closed(&self) -> bool {
        match &self.inner.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => pool.is_closed(),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => pool.is_closed(),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => pool.is_closed(),
        }
    }
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.inner.backend)
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}
