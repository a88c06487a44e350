//! The test kit: an isolated database per test ([`TestDatabase`]), an app built on it
//! ([`DataTestApp`], from `TestApp::with_database`), and factories that insert models with
//! defaults ([`Factory`]).
//!
//! Each test gets a database of its own, migrated with the app's registered migrations
//! (`app_migrations!`) and dropped when the test ends — also when it panics — so tests run in
//! parallel:
//!
//! | backend | what a test gets |
//! | --- | --- |
//! | SQLite (the default) | a fresh file in a temporary folder, removed afterwards |
//! | PostgreSQL | a fresh schema (`search_path`) in the database the URL names, dropped with `CASCADE` |
//! | MySQL / MariaDB | a fresh database on the server the URL names (MySQL's DDL commits implicitly: a transaction cannot undo it) |
//!
//! The backend is SQLite unless the environment variable [`TEST_DATABASE_URL`]
//! (`CORTEX_TEST_DATABASE_URL`) names a server: `postgres://postgres@127.0.0.1:5432/test` or
//! `mysql://root@127.0.0.1:3306/test`. The same tests then run on PostgreSQL or MariaDB with no
//! change (`DATABASE_URL` is not read: a developer's own database is never touched).
//!
//! ```
//! use cortex_core::App;
//! use cortex_core::testing::{TestApp, config};
//! use cortex_data::testing::TestAppDataExt as _;
//! use cortex_data::{DataPlugin, Model};
//!
//! #[derive(Model, Debug, Clone, Default)]
//! struct Note {
//!     id: i64,
//!     body: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // In an app's tests: `TestApp::with_database(App::with_config(config(env!("CARGO_MANIFEST_DIR"))).discover())`
//! let app = TestApp::with_database(App::with_config(config(".")).plugin(DataPlugin)).await;
//! # cortex_data::sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
//! #     .execute(app.db().sqlite().unwrap()).await.unwrap();
//!
//! let notes = app.factory(|n| Note { body: format!("note {n}"), ..Default::default() });
//! let first = notes.create(|_| {}).await;
//! let second = notes.create(|note| note.body = "milk".into()).await;
//! assert_eq!(first.body, "note 1");
//! assert_eq!(second.body, "milk");
//! assert_eq!(app.repo::<Note>().count(cortex_data::Query::new()).await.unwrap(), 2);
//!
//! app.shutdown().await; // or let it drop: the database goes either way
//! # }
//! ```

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cortex_core::App;
use cortex_core::testing::TestApp;
use cortex_di::Provider;

use crate::backend::Backend;
use crate::config::{DatabaseConfig, mask_url};
use crate::db::Db;
use crate::error::DataError;
use crate::migrate::Migrations;
use crate::model::Model;
use crate::repo::Repo;

/// The environment variable that names the server the tests' databases are made on
/// (`postgres://…/db`, `mysql://…`); unset or empty, each test gets a SQLite file.
pub const TEST_DATABASE_URL: &str = "CORTEX_TEST_DATABASE_URL";

/// A name no other test (in this process or another) uses, valid unquoted on every backend and
/// under MySQL's 64 characters: `cortex_test_<pid>_<n>_<nanos>`.
fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "cortex_test_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// What to drop when the test is over.
#[derive(Debug)]
enum Cleanup {
    /// The temporary folder of the SQLite file.
    Sqlite(PathBuf),
    /// The schema, in the database `server` names.
    Postgres { server: String, schema: String },
    /// The database, on the server `server` names.
    MySql { server: String, database: String },
}

/// One test's own database: made by [`TestDatabase::new`] (or [`for_url`](Self::for_url)),
/// reached through [`db`](Self::db), and dropped when this value is dropped — at the end of the
/// test, or while it unwinds from a panic — or by [`drop_now`](Self::drop_now).
///
/// [`TestApp::with_database`](TestAppDataExt::with_database) makes one for an app and keeps it
/// for you; use it directly to test repositories without an app, or to
/// [`apply`](Self::apply) it to an `App` you build yourself:
///
/// ```
/// use cortex_data::testing::TestDatabase;
/// use cortex_data::{DataPlugin, Db};
/// use cortex_core::{App, testing::{TestApp, config}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let database = TestDatabase::new().await; // SQLite, or CORTEX_TEST_DATABASE_URL's server
/// let app = TestApp::new(database.apply(App::with_config(config(".")).plugin(DataPlugin))).await;
/// let db = app.container().get::<Db>().unwrap();
/// assert_eq!(db.url(), database.db().url());
/// # drop(app);
/// database.drop_now().await;
/// # }
/// ```
pub struct TestDatabase {
    db: Db,
    url: String,
    name: String,
    /// Taken by `drop_now`; left for `Drop` otherwise.
    cleanup: Option<Cleanup>,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("backend", &self.db.backend())
            .field("name", &self.name)
            .field("url", &self.db.url())
            .finish_non_exhaustive()
    }
}

impl TestDatabase {
    /// A fresh database on the server [`TEST_DATABASE_URL`] names, else a SQLite file; not
    /// migrated (see [`migrate`](Self::migrate)). Panics, with the fix, when the server cannot
    /// be reached: the test cannot go on ([`try_for_url`](Self::try_for_url) returns the error).
    pub async fn new() -> TestDatabase {
        let server = server_url();
        Self::for_url(server.as_deref().unwrap_or("sqlite::memory:")).await
    }

    /// A fresh database on the server `url` names (`sqlite:…` for a SQLite file, whatever its
    /// path). Panics when it cannot be made.
    pub async fn for_url(url: &str) -> TestDatabase {
        match Self::try_for_url(url, DatabaseConfig::default()).await {
            Ok(database) => database,
            Err(error) => panic!("the test database could not be made: {error}"),
        }
    }

    /// A fresh database on the server `url` names, its pool configured by `settings` (whose own
    /// `url` is replaced).
    ///
    /// # Errors
    /// [`DataError::Config`] when `url` names no database or one this build lacks;
    /// [`DataError::Unavailable`] when the server cannot be reached or refuses to make it.
    pub async fn try_for_url(
        url: &str,
        settings: DatabaseConfig,
    ) -> Result<TestDatabase, DataError> {
        let backend = crate::pool::check_url(url)?;
        let name = unique_name();
        let (test_url, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).map_err(|e| DataError::Config {
                    message: format!(
                        "cannot make the test database's folder {}: {e}; hint: check that the temporary folder (TMPDIR) is writable",
                        dir.display()
                    ),
                })?;
                let url = format!("sqlite://{}", dir.join("test.db").display());
                (url, Cleanup::Sqlite(dir))
            }
            Backend::Postgres => {
                admin(backend, url, &format!("CREATE SCHEMA {name}"), Run::Execute).await?;
                let separator = if url.contains('?') { '&' } else { '?' };
                // `application_name` lets the cleanup end the connections a panicking test left.
                let url = format!(
                    "{url}{separator}options%5Bsearch_path%5D={name}&application_name={name}"
                );
                let cleanup = Cleanup::Postgres {
                    server: url_without_query_of(&url),
                    schema: name.clone(),
                };
                (url, cleanup)
            }
            Backend::MySql => {
                admin(
                    backend,
                    url,
                    &format!("CREATE DATABASE {name}"),
                    Run::Execute,
                )
                .await?;
                let cleanup = Cleanup::MySql {
                    server: url.to_string(),
                    database: name.clone(),
                };
                (with_database_name(url, &name), cleanup)
            }
        };
        let mut settings = settings;
        settings.url = test_url.clone();
        let db = match Db::connect_lazy(&settings) {
            Ok(db) => db,
            Err(error) => {
                cleanup.run(backend).await;
                return Err(error);
            }
        };
        Ok(TestDatabase {
            db,
            url: test_url,
            name,
            cleanup: Some(cleanup),
        })
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Its URL (with the password, if the server's URL had one): for an app's
    /// `[database] url`, or a second pool.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema (PostgreSQL), database (MySQL) or folder (SQLite) name: unique per test.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A repository of `M` on this database.
    pub fn repo<M: Model>(&self) -> Repo<M> {
        Repo::new(self.db.clone())
    }

    /// Applies `migrations` (see [`Db::migrate`]).
    ///
    /// # Errors
    /// As [`Db::migrate`].
    pub async fn migrate(&self, migrations: &Migrations) -> Result<(), DataError> {
        self.db.migrate(migrations).await.map(drop)
    }

    /// Applies the migrations the binary registers (`app_migrations!`), if any.
    ///
    /// # Errors
    /// As [`Db::migrate`]; [`DataError::Migration`] when the binary registers two sets.
    pub async fn migrate_registered(&self) -> Result<(), DataError> {
        match Migrations::registered()? {
            Some((migrations, _seeds)) => self.migrate(migrations).await,
            None => Ok(()),
        }
    }

    /// `app` with this database as its [`Db`] (an override in its container: whatever its
    /// `[database] url` says, the app's repositories, units of work and readiness check use this
    /// one). Nothing is migrated here: [`migrate`](Self::migrate) first, or use
    /// [`TestApp::with_database`](TestAppDataExt::with_database).
    pub fn apply(&self, app: App) -> App {
        let db = self.db.clone();
        app.container(move |builder| {
            builder.override_provider(Provider::value(db).declared_by("the test kit"));
        })
    }

    /// Closes the pool (waiting for the connections in use) and drops the database now.
    pub async fn drop_now(mut self) {
        self.db.close().await;
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.run(self.db.backend()).await;
        }
    }

    /// Whether the schema (PostgreSQL), database (MySQL) or file (SQLite) named `name` exists on
    /// the server `url` names: for a test that checks the cleanup.
    ///
    /// # Errors
    /// [`DataError::Unavailable`] when the server cannot be reached.
    pub async fn exists(url: &str, name: &str) -> Result<bool, DataError> {
        let backend = crate::pool::check_url(url)?;
        let query = match backend {
            Backend::Sqlite => return Ok(std::env::temp_dir().join(name).exists()),
            Backend::Postgres => format!(
                "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{name}'"
            ),
            Backend::MySql => format!(
                "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{name}'"
            ),
        };
        Ok(admin(backend, url, &query, Run::Count).await? > 0)
    }
}

/// A test that panicked (or never called `drop_now`) still drops its database: on a thread of its
/// own with a runtime of its own, since the test's runtime may be the one unwinding.
impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(cleanup) = self.cleanup.take() else {
            return;
        };
        let backend = self.db.backend();
        let cleaned = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(runtime) => runtime.block_on(cleanup.run(backend)),
                Err(e) => eprintln!("cortex test kit: no runtime to drop {cleanup:?}: {e}"),
            }
        })
        .join();
        if cleaned.is_err() {
            eprintln!("cortex test kit: dropping a {backend} test database panicked");
        }
    }
}

impl Cleanup {
    /// Drops it, ending the connections still open on it first (a panicking test's pool). A
    /// failure is printed, not raised: the test's own outcome is what matters.
    async fn run(self, backend: Backend) {
        let outcome = match &self {
            Cleanup::Sqlite(dir) => std::fs::remove_dir_all(dir).map_err(|e| DataError::Config {
                message: format!("cannot remove {}: {e}", dir.display()),
            }),
            Cleanup::Postgres { server, schema } => {
                admin(
                    backend,
                    server,
                    &format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{schema}' AND pid <> pg_backend_pid()"
                    ),
                    Run::Execute,
                )
                .await
                .ok();
                admin(
                    backend,
                    server,
                    &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
                    Run::Execute,
                )
                .await
                .map(drop)
            }
            Cleanup::MySql { server, database } => {
                mysql_kill_sessions(server, database).await;
                admin(
                    backend,
                    server,
                    &format!("DROP DATABASE IF EXISTS {database}"),
                    Run::Execute,
                )
                .await
                .map(drop)
            }
        };
        if let Err(error) = outcome {
            eprintln!("cortex test kit: could not drop the {backend} test database: {error}");
        }
    }
}

/// [`TEST_DATABASE_URL`], when set and not empty.
fn server_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL)
        .ok()
        .map(|url| url.trim().to_string())
        .filter(|url| !url.is_empty())
}

/// `url` up to its query (the PostgreSQL server's URL, for the cleanup's own connection).
fn url_without_query_of(url: &str) -> String {
    url.split_once('?')
        .map_or(url, |(base, _)| base)
        .to_string()
}

/// `url` (`mysql://user@host:port/db?query`) naming the database `name` instead.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[start..].find('/').map_or(base.len(), |i| start + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// `mariadb:` URLs as the MySQL driver reads them.
#[cfg(feature = "mysql")]
fn mysql_scheme(url: &str) -> String {
    match url.get(..8) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mariadb:") => format!("mysql:{}", &url[8..]),
        _ => url.to_string(),
    }
}

#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
fn server_unreachable(url: &str, error: impl std::fmt::Display) -> DataError {
    DataError::Unavailable {
        url: mask_url(url),
        reason: format!(
            "{error}; hint: start the database server (scripts/services), or fix {TEST_DATABASE_URL}"
        ),
    }
}

/// What [`admin`] does with its statement.
#[derive(Clone, Copy, PartialEq)]
enum Run {
    /// Executes it (0 is returned).
    Execute,
    /// Returns the integer it selects.
    Count,
}

/// Runs `sql` on its own connection to the server `url` names, with a lock timeout: a lock a
/// dying session still holds makes a statement fail, not wait forever.
#[cfg_attr(
    not(all(feature = "postgres", feature = "mysql")),
    allow(unused_variables)
)]
async fn admin(backend: Backend, url: &str, sql: &str, run: Run) -> Result<i64, DataError> {
    // One connection of `$conn_type` to `$url`: the lock timeout `$timeout`, then the statement.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    macro_rules! on_own_connection {
        ($conn_type:ty, $url:expr, $timeout:literal) => {{
            use sqlx::Connection as _;
            let statement = sqlx::AssertSqlSafe(sql.to_string());
            let mut conn = <$conn_type>::connect($url)
                .await
                .map_err(|e| server_unreachable($url, e))?;
            let result = async {
                sqlx::query($timeout).execute(&mut conn).await?;
                match run {
                    Run::Count => sqlx::query_scalar(statement).fetch_one(&mut conn).await,
                    Run::Execute => sqlx::query(statement).execute(&mut conn).await.map(|_| 0),
                }
            }
            .await;
            conn.close().await.ok();
            result.map_err(|e| server_unreachable($url, e))
        }};
    }
    match backend {
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            on_own_connection!(sqlx::PgConnection, url, "SET lock_timeout = '10s'")
        }
        #[cfg(feature = "mysql")]
        Backend::MySql => on_own_connection!(
            sqlx::MySqlConnection,
            &mysql_scheme(url),
            "SET SESSION lock_wait_timeout = 10"
        ),
        _ => Err(DataError::Config {
            message: format!("{backend} has no server to make a test database on"),
        }),
    }
}

/// Ends the sessions still using `database` (a panicking test's pool), so that dropping it does
/// not wait on their metadata locks.
#[cfg_attr(not(feature = "mysql"), allow(unused_variables))]
async fn mysql_kill_sessions(server: &str, database: &str) {
    #[cfg(feature = "mysql")]
    {
        use sqlx::Connection as _;
        let Ok(mut conn) = sqlx::MySqlConnection::connect(&mysql_scheme(server)).await else {
            return;
        };
        let ids: Vec<i64> = match sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = '{database}' AND ID <> CONNECTION_ID()"
        )))
        .fetch_all(&mut conn)
        .await
        {
            Ok(ids) => ids,
            Err(e) => {
                eprintln!("cortex test kit: cannot list the sessions on {database}: {e}");
                Vec::new()
            }
        };
        for id in ids {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("KILL {id}")))
                .execute(&mut conn)
                .await;
        }
        conn.close().await.ok();
    }
}

/// An app under test on a database of its own: a [`TestApp`] (it derefs to one: `app.get(…)`)
/// and the [`TestDatabase`] it runs on, dropped after the app. Made by
/// [`TestApp::with_database`](TestAppDataExt::with_database).
pub struct DataTestApp {
    // Dropped in this order: the app (and its pool handles), then the database.
    app: TestApp,
    database: TestDatabase,
}

impl std::fmt::Debug for DataTestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataTestApp")
            .field("app", &self.app)
            .field("database", &self.database)
            .finish()
    }
}

impl std::ops::Deref for DataTestApp {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl DataTestApp {
    /// The test database.
    pub fn database(&self) -> &TestDatabase {
        &self.database
    }

    /// The app's [`Db`] (the test database's).
    pub fn db(&self) -> &Db {
        self.database.db()
    }

    /// Stops the app ([`TestApp::shutdown`]), then drops its database.
    pub async fn shutdown(self) {
        let DataTestApp { app, database } = self;
        app.shutdown().await;
        database.drop_now().await;
    }
}

/// The test kit on [`TestApp`]: `use cortex_data::testing::TestAppDataExt as _;` (or
/// `cortex::data::testing::TestAppDataExt`) in an app's tests.
pub trait TestAppDataExt {
    /// Builds `app` (as [`TestApp::new`]) on a fresh [`TestDatabase`] — SQLite, or the server
    /// [`TEST_DATABASE_URL`] names — migrated with the migrations the binary registers
    /// (`app_migrations!`), its pool sized by the app's own `[database]` settings. The database
    /// is dropped with the returned app. Panics, naming the cause, when the database cannot be
    /// made or migrated or the app does not build.
    #[track_caller]
    fn with_database(app: App) -> impl Future<Output = DataTestApp> {
        let server = server_url().unwrap_or_else(|| "sqlite::memory:".to_string());
        Self::with_database_on(server, app)
    }

    /// [`with_database`](Self::with_database) on the server `server_url` names (`sqlite:…`
    /// for a SQLite file), whatever [`TEST_DATABASE_URL`] says: for a test of one backend.
    fn with_database_on(
        server_url: impl Into<String>,
        app: App,
    ) -> impl Future<Output = DataTestApp>;

    /// The app's [`Db`], from its container. Panics when the app has none (no `DataPlugin`).
    fn db(&self) -> Db;

    /// The app's repository of `M`, over its [`Db`].
    fn repo<M: Model>(&self) -> Repo<M> {
        Repo::new(self.db())
    }

    /// A [`Factory`] of `M` over the app's [`Db`]: `defaults(n)` makes the `n`th model (from 1).
    fn factory<M: Model>(&self, defaults: impl Fn(u64) -> M + Send + Sync + 'static) -> Factory<M> {
        Factory::new(&self.db(), defaults)
    }
}

impl TestAppDataExt for TestApp {
    #[track_caller]
    fn with_database_on(
        server_url: impl Into<String>,
        app: App,
    ) -> impl Future<Output = DataTestApp> {
        let caller = std::panic::Location::caller();
        let url = server_url.into();
        async move {
            let settings = match DatabaseConfig::from_config_with(app.config(), None) {
                Ok(settings) => settings,
                Err(error) => panic!("TestApp::with_database at {caller}: {error}"),
            };
            let database = match TestDatabase::try_for_url(&url, settings).await {
                Ok(database) => database,
                Err(error) => panic!(
                    "TestApp::with_database at {caller}: the test database could not be made: {error}"
                ),
            };
            if let Err(error) = database.migrate_registered().await {
                panic!(
                    "TestApp::with_database at {caller}: migrating the test database ({}) failed: {error}",
                    database.db().url()
                );
            }
            let app = TestApp::new(database.apply(app)).await;
            DataTestApp { app, database }
        }
    }

    fn db(&self) -> Db {
        match self.container().get::<Db>() {
            Ok(db) => (*db).clone(),
            Err(error) => panic!(
                "the app has no database: {error}; hint: add the DataPlugin (`.plugin(DataPlugin)`, or the `cortex` feature `data` with `discover()`)"
            ),
        }
    }
}

/// Makes models for tests: each from `defaults(n)` — `n` the factory's sequence, 1, 2, 3… (for
/// unique fields) — changed by the test's overrides, then inserted ([`create`](Self::create)) or
/// not ([`build`](Self::build)). Clones share the sequence.
///
/// ```
/// use cortex_data::testing::{Factory, TestDatabase};
/// use cortex_data::{Model, Query};
///
/// #[derive(Model, Debug, Clone, Default)]
/// struct Post { id: i64, slug: String, title: String, published: bool }
///
/// #[derive(Model, Debug, Clone, Default)]
/// struct Comment { id: i64, post_id: i64, body: String }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let database = TestDatabase::new().await;
/// # for ddl in ["CREATE TABLE posts (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, title TEXT NOT NULL, published BOOLEAN NOT NULL)",
/// #            "CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL, body TEXT NOT NULL)"] {
/// #     cortex_data::sqlx::query(ddl).execute(database.db().sqlite().unwrap()).await.unwrap();
/// # }
/// let posts = Factory::new(database.db(), |n| Post {
///     slug: format!("post-{n}"),              // unique: the sequence
///     title: "A post".into(),
///     ..Default::default()
/// });
/// let comments = Factory::new(database.db(), |n| Comment { body: format!("comment {n}"), ..Default::default() });
///
/// let draft = posts.create(|_| {}).await;
/// let live = posts.create(|p| p.published = true).await;
/// assert_eq!((draft.slug.as_str(), live.slug.as_str()), ("post-1", "post-2"));
///
/// let thread = comments.create_many(3, |c, _| c.post_id = live.id).await;
/// assert_eq!(thread.len(), 3);
/// assert_eq!(database.repo::<Comment>().count(Comment::POST_ID.eq(live.id)).await.unwrap(), 3);
///
/// let unsaved = posts.build(|p| p.title = "not inserted".into());
/// assert_eq!(unsaved.id, 0);
/// # database.drop_now().await;
/// # }
/// ```
pub struct Factory<M> {
    repo: Repo<M>,
    defaults: Arc<dyn Fn(u64) -> M + Send + Sync>,
    sequence: Arc<AtomicU64>,
}

impl<M> Clone for Factory<M> {
    fn clone(&self) -> Self {
        Factory {
            repo: self.repo.clone(),
            defaults: self.defaults.clone(),
            sequence: self.sequence.clone(),
        }
    }
}

impl<M: Model> std::fmt::Debug for Factory<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factory")
            .field("model", &M::META.name)
            .field("sequence", &self.sequence.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<M: Model> Factory<M> {
    /// A factory of `M` inserting through `db`; `defaults(n)` makes the `n`th model.
    pub fn new(db: &Db, defaults: impl Fn(u64) -> M + Send + Sync + 'static) -> Self {
        Factory {
            repo: Repo::new(db.clone()),
            defaults: Arc::new(defaults),
            sequence: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The next sequence number (1 the first time).
    pub fn next_sequence(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The next model, with `overrides` applied, not inserted.
    pub fn build(&self, overrides: impl FnOnce(&mut M)) -> M {
        let mut model = (self.defaults)(self.next_sequence());
        overrides(&mut model);
        model
    }

    /// The next model, with `overrides` applied, inserted: returned as stored (its key,
    /// timestamps and version filled in). Panics with the model's name and the error (a unique
    /// or foreign-key violation) when the insert fails; [`try_create`](Self::try_create)
    /// returns it.
    pub async fn create(&self, overrides: impl FnOnce(&mut M)) -> M {
        match self.try_create(overrides).await {
            Ok(model) => model,
            Err(error) => panic!(
                "Factory<{}>::create: the insert failed: {error}",
                M::META.name
            ),
        }
    }

    /// [`create`](Self::create), returning the error.
    ///
    /// # Errors
    /// As [`Repo::insert`].
    pub async fn try_create(&self, overrides: impl FnOnce(&mut M)) -> Result<M, DataError> {
        let model = self.build(overrides);
        self.repo.insert(&model).await
    }

    /// `count` models, each changed by `overrides(model, i)` (`i` from 0), inserted in one
    /// transaction ([`Repo::insert_many`]). Panics as [`create`](Self::create) does.
    pub async fn create_many(&self, count: usize, overrides: impl Fn(&mut M, usize)) -> Vec<M> {
        let models: Vec<M> = (0..count)
            .map(|i| self.build(|model| overrides(model, i)))
            .collect();
        match self.repo.insert_many(&models).await {
            Ok(models) => models,
            Err(error) => panic!(
                "Factory<{}>::create_many: the insert failed: {error}",
                M::META.name
            ),
        }
    }

    /// The repository the factory inserts through.
    pub fn repo(&self) -> &Repo<M> {
        &self.repo
    }
}
