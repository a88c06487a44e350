//! What a [`Db`] reports for metrics: its pool's connections ([`Db::stats`]) and the statements
//! run through the framework's own paths, by name, with their total duration.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::db::{Db, Pool};
use crate::exec::Name;

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
    by_statement: Mutex<HashMap<Name, (u64, Duration)>>,
}

impl Db {
    /// The pool's connections and the statements run so far.
    pub fn stats(&self) -> PoolStats {
        let (size, idle) = match self.pool() {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => (pool.size(), pool.num_idle()),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => (pool.size(), pool.num_idle()),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => (pool.size(), pool.num_idle()),
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
        let mut statements: Vec<StatementStats> = self
            .metrics()
            .by_statement
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(&(model, operation), &(count, total))| StatementStats {
                statement: format!("{model}::{operation}"),
                count,
                total,
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
    /// statement they run (failed ones included), on the pool or in a transaction.
    pub(crate) fn record_query(&self, statement: Name, elapsed: Duration) {
        let mut by_statement = self
            .metrics()
            .by_statement
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = by_statement.entry(statement).or_default();
        entry.0 += 1;
        entry.1 += elapsed;
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
        db.record_query(("Post", "find"), Duration::from_millis(2));
        db.record_query(("Post", "find"), Duration::from_millis(3));
        db.clone()
            .record_query(("Comment", "insert"), Duration::from_millis(1));
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
}
