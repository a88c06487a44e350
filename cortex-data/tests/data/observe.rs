//! What the data layer records: the `db_client_*` metrics (read back through a local
//! `DebuggingRecorder`) and the `db.query` span of each statement (through a capturing layer).

use std::collections::BTreeMap;
use std::time::Duration;

use cortex_core::App;
use cortex_core::config::Config;
use cortex_core::testing::{CapturedSpans, TestApp};
use cortex_data::{Backend, DataError, DataPlugin, Db, Model, Repo};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

use crate::support::{TestDb, eventually, exec};

#[derive(Model, Debug, Clone, Default, PartialEq)]
struct Note {
    id: i64,
    title: String,
}

/// The backends the metrics are checked on.
const BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

fn ddl(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL UNIQUE)"
        }
        Backend::Postgres => {
            "CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, title TEXT NOT NULL UNIQUE)"
        }
        Backend::MySql => {
            "CREATE TABLE notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(100) NOT NULL UNIQUE)"
        }
    }
}

fn note(title: &str) -> Note {
    Note {
        title: title.into(),
        ..Note::default()
    }
}

/// A metric as the snapshot has it: its name and its labels, sorted.
type Series = (String, Vec<(String, String)>);

/// Everything recorded so far, by name and labels (the histograms' samples, the gauges' and
/// counters' values).
fn snapshot(snapshotter: &Snapshotter) -> BTreeMap<Series, DebugValue> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (_, key) = key.into_parts();
            let mut labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_string(), l.value().to_string()))
                .collect();
            labels.sort();
            ((key.name().to_string(), labels), value)
        })
        .collect()
}

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.sort();
    (name.to_string(), labels)
}

fn operation(statement: &str, outcome: &str) -> Series {
    series(
        "db_client_operation_duration_seconds",
        &[
            ("pool", "default"),
            ("statement", statement),
            ("outcome", outcome),
        ],
    )
}

fn gauge(
    values: &BTreeMap<Series, DebugValue>,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    match values.get(&series(name, labels)) {
        Some(DebugValue::Gauge(value)) => Some(value.into_inner()),
        _ => None,
    }
}

/// How many samples a histogram has (none when it was never recorded).
fn samples(values: &BTreeMap<Series, DebugValue>, series: &Series) -> usize {
    match values.get(series) {
        Some(DebugValue::Histogram(samples)) => samples.len(),
        _ => 0,
    }
}

#[tokio::test]
async fn each_statement_is_timed_by_table_operation_and_outcome_never_by_sql() {
    for backend in BACKENDS {
        // A fresh recorder per backend: the snapshot drains the histograms.
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _local = metrics::set_default_local_recorder(&recorder);
        let t = TestDb::new(backend).await;
        exec(&t.db, ddl(backend)).await.unwrap();
        let notes = Repo::<Note>::new(t.db.clone());

        let first = notes.insert(&note("one")).await.unwrap();
        notes.insert(&note("two")).await.unwrap();
        assert!(notes.find(first.id).await.unwrap().is_some());
        let duplicate = notes.insert(&note("one")).await.unwrap_err();
        assert!(
            matches!(duplicate, DataError::Conflict { .. }),
            "{duplicate:?}"
        );

        let values = snapshot(&snapshotter);
        // MySQL reads an inserted row back with a second statement (no `RETURNING`).
        let per_insert = if backend == Backend::MySql { 2 } else { 1 };
        assert_eq!(
            samples(&values, &operation("notes.insert", "ok")),
            2 * per_insert,
            "{backend}: {values:?}"
        );
        assert_eq!(
            samples(&values, &operation("notes.insert", "error")),
            1,
            "{backend}"
        );
        assert_eq!(
            samples(&values, &operation("notes.find", "ok")),
            1,
            "{backend}"
        );
        if let Some(DebugValue::Histogram(seconds)) = values.get(&operation("notes.find", "ok")) {
            assert!(
                seconds
                    .iter()
                    .all(|s| s.into_inner() > 0.0 && s.into_inner() < 10.0),
                "{backend}: durations in seconds: {seconds:?}"
            );
        }
        // Only the repository's statements: the raw DDL has no name, and no label holds SQL.
        let statements: Vec<&str> = values
            .keys()
            .filter(|(name, _)| name == "db_client_operation_duration_seconds")
            .flat_map(|(_, labels)| labels.iter())
            .filter(|(k, _)| k == "statement")
            .map(|(_, v)| v.as_str())
            .collect();
        assert!(
            statements
                .iter()
                .all(|s| ["notes.insert", "notes.find"].contains(s)),
            "{backend}: {statements:?}"
        );
        // `Db::stats` counts the same statements by model.
        let stats = t.db.stats();
        assert_eq!(
            stats.queries,
            2 * per_insert as u64 + 2,
            "{backend}: {stats:?}"
        );
        t.drop_db().await;
    }
}

#[tokio::test]
async fn the_pool_gauges_count_idle_used_max_and_waiting_tasks() {
    for backend in BACKENDS {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _local = metrics::set_default_local_recorder(&recorder);
        let t = TestDb::with(backend, |c| {
            c.max_connections = 1;
            c.acquire_timeout = Duration::from_secs(10);
        })
        .await;
        exec(&t.db, ddl(backend)).await.unwrap();
        let pool = [("pool", "default")];
        let idle = [("pool", "default"), ("state", "idle")];
        let used = [("pool", "default"), ("state", "used")];

        // The one connection is taken by a transaction: a repository call waits for it.
        let tx = t.db.begin().await.unwrap();
        t.db.record_pool_metrics();
        let values = snapshot(&snapshotter);
        assert_eq!(
            gauge(&values, "db_client_connection_count", &used),
            Some(1.0),
            "{backend}: {values:?}"
        );
        assert_eq!(
            gauge(&values, "db_client_connection_count", &idle),
            Some(0.0),
            "{backend}"
        );
        assert_eq!(
            gauge(&values, "db_client_connection_max", &pool),
            Some(1.0),
            "{backend}"
        );
        assert_eq!(
            gauge(&values, "db_client_connection_pending_requests", &pool),
            Some(0.0),
            "{backend}"
        );

        let notes = Repo::<Note>::new(t.db.clone());
        let waiting = tokio::spawn(async move { notes.find(1).await });
        let db = t.db.clone();
        let pending = || {
            db.record_pool_metrics();
            gauge(
                &snapshot(&snapshotter),
                "db_client_connection_pending_requests",
                &pool,
            )
        };
        eventually(
            "the repository call waits for the connection",
            Duration::from_secs(5),
            || {
                let waiting = pending() == Some(1.0);
                async move { waiting }
            },
        )
        .await;
        tx.rollback().await.unwrap();
        assert_eq!(waiting.await.unwrap().unwrap(), None);
        eventually(
            "nothing waits, the connection is idle",
            Duration::from_secs(5),
            || {
                t.db.record_pool_metrics();
                let values = snapshot(&snapshotter);
                let done = gauge(&values, "db_client_connection_pending_requests", &pool)
                    == Some(0.0)
                    && gauge(&values, "db_client_connection_count", &idle) == Some(1.0)
                    && gauge(&values, "db_client_connection_count", &used) == Some(0.0);
                async move { done }
            },
        )
        .await;
        t.drop_db().await;
    }
}

#[tokio::test]
async fn the_plugin_sets_the_pool_gauges_while_the_app_runs_and_stops_at_shutdown() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let t = TestDb::new(Backend::Sqlite).await;
    let config = Config::from_toml(&format!(
        "[database]\nurl = '{}'\nmax_connections = 4",
        t.url
    ))
    .unwrap();
    let app = TestApp::new(App::with_config(config).plugin(DataPlugin)).await;
    let signal = app
        .container()
        .get::<cortex_core::ShutdownSignal>()
        .unwrap();
    assert!(
        signal
            .tracked_names()
            .contains(&"database pool metrics".to_string()),
        "{:?}",
        signal.tracked_names()
    );
    // The start's check connects outside the pool: a query opens the pool's first connection.
    app.container().get::<Db>().unwrap().ping().await.unwrap();
    let pool = [("pool", "default")];
    eventually("the task sets the gauges", Duration::from_secs(5), || {
        let values = snapshot(&snapshotter);
        let set = gauge(&values, "db_client_connection_max", &pool) == Some(4.0)
            && gauge(
                &values,
                "db_client_connection_count",
                &[("pool", "default"), ("state", "idle")],
            ) == Some(1.0);
        async move { set }
    })
    .await;
    app.shutdown().await;
    assert_eq!(
        signal.tracked_names(),
        Vec::<String>::new(),
        "the task stopped"
    );
    let values = snapshot(&snapshotter);
    for state in ["idle", "used"] {
        assert_eq!(
            gauge(
                &values,
                "db_client_connection_count",
                &[("pool", "default"), ("state", state)]
            ),
            Some(0.0),
            "the pool is closed: {values:?}"
        );
    }
    t.drop_db().await;
}

/// Runs `body` with `spans` capturing what passes the app's default `info` filter, with spans
/// exported (`true`) or not.
async fn with_spans<F: Future>(exported: bool, spans: &CapturedSpans, body: F) -> F::Output {
    let _guard = tracing::dispatcher::set_default(&spans.dispatch_at(tracing::Level::INFO));
    tracing::callsite::rebuild_interest_cache();
    cortex_core::logging::export_spans(exported);
    let output = body.await;
    cortex_core::logging::export_spans(false);
    output
}

/// One test flips the global flag both ways (tests run in parallel under `cargo test`).
#[tokio::test]
async fn a_statement_is_a_client_span_when_spans_are_exported_and_none_at_info_otherwise() {
    let t = TestDb::new(Backend::Postgres).await;
    exec(&t.db, ddl(Backend::Postgres)).await.unwrap();
    let notes = Repo::<Note>::new(t.db.clone());

    let spans = CapturedSpans::new();
    with_spans(false, &spans, async {
        notes.insert(&note("quiet")).await.unwrap();
    })
    .await;
    assert!(spans.spans().is_empty(), "{:?}", spans.spans());

    let error = with_spans(true, &spans, async {
        notes.insert(&note("loud")).await.unwrap();
        notes.insert(&note("loud")).await.unwrap_err()
    })
    .await;
    assert!(matches!(error, DataError::Conflict { .. }), "{error:?}");
    let seen = spans.spans();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for span in &seen {
        assert_eq!(span.name, "db.query");
        assert_eq!(span.level, tracing::Level::INFO);
        assert_eq!(span.fields["otel.kind"], "client");
        assert_eq!(span.fields["db.system.name"], "postgresql");
        assert_eq!(span.fields["db.collection.name"], "notes");
        assert_eq!(span.fields["db.operation.name"], "insert");
        assert_eq!(span.fields["db.query.summary"], "notes.insert");
        assert!(
            span.fields
                .values()
                .all(|v| !v.contains("INSERT") && !v.contains("loud")),
            "neither the SQL nor the values: {span:?}"
        );
    }
    assert!(!seen[0].fields.contains_key("error.type"), "{seen:?}");
    assert_eq!(seen[1].fields["error.type"], "conflict");
    assert_eq!(seen[1].fields["otel.status_code"], "ERROR");
    t.drop_db().await;
}
