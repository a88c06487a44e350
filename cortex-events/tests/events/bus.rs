//! The bus's delivery semantics, as the crate's docs state them: per-subscriber order, isolation
//! of failing and panicking handlers, retries and dead letters, replay, backpressure, unsubscribe,
//! streams, interceptors, metadata, shutdown, the plugin and the metrics.
//!
//! Nothing here sleeps and hopes: tests wait for conditions under a timeout ([`within`]), gate
//! handlers with semaphores, and run on tokio's paused clock where backoffs and drain timeouts
//! are involved.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cortex_core::App;
use cortex_core::axum::{Router, routing::post};
use cortex_core::config::Config;
use cortex_core::testing::TestApp;
use cortex_di::{BoxError, Dependency, Inject, OnScopeEnd, Provider, Scope, ScopeOutcome};
use cortex_events::testing::EventCapture;
use cortex_events::{
    BridgeConsumer, BusBridge, DeadLetterQuery, DeadLetterStore, Delivery, Envelope, Event,
    EventBus, EventsPlugin, HandleContext, HandlerDescriptor, HandlerFailure, HandlerOutcome,
    Interceptor, Json, MemoryDeadLetters, Metadata, Next, Overflow, Pattern, PublishError,
    ReplayError, RetryPolicy, SubscribeError, SubscribeOptions, TopicError, WireEvent,
};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

macro_rules! events {
    ($($name:ident = $topic:literal),* $(,)?) => {$(
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        struct $name {
            n: u32,
        }

        impl Event for $name {
            const TOPIC: &'static str = $topic;
        }
    )*};
}

events!(
    Placed = "order.placed",
    Shipped = "order.shipped",
    Paid = "payment.paid",
);

/// How long a test waits for something that should happen (paused-clock tests get there at
/// once when it cannot happen any more).
const WAIT: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {WAIT:?}"))
}

/// What handlers saw, and a way to wait until they saw enough.
struct Seen<T> {
    items: Mutex<Vec<T>>,
    changed: Notify,
}

fn seen<T>() -> Arc<Seen<T>> {
    Arc::new(Seen {
        items: Mutex::new(Vec::new()),
        changed: Notify::new(),
    })
}

impl<T: Clone> Seen<T> {
    fn push(&self, item: T) {
        self.items.lock().unwrap().push(item);
        self.changed.notify_waiters();
    }

    fn get(&self) -> Vec<T> {
        self.items.lock().unwrap().clone()
    }

    /// Waits until at least `n` items were seen; returns them all.
    async fn until(&self, n: usize) -> Vec<T> {
        within(&format!("{n} item(s) seen"), async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if self.items.lock().unwrap().len() >= n {
                    return self.get();
                }
                changed.await;
            }
        })
        .await
    }
}

/// A gate handlers wait at until the test lets them through.
#[derive(Clone)]
struct Gate(Arc<Semaphore>);

impl Gate {
    fn closed() -> Self {
        Gate(Arc::new(Semaphore::new(0)))
    }

    async fn pass(&self) {
        self.0.acquire().await.unwrap().forget();
    }

    fn open(&self, passes: usize) {
        self.0.add_permits(passes);
    }
}

type Handler<E> =
    Box<dyn Fn(Envelope<E>) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;

/// A handler that records each event's `n`.
fn recording(seen: &Arc<Seen<u32>>) -> Handler<Placed> {
    let seen = Arc::clone(seen);
    Box::new(move |placed| {
        seen.push(placed.n);
        Box::pin(async { Ok(()) })
    })
}

/// A handler that records each event's `n` as it starts (`entered`), waits at `gate`, then
/// records it again (`handled`).
fn gated(gate: &Gate, entered: &Arc<Seen<u32>>, handled: &Arc<Seen<u32>>) -> Handler<Placed> {
    let (gate, entered, handled) = (gate.clone(), Arc::clone(entered), Arc::clone(handled));
    Box::new(move |placed| {
        let (gate, entered, handled) = (gate.clone(), Arc::clone(&entered), Arc::clone(&handled));
        Box::pin(async move {
            entered.push(placed.n);
            gate.pass().await;
            handled.push(placed.n);
            Ok(())
        })
    })
}

fn outcome(handler: &str, result: Result<(), HandlerFailure>) -> HandlerOutcome {
    HandlerOutcome {
        handler: handler.into(),
        result,
    }
}

fn dead_lettered(attempts: u32, error: &str) -> Result<(), HandlerFailure> {
    Err(HandlerFailure::DeadLettered {
        attempts,
        error: error.into(),
    })
}

async fn letters(bus: &EventBus, handler: &str) -> Vec<cortex_events::DeadLetter> {
    bus.dead_letters()
        .list(&DeadLetterQuery::default().handler(handler).limit(10_000))
        .await
        .unwrap()
}

// ----------------------------------------------------------------------------------------------
// Order

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_subscriber_handles_each_topic_in_publish_order() {
    // Small queues, so publishers wait for the slow handlers and interleave with them.
    let bus = EventBus::builder().capacity(8).build();
    let all: Arc<Seen<(String, u32)>> = seen();
    let _all = bus
        .subscribe_with(SubscribeOptions::named("all").pattern("#"), {
            let all = Arc::clone(&all);
            move |event: Envelope<Json>| {
                let all = Arc::clone(&all);
                async move {
                    // A slow handler: it gives the publishers time to run ahead.
                    for _ in 0..3 {
                        tokio::task::yield_now().await;
                    }
                    let n = event.0["n"].as_u64().unwrap() as u32;
                    all.push((event.topic().to_string(), n));
                    Ok(())
                }
            }
        })
        .unwrap();
    let placed = seen();
    let _placed = bus
        .subscribe_with(
            SubscribeOptions::named("placed").capacity(2),
            recording(&placed),
        )
        .unwrap();

    // One publisher interleaves two topics (500 events); another publishes a third (500).
    let orders = tokio::spawn({
        let bus = bus.clone();
        async move {
            for n in 0..500_u32 {
                if n.is_multiple_of(2) {
                    bus.publish(Placed { n }).await.unwrap();
                } else {
                    bus.publish(Shipped { n }).await.unwrap();
                }
            }
        }
    });
    let payments = tokio::spawn({
        let bus = bus.clone();
        async move {
            for n in 0..500 {
                bus.publish(Paid { n }).await.unwrap();
            }
        }
    });
    within("the publishers finish", async {
        orders.await.unwrap();
        payments.await.unwrap();
    })
    .await;

    let all = all.until(1000).await;
    assert_eq!(all.len(), 1000);
    let of = |topics: &[&str]| -> Vec<u32> {
        all.iter()
            .filter(|(topic, _)| topics.contains(&topic.as_str()))
            .map(|(_, n)| *n)
            .collect()
    };
    // One publisher's events, whatever their topic, in the order it published them.
    assert_eq!(
        of(&["order.placed", "order.shipped"]),
        (0..500).collect::<Vec<_>>()
    );
    assert_eq!(
        of(&["order.placed"]),
        (0..500).step_by(2).collect::<Vec<_>>()
    );
    assert_eq!(of(&["payment.paid"]), (0..500).collect::<Vec<_>>());
    assert_eq!(
        placed.until(250).await,
        (0..500).step_by(2).collect::<Vec<_>>()
    );
}

// ----------------------------------------------------------------------------------------------
// Isolation

fn explode(n: u32) -> Result<(), BoxError> {
    if n.is_multiple_of(2) {
        panic!("boom {n}");
    }
    // A panic whose payload is not a string.
    std::panic::panic_any(n)
}

#[tokio::test]
async fn a_failing_or_panicking_handler_affects_neither_the_publisher_nor_the_others() {
    let bus = EventBus::builder().retry(RetryPolicy::none()).build();
    let _failing = bus
        .subscribe_with(
            SubscribeOptions::named("failing"),
            |placed: Envelope<Placed>| async move { Err(format!("cannot handle {}", placed.n).into()) },
        )
        .unwrap();
    let _panicking = bus
        .subscribe_with(
            SubscribeOptions::named("panicking"),
            |placed: Envelope<Placed>| async move { explode(placed.n) },
        )
        .unwrap();
    let healthy = seen();
    let _healthy = bus
        .subscribe_with(SubscribeOptions::named("healthy"), recording(&healthy))
        .unwrap();

    for n in 0..20 {
        bus.publish(Placed { n })
            .await
            .expect("a handler's failure never reaches the publisher");
    }
    // Per-subscriber order: once this one is done, every earlier one is.
    let completion = bus.publish_and_wait(Placed { n: 20 }).await.unwrap();
    assert_eq!(
        completion.outcomes,
        [
            outcome("failing", dead_lettered(1, "cannot handle 20")),
            outcome(
                "panicking",
                dead_lettered(1, "the handler panicked: boom 20")
            ),
            outcome("healthy", Ok(())),
        ]
    );
    let failed: Vec<&str> = completion.failures().map(|o| &*o.handler).collect();
    assert_eq!(failed, ["failing", "panicking"]);
    assert_eq!(healthy.get(), (0..=20).collect::<Vec<_>>());

    let failed = letters(&bus, "failing").await;
    assert_eq!(failed.len(), 21);
    let panicked = letters(&bus, "panicking").await;
    assert_eq!(panicked.len(), 21);
    for letter in &panicked {
        let n = letter.event.payload["n"].as_u64().unwrap();
        let expected = if n % 2 == 0 {
            format!("the handler panicked: boom {n}")
        } else {
            "the handler panicked: a non-string panic payload".to_string()
        };
        assert_eq!(letter.error, expected);
        assert_eq!(letter.attempts, 1);
    }
    assert!(letters(&bus, "healthy").await.is_empty());
}

// ----------------------------------------------------------------------------------------------
// Retries and dead letters

#[tokio::test(start_paused = true)]
async fn a_failed_attempt_is_retried_after_the_policy_s_backoff() {
    let bus = EventBus::new();
    let attempts: Arc<Seen<(u32, Instant)>> = seen();
    let policy = RetryPolicy::default()
        .retries(3)
        .initial(Duration::from_millis(100))
        .factor(2.0)
        .jitter(0.0);
    let _flaky = bus
        .subscribe_with(SubscribeOptions::named("flaky").retry(policy), {
            let attempts = Arc::clone(&attempts);
            move |placed: Envelope<Placed>| {
                attempts.push((placed.attempt(), Instant::now()));
                let attempt = placed.attempt();
                async move {
                    if attempt < 3 {
                        Err(format!("attempt {attempt} failed").into())
                    } else {
                        Ok(())
                    }
                }
            }
        })
        .unwrap();

    let started = Instant::now();
    let completion = bus.publish_and_wait(Placed { n: 1 }).await.unwrap();
    assert_eq!(completion.outcomes, [outcome("flaky", Ok(()))]);
    let attempts = attempts.get();
    assert_eq!(
        attempts.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(attempts[0].1 - started, Duration::ZERO);
    assert_eq!(attempts[1].1 - attempts[0].1, Duration::from_millis(100));
    assert_eq!(attempts[2].1 - attempts[1].1, Duration::from_millis(200));
    assert!(letters(&bus, "flaky").await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn after_the_last_retry_the_event_is_dead_lettered_with_the_last_error() {
    let bus = EventBus::new();
    let policy = RetryPolicy::default()
        .retries(2)
        .initial(Duration::from_millis(10))
        .jitter(0.0);
    let _mailer = bus
        .subscribe_with(
            SubscribeOptions::named("mailer").retry(policy),
            |placed: Envelope<Placed>| async move {
                Err(format!("smtp down (attempt {})", placed.attempt()).into())
            },
        )
        .unwrap();

    let completion = bus.publish_and_wait(Placed { n: 5 }).await.unwrap();
    assert_eq!(
        completion.outcomes,
        [outcome("mailer", dead_lettered(3, "smtp down (attempt 3)"))]
    );
    assert_eq!(
        completion.clone().into_result().unwrap_err().to_string(),
        format!(
            "event {}: `mailer` failed 3 time(s), dead-lettered: smtp down (attempt 3)",
            completion.id
        )
    );

    let stored = letters(&bus, "mailer").await;
    assert_eq!(stored.len(), 1);
    let letter = &stored[0];
    assert_eq!(letter.handler, "mailer");
    assert_eq!(letter.error, "smtp down (attempt 3)");
    assert_eq!(letter.attempts, 3);
    assert_eq!(letter.event_id(), completion.id);
    assert_eq!(letter.event.metadata.topic, "order.placed");
    assert_eq!(letter.event.payload, serde_json::json!({ "n": 5 }));
    let fetched = bus
        .dead_letters()
        .get(completion.id, "mailer")
        .await
        .unwrap();
    assert_eq!(fetched.as_ref(), Some(letter));
    assert!(
        bus.dead_letters()
            .get(completion.id, "other")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_undecodable_payload_is_dead_lettered_at_once_without_retries() {
    let bus = EventBus::new(); // 3 retries by default
    let calls = Arc::new(AtomicU32::new(0));
    let _typed = bus
        .subscribe_with(SubscribeOptions::named("typed"), {
            let calls = Arc::clone(&calls);
            move |_: Envelope<Placed>| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Ok(()) }
            }
        })
        .unwrap();
    let any = seen();
    let _any = bus
        .subscribe_with(
            SubscribeOptions::named("any").pattern("order.#"),
            move |event: Envelope<Json>| {
                any.push(event.0.clone());
                async { Ok(()) }
            },
        )
        .unwrap();

    let wire = WireEvent {
        metadata: Metadata::new("order.placed"),
        payload: serde_json::json!({ "n": "seven" }),
    };
    let completion = bus.deliver(wire.clone(), None).await;
    let error = "the event does not decode into the handler's type: invalid type: string \"seven\", expected u32";
    assert_eq!(
        completion.outcomes,
        [
            outcome("typed", dead_lettered(1, error)),
            outcome("any", Ok(()))
        ]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let stored = letters(&bus, "typed").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event, wire);
    assert_eq!(stored[0].attempts, 1);
    assert_eq!(stored[0].error, error);

    // A payload that decodes is handled like a local event, with its metadata.
    let good = WireEvent {
        metadata: Metadata::new("order.placed"),
        payload: serde_json::json!({ "n": 8 }),
    };
    let completion = bus.deliver(good.clone(), None).await;
    assert!(completion.is_ok(), "{completion:?}");
    assert_eq!(completion.id, good.metadata.id);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn replay_removes_a_letter_when_the_handler_succeeds_and_keeps_it_when_it_fails() {
    let bus = EventBus::new();
    let healthy = Arc::new(AtomicBool::new(false));
    let handled: Arc<Seen<(u32, Metadata)>> = seen();
    let billing = bus
        .subscribe_with(
            SubscribeOptions::named("billing").retry(
                RetryPolicy::default()
                    .retries(1)
                    .initial(Duration::from_millis(5)),
            ),
            {
                let healthy = Arc::clone(&healthy);
                let handled = Arc::clone(&handled);
                move |placed: Envelope<Placed>| {
                    let ok = healthy.load(Ordering::SeqCst);
                    if ok {
                        handled.push((placed.attempt(), placed.metadata().clone()));
                    }
                    async move {
                        if ok {
                            Ok(())
                        } else {
                            Err("ledger locked".into())
                        }
                    }
                }
            },
        )
        .unwrap();

    let failed = bus.publish_and_wait(Placed { n: 1 }).await.unwrap();
    let stored = letters(&bus, "billing").await;
    assert_eq!(stored.len(), 1);
    let letter = stored[0].clone();
    assert_eq!(letter.attempts, 2);

    // Still failing: the letter stays (replaced, its attempts counted again).
    let again = bus.replay(&letter).await.unwrap();
    assert_eq!(again.id, failed.id);
    assert_eq!(
        again.outcomes,
        [outcome("billing", dead_lettered(2, "ledger locked"))]
    );
    let kept = letters(&bus, "billing").await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].event, letter.event);
    assert_eq!(kept[0].attempts, 2);
    assert!(kept[0].failed_at >= letter.failed_at);

    // Healthy again: the replay handles the same event (same id and metadata) and removes it.
    healthy.store(true, Ordering::SeqCst);
    let replayed = bus.replay(&letter).await.unwrap();
    assert_eq!(replayed.outcomes, [outcome("billing", Ok(()))]);
    assert!(letters(&bus, "billing").await.is_empty());
    let handled = handled.get();
    assert_eq!(handled.len(), 1);
    assert_eq!(handled[0].0, 1);
    assert_eq!(handled[0].1, letter.event.metadata);

    // A letter for a handler this app does not have.
    let mut ghost = letter.clone();
    ghost.handler = "ghost".into();
    let error = bus.replay(&ghost).await.unwrap_err();
    assert!(
        matches!(&error, ReplayError::UnknownHandler(name) if name == "ghost"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "no event handler is named `ghost` in this app"
    );
    // Nor once the handler unsubscribed.
    drop(billing);
    assert!(matches!(
        bus.replay(&letter).await,
        Err(ReplayError::UnknownHandler(name)) if name == "billing"
    ));
}

// ----------------------------------------------------------------------------------------------
// Backpressure

#[tokio::test(start_paused = true)]
async fn with_overflow_wait_a_publisher_waits_for_room() {
    let bus = EventBus::new();
    let (gate, entered, handled) = (Gate::closed(), seen(), seen());
    let _gated = bus
        .subscribe_with(
            SubscribeOptions::named("gated")
                .capacity(2)
                .overflow(Overflow::Wait),
            gated(&gate, &entered, &handled),
        )
        .unwrap();

    bus.publish(Placed { n: 1 }).await.unwrap();
    entered.until(1).await; // taken by the handler: the queue is empty
    for n in 2..=3 {
        tokio::time::timeout(Duration::from_secs(1), bus.publish(Placed { n }))
            .await
            .expect("there is room in the queue")
            .unwrap();
    }
    let mut fourth = tokio::spawn({
        let bus = bus.clone();
        async move { bus.publish(Placed { n: 4 }).await }
    });
    assert!(
        tokio::time::timeout(Duration::from_secs(60), &mut fourth)
            .await
            .is_err(),
        "the publisher waits while the queue is full"
    );
    gate.open(1); // the handler finishes 1 and takes 2: there is room
    within("the waiting publish", &mut fourth)
        .await
        .unwrap()
        .unwrap();
    gate.open(10);
    assert_eq!(handled.until(4).await, [1, 2, 3, 4]);
}

#[tokio::test(start_paused = true)]
async fn with_overflow_drop_oldest_the_newest_events_stay_and_the_drops_are_counted() {
    let recorder = DebuggingRecorder::new();
    let mut recorded = Recorded::new(&recorder);
    let _local = metrics::set_default_local_recorder(&recorder);
    let bus = EventBus::new();
    let (gate, entered, handled) = (Gate::closed(), seen(), seen());
    let _latest = bus
        .subscribe_with(
            SubscribeOptions::named("latest")
                .capacity(3)
                .overflow(Overflow::DropOldest),
            gated(&gate, &entered, &handled),
        )
        .unwrap();

    bus.publish(Placed { n: 1 }).await.unwrap();
    entered.until(1).await;
    for n in 2..=10 {
        tokio::time::timeout(Duration::from_secs(1), bus.publish(Placed { n }))
            .await
            .expect("a full drop-oldest queue never makes the publisher wait")
            .unwrap();
        let depth = gauge(&recorded.read(), "cortex_events_queue_depth", "latest");
        assert!(
            depth <= 3.0,
            "the queue holds {depth} events, above its capacity"
        );
    }
    let values = recorded.read();
    assert_eq!(counter(&values, "cortex_events_dropped_total", "latest"), 6);
    gate.open(10);
    assert_eq!(handled.until(4).await, [1, 8, 9, 10]);
}

#[tokio::test]
async fn with_overflow_fail_the_publish_names_the_full_subscriber_and_the_others_get_it() {
    let bus = EventBus::new();
    let (gate, entered, handled) = (Gate::closed(), seen(), seen());
    let _slow = bus
        .subscribe_with(
            SubscribeOptions::named("slow")
                .capacity(1)
                .overflow(Overflow::Fail),
            gated(&gate, &entered, &handled),
        )
        .unwrap();
    let fast = seen();
    let _fast = bus
        .subscribe_with(SubscribeOptions::named("fast"), recording(&fast))
        .unwrap();

    bus.publish(Placed { n: 1 }).await.unwrap();
    entered.until(1).await;
    bus.publish(Placed { n: 2 }).await.unwrap(); // queued: the queue is full
    let error = bus.publish(Placed { n: 3 }).await.unwrap_err();
    let PublishError::Full { id, subscribers } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(subscribers, &[Arc::<str>::from("slow")]);
    assert_eq!(
        error.to_string(),
        format!("event {id} was not delivered to slow (queue full, overflow = \"fail\")")
    );
    assert_eq!(fast.until(3).await, [1, 2, 3]);

    // Waiting for the handlers, the full one is reported dropped.
    let completion = bus.publish_and_wait(Placed { n: 4 }).await.unwrap();
    assert_eq!(
        completion.outcomes,
        [
            outcome("slow", Err(HandlerFailure::Dropped)),
            outcome("fast", Ok(()))
        ]
    );
    gate.open(10);
    assert_eq!(handled.until(2).await, [1, 2]);
}

#[tokio::test]
async fn a_slow_handler_never_makes_its_queue_grow_past_its_capacity() {
    let recorder = DebuggingRecorder::new();
    let mut recorded = Recorded::new(&recorder);
    let _local = metrics::set_default_local_recorder(&recorder);
    for (name, overflow) in [("waits", Overflow::Wait), ("drops", Overflow::DropOldest)] {
        let bus = EventBus::new();
        let handled = Arc::new(AtomicU32::new(0));
        let _slow = bus
            .subscribe_with(
                SubscribeOptions::named(name)
                    .capacity(16)
                    .overflow(overflow),
                {
                    let handled = Arc::clone(&handled);
                    move |_: Envelope<Placed>| {
                        let handled = Arc::clone(&handled);
                        async move {
                            for _ in 0..5 {
                                tokio::task::yield_now().await;
                            }
                            handled.fetch_add(1, Ordering::SeqCst);
                            Ok(())
                        }
                    }
                },
            )
            .unwrap();
        let mut deepest: f64 = 0.0;
        for n in 0..2_000 {
            bus.publish(Placed { n }).await.unwrap();
            deepest = deepest.max(gauge(&recorded.read(), "cortex_events_queue_depth", name));
        }
        assert!(deepest <= 16.0, "{name}: {deepest} events queued");
        assert!(deepest >= 1.0, "{name}: the queue was used");
        // The last event is handled after every one still queued before it.
        assert!(
            bus.publish_and_wait(Placed { n: 2_000 })
                .await
                .unwrap()
                .is_ok()
        );
        let handled = u64::from(handled.load(Ordering::SeqCst));
        let dropped = counter(&recorded.read(), "cortex_events_dropped_total", name);
        match overflow {
            Overflow::Wait => assert_eq!((handled, dropped), (2_001, 0)),
            _ => {
                assert!(dropped > 0, "{name}");
                assert_eq!(handled + dropped, 2_001, "{name}");
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Unsubscribing

#[tokio::test]
async fn dropping_a_subscription_unsubscribes_and_its_queued_events_are_still_handled() {
    let bus = EventBus::new();
    let (gate, entered, handled) = (Gate::closed(), seen(), seen());
    let leaving = bus
        .subscribe_with(
            SubscribeOptions::named("leaving"),
            gated(&gate, &entered, &handled),
        )
        .unwrap();
    assert_eq!(leaving.name(), "leaving");
    for n in 1..=3 {
        bus.publish(Placed { n }).await.unwrap();
    }
    entered.until(1).await;

    drop(leaving);
    assert!(bus.subscriptions().is_empty());
    bus.publish(Placed { n: 4 }).await.unwrap();
    let completion = bus.publish_and_wait(Placed { n: 5 }).await.unwrap();
    assert!(completion.outcomes.is_empty(), "{completion:?}");

    gate.open(10);
    assert_eq!(handled.until(3).await, [1, 2, 3]);
    // A name is free again once its subscription is gone.
    let back = seen();
    let _back = bus
        .subscribe_with(SubscribeOptions::named("leaving"), recording(&back))
        .unwrap();
    assert!(bus.publish_and_wait(Placed { n: 6 }).await.unwrap().is_ok());
    assert_eq!(back.get(), [6]);
    assert_eq!(entered.get(), [1, 2, 3], "no delivery after the drop");
}

#[tokio::test]
async fn a_detached_subscription_stays_for_the_bus_s_lifetime() {
    let bus = EventBus::new();
    let kept = seen();
    bus.subscribe_with(SubscribeOptions::named("kept"), recording(&kept))
        .unwrap()
        .detach();
    let completion = bus.publish_and_wait(Placed { n: 1 }).await.unwrap();
    assert_eq!(completion.outcomes, [outcome("kept", Ok(()))]);
    assert_eq!(kept.get(), [1]);
    assert_eq!(bus.subscriptions(), [Arc::<str>::from("kept")]);
    // Its name stays taken.
    assert!(matches!(
        bus.subscribe_with(SubscribeOptions::named("kept"), recording(&kept)),
        Err(SubscribeError::DuplicateName(name)) if name == "kept"
    ));
}

#[tokio::test]
async fn subscriptions_check_their_names_and_patterns() {
    let bus = EventBus::new();
    let _json = bus.subscribe(|_: Envelope<Json>| async { Ok(()) });
    assert!(matches!(_json, Err(SubscribeError::NoPattern)));
    let bad = bus.subscribe_with(
        SubscribeOptions::named("bad").pattern("order.pl*"),
        |_: Envelope<Json>| async { Ok(()) },
    );
    assert!(matches!(
        bad,
        Err(SubscribeError::Topic(TopicError::PartialWildcard(_)))
    ));
    // Unnamed subscriptions get distinct names.
    let a = bus
        .subscribe(|_: Envelope<Placed>| async { Ok(()) })
        .unwrap();
    let b = bus
        .subscribe(|_: Envelope<Placed>| async { Ok(()) })
        .unwrap();
    assert_ne!(a.name(), b.name());
    assert!(a.name().starts_with("subscription-"), "{}", a.name());
}

#[tokio::test]
async fn higher_priority_subscribers_are_served_first() {
    let bus = EventBus::new();
    let order = seen();
    let mut subscriptions = Vec::new();
    for (name, priority) in [("low", -1), ("first", 0), ("high", 5), ("second", 0)] {
        let order = Arc::clone(&order);
        subscriptions.push(
            bus.subscribe_with(
                SubscribeOptions::named(name).priority(priority),
                move |_: Envelope<Placed>| {
                    order.push(name);
                    async { Ok(()) }
                },
            )
            .unwrap(),
        );
    }
    assert_eq!(
        bus.subscriptions(),
        ["high", "first", "second", "low"].map(Arc::<str>::from)
    );
    let completion = bus.publish_and_wait(Placed { n: 1 }).await.unwrap();
    let handlers: Vec<&str> = completion.outcomes.iter().map(|o| &*o.handler).collect();
    assert_eq!(handlers, ["high", "first", "second", "low"]);
}

#[tokio::test]
async fn a_filtered_subscription_skips_what_its_filter_refuses() {
    for intercepted in [false, true] {
        a_filtered_subscription_skips(intercepted).await;
    }
}

/// Lets everything through.
struct PassThrough;

impl Interceptor for PassThrough {}

async fn a_filtered_subscription_skips(intercepted: bool) {
    let bus = EventBus::new();
    if intercepted {
        // Skips travel beside the interceptors' results.
        bus.add_interceptor(PassThrough);
    }
    let even = seen();
    let _even = bus
        .subscribe_filtered(
            SubscribeOptions::named("even"),
            |placed: &Envelope<Placed>| placed.n.is_multiple_of(2),
            {
                let even = Arc::clone(&even);
                move |placed: Envelope<Placed>| {
                    even.push(placed.n);
                    async { Ok(()) }
                }
            },
        )
        .unwrap();
    for n in 0..5 {
        let completion = bus.publish_and_wait(Placed { n }).await.unwrap();
        // A skipped event is neither handled nor failed: it is not in the completion.
        assert_eq!(
            completion.outcomes.len(),
            usize::from(n % 2 == 0),
            "{n}, intercepted: {intercepted}"
        );
    }
    assert_eq!(even.get(), [0, 2, 4]);
}

// ----------------------------------------------------------------------------------------------
// Streams

#[tokio::test]
async fn streams_receive_their_events_in_order_and_end_at_shutdown() {
    let bus = EventBus::new();
    let mut placed = bus.stream::<Placed>();
    let mut orders = bus.stream_pattern::<Json>("order.*").unwrap();
    bus.publish(Placed { n: 1 }).await.unwrap();
    bus.publish(Shipped { n: 2 }).await.unwrap();
    bus.publish(Paid { n: 3 }).await.unwrap();
    bus.publish(Placed { n: 4 }).await.unwrap();

    let first = within("a placed event", placed.next()).await.unwrap();
    assert_eq!(first.n, 1);
    assert_eq!(first.attempt(), 1);
    assert_eq!(within("another", placed.next()).await.unwrap().n, 4);
    let seen: Vec<(String, serde_json::Value)> =
        within("three orders", (&mut orders).take(3).collect::<Vec<_>>())
            .await
            .into_iter()
            .map(|e| (e.topic().to_string(), e.0["n"].clone()))
            .collect();
    assert_eq!(
        seen,
        [
            ("order.placed".to_string(), serde_json::json!(1)),
            ("order.shipped".to_string(), serde_json::json!(2)),
            ("order.placed".to_string(), serde_json::json!(4)),
        ]
    );

    // What is queued at shutdown is still read, then the streams end.
    bus.publish(Placed { n: 5 }).await.unwrap();
    let report = bus.shutdown(WAIT).await;
    assert!(report.finished);
    assert_eq!(within("the last event", placed.next()).await.unwrap().n, 5);
    assert!(within("the end", placed.next()).await.is_none());
    assert_eq!(
        within("the last order", orders.next())
            .await
            .unwrap()
            .topic(),
        "order.placed"
    );
    assert!(within("the end", orders.next()).await.is_none());
    // A stream made after shutdown has ended already.
    assert!(
        within("an ended stream", bus.stream::<Placed>().next())
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_stream_nobody_reads_drops_its_oldest_events_and_never_blocks_publishers() {
    let bus = EventBus::builder().capacity(4).build();
    let mut placed = bus.stream::<Placed>();
    for n in 1..=10 {
        tokio::time::timeout(WAIT, bus.publish(Placed { n }))
            .await
            .expect("a stream never makes the publisher wait")
            .unwrap();
    }
    let mut read = Vec::new();
    for _ in 0..4 {
        read.push(within("an event", placed.next()).await.unwrap().n);
    }
    assert_eq!(read, [7, 8, 9, 10]);
}

#[tokio::test]
async fn dropping_a_stream_unsubscribes_it() {
    let bus = EventBus::new();
    let stream = bus.stream::<Placed>();
    assert_eq!(bus.subscriptions().len(), 1);
    drop(stream);
    assert!(bus.subscriptions().is_empty());
    assert!(matches!(
        bus.stream_pattern::<Json>("order..placed"),
        Err(SubscribeError::Topic(TopicError::EmptySegment(_)))
    ));
}

// ----------------------------------------------------------------------------------------------
// Interceptors

struct Logged {
    name: &'static str,
    log: Arc<Seen<String>>,
}

impl Interceptor for Logged {
    async fn before_publish(&self, metadata: &mut Metadata) -> Result<(), BoxError> {
        self.log
            .push(format!("{} before {}", self.name, metadata.topic));
        metadata
            .headers
            .insert(self.name.to_string(), "seen".to_string());
        Ok(())
    }

    async fn around_handle(
        &self,
        context: HandleContext<'_>,
        next: Next<'_>,
    ) -> Result<(), BoxError> {
        self.log
            .push(format!("{} in {}", self.name, context.handler));
        let result = next.run().await;
        self.log.push(format!("{} out", self.name));
        result
    }
}

#[tokio::test]
async fn interceptors_run_outermost_first_and_their_headers_reach_the_handlers() {
    let bus = EventBus::new();
    let log = seen();
    bus.add_interceptor(Logged {
        name: "outer",
        log: Arc::clone(&log),
    });
    bus.add_interceptor(Logged {
        name: "inner",
        log: Arc::clone(&log),
    });
    let headers: Arc<Seen<BTreeMap<String, String>>> = seen();
    let _handler = bus
        .subscribe_with(SubscribeOptions::named("handler"), {
            let log = Arc::clone(&log);
            let headers = Arc::clone(&headers);
            move |placed: Envelope<Placed>| {
                log.push("handler".to_string());
                headers.push(placed.metadata().headers.clone());
                async { Ok(()) }
            }
        })
        .unwrap();

    assert!(bus.publish_and_wait(Placed { n: 1 }).await.unwrap().is_ok());
    assert_eq!(
        log.get(),
        [
            "outer before order.placed",
            "inner before order.placed",
            "outer in handler",
            "inner in handler",
            "handler",
            "inner out",
            "outer out",
        ]
    );
    let headers = headers.get();
    assert_eq!(headers[0]["outer"], "seen");
    assert_eq!(headers[0]["inner"], "seen");
}

/// Refuses payments, fails the first attempt of `flaky`, skips `skipped`.
struct Guarded;

impl Interceptor for Guarded {
    async fn before_publish(&self, metadata: &mut Metadata) -> Result<(), BoxError> {
        if metadata.topic == "payment.paid" {
            return Err("payments are closed".into());
        }
        Ok(())
    }

    async fn around_handle(
        &self,
        context: HandleContext<'_>,
        next: Next<'_>,
    ) -> Result<(), BoxError> {
        match context.handler {
            "skipped" => Ok(()),
            "flaky" if context.attempt == 1 => Err("refused by the interceptor".into()),
            _ => next.run().await,
        }
    }
}

#[tokio::test(start_paused = true)]
async fn an_interceptor_can_refuse_an_event_fail_an_attempt_or_skip_the_handler() {
    let bus = EventBus::builder()
        .retry(
            RetryPolicy::default()
                .retries(2)
                .initial(Duration::from_millis(5)),
        )
        .build();
    bus.add_interceptor(Guarded);
    let paid = seen();
    let _paid = bus
        .subscribe_with(SubscribeOptions::named("paid"), {
            let paid = Arc::clone(&paid);
            move |p: Envelope<Paid>| {
                paid.push(p.n);
                async { Ok(()) }
            }
        })
        .unwrap();
    let flaky: Arc<Seen<u32>> = seen();
    let _flaky = bus
        .subscribe_with(SubscribeOptions::named("flaky"), {
            let flaky = Arc::clone(&flaky);
            move |p: Envelope<Placed>| {
                flaky.push(p.attempt());
                async { Ok(()) }
            }
        })
        .unwrap();
    let skipped = seen();
    let _skipped = bus
        .subscribe_with(SubscribeOptions::named("skipped"), recording(&skipped))
        .unwrap();

    let error = bus.publish(Paid { n: 1 }).await.unwrap_err();
    assert!(matches!(error, PublishError::Refused(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "an interceptor refused the event: payments are closed"
    );
    assert!(matches!(
        bus.publish_and_wait(Paid { n: 2 }).await,
        Err(PublishError::Refused(_))
    ));

    let completion = bus.publish_and_wait(Placed { n: 3 }).await.unwrap();
    assert_eq!(
        completion.outcomes,
        [outcome("flaky", Ok(())), outcome("skipped", Ok(()))]
    );
    // The interceptor's error counted as the first attempt's failure, and was retried.
    assert_eq!(flaky.get(), [2]);
    assert!(
        skipped.get().is_empty(),
        "the interceptor skipped the handler"
    );
    assert!(paid.get().is_empty(), "refused events reach nobody");
}

// ----------------------------------------------------------------------------------------------
// Metadata

#[tokio::test]
async fn a_handler_that_publishes_carries_the_causation_and_correlation_on() {
    let bus = EventBus::builder().source("orders").build();
    let capture = EventCapture::new(&bus);
    let _ship = bus
        .subscribe_with(SubscribeOptions::named("ship"), {
            let bus = bus.clone();
            move |placed: Envelope<Placed>| {
                let bus = bus.clone();
                async move {
                    bus.publish(Shipped { n: placed.n }).await?;
                    Ok(())
                }
            }
        })
        .unwrap();
    let _pay = bus
        .subscribe_with(SubscribeOptions::named("pay"), {
            let bus = bus.clone();
            move |shipped: Envelope<Shipped>| {
                let bus = bus.clone();
                async move {
                    bus.publish(Paid { n: shipped.n }).await?;
                    Ok(())
                }
            }
        })
        .unwrap();

    let placed_id = bus.publish(Placed { n: 1 }).await.unwrap();
    let paid = capture.wait_for::<Paid>(WAIT).await.unwrap();
    let placed = capture.published::<Placed>().remove(0);
    let shipped = capture.published::<Shipped>().remove(0);

    assert_eq!(placed.id(), placed_id);
    assert_eq!(placed.metadata().source, "orders");
    assert_eq!(placed.metadata().correlation(), placed_id.to_string());
    assert_eq!(placed.metadata().causation_id, None);

    assert_eq!(shipped.metadata().source, "orders");
    assert_eq!(shipped.metadata().causation_id, Some(placed_id));
    assert_eq!(shipped.metadata().correlation(), placed_id.to_string());

    assert_eq!(paid.metadata().causation_id, Some(shipped.id()));
    assert_eq!(paid.metadata().correlation(), placed_id.to_string());
    assert!(placed.id() < shipped.id() && shipped.id() < paid.id());
    // Outside a handler, nothing is being handled.
    assert!(cortex_events::bus::current_event().is_none());
}

#[tokio::test]
async fn an_event_published_while_serving_a_request_is_correlated_with_the_request_id() {
    let config = Config::from_toml("[events]\nsource = \"shop\"").unwrap();
    let ship = HandlerDescriptor::new(
        "ship",
        |scope: cortex_di::RequestScope, placed: Envelope<Placed>| async move {
            let bus = scope.resolve::<EventBus>().await?;
            bus.publish(Shipped { n: placed.n }).await?;
            Ok::<_, BoxError>(())
        },
    );
    let orders = Router::new().route(
        "/orders",
        post(|bus: Inject<EventBus>| async move {
            bus.publish(Placed { n: 1 })
                .await
                .map(|id| id.to_string())
                .map_err(|e| e.to_string())
        }),
    );
    let app = TestApp::new(
        App::with_config(config)
            .plugin(EventsPlugin::default().handler(ship))
            .router(orders),
    )
    .await;
    let bus = app.container().get::<EventBus>().unwrap();
    let capture = EventCapture::new(&bus);

    let response = app
        .post("/orders")
        .header("x-request-id", "req-42")
        .await
        .assert_status(200)
        .text();
    let placed = capture.wait_for::<Placed>(WAIT).await.unwrap();
    assert_eq!(placed.id().to_string(), response);
    assert_eq!(placed.metadata().correlation(), "req-42");
    assert_eq!(placed.metadata().source, "shop");
    let shipped = capture.wait_for::<Shipped>(WAIT).await.unwrap();
    assert_eq!(shipped.metadata().correlation(), "req-42");
    assert_eq!(shipped.metadata().causation_id, Some(placed.id()));

    // Without an incoming id, the one the app made for the request (echoed in the response).
    capture.clear();
    let response = app.post("/orders").await;
    let request_id = response.header("x-request-id").unwrap().to_string();
    let placed = capture.wait_for::<Placed>(WAIT).await.unwrap();
    assert_eq!(placed.metadata().correlation(), request_id);
    app.shutdown().await;
}

// ----------------------------------------------------------------------------------------------
// Shutdown

#[tokio::test]
async fn after_shutdown_nothing_is_published_or_subscribed() {
    let bus = EventBus::new();
    let report = bus.shutdown(WAIT).await;
    assert!(report.finished);
    assert_eq!(report.abandoned, 0);
    assert!(bus.is_closed());
    let error = bus.publish(Placed { n: 1 }).await.unwrap_err();
    assert!(matches!(error, PublishError::Closed), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the event bus is shutting down and accepts no new event"
    );
    assert!(matches!(
        bus.publish_and_wait(Placed { n: 2 }).await,
        Err(PublishError::Closed)
    ));
    assert!(matches!(
        bus.subscribe(|_: Envelope<Placed>| async { Ok(()) }),
        Err(SubscribeError::Closed)
    ));
    // Twice is harmless.
    assert!(bus.shutdown(WAIT).await.finished);
}

/// Waits until the bus refuses events (its shutdown has begun in another task).
async fn until_closed(bus: &EventBus) {
    within("the bus closes", async {
        while !bus.is_closed() {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test]
async fn at_shutdown_handlers_finish_what_is_queued_within_the_drain_timeout() {
    let bus = EventBus::new();
    let (gate, entered, handled) = (Gate::closed(), seen(), seen());
    let _slow = bus
        .subscribe_with(
            SubscribeOptions::named("slow"),
            gated(&gate, &entered, &handled),
        )
        .unwrap();
    bus.publish(Placed { n: 1 }).await.unwrap();
    bus.publish(Placed { n: 2 }).await.unwrap();
    entered.until(1).await;
    // Subscribed while `slow` is busy: the drain waits for both.
    let other = seen();
    let _other = bus
        .subscribe_with(SubscribeOptions::named("other"), recording(&other))
        .unwrap();

    let drain = tokio::spawn({
        let bus = bus.clone();
        async move { bus.shutdown(WAIT).await }
    });
    until_closed(&bus).await;
    assert!(matches!(
        bus.publish(Placed { n: 3 }).await,
        Err(PublishError::Closed)
    ));
    gate.open(10);
    let report = within("the drain", drain).await.unwrap();
    assert!(report.finished, "{report:?}");
    assert_eq!(report.abandoned, 0);
    assert!(report.elapsed < WAIT);
    assert_eq!(handled.get(), [1, 2]);
    assert!(letters(&bus, "slow").await.is_empty());
    assert!(other.get().is_empty());
}

#[tokio::test(start_paused = true)]
async fn what_is_left_at_the_drain_timeout_goes_to_the_dead_letters() {
    let bus = EventBus::new();
    let capture = EventCapture::new(&bus);
    let (gate, entered, handled) = (Gate::closed(), seen(), seen());
    let _stuck = bus
        .subscribe_with(
            SubscribeOptions::named("stuck"),
            gated(&gate, &entered, &handled),
        )
        .unwrap();
    // 1 is in the handler's hands (it never finishes), 2 and 3 are queued, and 4 is queued by a
    // publisher waiting for the outcome.
    let first = tokio::spawn({
        let bus = bus.clone();
        async move { bus.publish_and_wait(Placed { n: 1 }).await }
    });
    entered.until(1).await;
    bus.publish(Placed { n: 2 }).await.unwrap();
    bus.publish(Placed { n: 3 }).await.unwrap();
    let fourth = tokio::spawn({
        let bus = bus.clone();
        async move { bus.publish_and_wait(Placed { n: 4 }).await }
    });
    capture
        .wait_for_matching(|p: &Envelope<Placed>| p.n == 4, WAIT)
        .await
        .unwrap();

    let report = bus.shutdown(Duration::from_millis(100)).await;
    assert!(!report.finished);
    assert_eq!(report.abandoned, 4, "{report:?}");
    assert!(handled.get().is_empty());
    for waiting in [first, fourth] {
        let completion = within("the outcome", waiting).await.unwrap().unwrap();
        assert_eq!(
            completion.outcomes,
            [outcome("stuck", Err(HandlerFailure::Shutdown))]
        );
    }
    let stored = letters(&bus, "stuck").await;
    let mut ns: Vec<u64> = stored
        .iter()
        .map(|l| l.event.payload["n"].as_u64().unwrap())
        .collect();
    ns.sort();
    assert_eq!(ns, [1, 2, 3, 4]);
    for letter in &stored {
        assert_eq!(letter.error, "not handled before shutdown");
        let n = letter.event.payload["n"].as_u64().unwrap();
        // The one in the handler's hands was attempted once.
        assert_eq!(letter.attempts, u32::from(n == 1), "{letter:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_waiting_at_the_drain_timeout_is_dead_lettered_with_its_last_error() {
    let bus = EventBus::new();
    let attempts = seen();
    let _down = bus
        .subscribe_with(
            SubscribeOptions::named("down").retry(
                RetryPolicy::default()
                    .retries(5)
                    .initial(Duration::from_secs(3600)),
            ),
            {
                let attempts = Arc::clone(&attempts);
                move |placed: Envelope<Placed>| {
                    attempts.push(placed.attempt());
                    async { Err("down".into()) }
                }
            },
        )
        .unwrap();
    let waiting = tokio::spawn({
        let bus = bus.clone();
        async move { bus.publish_and_wait(Placed { n: 1 }).await }
    });
    attempts.until(1).await;
    let report = bus.shutdown(Duration::from_millis(100)).await;
    assert!(!report.finished);
    let completion = within("the outcome", waiting).await.unwrap().unwrap();
    assert_eq!(
        completion.outcomes,
        [outcome("down", dead_lettered(1, "down"))]
    );
    assert_eq!(attempts.get(), [1]);
    let stored = letters(&bus, "down").await;
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].attempts, stored[0].error.as_str()), (1, "down"));
}

#[tokio::test(start_paused = true)]
async fn a_publisher_waiting_for_room_at_shutdown_is_told_the_bus_closed() {
    let bus = EventBus::new();
    let (gate, entered, handled) = (Gate::closed(), seen(), seen());
    let _full = bus
        .subscribe_with(
            SubscribeOptions::named("full").capacity(1),
            gated(&gate, &entered, &handled),
        )
        .unwrap();
    bus.publish(Placed { n: 1 }).await.unwrap();
    entered.until(1).await;
    bus.publish(Placed { n: 2 }).await.unwrap();
    let mut blocked = tokio::spawn({
        let bus = bus.clone();
        async move { bus.publish(Placed { n: 3 }).await }
    });
    let mut blocked_waiting = tokio::spawn({
        let bus = bus.clone();
        async move { bus.publish_and_wait(Placed { n: 4 }).await }
    });
    assert!(
        tokio::time::timeout(Duration::from_secs(60), &mut blocked)
            .await
            .is_err(),
        "the publisher waits for room"
    );
    let drain = tokio::spawn({
        let bus = bus.clone();
        async move { bus.shutdown(WAIT).await }
    });
    // Its event was never queued: the publisher must not be told it was.
    let error = within("the refused publish", &mut blocked)
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, PublishError::Closed), "{error:?}");
    let completion = within("the refused publish_and_wait", &mut blocked_waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        completion.outcomes,
        [outcome("full", Err(HandlerFailure::Shutdown))]
    );
    gate.open(10);
    assert!(within("the drain", drain).await.unwrap().finished);
    assert_eq!(handled.get(), [1, 2]);
}

#[tokio::test]
async fn the_plugin_drains_the_bus_when_the_app_shuts_down() {
    let (gate, entered, handled) = (Gate::closed(), seen(), seen());
    let handler = gated(&gate, &entered, &handled);
    let slow = HandlerDescriptor::new("slow", move |_scope, placed: Envelope<Placed>| {
        handler(placed)
    });
    let app = TestApp::new(
        App::with_config(Config::from_toml("[events]\ndrain_timeout = \"30s\"").unwrap())
            .plugin(EventsPlugin::default().handler(slow)),
    )
    .await;
    let bus = EventBus::clone(&app.container().get::<EventBus>().unwrap());
    bus.publish(Placed { n: 1 }).await.unwrap();
    bus.publish(Placed { n: 2 }).await.unwrap();
    entered.until(1).await;
    within(
        "the app's shutdown",
        futures_util::future::join(app.shutdown(), async {
            until_closed(&bus).await;
            gate.open(10);
        }),
    )
    .await;
    assert_eq!(handled.get(), [1, 2]);
    assert!(letters(&bus, "slow").await.is_empty());
}

#[tokio::test]
async fn the_plugin_dead_letters_what_is_left_after_its_drain_timeout() {
    let (gate, entered, handled) = (Gate::closed(), seen(), seen());
    let handler = gated(&gate, &entered, &handled);
    let stuck = HandlerDescriptor::new("stuck", move |_scope, placed: Envelope<Placed>| {
        handler(placed)
    });
    let app = TestApp::new(
        App::with_config(Config::from_toml("[events]\ndrain_timeout = \"20ms\"").unwrap())
            .plugin(EventsPlugin::default().handler(stuck)),
    )
    .await;
    let bus = EventBus::clone(&app.container().get::<EventBus>().unwrap());
    bus.publish(Placed { n: 1 }).await.unwrap();
    bus.publish(Placed { n: 2 }).await.unwrap();
    entered.until(1).await;
    within("the app's shutdown", app.shutdown()).await;
    let stored = letters(&bus, "stuck").await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(
        stored
            .iter()
            .all(|l| l.error == "not handled before shutdown")
    );
    assert!(handled.get().is_empty());
}

// ----------------------------------------------------------------------------------------------
// The plugin

async fn build_error(toml: &str, plugin: EventsPlugin) -> String {
    let config = Config::from_toml(toml).unwrap();
    match App::with_config(config).plugin(plugin).build().await {
        Ok(_) => panic!("`{toml}` built"),
        Err(error) => error.to_string(),
    }
}

fn noop(name: &'static str) -> HandlerDescriptor {
    HandlerDescriptor::new(name, |_scope, _: Envelope<Placed>| async {
        Ok::<_, BoxError>(())
    })
}

#[tokio::test]
async fn events_configuration_errors_name_the_key() {
    for (toml, key) in [
        ("[events]\ncapcity = 3", "capcity"),
        ("[events]\noverflow = \"explode\"", "events.overflow"),
        ("[events]\ncapacity = 0", "events.capacity"),
        (
            "[events]\ndrain_timeout = \"a while\"",
            "events.drain_timeout",
        ),
        ("[events.retry]\ninitial = \"soon\"", "events.retry.initial"),
        ("[events.retry]\nretries = -1", "events.retry.retries"),
        ("[events.retry]\nattempts = 3", "attempts"),
        (
            "[events.bridge]\ntopics = [\"order..x\"]",
            "events.bridge.topics[0]",
        ),
    ] {
        let error = build_error(toml, EventsPlugin::default()).await;
        assert!(
            error.contains("plugin `events`") && error.contains(key),
            "`{toml}`: {error}"
        );
    }
    let error = build_error(
        "[events]\ndead_letters = \"database\"",
        EventsPlugin::default(),
    )
    .await;
    // Without the `store` feature it asks for the feature; with it (the tests' build), for the
    // data layer.
    assert!(
        error.contains("`store` feature") || error.contains("needs the data layer"),
        "{error}"
    );
}

struct Mailer;

#[tokio::test]
async fn a_handler_whose_dependency_is_missing_fails_the_build_naming_both() {
    let welcome = noop("welcome").dependency(Dependency::on::<Mailer>().field("mailer"));
    let error = build_error("", EventsPlugin::default().handler(welcome)).await;
    assert!(error.contains("welcome"), "{error}");
    assert!(error.contains("Mailer"), "{error}");

    // Provided, it builds.
    let welcome = noop("welcome").dependency(Dependency::on::<Mailer>().field("mailer"));
    let app = App::with_config(Config::from_toml("").unwrap())
        .plugin(EventsPlugin::default().handler(welcome))
        .provide(Provider::value(Mailer))
        .build()
        .await;
    assert!(app.is_ok());
}

#[tokio::test]
async fn handlers_with_one_name_or_no_pattern_fail_the_build() {
    let error = build_error(
        "",
        EventsPlugin::default()
            .handler(noop("twice"))
            .handler(noop("twice")),
    )
    .await;
    assert!(
        error.contains("two event handlers are named `twice`; give one another name"),
        "{error}"
    );
    let any = HandlerDescriptor::new("any", |_scope, _: Envelope<Json>| async {
        Ok::<_, BoxError>(())
    });
    let error = build_error("", EventsPlugin::default().handler(any)).await;
    assert!(
        error.contains("event handler `any` takes any event (`Json`) but names no topic pattern"),
        "{error}"
    );
    let bad = noop("bad").with_pattern("order.pl*");
    let error = build_error("", EventsPlugin::default().handler(bad)).await;
    assert!(
        error.contains("event handler `bad`: `order.pl*` has a wildcard inside a segment"),
        "{error}"
    );
}

/// A request-scoped unit of work: a new one per event, told how its scope ended.
struct UnitOfWork {
    id: u32,
    ended: Arc<Seen<(u32, bool, Option<String>)>>,
}

impl OnScopeEnd for UnitOfWork {
    async fn on_scope_end(&self, outcome: &ScopeOutcome) {
        self.ended.push((
            self.id,
            outcome.is_success(),
            outcome.error().map(str::to_string),
        ));
    }
}

#[tokio::test]
async fn each_event_is_handled_in_its_own_scope_which_ends_with_the_outcome() {
    let ended = seen();
    let next = Arc::new(AtomicU32::new(1));
    let work = Provider::factory({
        let ended = Arc::clone(&ended);
        move |_| {
            Ok(UnitOfWork {
                id: next.fetch_add(1, Ordering::SeqCst),
                ended: Arc::clone(&ended),
            })
        }
    })
    .scope(Scope::Request)
    .on_scope_end();
    let used: Arc<Seen<u32>> = seen();
    let handler = HandlerDescriptor::new("work", {
        let used = Arc::clone(&used);
        move |scope: cortex_di::RequestScope, placed: Envelope<Placed>| {
            let used = Arc::clone(&used);
            async move {
                let work = scope.resolve::<UnitOfWork>().await?;
                let again = scope.resolve::<UnitOfWork>().await?;
                assert_eq!(work.id, again.id, "one instance per scope");
                used.push(work.id);
                match placed.n {
                    2 => Err::<(), BoxError>("rolled back".into()),
                    3 => panic!("crashed"),
                    _ => Ok(()),
                }
            }
        }
    })
    .dependency(Dependency::on::<UnitOfWork>())
    .retry(RetryPolicy::none());
    let app = TestApp::new(
        App::with_config(Config::from_toml("").unwrap())
            .plugin(EventsPlugin::default().handler(handler))
            .provide(work),
    )
    .await;
    let bus = EventBus::clone(&app.container().get::<EventBus>().unwrap());
    for n in 1..=3 {
        bus.publish_and_wait(Placed { n }).await.unwrap();
    }
    let used = used.get();
    assert_eq!(used.len(), 3);
    assert!(used[0] != used[1] && used[1] != used[2] && used[0] != used[2]);
    // The scope ended before the outcome was reported.
    let ended = ended.get();
    assert_eq!(ended.len(), 3);
    assert_eq!(ended[0], (used[0], true, None));
    assert_eq!(ended[1], (used[1], false, Some("rolled back".to_string())));
    assert_eq!(ended[2].0, used[2]);
    assert!(!ended[2].1);
    assert!(
        ended[2].2.as_deref().unwrap().contains("panicked: crashed"),
        "{ended:?}"
    );
    app.shutdown().await;
}

// ----------------------------------------------------------------------------------------------
// Metrics

/// A metric as the snapshot has it: its name and its labels, sorted.
type Series = (String, Vec<(String, String)>);

/// Reads a local recorder. Its snapshots reset what they read, so this keeps the counters'
/// totals: each read gives the counters since the start, the gauges as set since the last read
/// (0 when they were not), and the histograms' new samples.
struct Recorded {
    snapshotter: Snapshotter,
    counters: BTreeMap<Series, u64>,
}

impl Recorded {
    fn new(recorder: &DebuggingRecorder) -> Self {
        Recorded {
            snapshotter: recorder.snapshotter(),
            counters: BTreeMap::new(),
        }
    }

    fn read(&mut self) -> BTreeMap<Series, DebugValue> {
        let mut values: BTreeMap<Series, DebugValue> = self
            .snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let (_, key) = key.into_parts();
                let mut labels: Vec<(String, String)> = key
                    .labels()
                    .map(|l| (l.key().to_string(), l.value().to_string()))
                    .collect();
                labels.sort();
                ((key.name().to_string(), labels), value)
            })
            .collect();
        for (series, value) in &mut values {
            if let DebugValue::Counter(count) = value {
                let total = self.counters.entry(series.clone()).or_default();
                *total += *count;
                *count = *total;
            }
        }
        values
    }
}

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.sort();
    (name.to_string(), labels)
}

fn counter_with(values: &BTreeMap<Series, DebugValue>, name: &str, labels: &[(&str, &str)]) -> u64 {
    match values.get(&series(name, labels)) {
        Some(DebugValue::Counter(value)) => *value,
        None => 0,
        Some(other) => panic!("{name} is not a counter: {other:?}"),
    }
}

fn counter(values: &BTreeMap<Series, DebugValue>, name: &str, handler: &str) -> u64 {
    counter_with(values, name, &[("handler", handler)])
}

fn gauge(values: &BTreeMap<Series, DebugValue>, name: &str, handler: &str) -> f64 {
    match values.get(&series(name, &[("handler", handler)])) {
        Some(DebugValue::Gauge(value)) => value.into_inner(),
        None => 0.0,
        Some(other) => panic!("{name} is not a gauge: {other:?}"),
    }
}

fn samples(values: &BTreeMap<Series, DebugValue>, name: &str, handler: &str) -> usize {
    match values.get(&series(name, &[("handler", handler)])) {
        Some(DebugValue::Histogram(samples)) => samples.len(),
        _ => 0,
    }
}

#[tokio::test(start_paused = true)]
async fn the_bus_counts_what_it_publishes_handles_retries_dead_letters_and_drops() {
    let recorder = DebuggingRecorder::new();
    let mut recorded = Recorded::new(&recorder);
    let _local = metrics::set_default_local_recorder(&recorder);
    let bus = EventBus::builder()
        .retry(
            RetryPolicy::default()
                .retries(1)
                .initial(Duration::from_millis(1)),
        )
        .build();
    let ok = seen();
    let _ok = bus
        .subscribe_with(SubscribeOptions::named("ok"), recording(&ok))
        .unwrap();
    let _failing = bus
        .subscribe_with(
            SubscribeOptions::named("failing"),
            |_: Envelope<Placed>| async { Err("no".into()) },
        )
        .unwrap();
    let (gate, entered, handled) = (Gate::closed(), seen(), seen());
    let _latest = bus
        .subscribe_with(
            SubscribeOptions::named("latest")
                .capacity(1)
                .overflow(Overflow::DropOldest),
            gated(&gate, &entered, &handled),
        )
        .unwrap();

    for n in 0..5 {
        bus.publish(Placed { n }).await.unwrap();
    }
    bus.publish(Shipped { n: 0 }).await.unwrap();
    entered.until(1).await;
    // `ok` and `failing` are done with the five once they are done with a sixth.
    gate.open(100);
    let completion = bus.publish_and_wait(Placed { n: 5 }).await.unwrap();
    assert_eq!(completion.outcomes.len(), 3, "{completion:?}");

    let values = recorded.read();
    let published = |topic| {
        counter_with(
            &values,
            "cortex_events_published_total",
            &[("topic", topic)],
        )
    };
    assert_eq!(published("order.placed"), 6);
    assert_eq!(published("order.shipped"), 1);
    let handled_total = |handler, outcome| {
        counter_with(
            &values,
            "cortex_events_handled_total",
            &[("handler", handler), ("outcome", outcome)],
        )
    };
    assert_eq!(handled_total("ok", "ok"), 6);
    assert_eq!(handled_total("ok", "error"), 0);
    assert_eq!(handled_total("failing", "ok"), 0);
    assert_eq!(handled_total("failing", "error"), 12, "two attempts each");
    assert_eq!(
        counter(&values, "cortex_events_retries_total", "failing"),
        6
    );
    assert_eq!(counter(&values, "cortex_events_retries_total", "ok"), 0);
    assert_eq!(
        counter(&values, "cortex_events_dead_lettered_total", "failing"),
        6
    );
    assert_eq!(
        counter(&values, "cortex_events_dead_lettered_total", "ok"),
        0
    );
    // `latest` (capacity 1) kept only the newest of what came while its handler was busy.
    let dropped = counter(&values, "cortex_events_dropped_total", "latest");
    assert!(dropped >= 1, "{dropped}");
    assert_eq!(
        handled_total("latest", "ok") + dropped,
        6,
        "every placed event was handled or dropped"
    );
    assert_eq!(
        samples(&values, "cortex_events_handle_duration_seconds", "ok"),
        6
    );
    assert_eq!(
        samples(&values, "cortex_events_handle_duration_seconds", "failing"),
        12
    );
    for handler in ["ok", "failing", "latest"] {
        assert_eq!(
            gauge(&values, "cortex_events_queue_depth", handler),
            0.0,
            "{handler}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_events_of_subscriptions_dropped_before_a_timed_out_drain_are_dead_lettered() {
    let bus = EventBus::new();
    let gate = Gate::closed();
    let mut subscriptions = Vec::new();
    let mut entered = Vec::new();
    for name in ["gone", "also-gone", "staying"] {
        let (entered_one, handled) = (seen(), seen());
        subscriptions.push(
            bus.subscribe_with(
                SubscribeOptions::named(name),
                gated(&gate, &entered_one, &handled),
            )
            .unwrap(),
        );
        entered.push(entered_one);
    }
    for n in 1..=3 {
        bus.publish(Placed { n }).await.unwrap();
    }
    for entered in &entered {
        entered.until(1).await;
    }
    // Two unsubscribe; their workers still have 1 in hand and 2 and 3 queued.
    let staying = subscriptions.pop().unwrap();
    drop(subscriptions);
    assert_eq!(bus.subscriptions(), [Arc::<str>::from("staying")]);
    let report = bus.shutdown(Duration::from_millis(100)).await;
    assert!(!report.finished);
    assert_eq!(report.abandoned, 9);
    for name in ["gone", "also-gone", "staying"] {
        assert_eq!(letters(&bus, name).await.len(), 3, "{name}");
    }
    drop(staying);
}

#[tokio::test]
async fn when_the_last_handle_on_the_bus_goes_its_workers_and_streams_end() {
    let bus = EventBus::new();
    let token = Arc::new(());
    bus.subscribe({
        let token = Arc::clone(&token);
        move |_: Envelope<Placed>| {
            let _held = Arc::clone(&token);
            async { Ok(()) }
        }
    })
    .unwrap()
    .detach();
    let mut stream = bus.stream::<Placed>();
    assert_eq!(Arc::strong_count(&token), 2);
    drop(bus);
    assert!(within("the stream ends", stream.next()).await.is_none());
    within("the worker ends, dropping its handler", async {
        while Arc::strong_count(&token) > 1 {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

// ----------------------------------------------------------------------------------------------
// Deliveries from outside, bridges, stores, descriptions

#[tokio::test]
async fn deliver_reaches_the_subscribers_of_the_delivery_it_names() {
    let bus = EventBus::new();
    let handled = seen();
    let _handler = bus
        .subscribe_with(SubscribeOptions::named("handler"), recording(&handled))
        .unwrap();
    let mut stream = bus.stream::<Placed>();
    let wire = |n: u32| WireEvent {
        metadata: Metadata::new("order.placed"),
        payload: serde_json::json!({ "n": n }),
    };

    // Shared: the handlers only (what a bridge's shared consumer hands over).
    let completion = bus.deliver(wire(1), Some(Delivery::Shared)).await;
    assert_eq!(completion.outcomes, [outcome("handler", Ok(()))]);
    assert_eq!(handled.get(), [1]);

    // Broadcast: the streams only, and nobody waits for a stream (its reader may never come).
    let completion = within(
        "the broadcast",
        bus.deliver(wire(2), Some(Delivery::Broadcast)),
    )
    .await;
    assert!(completion.outcomes.is_empty(), "{completion:?}");
    assert_eq!(within("the stream", stream.next()).await.unwrap().n, 2);
    assert_eq!(handled.get(), [1]);

    // Neither named: both; the completion has the handler's outcome only.
    let both = within("both", bus.deliver(wire(3), None)).await;
    assert_eq!(both.outcomes, [outcome("handler", Ok(()))]);
    assert_eq!(within("the stream", stream.next()).await.unwrap().n, 3);
    assert_eq!(handled.get(), [1, 3]);
}

/// A bridge that keeps what it is given (or refuses everything).
#[derive(Clone)]
struct Outbox {
    sent: Arc<Seen<WireEvent>>,
    down: bool,
}

impl BusBridge for Outbox {
    fn name(&self) -> &'static str {
        "outbox"
    }

    async fn publish(&self, event: &WireEvent) -> Result<(), BoxError> {
        if self.down {
            return Err("broker down".into());
        }
        self.sent.push(event.clone());
        Ok(())
    }

    async fn consume(&self, consumer: BridgeConsumer) -> Result<(), BoxError> {
        consumer.stopped().await;
        Ok(())
    }
}

#[tokio::test]
async fn with_a_bridge_bridged_topics_go_to_the_broker_only() {
    let bus = EventBus::builder().source("shop").build();
    let placed = seen();
    let _placed = bus
        .subscribe_with(SubscribeOptions::named("placed"), recording(&placed))
        .unwrap();
    let paid = seen();
    let _paid = bus
        .subscribe_with(SubscribeOptions::named("paid"), {
            let paid = Arc::clone(&paid);
            move |p: Envelope<Paid>| {
                paid.push(p.n);
                async { Ok(()) }
            }
        })
        .unwrap();
    let outbox = Outbox {
        sent: seen(),
        down: false,
    };
    bus.set_bridge(
        Arc::new(outbox.clone()),
        vec![Pattern::parse("order.#").unwrap()],
    );

    let id = bus.publish(Placed { n: 1 }).await.unwrap();
    let sent = outbox.sent.get();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].metadata.id, id);
    assert_eq!(sent[0].metadata.source, "shop");
    assert_eq!(sent[0].payload, serde_json::json!({ "n": 1 }));
    // Not bridged: delivered here.
    bus.publish(Paid { n: 2 }).await.unwrap();
    assert_eq!(paid.until(1).await, [2]);
    assert_eq!(outbox.sent.get().len(), 1);
    // publish_and_wait stays in this process.
    let completion = bus.publish_and_wait(Placed { n: 3 }).await.unwrap();
    assert_eq!(completion.outcomes, [outcome("placed", Ok(()))]);
    assert_eq!(placed.get(), [3], "the bridged event was not handled here");
    // What comes back from the broker is handled, with its metadata.
    let back = bus.deliver(sent[0].clone(), Some(Delivery::Shared)).await;
    assert_eq!(back.id, id);
    assert_eq!(placed.get(), [3, 1]);

    // A bridge that refuses: the publish fails, naming it.
    bus.set_bridge(
        Arc::new(Outbox {
            sent: seen(),
            down: true,
        }),
        vec![Pattern::parse("#").unwrap()],
    );
    let error = bus.publish(Paid { n: 4 }).await.unwrap_err();
    assert!(
        matches!(
            error,
            PublishError::Bridge {
                bridge: "outbox",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the `outbox` bridge did not take the event: broker down"
    );
    assert_eq!(paid.get(), [2]);
}

#[tokio::test]
async fn dead_letters_go_to_the_store_the_bus_was_built_with() {
    // A store of one letter: the second failure pushes the first out.
    let bus = EventBus::builder()
        .retry(RetryPolicy::none())
        .dead_letters(MemoryDeadLetters::new(1))
        .build();
    let _failing = bus
        .subscribe_with(
            SubscribeOptions::named("failing"),
            |_: Envelope<Placed>| async { Err("no".into()) },
        )
        .unwrap();
    bus.publish_and_wait(Placed { n: 1 }).await.unwrap();
    let second = bus.publish_and_wait(Placed { n: 2 }).await.unwrap();
    let stored = letters(&bus, "failing").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event_id(), second.id);

    // A shared store: the app reads it directly.
    let store: Arc<MemoryDeadLetters> = Arc::new(MemoryDeadLetters::default());
    let bus = EventBus::builder()
        .retry(RetryPolicy::none())
        .dead_letters_shared(store.clone())
        .build();
    let _failing = bus
        .subscribe_with(
            SubscribeOptions::named("failing"),
            |_: Envelope<Placed>| async { Err("no".into()) },
        )
        .unwrap();
    let failed = bus.publish_and_wait(Placed { n: 1 }).await.unwrap();
    let letter = DeadLetterStore::get(&*store, failed.id, "failing")
        .await
        .unwrap();
    assert_eq!(letter.unwrap().error, "no");
}

#[tokio::test]
async fn the_bus_its_subscriptions_and_streams_describe_themselves() {
    let bus = EventBus::builder().source("orders").build();
    assert_eq!(bus.source(), "orders");
    assert_eq!(EventBus::new().source(), "app");
    let subscription = bus
        .subscribe_with(
            SubscribeOptions::named("audit"),
            |_: Envelope<Placed>| async { Ok(()) },
        )
        .unwrap();
    assert_eq!(
        format!("{subscription:?}"),
        "Subscription { name: \"audit\" }"
    );
    assert_eq!(
        format!("{bus:?}"),
        "EventBus { source: \"orders\", subscriptions: [\"audit\"], closed: false }"
    );
    let stream = bus.stream::<Placed>();
    assert_eq!(format!("{stream:?}"), "EventStream");
}

/// An event implemented by hand with a malformed topic (the derive refuses it at compile time).
#[derive(Debug, Serialize, Deserialize)]
struct Malformed;

impl Event for Malformed {
    const TOPIC: &'static str = "order placed";
}

#[tokio::test]
async fn an_event_with_a_malformed_topic_is_refused_with_the_reason() {
    let bus = EventBus::new();
    for _ in 0..2 {
        let error = bus.publish(Malformed).await.unwrap_err();
        assert!(
            matches!(
                &error,
                PublishError::Topic(TopicError::InvalidCharacter { character: ' ', .. })
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "cannot publish: `order placed` contains ` `; a topic's segments are ASCII letters, \
             digits, `_` and `-`"
        );
    }
    assert!(matches!(
        bus.publish_and_wait(Malformed).await,
        Err(PublishError::Topic(_))
    ));
    assert!(matches!(
        bus.subscribe(|_: Envelope<Malformed>| async { Ok(()) }),
        Err(SubscribeError::Topic(_))
    ));
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        bus.stream::<Malformed>();
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("cannot stream `") && message.ends_with("fix its `Event::TOPIC`"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_publisher_waiting_for_a_subscriber_that_leaves_is_not_refused() {
    let bus = EventBus::new();
    let (gate, entered, handled) = (Gate::closed(), seen(), seen());
    let leaving = bus
        .subscribe_with(
            SubscribeOptions::named("leaving").capacity(1),
            gated(&gate, &entered, &handled),
        )
        .unwrap();
    bus.publish(Placed { n: 1 }).await.unwrap();
    entered.until(1).await;
    bus.publish(Placed { n: 2 }).await.unwrap();
    let mut blocked = tokio::spawn({
        let bus = bus.clone();
        async move { bus.publish(Placed { n: 3 }).await }
    });
    let mut blocked_waiting = tokio::spawn({
        let bus = bus.clone();
        async move { bus.publish_and_wait(Placed { n: 4 }).await }
    });
    assert!(
        tokio::time::timeout(Duration::from_secs(60), &mut blocked)
            .await
            .is_err(),
        "the publisher waits for room"
    );
    drop(leaving);
    // The subscriber left: nobody is missing the event, and the bus is open.
    within("the publish", &mut blocked).await.unwrap().unwrap();
    let completion = within("the publish_and_wait", &mut blocked_waiting)
        .await
        .unwrap()
        .unwrap();
    assert!(completion.outcomes.is_empty(), "{completion:?}");
    assert!(letters(&bus, "leaving").await.is_empty());
    gate.open(10);
    assert_eq!(handled.until(2).await, [1, 2]);
}
