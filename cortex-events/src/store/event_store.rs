//! [`EventStore`]: events appended to the app's database, read by topic, time and position,
//! replayed, and aggregates' snapshots.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cortex_data::sqlx::{self, AssertSqlSafe};
use cortex_data::{Backend, Db, Tx};
use cortex_di::BoxError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::{On, StoreError, from_micros, literal_prefix, micros, on_pool, on_tx, sql};
use crate::bus::EventBus;
use crate::event::{Envelope, Metadata, PayloadRef, Receivable, WireEvent};
use crate::topic::Pattern;

/// An event as the store keeps it: its position, its stream and version when it was appended
/// to one, when it was recorded, and the event itself.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Its position in the store: increasing in the order events were appended (across every
    /// topic and stream).
    pub position: i64,
    /// The stream (an aggregate's key) it was appended to, if any.
    pub stream: Option<String>,
    /// Its version in that stream (1 for the stream's first event).
    pub version: Option<i64>,
    /// When it was stored.
    pub recorded_at: DateTime<Utc>,
    /// The event: metadata and payload.
    pub event: WireEvent,
}

/// Which stored events to read: a topic pattern, a time range (of the events' own
/// timestamps), a stream, a position to start after, and a limit.
///
/// ```
/// use cortex_events::store::EventQuery;
///
/// let query = EventQuery::topic("order.#").after(41).limit(10);
/// assert_eq!(query.pattern.as_deref(), Some("order.#"));
/// assert_eq!((query.after, query.limit), (Some(41), 10));
/// assert!(EventQuery::all().pattern.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventQuery {
    /// Only events whose topic matches this pattern.
    pub pattern: Option<String>,
    /// Only events that happened at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only events that happened before this time.
    pub to: Option<DateTime<Utc>>,
    /// Only the events of this stream.
    pub stream: Option<String>,
    /// Only events after this position.
    pub after: Option<i64>,
    /// At most this many events (for a replay: how many are read at a time).
    pub limit: usize,
}

impl Default for EventQuery {
    fn default() -> Self {
        EventQuery {
            pattern: None,
            from: None,
            to: None,
            stream: None,
            after: None,
            limit: 100,
        }
    }
}

impl EventQuery {
    /// Every event (100 at most: see [`limit`](Self::limit)).
    pub fn all() -> Self {
        Self::default()
    }

    /// The events whose topic matches `pattern` (`order.#`, `user.*`, `order.placed`).
    pub fn topic(pattern: impl Into<String>) -> Self {
        EventQuery {
            pattern: Some(pattern.into()),
            ..Self::default()
        }
    }

    /// The events of one stream, in version order.
    pub fn stream(stream: impl Into<String>) -> Self {
        EventQuery {
            stream: Some(stream.into()),
            ..Self::default()
        }
    }

    /// Only events that happened at or after `time`.
    pub fn since(mut self, time: DateTime<Utc>) -> Self {
        self.from = Some(time);
        self
    }

    /// Only events that happened before `time`.
    pub fn until(mut self, time: DateTime<Utc>) -> Self {
        self.to = Some(time);
        self
    }

    /// Only events after `position` (the last one read, to page).
    pub fn after(mut self, position: i64) -> Self {
        self.after = Some(position);
        self
    }

    /// At most `limit` events.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

/// What an append to a stream expects the stream's version to be (optimistic concurrency).
///
/// ```
/// use cortex_events::store::ExpectedVersion;
/// assert_eq!(ExpectedVersion::NoStream.as_i64(), Some(0));
/// assert_eq!(ExpectedVersion::Exactly(3).as_i64(), Some(3));
/// assert_eq!(ExpectedVersion::Any.as_i64(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Whatever it is.
    Any,
    /// The stream has no event yet.
    NoStream,
    /// The stream's last event has this version.
    Exactly(i64),
}

impl ExpectedVersion {
    /// The version expected (`0` for no stream), `None` for any.
    pub fn as_i64(self) -> Option<i64> {
        match self {
            ExpectedVersion::Any => None,
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Exactly(v) => Some(v),
        }
    }
}

/// An aggregate's snapshot: its state at a version of its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot<S> {
    /// The stream.
    pub stream: String,
    /// The version of the stream the state includes.
    pub version: i64,
    /// The state.
    pub state: S,
    /// When it was taken.
    pub taken_at: DateTime<Utc>,
}

/// What a replay did ([`EventStore::replay_into`], [`EventStore::replay_with`]).
///
/// ```
/// let report = cortex_events::store::ReplayReport::default();
/// assert_eq!((report.delivered, report.last_position), (0, None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Events delivered.
    pub delivered: u64,
    /// Events the handler failed on (they went to the dead letters, as live events do).
    pub failed: u64,
    /// Events the handler skipped (its type or filter does not take them).
    pub skipped: u64,
    /// The position of the last event read (to resume with [`EventQuery::after`]).
    pub last_position: Option<i64>,
}

/// The event store: events appended to the app's database (table `cortex_events`), read back by
/// topic pattern, time, stream and position, replayed into a handler in order, and snapshots of
/// aggregates (`cortex_events_snapshots`).
///
/// Cheap to clone. In an app with the data layer, inject it (`Inject<EventStore>`); with
/// `[events.store] record = ["order.#"]` the plugin appends every published event on those
/// topics. Events may also be appended in the caller's transaction ([`On::Tx`]), with the rows
/// they describe, and to a *stream* (an aggregate's key) with optimistic concurrency
/// ([`append_to_stream`](Self::append_to_stream)). An event id is stored once: appending it again
/// is a no-op.
///
/// ```
/// use cortex_data::{DatabaseConfig, Db};
/// use cortex_events::store::{EventQuery, EventStore, ExpectedVersion};
/// use cortex_events::{Metadata, WireEvent};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
/// let store = EventStore::new(db.clone());
/// store.ensure_schema().await?; // before a transaction holds the pool's only connection
/// let event = |topic: &'static str, n: u32| WireEvent { metadata: Metadata::new(topic), payload: serde_json::json!({ "n": n }) };
///
/// // Appended with the transaction's own rows.
/// let mut tx = db.begin().await?;
/// store.append(&mut tx, [event("order.placed", 1), event("user.created", 2)]).await?;
/// tx.commit().await?;
///
/// // To an aggregate's stream, expecting its version.
/// let version = store.append_to_stream(&db, "order-7", ExpectedVersion::NoStream, [event("order.placed", 3)]).await?;
/// assert_eq!(version, 1);
/// assert!(store.append_to_stream(&db, "order-7", ExpectedVersion::NoStream, [event("order.paid", 4)]).await.is_err());
///
/// let orders = store.read(&EventQuery::topic("order.#")).await?;
/// assert_eq!(orders.iter().map(|e| e.event.payload["n"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 3]);
/// let stream = store.read(&EventQuery::stream("order-7")).await?;
/// assert_eq!(stream[0].version, Some(1));
///
/// store.save_snapshot("order-7", 1, &serde_json::json!({ "total": 42 })).await?;
/// let snapshot = store.load_snapshot::<serde_json::Value>("order-7").await?.unwrap();
/// assert_eq!((snapshot.version, snapshot.state["total"].as_u64()), (1, Some(42)));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EventStore {
    db: Db,
    ready: Arc<OnceCell<()>>,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// The columns read, in this order.
const COLUMNS: &str = "seq, stream, version, recorded_at, metadata, payload";

impl EventStore {
    /// The store on `db` (its tables are created before its first statement, on a connection
    /// of the pool: call [`ensure_schema`](Self::ensure_schema) at start, so that a first
    /// append in a transaction does not need a second connection; the plugin does).
    pub fn new(db: Db) -> Self {
        Self::with_ready(db, Arc::default())
    }

    pub(crate) fn with_ready(db: Db, ready: Arc<OnceCell<()>>) -> Self {
        EventStore { db, ready }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Creates the tables if needed (done before the first statement; call it to fail early).
    ///
    /// # Errors
    /// The database's error.
    pub async fn ensure_schema(&self) -> Result<(), StoreError> {
        self.ready
            .get_or_try_init(|| super::ensure_schema(&self.db))
            .await?;
        Ok(())
    }

    /// Appends events (with no stream) and returns how many were stored (an event id already
    /// stored is skipped). On [`On::Tx`] they are stored only if the transaction commits; on
    /// [`On::Db`] they are stored together, in a transaction of their own.
    ///
    /// # Errors
    /// The database's error.
    pub async fn append<'a>(
        &self,
        on: impl Into<On<'a>>,
        events: impl IntoIterator<Item = WireEvent>,
    ) -> Result<u64, StoreError> {
        let events: Vec<WireEvent> = events.into_iter().collect();
        self.ensure_schema().await?;
        self.in_tx(on, async |tx| insert(tx, None, &events).await)
            .await
    }

    /// Appends events to `stream` (an aggregate's key), numbered from the stream's version + 1,
    /// if the stream is at the `expected` version; returns the stream's new version. Two
    /// writers appending to one stream at once: one succeeds, the other gets
    /// [`StoreError::Conflict`] (a unique index on the stream and version backs the check).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stream is at another version; the database's error.
    pub async fn append_to_stream<'a>(
        &self,
        on: impl Into<On<'a>>,
        stream: &str,
        expected: ExpectedVersion,
        events: impl IntoIterator<Item = WireEvent>,
    ) -> Result<i64, StoreError> {
        let events: Vec<WireEvent> = events.into_iter().collect();
        self.ensure_schema().await?;
        let stream = stream.to_string();
        self.in_tx(on, async |tx| {
            let current = stream_version(tx, &stream).await?;
            if let Some(expected) = expected.as_i64()
                && expected != current
            {
                return Err(StoreError::Conflict {
                    stream: stream.clone(),
                    expected,
                    actual: current,
                });
            }
            match insert(tx, Some((&stream, current)), &events).await {
                Ok(_) => Ok(current + events.len() as i64),
                // A writer that appended between our read and our insert.
                Err(StoreError::Data(cortex_data::DataError::Conflict { .. })) => {
                    Err(StoreError::Conflict {
                        stream: stream.clone(),
                        expected: current,
                        actual: current + 1,
                    })
                }
                Err(other) => Err(other),
            }
        })
        .await
    }

    /// Runs `work` in the caller's transaction, or in one of its own on the pool.
    async fn in_tx<'a, T>(
        &self,
        on: impl Into<On<'a>>,
        work: impl AsyncFnOnce(&mut Tx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match on.into() {
            On::Tx(tx) => work(tx).await,
            On::Db(db) => {
                let mut tx = db.begin().await?;
                let value = work(&mut tx).await?;
                tx.commit().await?;
                Ok(value)
            }
        }
    }

    /// The stored events the query selects, in position order (a stream's in version order).
    ///
    /// # Errors
    /// [`StoreError::Topic`] for a malformed pattern; [`StoreError::Corrupt`] for a row that
    /// does not decode; the database's error.
    pub async fn read(&self, query: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        self.ensure_schema().await?;
        let pattern = query.pattern.as_deref().map(Pattern::parse).transpose()?;
        let mut out = Vec::new();
        let mut after = query.after;
        // The pattern is matched here (SQL narrows by its literal prefix): read pages until the
        // limit is reached or the rows run out.
        let page = query.limit.clamp(1, 1000);
        while out.len() < query.limit {
            let rows = self.page(query, pattern.as_ref(), after, page).await?;
            let exhausted = rows.len() < page;
            for row in rows {
                after = Some(row.position);
                if pattern
                    .as_ref()
                    .is_none_or(|p| p.matches(&row.event.metadata.topic))
                {
                    out.push(row);
                    if out.len() == query.limit {
                        break;
                    }
                }
            }
            if exhausted {
                break;
            }
        }
        Ok(out)
    }

    /// One page of rows, after `after`, narrowed by SQL.
    async fn page(
        &self,
        query: &EventQuery,
        pattern: Option<&Pattern>,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut conditions = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut ints: Vec<i64> = Vec::new();
        // Binds in order: the texts' conditions first, then the integers'.
        if let Some(pattern) = pattern {
            if pattern.is_exact() {
                conditions.push("topic = ?");
                texts.push(pattern.as_str().to_string());
            } else if let Some(prefix) = literal_prefix(pattern) {
                conditions.push("topic LIKE ?");
                texts.push(format!("{prefix}%"));
            }
        }
        if let Some(stream) = &query.stream {
            conditions.push("stream = ?");
            texts.push(stream.clone());
        }
        if let Some(after) = after {
            conditions.push("seq > ?");
            ints.push(after);
        }
        if let Some(from) = query.from {
            conditions.push("occurred_at >= ?");
            ints.push(micros(from));
        }
        if let Some(to) = query.to {
            conditions.push("occurred_at < ?");
            ints.push(micros(to));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let text = format!(
            "SELECT {COLUMNS} FROM cortex_events{filter} ORDER BY seq LIMIT {}",
            limit
        );
        let rows = on_pool!(&self.db, |conn, backend| {
            let statement = sql(backend, &text);
            let mut q = sqlx::query(AssertSqlSafe(statement));
            for t in &texts {
                q = q.bind(t.as_str());
            }
            for i in &ints {
                q = q.bind(*i);
            }
            let rows = q.fetch_all(&mut *conn).await?;
            rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }

    /// Delivers the stored events the query selects, in position order, to the subscriber of
    /// `bus` named `handler` (an `#[event_handler]`, a named subscription), one at a time,
    /// waiting for each: a projection rebuilt from history. The handler's retries and dead
    /// letters apply as for live events. `query.limit` is how many are read at a time; every
    /// matching event is replayed.
    ///
    /// ```
    /// use cortex_data::{DatabaseConfig, Db};
    /// use cortex_events::store::{EventQuery, EventStore};
    /// use cortex_events::{Envelope, Event, EventBus, Metadata, SubscribeOptions, WireEvent};
    /// use std::sync::{Arc, Mutex};
    ///
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Deposited { amount: i64 }
    /// impl Event for Deposited { const TOPIC: &'static str = "account.deposited"; }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
    /// let store = EventStore::new(db);
    /// for amount in [10, 20, 12] {
    ///     let event = WireEvent::new(Metadata::new(Deposited::TOPIC), &Deposited { amount })?;
    ///     store.append(store.db(), [event]).await?;
    /// }
    ///
    /// let bus = EventBus::new();
    /// let balance = Arc::new(Mutex::new(0));
    /// let _projection = bus.subscribe_with(SubscribeOptions::named("balance"), {
    ///     let balance = Arc::clone(&balance);
    ///     move |d: Envelope<Deposited>| {
    ///         *balance.lock().unwrap() += d.amount;
    ///         async { Ok(()) }
    ///     }
    /// })?;
    /// let report = store.replay_into(&bus, EventQuery::topic("account.#"), "balance").await?;
    /// assert_eq!(report.delivered, 3);
    /// assert_eq!(*balance.lock().unwrap(), 42);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Replay`] when the bus has no such subscriber or is shutting down; as
    /// [`read`](Self::read).
    pub async fn replay_into(
        &self,
        bus: &EventBus,
        query: EventQuery,
        handler: &str,
    ) -> Result<ReplayReport, StoreError> {
        let mut report = ReplayReport::default();
        let mut query = query;
        loop {
            let events = self.read(&query).await?;
            let Some(last) = events.last().map(|e| e.position) else {
                return Ok(report);
            };
            for stored in events {
                report.last_position = Some(stored.position);
                let completion = bus.deliver_to(stored.event, handler).await?;
                match completion.outcomes.first() {
                    None => report.skipped += 1,
                    Some(outcome) if outcome.result.is_ok() => report.delivered += 1,
                    Some(_) => report.failed += 1,
                }
            }
            query.after = Some(last);
        }
    }

    /// Calls `handler` with each stored event the query selects, in position order, waiting for
    /// each; stops at the first error ([`StoreError::Handler`], naming the event's position).
    /// `R` is an event type (events of other types on the matched topics are skipped) or
    /// [`Json`](crate::Json) for any. `query.limit` is how many are read at a time.
    ///
    /// ```
    /// use cortex_data::{DatabaseConfig, Db};
    /// use cortex_events::store::{EventQuery, EventStore};
    /// use cortex_events::{Json, Metadata, WireEvent};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
    /// let store = EventStore::new(db);
    /// for n in 0..5 {
    ///     store.append(store.db(), [WireEvent { metadata: Metadata::new("tick"), payload: n.into() }]).await?;
    /// }
    /// let mut seen = Vec::new();
    /// store.replay_with(EventQuery::topic("tick").limit(2), |tick: cortex_events::Envelope<Json>| {
    ///     seen.push(tick.0.as_i64().unwrap());
    ///     async { Ok(()) }
    /// }).await?;
    /// assert_eq!(seen, [0, 1, 2, 3, 4]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Handler`] for the handler's first error; [`StoreError::Corrupt`] when an
    /// event does not decode into `R`; as [`read`](Self::read).
    pub async fn replay_with<R, F, Fut>(
        &self,
        query: EventQuery,
        mut handler: F,
    ) -> Result<ReplayReport, StoreError>
    where
        R: Receivable,
        F: FnMut(Envelope<R>) -> Fut,
        Fut: Future<Output = Result<(), BoxError>>,
    {
        let mut report = ReplayReport::default();
        let mut query = query;
        loop {
            let events = self.read(&query).await?;
            let Some(last) = events.last().map(|e| e.position) else {
                return Ok(report);
            };
            for stored in events {
                report.last_position = Some(stored.position);
                let topic = stored.event.metadata.topic.to_string();
                let payload = crate::event::Payload::Json(Arc::new(stored.event.payload));
                let event = match R::receive(&PayloadRef(&payload)) {
                    Ok(Some(event)) => event,
                    Ok(None) => {
                        report.skipped += 1;
                        continue;
                    }
                    Err(e) => {
                        return Err(StoreError::Corrupt {
                            table: "cortex_events",
                            key: stored.position.to_string(),
                            reason: format!("the payload does not decode: {e}"),
                        });
                    }
                };
                let envelope = Envelope::from_parts(event, Arc::new(stored.event.metadata), 1);
                if let Err(source) = handler(envelope).await {
                    return Err(StoreError::Handler {
                        position: stored.position,
                        topic,
                        source,
                    });
                }
                report.delivered += 1;
            }
            query.after = Some(last);
        }
    }

    /// Saves the state of the aggregate `stream` at `version`, replacing its previous snapshot.
    ///
    /// # Errors
    /// [`StoreError::Serialize`] when the state does not serialize; the database's error.
    pub async fn save_snapshot<S: Serialize>(
        &self,
        stream: &str,
        version: i64,
        state: &S,
    ) -> Result<(), StoreError> {
        self.ensure_schema().await?;
        let state = serde_json::to_string(state)?;
        let now = micros(Utc::now());
        on_pool!(&self.db, |conn, backend| {
            let text = match backend {
                Backend::MySql => {
                    "INSERT INTO cortex_events_snapshots (stream, version, state, taken_at) VALUES (?, ?, ?, ?) \
                     ON DUPLICATE KEY UPDATE version = VALUES(version), state = VALUES(state), taken_at = VALUES(taken_at)"
                }
                _ => {
                    "INSERT INTO cortex_events_snapshots (stream, version, state, taken_at) VALUES (?, ?, ?, ?) \
                     ON CONFLICT (stream) DO UPDATE SET version = excluded.version, state = excluded.state, taken_at = excluded.taken_at"
                }
            };
            sqlx::query(AssertSqlSafe(sql(backend, text)))
                .bind(stream)
                .bind(version)
                .bind(state.as_str())
                .bind(now)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }

    /// The latest snapshot of `stream`, if one was saved.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the state does not decode into `S`; the database's error.
    pub async fn load_snapshot<S: DeserializeOwned>(
        &self,
        stream: &str,
    ) -> Result<Option<Snapshot<S>>, StoreError> {
        self.ensure_schema().await?;
        let row: Option<(i64, String, i64)> = on_pool!(&self.db, |conn, backend| {
            sqlx::query_as(AssertSqlSafe(sql(
                backend,
                "SELECT version, state, taken_at FROM cortex_events_snapshots WHERE stream = ?",
            )))
            .bind(stream)
            .fetch_optional(&mut *conn)
            .await?
        });
        let Some((version, state, taken_at)) = row else {
            return Ok(None);
        };
        let state = serde_json::from_str(&state).map_err(|e| StoreError::Corrupt {
            table: "cortex_events_snapshots",
            key: stream.to_string(),
            reason: format!("the state does not decode: {e}"),
        })?;
        Ok(Some(Snapshot {
            stream: stream.to_string(),
            version,
            state,
            taken_at: from_micros(taken_at),
        }))
    }
}

/// The version of `stream` (0: no event yet).
async fn stream_version(tx: &mut Tx, stream: &str) -> Result<i64, StoreError> {
    let version: Option<i64> = on_tx!(tx, |conn, backend| {
        sqlx::query_scalar(AssertSqlSafe(sql(
            backend,
            "SELECT MAX(version) FROM cortex_events WHERE stream = ?",
        )))
        .bind(stream)
        .fetch_one(&mut *conn)
        .await?
    });
    Ok(version.unwrap_or(0))
}

/// Inserts `events` (numbered from the stream's `current` version + 1 when given a stream);
/// returns how many rows were inserted (an event id already stored is skipped).
async fn insert(
    tx: &mut Tx,
    stream: Option<(&str, i64)>,
    events: &[WireEvent],
) -> Result<u64, StoreError> {
    let now = micros(Utc::now());
    let mut inserted = 0;
    for (i, event) in events.iter().enumerate() {
        let metadata = serde_json::to_string(&event.metadata)?;
        let payload = serde_json::to_string(&event.payload)?;
        let id = event.metadata.id.to_string();
        let version = stream.map(|(_, current)| current + 1 + i as i64);
        let stream = stream.map(|(s, _)| s);
        inserted += on_tx!(tx, |conn, backend| {
            // A duplicate event id is skipped; a duplicate stream version is an error. MySQL
            // has no per-key `ON CONFLICT` (and its statement errors leave the transaction
            // usable): there, a duplicate key is looked at after the fact.
            let text = match backend {
                Backend::MySql => {
                    "INSERT INTO cortex_events (event_id, topic, stream, version, occurred_at, recorded_at, metadata, payload) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                }
                _ => {
                    "INSERT INTO cortex_events (event_id, topic, stream, version, occurred_at, recorded_at, metadata, payload) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING"
                }
            };
            let done = sqlx::query(AssertSqlSafe(sql(backend, text)))
                .bind(id.as_str())
                .bind(event.metadata.topic.as_str())
                .bind(stream)
                .bind(version)
                .bind(micros(event.metadata.timestamp))
                .bind(now)
                .bind(metadata.as_str())
                .bind(payload.as_str())
                .execute(&mut *conn)
                .await;
            match done {
                Ok(done) => done.rows_affected().min(1),
                Err(sqlx::Error::Database(e))
                    if backend == Backend::MySql && e.is_unique_violation() =>
                {
                    // By its event id (a duplicate: skipped), or by its stream version.
                    let stored: Option<i64> =
                        sqlx::query_scalar("SELECT seq FROM cortex_events WHERE event_id = ?")
                            .bind(id.as_str())
                            .fetch_optional(&mut *conn)
                            .await?;
                    if stored.is_none() {
                        return Err(StoreError::Data(cortex_data::DataError::Conflict {
                            message: "the stream's version is taken".into(),
                            field: Some("version".into()),
                        }));
                    }
                    0
                }
                Err(other) => return Err(other.into()),
            }
        });
    }
    Ok(inserted)
}

/// A row back.
fn decode<R>(row: &R) -> Result<StoredEvent, StoreError>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let position: i64 = row.try_get("seq")?;
    let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt {
        table: "cortex_events",
        key: position.to_string(),
        reason: format!("its {what} does not decode: {e}"),
    };
    let metadata: String = row.try_get("metadata")?;
    let payload: String = row.try_get("payload")?;
    let metadata: Metadata = serde_json::from_str(&metadata).map_err(|e| corrupt("metadata", e))?;
    let payload = serde_json::from_str(&payload).map_err(|e| corrupt("payload", e))?;
    Ok(StoredEvent {
        position,
        stream: row.try_get("stream")?,
        version: row.try_get("version")?,
        recorded_at: from_micros(row.try_get("recorded_at")?),
        event: WireEvent { metadata, payload },
    })
}
