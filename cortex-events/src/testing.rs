//! The test kit: capture the events a bus publishes, and await one with a timeout.
//!
//! [`EventCapture`] sees every event the bus delivers in this process, from the moment it is
//! made: what `publish` and `publish_and_wait` send, and what arrives from a bridge or
//! [`EventBus::deliver`]. It is read without waiting ([`published`](EventCapture::published),
//! [`all`](EventCapture::all)): an event is there as soon as `publish` has returned. To wait
//! for an event published later, by a handler or another task, use
//! [`wait_for`](EventCapture::wait_for) or [`wait_for_matching`](EventCapture::wait_for_matching):
//! when nothing comes in time, the error lists what was captured instead.
//!
//! ```
//! use cortex_events::testing::EventCapture;
//! use cortex_events::{Envelope, Event, EventBus};
//! use std::time::Duration;
//!
//! #[derive(Debug, serde::Serialize, serde::Deserialize)]
//! struct OrderPlaced { id: u64 }
//! impl Event for OrderPlaced { const TOPIC: &'static str = "order.placed"; }
//!
//! #[derive(Debug, serde::Serialize, serde::Deserialize)]
//! struct StockReserved { order: u64 }
//! impl Event for StockReserved { const TOPIC: &'static str = "stock.reserved"; }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let bus = EventBus::new();
//! let capture = EventCapture::new(&bus);
//! // The code under test: a handler that reacts to an order.
//! let _stock = bus.subscribe({
//!     let bus = bus.clone();
//!     move |order: Envelope<OrderPlaced>| {
//!         let bus = bus.clone();
//!         async move {
//!             bus.publish(StockReserved { order: order.id }).await?;
//!             Ok(())
//!         }
//!     }
//! }).unwrap();
//!
//! let placed = bus.publish(OrderPlaced { id: 7 }).await.unwrap();
//! assert_eq!(capture.published::<OrderPlaced>()[0].id, 7);
//!
//! let reserved = capture.wait_for::<StockReserved>(Duration::from_secs(5)).await.unwrap();
//! assert_eq!(reserved.order, 7);
//! assert_eq!(reserved.metadata().causation_id, Some(placed));
//! # }
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use crate::bus::{EventBus, Tap};
use crate::event::{Envelope, Event, Json, PayloadRef, Published, Receivable};

/// How many captured events a [`Timeout`] lists (the others are counted).
const LISTED: usize = 20;

/// Every event a bus delivers in this process from the moment the capture is made, kept until
/// [`clear`](Self::clear) or drop.
///
/// The capture is a subscriber to every topic (`#`) that never makes a publisher wait, never
/// drops an event, and never appears in a [`Completion`](crate::Completion); it receives what
/// a stream would (with a bridge: every event published in any instance). Dropping it
/// unsubscribes. Cheap to share: clones read the same events.
///
/// ```
/// use cortex_events::testing::EventCapture;
/// use cortex_events::{Event, EventBus};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Ping { n: u32 }
/// impl Event for Ping { const TOPIC: &'static str = "ping"; }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let bus = EventBus::new();
/// let capture = EventCapture::new(&bus);
/// bus.publish(Ping { n: 1 }).await.unwrap();
/// bus.publish(Ping { n: 2 }).await.unwrap();
/// let pings: Vec<u32> = capture.published::<Ping>().iter().map(|p| p.n).collect();
/// assert_eq!(pings, [1, 2]);
/// # }
/// ```
#[derive(Clone)]
pub struct EventCapture {
    shared: Arc<Shared>,
}

struct Shared {
    /// `None` when the bus had already shut down.
    tap: Option<Tap>,
    captured: Mutex<Vec<Published>>,
    /// Signalled when events are moved from the tap into `captured`, and by `clear`.
    arrived: Notify,
}

impl fmt::Debug for EventCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventCapture")
            .field("captured", &self.len())
            .finish()
    }
}

impl EventCapture {
    /// Starts capturing what `bus` delivers (nothing, if it has shut down).
    pub fn new(bus: &EventBus) -> Self {
        EventCapture {
            shared: Arc::new(Shared {
                tap: bus.tap(),
                captured: Mutex::new(Vec::new()),
                arrived: Notify::new(),
            }),
        }
    }

    /// Every event of type `E` (on its topic) captured so far, oldest first.
    ///
    /// Events on `E`'s topic that do not decode into `E` (from another process) are left
    /// out; [`all`](Self::all) has them.
    pub fn published<E: Event>(&self) -> Vec<Envelope<E>> {
        self.pull().iter().filter_map(typed::<E>).collect()
    }

    /// Every event captured so far, as JSON, oldest first.
    ///
    /// ```
    /// use cortex_events::testing::EventCapture;
    /// use cortex_events::{Event, EventBus};
    ///
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Ping { n: u32 }
    /// impl Event for Ping { const TOPIC: &'static str = "ping"; }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let bus = EventBus::new();
    /// let capture = EventCapture::new(&bus);
    /// bus.publish(Ping { n: 1 }).await.unwrap();
    /// let all = capture.all();
    /// assert_eq!(all[0].topic(), "ping");
    /// assert_eq!(all[0].0, serde_json::json!({ "n": 1 }));
    /// # }
    /// ```
    pub fn all(&self) -> Vec<Envelope<Json>> {
        self.pull().iter().filter_map(typed::<Json>).collect()
    }

    /// How many events were captured.
    pub fn len(&self) -> usize {
        self.pull().len()
    }

    /// Whether nothing was captured.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets what was captured so far.
    ///
    /// ```
    /// use cortex_events::testing::EventCapture;
    /// use cortex_events::{Event, EventBus};
    ///
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Ping;
    /// impl Event for Ping { const TOPIC: &'static str = "ping"; }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let bus = EventBus::new();
    /// let capture = EventCapture::new(&bus);
    /// bus.publish(Ping).await.unwrap();
    /// capture.clear();
    /// assert!(capture.is_empty());
    /// # }
    /// ```
    pub fn clear(&self) {
        self.pull().clear();
    }

    /// The first event of type `E` captured (already, or within `timeout`).
    ///
    /// Looks at everything captured since the capture was made or last cleared: an event
    /// published before the call counts. The error lists what was captured instead.
    ///
    /// ```
    /// use cortex_events::testing::EventCapture;
    /// use cortex_events::{Event, EventBus};
    /// use std::time::Duration;
    ///
    /// #[derive(Debug, serde::Serialize, serde::Deserialize)]
    /// struct Ping { n: u32 }
    /// impl Event for Ping { const TOPIC: &'static str = "ping"; }
    /// #[derive(Debug, serde::Serialize, serde::Deserialize)]
    /// struct Pong;
    /// impl Event for Pong { const TOPIC: &'static str = "pong"; }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let bus = EventBus::new();
    /// let capture = EventCapture::new(&bus);
    /// tokio::spawn({
    ///     let bus = bus.clone();
    ///     async move { bus.publish(Ping { n: 3 }).await }
    /// });
    /// assert_eq!(capture.wait_for::<Ping>(Duration::from_secs(1)).await.unwrap().n, 3);
    ///
    /// let error = capture.wait_for::<Pong>(Duration::from_secs(1)).await.unwrap_err();
    /// assert!(error.to_string().starts_with("no `pong` event"), "{error}");
    /// assert!(error.to_string().contains(r#"`ping` {"n":3}"#), "{error}");
    /// # }
    /// ```
    pub async fn wait_for<E: Event>(&self, timeout: Duration) -> Result<Envelope<E>, Timeout> {
        self.wait(|_: &Envelope<E>| true, timeout, false).await
    }

    /// The first event of type `E` that `predicate` accepts (already captured, or within
    /// `timeout`).
    ///
    /// ```
    /// use cortex_events::testing::EventCapture;
    /// use cortex_events::{Event, EventBus};
    /// use std::time::Duration;
    ///
    /// #[derive(Debug, serde::Serialize, serde::Deserialize)]
    /// struct Ping { n: u32 }
    /// impl Event for Ping { const TOPIC: &'static str = "ping"; }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let bus = EventBus::new();
    /// let capture = EventCapture::new(&bus);
    /// for n in 1..=3 {
    ///     bus.publish(Ping { n }).await.unwrap();
    /// }
    /// let two = capture
    ///     .wait_for_matching(|ping: &cortex_events::Envelope<Ping>| ping.n == 2, Duration::from_secs(1))
    ///     .await
    ///     .unwrap();
    /// assert_eq!(two.n, 2);
    /// # }
    /// ```
    pub async fn wait_for_matching<E, P>(
        &self,
        predicate: P,
        timeout: Duration,
    ) -> Result<Envelope<E>, Timeout>
    where
        E: Event,
        P: Fn(&Envelope<E>) -> bool,
    {
        self.wait(predicate, timeout, true).await
    }

    async fn wait<E, P>(
        &self,
        predicate: P,
        timeout: Duration,
        filtered: bool,
    ) -> Result<Envelope<E>, Timeout>
    where
        E: Event,
        P: Fn(&Envelope<E>) -> bool,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let found = {
                let captured = self.pull();
                captured
                    .iter()
                    .filter_map(typed::<E>)
                    .find(|envelope| predicate(envelope))
            };
            if let Some(envelope) = found {
                return Ok(envelope);
            }
            let Some(tap) = &self.shared.tap else {
                return Err(self.timeout::<E>(timeout, filtered, true));
            };
            tokio::select! {
                () = &mut arrived => {}
                readable = tap.readable() => {
                    if !readable {
                        // The bus shut down: nothing more will come.
                        return Err(self.timeout::<E>(timeout, filtered, true));
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    return Err(self.timeout::<E>(timeout, filtered, false));
                }
            }
        }
    }

    /// Moves what the tap has queued into the captured events, and returns them locked.
    fn pull(&self) -> MutexGuard<'_, Vec<Published>> {
        let mut captured = self
            .shared
            .captured
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let before = captured.len();
        if let Some(tap) = &self.shared.tap {
            while let Some(published) = tap.try_next() {
                captured.push(published);
            }
        }
        if captured.len() > before {
            // Other waiters may be asleep on the tap, which wakes one of them only.
            self.shared.arrived.notify_waiters();
        }
        captured
    }

    fn timeout<E: Event>(&self, waited: Duration, filtered: bool, closed: bool) -> Timeout {
        let captured = self.pull();
        Timeout {
            topic: E::TOPIC,
            event_type: std::any::type_name::<E>(),
            filtered,
            waited,
            bus_closed: closed,
            total: captured.len(),
            captured: captured
                .iter()
                .take(LISTED)
                .map(|published| {
                    let payload = published
                        .payload
                        .json()
                        .map(|json| json.to_string())
                        .unwrap_or_else(|e| format!("<does not serialize: {e}>"));
                    format!("`{}` {}", published.metadata.topic, payload)
                })
                .collect(),
        }
    }
}

/// A captured event as an `R`, when it is one.
fn typed<R: Receivable>(published: &Published) -> Option<Envelope<R>> {
    if let Some(topic) = R::DEFAULT_TOPIC
        && published.metadata.topic != topic
    {
        return None;
    }
    let event = R::receive(&PayloadRef(&published.payload)).ok()??;
    Some(Envelope::from_parts(
        event,
        Arc::clone(&published.metadata),
        1,
    ))
}

/// No event [`EventCapture::wait_for`] waited for came in time; lists what was captured.
///
/// ```
/// use cortex_events::testing::EventCapture;
/// use cortex_events::{Event, EventBus};
/// use std::time::Duration;
///
/// #[derive(Debug, serde::Serialize, serde::Deserialize)]
/// struct Pong;
/// impl Event for Pong { const TOPIC: &'static str = "pong"; }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let bus = EventBus::new();
/// let capture = EventCapture::new(&bus);
/// let error = capture.wait_for::<Pong>(Duration::from_millis(50)).await.unwrap_err();
/// assert_eq!(error.topic, "pong");
/// assert!(error.captured.is_empty());
/// assert_eq!(
///     error.to_string(),
///     format!("no `pong` event ({}) arrived within 50ms; nothing was captured", error.event_type),
/// );
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
#[non_exhaustive]
pub struct Timeout {
    /// The topic waited for.
    pub topic: &'static str,
    /// The event type waited for.
    pub event_type: &'static str,
    /// Whether a predicate chose among the events of that type.
    pub filtered: bool,
    /// How long it waited.
    pub waited: Duration,
    /// Whether it stopped early because the bus shut down or was dropped (nothing more could
    /// come).
    pub bus_closed: bool,
    /// How many events were captured.
    pub total: usize,
    /// The first of them (at most 20), each as ``"`topic` {json}"``.
    pub captured: Vec<String>,
}

impl Timeout {
    fn describe(&self) -> String {
        let mut text = format!("no `{}` event ({})", self.topic, self.event_type);
        if self.filtered {
            text.push_str(" matching the predicate");
        }
        if self.bus_closed {
            text.push_str(" arrived before the bus shut down");
        } else {
            text.push_str(&format!(" arrived within {:?}", self.waited));
        }
        if self.total == 0 {
            text.push_str("; nothing was captured");
            return text;
        }
        text.push_str(&format!(
            "; {} event{} captured: {}",
            self.total,
            if self.total == 1 { " was" } else { "s were" },
            self.captured.join(", ")
        ));
        if self.total > self.captured.len() {
            text.push_str(&format!(", and {} more", self.total - self.captured.len()));
        }
        text
    }
}
