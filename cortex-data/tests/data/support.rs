//! What every test of the data layer uses: an isolated database per test on each backend
//! ([`TestDb`]), a way to run one test body on all three ([`on_all`]), raw statements that run on
//! any backend ([`exec`], [`scalar`]), and a TCP proxy that can cut the database off
//! ([`Proxy`]).
//!
//! The databases are the real servers on 127.0.0.1 (see COMMON.md / `scripts/services`):
//! PostgreSQL 5432 as `postgres` on the database `test`, MariaDB 3306 as `root` without a
//! password. Each test gets its own schema (PostgreSQL), database (MariaDB, whose DDL commits
//! implicitly) or file (SQLite), dropped afterwards, so tests run in parallel: the test kit's
//! `TestDatabase` (`cortex_data::testing`) makes them. A server that is
//! not reachable fails the test with the fix; it is never skipped.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cortex_data::testing::TestDatabase;
use cortex_data::{Backend, DataError, DatabaseConfig, Db, Tx};
use futures_util::FutureExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// PostgreSQL, as the tests reach it (trust auth).
pub(crate) const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// MariaDB, as the tests reach it (root, no password).
pub(crate) const MARIADB_URL: &str = "mysql://root@127.0.0.1:3306/test";
/// The backends every test runs on.
pub(crate) const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

/// The server URL the test kit makes `backend`'s test databases from.
pub(crate) fn server_url(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite::memory:",
        Backend::Postgres => POSTGRES_URL,
        Backend::MySql => MARIADB_URL,
    }
}

/// One test's own database on `backend` (the test kit's [`TestDatabase`]: a SQLite file, a
/// PostgreSQL schema, a MariaDB database), and its [`Db`]. Dropped by [`drop_db`](Self::drop_db),
/// or when it is dropped (a test that panicked).
pub(crate) struct TestDb {
    pub(crate) db: Db,
    /// The URL the `Db` was opened with (for an app's `[database] url`).
    pub(crate) url: String,
    pub(crate) backend: Backend,
    database: TestDatabase,
}

impl TestDb {
    /// A fresh database on `backend`, with the default pool settings.
    pub(crate) async fn new(backend: Backend) -> TestDb {
        Self::with(backend, |_| {}).await
    }

    /// A fresh database on `backend`, the pool configured by `configure` (the URL is set after).
    pub(crate) async fn with(
        backend: Backend,
        configure: impl FnOnce(&mut DatabaseConfig),
    ) -> TestDb {
        let mut config = DatabaseConfig {
            max_connections: 5,
            acquire_timeout: Duration::from_secs(5),
            ..DatabaseConfig::default()
        };
        configure(&mut config);
        let database = TestDatabase::try_for_url(server_url(backend), config)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no {backend} test database: {e}\n\
                     hint: run `scripts/services` (it starts PostgreSQL on 5432 and MariaDB on 3306 and creates the database `test`)"
                )
            });
        TestDb {
            db: database.db().clone(),
            url: database.url().to_string(),
            backend,
            database,
        }
    }

    /// The schema, database or folder name.
    pub(crate) fn name(&self) -> &str {
        self.database.name()
    }

    /// Closes the pool and drops the schema or database.
    pub(crate) async fn drop_db(self) {
        self.database.drop_now().await;
    }
}

/// Runs `body` once per backend, each time on a fresh database that is dropped afterwards (also
/// when the body panics: the panic then goes on, the backend named first).
pub(crate) async fn on_all<F, Fut>(body: F)
where
    F: Fn(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    on_all_with(|_| {}, body).await;
}

/// [`on_all`], the pools configured by `configure`.
pub(crate) async fn on_all_with<C, F, Fut>(configure: C, body: F)
where
    C: Fn(&mut DatabaseConfig),
    F: Fn(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in ALL {
        let test_db = TestDb::with(backend, &configure).await;
        let outcome = std::panic::AssertUnwindSafe(body(test_db.db.clone()))
            .catch_unwind()
            .await;
        test_db.drop_db().await;
        if let Err(panic) = outcome {
            eprintln!("the test failed on {backend}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// Runs a statement (no parameters) on the pool, whichever backend it is; errors mapped by
/// [`Db::error`].
pub(crate) async fn exec(db: &Db, sql: &str) -> Result<u64, DataError> {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    let affected = match db.backend() {
        Backend::Sqlite => sqlx::query(sql)
            .execute(db.sqlite().unwrap())
            .await
            .map(|r| r.rows_affected()),
        Backend::Postgres => sqlx::query(sql)
            .execute(db.postgres().unwrap())
            .await
            .map(|r| r.rows_affected()),
        Backend::MySql => sqlx::query(sql)
            .execute(db.mysql().unwrap())
            .await
            .map(|r| r.rows_affected()),
    };
    affected.map_err(|e| db.error(e))
}

/// Runs a statement (no parameters) in the transaction.
pub(crate) async fn exec_tx(tx: &mut Tx, sql: &str) -> Result<u64, DataError> {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    if let Some(tx) = tx.sqlite() {
        return Ok(sqlx::query(sql).execute(&mut **tx).await?.rows_affected());
    }
    if let Some(tx) = tx.postgres() {
        return Ok(sqlx::query(sql).execute(&mut **tx).await?.rows_affected());
    }
    let tx = tx.mysql().expect("a transaction of a compiled-in backend");
    Ok(sqlx::query(sql).execute(&mut **tx).await?.rows_affected())
}

/// The single integer `sql` selects (any integer type), on the pool; errors mapped by
/// [`Db::error`].
pub(crate) async fn scalar(db: &Db, sql: &str) -> Result<i64, DataError> {
    use sqlx::Row as _;
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    let value = match db.backend() {
        Backend::Sqlite => sqlx::query(sql)
            .fetch_one(db.sqlite().unwrap())
            .await
            .and_then(|row| row.try_get::<i64, _>(0)),
        Backend::Postgres => sqlx::query(sql)
            .fetch_one(db.postgres().unwrap())
            .await
            .and_then(|row| {
                row.try_get::<i64, _>(0)
                    .or_else(|_| row.try_get::<i32, _>(0).map(i64::from))
            }),
        Backend::MySql => sqlx::query(sql)
            .fetch_one(db.mysql().unwrap())
            .await
            .and_then(|row| row.try_get::<i64, _>(0)),
    };
    value.map_err(|e| db.error(e))
}

/// The rows in `table`.
pub(crate) async fn count(db: &Db, table: &str) -> i64 {
    scalar(db, &format!("SELECT COUNT(*) FROM {table}"))
        .await
        .unwrap_or_else(|e| panic!("counting the rows of {table}: {e}"))
}

/// A TCP proxy on 127.0.0.1 in front of `target`, that a test can [`cut`](Proxy::cut) (every
/// open connection is closed, new ones are closed as they arrive) and
/// [`restore`](Proxy::restore): a database going down and coming back, without stopping the
/// shared server.
pub(crate) struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    /// Bumped by `cut`: the forwarding tasks of older connections end when they see it.
    generation: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts forwarding to `target`.
    pub(crate) async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0_u64);
        let task = {
            let up = up.clone();
            let generation = generation.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    if !up.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let mut cut = generation.subscribe();
                    tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect(target).await else {
                            return;
                        };
                        let (mut client, mut server) = (client, server);
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = cut.changed() => {}
                        }
                    });
                }
            })
        };
        Proxy {
            addr,
            up,
            generation,
            task,
        }
    }

    /// The proxy's address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every open connection and refuses (closes) new ones.
    pub(crate) fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Forwards new connections again.
    pub(crate) fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

/// Polls `condition` every 50 ms until it holds, failing with `what` after `timeout`.
pub(crate) async fn eventually<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: still not true after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
