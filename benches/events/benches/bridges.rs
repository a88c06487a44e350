//! End-to-end latency of one event, publish → handler, one event in flight at a time:
//!
//! - `in-process`: an app's bus without a bridge (the floor);
//! - `redis bridge`: two app instances (each with its `EventsPlugin`, `[events.bridge] kind =
//!   "redis"`, the same source) sharing a stream on 127.0.0.1:6379; the event is published in
//!   the first and handled by whichever instance's consumer takes it;
//! - `bare redis`: the same bytes through `XADD`, a blocking `XREADGROUP` on another connection
//!   and `XACK`, with nothing else (what Redis itself costs).
//!
//! The variants run in interleaved rounds; p50 and p99 over every event of every round are
//! printed, in microseconds.
//!
//! ```text
//! cargo bench -p cortex-events-bench --bench bridges [-- --events 2000 --rounds 5]
//! ```
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use cortex_core::App;
use cortex_core::config::Config;
use cortex_core::testing::TestApp;
use cortex_di::BoxError;
use cortex_events::{
    Envelope, Event, EventBus, EventsPlugin, HandlerDescriptor, Metadata, WireEvent,
};
use tokio::sync::mpsc;

const REDIS: &str = "redis://127.0.0.1:6379";

#[derive(serde::Serialize, serde::Deserialize)]
struct OrderPlaced {
    order: u64,
    total_cents: u64,
}

impl Event for OrderPlaced {
    const TOPIC: &'static str = "bench.order.placed";
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at].as_secs_f64() * 1e6
}

/// An app whose handler reports when it ran.
async fn instance(config: &str, handled: mpsc::UnboundedSender<Instant>) -> TestApp {
    let handler = HandlerDescriptor::new(
        "reserve_stock",
        move |_scope, _order: Envelope<OrderPlaced>| {
            let handled = handled.clone();
            async move {
                let _ = handled.send(Instant::now());
                Ok::<_, BoxError>(())
            }
        },
    );
    TestApp::new(
        App::with_config(Config::from_toml(config).unwrap())
            .plugin(EventsPlugin::default().handler(handler)),
    )
    .await
}

fn bus(app: &TestApp) -> EventBus {
    app.container().get::<EventBus>().unwrap().as_ref().clone()
}

/// Publishes `n` events one at a time; each one's latency to its handler.
async fn through_bus(
    bus: &EventBus,
    handled: &mut mpsc::UnboundedReceiver<Instant>,
    n: usize,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(n);
    for order in 0..n as u64 {
        let sent = Instant::now();
        bus.publish(OrderPlaced {
            order,
            total_cents: 4200,
        })
        .await
        .unwrap();
        let at = handled.recv().await.unwrap();
        latencies.push(at - sent);
    }
    latencies
}

/// `XADD` → `XREADGROUP` (blocking, its own connection, in a task of its own as the bridge's
/// consumer is) → `XACK`, `n` times.
async fn bare(stream: &str, n: usize) -> Vec<Duration> {
    let client = redis::Client::open(REDIS).unwrap();
    let mut writer = client.get_multiplexed_async_connection().await.unwrap();
    let config =
        redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(5)));
    let mut reader = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    let _: Result<(), _> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg("bare")
        .arg("$")
        .arg("MKSTREAM")
        .query_async(&mut writer)
        .await;
    let (read_tx, mut read) = mpsc::unbounded_channel();
    let consumer = {
        let stream = stream.to_string();
        tokio::spawn(async move {
            let mut left = n;
            while left > 0 {
                let reply: redis::Value = redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg("bare")
                    .arg("c")
                    .arg("COUNT")
                    .arg(64)
                    .arg("BLOCK")
                    .arg(1000)
                    .arg("STREAMS")
                    .arg(&stream)
                    .arg(">")
                    .query_async(&mut reader)
                    .await
                    .unwrap();
                let at = Instant::now();
                for id in entry_ids(&reply) {
                    let _: i64 = redis::cmd("XACK")
                        .arg(&stream)
                        .arg("bare")
                        .arg(&id)
                        .query_async(&mut reader)
                        .await
                        .unwrap();
                    let _ = read_tx.send(at);
                    left -= 1;
                }
            }
        })
    };
    let mut metadata = Metadata::new(OrderPlaced::TOPIC);
    metadata.source = "bench".into();
    let bytes = WireEvent::new(
        metadata,
        &OrderPlaced {
            order: 1,
            total_cents: 4200,
        },
    )
    .unwrap()
    .to_bytes();
    let mut latencies = Vec::with_capacity(n);
    for _ in 0..n {
        let sent = Instant::now();
        let _: String = redis::cmd("XADD")
            .arg(stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(100_000)
            .arg("*")
            .arg("topic")
            .arg(OrderPlaced::TOPIC)
            .arg("event")
            .arg(&bytes)
            .query_async(&mut writer)
            .await
            .unwrap();
        let at = read.recv().await.unwrap();
        latencies.push(at - sent);
    }
    consumer.await.unwrap();
    latencies
}

/// The ids in an `XREADGROUP` reply on one stream.
fn entry_ids(reply: &redis::Value) -> Vec<String> {
    let redis::Value::Array(streams) = reply else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    for stream in streams {
        let redis::Value::Array(parts) = stream else {
            continue;
        };
        let Some(redis::Value::Array(entries)) = parts.get(1) else {
            continue;
        };
        for entry in entries {
            if let redis::Value::Array(fields) = entry
                && let Some(redis::Value::BulkString(id)) = fields.first()
            {
                ids.push(String::from_utf8_lossy(id).into_owned());
            }
        }
    }
    ids
}

fn main() {
    let events = arg("--events", 2000);
    let rounds = arg("--rounds", 5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let stream = format!("cortex:bench:{id}");
        let bare_stream = format!("cortex:bench:bare:{id}");
        let source = format!("bench-{}", &id[id.len() - 8..]);
        let bridged = format!(
            "[events]\nsource = '{source}'\n[events.bridge]\nkind = 'redis'\n[events.bridge.redis]\nurl = '{REDIS}'\nstream = '{stream}'"
        );
        let (tx_local, mut local_handled) = mpsc::unbounded_channel();
        let local = instance("[events]\nsource = 'bench-local'", tx_local).await;
        let (tx, mut handled) = mpsc::unbounded_channel();
        let a = instance(&bridged, tx.clone()).await;
        let b = instance(&bridged, tx).await;
        let (local_bus, bus_a) = (bus(&local), bus(&a));

        // Warm up: connections made, the group created, both consumers reading.
        through_bus(&local_bus, &mut local_handled, 200).await;
        through_bus(&bus_a, &mut handled, 200).await;
        bare(&bare_stream, 50).await;

        let (mut in_process, mut bridge, mut redis) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            in_process.extend(through_bus(&local_bus, &mut local_handled, events).await);
            bridge.extend(through_bus(&bus_a, &mut handled, events).await);
            redis.extend(bare(&bare_stream, events).await);
        }
        println!("end-to-end latency publish → handler, {events} events × {rounds} rounds, one in flight (µs)");
        println!("{:<14} {:>10} {:>10}", "variant", "p50", "p99");
        for (name, mut samples) in [
            ("in-process", in_process),
            ("redis bridge", bridge),
            ("bare redis", redis),
        ] {
            samples.sort();
            println!("{name:<14} {:>10.1} {:>10.1}", percentile(&samples, 0.5), percentile(&samples, 0.99));
        }

        local.shutdown().await;
        a.shutdown().await;
        b.shutdown().await;
        let mut connection = redis::Client::open(REDIS)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let _: i64 = redis::cmd("DEL").arg(&stream).arg(&bare_stream).query_async(&mut connection).await.unwrap();
    });
}
