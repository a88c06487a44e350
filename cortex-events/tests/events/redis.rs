//! The Redis Streams bridge against the real Redis on 127.0.0.1:6379: two app instances in one
//! test, each with its own `EventsPlugin`, sharing a stream (a unique key per test).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cortex_core::App;
use cortex_core::config::Config;
use cortex_core::testing::TestApp;
use cortex_di::BoxError;
use cortex_events::{
    DeadLetterQuery, Envelope, Event, EventBus, EventId, EventsPlugin, HandlerDescriptor,
    Interceptor, Metadata, WireEvent,
};
use redis::aio::MultiplexedConnection;
use tokio::sync::Notify;
use tokio::time::timeout;

const REDIS: &str = "redis://127.0.0.1:6379";
/// How long a test waits for something that takes milliseconds.
const WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Ping {
    n: u32,
}
impl Event for Ping {
    const TOPIC: &'static str = "bridge.redis.ping";
}

/// Published until every instance's stream saw one: the broadcast consumers are reading then.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Warmup;
impl Event for Warmup {
    const TOPIC: &'static str = "bridge.redis.warmup";
}

/// A stream key and group (the app's source) no other test uses.
fn unique(test: &str) -> (String, String) {
    let id = uuid::Uuid::now_v7().simple().to_string();
    (
        format!("cortex:test:{test}:{id}"),
        format!("{test}-{}", &id[id.len() - 8..]),
    )
}

fn config(stream: &str, source: &str, extra: &str) -> Config {
    Config::from_toml(&format!(
        r#"
[events]
source = "{source}"
drain_timeout = "2s"

[events.bridge]
kind = "redis"
topics = ["bridge.redis.#"]

[events.bridge.redis]
url = "{REDIS}"
stream = "{stream}"
block = "100ms"
claim_idle = "500ms"
claim_interval = "100ms"
{extra}
"#
    ))
    .unwrap()
}

async fn redis() -> MultiplexedConnection {
    redis::Client::open(REDIS)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn cleanup(stream: &str) {
    let _: i64 = redis::cmd("DEL")
        .arg(stream)
        .query_async(&mut redis().await)
        .await
        .unwrap();
}

/// What handlers saw: (instance, event id, metadata).
#[derive(Clone, Default)]
struct Seen {
    events: Arc<Mutex<Vec<(&'static str, Metadata)>>>,
    changed: Arc<Notify>,
}

impl Seen {
    fn push(&self, instance: &'static str, metadata: Metadata) {
        self.events.lock().unwrap().push((instance, metadata));
        self.changed.notify_waiters();
    }

    fn all(&self) -> Vec<(&'static str, Metadata)> {
        self.events.lock().unwrap().clone()
    }

    /// How many times each event id was handled.
    fn counts(&self) -> HashMap<EventId, usize> {
        let mut counts = HashMap::new();
        for (_, metadata) in self.all() {
            *counts.entry(metadata.id).or_default() += 1;
        }
        counts
    }

    /// Waits until `done` holds of what was seen.
    async fn until(&self, what: &str, done: impl Fn(&[(&'static str, Metadata)]) -> bool) {
        let waited = timeout(WAIT, async {
            loop {
                let changed = self.changed.notified();
                if done(&self.all()) {
                    return;
                }
                changed.await;
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "timed out waiting for {what}: saw {:?}",
            self.all()
        );
    }
}

/// A handler named `record` that notes which instance handled what.
fn recorder(instance: &'static str, seen: &Seen) -> HandlerDescriptor {
    let seen = seen.clone();
    HandlerDescriptor::new("record", move |_scope, ping: Envelope<Ping>| {
        let seen = seen.clone();
        async move {
            seen.push(instance, ping.metadata().clone());
            Ok::<_, BoxError>(())
        }
    })
}

fn bus(app: &TestApp) -> EventBus {
    app.container().get::<EventBus>().unwrap().as_ref().clone()
}

/// Publishes warm-up events from `from` until every bus's stream saw one.
async fn warm_up(from: &EventBus, buses: &[&EventBus]) {
    let mut streams: Vec<_> = buses.iter().map(|b| b.stream::<Warmup>()).collect();
    let waited = timeout(WAIT, async {
        for stream in &mut streams {
            loop {
                from.publish(Warmup).await.unwrap();
                if timeout(Duration::from_millis(200), stream.next())
                    .await
                    .is_ok()
                {
                    break;
                }
            }
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "the broadcast consumers never started reading"
    );
}

/// How many entries of the group are pending (read, not acknowledged).
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

async fn until_nothing_pending(stream: &str, group: &str) {
    let waited = timeout(WAIT, async {
        while pending(stream, group).await != 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "entries stayed pending in {stream}");
}

/// Sets a header on every event published, to see it cross.
struct Tenant;

impl Interceptor for Tenant {
    async fn before_publish(&self, metadata: &mut Metadata) -> Result<(), BoxError> {
        metadata.headers.insert("tenant".into(), "acme".into());
        Ok(())
    }
}

/// An event published in A is handled once across A and B, and streamed in both, its metadata
/// intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_crosses_instances_handled_once_and_streamed_in_each() {
    let (stream, source) = unique("cross");
    let seen = Seen::default();
    let a = TestApp::new(
        App::with_config(config(&stream, &source, "")).plugin(
            EventsPlugin::default()
                .handler(recorder("a", &seen))
                .interceptor(Tenant),
        ),
    )
    .await;
    let b = TestApp::new(
        App::with_config(config(&stream, &source, ""))
            .plugin(EventsPlugin::default().handler(recorder("b", &seen))),
    )
    .await;
    let (bus_a, bus_b) = (bus(&a), bus(&b));
    let mut stream_a = bus_a.stream::<Ping>();
    let mut stream_b = bus_b.stream::<Ping>();
    warm_up(&bus_a, &[&bus_a, &bus_b]).await;

    let id = bus_a.publish(Ping { n: 7 }).await.unwrap();

    let in_a = timeout(WAIT, stream_a.next()).await.unwrap().unwrap();
    let in_b = timeout(WAIT, stream_b.next()).await.unwrap().unwrap();
    assert_eq!((in_a.id(), in_a.n), (id, 7));
    assert_eq!(
        in_b.metadata(),
        in_a.metadata(),
        "both instances see the same metadata"
    );
    seen.until("the handler", |seen| !seen.is_empty()).await;
    // Acknowledged: nothing can hand it to anyone again.
    until_nothing_pending(&stream, &source).await;
    let handled = seen.all();
    assert_eq!(
        handled.len(),
        1,
        "handled once across the instances: {handled:?}"
    );
    let metadata = &handled[0].1;
    assert_eq!(metadata, in_b.metadata());
    assert_eq!(metadata.id, id);
    assert_eq!(metadata.topic, "bridge.redis.ping");
    assert_eq!(metadata.source, source);
    assert_eq!(metadata.correlation(), id.to_string());
    assert_eq!(metadata.headers["tenant"], "acme");

    // Many events: each handled exactly once, whichever instance took it.
    let mut ids = Vec::new();
    for n in 0..40 {
        let from = if n % 2 == 0 { &bus_a } else { &bus_b };
        ids.push(from.publish(Ping { n }).await.unwrap());
    }
    seen.until("the 40 events", |seen| seen.len() >= 41).await;
    until_nothing_pending(&stream, &source).await;
    let counts = seen.counts();
    assert_eq!(seen.all().len(), 41);
    for id in ids {
        assert_eq!(counts.get(&id), Some(&1), "event {id}");
    }

    a.shutdown().await;
    b.shutdown().await;
    cleanup(&stream).await;
}

/// An entry read by a consumer that died before acknowledging it is taken over and handled
/// once by the survivor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_left_by_a_dead_consumer_is_handled_once_by_the_survivor() {
    let (stream, source) = unique("reclaim");
    let mut redis = redis().await;
    // The dead instance: it read the entry and died.
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg(&source)
        .arg("$")
        .arg("MKSTREAM")
        .query_async(&mut redis)
        .await
        .unwrap();
    let mut metadata = Metadata::new(Ping::TOPIC);
    metadata.source = source.clone().into();
    let event = WireEvent::new(metadata, &Ping { n: 1 }).unwrap();
    let _: String = redis::cmd("XADD")
        .arg(&stream)
        .arg("*")
        .arg("topic")
        .arg(Ping::TOPIC)
        .arg("event")
        .arg(event.to_bytes())
        .query_async(&mut redis)
        .await
        .unwrap();
    let read: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(&source)
        .arg("dead-instance")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(matches!(read, redis::Value::Array(_)), "{read:?}");
    assert_eq!(pending(&stream, &source).await, 1);

    let seen = Seen::default();
    let survivor = TestApp::new(
        App::with_config(config(&stream, &source, ""))
            .plugin(EventsPlugin::default().handler(recorder("survivor", &seen))),
    )
    .await;
    seen.until("the survivor", |seen| !seen.is_empty()).await;
    until_nothing_pending(&stream, &source).await;
    assert_eq!(seen.counts().get(&event.metadata.id), Some(&1));
    assert_eq!(
        seen.all()[0].1,
        event.metadata,
        "the metadata crossed intact"
    );

    // The dead consumer had nothing left pending: the survivor removes it (after ten times
    // `claim_idle`, at least five minutes — not within this test), and itself at its stop.
    survivor.shutdown().await;
    let consumers: Vec<redis::Value> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(&stream)
        .arg(&source)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(
        consumers.len(),
        1,
        "only the dead consumer is left: {consumers:?}"
    );
    cleanup(&stream).await;
}

/// An instance killed while its handler runs: its entry stays pending (kept fresh while it
/// lived), then the survivor takes it over and handles it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_handler_leaves_its_event_to_the_survivor() {
    let (stream, source) = unique("killed");
    let started = Arc::new(Notify::new());
    let doomed = {
        let started = Arc::clone(&started);
        HandlerDescriptor::new("record", move |_scope, _ping: Envelope<Ping>| {
            let started = Arc::clone(&started);
            async move {
                started.notify_one();
                // Never finishes: the instance is killed in the middle.
                std::future::pending::<()>().await;
                Ok::<_, BoxError>(())
            }
        })
    };
    let a = TestApp::new(
        App::with_config(config(&stream, &source, ""))
            .plugin(EventsPlugin::default().handler(doomed)),
    )
    .await;
    let id = bus(&a).publish(Ping { n: 3 }).await.unwrap();
    timeout(WAIT, started.notified())
        .await
        .expect("A's handler started");

    let seen = Seen::default();
    let b = TestApp::new(
        App::with_config(config(&stream, &source, ""))
            .plugin(EventsPlugin::default().handler(recorder("b", &seen))),
    )
    .await;
    // A keeps its entry fresh while its handler runs: B does not take it over meanwhile.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        seen.all().is_empty(),
        "B took over an entry A was still handling"
    );
    assert_eq!(pending(&stream, &source).await, 1);

    // A's shutdown gives up on its handler after the drain timeout and aborts its consumer.
    timeout(WAIT, a.shutdown()).await.expect("A stops");
    seen.until("the survivor", |seen| !seen.is_empty()).await;
    until_nothing_pending(&stream, &source).await;
    assert_eq!(seen.counts().get(&id), Some(&1));
    assert_eq!(seen.all().len(), 1);

    b.shutdown().await;
    cleanup(&stream).await;
}

/// Entries that are not events never stop the consumer: they are dead-lettered and
/// acknowledged, entries on other topics are acknowledged, and the next event is handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_entries_are_dead_lettered_and_the_consumer_goes_on() {
    let (stream, source) = unique("malformed");
    let mut redis = redis().await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg(&source)
        .arg("$")
        .arg("MKSTREAM")
        .query_async(&mut redis)
        .await
        .unwrap();
    let entries: Vec<Vec<(&[u8], &[u8])>> = vec![
        vec![
            (b"topic", b"bridge.redis.ping"),
            (b"event", b"\xff\x00garbage"),
        ],
        vec![(b"topic", b"bridge.redis.ping")],
        vec![(b"something", b"else")],
        vec![(b"topic", b"\xff\xfe"), (b"event", b"{}")],
        vec![(b"event", b"{\"metadata\": 1}")],
        // Another app's topic: not ours to judge.
        vec![(b"topic", b"elsewhere.thing"), (b"event", b"\xff")],
    ];
    for fields in &entries {
        let mut xadd = redis::cmd("XADD");
        xadd.arg(&stream).arg("*");
        for (name, value) in fields {
            xadd.arg(*name).arg(*value);
        }
        let _: String = xadd.query_async(&mut redis).await.unwrap();
    }
    let mut metadata = Metadata::new(Ping::TOPIC);
    metadata.source = source.clone().into();
    let good = WireEvent::new(metadata, &Ping { n: 9 }).unwrap();
    let _: String = redis::cmd("XADD")
        .arg(&stream)
        .arg("*")
        .arg("topic")
        .arg(Ping::TOPIC)
        .arg("event")
        .arg(good.to_bytes())
        .query_async(&mut redis)
        .await
        .unwrap();

    let seen = Seen::default();
    let app = TestApp::new(
        App::with_config(config(&stream, &source, ""))
            .plugin(EventsPlugin::default().handler(recorder("app", &seen))),
    )
    .await;
    seen.until("the good event", |seen| !seen.is_empty()).await;
    until_nothing_pending(&stream, &source).await;
    assert_eq!(seen.all()[0].1.id, good.metadata.id);

    let letters = bus(&app)
        .dead_letters()
        .list(&DeadLetterQuery::default().handler("bridge:redis"))
        .await
        .unwrap();
    assert_eq!(letters.len(), 5, "{letters:#?}");
    let errors: Vec<&str> = letters.iter().map(|l| l.error.as_str()).collect();
    assert!(
        errors[0].starts_with("the entry's `event` field is not a Cortex event"),
        "{errors:?}"
    );
    assert_eq!(errors[1], "the entry has no `event` field");
    assert_eq!(errors[2], "the entry has no `event` field");
    assert_eq!(errors[3], "the entry's `topic` field is not UTF-8");
    assert!(
        errors[4].starts_with("the entry's `event` field is not a Cortex event"),
        "{errors:?}"
    );
    let first = &letters[0];
    assert_eq!(first.event.metadata.topic, "bridge.redis.ping");
    assert_eq!(first.event.metadata.headers["redis.stream"], stream);
    assert!(first.event.metadata.headers.contains_key("redis.entry"));
    assert_eq!(
        first.event.payload,
        serde_json::json!({ "fields": {
            "topic": "bridge.redis.ping",
            "event": { "hex": "ff0067617262616765" },
        } })
    );
    assert_eq!(
        letters[3].event.payload["fields"]["topic"],
        serde_json::json!({ "hex": "fffe" })
    );
    // Replaying one says why it cannot be.
    let replay = bus(&app).replay(first).await.unwrap_err();
    assert_eq!(
        replay.to_string(),
        "no event handler is named `bridge:redis` in this app"
    );

    app.shutdown().await;
    cleanup(&stream).await;
}

/// At shutdown the consumer stops reading, lets the handler in progress finish, acknowledges
/// its event and leaves the group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_acknowledges_finished_work_and_stops() {
    let (stream, source) = unique("shutdown");
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let seen = Seen::default();
    let slow = {
        let (started, release, seen) = (Arc::clone(&started), Arc::clone(&release), seen.clone());
        HandlerDescriptor::new("record", move |_scope, ping: Envelope<Ping>| {
            let (started, release, seen) =
                (Arc::clone(&started), Arc::clone(&release), seen.clone());
            async move {
                started.notify_one();
                release.notified().await;
                seen.push("app", ping.metadata().clone());
                Ok::<_, BoxError>(())
            }
        })
    };
    let app = TestApp::new(
        App::with_config(config(&stream, &source, ""))
            .plugin(EventsPlugin::default().handler(slow)),
    )
    .await;
    let id = bus(&app).publish(Ping { n: 5 }).await.unwrap();
    timeout(WAIT, started.notified())
        .await
        .expect("the handler started");
    assert_eq!(pending(&stream, &source).await, 1);

    let stopping = tokio::spawn(app.shutdown());
    // The consumer waits for the handler in progress.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!stopping.is_finished());
    release.notify_one();
    timeout(WAIT, stopping)
        .await
        .expect("the app stops")
        .unwrap();

    assert_eq!(seen.counts().get(&id), Some(&1));
    assert_eq!(
        pending(&stream, &source).await,
        0,
        "the finished event is acknowledged"
    );
    let consumers: Vec<redis::Value> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(&stream)
        .arg(&source)
        .query_async(&mut redis().await)
        .await
        .unwrap();
    assert!(
        consumers.is_empty(),
        "the consumer left its group: {consumers:?}"
    );
    cleanup(&stream).await;
}

/// A consumer whose connection is killed reconnects and goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_reconnect_after_their_connection_is_killed() {
    let (stream, source) = unique("reconnect");
    let seen = Seen::default();
    let app = TestApp::new(
        App::with_config(config(&stream, &source, ""))
            .plugin(EventsPlugin::default().handler(recorder("app", &seen))),
    )
    .await;
    let bus = bus(&app);
    let mut pings = bus.stream::<Ping>();
    warm_up(&bus, &[&bus]).await;
    bus.publish(Ping { n: 1 }).await.unwrap();
    seen.until("the first event", |seen| seen.len() == 1).await;
    timeout(WAIT, pings.next()).await.unwrap().unwrap();

    // Kill both consumers' connections (named after the group).
    let mut redis = redis().await;
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut redis)
        .await
        .unwrap();
    let ids: Vec<&str> = clients
        .lines()
        .filter(|line| line.contains(&format!("name=cortex-events:{source}:")))
        .filter_map(|line| line.split(' ').find_map(|f| f.strip_prefix("id=")))
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "the shared and broadcast consumers' connections: {clients}"
    );
    for id in ids {
        let _: () = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query_async(&mut redis)
            .await
            .unwrap();
    }

    let id = bus.publish(Ping { n: 2 }).await.unwrap();
    seen.until("the event after the reconnection", |seen| seen.len() == 2)
        .await;
    let streamed = timeout(WAIT, pings.next()).await.unwrap().unwrap();
    assert_eq!(streamed.id(), id);
    until_nothing_pending(&stream, &source).await;

    app.shutdown().await;
    cleanup(&stream).await;
}

/// Bad `[events.bridge.redis]` values stop the app, naming the key, never showing the URL.
#[tokio::test]
async fn config_errors_name_the_key() {
    let cases = [
        ("url = 'http://:hunter2@host'", "events.bridge.redis.url"),
        (
            "url = 'redis://:hunter2@host:notaport'",
            "events.bridge.redis.url",
        ),
        ("stream = ''", "events.bridge.redis.stream"),
        ("batch = 0", "events.bridge.redis.batch"),
        ("block = '0s'", "events.bridge.redis.block"),
        ("claim_idle = 'soon'", "events.bridge.redis.claim_idle"),
        ("claim_interval = 5", "events.bridge.redis.claim_interval"),
        ("max_len = -1", "events.bridge.redis.max_len"),
        ("strem = 'x'", "events.bridge.redis.strem"),
    ];
    for (line, key) in cases {
        let config = Config::from_toml(&format!(
            "[events.bridge]\nkind = 'redis'\n[events.bridge.redis]\n{line}"
        ))
        .unwrap();
        let err = TestApp::try_new(App::with_config(config).plugin(EventsPlugin::default()))
            .await
            .err()
            .unwrap_or_else(|| panic!("`{line}` was accepted"))
            .to_string();
        assert!(err.contains(key), "`{line}`: {err}");
        assert!(!err.contains("hunter2"), "`{line}`: {err}");
    }
}

/// With the bridge on, `/health/ready` checks Redis: up against the real server, down against
/// a port nobody listens on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_is_in_the_readiness_check() {
    let (stream, source) = unique("health");
    for (url, status, state) in [
        (REDIS, 200, "up"),
        ("redis://:hunter2@127.0.0.1:1", 503, "down"),
    ] {
        let config = Config::from_toml(&format!(
            "[events]\nsource = '{source}'\n[events.bridge]\nkind = 'redis'\n[events.bridge.redis]\nurl = '{url}'\nstream = '{stream}'"
        ))
        .unwrap();
        let app = TestApp::new(App::with_config(config).plugin(EventsPlugin::default())).await;
        let ready = app.get("/health/ready").await;
        ready.assert_status(status);
        let report: serde_json::Value = ready.json();
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "events_redis")
            .unwrap_or_else(|| panic!("no events_redis check: {report}"))
            .clone();
        assert_eq!(check["status"], state, "{report}");
        assert!(!report.to_string().contains("hunter2"));
        app.shutdown().await;
    }
    cleanup(&stream).await;
}

/// Without Redis, a publish fails at once with the bridge's error, the URL's password masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_without_redis_fails_naming_the_masked_url() {
    let (stream, source) = unique("unreachable");
    let config = Config::from_toml(&format!(
        "[events]\nsource = '{source}'\n[events.bridge]\nkind = 'redis'\n[events.bridge.redis]\nurl = 'redis://:hunter2@127.0.0.1:1'\nstream = '{stream}'\ntimeout = '1s'"
    ))
    .unwrap();
    let app = TestApp::new(App::with_config(config).plugin(EventsPlugin::default())).await;
    let err = timeout(WAIT, bus(&app).publish(Ping { n: 1 }))
        .await
        .expect("the publish gives up")
        .unwrap_err();
    assert!(
        matches!(
            err,
            cortex_events::PublishError::Bridge {
                bridge: "redis",
                ..
            }
        ),
        "{err:?}"
    );
    let shown = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(shown.contains("redis://:********@127.0.0.1:1"), "{shown}");
    assert!(
        shown.contains(&format!("XADD to stream `{stream}`")),
        "{shown}"
    );
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    app.shutdown().await;
}
