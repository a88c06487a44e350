//! Fixtures of the event-bus benchmarks: the same publish→handle pipeline built two ways, on the
//! in-process [`EventBus`] and on bare tokio channels, with the same work per event.
//!
//! | side | publisher | each subscriber |
//! | --- | --- | --- |
//! | [`Side::Bus`] | `EventBus::publish(Tick)` (a standalone bus, `EventBus::new()`: queues of 1,024 that make the publisher wait) | a handler (`bus.subscribe`) on its own worker task |
//! | [`Side::Channel`] | `Sender::send(Tick)` to each subscriber's `tokio::sync::mpsc::channel(1024)` | a task looping on `Receiver::recv` |
//!
//! With 8 subscribers both sides fan out the same way: the publisher hands each event to 8
//! bounded queues, each drained by its own task. The work per event is [`Work::handle`] on both
//! sides (an atomic add, an atomic count, and a wake-up of the waiting publisher after the last
//! event of a batch); [`Pipeline::run`] returns when every subscriber has handled every event of
//! the batch.
//!
//! | benchmark | what it measures |
//! | --- | --- |
//! | `throughput` | events per second (per core on a current-thread runtime, and wall clock on a two-worker runtime), the ratio of the bus to the channels in the same round; `publish_and_wait`'s latency |
//! | `instructions` | instructions per event of the same pipelines under callgrind (publisher and handlers: one thread) |
//!
//! `scripts/bench --events` runs both; `docs/src/performance.md` reports the figures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cortex_events::{Envelope, Event, EventBus, Subscription};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

/// The bus's default queue capacity, given to the channels too.
pub const CAPACITY: usize = 1024;

/// The event both sides carry.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Tick {
    /// What the handlers add up.
    pub n: u64,
}

impl Event for Tick {
    const TOPIC: &'static str = "bench.tick";
}

/// What every subscriber does with an event, on both sides, and how the publisher learns that a
/// batch is done.
#[derive(Debug, Default)]
pub struct Work {
    sum: AtomicU64,
    handled: AtomicU64,
    /// Handled events that end the batch.
    target: AtomicU64,
    done: Notify,
}

impl Work {
    /// Handles one event: adds its `n`, counts it, wakes the publisher after the batch's last.
    #[inline]
    pub fn handle(&self, n: u64) {
        self.sum.fetch_add(n, Ordering::Relaxed);
        if self.handled.fetch_add(1, Ordering::AcqRel) + 1 == self.target.load(Ordering::Acquire) {
            self.done.notify_one();
        }
    }

    /// Starts a batch that ends after `handled` more events.
    fn expect(&self, handled: u64) {
        self.sum.store(0, Ordering::Relaxed);
        self.handled.store(0, Ordering::Release);
        self.target.store(handled, Ordering::Release);
    }

    /// Waits until the batch is handled; returns the sum of what was handled.
    async fn wait(&self) -> u64 {
        loop {
            let done = self.done.notified();
            if self.handled.load(Ordering::Acquire) >= self.target.load(Ordering::Acquire) {
                return self.sum.load(Ordering::Relaxed);
            }
            done.await;
        }
    }
}

/// Which implementation a [`Pipeline`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Bare tokio `mpsc` channels: the baseline.
    Channel,
    /// The event bus.
    Bus,
}

impl Side {
    /// The name the benchmarks print.
    pub fn name(self) -> &'static str {
        match self {
            Side::Channel => "channel",
            Side::Bus => "bus",
        }
    }
}

enum Fanout {
    Channel {
        senders: Vec<mpsc::Sender<Tick>>,
        _consumers: Vec<JoinHandle<()>>,
    },
    Bus {
        bus: EventBus,
        _subscriptions: Vec<Subscription>,
    },
}

/// A publisher and its subscribers, on one side.
pub struct Pipeline {
    side: Side,
    subscribers: usize,
    work: Arc<Work>,
    fanout: Fanout,
}

impl Pipeline {
    /// The pipeline with `subscribers` subscribers; call it inside a tokio runtime (it spawns
    /// their tasks).
    pub fn new(side: Side, subscribers: usize) -> Self {
        let work = Arc::new(Work::default());
        let fanout = match side {
            Side::Channel => {
                let (senders, consumers) = (0..subscribers)
                    .map(|_| {
                        let (tx, mut rx) = mpsc::channel::<Tick>(CAPACITY);
                        let work = Arc::clone(&work);
                        let consumer = tokio::spawn(async move {
                            while let Some(tick) = rx.recv().await {
                                work.handle(tick.n);
                            }
                        });
                        (tx, consumer)
                    })
                    .unzip();
                Fanout::Channel {
                    senders,
                    _consumers: consumers,
                }
            }
            Side::Bus => {
                let bus = EventBus::new();
                let subscriptions = (0..subscribers)
                    .map(|_| {
                        let work = Arc::clone(&work);
                        bus.subscribe(move |tick: Envelope<Tick>| {
                            work.handle(tick.n);
                            std::future::ready(Ok(()))
                        })
                        .expect("a subscription")
                    })
                    .collect();
                Fanout::Bus {
                    bus,
                    _subscriptions: subscriptions,
                }
            }
        };
        Pipeline {
            side,
            subscribers,
            work,
            fanout,
        }
    }

    /// Its side.
    pub fn side(&self) -> Side {
        self.side
    }

    /// How many subscribers it has.
    pub fn subscribers(&self) -> usize {
        self.subscribers
    }

    /// Publishes `events` events (`n` = 0, 1, …) and returns when every subscriber has handled
    /// every one of them.
    pub async fn run(&self, events: u64) {
        self.work.expect(events * self.subscribers as u64);
        match &self.fanout {
            Fanout::Channel { senders, .. } => {
                for n in 0..events {
                    for tx in senders {
                        tx.send(Tick { n }).await.expect("the consumer runs");
                    }
                }
            }
            Fanout::Bus { bus, .. } => {
                for n in 0..events {
                    bus.publish(Tick { n }).await.expect("published");
                }
            }
        }
        self.check(events).await;
    }

    /// Publishes `events` events one at a time with `EventBus::publish_and_wait` (each returns
    /// when every subscriber has handled it). The bus only.
    pub async fn run_and_wait(&self, events: u64) {
        let Fanout::Bus { bus, .. } = &self.fanout else {
            panic!("publish_and_wait is the bus's");
        };
        self.work.expect(events * self.subscribers as u64);
        for n in 0..events {
            let completion = bus.publish_and_wait(Tick { n }).await.expect("published");
            assert_eq!(completion.outcomes.len(), self.subscribers);
        }
        self.check(events).await;
    }

    async fn check(&self, events: u64) {
        let sum = tokio::time::timeout(Duration::from_secs(60), self.work.wait())
            .await
            .expect("every event handled within a minute");
        assert_eq!(
            sum,
            self.subscribers as u64 * events * events.saturating_sub(1) / 2,
            "each subscriber handled each event once"
        );
    }
}

/// CPU time of the calling thread so far (`/proc/thread-self/schedstat`, nanoseconds; Linux).
pub fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat is readable (Linux)");
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("schedstat starts with nanoseconds on CPU");
    Duration::from_nanos(nanos)
}

/// The machine's load average (1, 5 and 15 minutes), for the report.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
