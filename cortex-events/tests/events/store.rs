//! The event store, the outbox and the database dead letters, against real SQLite, PostgreSQL
//! and MariaDB (each test runs once per database, on a database of its own).

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use cortex_core::App;
use cortex_core::config::Config;
use cortex_core::testing::TestApp;
use cortex_data::sqlx::{self, AssertSqlSafe};
use cortex_data::testing::TestDatabase;
use cortex_data::{Backend, DataPlugin, Db};
use cortex_events::store::{
    DatabaseDeadLetters, EventQuery, EventStore, ExpectedVersion, Outbox, StoreError,
};
use cortex_events::{
    DeadLetterQuery, DeadLetterStore, Envelope, Event, EventBus, EventId, EventsPlugin,
    HandlerDescriptor, Json, Metadata, ReplayError, SubscribeOptions, WireEvent,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OrderPlaced {
    id: u64,
}
impl Event for OrderPlaced {
    const TOPIC: &'static str = "order.placed";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UserCreated {
    name: String,
}
impl Event for UserCreated {
    const TOPIC: &'static str = "user.created";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PaymentTaken {
    cents: i64,
}
impl Event for PaymentTaken {
    const TOPIC: &'static str = "payment.taken";
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Sqlite,
    Postgres,
    MariaDb,
}

/// A fresh database of `kind` (a SQLite file, a PostgreSQL schema, a MariaDB database).
async fn database(kind: Kind) -> TestDatabase {
    let server = match kind {
        Kind::Sqlite => "sqlite::memory:",
        Kind::Postgres => "postgres://postgres@127.0.0.1:5432/test",
        Kind::MariaDb => "mysql://root@127.0.0.1:3306/test",
    };
    TestDatabase::for_url(server).await
}

/// Runs `$body(Kind)` as one test per database.
macro_rules! on_every_database {
    ($body:ident) => {
        mod $body {
            use super::Kind;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body(Kind::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$body(Kind::Postgres).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mariadb() {
                super::$body(Kind::MariaDb).await;
            }
        }
    };
}

/// An app on `database` with the data layer and the events plugin (with `plugin`'s handlers),
/// `extra` appended to its configuration.
fn app(database: &TestDatabase, extra: &str, plugin: EventsPlugin) -> App {
    let toml = format!(
        "[database]\nurl = '{}'\n[events]\nsource = 'shop'\n{extra}",
        database.url()
    );
    let config = Config::from_toml(&toml).expect("the test's configuration");
    database.apply(App::with_config(config).plugin(DataPlugin).plugin(plugin))
}

/// Waits (up to 10 s) for `check` to give a value.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let wait = async {
        loop {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    match tokio::time::timeout(Duration::from_secs(10), wait).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// An event on `topic` with `{"n": n}`, happened at `at`.
fn event(topic: &str, n: i64, at: DateTime<Utc>) -> WireEvent {
    let mut metadata = Metadata::new(topic.to_owned());
    metadata.timestamp = at;
    WireEvent {
        metadata,
        payload: serde_json::json!({ "n": n }),
    }
}

/// The `n`s of stored events.
fn ns(events: &[cortex_events::store::StoredEvent]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e.event.payload["n"].as_i64().unwrap())
        .collect()
}

/// Runs `statement` (`?` placeholders) with one text argument, on whichever backend.
async fn execute(db: &Db, statement: &str, arg: &str) {
    match db.backend() {
        Backend::Sqlite => {
            sqlx::query(AssertSqlSafe(statement.to_string()))
                .bind(arg)
                .execute(db.sqlite().unwrap())
                .await
                .unwrap();
        }
        Backend::Postgres => {
            sqlx::query(AssertSqlSafe(statement.replacen('?', "$1", 1)))
                .bind(arg)
                .execute(db.postgres().unwrap())
                .await
                .unwrap();
        }
        Backend::MySql => {
            sqlx::query(AssertSqlSafe(statement.to_string()))
                .bind(arg)
                .execute(db.mysql().unwrap())
                .await
                .unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the event store

on_every_database!(events_are_appended_read_by_topic_time_and_position);

async fn events_are_appended_read_by_topic_time_and_position(kind: Kind) {
    let database = database(kind).await;
    let db = database.db().clone();
    let store = EventStore::new(db.clone());
    store.ensure_schema().await.unwrap();
    let base = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let minute = |n: i64| base + TimeDelta::minutes(n);

    // In a transaction that rolls back: nothing is stored.
    let mut tx = db.begin().await.unwrap();
    let appended = store
        .append(&mut tx, [event("order.placed", 0, base)])
        .await
        .unwrap();
    assert_eq!(appended, 1);
    tx.rollback().await.unwrap();
    assert!(store.read(&EventQuery::all()).await.unwrap().is_empty());

    let events = [
        event("order.placed", 1, minute(0)),
        event("user.created", 2, minute(1)),
        event("order.line.added", 3, minute(2)),
        event("order.paid", 4, minute(3)),
        event("orders.archived", 5, minute(4)),
    ];
    let mut tx = db.begin().await.unwrap();
    assert_eq!(store.append(&mut tx, events.clone()).await.unwrap(), 5);
    tx.commit().await.unwrap();
    // An event id is stored once.
    assert_eq!(store.append(&db, [events[0].clone()]).await.unwrap(), 0);

    let all = store.read(&EventQuery::all()).await.unwrap();
    assert_eq!(ns(&all), [1, 2, 3, 4, 5]);
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(
        all[0].event, events[0],
        "metadata and payload come back as written"
    );
    assert_eq!(all[0].stream, None);

    // Topic patterns: `order.#` is not `orders.…` (the SQL prefix is coarse, the pattern exact).
    let read = async |query: EventQuery| ns(&store.read(&query).await.unwrap());
    assert_eq!(read(EventQuery::topic("order.#")).await, [1, 3, 4]);
    assert_eq!(read(EventQuery::topic("order.*")).await, [1, 4]);
    assert_eq!(read(EventQuery::topic("user.created")).await, [2]);
    assert_eq!(read(EventQuery::topic("*.created")).await, [2]);
    assert_eq!(read(EventQuery::topic("#")).await, [1, 2, 3, 4, 5]);
    // Paging by position.
    assert_eq!(read(EventQuery::topic("order.#").limit(2)).await, [1, 3]);
    assert_eq!(
        read(EventQuery::topic("order.#").after(all[2].position).limit(2)).await,
        [4]
    );
    assert_eq!(
        read(EventQuery::all().limit(1).after(all[3].position)).await,
        [5]
    );
    // Time: from (inclusive) to (exclusive), of the events' own timestamps.
    assert_eq!(
        read(EventQuery::all().since(minute(1)).until(minute(3))).await,
        [2, 3]
    );
    assert_eq!(
        read(EventQuery::topic("order.#").since(minute(1))).await,
        [3, 4]
    );
    // A malformed pattern is an error, not an empty answer.
    assert!(matches!(
        store.read(&EventQuery::topic("order.pl*")).await,
        Err(StoreError::Topic(_))
    ));
}

on_every_database!(streams_append_with_optimistic_concurrency_and_snapshots);

async fn streams_append_with_optimistic_concurrency_and_snapshots(kind: Kind) {
    let database = database(kind).await;
    let db = database.db().clone();
    let store = EventStore::new(db.clone());
    let now = Utc::now();

    let version = store
        .append_to_stream(
            &db,
            "order-7",
            ExpectedVersion::NoStream,
            [event("order.placed", 1, now), event("order.paid", 2, now)],
        )
        .await
        .unwrap();
    assert_eq!(version, 2);
    // Another writer's view of the stream is stale: refused, nothing appended.
    let stale = store
        .append_to_stream(
            &db,
            "order-7",
            ExpectedVersion::Exactly(1),
            [event("order.shipped", 3, now)],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(stale, StoreError::Conflict { ref stream, expected: 1, actual: 2 } if stream == "order-7"),
        "{stale}"
    );
    assert!(stale.to_string().contains("hint: load the stream again"));
    let stale = store
        .append_to_stream(
            &db,
            "order-7",
            ExpectedVersion::NoStream,
            [event("x", 0, now)],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            StoreError::Conflict {
                expected: 0,
                actual: 2,
                ..
            }
        ),
        "{stale}"
    );
    let version = store
        .append_to_stream(
            &db,
            "order-7",
            ExpectedVersion::Exactly(2),
            [event("order.shipped", 3, now)],
        )
        .await
        .unwrap();
    assert_eq!(version, 3);
    let version = store
        .append_to_stream(
            &db,
            "order-7",
            ExpectedVersion::Any,
            [event("order.delivered", 4, now)],
        )
        .await
        .unwrap();
    assert_eq!(version, 4);
    // Another stream, in a transaction rolled back: nothing.
    let mut tx = db.begin().await.unwrap();
    store
        .append_to_stream(
            &mut tx,
            "order-8",
            ExpectedVersion::NoStream,
            [event("order.placed", 9, now)],
        )
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    let stream = store.read(&EventQuery::stream("order-7")).await.unwrap();
    assert_eq!(ns(&stream), [1, 2, 3, 4]);
    assert_eq!(
        stream
            .iter()
            .map(|e| e.version.unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(
        stream
            .iter()
            .all(|e| e.stream.as_deref() == Some("order-7"))
    );
    assert!(
        store
            .read(&EventQuery::stream("order-8"))
            .await
            .unwrap()
            .is_empty()
    );

    // Snapshots: the latest replaces the previous.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Order {
        total: i64,
        lines: Vec<String>,
    }
    assert!(
        store
            .load_snapshot::<Order>("order-7")
            .await
            .unwrap()
            .is_none()
    );
    let state = Order {
        total: 10,
        lines: vec!["tea".into()],
    };
    store.save_snapshot("order-7", 2, &state).await.unwrap();
    let snapshot = store
        .load_snapshot::<Order>("order-7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((snapshot.version, &snapshot.state), (2, &state));
    let state = Order {
        total: 25,
        lines: vec!["tea".into(), "cake".into()],
    };
    store.save_snapshot("order-7", 4, &state).await.unwrap();
    let snapshot = store
        .load_snapshot::<Order>("order-7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (snapshot.stream.as_str(), snapshot.version, &snapshot.state),
        ("order-7", 4, &state)
    );
    // The events after the snapshot.
    let after = store
        .read(&EventQuery::stream("order-7").after(stream[snapshot.version as usize - 1].position))
        .await
        .unwrap();
    assert!(after.is_empty());
    // A state of another shape is named as corrupt, with its stream.
    let error = store.load_snapshot::<u32>("order-7").await.unwrap_err();
    assert!(
        matches!(error, StoreError::Corrupt { table: "cortex_events_snapshots", ref key, .. } if key == "order-7"),
        "{error}"
    );
}

on_every_database!(stored_events_replay_in_order);

async fn stored_events_replay_in_order(kind: Kind) {
    let database = database(kind).await;
    let store = EventStore::new(database.db().clone());
    for id in 1..=7 {
        let wire = WireEvent::new(Metadata::new(OrderPlaced::TOPIC), &OrderPlaced { id }).unwrap();
        store.append(store.db(), [wire]).await.unwrap();
    }
    let other = WireEvent::new(
        Metadata::new(UserCreated::TOPIC),
        &UserCreated { name: "ada".into() },
    )
    .unwrap();
    store.append(store.db(), [other]).await.unwrap();

    // Into a handler of the bus, in order, read three at a time.
    let bus = EventBus::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let _projection = bus
        .subscribe_with(SubscribeOptions::named("orders_projection"), {
            let seen = Arc::clone(&seen);
            move |order: Envelope<OrderPlaced>| {
                seen.lock().unwrap().push(order.id);
                async { Ok(()) }
            }
        })
        .unwrap();
    let report = store
        .replay_into(&bus, EventQuery::all().limit(3), "orders_projection")
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!((report.delivered, report.skipped, report.failed), (7, 1, 0));
    let all = store.read(&EventQuery::all()).await.unwrap();
    assert_eq!(report.last_position, Some(all.last().unwrap().position));

    // From a position on.
    seen.lock().unwrap().clear();
    store
        .replay_into(
            &bus,
            EventQuery::topic("order.#").after(all[4].position),
            "orders_projection",
        )
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [6, 7]);

    // A handler the bus does not have.
    let error = store
        .replay_into(&bus, EventQuery::all(), "nobody")
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Replay(ReplayError::UnknownHandler(ref name)) if name == "nobody")
    );

    // Into a function: stops at its first error, naming the event, to resume from there.
    let mut ids = Vec::new();
    let error = store
        .replay_with(
            EventQuery::topic("order.#"),
            |order: Envelope<OrderPlaced>| {
                ids.push(order.id);
                let id = order.id;
                async move {
                    if id == 4 {
                        Err("the projection's database is down".into())
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .await
        .unwrap_err();
    let StoreError::Handler {
        position,
        ref topic,
        ..
    } = error
    else {
        panic!("{error}");
    };
    assert_eq!(
        (position, topic.as_str()),
        (all[3].position, "order.placed")
    );
    assert_eq!(ids, [1, 2, 3, 4]);
    let mut rest = Vec::new();
    let report = store
        .replay_with(
            EventQuery::all().after(position - 1),
            |e: Envelope<Json>| {
                rest.push(e.topic().to_string());
                async { Ok(()) }
            },
        )
        .await
        .unwrap();
    assert_eq!(report.delivered, 5);
    assert_eq!(rest.last().map(String::as_str), Some("user.created"));
}

on_every_database!(the_plugin_records_the_configured_topics);

async fn the_plugin_records_the_configured_topics(kind: Kind) {
    let database = database(kind).await;
    let app = TestApp::new(app(
        &database,
        "[events.store]\nrecord = ['order.#', 'payment.*']\n[events.outbox]\nrelay = false",
        EventsPlugin::default(),
    ))
    .await;
    let bus = app.container().get::<EventBus>().unwrap();
    let store = app.container().get::<EventStore>().unwrap();
    let placed = bus.publish(OrderPlaced { id: 1 }).await.unwrap();
    bus.publish(UserCreated { name: "ada".into() })
        .await
        .unwrap();
    let taken = bus.publish(PaymentTaken { cents: 250 }).await.unwrap();

    // The recorder handles them in order: once the payment is in, the user would be too.
    let recorded = eventually("the payment recorded", || async {
        let all = store.read(&EventQuery::all()).await.unwrap();
        (all.len() >= 2).then_some(all)
    })
    .await;
    let ids: Vec<EventId> = recorded.iter().map(|e| e.event.metadata.id).collect();
    assert_eq!(ids, [placed, taken]);
    assert_eq!(recorded[0].event.payload, serde_json::json!({ "id": 1 }));
    assert_eq!(recorded[0].event.metadata.source, "shop");
    assert!(
        bus.subscriptions()
            .iter()
            .any(|s| &**s == "cortex.events.store")
    );
    app.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// the outbox

/// A handler that keeps the ids of the orders it receives, named `name`.
fn keeper(name: &'static str, seen: Arc<Mutex<Vec<(u64, EventId)>>>) -> HandlerDescriptor {
    HandlerDescriptor::new(name, move |_scope, order: Envelope<OrderPlaced>| {
        let seen = Arc::clone(&seen);
        async move {
            seen.lock().unwrap().push((order.id, order.id()));
            Ok::<_, cortex_di::BoxError>(())
        }
    })
}

on_every_database!(the_outbox_publishes_if_and_only_if_the_transaction_commits);

async fn the_outbox_publishes_if_and_only_if_the_transaction_commits(kind: Kind) {
    let database = database(kind).await;
    // A long interval: what is published at once was woken by the enqueue, not found by a poll.
    let app = TestApp::new(app(
        &database,
        "[events.outbox]\ninterval = '30s'",
        EventsPlugin::default(),
    ))
    .await;
    let bus = app.container().get::<EventBus>().unwrap();
    let outbox = app.container().get::<Outbox>().unwrap();
    let db = app.container().get::<Db>().unwrap();
    let mut orders = bus.stream::<OrderPlaced>();

    // Rolled back: never published.
    let mut tx = db.begin().await.unwrap();
    outbox
        .enqueue(&mut tx, OrderPlaced { id: 1 })
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    // A transaction whose work fails: rolled back, never published.
    let failed = db
        .transaction(async |tx| {
            outbox.enqueue(tx, OrderPlaced { id: 2 }).await?;
            Err::<(), _>(StoreError::NotStarted)
        })
        .await;
    assert!(failed.is_err());
    // Committed: published, within moments of the commit.
    let id = db
        .transaction(async |tx| outbox.enqueue(tx, OrderPlaced { id: 3 }).await)
        .await
        .unwrap();
    let received = tokio::time::timeout(Duration::from_secs(5), orders.next())
        .await
        .expect("published promptly after the commit")
        .unwrap();
    // The relay publishes in order: the rolled-back ones would have come first.
    assert_eq!((received.id, received.id()), (3, id));
    assert_eq!(received.metadata().source, "shop");
    eventually("the outbox emptied", || async {
        (outbox.pending().await.unwrap() == 0).then_some(())
    })
    .await;

    // Several events of one transaction, in order.
    let mut tx = db.begin().await.unwrap();
    for id in 10..15 {
        outbox.enqueue(&mut tx, OrderPlaced { id }).await.unwrap();
    }
    tx.commit().await.unwrap();
    for id in 10..15 {
        let received = tokio::time::timeout(Duration::from_secs(5), orders.next())
            .await
            .expect("published")
            .unwrap();
        assert_eq!(received.id, id);
    }
    app.shutdown().await;
}

on_every_database!(a_crash_between_commit_and_publish_publishes_on_the_next_start);

async fn a_crash_between_commit_and_publish_publishes_on_the_next_start(kind: Kind) {
    let database = database(kind).await;
    // The first run commits and dies before its relay publishes (here: it runs none).
    let first_seen = Arc::new(Mutex::new(Vec::new()));
    let first = TestApp::new(app(
        &database,
        "[events.outbox]\nrelay = false",
        EventsPlugin::default().handler(keeper("keep", Arc::clone(&first_seen))),
    ))
    .await;
    let outbox = first.container().get::<Outbox>().unwrap();
    let db = first.container().get::<Db>().unwrap();
    let id = db
        .transaction(async |tx| outbox.enqueue(tx, OrderPlaced { id: 9 }).await)
        .await
        .unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 1);
    drop(first); // a crash: no shutdown

    // The next start publishes it, once.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let second = TestApp::new(app(
        &database,
        "",
        EventsPlugin::default().handler(keeper("keep", Arc::clone(&seen))),
    ))
    .await;
    eventually("the pending event published", || async {
        (!seen.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    let outbox = second.container().get::<Outbox>().unwrap();
    let db = second.container().get::<Db>().unwrap();
    eventually("the outbox emptied", || async {
        (outbox.pending().await.unwrap() == 0).then_some(())
    })
    .await;
    // A later event comes after it, and it came once.
    db.transaction(async |tx| outbox.enqueue(tx, OrderPlaced { id: 10 }).await)
        .await
        .unwrap();
    eventually("the later event", || async {
        (seen.lock().unwrap().len() >= 2).then_some(())
    })
    .await;
    second.shutdown().await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], (9, id));
    assert_eq!(seen[1].0, 10);
    assert!(first_seen.lock().unwrap().is_empty());
}

on_every_database!(two_relays_never_publish_a_row_twice);

async fn two_relays_never_publish_a_row_twice(kind: Kind) {
    let database = database(kind).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = "[events.outbox]\ninterval = '10ms'\nbatch = 4";
    let a = TestApp::new(app(
        &database,
        config,
        EventsPlugin::default().handler(keeper("keep", Arc::clone(&seen))),
    ))
    .await;
    let b = TestApp::new(app(
        &database,
        config,
        EventsPlugin::default().handler(keeper("keep", Arc::clone(&seen))),
    ))
    .await;
    let mut enqueued = HashSet::new();
    for (n, instance) in [&a, &b, &a, &b, &a, &b, &a, &b].into_iter().enumerate() {
        let outbox = instance.container().get::<Outbox>().unwrap();
        let db = instance.container().get::<Db>().unwrap();
        let mut tx = db.begin().await.unwrap();
        for i in 0..5 {
            let id = outbox
                .enqueue(
                    &mut tx,
                    OrderPlaced {
                        id: (n * 5 + i) as u64,
                    },
                )
                .await
                .unwrap();
            enqueued.insert(id);
        }
        tx.commit().await.unwrap();
    }
    let outbox = a.container().get::<Outbox>().unwrap();
    eventually("both relays emptied the outbox", || async {
        (outbox.pending().await.unwrap() == 0).then_some(())
    })
    .await;
    // Both drain their handlers: every published event is handled before this returns.
    a.shutdown().await;
    b.shutdown().await;
    let seen = seen.lock().unwrap().clone();
    let ids: HashSet<EventId> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(seen.len(), 40, "each event handled once: {seen:?}");
    assert_eq!(ids, enqueued);
}

on_every_database!(an_outbox_row_that_is_not_an_event_is_dead_lettered_and_skipped);

async fn an_outbox_row_that_is_not_an_event_is_dead_lettered_and_skipped(kind: Kind) {
    let database = database(kind).await;
    let db = database.db().clone();
    let bus = EventBus::new();
    let mut orders = bus.stream::<OrderPlaced>();
    let outbox = Outbox::new(db.clone(), bus.clone());
    outbox.ensure_schema().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let broken = outbox
        .enqueue(&mut tx, OrderPlaced { id: 1 })
        .await
        .unwrap();
    outbox
        .enqueue(&mut tx, OrderPlaced { id: 2 })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    execute(
        &db,
        "UPDATE cortex_outbox SET event_json = 'not an event' WHERE event_id = ?",
        &broken.to_string(),
    )
    .await;

    assert_eq!(outbox.relay_once(10).await.unwrap(), 1);
    assert_eq!(orders.next().await.unwrap().id, 2);
    assert_eq!(outbox.pending().await.unwrap(), 0);
    let letters = bus
        .dead_letters()
        .list(&DeadLetterQuery::default().handler("cortex.outbox"))
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].event.payload, serde_json::json!("not an event"));
    assert!(
        letters[0].error.contains("cannot be published"),
        "{}",
        letters[0].error
    );

    // A relay with nothing to do answers at once.
    assert_eq!(outbox.relay_once(10).await.unwrap(), 0);
}

// ---------------------------------------------------------------------------------------------
// the database dead letters

on_every_database!(dead_letters_in_the_database_survive_a_restart_and_replay);

async fn dead_letters_in_the_database_survive_a_restart_and_replay(kind: Kind) {
    let database = database(kind).await;
    let healthy = Arc::new(AtomicBool::new(false));
    let charge = |healthy: Arc<AtomicBool>| {
        HandlerDescriptor::new("charge", move |_scope, _order: Envelope<OrderPlaced>| {
            let healthy = healthy.load(Ordering::Relaxed);
            async move {
                if healthy {
                    Ok(())
                } else {
                    Err::<(), _>("the card was declined")
                }
            }
        })
    };
    // (under the `[events]` the fixture writes)
    let config = "dead_letters = 'database'\n[events.retry]\nretries = 0";
    let first = TestApp::new(app(
        &database,
        config,
        EventsPlugin::default().handler(charge(Arc::clone(&healthy))),
    ))
    .await;
    let bus = first.container().get::<EventBus>().unwrap();
    let completion = bus.publish_and_wait(OrderPlaced { id: 5 }).await.unwrap();
    assert!(!completion.is_ok());
    let letters = bus
        .dead_letters()
        .list(&DeadLetterQuery::default())
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].handler, "charge");
    assert_eq!(letters[0].error, "the card was declined");
    assert_eq!(letters[0].event.metadata.id, completion.id);
    // In the table: another store on the database reads it.
    let table = DatabaseDeadLetters::new(database.db().clone());
    let stored = table.get(completion.id, "charge").await.unwrap().unwrap();
    assert_eq!(stored.event.payload, serde_json::json!({ "id": 5 }));
    assert_eq!(
        table
            .list(&DeadLetterQuery::default().topic("order.#"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        table
            .list(&DeadLetterQuery::default().topic("user.#"))
            .await
            .unwrap()
            .is_empty()
    );
    first.shutdown().await;

    // The next run lists it and replays it, once the card goes through.
    healthy.store(true, Ordering::Relaxed);
    let second = TestApp::new(app(
        &database,
        config,
        EventsPlugin::default().handler(charge(Arc::clone(&healthy))),
    ))
    .await;
    let bus = second.container().get::<EventBus>().unwrap();
    let letters = bus
        .dead_letters()
        .list(&DeadLetterQuery::default().handler("charge"))
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert!(bus.replay(&letters[0]).await.unwrap().is_ok());
    assert!(
        bus.dead_letters()
            .list(&DeadLetterQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    second.shutdown().await;
}

on_every_database!(a_dead_letter_is_replaced_not_duplicated);

async fn a_dead_letter_is_replaced_not_duplicated(kind: Kind) {
    let database = database(kind).await;
    let store = DatabaseDeadLetters::new(database.db().clone());
    let event = WireEvent::new(Metadata::new("order.placed"), &OrderPlaced { id: 1 }).unwrap();
    store
        .put(cortex_events::DeadLetter::new(
            "a",
            event.clone(),
            "first",
            1,
        ))
        .await
        .unwrap();
    store
        .put(cortex_events::DeadLetter::new(
            "a",
            event.clone(),
            "second",
            4,
        ))
        .await
        .unwrap();
    store
        .put(cortex_events::DeadLetter::new(
            "b",
            event.clone(),
            "other handler",
            1,
        ))
        .await
        .unwrap();
    let all = store.list(&DeadLetterQuery::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    let a = store.get(event.metadata.id, "a").await.unwrap().unwrap();
    assert_eq!((a.error.as_str(), a.attempts), ("second", 4));
    assert_eq!(
        store
            .list(&DeadLetterQuery::default().limit(1))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store.remove(event.metadata.id, "a").await.unwrap());
    assert!(!store.remove(event.metadata.id, "a").await.unwrap());
    assert_eq!(
        store.list(&DeadLetterQuery::default()).await.unwrap()[0].handler,
        "b"
    );
}

// ---------------------------------------------------------------------------------------------
// without the data layer

#[tokio::test]
async fn database_dead_letters_without_the_data_layer_fail_the_start() {
    let config = Config::from_toml("[events]\ndead_letters = 'database'").unwrap();
    let error = TestApp::try_new(App::with_config(config).plugin(EventsPlugin::default()))
        .await
        .map(|_| ())
        .expect_err("the start fails")
        .to_string();
    assert!(
        error.contains("`[events] dead_letters = \"database\"` needs the data layer"),
        "{error}"
    );
    assert!(error.contains("DataPlugin"), "{error}");

    let config = Config::from_toml("[events.store]\nenabled = true").unwrap();
    let error = TestApp::try_new(App::with_config(config).plugin(EventsPlugin::default()))
        .await
        .map(|_| ())
        .expect_err("the start fails")
        .to_string();
    assert!(error.contains("`[events.store]` records events"), "{error}");
}

#[tokio::test]
async fn the_store_without_the_data_layer_is_an_error_naming_it() {
    let app = TestApp::new(App::new().plugin(EventsPlugin::default())).await;
    let error = app
        .container()
        .get::<EventStore>()
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("the event store needs the data layer"),
        "{error}"
    );
    let error = app.container().get::<Outbox>().err().unwrap().to_string();
    assert!(error.contains("the outbox needs the data layer"), "{error}");
    // The bus works without it.
    let bus = app.container().get::<EventBus>().unwrap();
    assert!(
        bus.publish_and_wait(OrderPlaced { id: 1 })
            .await
            .unwrap()
            .is_ok()
    );
}

#[tokio::test]
async fn the_tables_are_made_at_start() {
    let database = database(Kind::Sqlite).await;
    let app = TestApp::new(app(&database, "", EventsPlugin::default())).await;
    let db = app.container().get::<Db>().unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'cortex%' ORDER BY name",
    )
    .fetch_all(db.sqlite().unwrap())
    .await
    .unwrap();
    assert_eq!(
        tables,
        [
            "cortex_dead_letters",
            "cortex_events",
            "cortex_events_schema",
            "cortex_events_snapshots",
            "cortex_outbox",
            "cortex_outbox_lock"
        ]
    );
    let version: i64 = sqlx::query_scalar("SELECT MAX(version) FROM cortex_events_schema")
        .fetch_one(db.sqlite().unwrap())
        .await
        .unwrap();
    assert_eq!(version, cortex_events::store::SCHEMA_VERSION);
    app.shutdown().await;
}
