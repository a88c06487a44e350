//! The event bus.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use cortex_di::BoxError;
use futures_util::FutureExt;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
pub(crate) use tokio_util_shim::CancelFlag;

use crate::dead_letter::{DeadLetter, ErasedDeadLetterStore, MemoryDeadLetters};
use crate::error::{HandlerFailure, PublishError, SubscribeError};
use crate::event::{
    Envelope, Event, EventId, Metadata, Payload, PayloadRef, Published, Receivable, SharedStr,
    WireEvent,
};
use crate::interceptor::{BoxFuture, ErasedInterceptor, HandleContext, Next};
use crate::queue::{Overflow, Pushed, Queue};
use crate::retry::RetryPolicy;
use crate::topic::{Pattern, check_topic};

/// A tiny cancellation flag with a waiter (no tokio-util dependency for one flag).
mod tokio_util_shim {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::sync::Notify;

    #[derive(Default)]
    pub(crate) struct CancelFlag {
        set: AtomicBool,
        notify: Notify,
    }

    impl CancelFlag {
        pub(crate) fn cancel(&self) {
            self.set.store(true, Ordering::Release);
            self.notify.notify_waiters();
        }

        pub(crate) fn is_cancelled(&self) -> bool {
            self.set.load(Ordering::Acquire)
        }

        pub(crate) async fn cancelled(&self) {
            loop {
                let notified = self.notify.notified();
                if self.is_cancelled() {
                    return;
                }
                notified.await;
            }
        }
    }
}

/// How a subscription receives events when the bus is bridged to other instances (Redis, NATS):
/// without a bridge both are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Once per app across its instances: an event handler's work (send the email once). The
    /// default for handlers.
    #[default]
    Shared,
    /// In every instance: a live subscription (push to this instance's WebSocket clients). The
    /// default for [`EventBus::stream`].
    Broadcast,
}

/// How a subscription is made: its name, pattern, queue and retries.
///
/// ```
/// use cortex_events::{Overflow, RetryPolicy, SubscribeOptions};
/// let options = SubscribeOptions::named("audit")
///     .pattern("user.#")
///     .priority(10)
///     .capacity(256)
///     .overflow(Overflow::DropOldest)
///     .retry(RetryPolicy::none());
/// assert_eq!(options.name.as_deref(), Some("audit"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct SubscribeOptions {
    /// The subscription's name: a handler's, in logs, metrics and dead letters. Unnamed ones
    /// get `subscription-N`.
    pub name: Option<String>,
    /// The topic pattern; by default the event type's topic.
    pub pattern: Option<String>,
    /// Higher first: each event is queued for subscribers in priority order.
    pub priority: i32,
    /// The queue's capacity (the bus's default when `None`).
    pub capacity: Option<usize>,
    /// What a full queue does (the bus's default when `None`).
    pub overflow: Option<Overflow>,
    /// Retries (the bus's default when `None`).
    pub retry: Option<RetryPolicy>,
    /// How it receives events when the bus is bridged.
    pub delivery: Delivery,
}

impl SubscribeOptions {
    /// Options for a named subscription.
    pub fn named(name: impl Into<String>) -> Self {
        SubscribeOptions {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// Sets the topic pattern.
    pub fn pattern(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the queue's capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// Sets the overflow policy.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = Some(overflow);
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Sets how the subscription receives events across instances.
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }
}

/// The outcome of one handler in a [`Completion`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerOutcome {
    /// The handler (or subscription).
    pub handler: Arc<str>,
    /// Whether it handled the event.
    pub result: Result<(), HandlerFailure>,
}

/// What [`EventBus::publish_and_wait`] returns: every matching handler's outcome.
///
/// ```
/// use cortex_events::{Completion, HandlerFailure, HandlerOutcome};
/// let completion = Completion::new(
///     cortex_events::EventId::new(),
///     vec![
///         HandlerOutcome { handler: "a".into(), result: Ok(()) },
///         HandlerOutcome { handler: "b".into(), result: Err(HandlerFailure::Dropped) },
///     ],
/// );
/// assert!(!completion.is_ok());
/// assert_eq!(completion.failures().count(), 1);
/// assert!(completion.into_result().unwrap_err().to_string().contains("`b`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The event's id.
    pub id: EventId,
    /// One outcome per handler the event was delivered to (subscribers whose filter or type
    /// skipped it are not listed).
    pub outcomes: Vec<HandlerOutcome>,
}

/// Handlers that failed, from [`Completion::into_result`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {id}: {}", .failures.iter().map(|o| format!("`{}` {}", o.handler, o.result.as_ref().err().map(ToString::to_string).unwrap_or_default())).collect::<Vec<_>>().join("; "))]
pub struct HandlersFailed {
    /// The event's id.
    pub id: EventId,
    /// The failed handlers.
    pub failures: Vec<HandlerOutcome>,
}

impl Completion {
    /// A completion (for tests and bridges).
    pub fn new(id: EventId, outcomes: Vec<HandlerOutcome>) -> Self {
        Completion { id, outcomes }
    }

    /// Whether every handler handled the event.
    pub fn is_ok(&self) -> bool {
        self.outcomes.iter().all(|o| o.result.is_ok())
    }

    /// The handlers that failed.
    pub fn failures(&self) -> impl Iterator<Item = &HandlerOutcome> {
        self.outcomes.iter().filter(|o| o.result.is_err())
    }

    /// `Ok` when every handler handled the event, else the failures.
    pub fn into_result(self) -> Result<(), HandlersFailed> {
        if self.is_ok() {
            return Ok(());
        }
        Err(HandlersFailed {
            id: self.id,
            failures: self
                .outcomes
                .into_iter()
                .filter(|o| o.result.is_err())
                .collect(),
        })
    }
}

/// What a delivery did.
pub(crate) enum Delivered {
    Handled,
    /// The subscriber's type or filter does not take this event.
    Skipped,
}

/// Why a delivery failed.
pub(crate) enum DeliverError {
    /// Worth retrying.
    Failed(BoxError),
    /// A payload from outside that does not decode into the handler's type: never retried.
    Undecodable(serde_json::Error),
}

/// What a worker calls to deliver an event to its subscriber's handler: generic, so that the
/// handler's future is not boxed (only the interceptors' chain boxes it).
trait Deliver: Send + Sync + 'static {
    type Future: Future<Output = Result<Delivered, DeliverError>> + Send + 'static;

    fn deliver(&self, published: &Published, attempt: u32) -> Self::Future;
}

impl<F, Fut> Deliver for F
where
    F: Fn(&Published, u32) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Delivered, DeliverError>> + Send + 'static,
{
    type Future = Fut;

    fn deliver(&self, published: &Published, attempt: u32) -> Fut {
        self(published, attempt)
    }
}

struct Item {
    published: Published,
    done: Option<oneshot::Sender<Option<HandlerOutcome>>>,
}

struct Sub {
    id: u64,
    name: Arc<str>,
    named: bool,
    pattern: Pattern,
    priority: i32,
    delivery: Delivery,
    retry: RetryPolicy,
    queue: Queue<Item>,
    metrics: SubMetrics,
    /// The attempt the worker is at for the event in its hands (0 between events): the dead
    /// letter's attempt count when a shutdown stops the worker mid-event (its batch guard puts
    /// that event back at the front of the queue).
    attempt: AtomicU32,
    /// A stream or the test kit's tap: never waited for, never dead-lettered.
    observer: bool,
}

struct SubMetrics {
    handled: metrics::Counter,
    failed: metrics::Counter,
    retried: metrics::Counter,
    dead_lettered: metrics::Counter,
    dropped: metrics::Counter,
    duration: metrics::Histogram,
    /// Whether `duration` goes to a recorder: without one, the worker reads no clock.
    timed: bool,
    depth: metrics::Gauge,
}

impl SubMetrics {
    fn new(name: &Arc<str>) -> Self {
        let handler = name.to_string();
        let outcome = |o: &'static str| metrics::counter!("cortex_events_handled_total", "handler" => handler.clone(), "outcome" => o);
        SubMetrics {
            handled: outcome("ok"),
            failed: outcome("error"),
            retried: metrics::counter!("cortex_events_retries_total", "handler" => handler.clone()),
            dead_lettered: metrics::counter!("cortex_events_dead_lettered_total", "handler" => handler.clone()),
            dropped: metrics::counter!("cortex_events_dropped_total", "handler" => handler.clone()),
            duration: metrics::histogram!("cortex_events_handle_duration_seconds", "handler" => handler.clone()),
            // The handles above come from the recorder in place now. Without one installed, the
            // `metrics` facade hands out those of its `NoopRecorder`, a zero-sized type (the
            // recorders that keep metrics have state): then nothing would record the duration.
            timed: metrics::with_recorder(|recorder| std::mem::size_of_val(recorder) != 0),
            depth: metrics::gauge!("cortex_events_queue_depth", "handler" => handler),
        }
    }
}

struct Route {
    subs: Arc<[Arc<Sub>]>,
    published: metrics::Counter,
}

#[derive(Default)]
struct Registry {
    subs: Vec<Arc<Sub>>,
    /// Looked up on every publish: a fast hasher (topics come from code, the cache is bounded).
    routes: HashMap<Box<str>, Arc<Route>, foldhash::fast::RandomState>,
}

/// The error of the dead letters of events the bus shut down on.
const NOT_HANDLED: &str = "not handled before shutdown";

/// At most this many topics' routes are cached (topics come from code; a bridge could bring
/// arbitrary ones).
const ROUTE_CACHE: usize = 4096;

/// What the bus's subscribers get unless they say otherwise: `[events]`'s `capacity`,
/// `overflow` and `retry`.
#[derive(Debug, Clone)]
pub(crate) struct Defaults {
    pub(crate) capacity: usize,
    pub(crate) overflow: Overflow,
    pub(crate) retry: RetryPolicy,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            capacity: 1024,
            overflow: Overflow::Wait,
            retry: RetryPolicy::default(),
        }
    }
}

struct Inner {
    source: Arc<str>,
    defaults: Defaults,
    registry: RwLock<Registry>,
    next_id: AtomicU64,
    closed: AtomicBool,
    /// Tripped when the drain time is over: retries stop waiting, leftovers are dead-lettered.
    abandon: CancelFlag,
    interceptors: RwLock<Arc<[Arc<dyn ErasedInterceptor>]>>,
    /// Whether `interceptors` has any: publishing reads the list only then.
    intercepted: AtomicBool,
    dead_letters: Arc<dyn ErasedDeadLetterStore>,
    /// Each handler's worker, with its subscriber (which may have unsubscribed meanwhile).
    workers: Mutex<Vec<(Arc<Sub>, JoinHandle<()>)>>,
    bridge: RwLock<Option<Bridged>>,
    /// Whether `bridge` is set: publishing reads it only then.
    has_bridge: AtomicBool,
}

impl Drop for Inner {
    /// The last handle on the bus is gone: the workers and streams end (what is queued is not
    /// handled: there is no bus to handle it with).
    fn drop(&mut self) {
        let registry = self.registry.get_mut().unwrap_or_else(|e| e.into_inner());
        for sub in &registry.subs {
            sub.queue.close();
        }
    }
}

#[derive(Clone)]
struct Bridged {
    bridge: Arc<dyn crate::bridge::ErasedBusBridge>,
    topics: Arc<[Pattern]>,
}

/// The event bus: publish typed events, subscribe handlers and streams.
///
/// In-process by default (events are shared, never serialized); bridged to other instances
/// through Redis or NATS by configuration. Cheap to clone: clones share the bus. Apps get it by
/// injection (`Inject<EventBus>`) from the `EventsPlugin`; `EventBus::new()` makes a standalone
/// one.
///
/// ```
/// use cortex_events::{Envelope, Event, EventBus};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct OrderPlaced { total: u64 }
/// impl Event for OrderPlaced { const TOPIC: &'static str = "order.placed"; }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let bus = EventBus::new();
/// let revenue = Arc::new(AtomicU64::new(0));
/// let _subscription = bus.subscribe({
///     let revenue = Arc::clone(&revenue);
///     move |order: Envelope<OrderPlaced>| {
///         let revenue = Arc::clone(&revenue);
///         async move {
///             revenue.fetch_add(order.total, Ordering::Relaxed);
///             Ok(())
///         }
///     }
/// }).unwrap();
///
/// let completion = bus.publish_and_wait(OrderPlaced { total: 42 }).await.unwrap();
/// assert!(completion.is_ok());
/// assert_eq!(revenue.load(Ordering::Relaxed), 42);
/// # }
/// ```
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registry = self.inner.registry.read().expect("registry lock");
        f.debug_struct("EventBus")
            .field("source", &self.inner.source)
            .field(
                "subscriptions",
                &registry.subs.iter().map(|s| &*s.name).collect::<Vec<_>>(),
            )
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds an [`EventBus`] with non-default settings.
///
/// ```
/// use cortex_events::{EventBus, MemoryDeadLetters, Overflow};
/// let bus = EventBus::builder()
///     .source("orders")
///     .capacity(64)
///     .overflow(Overflow::Fail)
///     .dead_letters(MemoryDeadLetters::new(100))
///     .build();
/// assert_eq!(bus.source(), "orders");
/// ```
#[derive(Default)]
pub struct EventBusBuilder {
    source: Option<String>,
    defaults: Defaults,
    dead_letters: Option<Arc<dyn ErasedDeadLetterStore>>,
}

impl EventBusBuilder {
    /// The `source` written in every event's metadata.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The default queue capacity of subscribers.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.defaults.capacity = capacity.max(1);
        self
    }

    /// The default overflow policy of subscribers.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.defaults.overflow = overflow;
        self
    }

    /// The default retry policy of handlers.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.defaults.retry = retry;
        self
    }

    /// Where dead letters go.
    pub fn dead_letters(mut self, store: impl crate::DeadLetterStore) -> Self {
        self.dead_letters = Some(Arc::new(store));
        self
    }

    /// Where dead letters go, already shared.
    pub fn dead_letters_shared(mut self, store: Arc<dyn ErasedDeadLetterStore>) -> Self {
        self.dead_letters = Some(store);
        self
    }

    /// The bus.
    pub fn build(self) -> EventBus {
        EventBus {
            inner: Arc::new(Inner {
                source: self.source.unwrap_or_else(|| "app".into()).into(),
                defaults: self.defaults,
                registry: RwLock::new(Registry::default()),
                next_id: AtomicU64::new(1),
                closed: AtomicBool::new(false),
                abandon: CancelFlag::default(),
                interceptors: RwLock::new(Arc::from(Vec::new())),
                intercepted: AtomicBool::new(false),
                dead_letters: self
                    .dead_letters
                    .unwrap_or_else(|| Arc::new(MemoryDeadLetters::default())),
                workers: Mutex::new(Vec::new()),
                bridge: RwLock::new(None),
                has_bridge: AtomicBool::new(false),
            }),
        }
    }
}

tokio::task_local! {
    /// The event being handled on this task (a subscriber's worker): what an event published by
    /// a handler is caused by. Scoped once around the worker; set at each attempt, emptied when
    /// the worker has handled what it took from its queue.
    static HANDLING: Cell<Option<Arc<Metadata>>>;
}

/// The metadata of the event being handled by the current task, if any.
///
/// ```
/// assert!(cortex_events::bus::current_event().is_none());
/// ```
pub fn current_event() -> Option<Arc<Metadata>> {
    HANDLING
        .try_with(|handling| {
            let current = handling.take();
            handling.set(current.clone());
            current
        })
        .ok()
        .flatten()
}

impl EventBus {
    /// A standalone bus with the defaults: queues of 1,024 that make publishers wait, 3 retries
    /// from 100 ms, dead letters in memory.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for other settings.
    pub fn builder() -> EventBusBuilder {
        EventBusBuilder::default()
    }

    /// The source written in every event's metadata.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Whether the bus has stopped accepting events.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// The dead-letter store.
    pub fn dead_letters(&self) -> &Arc<dyn ErasedDeadLetterStore> {
        &self.inner.dead_letters
    }

    /// Adds an interceptor (after those already added: further inside).
    pub fn add_interceptor(&self, interceptor: impl crate::Interceptor) {
        self.add_interceptor_shared(Arc::new(interceptor));
    }

    /// Adds a shared interceptor.
    pub fn add_interceptor_shared(&self, interceptor: Arc<dyn ErasedInterceptor>) {
        let mut interceptors = self.inner.interceptors.write().expect("interceptors lock");
        let mut all: Vec<_> = interceptors.iter().cloned().collect();
        all.push(interceptor);
        *interceptors = Arc::from(all);
        self.inner.intercepted.store(true, Ordering::Release);
    }

    /// The names of the subscriptions, in priority order.
    pub fn subscriptions(&self) -> Vec<Arc<str>> {
        let registry = self.inner.registry.read().expect("registry lock");
        registry.subs.iter().map(|s| Arc::clone(&s.name)).collect()
    }

    /// Publishes an event; returns once every matching subscriber has it queued (with the
    /// `wait` overflow policy, after waiting for room), before any handler has run.
    ///
    /// A failing or panicking handler never reaches the publisher: it is retried, then
    /// dead-lettered.
    pub async fn publish<E: Event>(&self, event: E) -> Result<EventId, PublishError> {
        let (published, route) = self.prepare(E::TOPIC, Payload::local(event)).await?;
        let id = published.metadata.id;
        if let Some(bridged) = self.bridged(&published.metadata.topic) {
            let wire = published.to_wire()?;
            bridged
                .bridge
                .publish(&wire)
                .await
                .map_err(|source| PublishError::Bridge {
                    bridge: bridged.bridge.name(),
                    source,
                })?;
            return Ok(id);
        }
        self.dispatch(published, route, None, false).await?;
        Ok(id)
    }

    /// Sends the events on `topics` through `bridge` from now on (what the plugin does when
    /// `[events.bridge]` is configured); the plugin also runs the bridge's consumers.
    pub fn set_bridge(
        &self,
        bridge: Arc<dyn crate::bridge::ErasedBusBridge>,
        topics: Vec<Pattern>,
    ) {
        *self.inner.bridge.write().expect("bridge lock") = Some(Bridged {
            bridge,
            topics: topics.into(),
        });
        self.inner.has_bridge.store(true, Ordering::Release);
    }

    fn bridged(&self, topic: &str) -> Option<Bridged> {
        if !self.inner.has_bridge.load(Ordering::Acquire) {
            return None;
        }
        let bridge = self.inner.bridge.read().expect("bridge lock");
        bridge
            .as_ref()
            .filter(|b| b.topics.iter().any(|p| p.matches(topic)))
            .cloned()
    }

    /// Publishes an event and waits for every matching handler to finish with it (retries
    /// included), returning each one's outcome. Streams get the event too, but nobody waits for
    /// a stream's reader. Delivered in this process only: never through
    /// a bridge.
    pub async fn publish_and_wait<E: Event>(&self, event: E) -> Result<Completion, PublishError> {
        let (published, route) = self.prepare(E::TOPIC, Payload::local(event)).await?;
        let id = published.metadata.id;
        let waiting = self.dispatch(published, route, None, true).await?;
        Ok(Completion {
            id,
            outcomes: collect(waiting).await,
        })
    }

    /// Delivers an event that arrived from outside (a bridge, the event store, a replay) to the
    /// matching subscribers of this process and waits for them: what a bridge calls before it
    /// acknowledges the event. `delivery` picks the subscriptions (`None`: all).
    pub async fn deliver(&self, event: WireEvent, delivery: Option<Delivery>) -> Completion {
        let id = event.metadata.id;
        let published = Published {
            metadata: Arc::new(event.metadata),
            payload: Payload::Json(Arc::new(event.payload)),
        };
        let route = self.route(&published.metadata.topic);
        match self
            .dispatch_to(published, route, delivery, None, true)
            .await
        {
            Ok(waiting) => Completion {
                id,
                outcomes: collect(waiting).await,
            },
            Err(PublishError::Full { subscribers, .. }) => Completion {
                id,
                outcomes: subscribers
                    .into_iter()
                    .map(|handler| HandlerOutcome {
                        handler,
                        result: Err(HandlerFailure::Dropped),
                    })
                    .collect(),
            },
            Err(_) => Completion {
                id,
                outcomes: Vec::new(),
            },
        }
    }

    /// Delivers events from outside as [`deliver`](Self::deliver) does, several at a time: each
    /// is queued for its subscribers in the order given (so each subscriber handles them in that
    /// order), then every handler's outcome is awaited; one [`Completion`] per event, in order.
    /// What a bridge calls with a batch read from the broker.
    pub(crate) async fn deliver_all(
        &self,
        events: Vec<WireEvent>,
        delivery: Option<Delivery>,
    ) -> Vec<Completion> {
        let mut queued = Vec::with_capacity(events.len());
        for event in events {
            let id = event.metadata.id;
            let published = Published {
                metadata: Arc::new(event.metadata),
                payload: Payload::Json(Arc::new(event.payload)),
            };
            // With `wait`, a full queue is an outcome (never an error).
            let route = self.route(&published.metadata.topic);
            let waiting = self
                .dispatch_to(published, route, delivery, None, true)
                .await
                .unwrap_or_default();
            queued.push((id, waiting));
        }
        futures_util::future::join_all(queued.into_iter().map(|(id, waiting)| async move {
            Completion {
                id,
                outcomes: collect(waiting).await,
            }
        }))
        .await
    }

    /// Queues an event from outside for the matching subscribers without waiting for them: what
    /// a broadcast consumer does (it acknowledges nothing, and a stream nobody reads must not
    /// hold up the others).
    pub(crate) async fn deliver_queued(&self, event: WireEvent, delivery: Option<Delivery>) {
        let published = Published {
            metadata: Arc::new(event.metadata),
            payload: Payload::Json(Arc::new(event.payload)),
        };
        // A full `fail` queue refuses the event for that subscriber only: nothing to report.
        let route = self.route(&published.metadata.topic);
        let _ = self
            .dispatch_to(published, route, delivery, None, false)
            .await;
    }

    /// Delivers a dead letter again to its handler only, and removes it from the store when the
    /// handler succeeds (a new failure replaces it, with the attempts counted again).
    ///
    /// ```
    /// use cortex_events::{DeadLetterQuery, Envelope, Event, EventBus, RetryPolicy, SubscribeOptions};
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    ///
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Ping;
    /// impl Event for Ping { const TOPIC: &'static str = "ping"; }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let bus = EventBus::new();
    /// let healthy = Arc::new(AtomicBool::new(false));
    /// let _s = bus.subscribe_with(SubscribeOptions::named("pong").retry(RetryPolicy::none()), {
    ///     let healthy = Arc::clone(&healthy);
    ///     move |_: Envelope<Ping>| {
    ///         let healthy = healthy.load(Ordering::Relaxed);
    ///         async move { if healthy { Ok(()) } else { Err("down".into()) } }
    ///     }
    /// }).unwrap();
    /// assert!(!bus.publish_and_wait(Ping).await.unwrap().is_ok());
    /// let letters = bus.dead_letters().list(&DeadLetterQuery::default()).await.unwrap();
    /// assert_eq!(letters[0].error, "down");
    ///
    /// healthy.store(true, Ordering::Relaxed);
    /// assert!(bus.replay(&letters[0]).await.unwrap().is_ok());
    /// assert!(bus.dead_letters().list(&DeadLetterQuery::default()).await.unwrap().is_empty());
    /// # }
    /// ```
    pub async fn replay(&self, letter: &DeadLetter) -> Result<Completion, ReplayError> {
        let completion = self
            .deliver_to(letter.event.clone(), &letter.handler)
            .await?;
        if completion.is_ok() && !completion.outcomes.is_empty() {
            self.inner
                .dead_letters
                .remove(letter.event_id(), &letter.handler)
                .await
                .map_err(ReplayError::Store)?;
        }
        Ok(completion)
    }

    /// Delivers an event to the subscriber named `handler` only and waits for it: what
    /// [`replay`](Self::replay) and the event store's replay use. The completion has no outcome
    /// when the subscriber skips the event: its topic pattern does not match the event's topic,
    /// or its type or filter does not take it.
    ///
    /// ```
    /// use cortex_events::{Envelope, Event, EventBus, Metadata, SubscribeOptions, WireEvent};
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Ping { n: u32 }
    /// impl Event for Ping { const TOPIC: &'static str = "ping"; }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let bus = EventBus::new();
    /// let _pong = bus.subscribe_with(SubscribeOptions::named("pong"), |ping: Envelope<Ping>| async move {
    ///     assert_eq!(ping.n, 4);
    ///     Ok(())
    /// }).unwrap();
    /// let event = WireEvent::new(Metadata::new("ping"), &Ping { n: 4 }).unwrap();
    /// assert!(bus.deliver_to(event.clone(), "pong").await.unwrap().is_ok());
    /// assert!(bus.deliver_to(event, "nobody").await.is_err());
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`ReplayError::UnknownHandler`] when no subscriber has this name,
    /// [`ReplayError::Full`] when its queue refuses the event, [`ReplayError::Closed`] when the
    /// bus is shutting down.
    pub async fn deliver_to(
        &self,
        event: WireEvent,
        handler: &str,
    ) -> Result<Completion, ReplayError> {
        let sub = {
            let registry = self.inner.registry.read().expect("registry lock");
            registry.subs.iter().find(|s| *s.name == *handler).cloned()
        };
        let Some(sub) = sub else {
            return Err(ReplayError::UnknownHandler(handler.to_string()));
        };
        let id = event.metadata.id;
        if !sub.pattern.matches(&event.metadata.topic) {
            return Ok(Completion {
                id,
                outcomes: Vec::new(),
            });
        }
        let published = Published {
            metadata: Arc::new(event.metadata),
            payload: Payload::Json(Arc::new(event.payload)),
        };
        let (tx, rx) = oneshot::channel();
        match sub
            .queue
            .push(Item {
                published,
                done: Some(tx),
            })
            .await
        {
            Pushed::Queued => {}
            Pushed::Dropped(old) => self.dropped(&sub, old),
            Pushed::Full(_) => return Err(ReplayError::Full(handler.to_string())),
            Pushed::Closed(_) => return Err(ReplayError::Closed),
        }
        let outcomes: Vec<HandlerOutcome> = rx.await.ok().flatten().into_iter().collect();
        Ok(Completion { id, outcomes })
    }

    /// The event as [`publish`](Self::publish) would send it now, without sending it: its
    /// metadata filled in the same way (a new id, the source, the correlation and causation
    /// ids, the trace context, the interceptors' `before_publish`) and its payload as JSON.
    /// What the outbox writes, to be published later with
    /// [`publish_wire`](Self::publish_wire).
    ///
    /// ```
    /// use cortex_events::{Event, EventBus};
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Ping { n: u32 }
    /// impl Event for Ping { const TOPIC: &'static str = "ping"; }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let bus = EventBus::builder().source("pinger").build();
    /// let wire = bus.to_wire(&Ping { n: 1 }).await.unwrap();
    /// assert_eq!(wire.metadata.topic, "ping");
    /// assert_eq!(wire.metadata.source, "pinger");
    /// assert_eq!(wire.payload, serde_json::json!({ "n": 1 }));
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`publish`](Self::publish) before sending: the bus is closed, the topic is malformed,
    /// an interceptor refused the event, the event does not serialize.
    pub async fn to_wire<E: Event>(&self, event: &E) -> Result<WireEvent, PublishError> {
        let payload = Payload::Json(Arc::new(serde_json::to_value(event)?));
        let (published, _) = self.prepare(E::TOPIC, payload).await?;
        Ok(published.to_wire()?)
    }

    /// Publishes an event made earlier (by [`to_wire`](Self::to_wire), or read from the
    /// outbox), its metadata kept as it is: to the bridge when its topic is bridged, else to
    /// this process's subscribers. Returns once queued, as [`publish`](Self::publish) does;
    /// the interceptors' `before_publish` is not run again.
    ///
    /// ```
    /// use cortex_events::{Envelope, Event, EventBus};
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Ping { n: u32 }
    /// impl Event for Ping { const TOPIC: &'static str = "ping"; }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let bus = EventBus::new();
    /// let mut pings = bus.stream::<Ping>();
    /// let wire = bus.to_wire(&Ping { n: 2 }).await.unwrap();
    /// let id = bus.publish_wire(wire.clone()).await.unwrap();
    /// let received = pings.next().await.unwrap();
    /// assert_eq!((received.id(), received.n), (id, 2));
    /// assert_eq!(id, wire.metadata.id);
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`PublishError::Closed`] when the bus is shutting down, [`PublishError::Topic`] for a
    /// malformed topic, [`PublishError::Bridge`] when the bridge refuses it,
    /// [`PublishError::Full`] as for `publish`.
    pub async fn publish_wire(&self, event: WireEvent) -> Result<EventId, PublishError> {
        if self.is_closed() {
            return Err(PublishError::Closed);
        }
        check_topic(&event.metadata.topic)?;
        let id = event.metadata.id;
        if let Some(bridged) = self.bridged(&event.metadata.topic) {
            bridged
                .bridge
                .publish(&event)
                .await
                .map_err(|source| PublishError::Bridge {
                    bridge: bridged.bridge.name(),
                    source,
                })?;
            return Ok(id);
        }
        let route = self.route(&event.metadata.topic);
        let published = Published {
            metadata: Arc::new(event.metadata),
            payload: Payload::Json(Arc::new(event.payload)),
        };
        self.dispatch(published, route, None, false).await?;
        Ok(id)
    }

    /// Subscribes a handler to the event type's topic; unsubscribes when the returned
    /// [`Subscription`] is dropped (events already queued for it are still handled). The
    /// handler returns `Result<(), BoxError>`: `?` converts any error.
    pub fn subscribe<R, F, Fut>(&self, handler: F) -> Result<Subscription, SubscribeError>
    where
        R: Receivable,
        F: Fn(Envelope<R>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.subscribe_with(SubscribeOptions::default(), handler)
    }

    /// Subscribes a handler with options (a name, a pattern, a queue, retries).
    pub fn subscribe_with<R, F, Fut>(
        &self,
        options: SubscribeOptions,
        handler: F,
    ) -> Result<Subscription, SubscribeError>
    where
        R: Receivable,
        F: Fn(Envelope<R>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.subscribe_filtered(options, |_: &Envelope<R>| true, handler)
    }

    /// Subscribes a handler that only takes the events `filter` accepts (the others are
    /// skipped: not handled, not failed).
    pub fn subscribe_filtered<R, P, F, Fut>(
        &self,
        options: SubscribeOptions,
        filter: P,
        handler: F,
    ) -> Result<Subscription, SubscribeError>
    where
        R: Receivable,
        P: Fn(&Envelope<R>) -> bool + Send + Sync + 'static,
        F: Fn(Envelope<R>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let deliver = move |published: &Published, attempt: u32| {
            let received = R::receive(&PayloadRef(&published.payload));
            // The filter and the handler's call run here, the handler's future is awaited by the
            // worker: nothing to share with it, nothing boxed.
            let call = match received {
                Ok(Some(event)) => {
                    let envelope =
                        Envelope::from_parts(event, Arc::clone(&published.metadata), attempt);
                    if filter(&envelope) {
                        Ok(handler(envelope))
                    } else {
                        Err(Ok(Delivered::Skipped))
                    }
                }
                Ok(None) => Err(Ok(Delivered::Skipped)),
                Err(e) => Err(Err(DeliverError::Undecodable(e))),
            };
            async move {
                match call {
                    Ok(handling) => handling
                        .await
                        .map(|()| Delivered::Handled)
                        .map_err(DeliverError::Failed),
                    Err(result) => result,
                }
            }
        };
        self.subscribe_deliver::<R, _>(options, deliver)
    }

    /// Subscribes a deliverer and starts its worker: what [`subscribe_filtered`] uses.
    fn subscribe_deliver<R: Receivable, D: Deliver>(
        &self,
        options: SubscribeOptions,
        deliver: D,
    ) -> Result<Subscription, SubscribeError> {
        let sub = self.add_sub::<R>(&options, false)?;
        let worker = tokio::spawn(HANDLING.scope(
            Cell::new(None),
            run_worker(Arc::downgrade(&self.inner), Arc::clone(&sub), deliver),
        ));
        let mut workers = self.inner.workers.lock().expect("workers lock");
        workers.retain(|(_, w)| !w.is_finished());
        workers.push((Arc::clone(&sub), worker));
        Ok(Subscription {
            bus: Arc::downgrade(&self.inner),
            id: sub.id,
            name: Arc::clone(&sub.name),
            detached: false,
        })
    }

    fn add_sub<R: Receivable>(
        &self,
        options: &SubscribeOptions,
        observer: bool,
    ) -> Result<Arc<Sub>, SubscribeError> {
        if self.is_closed() {
            return Err(SubscribeError::Closed);
        }
        let pattern = match (&options.pattern, R::DEFAULT_TOPIC) {
            (Some(p), _) => Pattern::parse(p)?,
            (None, Some(topic)) => Pattern::parse(topic)?,
            (None, None) => return Err(SubscribeError::NoPattern),
        };
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (name, named): (Arc<str>, bool) = match &options.name {
            Some(name) => (name.as_str().into(), true),
            None => (format!("subscription-{id}").into(), false),
        };
        let mut registry = self.inner.registry.write().expect("registry lock");
        if named && registry.subs.iter().any(|s| s.named && s.name == name) {
            return Err(SubscribeError::DuplicateName(name.to_string()));
        }
        let sub = Arc::new(Sub {
            id,
            metrics: SubMetrics::new(&name),
            name,
            named,
            pattern,
            priority: options.priority,
            delivery: options.delivery,
            retry: options
                .retry
                .clone()
                .unwrap_or_else(|| self.inner.defaults.retry.clone()),
            queue: Queue::new(
                options.capacity.unwrap_or(self.inner.defaults.capacity),
                options.overflow.unwrap_or(self.inner.defaults.overflow),
            ),
            attempt: AtomicU32::new(0),
            observer,
        });
        // Stable: equal priorities keep their subscription order.
        let at = registry
            .subs
            .iter()
            .position(|s| s.priority < sub.priority)
            .unwrap_or(registry.subs.len());
        registry.subs.insert(at, Arc::clone(&sub));
        registry.routes.clear();
        Ok(sub)
    }

    /// A stream of the events of type `E` (on its topic), for live subscriptions (GraphQL
    /// subscriptions, WebSocket pushes). Ends when the bus shuts down; unsubscribes when
    /// dropped. Receives events in every instance when the bus is bridged
    /// ([`Delivery::Broadcast`]). Its queue drops the oldest event when the reader falls
    /// 1,024 events behind.
    ///
    /// # Panics
    ///
    /// When `E::TOPIC` is malformed (an `Event` implemented by hand; the derive checks it).
    ///
    /// ```
    /// use cortex_events::{Event, EventBus};
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Tick(u32);
    /// impl Event for Tick { const TOPIC: &'static str = "clock.tick"; }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let bus = EventBus::new();
    /// let mut ticks = bus.stream::<Tick>();
    /// bus.publish(Tick(1)).await.unwrap();
    /// bus.publish(Tick(2)).await.unwrap();
    /// assert_eq!(ticks.next().await.unwrap().0, 1);
    /// assert_eq!(ticks.next().await.unwrap().0, 2);
    /// # }
    /// ```
    pub fn stream<E: Event>(&self) -> EventStream<E> {
        self.stream_with(
            SubscribeOptions::default()
                .delivery(Delivery::Broadcast)
                .overflow(Overflow::DropOldest),
        )
        // A closed bus makes an ended stream; only a malformed `TOPIC` (written by hand, the
        // derive checks it) is an error.
        .unwrap_or_else(|e| {
            panic!(
                "cannot stream `{}`: {e}; fix its `Event::TOPIC`",
                std::any::type_name::<E>()
            )
        })
    }

    /// A stream of every event whose topic matches `pattern`, as `R` (`Json` for any type).
    pub fn stream_pattern<R: Receivable>(
        &self,
        pattern: &str,
    ) -> Result<EventStream<R>, SubscribeError> {
        self.stream_with(
            SubscribeOptions::default()
                .pattern(pattern)
                .delivery(Delivery::Broadcast)
                .overflow(Overflow::DropOldest),
        )
    }

    /// A stream with options.
    pub fn stream_with<R: Receivable>(
        &self,
        options: SubscribeOptions,
    ) -> Result<EventStream<R>, SubscribeError> {
        // A stream is read by whoever holds it, when it likes: `publish_and_wait` and `deliver`
        // do not wait for it, and a shutdown does not dead-letter what it did not read.
        let sub = match self.add_sub::<R>(&options, true) {
            Ok(sub) => sub,
            Err(SubscribeError::Closed) => return Ok(EventStream::ended()),
            Err(e) => return Err(e),
        };
        let subscription = Subscription {
            bus: Arc::downgrade(&self.inner),
            id: sub.id,
            name: Arc::clone(&sub.name),
            detached: false,
        };
        let stream =
            futures_util::stream::unfold((sub, subscription), |(sub, subscription)| async move {
                loop {
                    let item = sub.queue.pop().await?;
                    sub.metrics.depth.set(sub.queue.len() as f64);
                    let received = R::receive(&PayloadRef(&item.published.payload));
                    let handler = Arc::clone(&sub.name);
                    let outcome = |result| {
                        Some(HandlerOutcome {
                            handler: Arc::clone(&handler),
                            result,
                        })
                    };
                    match received {
                        Ok(Some(event)) => {
                            if let Some(done) = item.done {
                                let _ = done.send(outcome(Ok(())));
                            }
                            sub.metrics.handled.increment(1);
                            let envelope = Envelope::from_parts(
                                event,
                                Arc::clone(&item.published.metadata),
                                1,
                            );
                            return Some((envelope, (sub, subscription)));
                        }
                        Ok(None) => {
                            if let Some(done) = item.done {
                                let _ = done.send(None);
                            }
                        }
                        Err(e) => {
                            tracing::warn!(
                                target: "cortex::events",
                                stream = %sub.name,
                                event_id = %item.published.metadata.id,
                                topic = %item.published.metadata.topic,
                                error = %e,
                                "an event does not decode into the stream's type: skipped"
                            );
                            if let Some(done) = item.done {
                                let _ = done.send(outcome(Err(HandlerFailure::DeadLettered {
                                    attempts: 1,
                                    error: e.to_string(),
                                })));
                            }
                        }
                    }
                }
            });
        Ok(EventStream {
            inner: stream.boxed(),
        })
    }

    /// Stops accepting events and waits up to `timeout` for the handlers to finish what is
    /// queued; then retries stop, handlers take nothing more, those still running get a second
    /// to finish before they are stopped, and whatever is left goes to the dead letters (nothing
    /// is dropped silently; waiting publishers get [`HandlerFailure::Shutdown`]). Streams end
    /// after their queued events.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let bus = cortex_events::EventBus::new();
    /// let report = bus.shutdown(std::time::Duration::from_secs(1)).await;
    /// assert_eq!(report.abandoned, 0);
    /// assert!(bus.is_closed());
    /// # }
    /// ```
    pub async fn shutdown(&self, timeout: Duration) -> DrainReport {
        let started = Instant::now();
        self.inner.closed.store(true, Ordering::Release);
        let subs: Vec<Arc<Sub>> = {
            let registry = self.inner.registry.read().expect("registry lock");
            registry.subs.clone()
        };
        for sub in &subs {
            sub.queue.close();
        }
        let workers: Vec<(Arc<Sub>, JoinHandle<()>)> =
            std::mem::take(&mut *self.inner.workers.lock().expect("workers lock"));
        let (worker_subs, mut pending): (Vec<Arc<Sub>>, Vec<JoinHandle<()>>) =
            workers.into_iter().unzip();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let all = futures_util::future::join_all(pending.iter_mut());
        let finished = tokio::select! {
            _ = all => true,
            () = &mut deadline => false,
        };
        let mut abandoned = 0;
        if !finished {
            // Retries stop waiting and dead-letter their event, workers take nothing more; give
            // the handlers running a moment to finish, then stop them.
            self.inner.abandon.cancel();
            let all = futures_util::future::join_all(pending.iter_mut());
            if tokio::time::timeout(Duration::from_secs(1), all)
                .await
                .is_err()
            {
                for worker in &pending {
                    worker.abort();
                }
                // An aborted worker puts the events it had taken back in its queue when it
                // stops: wait for that (briefly: a handler blocking its thread never stops).
                let stopped = futures_util::future::join_all(pending.iter_mut());
                let _ = tokio::time::timeout(Duration::from_secs(1), stopped).await;
            }
            // Subscribers still subscribed (streams included) and those that unsubscribed with
            // events still queued.
            let mut leftovers = subs;
            for sub in worker_subs {
                if !leftovers.iter().any(|s| s.id == sub.id) {
                    leftovers.push(sub);
                }
            }
            for sub in leftovers.iter().filter(|sub| !sub.observer) {
                // A worker stopped in the middle of an event put it back at the front of the
                // queue; `attempt` says how far it got (0: it was between events).
                let in_hands = sub.attempt.swap(0, Ordering::Relaxed);
                let items = sub
                    .queue
                    .drain()
                    .into_iter()
                    .enumerate()
                    .map(|(at, item)| (item, if at == 0 { in_hands } else { 0 }));
                for (item, attempts) in items {
                    abandoned += 1;
                    self.dead_letter(sub, &item.published, NOT_HANDLED, attempts)
                        .await;
                    if let Some(done) = item.done {
                        let _ = done.send(Some(HandlerOutcome {
                            handler: Arc::clone(&sub.name),
                            result: Err(HandlerFailure::Shutdown),
                        }));
                    }
                }
            }
        }
        DrainReport {
            finished,
            abandoned,
            elapsed: started.elapsed(),
        }
    }

    /// The event's metadata, after the interceptors' `before_publish`, and its topic's route
    /// (looked up once per publish).
    async fn prepare(
        &self,
        topic: &'static str,
        payload: Payload,
    ) -> Result<(Published, Arc<Route>), PublishError> {
        if self.is_closed() {
            return Err(PublishError::Closed);
        }
        let route = match self.cached_route(topic) {
            Some(route) => route,
            None => {
                check_topic(topic)?;
                self.route(topic)
            }
        };
        let mut metadata = Metadata::new(topic);
        metadata.source = SharedStr::from(&self.inner.source);
        if let Some(cause) = current_event() {
            metadata.causation_id = Some(cause.id);
            metadata.correlation_id = Some(match &cause.correlation_id {
                Some(correlation) => correlation.clone(),
                None => SharedStr::from(cause.id.to_string()),
            });
            metadata.traceparent = cause.traceparent.clone();
        }
        if let Some(request) = cortex_core::http::current_request_id() {
            metadata.correlation_id = Some(request.into());
        }
        if let Some(ids) = cortex_core::logging::trace_ids() {
            metadata.traceparent =
                Some(format!("00-{:032x}-{:016x}-01", ids.trace_id, ids.span_id));
        }
        if self.inner.intercepted.load(Ordering::Acquire) {
            let interceptors =
                Arc::clone(&self.inner.interceptors.read().expect("interceptors lock"));
            for interceptor in interceptors.iter() {
                interceptor
                    .before_publish(&mut metadata)
                    .await
                    .map_err(PublishError::Refused)?;
            }
        }
        Ok((
            Published {
                metadata: Arc::new(metadata),
                payload,
            },
            route,
        ))
    }

    async fn dispatch(
        &self,
        published: Published,
        route: Arc<Route>,
        delivery: Option<Delivery>,
        wait: bool,
    ) -> Result<Vec<oneshot::Receiver<Option<HandlerOutcome>>>, PublishError> {
        self.dispatch_to(published, route, delivery, None, wait)
            .await
    }

    async fn dispatch_to(
        &self,
        published: Published,
        route: Arc<Route>,
        delivery: Option<Delivery>,
        only: Option<&str>,
        wait: bool,
    ) -> Result<Vec<oneshot::Receiver<Option<HandlerOutcome>>>, PublishError> {
        route.published.increment(1);
        let mut waiting = Vec::new();
        let mut refused = Vec::new();
        let mut shut = false;
        let id = published.metadata.id;
        let takes = |sub: &Sub| {
            delivery.is_none_or(|d| d == sub.delivery) && only.is_none_or(|o| *o == *sub.name)
        };
        // The last subscriber that takes the event gets it, the others a clone (two `Arc`s).
        let last = route.subs.iter().rposition(|sub| takes(sub));
        let mut published = Some(published);
        for (at, sub) in route.subs.iter().enumerate() {
            if !takes(sub) {
                continue;
            }
            let done = (wait && !sub.observer).then(|| {
                let (tx, rx) = oneshot::channel();
                waiting.push(rx);
                tx
            });
            let published = if Some(at) == last {
                published.take()
            } else {
                published.clone()
            };
            let item = Item {
                published: published.expect("the event is moved to the last subscriber only"),
                done,
            };
            // Most pushes find room at once: no future made for them.
            let pushed = match sub.queue.try_push(item) {
                Ok(pushed) => pushed,
                Err(item) => sub.queue.push(item).await,
            };
            match pushed {
                Pushed::Queued => sub.metrics.depth.set(sub.queue.len() as f64),
                Pushed::Dropped(old) => self.dropped(sub, old),
                Pushed::Full(item) => {
                    refused.push(Arc::clone(&sub.name));
                    if let Some(done) = item.done {
                        let _ = done.send(Some(HandlerOutcome {
                            handler: Arc::clone(&sub.name),
                            result: Err(HandlerFailure::Dropped),
                        }));
                    }
                }
                // Unsubscribed meanwhile.
                Pushed::Closed(item) if !self.is_closed() => {
                    if let Some(done) = item.done {
                        let _ = done.send(None);
                    }
                }
                // The bus shut down while the publisher waited for room (or raced the close):
                // the subscriber never got the event.
                Pushed::Closed(item) => {
                    shut = true;
                    if let Some(done) = item.done {
                        self.dead_letter(sub, &item.published, NOT_HANDLED, 0).await;
                        let _ = done.send(Some(HandlerOutcome {
                            handler: Arc::clone(&sub.name),
                            result: Err(HandlerFailure::Shutdown),
                        }));
                    }
                }
            }
        }
        if shut && !wait {
            return Err(PublishError::Closed);
        }
        if refused.is_empty() || wait {
            Ok(waiting)
        } else {
            Err(PublishError::Full {
                id,
                subscribers: refused,
            })
        }
    }

    fn dropped(&self, sub: &Sub, old: Item) {
        sub.metrics.dropped.increment(1);
        tracing::warn!(
            target: "cortex::events",
            handler = %sub.name,
            event_id = %old.published.metadata.id,
            topic = %old.published.metadata.topic,
            "queue full: the oldest event was dropped (overflow = \"drop_oldest\")"
        );
        if let Some(done) = old.done {
            let _ = done.send(Some(HandlerOutcome {
                handler: Arc::clone(&sub.name),
                result: Err(HandlerFailure::Dropped),
            }));
        }
    }

    fn cached_route(&self, topic: &str) -> Option<Arc<Route>> {
        self.inner
            .registry
            .read()
            .expect("registry lock")
            .routes
            .get(topic)
            .cloned()
    }

    fn route(&self, topic: &str) -> Arc<Route> {
        if let Some(route) = self.cached_route(topic) {
            return route;
        }
        let mut registry = self.inner.registry.write().expect("registry lock");
        let subs: Arc<[Arc<Sub>]> = registry
            .subs
            .iter()
            .filter(|s| s.pattern.matches(topic))
            .cloned()
            .collect();
        let route = Arc::new(Route {
            subs,
            published: metrics::counter!("cortex_events_published_total", "topic" => topic.to_string()),
        });
        if registry.routes.len() >= ROUTE_CACHE {
            registry.routes.clear();
        }
        registry.routes.insert(topic.into(), Arc::clone(&route));
        route
    }

    async fn dead_letter(&self, sub: &Sub, published: &Published, error: &str, attempts: u32) {
        dead_letter(&self.inner, sub, published, error, attempts).await;
    }
}

async fn dead_letter(inner: &Inner, sub: &Sub, published: &Published, error: &str, attempts: u32) {
    sub.metrics.dead_lettered.increment(1);
    let wire = match published.to_wire() {
        Ok(wire) => wire,
        Err(e) => {
            tracing::error!(
                target: "cortex::events",
                handler = %sub.name,
                event_id = %published.metadata.id,
                error = %e,
                "an event could not be dead-lettered: it does not serialize"
            );
            return;
        }
    };
    tracing::error!(
        target: "cortex::events",
        handler = %sub.name,
        event_id = %published.metadata.id,
        topic = %published.metadata.topic,
        attempts,
        error,
        "event handling failed; the event is in the dead letters"
    );
    if let Err(e) = inner
        .dead_letters
        .put(DeadLetter::new(sub.name.to_string(), wire, error, attempts))
        .await
    {
        tracing::error!(
            target: "cortex::events",
            handler = %sub.name,
            event_id = %published.metadata.id,
            error = %e,
            "the dead-letter store refused a letter"
        );
    }
}

async fn collect(waiting: Vec<oneshot::Receiver<Option<HandlerOutcome>>>) -> Vec<HandlerOutcome> {
    futures_util::future::join_all(waiting)
        .await
        .into_iter()
        .filter_map(|r| r.ok().flatten())
        .collect()
}

/// Why a dead letter could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// No handler of this app has the letter's handler name.
    #[error("no event handler is named `{0}` in this app")]
    UnknownHandler(String),
    /// The handler's queue is full (overflow = "fail").
    #[error("the queue of `{0}` is full")]
    Full(String),
    /// The bus is shutting down.
    #[error("the event bus is shutting down")]
    Closed,
    /// The store could not remove the letter after the replay succeeded.
    #[error("the dead-letter store: {0}")]
    Store(#[source] BoxError),
}

/// What [`EventBus::shutdown`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainReport {
    /// Whether every handler finished within the timeout.
    pub finished: bool,
    /// Events not handled at the timeout (still queued, or in the hands of a handler that did
    /// not finish), now in the dead letters (error "not handled before shutdown"). An event
    /// waiting for a retry is dead-lettered with its last error instead, and not counted here.
    pub abandoned: usize,
    /// How long it took.
    pub elapsed: Duration,
}

/// A subscription: unsubscribes when dropped, unless detached.
#[must_use = "dropping a Subscription unsubscribes at once; keep it, or call `detach`"]
pub struct Subscription {
    bus: Weak<Inner>,
    id: u64,
    name: Arc<str>,
    detached: bool,
}

impl Subscription {
    /// The subscription's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Keeps the subscription for the bus's lifetime.
    pub fn detach(mut self) {
        self.detached = true;
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("name", &self.name)
            .finish()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        let Some(inner) = self.bus.upgrade() else {
            return;
        };
        let mut registry = inner.registry.write().expect("registry lock");
        if let Some(at) = registry.subs.iter().position(|s| s.id == self.id) {
            let sub = registry.subs.remove(at);
            sub.queue.close();
            registry.routes.clear();
        }
    }
}

/// A stream of events (from [`EventBus::stream`]): read with [`EventStream::next`] or as a
/// `futures` `Stream`.
pub struct EventStream<R> {
    inner: BoxStream<'static, Envelope<R>>,
}

impl<R: Receivable> EventStream<R> {
    fn ended() -> Self {
        EventStream {
            inner: futures_util::stream::empty().boxed(),
        }
    }

    /// The next event; `None` once the bus has shut down.
    pub async fn next(&mut self) -> Option<Envelope<R>> {
        self.inner.next().await
    }
}

impl<R> Stream for EventStream<R> {
    type Item = Envelope<R>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<R> fmt::Debug for EventStream<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventStream")
    }
}

/// Runs a subscriber's queue until it is closed and empty.
async fn run_worker<D: Deliver>(bus: Weak<Inner>, sub: Arc<Sub>, deliver: D) {
    // Taken from the queue, not handled yet: back to the queue if the worker is stopped (an
    // abort at shutdown), where the drain dead-letters them.
    struct Batch<'a> {
        queue: &'a Queue<Item>,
        items: VecDeque<Item>,
    }
    impl Drop for Batch<'_> {
        fn drop(&mut self) {
            self.queue.unpop(&mut self.items);
        }
    }
    let mut batch = Batch {
        queue: &sub.queue,
        items: VecDeque::new(),
    };
    let limit = sub.queue.batch_limit();
    while sub.queue.pop_batch(&mut batch.items, limit).await {
        sub.metrics.depth.set(sub.queue.len() as f64);
        let Some(inner) = bus.upgrade() else {
            return;
        };
        // Read once per batch: an interceptor added meanwhile applies from the next batch.
        let interceptors = Arc::clone(&inner.interceptors.read().expect("interceptors lock"));
        // One clock reading per attempt: the end of one is the start of the next.
        let mut clock = Instant::now();
        // Each event stays in the batch while it is handled: a worker aborted at shutdown puts
        // it back in the queue with the others, to be dead-lettered.
        while let Some(item) = batch.items.front() {
            if inner.abandon.is_cancelled() {
                // The drain time is over: the batch goes back to the queue (its guard), and the
                // shutdown dead-letters it with the rest.
                return;
            }
            let outcome = handle(
                &inner,
                &sub,
                &deliver,
                &interceptors,
                &item.published,
                &mut clock,
            )
            .await;
            let item = batch.items.pop_front().expect("the event just handled");
            sub.attempt.store(0, Ordering::Relaxed);
            if let Some(Err(_)) = outcome {
                // Dead-lettering is not the next event's duration.
                clock = Instant::now();
            }
            if let Some(done) = item.done {
                let _ = done.send(outcome.map(|result| HandlerOutcome {
                    handler: Arc::clone(&sub.name),
                    result,
                }));
            }
        }
        // Nothing handled now: no current event (and its metadata is not kept alive).
        let _ = HANDLING.try_with(Cell::take);
    }
}

/// Delivers one event to one subscriber, with its retries; `None` when it was skipped.
async fn handle<D: Deliver>(
    inner: &Inner,
    sub: &Sub,
    deliver: &D,
    interceptors: &[Arc<dyn ErasedInterceptor>],
    published: &Published,
    clock: &mut Instant,
) -> Option<Result<(), HandlerFailure>> {
    let max_attempts = sub.retry.max_attempts();
    let mut attempt = 1;
    loop {
        sub.attempt.store(attempt, Ordering::Relaxed);
        let started = *clock;
        let result = attempt_once(sub, deliver, interceptors, published, attempt).await;
        if sub.metrics.timed {
            *clock = Instant::now();
            sub.metrics
                .duration
                .record(clock.saturating_duration_since(started).as_secs_f64());
        }
        let error = match result {
            Ok(Delivered::Handled) => {
                sub.metrics.handled.increment(1);
                return Some(Ok(()));
            }
            Ok(Delivered::Skipped) => return None,
            Err(DeliverError::Undecodable(e)) => {
                sub.metrics.failed.increment(1);
                let error = format!("the event does not decode into the handler's type: {e}");
                dead_letter(inner, sub, published, &error, attempt).await;
                return Some(Err(HandlerFailure::DeadLettered {
                    attempts: attempt,
                    error,
                }));
            }
            Err(DeliverError::Failed(e)) => e.to_string(),
        };
        sub.metrics.failed.increment(1);
        if attempt >= max_attempts || inner.abandon.is_cancelled() {
            dead_letter(inner, sub, published, &error, attempt).await;
            return Some(Err(HandlerFailure::DeadLettered {
                attempts: attempt,
                error,
            }));
        }
        tracing::warn!(
            target: "cortex::events",
            handler = %sub.name,
            event_id = %published.metadata.id,
            topic = %published.metadata.topic,
            attempt,
            error,
            "event handler failed; retrying"
        );
        sub.metrics.retried.increment(1);
        let delay = sub.retry.delay(attempt);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = inner.abandon.cancelled() => {
                dead_letter(inner, sub, published, &error, attempt).await;
                return Some(Err(HandlerFailure::DeadLettered { attempts: attempt, error }));
            }
        }
        // The wait is not the next attempt's duration.
        *clock = Instant::now();
        attempt += 1;
    }
}

/// One attempt: the interceptors around the handler, a panic caught as a failure.
async fn attempt_once<D: Deliver>(
    sub: &Sub,
    deliver: &D,
    interceptors: &[Arc<dyn ErasedInterceptor>],
    published: &Published,
    attempt: u32,
) -> Result<Delivered, DeliverError> {
    let metadata = &published.metadata;
    let span = tracing::debug_span!(
        target: "cortex::events",
        "event.handle",
        handler = %sub.name,
        topic = %metadata.topic,
        event_id = %metadata.id,
        attempt,
    );
    let run = async {
        if interceptors.is_empty() {
            deliver.deliver(published, attempt).await
        } else {
            // Boxed: the interceptors' state does not enlarge every attempt's future.
            Box::pin(intercepted(sub, deliver, interceptors, published, attempt)).await
        }
    };
    let guarded = AssertUnwindSafe(run).catch_unwind();
    // The worker's task-local (`try_with`: a worker always has it), for this attempt.
    let _ = HANDLING.try_with(|handling| handling.set(Some(Arc::clone(metadata))));
    // Without a subscriber taking the span (the usual case in production at `info`), the
    // future runs as it is: no enter and exit around every poll.
    let outcome = if span.is_disabled() {
        guarded.await
    } else {
        tracing::Instrument::instrument(guarded, span).await
    };
    match outcome {
        Ok(result) => result,
        Err(panic) => Err(DeliverError::Failed(
            format!("the handler panicked: {}", panic_message(panic.as_ref())).into(),
        )),
    }
}

/// A panic's message, when it has one.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".into())
}

/// A subscription to every event read without a task of its own: what the test kit's
/// [`EventCapture`](crate::testing::EventCapture) is made of. Its queue is unbounded (it never
/// makes a publisher wait nor drops anything) and it never shows in a [`Completion`].
pub(crate) struct Tap {
    sub: Arc<Sub>,
    _subscription: Subscription,
}

impl EventBus {
    /// A tap on every event delivered in this process (`#`, [`Delivery::Broadcast`]); `None` once
    /// the bus has shut down.
    pub(crate) fn tap(&self) -> Option<Tap> {
        let options = SubscribeOptions::default()
            .pattern("#")
            .priority(i32::MAX)
            .capacity(usize::MAX)
            .overflow(Overflow::Wait)
            .delivery(Delivery::Broadcast);
        let sub = self.add_sub::<crate::Json>(&options, true).ok()?;
        let subscription = Subscription {
            bus: Arc::downgrade(&self.inner),
            id: sub.id,
            name: Arc::clone(&sub.name),
            detached: false,
        };
        Some(Tap {
            sub,
            _subscription: subscription,
        })
    }
}

impl Tap {
    /// The next event queued, if any.
    pub(crate) fn try_next(&self) -> Option<Published> {
        let item = self.sub.queue.try_pop()?;
        self.sub.metrics.depth.set(self.sub.queue.len() as f64);
        if let Some(done) = item.done {
            // Not a handler: absent from the completion.
            let _ = done.send(None);
        }
        Some(item.published)
    }

    /// Resolves once an event is queued (`true`) or the bus has shut down and every event was
    /// taken (`false`).
    pub(crate) async fn readable(&self) -> bool {
        self.sub.queue.readable().await
    }
}

/// An attempt through the interceptors' `around_handle` chain.
async fn intercepted<D: Deliver>(
    sub: &Sub,
    deliver: &D,
    interceptors: &[Arc<dyn ErasedInterceptor>],
    published: &Published,
    attempt: u32,
) -> Result<Delivered, DeliverError> {
    let metadata = &published.metadata;
    // The interceptors see `Result<(), BoxError>`: a skip travels beside it.
    let skipped = Arc::new(AtomicBool::new(false));
    let undecodable: Arc<Mutex<Option<serde_json::Error>>> = Arc::default();
    let core: BoxFuture<'_, Result<(), BoxError>> = {
        let skipped = Arc::clone(&skipped);
        let undecodable = Arc::clone(&undecodable);
        Box::pin(async move {
            match deliver.deliver(published, attempt).await {
                Ok(Delivered::Handled) => Ok(()),
                Ok(Delivered::Skipped) => {
                    skipped.store(true, Ordering::Relaxed);
                    Ok(())
                }
                Err(DeliverError::Failed(e)) => Err(e),
                Err(DeliverError::Undecodable(e)) => {
                    let message = e.to_string();
                    *undecodable.lock().expect("lock") = Some(e);
                    Err(message.into())
                }
            }
        })
    };
    let context = HandleContext {
        handler: &sub.name,
        metadata,
        attempt,
    };
    let mut chain = core;
    for interceptor in interceptors.iter().rev() {
        chain = interceptor.around_handle(context, Next { inner: chain });
    }
    let result = chain.await;
    if let Some(e) = undecodable.lock().expect("lock").take() {
        return Err(DeliverError::Undecodable(e));
    }
    match result {
        Ok(()) if skipped.load(Ordering::Relaxed) => Ok(Delivered::Skipped),
        Ok(()) => Ok(Delivered::Handled),
        Err(e) => Err(DeliverError::Failed(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeadLetterQuery;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Ping(u32);
    impl Event for Ping {
        const TOPIC: &'static str = "test.ping";
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Pong(u32);
    impl Event for Pong {
        const TOPIC: &'static str = "test.pong";
    }

    const LIMIT: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn events_published_by_a_handler_are_caused_by_and_correlated_with_its_event() {
        let bus = EventBus::new();
        let _ping = bus
            .subscribe({
                let bus = bus.clone();
                move |ping: Envelope<Ping>| {
                    let bus = bus.clone();
                    async move {
                        // The worker's current event is the one being handled.
                        assert_eq!(current_event().map(|m| m.id), Some(ping.id()));
                        bus.publish(Pong(ping.0)).await?;
                        Ok(())
                    }
                }
            })
            .unwrap();
        let mut pongs = bus.stream::<Pong>();
        let mut ids = Vec::new();
        for n in 0..3 {
            ids.push(bus.publish(Ping(n)).await.unwrap());
        }
        for (n, ping) in ids.into_iter().enumerate() {
            let pong = tokio::time::timeout(LIMIT, pongs.next())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(pong.0, n as u32);
            assert_eq!(pong.metadata().causation_id, Some(ping));
            assert_eq!(pong.metadata().correlation(), ping.to_string());
            assert_eq!(
                pong.metadata().correlation_id.as_deref(),
                Some(&*ping.to_string())
            );
        }
        // Outside a handler: none.
        assert!(current_event().is_none());
    }

    #[tokio::test]
    async fn a_worker_holds_no_current_event_between_batches() {
        let bus = EventBus::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _s = bus
            .subscribe(move |ping: Envelope<Ping>| {
                let _ = tx.send(Arc::clone(ping.metadata_shared()));
                std::future::ready(Ok(()))
            })
            .unwrap();
        bus.publish(Ping(1)).await.unwrap();
        let metadata = tokio::time::timeout(LIMIT, rx.recv())
            .await
            .unwrap()
            .unwrap();
        // The envelope's clone is dropped; the worker's task-local must let go of its own
        // once the batch is handled: only this test's `Arc` is left.
        tokio::time::timeout(LIMIT, async {
            while Arc::strong_count(&metadata) > 1 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the worker released the event's metadata");
    }

    #[tokio::test]
    async fn events_taken_by_a_stuck_worker_are_dead_lettered_at_shutdown() {
        let bus = EventBus::builder().retry(RetryPolicy::none()).build();
        let (started, mut first) = tokio::sync::mpsc::unbounded_channel();
        let _stuck = bus
            .subscribe_with(
                SubscribeOptions::named("stuck"),
                move |_: Envelope<Ping>| {
                    let _ = started.send(());
                    std::future::pending::<Result<(), BoxError>>()
                },
            )
            .unwrap();
        // Queued before the worker runs: it takes all three in one batch and hangs on the first.
        for n in 0..3 {
            bus.publish(Ping(n)).await.unwrap();
        }
        tokio::time::timeout(LIMIT, first.recv()).await.unwrap();
        let report = bus.shutdown(Duration::from_millis(50)).await;
        assert!(!report.finished);
        // The one in the handler's hands and the two it had taken but not started went back to
        // the queue when the worker was aborted: all in the dead letters.
        assert_eq!(report.abandoned, 3);
        let letters = bus
            .dead_letters()
            .list(&DeadLetterQuery::default())
            .await
            .unwrap();
        assert_eq!(letters.len(), 3);
        assert!(letters.iter().all(|l| l.handler == "stuck"));
    }
    /// Counts the handle durations recorded (every other metric is a no-op).
    #[derive(Default)]
    struct Durations(Arc<AtomicU64>);

    impl metrics::HistogramFn for Durations {
        fn record(&self, _: f64) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    impl metrics::Recorder for Durations {
        fn describe_counter(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_gauge(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_histogram(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn register_counter(
            &self,
            _: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Counter {
            metrics::Counter::noop()
        }
        fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(
            &self,
            key: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Histogram {
            assert_eq!(key.name(), "cortex_events_handle_duration_seconds");
            metrics::Histogram::from_arc(Arc::new(Durations(Arc::clone(&self.0))))
        }
    }

    #[tokio::test]
    async fn handle_durations_are_recorded_when_a_recorder_is_installed() {
        let bus = EventBus::new();
        let recorder = Durations::default();
        let recorded = Arc::clone(&recorder.0);
        // The subscription's metrics come from the recorder in place when it is made.
        let _timed = metrics::with_local_recorder(&recorder, || {
            bus.subscribe(|_: Envelope<Ping>| std::future::ready(Ok(())))
                .unwrap()
        });
        let _untimed = bus
            .subscribe(|_: Envelope<Ping>| std::future::ready(Ok(())))
            .unwrap();
        for n in 0..3 {
            assert!(bus.publish_and_wait(Ping(n)).await.unwrap().is_ok());
        }
        assert_eq!(recorded.load(Ordering::Relaxed), 3);
    }
}
