//! The runtime: `DataPlugin` in an app (configuration, inspection, start, readiness, shutdown),
//! transactions, the request's unit of work, errors as HTTP answers, pool exhaustion, a database
//! going down and coming back, statistics and the slow-statement log.

use std::io::Write as _;
use std::time::Duration;

use cortex_core::App;
use cortex_core::axum::response::IntoResponse as _;
use cortex_core::config::Config;
use cortex_core::health::{HealthCheck, HealthStatus};
use cortex_core::http::HttpError;
use cortex_core::routing::Route;
use cortex_core::testing::{CapturedLogs, TestApp};
use cortex_data::{Backend, DataError, DataPlugin, DatabaseConfig, Db, UnitOfWork};
use cortex_di::{Dependency, Inject};
use futures_util::FutureExt as _;
use http_body_util::BodyExt as _;

use crate::support::{
    POSTGRES_URL, Proxy, TestDb, count, eventually, exec, exec_tx, on_all, on_all_with, scalar,
};

/// A URL nothing listens on, with a password that must never be printed.
const CLOSED_PORT_URL: &str = "postgres://app:s3cret-pw@127.0.0.1:1/app";

fn app_on(url: &str, extra: &str) -> App {
    let config = Config::from_toml(&format!("[database]\nurl = '{url}'\n{extra}"))
        .expect("the test configuration parses");
    App::with_config(config).plugin(DataPlugin)
}

/// The status, headers and problem+json body `error` answers with.
async fn answer(error: impl Into<HttpError>) -> (u16, http::HeaderMap, serde_json::Value) {
    let response = error.into().into_response();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

// ---------------------------------------------------------------------------------------------
// The plugin

#[tokio::test]
async fn a_bad_database_section_fails_the_start_naming_the_key() {
    for (extra, url, key) in [
        ("nope = 1", "sqlite::memory:", "database.nope"),
        (
            "acquire_timeout = 'soon'",
            "sqlite::memory:",
            "database.acquire_timeout",
        ),
        ("", "oracle://db/app", "database.url"),
        ("", "postgres://app:pw@[::1/app", "database.url"),
    ] {
        let error = TestApp::try_new(app_on(url, extra)).await.unwrap_err();
        let message = error.to_string();
        assert!(message.contains("plugin `data`"), "{message}");
        assert!(message.contains(key), "{key} not named in: {message}");
        assert!(!message.contains(":pw@"), "the password leaked: {message}");
    }
}

#[tokio::test]
async fn the_database_url_precedence_is_files_then_database_url_then_cortex_env() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cortex.toml"),
        "[database]\nurl = 'sqlite://files.db'\nmax_connections = 3",
    )
    .unwrap();
    let load = |vars: &[(&str, &str)]| {
        Config::builder()
            .dir(dir.path())
            .env_vars(vars.iter().copied())
            .load()
            .unwrap()
    };
    let files = load(&[]);
    let read = |config: &Config, var| DatabaseConfig::from_config_with(config, var).unwrap();
    assert_eq!(read(&files, None).url, "sqlite://files.db");
    assert_eq!(read(&files, Some("  ")).url, "sqlite://files.db");
    let from_var = read(&files, Some("postgres://db/app"));
    assert_eq!(from_var.url, "postgres://db/app");
    assert_eq!(
        from_var.max_connections, 3,
        "the other keys stay the files'"
    );
    let cortex_env = load(&[("CORTEX_DATABASE__URL", "mysql://db/app")]);
    assert_eq!(
        read(&cortex_env, Some("postgres://db/app")).url,
        "mysql://db/app"
    );
    // Without a [database] section, the default.
    let empty = Config::from_toml("").unwrap();
    assert_eq!(read(&empty, None), DatabaseConfig::default());
}

#[tokio::test]
async fn inspection_works_with_the_database_down() {
    let app = app_on(CLOSED_PORT_URL, "");
    let graph = cortex_core::inspect::inspect_app(app, "graph")
        .await
        .expect("inspection does not connect");
    assert!(graph.contains("cortex_data::db::Db"), "{graph}");
    assert!(graph.contains("UnitOfWork"), "{graph}");
    let plugins = cortex_core::inspect::inspect_app(app_on(CLOSED_PORT_URL, ""), "plugins")
        .await
        .unwrap();
    assert!(plugins.contains("\"data\""), "{plugins}");
    assert!(plugins.contains("database"), "{plugins}");
}

#[tokio::test]
async fn the_discover_feature_makes_the_plugin_discoverable() {
    let config = Config::from_toml("[database]\nurl = 'sqlite::memory:'").unwrap();
    let plugins =
        cortex_core::inspect::inspect_app(App::with_config(config).discover_plugins(), "plugins")
            .await
            .unwrap();
    let plugins: serde_json::Value = serde_json::from_str(&plugins).unwrap();
    let data = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "data")
        .unwrap_or_else(|| panic!("the data plugin is not discovered: {plugins}"));
    assert_eq!(data["config_section"], "database", "{data}");
    assert_eq!(data["origin"], "discovered", "{data}");
}

#[tokio::test]
async fn a_database_down_at_start_stops_the_start_naming_the_masked_url() {
    let started = std::time::Instant::now();
    let error = TestApp::try_new(app_on(CLOSED_PORT_URL, "connect_timeout = '3s'"))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("postgres://app:***@127.0.0.1:1/app"),
        "the URL is not named: {message}"
    );
    assert!(
        !message.contains("s3cret-pw"),
        "the password leaked: {message}"
    );
    assert!(
        message.contains("refused"),
        "the cause is not said: {message}"
    );
    assert!(message.contains("hint:"), "{message}");
    // Refused at once, not after the pool's retries.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // What `main` returns (`fn main() -> cortex::Result`: a non-zero exit), before binding.
    let run = app_on(CLOSED_PORT_URL, "").run().await.unwrap_err();
    assert!(run.to_string().contains("127.0.0.1:1"), "{run}");
}

#[tokio::test]
async fn the_app_binds_db_checks_readiness_and_closes_the_pool_on_shutdown() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let app = TestApp::new(app_on(&test_db.url, "")).await;
    let db = app.container().get::<Db>().unwrap();
    assert_eq!(db.backend(), Backend::Sqlite);
    let ready = app.get("/health/ready").await;
    ready.assert_status(200);
    let report: serde_json::Value = ready.json();
    assert_eq!(report["checks"][0]["name"], "database", "{report}");
    assert_eq!(report["checks"][0]["status"], "up", "{report}");
    assert!(!db.is_closed());
    app.shutdown().await;
    assert!(db.is_closed(), "the pool is closed on shutdown");
    let after = scalar(&db, "SELECT 1").await.unwrap_err();
    assert!(matches!(after, DataError::Unavailable { .. }), "{after:?}");
    test_db.drop_db().await;
}

#[tokio::test]
async fn the_readiness_check_is_down_when_the_database_does_not_answer() {
    let db = Db::connect_lazy(&DatabaseConfig {
        url: CLOSED_PORT_URL.into(),
        acquire_timeout: Duration::from_millis(300),
        ..DatabaseConfig::default()
    })
    .unwrap();
    let status = db.check().await;
    assert!(
        matches!(status, HealthStatus::Unhealthy { .. }),
        "{status:?}"
    );
    let reason = status.reason().unwrap();
    assert!(!reason.contains("s3cret"), "{reason}");
    assert_eq!(<Db as HealthCheck>::NAME, "database");
}

// ---------------------------------------------------------------------------------------------
// Transactions

const NOTES: &str = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(100) NOT NULL)";

#[derive(Debug)]
enum NoteError {
    Data(DataError),
    Refused,
}

impl From<DataError> for NoteError {
    fn from(error: DataError) -> Self {
        NoteError::Data(error)
    }
}

#[tokio::test]
async fn a_transaction_commits_on_ok_and_rolls_back_on_err_and_on_panic() {
    on_all(async |db: Db| {
        exec(&db, NOTES).await.unwrap();

        let value = db
            .transaction(async |tx| {
                exec_tx(tx, "INSERT INTO notes VALUES (1, 'kept')").await?;
                exec_tx(tx, "INSERT INTO notes VALUES (2, 'kept too')").await?;
                Ok::<_, DataError>(7)
            })
            .await
            .unwrap();
        assert_eq!(value, 7);
        assert_eq!(count(&db, "notes").await, 2);

        let refused = db
            .transaction(async |tx| {
                exec_tx(tx, "INSERT INTO notes VALUES (3, 'lost')").await?;
                Err::<(), _>(NoteError::Refused)
            })
            .await;
        assert!(matches!(refused, Err(NoteError::Refused)), "{refused:?}");
        assert_eq!(count(&db, "notes").await, 2, "rolled back on Err");

        // A database error inside converts into the closure's error type with `?`.
        let duplicate = db
            .transaction(async |tx| {
                exec_tx(tx, "INSERT INTO notes VALUES (4, 'lost')").await?;
                exec_tx(tx, "INSERT INTO notes VALUES (1, 'duplicate')").await?;
                Ok::<_, NoteError>(())
            })
            .await;
        assert!(
            matches!(duplicate, Err(NoteError::Data(DataError::Conflict { .. }))),
            "{duplicate:?}"
        );
        assert_eq!(count(&db, "notes").await, 2);

        // Spawned: the transaction's future is Send (a handler can await it).
        let panicking = db.clone();
        let joined = tokio::spawn(async move {
            panicking
                .transaction(async |tx| {
                    exec_tx(tx, "INSERT INTO notes VALUES (5, 'lost')")
                        .await
                        .unwrap();
                    panic!("the work panicked after writing");
                    #[allow(unreachable_code)]
                    Ok::<_, DataError>(())
                })
                .await
        })
        .await;
        let panic = joined.unwrap_err();
        assert!(panic.is_panic(), "the panic goes on after the rollback");
        assert_eq!(count(&db, "notes").await, 2, "rolled back on panic");
        eventually(
            "the connection goes back to the pool",
            Duration::from_secs(5),
            || async { db.stats().in_use == 0 },
        )
        .await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The request's unit of work

async fn write_and_succeed(uow: Inject<UnitOfWork>) -> Result<&'static str, HttpError> {
    let mut tx = uow.tx().await?;
    exec_tx(&mut tx, "INSERT INTO notes VALUES (1, 'committed')").await?;
    exec_tx(&mut tx, "INSERT INTO notes VALUES (2, 'committed too')").await?;
    Ok("written")
}

async fn write_and_fail(uow: Inject<UnitOfWork>) -> Result<&'static str, HttpError> {
    let mut tx = uow.tx().await?;
    exec_tx(&mut tx, "INSERT INTO notes VALUES (3, 'rolled back')").await?;
    Err(HttpError::internal("the handler failed after writing"))
}

async fn write_and_reject(uow: Inject<UnitOfWork>) -> Result<&'static str, HttpError> {
    let mut tx = uow.tx().await?;
    exec_tx(&mut tx, "INSERT INTO notes VALUES (4, 'rolled back')").await?;
    Err(HttpError::unprocessable("the input was wrong after all"))
}

async fn read_only(uow: Inject<UnitOfWork>) -> String {
    format!("open: {}", uow.is_open().await)
}

#[tokio::test]
async fn the_unit_of_work_commits_when_the_handler_succeeds_and_rolls_back_otherwise() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    exec(&test_db.db, NOTES).await.unwrap();
    let uow = || Dependency::on::<UnitOfWork>();
    let app = TestApp::new(app_on(&test_db.url, "").routes([
        Route::post("/ok", "ok", write_and_succeed).with_dependency(uow()),
        Route::post("/fail", "fail", write_and_fail).with_dependency(uow()),
        Route::post("/reject", "reject", write_and_reject).with_dependency(uow()),
        Route::get("/read", "read", read_only).with_dependency(uow()),
    ]))
    .await;

    app.post("/fail").await.assert_status(500);
    assert_eq!(count(&test_db.db, "notes").await, 0, "a 500 rolls back");
    app.post("/reject").await.assert_problem(422);
    assert_eq!(count(&test_db.db, "notes").await, 0, "a 422 rolls back");
    app.post("/ok").await.assert_status(200);
    assert_eq!(count(&test_db.db, "notes").await, 2, "a 200 commits");
    app.get("/read").await.assert_text("open: false");

    let db = app.container().get::<Db>().unwrap();
    eventually(
        "every request gives its connection back",
        Duration::from_secs(5),
        || async { db.stats().in_use == 0 },
    )
    .await;
    app.shutdown().await;
    test_db.drop_db().await;
}

#[tokio::test]
async fn the_unit_of_work_commits_early_and_refuses_to_begin_again() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    exec(&test_db.db, NOTES).await.unwrap();
    let uow = UnitOfWork::new(test_db.db.clone());
    assert!(!uow.is_open().await);
    exec_tx(
        &mut uow.tx().await.unwrap(),
        "INSERT INTO notes VALUES (1, 'a')",
    )
    .await
    .unwrap();
    assert!(uow.is_open().await);
    uow.commit().await.unwrap();
    assert_eq!(count(&test_db.db, "notes").await, 1);
    let again = uow.tx().await.unwrap_err();
    assert!(again.to_string().contains("already committed"), "{again}");
    test_db.drop_db().await;
}

// ---------------------------------------------------------------------------------------------
// Errors

const POSTS: &str = "CREATE TABLE posts (id INTEGER PRIMARY KEY, slug VARCHAR(100) NOT NULL UNIQUE, \
     title VARCHAR(100) NOT NULL, score INTEGER NOT NULL CHECK (score >= 0))";
const COMMENTS: &str = "CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL, \
     body VARCHAR(100), FOREIGN KEY (post_id) REFERENCES posts (id))";

#[tokio::test]
async fn constraint_violations_answer_409_and_422_naming_the_field_never_the_sql() {
    on_all(async |db: Db| {
        exec(&db, POSTS).await.unwrap();
        exec(&db, COMMENTS).await.unwrap();
        exec(&db, "INSERT INTO posts VALUES (1, 'hello', 'Hello', 1)")
            .await
            .unwrap();
        let backend = db.backend();

        let unique = exec(&db, "INSERT INTO posts VALUES (2, 'hello', 'Again', 1)")
            .await
            .unwrap_err();
        assert!(matches!(unique, DataError::Conflict { .. }), "{unique:?}");
        let (status, _, body) = answer(unique).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["field"], "slug", "{backend}: {body}");
        assert_eq!(body["detail"], "a row with this slug exists already");

        let foreign = exec(&db, "INSERT INTO comments VALUES (1, 99, 'orphan')")
            .await
            .unwrap_err();
        let (status, _, body) = answer(foreign).await;
        assert_eq!(status, 422, "{body}");
        match backend {
            // SQLite's message names no column.
            Backend::Sqlite => assert!(body.get("field").is_none(), "{body}"),
            Backend::Postgres | Backend::MySql => assert_eq!(body["field"], "post_id", "{body}"),
        }

        let not_null = exec(
            &db,
            "INSERT INTO posts (id, slug, score) VALUES (3, 'x', 1)",
        )
        .await
        .unwrap_err();
        let (status, _, body) = answer(not_null).await;
        assert_eq!(status, 422, "{backend}: {body}");
        assert_eq!(body["field"], "title", "{backend}: {body}");

        let check = exec(&db, "INSERT INTO posts VALUES (4, 'negative', 'N', -5)")
            .await
            .unwrap_err();
        assert!(matches!(check, DataError::Constraint { .. }), "{check:?}");
        let (status, _, body) = answer(check).await;
        assert_eq!(status, 422, "{body}");
        let expected = match backend {
            Backend::Sqlite => "score >= 0",
            Backend::Postgres => "posts_score_check",
            Backend::MySql => "score",
        };
        assert_eq!(body["field"], expected, "{backend}: {body}");

        // A syntax error is a 500 whose body says nothing of the SQL.
        let syntax = exec(&db, "SELEC secret_column FROM posts")
            .await
            .unwrap_err();
        assert!(matches!(syntax, DataError::Sqlx(_)), "{syntax:?}");
        let (status, _, body) = answer(syntax).await;
        assert_eq!(status, 500);
        let text = body.to_string();
        for leaked in ["SELEC", "secret_column", "hello", "negative", "INSERT"] {
            assert!(
                !text.contains(leaked),
                "{backend}: `{leaked}` leaked: {text}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn an_exhausted_pool_times_out_with_503_instead_of_hanging() {
    on_all_with(
        |config| {
            config.max_connections = 1;
            config.acquire_timeout = Duration::from_millis(300);
        },
        async |db: Db| {
            let held = db.begin().await.unwrap();
            let stats = db.stats();
            assert_eq!((stats.size, stats.in_use, stats.idle), (1, 1, 0));
            let started = std::time::Instant::now();
            let waited = tokio::time::timeout(Duration::from_secs(10), scalar(&db, "SELECT 1"))
                .await
                .expect("the query gives up within acquire_timeout instead of hanging")
                .unwrap_err();
            assert!(started.elapsed() >= Duration::from_millis(250));
            match &waited {
                DataError::Unavailable { url, reason } => {
                    assert_eq!(url, db.url(), "the pool's URL is named");
                    assert!(reason.contains("acquire_timeout"), "{reason}");
                }
                other => panic!("expected Unavailable, got {other:?}"),
            }
            let (status, headers, body) = answer(waited).await;
            assert_eq!(status, 503, "{body}");
            assert_eq!(headers["retry-after"], "5");
            held.rollback().await.unwrap();
            assert_eq!(scalar(&db, "SELECT 1").await.unwrap(), 1);
        },
    )
    .await;
}

#[tokio::test]
async fn a_closed_pool_answers_503() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    test_db.db.close().await;
    let error = test_db.db.begin().await.unwrap_err();
    assert!(error.to_string().contains("closed"), "{error}");
    let (status, headers, _) = answer(error).await;
    assert_eq!(status, 503);
    assert!(headers.contains_key("retry-after"));
    test_db.drop_db().await;
}

/// `GET /one`: `SELECT 1` on the app's database.
async fn select_one(db: Inject<Db>) -> Result<String, HttpError> {
    Ok(scalar(&db, "SELECT 1").await?.to_string())
}

#[tokio::test]
async fn a_database_going_down_mid_run_answers_503_then_recovers() {
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let url = POSTGRES_URL.replace("127.0.0.1:5432", &proxy.addr().to_string());
    let app = TestApp::new(
        app_on(&url, "max_connections = 2\nacquire_timeout = '1s'")
            .route(Route::get("/one", "one", select_one).with_dependency(Dependency::on::<Db>())),
    )
    .await;
    let db = app.container().get::<Db>().unwrap();
    app.get("/one").await.assert_status(200).assert_text("1");
    app.get("/health/ready").await.assert_status(200);

    proxy.cut();
    let started = std::time::Instant::now();
    let down = app.get("/one").await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a query on a lost database fails instead of hanging"
    );
    let problem = down.assert_problem(503);
    assert_eq!(down.header("retry-after"), Some("5"));
    assert!(
        !problem.to_string().contains("postgres://"),
        "the URL is logged, not answered: {problem}"
    );
    let error = scalar(&db, "SELECT 1").await.unwrap_err();
    assert!(
        matches!(&error, DataError::Unavailable { url, .. } if url == db.url()),
        "{error:?}"
    );
    let ready = app.get("/health/ready").await;
    ready.assert_status(503);
    let report: serde_json::Value = ready.json();
    assert_eq!(report["checks"][0]["status"], "down", "{report}");

    proxy.restore();
    eventually("queries work again", Duration::from_secs(10), || async {
        app.get("/one").await.status() == 200
    })
    .await;
    app.get("/health/ready").await.assert_status(200);
    app.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Statistics and the slow-statement log

#[tokio::test]
async fn stats_count_connections_in_use_and_idle() {
    on_all(async |db: Db| {
        assert_eq!(db.stats().max_connections, 5);
        let tx = db.begin().await.unwrap();
        let busy = db.stats();
        assert_eq!(busy.in_use, 1, "{busy:?}");
        tx.rollback().await.unwrap();
        eventually(
            "the connection is idle again",
            Duration::from_secs(5),
            || async {
                let stats = db.stats();
                stats.in_use == 0 && stats.idle == stats.size && stats.size >= 1
            },
        )
        .await;
    })
    .await;
}

/// On PostgreSQL and MariaDB: sqlx runs SQLite's statements on a worker thread, which logs to the
/// global subscriber (the app's), not to this test's thread-local one.
#[test]
fn a_statement_slower_than_slow_query_is_logged_with_its_duration() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let captured = CapturedLogs::new();
    let dispatch = cortex_core::logging::subscriber(captured.clone());
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::callsite::rebuild_interest_cache();
        runtime.block_on(async {
            for (backend, sleep) in [
                (Backend::Postgres, "SELECT pg_sleep(0.05)"),
                (Backend::MySql, "SELECT SLEEP(0.05)"),
            ] {
                for (threshold, logged) in
                    [(Duration::from_millis(10), true), (Duration::ZERO, false)]
                {
                    let test_db = TestDb::with(backend, |c| c.slow_query = threshold).await;
                    captured.clear();
                    exec(&test_db.db, sleep).await.unwrap();
                    let text = captured.text();
                    assert_eq!(
                        text.contains("slow statement"),
                        logged,
                        "{backend}, slow_query = {threshold:?}: {text}"
                    );
                    if logged {
                        assert!(text.contains("elapsed"), "{text}");
                        assert!(
                            text.to_lowercase().contains("sleep(0.05)"),
                            "the statement is logged: {text}"
                        );
                    }
                    test_db.drop_db().await;
                }
            }
        });
    });
    std::io::stderr().flush().ok();
}

#[tokio::test]
async fn the_transaction_closure_catches_a_panic_without_poisoning_the_pool() {
    let test_db = TestDb::with(Backend::Sqlite, |c| c.max_connections = 1).await;
    let db = test_db.db.clone();
    exec(&db, NOTES).await.unwrap();
    let result = std::panic::AssertUnwindSafe(db.transaction(async |tx| {
        exec_tx(tx, "INSERT INTO notes VALUES (1, 'lost')").await?;
        if tx.sqlite().is_some() {
            panic!("boom");
        }
        Ok::<_, DataError>(())
    }))
    .catch_unwind()
    .await;
    assert!(result.is_err());
    // With one connection, a transaction left open would make this wait and time out.
    assert_eq!(count(&db, "notes").await, 0);
    test_db.drop_db().await;
}
