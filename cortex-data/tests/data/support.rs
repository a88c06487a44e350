//! What every test of the data layer uses: an isolated database per test on each backend
//! ([`TestDb`]), a way to run one test body on all three ([`on_all`]), raw statements that run on
//! any backend ([`exec`], [`scalar`]), and a TCP proxy that can cut the database off
//! ([`Proxy`]).
//!
//! The databases are the real servers on 127.0.0.1 (see COMMON.md / `scripts/services`):
//! PostgreSQL 5432 as `postgres` on the database `test`, MariaDB 3306 as `root` without a
//! password. Each test gets its own schema (PostgreSQL), database (MariaDB, whose DDL commits
//! implicitly) or file (SQLite), dropped afterwards, so tests run in parallel. A server that is
//! not reachable fails the test with the fix; it is never skipped.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

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

/// A name no other test (in this process or another) uses: `t_<pid>_<n>_<nanos>`.
pub(crate) fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn unreachable_server(backend: Backend, url: &str, error: impl std::fmt::Display) -> ! {
    panic!(
        "the {backend} test server at {url} is not reachable: {error}\n\
         hint: run `scripts/services` (it starts PostgreSQL on 5432 and MariaDB on 3306 and creates the database `test`)"
    )
}

fn not_compiled(backend: Backend) -> ! {
    panic!(
        "cortex-data was built without the `{}` feature, which this test needs; hint: run `cargo test -p cortex-data --all-features` (as scripts/test does)",
        backend.feature()
    )
}

/// What to drop when the test is over.
enum Cleanup {
    /// The temporary directory of the SQLite file (removed when dropped).
    Sqlite(tempfile::TempDir),
    Postgres {
        schema: String,
    },
    MySql {
        database: String,
    },
}

/// One test's own database on `backend`, and its [`Db`].
pub(crate) struct TestDb {
    pub(crate) db: Db,
    /// The URL the `Db` was opened with (for an app's `[database] url`).
    pub(crate) url: String,
    pub(crate) backend: Backend,
    /// Taken by `drop_db`; left there by a test that panicked, for `Drop`.
    cleanup: Option<Cleanup>,
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
        if !backend.is_compiled() {
            not_compiled(backend);
        }
        let name = unique_name();
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory for SQLite");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                (url, Cleanup::Sqlite(dir))
            }
            Backend::Postgres => {
                admin(backend, &format!("CREATE SCHEMA {name}")).await;
                let url = format!("{POSTGRES_URL}?options%5Bsearch_path%5D={name}");
                (url, Cleanup::Postgres { schema: name })
            }
            Backend::MySql => {
                admin(backend, &format!("CREATE DATABASE {name}")).await;
                let url = format!("mysql://root@127.0.0.1:3306/{name}");
                (url, Cleanup::MySql { database: name })
            }
        };
        let mut config = DatabaseConfig {
            max_connections: 5,
            acquire_timeout: Duration::from_secs(5),
            ..DatabaseConfig::default()
        };
        configure(&mut config);
        config.url = url.clone();
        let db = Db::connect_lazy(&config).expect("the test database's URL is valid");
        TestDb {
            db,
            url,
            backend,
            cleanup: Some(cleanup),
        }
    }

    /// Closes the pool and drops the schema or database.
    pub(crate) async fn drop_db(mut self) {
        self.db.close().await;
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.run(self.backend).await;
        }
    }
}

impl Cleanup {
    async fn run(self, backend: Backend) {
        match self {
            Cleanup::Sqlite(dir) => drop(dir),
            Cleanup::Postgres { schema } => {
                admin(backend, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
            }
            Cleanup::MySql { database } => {
                admin(backend, &format!("DROP DATABASE IF EXISTS {database}")).await;
            }
        }
    }
}

/// A test that panicked before `drop_db` still drops its schema or database: on a thread of its
/// own, with a runtime of its own (the test's may be the one unwinding).
impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(cleanup) = self.cleanup.take() else {
            return;
        };
        let backend = self.backend;
        let cleaned = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the cleanup")
                .block_on(cleanup.run(backend));
        })
        .join();
        if cleaned.is_err() {
            eprintln!("could not drop a {backend} test database");
        }
    }
}

/// Runs `sql` on the server's `test` database as the administrator (PostgreSQL, MariaDB).
async fn admin(backend: Backend, sql: &str) {
    use sqlx::Connection as _;
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match backend {
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(POSTGRES_URL)
                .await
                .unwrap_or_else(|e| unreachable_server(backend, POSTGRES_URL, e));
            sqlx::query(sql).execute(&mut conn).await.unwrap();
            conn.close().await.ok();
        }
        #[cfg(feature = "mysql")]
        Backend::MySql => {
            let mut conn = sqlx::MySqlConnection::connect(MARIADB_URL)
                .await
                .unwrap_or_else(|e| unreachable_server(backend, MARIADB_URL, e));
            sqlx::query(sql).execute(&mut conn).await.unwrap();
            conn.close().await.ok();
        }
        other => not_compiled(other),
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
