//! Events, their metadata and the envelope a handler receives.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A typed event: a serializable value published on a topic.
///
/// Derive it with `#[derive(Event)]` and `#[event(topic = "user.created")]`, or implement it by
/// hand. The topic is checked when the event is first published (and at compile time by the
/// derive): segments of ASCII letters, digits, `_` and `-` separated by dots.
///
/// Events are `Serialize + DeserializeOwned` because the same value may leave the process: a
/// dead letter, the event store, the outbox, a bridge to Redis or NATS. Inside one process it is
/// never serialized: every local handler shares one `Arc` of it.
///
/// ```
/// use cortex_events::Event;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, Serialize, Deserialize)]
/// struct UserCreated { id: u64 }
///
/// impl Event for UserCreated {
///     const TOPIC: &'static str = "user.created";
/// }
/// assert_eq!(UserCreated::TOPIC, "user.created");
/// ```
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The topic the event is published on.
    const TOPIC: &'static str;
}

/// An event's unique id: a UUID v7 (time-ordered), made when the event is published.
///
/// ```
/// let a = cortex_events::EventId::new();
/// let b = cortex_events::EventId::new();
/// assert!(a < b);
/// assert_eq!(a.to_string().len(), 36);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub uuid::Uuid);

impl EventId {
    /// A new, time-ordered id.
    pub fn new() -> Self {
        EventId(uuid::Uuid::now_v7())
    }
}

impl Default for EventId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({})", self.0)
    }
}

impl std::str::FromStr for EventId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(EventId)
    }
}

/// What every event carries besides its payload.
///
/// Filled in by [`EventBus::publish`](crate::EventBus::publish): a new id, the time, the source
/// (`[events] source`, the app's name by default), the correlation id (the HTTP request's id
/// when published while serving a request, else the correlation id of the event being handled,
/// else the event's own id), the causation id (the event being handled when this one was
/// published, if any) and the W3C trace context of the current span when traces are exported.
/// Interceptors may add headers (a tenant, a user) before the event is delivered.
///
/// ```
/// let meta = cortex_events::Metadata::new("user.created");
/// assert_eq!(meta.topic, "user.created");
/// assert_eq!(meta.correlation_id, meta.id.to_string());
/// assert!(meta.causation_id.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The event's id.
    pub id: EventId,
    /// The topic it was published on.
    pub topic: String,
    /// When it was published.
    pub timestamp: DateTime<Utc>,
    /// Which app published it.
    pub source: String,
    /// The id shared by everything one request or one first event set off.
    pub correlation_id: String,
    /// The id of the event whose handler published this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<EventId>,
    /// The W3C `traceparent` of the span that published it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// Free-form headers (interceptors set them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

impl Metadata {
    /// Metadata for a new event on `topic`, with no source, correlated with itself.
    pub fn new(topic: impl Into<String>) -> Self {
        let id = EventId::new();
        Metadata {
            id,
            topic: topic.into(),
            timestamp: Utc::now(),
            source: String::new(),
            correlation_id: id.to_string(),
            causation_id: None,
            traceparent: None,
            headers: BTreeMap::new(),
        }
    }
}

/// An event as it travels outside the process: metadata and the JSON payload.
///
/// What the dead-letter store keeps, what the event store and the outbox write, what bridges
/// carry. [`WireEvent::new`] makes one; the bus turns one back into typed events for the
/// handlers that match it.
///
/// ```
/// use cortex_events::{Event, WireEvent, Metadata};
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Ping { n: u32 }
/// impl Event for Ping { const TOPIC: &'static str = "ping"; }
///
/// let wire = WireEvent::new(Metadata::new("ping"), &Ping { n: 3 }).unwrap();
/// assert_eq!(wire.payload, serde_json::json!({ "n": 3 }));
/// let bytes = wire.to_bytes();
/// assert_eq!(WireEvent::from_bytes(&bytes).unwrap(), wire);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireEvent {
    /// The event's metadata.
    pub metadata: Metadata,
    /// The event itself, as JSON.
    pub payload: serde_json::Value,
}

/// A wire event that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("not a Cortex event: {0}")]
pub struct WireError(#[from] serde_json::Error);

impl WireEvent {
    /// An event and its metadata, the payload serialized.
    pub fn new<E: Serialize>(metadata: Metadata, event: &E) -> Result<Self, WireError> {
        Ok(WireEvent {
            metadata,
            payload: serde_json::to_value(event)?,
        })
    }

    /// The JSON bytes bridges and stores carry (`{"metadata": .., "payload": ..}`).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a JSON value and metadata always serialize")
    }

    /// Reads bytes written by [`WireEvent::to_bytes`]; anything else is an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}

/// The payload of an event published in this process, shared by every local handler, or read
/// off the wire.
#[derive(Clone)]
pub(crate) enum Payload {
    Local {
        value: Arc<dyn Any + Send + Sync>,
        type_id: TypeId,
        /// Serializes the value to JSON (for `Json` handlers, dead letters, bridges).
        to_json: fn(&(dyn Any + Send + Sync)) -> serde_json::Result<serde_json::Value>,
    },
    Json(Arc<serde_json::Value>),
}

impl Payload {
    pub(crate) fn local<E: Event>(event: E) -> Self {
        Payload::Local {
            value: Arc::new(event),
            type_id: TypeId::of::<E>(),
            to_json: |any| {
                serde_json::to_value(
                    any.downcast_ref::<E>()
                        .expect("the payload's type is the one it was made with"),
                )
            },
        }
    }

    pub(crate) fn json(&self) -> serde_json::Result<serde_json::Value> {
        match self {
            Payload::Local { value, to_json, .. } => to_json(value.as_ref()),
            Payload::Json(value) => Ok(Value::clone(value)),
        }
    }
}

use serde_json::Value;

/// An event published on the bus: its metadata and its payload.
#[derive(Clone)]
pub(crate) struct Published {
    pub(crate) metadata: Arc<Metadata>,
    pub(crate) payload: Payload,
}

impl Published {
    pub(crate) fn to_wire(&self) -> serde_json::Result<WireEvent> {
        Ok(WireEvent {
            metadata: Metadata::clone(&self.metadata),
            payload: self.payload.json()?,
        })
    }
}

/// What a handler or subscriber can receive: a typed [`Event`], or [`Json`] for any event.
///
/// Implemented for every `E: Event` and for [`Json`]; not meant to be implemented elsewhere.
pub trait Receivable: Send + Sync + Sized + 'static {
    /// The topic a subscription listens to when it names no pattern (`None`: it must name one).
    const DEFAULT_TOPIC: Option<&'static str>;

    /// Takes the event out of a publication: `Ok(None)` when it is a local event of another
    /// type (skipped), an error when a payload from outside does not decode.
    #[doc(hidden)]
    fn receive(payload: &PayloadRef<'_>) -> Result<Option<Arc<Self>>, serde_json::Error>;
}

/// A payload as [`Receivable::receive`] sees it (opaque).
#[doc(hidden)]
pub struct PayloadRef<'a>(pub(crate) &'a Payload);

impl<E: Event> Receivable for E {
    const DEFAULT_TOPIC: Option<&'static str> = Some(E::TOPIC);

    fn receive(payload: &PayloadRef<'_>) -> Result<Option<Arc<Self>>, serde_json::Error> {
        match payload.0 {
            Payload::Local { value, type_id, .. } => Ok((*type_id == TypeId::of::<E>())
                .then(|| Arc::clone(value).downcast::<E>().ok())
                .flatten()),
            Payload::Json(value) => E::deserialize(&**value).map(|e| Some(Arc::new(e))),
        }
    }
}

/// Any event as JSON: what a handler or subscriber over a pattern spanning several event types
/// takes (`Envelope<Json>`); `envelope.topic()` says which event it is.
///
/// ```
/// use cortex_events::{EventBus, Json};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Ping { n: u32 }
/// impl cortex_events::Event for Ping { const TOPIC: &'static str = "ping"; }
///
/// let bus = EventBus::new();
/// let mut all = bus.stream_pattern::<Json>("#").unwrap();
/// bus.publish(Ping { n: 1 }).await.unwrap();
/// let envelope = all.next().await.unwrap();
/// assert_eq!(envelope.topic(), "ping");
/// assert_eq!(envelope.0, serde_json::json!({ "n": 1 }));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Json(pub serde_json::Value);

impl Receivable for Json {
    const DEFAULT_TOPIC: Option<&'static str> = None;

    fn receive(payload: &PayloadRef<'_>) -> Result<Option<Arc<Self>>, serde_json::Error> {
        payload.0.json().map(|v| Some(Arc::new(Json(v))))
    }
}

/// An event and its metadata, as a handler receives it: derefs to the event.
///
/// ```
/// use cortex_events::{Envelope, Metadata};
/// let envelope = Envelope::new(7_u32, Metadata::new("numbers.seven"));
/// assert_eq!(*envelope, 7);
/// assert_eq!(envelope.topic(), "numbers.seven");
/// assert_eq!(envelope.attempt(), 1);
/// ```
pub struct Envelope<E> {
    event: Arc<E>,
    metadata: Arc<Metadata>,
    attempt: u32,
}

impl<E> Envelope<E> {
    /// An envelope around an event (for tests of a handler).
    pub fn new(event: E, metadata: Metadata) -> Self {
        Envelope {
            event: Arc::new(event),
            metadata: Arc::new(metadata),
            attempt: 1,
        }
    }

    pub(crate) fn from_parts(event: Arc<E>, metadata: Arc<Metadata>, attempt: u32) -> Self {
        Envelope {
            event,
            metadata,
            attempt,
        }
    }

    /// The event.
    pub fn event(&self) -> &E {
        &self.event
    }

    /// The event, shared.
    pub fn shared(&self) -> Arc<E> {
        Arc::clone(&self.event)
    }

    /// The event's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The event's id.
    pub fn id(&self) -> EventId {
        self.metadata.id
    }

    /// The topic it was published on.
    pub fn topic(&self) -> &str {
        &self.metadata.topic
    }

    /// Which delivery this is: 1 for the first, 2 for the first retry, ….
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

impl<E> Clone for Envelope<E> {
    fn clone(&self) -> Self {
        Envelope {
            event: Arc::clone(&self.event),
            metadata: Arc::clone(&self.metadata),
            attempt: self.attempt,
        }
    }
}

impl<E> Deref for Envelope<E> {
    type Target = E;

    fn deref(&self) -> &E {
        &self.event
    }
}

impl<E: fmt::Debug> fmt::Debug for Envelope<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("event", &self.event)
            .field("metadata", &self.metadata)
            .field("attempt", &self.attempt)
            .finish()
    }
}
