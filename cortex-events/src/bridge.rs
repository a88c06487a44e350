//! Bridges: the bus across instances, through a broker.
//!
//! With a bridge, an event published on a bridged topic is not delivered in-process: it goes to
//! the broker, and comes back to the subscribers of every instance through two consumers that
//! the plugin runs in each instance:
//!
//! - the **shared** consumer (consumer group: the app's `source`) hands each event to one
//!   instance, whose [`Delivery::Shared`] subscribers (the handlers) handle it: the email is sent
//!   once however many instances run. It acknowledges an event only after those handlers
//!   finished with it (handled, or dead-lettered), so an instance that dies with events in hand
//!   leaves them pending, and the bridge hands them to a survivor (at-least-once; handlers that
//!   must not repeat an effect check the event id);
//! - the **broadcast** consumer hands every event to every instance's [`Delivery::Broadcast`]
//!   subscribers (the streams behind live subscriptions). Not durable: an instance sees what is
//!   published while it runs.
//!
//! [`EventBus::publish_and_wait`](crate::EventBus::publish_and_wait) stays in-process.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use cortex_di::BoxError;

use crate::bus::{Completion, Delivery, EventBus};
use crate::event::WireEvent;
use crate::topic::Pattern;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A broker that carries events between instances (Redis Streams, NATS JetStream; RabbitMQ and
/// Kafka with the queue crate).
///
/// ```
/// use cortex_events::{BridgeConsumer, BusBridge, WireEvent};
/// use cortex_di::BoxError;
///
/// /// A bridge that loses everything (a real one writes to a broker).
/// struct Nowhere;
///
/// impl BusBridge for Nowhere {
///     fn name(&self) -> &'static str { "nowhere" }
///
///     async fn publish(&self, _event: &WireEvent) -> Result<(), BoxError> { Ok(()) }
///
///     async fn consume(&self, consumer: BridgeConsumer) -> Result<(), BoxError> {
///         consumer.stopped().await;
///         Ok(())
///     }
/// }
/// ```
pub trait BusBridge: Send + Sync + 'static {
    /// The bridge's name, in logs, metrics and errors (`redis`, `nats`).
    fn name(&self) -> &'static str;

    /// Sends an event to the broker; returns once the broker has it (durably, where the broker
    /// can say so).
    fn publish(&self, event: &WireEvent) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// Consumes events for `consumer` until [`BridgeConsumer::stopped`]: hands each one to
    /// [`BridgeConsumer::deliver`] and acknowledges it once that returns. Returns `Ok` when
    /// stopped, an error when the broker is lost for good (after its own reconnection
    /// attempts).
    fn consume(
        &self,
        consumer: BridgeConsumer,
    ) -> impl Future<Output = Result<(), BoxError>> + Send;
}

/// The object-safe twin of [`BusBridge`], implemented for every bridge. Not meant to be
/// implemented by hand. `Any` so that a bridge's plugin glue can find its own bridge behind the
/// `dyn` (the NATS bridge's health check does).
pub trait ErasedBusBridge: std::any::Any + Send + Sync + 'static {
    /// [`BusBridge::name`].
    fn name(&self) -> &'static str;
    /// [`BusBridge::publish`].
    fn publish<'a>(&'a self, event: &'a WireEvent) -> BoxFuture<'a, Result<(), BoxError>>;
    /// [`BusBridge::consume`].
    fn consume(&self, consumer: BridgeConsumer) -> BoxFuture<'_, Result<(), BoxError>>;
}

impl<T: BusBridge> ErasedBusBridge for T {
    fn name(&self) -> &'static str {
        BusBridge::name(self)
    }

    fn publish<'a>(&'a self, event: &'a WireEvent) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(BusBridge::publish(self, event))
    }

    fn consume(&self, consumer: BridgeConsumer) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(BusBridge::consume(self, consumer))
    }
}

/// One consumer of a bridge: which events it takes, for which subscribers, and where to hand
/// them.
#[derive(Clone)]
pub struct BridgeConsumer {
    pub(crate) bus: EventBus,
    pub(crate) group: String,
    pub(crate) instance: String,
    pub(crate) delivery: Delivery,
    pub(crate) patterns: Arc<[Pattern]>,
    pub(crate) stop: Arc<crate::bus::CancelFlag>,
}

impl std::fmt::Debug for BridgeConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeConsumer")
            .field("group", &self.group)
            .field("instance", &self.instance)
            .field("delivery", &self.delivery)
            .field("patterns", &self.patterns)
            .finish()
    }
}

impl BridgeConsumer {
    /// A consumer for `bus` (what the plugin makes; public for bridges' tests).
    pub fn new(
        bus: EventBus,
        group: impl Into<String>,
        instance: impl Into<String>,
        delivery: Delivery,
        patterns: Vec<Pattern>,
    ) -> Self {
        BridgeConsumer {
            bus,
            group: group.into(),
            instance: instance.into(),
            delivery,
            patterns: patterns.into(),
            stop: Arc::default(),
        }
    }

    /// The consumer group: shared by every instance of the app (the bus's source).
    pub fn group(&self) -> &str {
        &self.group
    }

    /// This instance's unique name (host and process id, and a random suffix).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Shared (one instance per event, durable) or broadcast (every instance).
    pub fn delivery(&self) -> Delivery {
        self.delivery
    }

    /// The topics bridged.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether `topic` is one of the bridged topics.
    pub fn wants(&self, topic: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(topic))
    }

    /// Hands an event to this instance's subscribers of this consumer's delivery and waits for
    /// them (handled, or dead-lettered): acknowledge it after this returns.
    pub async fn deliver(&self, event: WireEvent) -> Completion {
        self.bus.deliver(event, Some(self.delivery)).await
    }

    /// Hands a batch of events over as [`deliver`](Self::deliver) does, and waits for all of
    /// them: each subscriber gets them in the order given, and different subscribers (and the
    /// handlers of different events) work at the same time. One [`Completion`] per event, in
    /// order: acknowledge each after this returns.
    ///
    /// ```
    /// use cortex_events::{BridgeConsumer, Delivery, Envelope, Event, EventBus, Metadata, Pattern, WireEvent};
    ///
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Ping { n: u32 }
    /// impl Event for Ping { const TOPIC: &'static str = "ping"; }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let bus = EventBus::new();
    /// let _pong = bus.subscribe(|_: Envelope<Ping>| async { Ok(()) }).unwrap();
    /// let consumer = BridgeConsumer::new(bus, "app", "instance-1", Delivery::Shared, vec![Pattern::parse("#").unwrap()]);
    /// let batch = (0..3)
    ///     .map(|n| WireEvent::new(Metadata::new("ping"), &Ping { n }).unwrap())
    ///     .collect();
    /// let completions = consumer.deliver_all(batch).await;
    /// assert_eq!(completions.len(), 3);
    /// assert!(completions.iter().all(|c| c.is_ok() && c.outcomes.len() == 1));
    /// # }
    /// ```
    pub async fn deliver_all(&self, events: Vec<WireEvent>) -> Vec<Completion> {
        self.bus.deliver_all(events, Some(self.delivery)).await
    }

    /// Queues an event for this instance's subscribers of this consumer's delivery without
    /// waiting for them: for a broadcast consumer, which acknowledges nothing (and must not be
    /// held up by a stream nobody reads).
    ///
    /// ```
    /// use cortex_events::{BridgeConsumer, Delivery, Event, EventBus, Metadata, Pattern, WireEvent};
    ///
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Tick;
    /// impl Event for Tick { const TOPIC: &'static str = "tick"; }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let bus = EventBus::new();
    /// let mut ticks = bus.stream::<Tick>();
    /// let consumer = BridgeConsumer::new(bus, "app", "instance-1", Delivery::Broadcast, vec![Pattern::parse("#").unwrap()]);
    /// consumer.enqueue(WireEvent::new(Metadata::new("tick"), &Tick).unwrap()).await;
    /// assert!(ticks.next().await.is_some());
    /// # }
    /// ```
    pub async fn enqueue(&self, event: WireEvent) {
        self.bus.deliver_queued(event, Some(self.delivery)).await;
    }

    /// Asks the consumer to stop (what the plugin does at shutdown).
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Whether the consumer was asked to stop.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves when the consumer is asked to stop: `select!` on it beside the broker read.
    pub async fn stopped(&self) {
        self.stop.cancelled().await;
    }
}
