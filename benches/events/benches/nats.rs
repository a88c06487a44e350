//! End-to-end latency of one event through the NATS JetStream bridge: `EventBus::publish` (the
//! JetStream publish, its acknowledgement awaited) → the server → the shared consumer's pull →
//! the handler, in an app built with the `EventsPlugin` and `[events.bridge] kind = "nats"`
//! against the NATS server on 127.0.0.1:4222; and the same handler on the in-process bus (no
//! bridge) as the baseline, in the same run.
//!
//! ```text
//! cargo bench -p cortex-events-bench --bench nats -- [--events 2000] [--warm-up 200]
//! ```
//!
//! Events are sent one at a time (the next once the handler had the previous one), so each
//! figure is the latency of an idle path, not of a queue. The percentiles are over `--events`
//! events after `--warm-up` unmeasured ones. The stream (a unique name) is deleted at the end.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use cortex::events::{Envelope, Event, EventBus, EventsPlugin, HandlerDescriptor};
use cortex_core::App;
use cortex_core::config::Config;
use cortex_di::BoxError;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

const URL: &str = "nats://127.0.0.1:4222";

#[derive(Serialize, Deserialize)]
struct Tick {
    n: u64,
}

impl Event for Tick {
    const TOPIC: &'static str = "bench.tick";
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An app whose handler reports each event on `tx`; bridged through NATS when `nats` names the
/// stream and subject prefix.
async fn app(nats: Option<(&str, &str)>, tx: mpsc::UnboundedSender<u64>) -> cortex_core::Running {
    let mut toml = "[events]\nsource = \"bench\"\n".to_string();
    if let Some((stream, prefix)) = nats {
        toml.push_str(&format!(
            "[events.bridge]\nkind = \"nats\"\n[events.bridge.nats]\nurl = \"{URL}\"\nstream = \"{stream}\"\nsubject_prefix = \"{prefix}\"\n"
        ));
    }
    App::with_config(Config::from_toml(&toml).unwrap())
        .plugin(EventsPlugin::default().handler(HandlerDescriptor::new(
            "tick",
            move |_scope, tick: Envelope<Tick>| {
                let _ = tx.send(tick.n);
                async { Ok::<_, BoxError>(()) }
            },
        )))
        .build()
        .await
        .expect("the app builds (is NATS with JetStream on 127.0.0.1:4222?)")
        .bind_to("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Latencies of `count` events after `warm_up`, each published once the previous one arrived.
async fn measure(
    bus: &EventBus,
    rx: &mut mpsc::UnboundedReceiver<u64>,
    warm_up: usize,
    count: usize,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(count);
    for n in 0..(warm_up + count) as u64 {
        let started = Instant::now();
        bus.publish(Tick { n }).await.unwrap();
        loop {
            let got = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .expect("the handler got the event")
                .unwrap();
            if got == n {
                break;
            }
        }
        if n as usize >= warm_up {
            latencies.push(started.elapsed());
        }
    }
    latencies.sort();
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

fn report(name: &str, latencies: &[Duration]) {
    println!(
        "{name:<28} p50 {:>9.1} µs   p99 {:>9.1} µs   max {:>9.1} µs   ({} events)",
        percentile(latencies, 0.50).as_secs_f64() * 1e6,
        percentile(latencies, 0.99).as_secs_f64() * 1e6,
        latencies.last().unwrap().as_secs_f64() * 1e6,
        latencies.len()
    );
}

fn main() {
    let count = arg("--events", 2000);
    let warm_up = arg("--warm-up", 200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let stream = format!("CX_BENCH_{id}");
        let prefix = format!("cxbench{id}");

        let (tx, mut rx) = mpsc::unbounded_channel();
        let local = app(None, tx).await;
        let bus = local.container().get::<EventBus>().unwrap();
        let in_process = measure(&bus, &mut rx, warm_up, count).await;
        local.shutdown().await.unwrap();

        let (tx, mut rx) = mpsc::unbounded_channel();
        let bridged = app(Some((&stream, &prefix)), tx).await;
        let bus = bridged.container().get::<EventBus>().unwrap();
        let through_nats = measure(&bus, &mut rx, warm_up, count).await;
        bridged.shutdown().await.unwrap();

        report("in process", &in_process);
        report("through NATS JetStream", &through_nats);

        let client = async_nats::connect(URL).await.unwrap();
        let _ = async_nats::jetstream::new(client)
            .delete_stream(&stream)
            .await;
    });
}
