//! [`Outbox`]: events written in the transaction that produced them, published by a relay once
//! it commits.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cortex_data::sqlx::{self, AssertSqlSafe};
use cortex_data::{Backend, Db, Tx};
use tokio::sync::{Notify, OnceCell, oneshot};

use super::{StoreError, micros, on_pool, on_tx, sql};
use crate::bus::{CancelFlag, EventBus};
use crate::dead_letter::DeadLetter;
use crate::error::PublishError;
use crate::event::{Event, EventId, Metadata, WireEvent};

/// The handler name the relay files an unpublishable row under, in the dead letters.
pub(crate) const RELAY: &str = "cortex.outbox";

/// The first delay of the quick polls after an `enqueue` (doubled each time, up to the
/// interval): the relay sees the commit a few milliseconds after it happens.
const FIRST_BURST: Duration = Duration::from_millis(2);

/// The transactional outbox: an event is published **if and only if** the transaction that
/// enqueued it commits.
///
/// [`enqueue`](Self::enqueue) writes the event into `cortex_outbox` in the caller's transaction
/// (with the rows it describes); a rolled-back transaction leaves nothing. The relay (run by the
/// [`EventsPlugin`](crate::EventsPlugin), `[events.outbox]`; or [`spawn_relay`](Self::spawn_relay))
/// publishes the committed rows on the bus — to the bridge when the topic is bridged — in the
/// order they were enqueued, and deletes them in the same database transaction.
///
/// # Guarantees
/// - **At least once.** A row is deleted only after the bus (or the bridge) accepted its event.
///   A crash after a commit and before the relay ran leaves the row: the next relay to run
///   (this instance restarted, or another instance) publishes it. A crash after the publish and
///   before the delete commits publishes it again: handlers that must not repeat an effect check
///   the event id ([`Envelope::id`](crate::Envelope::id)), which the row keeps.
/// - **One relay at a time.** Each relay pass locks one row (`cortex_outbox_lock`: `SELECT …
///   FOR UPDATE SKIP LOCKED` on PostgreSQL and MySQL/MariaDB, a write on SQLite, whose writers
///   are serialized) for the transaction that publishes and deletes a batch: relays of several
///   instances never publish the same row twice in normal operation, and one that finds the lock
///   taken skips its turn.
/// - **In order.** Rows are published in the order they were inserted (one transaction's events
///   in the order it enqueued them; concurrent transactions' in their commit order, as each
///   becomes visible). A row the bridge refuses stops the pass — the rows after it wait, in
///   order, for the next pass.
/// - **Promptly.** After an `enqueue` in this process the relay polls every few milliseconds
///   until the commit shows (up to `interval`); otherwise every `interval` (1 s by default),
///   which is how it finds rows of other instances and of crashed runs.
///
/// A row that is not an event (edited by hand) goes to the dead letters (handler
/// `cortex.outbox`) and is deleted, so that it cannot block the rows after it.
///
/// ```
/// use cortex_data::{DataError, DatabaseConfig, Db};
/// use cortex_events::store::Outbox;
/// use cortex_events::{Event, EventBus};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct OrderPlaced { id: u64 }
/// impl Event for OrderPlaced { const TOPIC: &'static str = "order.placed"; }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
/// let bus = EventBus::new();
/// let mut placed = bus.stream::<OrderPlaced>();
/// let outbox = Outbox::new(db.clone(), bus.clone());
/// outbox.ensure_schema().await?;
///
/// // Rolled back: never published.
/// let mut tx = db.begin().await?;
/// outbox.enqueue(&mut tx, OrderPlaced { id: 1 }).await?;
/// tx.rollback().await?;
///
/// // Committed: published by the relay.
/// let mut tx = db.begin().await?;
/// outbox.enqueue(&mut tx, OrderPlaced { id: 2 }).await?;
/// tx.commit().await?;
/// assert_eq!(outbox.relay_once(100).await?, 1);
/// assert_eq!(placed.next().await.unwrap().id, 2);
/// assert_eq!(outbox.pending().await?, 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    bus: EventBus,
    wake: Notify,
    ready: Arc<OnceCell<()>>,
    published: metrics::Counter,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("db", &self.inner.db)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// The outbox on `db`, publishing on `bus` (its table is created before its first
    /// statement: call [`ensure_schema`](Self::ensure_schema) at start, so that the first
    /// `enqueue` does not need a second connection while the caller's transaction holds one).
    pub fn new(db: Db, bus: EventBus) -> Self {
        Self::with_ready(db, bus, Arc::default())
    }

    pub(crate) fn with_ready(db: Db, bus: EventBus, ready: Arc<OnceCell<()>>) -> Self {
        Outbox {
            inner: Arc::new(Inner {
                db,
                bus,
                wake: Notify::new(),
                ready,
                published: metrics::counter!("cortex_events_outbox_published_total"),
            }),
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Creates the tables if needed.
    ///
    /// # Errors
    /// The database's error.
    pub async fn ensure_schema(&self) -> Result<(), StoreError> {
        self.inner
            .ready
            .get_or_try_init(|| super::ensure_schema(&self.inner.db))
            .await?;
        Ok(())
    }

    /// Writes `event` into the outbox in `tx`: published after `tx` commits, never if it rolls
    /// back. The metadata is made now, as [`EventBus::publish`] makes it (the correlation and
    /// causation of the request or event being handled, the interceptors' headers). Returns the
    /// event's id. With a unit of work: `outbox.enqueue(&mut *uow.tx().await?, event)`.
    ///
    /// # Errors
    /// [`StoreError::Publish`] when the bus refuses the event (closed, an interceptor);
    /// the database's error.
    pub async fn enqueue<E: Event>(&self, tx: &mut Tx, event: E) -> Result<EventId, StoreError> {
        let wire = self.inner.bus.to_wire(&event).await?;
        self.enqueue_wire(tx, wire).await
    }

    /// Writes an event already made (its metadata kept) into the outbox in `tx`.
    ///
    /// # Errors
    /// [`StoreError::Topic`] for a malformed topic; the database's error.
    pub async fn enqueue_wire(&self, tx: &mut Tx, event: WireEvent) -> Result<EventId, StoreError> {
        crate::topic::check_topic(&event.metadata.topic)?;
        self.ensure_schema().await?;
        let id = event.metadata.id;
        let json = String::from_utf8(event.to_bytes()).expect("JSON is UTF-8");
        on_tx!(tx, |conn, backend| {
            sqlx::query(AssertSqlSafe(sql(
                backend,
                "INSERT INTO cortex_outbox (event_id, topic, event_json, enqueued_at) VALUES (?, ?, ?, ?)",
            )))
            .bind(id.to_string())
            .bind(event.metadata.topic.as_str())
            .bind(json.as_str())
            .bind(micros(Utc::now()))
            .execute(&mut *conn)
            .await?;
        });
        // The relay looks again every few milliseconds until the commit shows.
        self.inner.wake.notify_one();
        Ok(id)
    }

    /// How many rows wait to be published (committed, not published yet).
    ///
    /// # Errors
    /// The database's error.
    pub async fn pending(&self) -> Result<u64, StoreError> {
        self.ensure_schema().await?;
        let count: i64 = on_pool!(&self.inner.db, |conn, backend| {
            let _ = backend;
            sqlx::query_scalar("SELECT COUNT(*) FROM cortex_outbox")
                .fetch_one(&mut *conn)
                .await?
        });
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// One pass of the relay: publishes up to `batch` committed rows in order and deletes them,
    /// in one transaction holding the relay lock; returns how many were published (0 when
    /// another relay holds the lock).
    ///
    /// # Errors
    /// [`StoreError::Publish`] when the bridge refused a row (the rows before it are published
    /// and deleted; it and the rest wait for the next pass); the database's error.
    pub async fn relay_once(&self, batch: usize) -> Result<usize, StoreError> {
        self.ensure_schema().await?;
        let db = &self.inner.db;
        // Cheap when idle: no transaction, no lock.
        let any: Option<i64> = on_pool!(db, |conn, backend| {
            let _ = backend;
            sqlx::query_scalar("SELECT seq FROM cortex_outbox ORDER BY seq LIMIT 1")
                .fetch_optional(&mut *conn)
                .await?
        });
        if any.is_none() {
            return Ok(0);
        }
        let mut tx = db.begin().await?;
        let locked = on_tx!(&mut tx, |conn, backend| {
            if backend == Backend::Sqlite {
                // The first write of the transaction takes SQLite's write lock: another relay
                // waits here (`busy_timeout`) until this one commits, then finds the rows gone.
                sqlx::query("UPDATE cortex_outbox_lock SET locked_at = ? WHERE name = 'relay'")
                    .bind(micros(Utc::now()))
                    .execute(&mut *conn)
                    .await?
                    .rows_affected()
                    > 0
            } else {
                sqlx::query_scalar::<_, String>(
                    "SELECT name FROM cortex_outbox_lock WHERE name = 'relay' FOR UPDATE SKIP LOCKED",
                )
                .fetch_optional(&mut *conn)
                .await?
                .is_some()
            }
        });
        if !locked {
            tx.rollback().await?;
            return Ok(0);
        }
        let limit = batch.max(1);
        let rows: Vec<(i64, String)> = on_tx!(&mut tx, |conn, backend| {
            let _ = backend;
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT seq, event_json FROM cortex_outbox ORDER BY seq LIMIT {limit}"
            )))
            .fetch_all(&mut *conn)
            .await?
        });
        let mut done = Vec::with_capacity(rows.len());
        let mut letters = Vec::new();
        let mut published = 0;
        let mut refused = None;
        for (seq, json) in rows {
            let event = match WireEvent::from_bytes(json.as_bytes()) {
                Ok(event) => event,
                Err(e) => {
                    letters.push(unpublishable(seq, json, e.to_string()));
                    done.push(seq);
                    continue;
                }
            };
            let id = event.metadata.id;
            match self.inner.bus.publish_wire(event).await {
                Ok(_) => {
                    published += 1;
                    done.push(seq);
                }
                // The other subscribers have it; those with a full queue are logged by the bus.
                Err(PublishError::Full { subscribers, .. }) => {
                    tracing::warn!(target: "cortex::events", event_id = %id, subscribers = ?subscribers, "an outbox event was not queued for subscribers whose queue is full (overflow = \"fail\")");
                    published += 1;
                    done.push(seq);
                }
                Err(PublishError::Topic(e)) => {
                    letters.push(unpublishable(seq, json, e.to_string()));
                    done.push(seq);
                }
                // Shutting down: the rest waits for the next start.
                Err(PublishError::Closed) => break,
                Err(other) => {
                    refused = Some(other);
                    break;
                }
            }
        }
        if !done.is_empty() {
            let marks = vec!["?"; done.len()].join(", ");
            let text = format!("DELETE FROM cortex_outbox WHERE seq IN ({marks})");
            on_tx!(&mut tx, |conn, backend| {
                let mut q = sqlx::query(AssertSqlSafe(sql(backend, &text)));
                for seq in &done {
                    q = q.bind(*seq);
                }
                q.execute(&mut *conn).await?;
            });
        }
        tx.commit().await?;
        self.inner.published.increment(published as u64);
        for letter in letters {
            tracing::error!(target: "cortex::events", event_id = %letter.event.metadata.id, error = %letter.error, "an outbox row cannot be published; it is in the dead letters");
            if let Err(e) = self.inner.bus.dead_letters().put(letter.clone()).await {
                tracing::error!(target: "cortex::events", error = %e, row = %letter.event.payload, "the dead-letter store refused an unpublishable outbox row; the row is lost");
            }
        }
        match refused {
            Some(error) => Err(error.into()),
            None => Ok(published),
        }
    }

    /// Runs the relay on a task of its own (see [`relay`](Self::relay)); stop it with
    /// [`OutboxRelay::shutdown`].
    ///
    /// ```
    /// use cortex_data::{DatabaseConfig, Db};
    /// use cortex_events::store::Outbox;
    /// use cortex_events::{Event, EventBus};
    /// use std::time::Duration;
    ///
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Ping;
    /// impl Event for Ping { const TOPIC: &'static str = "ping"; }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
    /// let bus = EventBus::new();
    /// let mut pings = bus.stream::<Ping>();
    /// let outbox = Outbox::new(db.clone(), bus);
    /// outbox.ensure_schema().await?;
    /// let relay = outbox.spawn_relay(Duration::from_secs(1), 100);
    ///
    /// let mut tx = db.begin().await?;
    /// outbox.enqueue(&mut tx, Ping).await?;
    /// tx.commit().await?;
    /// pings.next().await.unwrap(); // within milliseconds of the commit
    /// assert!(relay.shutdown(Duration::from_secs(5)).await);
    /// # Ok(()) }
    /// ```
    pub fn spawn_relay(&self, interval: Duration, batch: usize) -> OutboxRelay {
        let (relay, task) = self.relay(interval, batch);
        tokio::spawn(task);
        relay
    }

    /// The relay as a future to spawn (the plugin spawns it as a task tracked by the app's
    /// shutdown), and its handle. It makes a pass at once (rows left by a crash), then after
    /// each `enqueue` of this process (polling every few milliseconds until the commit shows)
    /// and every `interval`; a failed pass is logged and tried again at the next interval.
    pub fn relay(
        &self,
        interval: Duration,
        batch: usize,
    ) -> (OutboxRelay, impl Future<Output = ()> + Send + 'static) {
        let stop = Arc::new(CancelFlag::default());
        let (done_tx, done_rx) = oneshot::channel();
        let outbox = self.clone();
        let flag = Arc::clone(&stop);
        let task = async move {
            outbox.run(interval, batch, &flag).await;
            let _ = done_tx.send(());
        };
        (
            OutboxRelay {
                stop,
                done: done_rx,
            },
            task,
        )
    }

    async fn run(&self, interval: Duration, batch: usize, stop: &CancelFlag) {
        let interval = interval.max(Duration::from_millis(1));
        let batch = batch.max(1);
        let mut burst: Option<Duration> = None;
        let mut delay = Duration::ZERO;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
                () = self.inner.wake.notified() => burst = Some(FIRST_BURST),
            }
            if stop.is_cancelled() {
                return;
            }
            match self.relay_once(batch).await {
                // A full batch: more may be waiting.
                Ok(n) if n >= batch => {
                    delay = Duration::ZERO;
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(target: "cortex::events", error = %error, "the outbox relay's pass failed; trying again in {interval:?}");
                    burst = None;
                }
            }
            delay = match burst {
                Some(quick) if quick < interval => {
                    burst = Some(quick * 2);
                    quick
                }
                _ => {
                    burst = None;
                    interval
                }
            };
        }
    }
}

/// A row the relay cannot publish, as a dead letter (its raw text as the payload).
fn unpublishable(seq: i64, json: String, error: String) -> DeadLetter {
    let mut metadata = Metadata::new(RELAY);
    metadata
        .headers
        .insert("cortex.outbox.seq".into(), seq.to_string());
    DeadLetter::new(
        RELAY,
        WireEvent {
            metadata,
            payload: serde_json::Value::String(json),
        },
        format!("outbox row {seq} cannot be published: {error}"),
        0,
    )
}

/// A running relay (from [`Outbox::spawn_relay`] or [`Outbox::relay`]).
pub struct OutboxRelay {
    stop: Arc<CancelFlag>,
    done: oneshot::Receiver<()>,
}

impl OutboxRelay {
    /// Asks the relay to stop after its current pass.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// The relay's stop flag (the plugin trips it when the app's shutdown starts).
    pub(crate) fn stopper(&self) -> Arc<CancelFlag> {
        Arc::clone(&self.stop)
    }

    /// Stops the relay and waits up to `timeout` for its current pass to finish; whether it
    /// did (a pass cut short leaves its rows for the next relay: nothing is lost).
    pub async fn shutdown(mut self, timeout: Duration) -> bool {
        self.stop.cancel();
        tokio::time::timeout(timeout, &mut self.done).await.is_ok()
    }
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay")
            .field("stopping", &self.stop.is_cancelled())
            .finish()
    }
}
