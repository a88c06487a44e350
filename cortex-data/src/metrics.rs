//! What a [`Db`] reports for metrics: its pool's connections ([`Db::stats`]) and the statements
//! run through the framework's own paths, by name, with their total duration; the same recorded
//! through the `metrics` facade (`db_client_*`) and, per statement, a `db.query` span.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::metrics::{Key, Label, Level, Metadata};

use crate::backend::Backend;
use crate::db::{Db, Pool};
use crate::error::DataError;
use crate::exec::Name;

/// The `pool` label: the data layer has one pool.
const POOL: &str = "default";

/// How often the [`DataPlugin`](crate::DataPlugin)'s task sets the pool gauges.
pub(crate) const POOL_METRICS_EVERY: Duration = Duration::from_secs(1);

/// The statement histogram's name.
const OPERATION_DURATION: &str = "db_client_operation_duration_seconds";

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// A snapshot of a [`Db`]'s pool and of the statements the data layer ran on it: what a metrics
/// exporter reads (gauges for the connections, counters for the statements).
///
/// sqlx does not say how many tasks wait for a connection; a pool with no idle connection and
/// `in_use == max_connections` is the sign that they do (and waiting longer than
/// `[database] acquire_timeout` is a 503).
///
/// ```
/// use cortex_data::{DatabaseConfig, Db};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_data::DataError> {
/// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 3, ..Default::default() })?;
/// assert_eq!(db.stats().size, 0); // nothing connected yet
/// let tx = db.begin().await?;
/// let stats = db.stats();
/// assert_eq!((stats.size, stats.idle, stats.in_use, stats.max_connections), (1, 0, 1, 3));
/// tx.rollback().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Connections open (idle or in use).
    pub size: u32,
    /// Connections open and idle.
    pub idle: u32,
    /// Connections checked out of the pool (by a query, a transaction, a unit of work).
    pub in_use: u32,
    /// `[database] max_connections`.
    pub max_connections: u32,
    /// Statements the repositories ran, all names together.
    pub queries: u64,
    /// Their total duration.
    pub query_time: Duration,
    /// The same, by statement name (`Post::find`), in name order.
    pub statements: Vec<StatementStats>,
}

/// One statement name's count and total duration, in [`PoolStats::statements`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatementStats {
    /// The model and the repository operation: `Post::find`, `Post::select` (`find_many`,
    /// `find_one`, `find_and_count`, `find_page`), `Post::insert`, `Comment::load` (a relation).
    pub statement: String,
    /// How many times it ran.
    pub count: u64,
    /// How long it took, all runs together.
    pub total: Duration,
}

/// The counters a [`Db`] keeps (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    by_statement: Mutex<HashMap<Name, Statement>>,
    /// Tasks waiting for a connection in the data layer's own acquisitions.
    pending: AtomicU32,
}

/// One statement name's count and total, and its histogram keys (made once per name, so that
/// recording a statement allocates nothing).
#[derive(Debug)]
struct Statement {
    count: u64,
    total: Duration,
    /// `outcome="ok"` and `outcome="error"`.
    keys: Arc<[Key; 2]>,
}

impl Statement {
    fn new((_, table, operation): Name) -> Statement {
        let key = |outcome: &'static str| {
            Key::from_parts(
                OPERATION_DURATION,
                vec![
                    Label::from_static_parts("pool", POOL),
                    Label::new("statement", format!("{table}.{operation}")),
                    Label::from_static_parts("outcome", outcome),
                ],
            )
        };
        Statement {
            count: 0,
            total: Duration::ZERO,
            keys: Arc::new([key("ok"), key("error")]),
        }
    }
}

/// Counts a task waiting for a connection while it lives.
struct Waiting<'a>(&'a AtomicU32);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A statement's name as the metric and the span say it: `posts.find`.
struct Summary(Name);

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (_, table, operation) = self.0;
        write!(f, "{table}.{operation}")
    }
}

/// The OpenTelemetry `db.system.name` of a backend.
fn system_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
        Backend::MySql => "mysql",
    }
}

/// The `error.type` of a failed statement: the kind of error, never its message (which may quote
/// a row's values).
fn error_type(error: &DataError) -> &'static str {
    match error {
        DataError::NotFound { .. } => "not_found",
        DataError::Conflict { .. } => "conflict",
        DataError::Constraint { .. } => "constraint",
        DataError::Unavailable { .. } => "unavailable",
        DataError::Config { .. } => "config",
        DataError::Migration { .. } => "migration",
        DataError::Sqlx(_) => "database",
    }
}

/// The `db.query` span of one statement: at `info` when spans are exported (an OpenTelemetry
/// exporter is installed), else at `debug`, which costs a level comparison at the default `info`
/// filter. The SQL is never a field: the statement's name is.
pub(crate) fn statement_span(backend: Backend, name: Name) -> tracing::Span {
    macro_rules! span {
        ($level:ident) => {
            tracing::$level!(
                target: "cortex::data",
                "db.query",
                otel.kind = "client",
                db.system.name = system_name(backend),
                db.collection.name = name.1,
                db.operation.name = name.2,
                db.query.summary = %Summary(name),
                otel.status_code = tracing::field::Empty,
                error.type = tracing::field::Empty,
            )
        };
    }
    if cortex_core::logging::span_wanted() {
        span!(info_span)
    } else {
        span!(debug_span)
    }
}

impl Db {
    /// The pool's connections and the statements run so far.
    pub fn stats(&self) -> PoolStats {
        let (size, idle) = self.pool_counts();
        let mut statements: Vec<StatementStats> = self
            .metrics()
            .by_statement
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(&(model, _, operation), statement)| StatementStats {
                statement: format!("{model}::{operation}"),
                count: statement.count,
                total: statement.total,
            })
            .collect();
        statements.sort_by(|a, b| a.statement.cmp(&b.statement));
        PoolStats {
            size,
            idle,
            in_use: size - idle,
            max_connections: self.config().max_connections,
            queries: statements.iter().map(|s| s.count).sum(),
            query_time: statements.iter().map(|s| s.total).sum(),
            statements,
        }
    }

    /// Counts one run of `statement` that took `elapsed`: the repositories call it for each
    /// statement they run (failed ones included), on the pool or in a transaction. It is recorded
    /// in `db_client_operation_duration_seconds` too, and a failure on the statement's `span`.
    pub(crate) fn record_query(
        &self,
        statement: Name,
        elapsed: Duration,
        error: Option<&DataError>,
        span: &tracing::Span,
    ) {
        let keys = {
            let mut by_statement = self
                .metrics()
                .by_statement
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let entry = by_statement
                .entry(statement)
                .or_insert_with(|| Statement::new(statement));
            entry.count += 1;
            entry.total += elapsed;
            Arc::clone(&entry.keys)
        };
        let key = &keys[usize::from(error.is_some())];
        ::metrics::with_recorder(|recorder| {
            recorder
                .register_histogram(key, &METADATA)
                .record(elapsed.as_secs_f64());
        });
        if let Some(error) = error {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", error_type(error));
        }
    }

    /// Runs `acquire` (taking a connection from the pool), counted meanwhile in
    /// `db_client_connection_pending_requests`. Pass it boxed (`Box::pin`): sqlx's acquire
    /// future is large, and moving it into this one costs more than the allocation.
    pub(crate) async fn waiting<T>(&self, acquire: impl Future<Output = T>) -> T {
        let pending = &self.metrics().pending;
        pending.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(pending);
        acquire.await
    }

    /// Sets the pool's gauges through the `metrics` facade, labelled `pool="default"`:
    /// `db_client_connection_count{state="idle"|"used"}`, `db_client_connection_max` and
    /// `db_client_connection_pending_requests` (tasks waiting for a connection in the data layer's
    /// own acquisitions: repositories, relations, transactions and units of work; a raw
    /// `sqlx::query` on [`Db::sqlite`] waits uncounted).
    ///
    /// The [`DataPlugin`](crate::DataPlugin) calls it every second from a task that stops when
    /// the app shuts down, and once more after closing the pool; call it yourself (on a schedule
    /// or before reading) for a `Db` made without the plugin.
    ///
    /// ```
    /// use cortex_data::{DatabaseConfig, Db};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cortex_data::DataError> {
    /// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), ..Default::default() })?;
    /// db.ping().await?;
    /// db.record_pool_metrics(); // with no recorder installed, nothing is recorded
    /// # Ok(()) }
    /// ```
    pub fn record_pool_metrics(&self) {
        let stats = self.pool_counts();
        let pending = self.metrics().pending.load(Ordering::Relaxed);
        ::metrics::gauge!("db_client_connection_count", "pool" => POOL, "state" => "idle")
            .set(stats.1);
        ::metrics::gauge!("db_client_connection_count", "pool" => POOL, "state" => "used")
            .set(stats.0 - stats.1);
        ::metrics::gauge!("db_client_connection_max", "pool" => POOL)
            .set(self.config().max_connections);
        ::metrics::gauge!("db_client_connection_pending_requests", "pool" => POOL).set(pending);
    }

    /// The pool's open and idle connections (idle never above open).
    fn pool_counts(&self) -> (u32, u32) {
        let (size, idle) = match self.pool() {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => (pool.size(), pool.num_idle()),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => (pool.size(), pool.num_idle()),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => (pool.size(), pool.num_idle()),
        };
        (size, u32::try_from(idle).unwrap_or(u32::MAX).min(size))
    }

    /// Sets the pool gauges now and then every [`POOL_METRICS_EVERY`] until `signal` trips (a
    /// task the drain waits for).
    pub(crate) fn spawn_pool_metrics(&self, signal: &cortex_core::ShutdownSignal) {
        let db = self.clone();
        let stop = signal.clone();
        signal.spawn_tracked("database pool metrics", async move {
            let mut every = tokio::time::interval(POOL_METRICS_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    () = stop.tripped() => break,
                    _ = every.tick() => db.record_pool_metrics(),
                }
            }
        });
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::DatabaseConfig;

    #[tokio::test]
    async fn recorded_statements_are_counted_by_name_and_in_total() {
        let db = Db::connect_lazy(&DatabaseConfig {
            url: "sqlite::memory:".into(),
            ..Default::default()
        })
        .unwrap();
        let span = tracing::Span::none();
        db.record_query(
            ("Post", "posts", "find"),
            Duration::from_millis(2),
            None,
            &span,
        );
        db.record_query(
            ("Post", "posts", "find"),
            Duration::from_millis(3),
            None,
            &span,
        );
        db.clone().record_query(
            ("Comment", "comments", "insert"),
            Duration::from_millis(1),
            None,
            &span,
        );
        let stats = db.stats();
        assert_eq!(stats.queries, 3);
        assert_eq!(stats.query_time, Duration::from_millis(6));
        let names: Vec<(&str, u64, Duration)> = stats
            .statements
            .iter()
            .map(|s| (s.statement.as_str(), s.count, s.total))
            .collect();
        assert_eq!(
            names,
            [
                ("Comment::insert", 1, Duration::from_millis(1)),
                ("Post::find", 2, Duration::from_millis(5)),
            ]
        );
    }

    #[tokio::test]
    async fn connections_in_use_are_the_open_ones_less_the_idle_ones() {
        let db = Db::connect_lazy(&DatabaseConfig {
            url: "sqlite::memory:".into(),
            max_connections: 3,
            ..Default::default()
        })
        .unwrap();
        let tx = db.begin().await.unwrap();
        let stats = db.stats();
        assert_eq!(
            (stats.size, stats.idle, stats.in_use, stats.max_connections),
            (1, 0, 1, 3)
        );
        tx.rollback().await.unwrap();
        // The pool takes the connection back on a task of its own.
        tokio::time::timeout(Duration::from_secs(5), async {
            while db.stats().idle == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the connection returns to the pool");
        let stats = db.stats();
        assert_eq!((stats.size, stats.idle, stats.in_use), (1, 1, 0));
    }
}
