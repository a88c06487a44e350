//! The NATS JetStream bridge against the real server on 127.0.0.1:4222: two app instances,
//! redelivery after an instance dies, malformed messages, configuration errors and shutdown.
//! Each test has a stream, a subject prefix and an app source of its own, and deletes its
//! stream at the end (even when it fails).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use cortex_core::App;
use cortex_core::config::Config;
use cortex_core::health::{ErasedHealthCheck, HealthStatus};
use cortex_di::{BoxError, Container};
use cortex_events::nats::{MALFORMED_HANDLER, NatsBridge, NatsBridgeConfig};
use cortex_events::{
    BridgeConsumer, BusBridge, DeadLetterQuery, Delivery, Envelope, Event, EventBus, EventId,
    EventsPlugin, HandlerDescriptor, Interceptor, Metadata, Pattern, RetryPolicy, SubscribeOptions,
    WireEvent,
};
use serde::{Deserialize, Serialize};
use tokio::time::timeout;

const URL: &str = "nats://127.0.0.1:4222";
const WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ping {
    n: u32,
}

impl Event for Ping {
    const TOPIC: &'static str = "nats_test.ping";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pong {
    n: u32,
}

impl Event for Pong {
    const TOPIC: &'static str = "nats_test.pong";
}

/// A stream, subject prefix and app source of the test's own; the stream is deleted on drop.
struct Names {
    stream: String,
    prefix: String,
    source: String,
}

impl Names {
    fn new() -> Self {
        let id = uuid::Uuid::now_v7().simple().to_string();
        Names {
            stream: format!("CX_TEST_{id}"),
            prefix: format!("cxtest{id}"),
            source: format!("app-{id}"),
        }
    }

    fn toml(&self, extra_nats: &str) -> String {
        format!(
            "[events]\nsource = \"{}\"\ndrain_timeout = \"5s\"\n\n[events.bridge]\nkind = \"nats\"\n\n\
             [events.bridge.nats]\nurl = \"{URL}\"\nstream = \"{}\"\nsubject_prefix = \"{}\"\n{extra_nats}\n",
            self.source, self.stream, self.prefix
        )
    }

    fn bridge_config(&self) -> NatsBridgeConfig {
        let mut config = NatsBridgeConfig::default();
        config.url = URL.into();
        config.stream = self.stream.clone();
        config.subject_prefix = self.prefix.clone();
        config
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        let stream = self.stream.clone();
        // Async clean-up from a destructor: on a thread of its own, with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                if let Ok(client) = async_nats::connect(URL).await {
                    let _ = jetstream::new(client).delete_stream(&stream).await;
                }
            });
        })
        .join();
    }
}

async fn jetstream() -> jetstream::Context {
    jetstream::new(
        async_nats::connect(URL)
            .await
            .expect("NATS on 127.0.0.1:4222"),
    )
}

/// The shared consumer's acknowledgement state: (acknowledged floor, pending acks).
async fn consumer_state(names: &Names) -> (u64, usize) {
    let info = jetstream()
        .await
        .get_stream(&names.stream)
        .await
        .unwrap()
        .consumer_info(&names.source)
        .await
        .unwrap();
    (info.ack_floor.stream_sequence, info.num_ack_pending)
}

/// Waits until the shared consumer has acknowledged everything up to `sequence`.
async fn wait_acknowledged(names: &Names, sequence: u64) {
    timeout(WAIT, async {
        loop {
            let (floor, pending) = consumer_state(names).await;
            if floor >= sequence && pending == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the consumer did not acknowledge up to {sequence}"));
}

/// Waits until the stream has `count` consumers (the bridge's consumers are made).
async fn wait_consumers(names: &Names, count: usize) {
    timeout(WAIT, async {
        loop {
            if let Ok(mut stream) = jetstream().await.get_stream(&names.stream).await
                && stream.info().await.unwrap().state.consumer_count >= count
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the stream did not get {count} consumers"));
}

async fn health(container: &Container) -> HealthStatus {
    let checks = container.get_all::<dyn ErasedHealthCheck>().unwrap();
    let check = checks
        .iter()
        .find(|c| c.name() == "events_nats")
        .expect("the events_nats health check is registered");
    check.check_boxed().await
}

async fn wait_healthy(container: &Container) {
    timeout(WAIT, async {
        loop {
            if health(container).await == HealthStatus::Healthy {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the NATS bridge became healthy");
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    timeout(WAIT, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Adds a header to every event published (it must cross the bridge).
struct Tenant(&'static str);

impl Interceptor for Tenant {
    async fn before_publish(&self, metadata: &mut Metadata) -> Result<(), BoxError> {
        metadata.headers.insert("tenant".into(), self.0.into());
        Ok(())
    }
}

type Seen = Arc<Mutex<Vec<(&'static str, Envelope<Ping>)>>>;

/// An app instance whose `count` handler records the pings it handles, and whose `relay`
/// handler answers each ping with a pong.
fn instance(names: &Names, label: &'static str, seen: &Seen, pongs: &Seen) -> App {
    let config = Config::from_toml(&names.toml("")).unwrap();
    let seen = Arc::clone(seen);
    let pongs = Arc::clone(pongs);
    App::with_config(config).plugin(
        EventsPlugin::default()
            .interceptor(Tenant("acme"))
            .handler(HandlerDescriptor::new(
                "count",
                move |_scope, ping: Envelope<Ping>| {
                    seen.lock().unwrap().push((label, ping));
                    async { Ok::<_, BoxError>(()) }
                },
            ))
            .handler(HandlerDescriptor::new(
                "relay",
                |scope: cortex_di::RequestScope, ping: Envelope<Ping>| async move {
                    let bus = scope.get::<EventBus>()?;
                    bus.publish(Pong { n: ping.n }).await?;
                    Ok::<_, BoxError>(())
                },
            ))
            .handler(HandlerDescriptor::new(
                "pong",
                move |_scope, pong: Envelope<Pong>| {
                    // Recorded as a ping with the pong's metadata.
                    let envelope = Envelope::new(Ping { n: pong.n }, pong.metadata().clone());
                    pongs.lock().unwrap().push((label, envelope));
                    async { Ok::<_, BoxError>(()) }
                },
            )),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_handle_each_event_once_and_stream_it_in_both() {
    let names = Names::new();
    let seen: Seen = Arc::default();
    let pongs: Seen = Arc::default();
    let a = instance(&names, "a", &seen, &pongs)
        .build()
        .await
        .unwrap()
        .bind_to(any_port())
        .await
        .unwrap();
    let b = instance(&names, "b", &seen, &pongs)
        .build()
        .await
        .unwrap()
        .bind_to(any_port())
        .await
        .unwrap();
    wait_healthy(a.container()).await;
    wait_healthy(b.container()).await;
    let bus_a = a.container().get::<EventBus>().unwrap();
    let bus_b = b.container().get::<EventBus>().unwrap();
    let mut stream_a = bus_a.stream::<Ping>();
    let mut stream_b = bus_b.stream::<Ping>();

    let mut ids = Vec::new();
    for n in 0..20 {
        let bus = if n % 2 == 0 { &bus_a } else { &bus_b };
        ids.push(bus.publish(Ping { n }).await.unwrap());
    }

    wait_until("every ping handled", || seen.lock().unwrap().len() >= 20).await;
    wait_until("every pong handled", || pongs.lock().unwrap().len() >= 20).await;
    // Each stream gets every event, in order.
    for stream in [&mut stream_a, &mut stream_b] {
        for (n, id) in ids.iter().enumerate() {
            let ping = timeout(WAIT, stream.next()).await.unwrap().unwrap();
            assert_eq!((ping.n, ping.id()), (n as u32, *id));
        }
    }

    let seen = seen.lock().unwrap().clone();
    // Exactly once across both instances.
    let mut by_id: HashMap<EventId, usize> = HashMap::new();
    for (_, ping) in &seen {
        *by_id.entry(ping.id()).or_default() += 1;
    }
    assert_eq!(by_id.len(), 20);
    assert!(by_id.values().all(|count| *count == 1), "{by_id:?}");
    // Metadata crossed intact.
    for (_, ping) in &seen {
        let meta = ping.metadata();
        assert_eq!(meta.topic, "nats_test.ping");
        assert_eq!(meta.source, names.source);
        assert_eq!(meta.correlation(), meta.id.to_string());
        assert_eq!(meta.headers.get("tenant").map(String::as_str), Some("acme"));
        assert_eq!(ids[ping.n as usize], meta.id);
    }
    // A pong published by a handler carries its ping as cause, across instances.
    for (_, pong) in pongs.lock().unwrap().iter() {
        let ping = ids[pong.n as usize];
        assert_eq!(pong.metadata().causation_id, Some(ping));
        assert_eq!(pong.metadata().correlation(), ping.to_string());
    }

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

/// A bus whose `count` handler records the ids it handled.
fn counting_bus(names: &Names, handled: &Arc<Mutex<Vec<EventId>>>) -> EventBus {
    let bus = EventBus::builder().source(names.source.clone()).build();
    let handled = Arc::clone(handled);
    bus.subscribe_with(
        SubscribeOptions::named("count"),
        move |ping: Envelope<Ping>| {
            handled.lock().unwrap().push(ping.id());
            async { Ok(()) }
        },
    )
    .unwrap()
    .detach();
    bus
}

fn shared(bus: &EventBus, names: &Names, instance: &str) -> BridgeConsumer {
    BridgeConsumer::new(
        bus.clone(),
        names.source.clone(),
        instance,
        Delivery::Shared,
        vec![Pattern::parse("#").unwrap()],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_held_by_a_dead_instance_is_redelivered_to_the_survivor_once() {
    let names = Names::new();
    let mut config = names.bridge_config();
    config.ack_wait = Duration::from_secs(1);

    // Instance A takes the event and never finishes with it.
    let taken = Arc::new(tokio::sync::Notify::new());
    let bus_a = EventBus::builder().source(names.source.clone()).build();
    bus_a
        .subscribe_with(SubscribeOptions::named("count"), {
            let taken = Arc::clone(&taken);
            move |_: Envelope<Ping>| {
                taken.notify_one();
                std::future::pending()
            }
        })
        .unwrap()
        .detach();
    let bridge_a = NatsBridge::new(config.clone()).unwrap();
    bridge_a.connect().await.unwrap();
    let consumer_a = shared(&bus_a, &names, "a");
    let task_a = tokio::spawn({
        let bridge = bridge_a.clone();
        let consumer = consumer_a.clone();
        async move { bridge.consume(consumer).await }
    });

    let event = WireEvent::new(Metadata::new(Ping::TOPIC), &Ping { n: 7 }).unwrap();
    let id = event.metadata.id;
    bridge_a.publish(&event).await.unwrap();
    timeout(WAIT, taken.notified())
        .await
        .expect("instance A took the event");

    // A dies: its consumer and its connection are gone, the event unacknowledged.
    task_a.abort();
    let _ = task_a.await;
    drop(consumer_a);
    drop(bridge_a);
    assert_eq!(consumer_state(&names).await.1, 1, "the event is pending");

    // B survives, and gets it once `ack_wait` has passed.
    let handled = Arc::new(Mutex::new(Vec::new()));
    let bus_b = counting_bus(&names, &handled);
    let bridge_b = NatsBridge::new(config).unwrap();
    let consumer_b = shared(&bus_b, &names, "b");
    let task_b = tokio::spawn({
        let bridge = bridge_b.clone();
        let consumer = consumer_b.clone();
        async move { bridge.consume(consumer).await }
    });
    wait_until("the survivor handled it", || {
        !handled.lock().unwrap().is_empty()
    })
    .await;
    wait_acknowledged(&names, 1).await;
    assert_eq!(*handled.lock().unwrap(), vec![id]);

    consumer_b.stop();
    timeout(WAIT, task_b).await.unwrap().unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_dead_lettered_and_the_consumer_goes_on() {
    let names = Names::new();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let bus = counting_bus(&names, &handled);
    let bridge = NatsBridge::new(names.bridge_config()).unwrap();
    let consumer = shared(&bus, &names, "a");
    let task = tokio::spawn({
        let bridge = bridge.clone();
        let consumer = consumer.clone();
        async move { bridge.consume(consumer).await }
    });
    bridge.connect().await.unwrap();

    let js = jetstream().await;
    let subject = bridge.subject(Ping::TOPIC);
    // Not JSON; JSON that is not an event; an event with a malformed topic.
    let id = EventId::new();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", id.to_string().as_str());
    js.publish_with_headers(subject.clone(), headers, "\u{0}garbage".into())
        .await
        .unwrap()
        .await
        .unwrap();
    js.publish(subject.clone(), "{\"hello\": 1}".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let mut bad_topic = WireEvent::new(Metadata::new("x"), &Ping { n: 0 }).unwrap();
    bad_topic.metadata.topic = "no..topic".into();
    js.publish(subject.clone(), bad_topic.to_bytes().into())
        .await
        .unwrap()
        .await
        .unwrap();
    // An event whose payload is not a `Ping`: the bus dead-letters it under its handler.
    let wrong = WireEvent::new(Metadata::new(Ping::TOPIC), &"not a ping").unwrap();
    bridge.publish(&wrong).await.unwrap();
    // And a good one after them all.
    let good = WireEvent::new(Metadata::new(Ping::TOPIC), &Ping { n: 1 }).unwrap();
    bridge.publish(&good).await.unwrap();

    wait_until("the good event handled", || {
        !handled.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(*handled.lock().unwrap(), vec![good.metadata.id]);
    wait_acknowledged(&names, 5).await;

    let letters = bus
        .dead_letters()
        .list(&DeadLetterQuery::default().handler(MALFORMED_HANDLER))
        .await
        .unwrap();
    assert_eq!(letters.len(), 3, "{letters:#?}");
    assert_eq!(letters[0].event_id(), id, "the message id is kept");
    assert_eq!(letters[0].event.metadata.topic, Ping::TOPIC);
    assert_eq!(letters[0].event.payload["subject"], subject.as_str());
    assert_eq!(letters[0].event.payload["body"], "\u{0}garbage");
    assert!(
        letters[0].error.contains("not a Cortex event"),
        "{}",
        letters[0].error
    );
    assert_eq!(letters[1].event.payload["body"], "{\"hello\": 1}");
    assert!(letters[2].error.contains("topic"), "{}", letters[2].error);
    let wrong_letters = bus
        .dead_letters()
        .list(&DeadLetterQuery::default().handler("count"))
        .await
        .unwrap();
    assert_eq!(wrong_letters.len(), 1);
    assert_eq!(wrong_letters[0].event_id(), wrong.metadata.id);

    consumer.stop();
    timeout(WAIT, task).await.unwrap().unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_name_what_is_wrong() {
    let names = Names::new();
    let build = |toml: String| async move {
        match App::with_config(Config::from_toml(&toml).unwrap())
            .plugin(EventsPlugin::default())
            .build()
            .await
        {
            Ok(_) => panic!("the app started"),
            Err(error) => error.to_string(),
        }
    };

    let error = build(
        names
            .toml("stream = \"a.b\"")
            .replace(&format!("stream = \"{}\"\n", names.stream), ""),
    )
    .await;
    assert!(error.contains("events.bridge.nats.stream"), "{error}");

    let error = build(names.toml("ack_wait = \"0s\"")).await;
    assert!(error.contains("events.bridge.nats.ack_wait"), "{error}");

    let error = build(names.toml("colour = \"red\"")).await;
    assert!(error.contains("events.bridge.nats.colour"), "{error}");

    // An unreachable server fails the start, its password masked.
    let error = build(
        names
            .toml("")
            .replace(URL, "nats://cortex:hunter2@127.0.0.1:1"),
    )
    .await;
    assert!(
        error.contains("nats://cortex:********@127.0.0.1:1"),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");

    // A stream of that name that does not take the bridge's subjects.
    jetstream()
        .await
        .create_stream(jetstream::stream::Config {
            name: names.stream.clone(),
            subjects: vec![format!("{}.other", names.prefix)],
            ..Default::default()
        })
        .await
        .unwrap();
    let error = build(names.toml("")).await;
    assert!(error.contains(&names.stream), "{error}");
    assert!(error.contains(&format!("{}.>", names.prefix)), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_handler_finish_and_acknowledges() {
    let names = Names::new();
    let started = Arc::new(tokio::sync::Notify::new());
    let finished = Arc::new(Mutex::new(0));
    let app = App::with_config(Config::from_toml(&names.toml("")).unwrap()).plugin(
        EventsPlugin::default().handler(
            HandlerDescriptor::new("slow", {
                let started = Arc::clone(&started);
                let finished = Arc::clone(&finished);
                move |_scope, _: Envelope<Ping>| {
                    let started = Arc::clone(&started);
                    let finished = Arc::clone(&finished);
                    async move {
                        started.notify_one();
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        *finished.lock().unwrap() += 1;
                        Ok::<_, BoxError>(())
                    }
                }
            })
            .retry(RetryPolicy::none()),
        ),
    );
    let running = app
        .build()
        .await
        .unwrap()
        .bind_to(any_port())
        .await
        .unwrap();
    wait_healthy(running.container()).await;
    let bus = running.container().get::<EventBus>().unwrap();
    bus.publish(Ping { n: 1 }).await.unwrap();
    timeout(WAIT, started.notified()).await.unwrap();

    let begun = std::time::Instant::now();
    running.shutdown().await.unwrap();
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "{:?}",
        begun.elapsed()
    );
    assert_eq!(*finished.lock().unwrap(), 1);
    // What the handler finished was acknowledged before the app stopped.
    assert_eq!(consumer_state(&names).await, (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_resume_after_the_connection_is_lost() {
    let names = Names::new();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let bus = counting_bus(&names, &handled);
    let mut stream = bus.stream::<Ping>();
    let bridge = NatsBridge::new(names.bridge_config()).unwrap();
    bridge.connect().await.unwrap();
    let consumers = [
        shared(&bus, &names, "a"),
        BridgeConsumer::new(
            bus.clone(),
            names.source.clone(),
            "a",
            Delivery::Broadcast,
            vec![Pattern::parse("nats_test.*").unwrap()],
        ),
    ];
    let tasks: Vec<_> = consumers
        .iter()
        .map(|consumer| {
            let bridge = bridge.clone();
            let consumer = consumer.clone();
            tokio::spawn(async move { bridge.consume(consumer).await })
        })
        .collect();
    wait_consumers(&names, 2).await;

    let publish = |n: u32| {
        let bridge = bridge.clone();
        async move {
            let event = WireEvent::new(Metadata::new(Ping::TOPIC), &Ping { n }).unwrap();
            bridge.publish(&event).await.unwrap();
            event.metadata.id
        }
    };
    let first = publish(1).await;
    wait_until("the first event handled", || {
        handled.lock().unwrap().len() == 1
    })
    .await;
    assert_eq!(
        timeout(WAIT, stream.next()).await.unwrap().unwrap().id(),
        first
    );

    // The connection drops; the client reconnects by itself, and the consumers go on.
    let client = bridge.client().expect("connected").clone();
    let connects = || {
        client
            .statistics()
            .connects
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = connects();
    client.force_reconnect().await.unwrap();
    wait_until("the client reconnected", || {
        connects() > before && client.connection_state() == async_nats::connection::State::Connected
    })
    .await;
    let mut ids = vec![first];
    for n in 2..=4 {
        ids.push(publish(n).await);
    }
    wait_until("the later events handled", || {
        handled.lock().unwrap().len() == 4
    })
    .await;
    assert_eq!(*handled.lock().unwrap(), ids);
    for id in &ids[1..] {
        assert_eq!(
            timeout(WAIT, stream.next()).await.unwrap().unwrap().id(),
            *id
        );
    }

    for consumer in &consumers {
        consumer.stop();
    }
    for task in tasks {
        timeout(WAIT, task).await.unwrap().unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_consumer_follows_a_change_of_topics_and_limits() {
    let names = Names::new();
    let bus = EventBus::builder().source(names.source.clone()).build();
    let run = |patterns: &[&str], ack_wait: u64| {
        let mut config = names.bridge_config();
        config.ack_wait = Duration::from_secs(ack_wait);
        let bridge = NatsBridge::new(config).unwrap();
        let consumer = BridgeConsumer::new(
            bus.clone(),
            names.source.clone(),
            "a",
            Delivery::Shared,
            patterns
                .iter()
                .map(|p| Pattern::parse(p).unwrap())
                .collect(),
        );
        let task = tokio::spawn({
            let consumer = consumer.clone();
            async move { bridge.consume(consumer).await }
        });
        (consumer, task)
    };
    // The consumer's settings, once the bridge made the stream and the consumer.
    let info = || async {
        let stream = jetstream().await.get_stream(&names.stream).await.ok()?;
        let info = stream.consumer_info(&names.source).await.ok()?;
        Some(info.config)
    };

    let (consumer, task) = run(&["nats_test.ping"], 30);
    let expected = format!("{}.nats_test.ping", names.prefix);
    timeout(WAIT, async {
        while info().await.is_none_or(|c| c.filter_subject != expected) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    consumer.stop();
    timeout(WAIT, task).await.unwrap().unwrap().unwrap();

    let (consumer, task) = run(&["nats_test.#"], 3);
    let expected = format!("{}.nats_test.>", names.prefix);
    let everything = format!("{}.>", names.prefix);
    timeout(WAIT, async {
        loop {
            if let Some(config) = info().await {
                let filters: Vec<&str> = std::iter::once(config.filter_subject.as_str())
                    .chain(config.filter_subjects.iter().map(String::as_str))
                    .filter(|f| !f.is_empty())
                    .collect();
                // Two filters from NATS 2.10 on, one wider filter before.
                let updated =
                    filters.contains(&expected.as_str()) || filters == [everything.as_str()];
                if updated && config.ack_wait == Duration::from_secs(3) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the consumer was updated");
    consumer.stop();
    timeout(WAIT, task).await.unwrap().unwrap().unwrap();
}
