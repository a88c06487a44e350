//! Persistence on the app's database (feature `store`): the [`EventStore`] (append, read,
//! replay, snapshots), the transactional [`Outbox`] and its relay, and the
//! [`DatabaseDeadLetters`].
//!
//! Everything runs on `cortex-data`'s [`Db`] — SQLite, PostgreSQL, MySQL or MariaDB — in tables
//! the crate creates itself ([`ensure_schema`]): a plugin cannot add migrations to the app's
//! (an app's binary has one migration set), so, as `cortex-auth` does for its stores, the
//! [`EventsPlugin`](crate::EventsPlugin) creates them when the app starts. They are versioned in
//! `cortex_events_schema`, so that a later version of the crate can migrate them:
//!
//! | table | what it holds |
//! | --- | --- |
//! | `cortex_events` | the event store: one row per event (`seq`, the event id, topic, stream and version, when it happened, metadata and payload as JSON) |
//! | `cortex_events_snapshots` | one snapshot per stream (its version and state as JSON) |
//! | `cortex_outbox` | the events enqueued by committed transactions, not published yet |
//! | `cortex_outbox_lock` | one row the relays lock so that one publishes at a time |
//! | `cortex_dead_letters` | the dead letters (`[events] dead_letters = "database"`) |
//! | `cortex_events_schema` | the versions of these tables applied |
//!
//! # In an app
//! With the feature (the `cortex` facade turns it on with `events` and a database feature)
//! and the [`DataPlugin`](cortex_data::DataPlugin), the [`EventsPlugin`](crate::EventsPlugin)
//! - creates the tables at start;
//! - provides `Inject<EventStore>` and `Inject<Outbox>`;
//! - runs the outbox's relay (a task tracked by the app's shutdown; `[events.outbox]`);
//! - keeps dead letters in `cortex_dead_letters` when `[events] dead_letters = "database"`;
//! - records the published events whose topics `[events.store]` names.
//!
//! Recording is a subscriber of the bus named `cortex.events.store` (chosen over an
//! interceptor, which sees no payload): it records each event once per app — with a bridge, it
//! is a shared subscriber, so one instance records each event — after the bus has accepted it,
//! with the bus's retries and dead letters when the database fails. An event recorded twice
//! (a redelivery) is stored once: rows are unique by event id.
//!
//! ```
//! use cortex_core::App;
//! use cortex_core::config::Config;
//! use cortex_data::{DataPlugin, Db};
//! use cortex_events::store::{EventQuery, EventStore, Outbox, StoreError};
//! use cortex_events::{Envelope, Event, EventBus, EventsPlugin};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct OrderPlaced { id: u64 }
//! impl Event for OrderPlaced { const TOPIC: &'static str = "order.placed"; }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::from_toml(
//!     "[database]\nurl = 'sqlite::memory:'\nmax_connections = 1\n\
//!      [events.store]\nrecord = ['order.#']",
//! )?;
//! let app = App::with_config(config).plugin(DataPlugin).plugin(EventsPlugin::default()).build().await?;
//! let (db, outbox) = (app.container().get::<Db>()?, app.container().get::<Outbox>()?);
//! let mut orders = app.container().get::<EventBus>()?.stream::<OrderPlaced>();
//!
//! // The order row and its event commit together (the relay publishes it right after).
//! db.transaction(async |tx| {
//!     // … insert the order with `tx` …
//!     outbox.enqueue(tx, OrderPlaced { id: 7 }).await?;
//!     Ok::<_, StoreError>(())
//! }).await?;
//! assert_eq!(orders.next().await.unwrap().id, 7);
//!
//! // Recorded by `[events.store] record`.
//! let store = app.container().get::<EventStore>()?;
//! let recorded = loop {
//!     let events = store.read(&EventQuery::topic("order.#")).await?;
//!     if !events.is_empty() { break events; }
//!     tokio::task::yield_now().await;
//! };
//! assert_eq!(recorded[0].event.payload, serde_json::json!({ "id": 7 }));
//! # Ok(()) }
//! ```

use cortex_data::{Backend, DataError, Db, Tx};

mod dead_letters;
mod event_store;
mod outbox;
pub(crate) mod plugin;
mod schema;

pub use dead_letters::DatabaseDeadLetters;
pub use event_store::{
    EventQuery, EventStore, ExpectedVersion, ReplayReport, Snapshot, StoredEvent,
};
pub use outbox::{Outbox, OutboxRelay};
pub use schema::{SCHEMA_VERSION, ensure_schema};

/// Why a store operation failed.
///
/// ```
/// use cortex_events::store::StoreError;
///
/// let conflict = StoreError::Conflict { stream: "order-7".into(), expected: 1, actual: 2 };
/// assert_eq!(
///     conflict.to_string(),
///     "stream `order-7` is at version 2, not 1 as expected: another writer appended to it; hint: load the stream again and retry"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed (unreachable, a statement refused).
    #[error("the event store's database: {0}")]
    Data(#[from] DataError),
    /// An append to a stream found another version than the one expected: another writer
    /// appended first. Read the stream again and retry.
    #[error(
        "stream `{stream}` is at version {actual}, not {expected} as expected: another writer appended to it; hint: load the stream again and retry"
    )]
    Conflict {
        /// The stream.
        stream: String,
        /// The version the append expected (`0`: no stream).
        expected: i64,
        /// The stream's version found (`0`: no stream).
        actual: i64,
    },
    /// A row does not decode (edited by hand, or written by an incompatible version).
    #[error("row {key} of `{table}` does not decode: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The row's key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A value does not serialize to JSON (a snapshot's state).
    #[error("cannot serialize to JSON: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The bus refused to make the event (closed, a malformed topic, an interceptor refused).
    #[error("{0}")]
    Publish(#[from] crate::PublishError),
    /// A malformed topic pattern in a query.
    #[error("{0}")]
    Topic(#[from] crate::TopicError),
    /// The database is one this build of cortex-events has no SQL for.
    #[error(
        "cortex-events was built without SQL for this database ({0}); hint: turn on the matching feature of cortex-events, `sqlite`, `postgres` or `mysql` (the `cortex` facade's database features do)"
    )]
    Backend(&'static str),
    /// A handler given to [`EventStore::replay_with`] failed: the replay stopped at this
    /// event (replay again with `after(position - 1)` to resume).
    #[error("the replay stopped at event {position} (`{topic}`): {source}")]
    Handler {
        /// The failed event's position.
        position: i64,
        /// Its topic.
        topic: String,
        /// The handler's error.
        #[source]
        source: cortex_di::BoxError,
    },
    /// A replay target (a handler of the bus) refused the event.
    #[error("{0}")]
    Replay(#[from] crate::ReplayError),
    /// The database store was used before the app started (what the plugin's deferred dead
    /// letters answer before `on_start`).
    #[error("the database dead-letter store is not ready: the app has not started")]
    NotStarted,
}

impl From<cortex_data::sqlx::Error> for StoreError {
    fn from(error: cortex_data::sqlx::Error) -> Self {
        StoreError::Data(DataError::from(error))
    }
}

/// Where a statement runs: on the pool (`&db`) or in a transaction (`&mut tx`), so that an
/// event is appended with the rows its transaction writes.
///
/// ```
/// use cortex_data::{DatabaseConfig, Db};
/// use cortex_events::store::On;
///
/// # fn main() -> Result<(), cortex_data::DataError> {
/// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), ..Default::default() })?;
/// let on: On<'_> = (&db).into();
/// assert!(matches!(on, On::Db(_)));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub enum On<'a> {
    /// On a connection of the pool (several statements in a transaction of their own).
    Db(&'a Db),
    /// In the caller's transaction: committed or rolled back with it.
    Tx(&'a mut Tx),
}

impl<'a> From<&'a Db> for On<'a> {
    fn from(db: &'a Db) -> Self {
        On::Db(db)
    }
}

impl<'a> From<&'a mut Tx> for On<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        On::Tx(tx)
    }
}

/// `?` placeholders as `backend` writes them (`$1`, `$2`, … on PostgreSQL). The SQL here never
/// has a `?` inside a literal.
pub(crate) fn sql(backend: Backend, text: &str) -> String {
    if backend != Backend::Postgres {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut n = 0;
    for c in text.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// The error for a backend this build has no SQL for.
#[allow(dead_code)]
pub(crate) fn missing(backend: Backend) -> StoreError {
    StoreError::Backend(backend.feature())
}

/// Runs `$body` with `$conn` bound to a connection of `$db`'s pool (the backend's own
/// connection type) and `$backend` to its backend: the same code, typed per backend.
macro_rules! on_pool {
    ($db:expr, |$conn:ident, $backend:ident| $body:expr) => {{
        let db: &cortex_data::Db = $db;
        match db.backend() {
            #[cfg(feature = "sqlite")]
            cortex_data::Backend::Sqlite => {
                let $backend = cortex_data::Backend::Sqlite;
                let pool = db
                    .sqlite()
                    .ok_or($crate::store::missing(cortex_data::Backend::Sqlite))?;
                let mut pooled = pool.acquire().await.map_err(|e| db.error(e))?;
                let $conn = &mut *pooled;
                $body
            }
            #[cfg(feature = "postgres")]
            cortex_data::Backend::Postgres => {
                let $backend = cortex_data::Backend::Postgres;
                let pool = db
                    .postgres()
                    .ok_or($crate::store::missing(cortex_data::Backend::Postgres))?;
                let mut pooled = pool.acquire().await.map_err(|e| db.error(e))?;
                let $conn = &mut *pooled;
                $body
            }
            #[cfg(feature = "mysql")]
            cortex_data::Backend::MySql => {
                let $backend = cortex_data::Backend::MySql;
                let pool = db
                    .mysql()
                    .ok_or($crate::store::missing(cortex_data::Backend::MySql))?;
                let mut pooled = pool.acquire().await.map_err(|e| db.error(e))?;
                let $conn = &mut *pooled;
                $body
            }
            #[allow(unreachable_patterns)]
            other => return Err($crate::store::missing(other).into()),
        }
    }};
}

/// Runs `$body` with `$conn` bound to the connection of the transaction `$tx` (the backend's
/// own type) and `$backend` to its backend.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident, $backend:ident| $body:expr) => {{
        let tx: &mut cortex_data::Tx = $tx;
        'run: {
            #[cfg(feature = "sqlite")]
            if tx.sqlite().is_some() {
                let $backend = cortex_data::Backend::Sqlite;
                let $conn = &mut **tx.sqlite().expect("checked just above");
                break 'run ($body);
            }
            #[cfg(feature = "postgres")]
            if tx.postgres().is_some() {
                let $backend = cortex_data::Backend::Postgres;
                let $conn = &mut **tx.postgres().expect("checked just above");
                break 'run ($body);
            }
            #[cfg(feature = "mysql")]
            if tx.mysql().is_some() {
                let $backend = cortex_data::Backend::MySql;
                let $conn = &mut **tx.mysql().expect("checked just above");
                break 'run ($body);
            }
            let _ = tx;
            return Err($crate::store::StoreError::Backend("the transaction's backend").into());
        }
    }};
}

pub(crate) use {on_pool, on_tx};

/// Microseconds since the Unix epoch: how times are stored (a `BIGINT` on every backend, so
/// that ranges compare the same everywhere).
pub(crate) fn micros(time: chrono::DateTime<chrono::Utc>) -> i64 {
    time.timestamp_micros()
}

/// A stored time back.
pub(crate) fn from_micros(micros: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// The literal prefix of a pattern, before its first wildcard (`order.` for `order.#`), for a
/// coarse `LIKE` in SQL; the pattern itself filters the rows read. `None`: no prefix.
pub(crate) fn literal_prefix(pattern: &crate::Pattern) -> Option<String> {
    let text = pattern.as_str();
    let literal: Vec<&str> = text
        .split('.')
        .take_while(|s| *s != "*" && *s != "#")
        .collect();
    if literal.is_empty() {
        return None;
    }
    // `order.#` also matches `order`: the prefix stops before the dot.
    Some(literal.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_on_postgres_only() {
        assert_eq!(
            sql(Backend::Postgres, "a = ? AND b = ?"),
            "a = $1 AND b = $2"
        );
        assert_eq!(sql(Backend::MySql, "a = ? AND b = ?"), "a = ? AND b = ?");
        assert_eq!(sql(Backend::Sqlite, "a = ?"), "a = ?");
    }

    #[test]
    fn a_pattern_has_a_literal_prefix_up_to_its_first_wildcard() {
        let prefix = |p: &str| literal_prefix(&crate::Pattern::parse(p).unwrap());
        assert_eq!(prefix("order.#").as_deref(), Some("order"));
        assert_eq!(prefix("order.line.*").as_deref(), Some("order.line"));
        assert_eq!(prefix("order.placed").as_deref(), Some("order.placed"));
        assert_eq!(prefix("#"), None);
        assert_eq!(prefix("*.placed"), None);
    }

    #[test]
    fn times_are_stored_in_microseconds() {
        let now = chrono::Utc::now();
        let back = from_micros(micros(now));
        assert_eq!(back.timestamp_micros(), now.timestamp_micros());
    }
}
