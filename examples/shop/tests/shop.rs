//! The shop through HTTP, in-process: each test on a database of its own (the data layer's test
//! kit: SQLite, or the server `CORTEX_TEST_DATABASE_URL` names, built with `--features postgres`),
//! the events on the in-process bus — and, in the last test, two instances of the app sharing
//! one database and exchanging events through the real Redis on 127.0.0.1:6379.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use cortex::App;
use cortex::config::{Config, Profile};
use cortex::data::Query;
use cortex::data::testing::{DataTestApp, TestAppDataExt as _, TestDatabase};
use cortex::events::store::Outbox;
use cortex::events::{Delivery, Envelope, EventBus, EventStream, Json, WireEvent};
use cortex::testing::{TestApp, config};
use serde_json::{Value, json};
use shop::emails::Email;
use shop::processed::ProcessedEvent;
use shop::stock::Stock;
use tokio::time::timeout;

/// How long a test waits for something that takes milliseconds.
const WAIT: Duration = Duration::from_secs(20);

const REDIS: &str = "redis://127.0.0.1:6379";

/// The app from its own configuration (the `test` profile) and everything it declares, on a
/// fresh database migrated with its migrations.
async fn app() -> DataTestApp {
    TestApp::with_database(App::with_config(config(env!("CARGO_MANIFEST_DIR"))).discover()).await
}

fn bus(app: &TestApp) -> EventBus {
    app.container().get::<EventBus>().unwrap().as_ref().clone()
}

/// Every event the bus carries, from now on.
fn watch(app: &TestApp) -> EventStream<Json> {
    bus(app).stream_pattern::<Json>("#").unwrap()
}

/// The events `stream` yields until one on `last`, in order.
async fn events_until(stream: &mut EventStream<Json>, last: &str) -> Vec<Envelope<Json>> {
    let mut seen = Vec::new();
    let waited = timeout(WAIT, async {
        loop {
            let event = stream.next().await.expect("the bus is open");
            let done = event.topic() == last;
            seen.push(event);
            if done {
                return;
            }
        }
    })
    .await;
    let topics: Vec<&str> = seen.iter().map(|e| e.topic()).collect();
    assert!(waited.is_ok(), "no `{last}` event; saw {topics:?}");
    seen
}

fn topics(events: &[Envelope<Json>]) -> Vec<&str> {
    events.iter().map(|e| e.topic()).collect()
}

/// Places an order through the API (with `request_id` as `x-request-id`): the order.
async fn place(app: &TestApp, request_id: &str, sku: &str, quantity: i32) -> Value {
    let response = app
        .post("/orders")
        .header("x-request-id", request_id)
        .json(&json!({ "sku": sku, "quantity": quantity, "email": "ann@example.com" }))
        .await;
    response.assert_status(201);
    let order: Value = response.json();
    assert_eq!(
        response.header("location"),
        Some(&*format!("/orders/{}", order["id"]))
    );
    assert_eq!(order["status"], "placed");
    order
}

async fn status(app: &TestApp, id: &Value) -> String {
    let order: Value = app
        .get(format!("/orders/{id}"))
        .await
        .assert_status(200)
        .json();
    order["status"].as_str().unwrap().to_string()
}

async fn available(app: &TestApp, sku: &str) -> i64 {
    let stock: Vec<Stock> = app.get("/stock").await.assert_status(200).json();
    let row = stock.iter().find(|s| s.sku == sku).expect("a seeded SKU");
    i64::from(row.available)
}

/// An event as it arrived, to deliver again (what a bridge does after a crash).
fn wire(event: &Envelope<Json>) -> WireEvent {
    WireEvent {
        metadata: event.metadata().clone(),
        payload: event.event().0.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_reserves_stock_and_queues_one_email_in_one_correlated_chain() {
    let app = app().await;
    let mut events = watch(&app);

    let order = place(&app, "req-order-1", "kettle", 2).await;
    let chain = events_until(&mut events, "email.queued").await;
    assert_eq!(
        topics(&chain),
        ["order.placed", "stock.reserved", "email.queued"]
    );
    let (placed, reserved, queued) = (&chain[0], &chain[1], &chain[2]);

    // One correlation id, the request's; each event caused by the one before.
    for event in &chain {
        let metadata = event.metadata();
        assert_eq!(metadata.correlation(), "req-order-1", "{metadata:?}");
        assert_eq!(metadata.source, "shop");
    }
    assert_eq!(placed.metadata().causation_id, None);
    assert_eq!(reserved.metadata().causation_id, Some(placed.id()));
    assert_eq!(queued.metadata().causation_id, Some(reserved.id()));
    assert_eq!(
        placed.event().0,
        json!({ "order_id": order["id"], "sku": "kettle", "quantity": 2, "email": "ann@example.com" })
    );
    assert_eq!(reserved.event().0["remaining"], 1);

    // The rows the chain wrote.
    assert_eq!(status(&app, &order["id"]).await, "emailed");
    assert_eq!(available(&app, "kettle").await, 1);
    let emails = app.repo::<Email>().find_many(Query::new()).await.unwrap();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(json!(emails[0].order_id), order["id"]);
    assert_eq!(emails[0].to_address, "ann@example.com");
    assert_eq!(emails[0].event_id, reserved.id().to_string());
    assert_eq!(queued.event().0["email_id"], emails[0].id);
    let processed = app
        .repo::<ProcessedEvent>()
        .find_many(Query::new())
        .await
        .unwrap();
    let handled: BTreeSet<(String, String, String)> = processed
        .into_iter()
        .map(|p| (p.handler, p.event_id, p.instance))
        .collect();
    assert_eq!(
        handled,
        BTreeSet::from([
            (
                "queue_confirmation_email".to_string(),
                reserved.id().to_string(),
                "local".to_string()
            ),
            (
                "reserve_stock".to_string(),
                placed.id().to_string(),
                "local".to_string()
            ),
        ])
    );

    // Delivered again to the handlers, as a bridge's shared consumer redelivers an event after
    // a crash: they succeed and change nothing — no second reservation, no second email, no
    // new event.
    let bus = bus(&app);
    for event in [placed, reserved] {
        let completion = bus.deliver(wire(event), Some(Delivery::Shared)).await;
        assert!(completion.is_ok(), "{completion:?}");
        assert_eq!(completion.outcomes.len(), 1, "{completion:?}");
    }
    assert_eq!(available(&app, "kettle").await, 1);
    assert_eq!(app.repo::<Email>().count(Query::new()).await.unwrap(), 1);
    assert_eq!(
        app.repo::<ProcessedEvent>()
            .count(Query::new())
            .await
            .unwrap(),
        2
    );
    let outbox = app.container().get::<Outbox>().unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 0);
    assert!(
        timeout(Duration::from_millis(300), events.next())
            .await
            .is_err(),
        "a redelivery published an event"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_without_enough_stock_is_rejected_and_nothing_is_taken() {
    let app = app().await;
    let mut events = watch(&app);

    // Out of stock, more than there is, an SKU the shop does not sell.
    let cases = [("teapot", 1, 0), ("kettle", 4, 3), ("samovar", 1, 0)];
    for (n, (sku, quantity, there)) in cases.into_iter().enumerate() {
        let order = place(&app, &format!("req-reject-{n}"), sku, quantity).await;
        let chain = events_until(&mut events, "stock.unavailable").await;
        assert_eq!(topics(&chain), ["order.placed", "stock.unavailable"]);
        assert_eq!(
            chain[1].event().0,
            json!({ "order_id": order["id"], "sku": sku, "requested": quantity, "available": there })
        );
        assert_eq!(chain[1].metadata().causation_id, Some(chain[0].id()));
        assert_eq!(chain[1].metadata().correlation(), format!("req-reject-{n}"));
        assert_eq!(status(&app, &order["id"]).await, "rejected");
    }
    assert_eq!(available(&app, "kettle").await, 3);
    assert_eq!(available(&app, "teapot").await, 0);
    assert_eq!(app.repo::<Email>().count(Query::new()).await.unwrap(), 0);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_problems_and_publish_nothing() {
    let app = app().await;
    let mut events = watch(&app);

    let problem = app
        .post("/orders")
        .json(&json!({ "sku": "Kettle!", "quantity": 0, "email": "not an address" }))
        .await
        .assert_problem(422);
    let fields: BTreeMap<&str, &str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        BTreeMap::from([("email", "email"), ("quantity", "range"), ("sku", "sku")]),
        "{problem}"
    );
    // A field the body does not have, one missing, the wrong type: 422 naming it.
    for body in [
        json!({ "sku": "tea", "quantity": 1, "email": "a@example.com", "coupon": "FREE" }),
        json!({ "sku": "tea", "email": "a@example.com" }),
        json!({ "sku": "tea", "quantity": "one", "email": "a@example.com" }),
    ] {
        let problem = app.post("/orders").json(&body).await.assert_problem(422);
        let detail = problem.to_string();
        assert!(
            detail.contains("coupon") || detail.contains("quantity"),
            "{problem}"
        );
    }
    app.post("/orders")
        .header("content-type", "application/json")
        .body("{\"sku\": ")
        .await
        .assert_problem(400);
    app.get("/orders/4242").await.assert_problem(404);
    app.get("/orders/four").await.assert_problem(400);

    // No order was written, so nothing was published.
    assert_eq!(
        app.repo::<shop::orders::Order>()
            .count(Query::new())
            .await
            .unwrap(),
        0
    );
    let outbox = app.container().get::<Outbox>().unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 0);
    assert!(
        timeout(Duration::from_millis(300), events.next())
            .await
            .is_err(),
        "an event was published"
    );
    app.shutdown().await;
}

/// A name no other test run uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// One instance: the app's configuration in the `test` profile with `cortex.redis.toml` (the
/// `redis` profile's file) on top, and what differs per deployment from the environment.
async fn instance(name: &str, database: &TestDatabase, stream: &str, group: &str) -> TestApp {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = Config::builder()
        .dir(dir)
        .profile(Profile::TEST)
        .file(dir.join("cortex.redis.toml"))
        .env_vars([
            ("CORTEX_SHOP__INSTANCE", name),
            ("CORTEX_DATABASE__URL", database.url()),
            ("CORTEX_EVENTS__SOURCE", group),
            ("CORTEX_EVENTS__BRIDGE__REDIS__URL", REDIS),
            ("CORTEX_EVENTS__BRIDGE__REDIS__STREAM", stream),
            // A stop waits for the read in progress.
            ("CORTEX_EVENTS__BRIDGE__REDIS__BLOCK", "100ms"),
        ])
        .load()
        .unwrap();
    TestApp::new(App::with_config(config).discover()).await
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(REDIS)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("Redis on 127.0.0.1:6379")
}

/// How many entries the group has read and not acknowledged.
async fn pending(stream: &str, group: &str) -> i64 {
    let reply: redis::Value = redis::cmd("XPENDING")
        .arg(stream)
        .arg(group)
        .query_async(&mut redis().await)
        .await
        .unwrap();
    match reply {
        redis::Value::Array(items) => match items.first() {
            Some(redis::Value::Int(n)) => *n,
            other => panic!("XPENDING: {other:?}"),
        },
        other => panic!("XPENDING: {other:?}"),
    }
}

/// Two instances on one database and one Redis stream: orders placed on either are handled
/// once each, by whichever instance takes their events; every order ends `emailed` with exactly
/// one email.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_through_redis_and_email_each_order_once() {
    let database = TestDatabase::new().await;
    database.migrate_registered().await.unwrap();
    let (stream, group) = (unique("shop:test"), unique("shop-test"));
    let a = instance("a", &database, &stream, &group).await;
    let b = instance("b", &database, &stream, &group).await;

    // Orders placed on A and on B; their statuses read on the other one.
    let mut orders = Vec::new();
    for n in 0..6 {
        let (on, other) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let order = place(on, &format!("req-two-{n}"), "tea", 3).await;
        orders.push((order["id"].clone(), other));
    }
    for (id, other) in &orders {
        let waited = timeout(WAIT, async {
            loop {
                match status(other, id).await.as_str() {
                    "emailed" => return,
                    "placed" | "reserved" => tokio::time::sleep(Duration::from_millis(20)).await,
                    other => panic!("order {id} ended {other}"),
                }
            }
        })
        .await;
        assert!(waited.is_ok(), "order {id} was not emailed in time");
    }
    // Every event read from the stream was acknowledged: none is waiting to be handled again.
    let waited = timeout(WAIT, async {
        while pending(&stream, &group).await != 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "entries stayed pending in {stream}");

    // Exactly one email per order, one reservation each, each event handled once.
    let emails = database
        .repo::<Email>()
        .find_many(Query::new())
        .await
        .unwrap();
    let mut emailed: Vec<i64> = emails.iter().map(|e| e.order_id).collect();
    emailed.sort_unstable();
    let mut placed: Vec<i64> = orders.iter().map(|(id, _)| id.as_i64().unwrap()).collect();
    placed.sort_unstable();
    assert_eq!(emailed, placed);
    assert_eq!(available(&a, "tea").await, 100 - 6 * 3);
    let processed = database
        .repo::<ProcessedEvent>()
        .find_many(Query::new())
        .await
        .unwrap();
    assert_eq!(processed.len(), 12, "{processed:?}");
    for handler in ["reserve_stock", "queue_confirmation_email"] {
        let events: BTreeSet<&str> = processed
            .iter()
            .filter(|p| p.handler == handler)
            .map(|p| p.event_id.as_str())
            .collect();
        assert_eq!(events.len(), 6, "{handler}: {processed:?}");
    }
    // Which instance handled which event is free; both are instances of this app.
    let instances: BTreeSet<&str> = processed.iter().map(|p| p.instance.as_str()).collect();
    assert!(
        instances.iter().all(|i| ["a", "b"].contains(i)),
        "{instances:?}"
    );

    a.shutdown().await;
    b.shutdown().await;
    let _: i64 = redis::cmd("DEL")
        .arg(&stream)
        .query_async(&mut redis().await)
        .await
        .unwrap();
    database.drop_now().await;
}
