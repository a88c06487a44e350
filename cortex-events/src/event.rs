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
        v7::next(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default(),
        )
    }
}

/// UUID v7 ids made from a clock reading the caller also uses (the metadata's timestamp),
/// cheaper than `Uuid::now_v7` (which reads the clock itself and takes a global lock).
///
/// Layout (RFC 9562, section 5.7, "method 1": a dedicated counter): 48 bits of Unix
/// milliseconds, the version, a 12-bit counter, the variant, 62 random bits. The milliseconds
/// and the counter come from one atomic: each id takes the larger of "now" (counter 0) and the
/// previous id plus one, so ids made in this process are strictly increasing even when the
/// clock steps back or more than 4,096 are made in a millisecond (the timestamp then runs a
/// little ahead). The random bits come from a per-thread generator seeded from the process's
/// randomly keyed hasher.
mod v7 {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::EventId;

    /// The last id's milliseconds (high 48 bits of 60) and counter (low 12).
    static LAST: AtomicU64 = AtomicU64::new(0);

    thread_local! {
        static RANDOM: Cell<u64> = Cell::new({
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64));
            hasher.finish()
        });
    }

    /// SplitMix64: 64 random-looking bits per call from a per-thread state.
    fn random() -> u64 {
        RANDOM.with(|state| {
            let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            state.set(next);
            let mut z = next;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        })
    }

    /// The id for `now` (since the Unix epoch).
    pub(super) fn next(now: Duration) -> EventId {
        let millis = now.as_millis() as u64 & ((1 << 48) - 1);
        let floor = millis << 12;
        let mut last = LAST.load(Ordering::Relaxed);
        let stamp = loop {
            let stamp = floor.max(last + 1);
            match LAST.compare_exchange_weak(last, stamp, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break stamp,
                Err(seen) => last = seen,
            }
        };
        let (millis, counter) = (stamp >> 12, stamp & 0xFFF);
        let high = (millis << 16) | (0x7 << 12) | counter;
        let low = (0b10 << 62) | (random() >> 2);
        EventId(uuid::Uuid::from_u64_pair(high, low))
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

/// A string shared rather than copied: a `&'static str` (an event type's topic) or an
/// `Arc<str>` (a bus's source, a topic read off the wire). What [`Metadata`]'s `topic` and
/// `source` are, so that making an event's metadata allocates no string. Derefs to `str`;
/// compares, hashes, orders, prints and serializes as its text.
///
/// ```
/// use cortex_events::SharedStr;
/// let topic = SharedStr::from("user.created");
/// assert_eq!(topic, "user.created");
/// assert!(topic.starts_with("user."));
/// let owned = SharedStr::from(String::from("user.created"));
/// assert_eq!(topic, owned);
/// assert_eq!(serde_json::to_string(&owned).unwrap(), "\"user.created\"");
/// ```
#[derive(Clone)]
pub struct SharedStr(SharedRepr);

#[derive(Clone)]
enum SharedRepr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl SharedStr {
    /// A string that lives for the whole program: no allocation.
    pub const fn from_static(text: &'static str) -> Self {
        SharedStr(SharedRepr::Static(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            SharedRepr::Static(text) => text,
            SharedRepr::Shared(text) => text,
        }
    }
}

impl Default for SharedStr {
    fn default() -> Self {
        SharedStr::from_static("")
    }
}

impl Deref for SharedStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for SharedStr {
    fn from(text: &'static str) -> Self {
        SharedStr::from_static(text)
    }
}

impl From<String> for SharedStr {
    fn from(text: String) -> Self {
        SharedStr(SharedRepr::Shared(text.into()))
    }
}

impl From<&String> for SharedStr {
    fn from(text: &String) -> Self {
        SharedStr(SharedRepr::Shared(text.as_str().into()))
    }
}

impl From<Arc<str>> for SharedStr {
    fn from(text: Arc<str>) -> Self {
        SharedStr(SharedRepr::Shared(text))
    }
}

impl From<&Arc<str>> for SharedStr {
    fn from(text: &Arc<str>) -> Self {
        SharedStr(SharedRepr::Shared(Arc::clone(text)))
    }
}

impl From<SharedStr> for String {
    fn from(text: SharedStr) -> Self {
        text.as_str().to_owned()
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for SharedStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SharedStr {}

impl PartialOrd for SharedStr {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SharedStr {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for SharedStr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<SharedStr> for str {
    fn eq(&self, other: &SharedStr) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<SharedStr> for &str {
    fn eq(&self, other: &SharedStr) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<SharedStr> for String {
    fn eq(&self, other: &SharedStr) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Serialize for SharedStr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SharedStr::from)
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
/// Making one allocates nothing: the topic and the source are [`SharedStr`]s, and an event
/// correlated with itself (the first of a chain) has no `correlation_id` of its own:
/// [`correlation`](Metadata::correlation) reads it either way. Serialized, `correlation_id`
/// is always written (the event's own id when it has none).
///
/// ```
/// let meta = cortex_events::Metadata::new("user.created");
/// assert_eq!(meta.topic, "user.created");
/// assert!(meta.correlation_id.is_none());
/// assert_eq!(meta.correlation(), meta.id.to_string());
/// assert!(meta.causation_id.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "MetadataRepr")]
pub struct Metadata {
    /// The event's id.
    pub id: EventId,
    /// The topic it was published on.
    pub topic: SharedStr,
    /// When it was published.
    pub timestamp: DateTime<Utc>,
    /// Which app published it.
    pub source: SharedStr,
    /// The id shared by everything one request or one first event set off; `None`: the event's
    /// own id (read it with [`correlation`](Metadata::correlation)).
    pub correlation_id: Option<SharedStr>,
    /// The id of the event whose handler published this one.
    pub causation_id: Option<EventId>,
    /// The W3C `traceparent` of the span that published it.
    pub traceparent: Option<String>,
    /// Free-form headers (interceptors set them).
    pub headers: BTreeMap<String, String>,
}

/// [`Metadata`] as it is written: `correlation_id` always there.
#[derive(Deserialize)]
struct MetadataRepr {
    id: EventId,
    topic: SharedStr,
    timestamp: DateTime<Utc>,
    source: SharedStr,
    correlation_id: SharedStr,
    #[serde(default)]
    causation_id: Option<EventId>,
    #[serde(default)]
    traceparent: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

impl From<MetadataRepr> for Metadata {
    fn from(repr: MetadataRepr) -> Self {
        let mut own = [0; uuid::fmt::Hyphenated::LENGTH];
        let own = repr.id.0.hyphenated().encode_lower(&mut own);
        Metadata {
            id: repr.id,
            topic: repr.topic,
            timestamp: repr.timestamp,
            source: repr.source,
            correlation_id: (*repr.correlation_id != *own).then_some(repr.correlation_id),
            causation_id: repr.causation_id,
            traceparent: repr.traceparent,
            headers: repr.headers,
        }
    }
}

impl Serialize for Metadata {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let fields = 5
            + usize::from(self.causation_id.is_some())
            + usize::from(self.traceparent.is_some())
            + usize::from(!self.headers.is_empty());
        let mut out = serializer.serialize_struct("Metadata", fields)?;
        out.serialize_field("id", &self.id)?;
        out.serialize_field("topic", &self.topic)?;
        out.serialize_field("timestamp", &self.timestamp)?;
        out.serialize_field("source", &self.source)?;
        match &self.correlation_id {
            Some(correlation) => out.serialize_field("correlation_id", correlation)?,
            None => {
                let mut own = [0; uuid::fmt::Hyphenated::LENGTH];
                let own: &str = self.id.0.hyphenated().encode_lower(&mut own);
                out.serialize_field("correlation_id", own)?;
            }
        }
        if let Some(causation) = &self.causation_id {
            out.serialize_field("causation_id", causation)?;
        }
        if let Some(traceparent) = &self.traceparent {
            out.serialize_field("traceparent", traceparent)?;
        }
        if !self.headers.is_empty() {
            out.serialize_field("headers", &self.headers)?;
        }
        out.end()
    }
}

impl Metadata {
    /// Metadata for a new event on `topic`, with no source, correlated with itself.
    pub fn new(topic: impl Into<SharedStr>) -> Self {
        // One clock reading for the id and the timestamp (a clock before 1970 reads as 1970).
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Metadata {
            id: v7::next(now),
            topic: topic.into(),
            timestamp: DateTime::from_timestamp(now.as_secs() as i64, now.subsec_nanos())
                .unwrap_or_default(),
            source: SharedStr::default(),
            correlation_id: None,
            causation_id: None,
            traceparent: None,
            headers: BTreeMap::new(),
        }
    }

    /// The correlation id: `correlation_id`, or the event's own id when it has none.
    ///
    /// ```
    /// let mut meta = cortex_events::Metadata::new("user.created");
    /// assert_eq!(meta.correlation(), meta.id.to_string());
    /// meta.correlation_id = Some("request-7".into());
    /// assert_eq!(meta.correlation(), "request-7");
    /// ```
    pub fn correlation(&self) -> std::borrow::Cow<'_, str> {
        match &self.correlation_id {
            Some(correlation) => std::borrow::Cow::Borrowed(correlation.as_str()),
            None => std::borrow::Cow::Owned(self.id.to_string()),
        }
    }
}

/// An event as it travels outside the process: metadata and the JSON payload.
///
/// What the dead-letter store keeps, what the event store and the outbox write, what bridges
/// carry. [`EventBus::to_wire`](crate::EventBus::to_wire) makes one; the bus turns one back into typed events for the
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
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event",
    label = "not an event type",
    note = "derive it: `#[derive(Event, Serialize, Deserialize)]` with `#[event(topic = \"user.created\")]`, or take `Envelope<Json>` with a topic pattern"
)]
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

    #[cfg(test)]
    pub(crate) fn metadata_shared(&self) -> &Arc<Metadata> {
        &self.metadata
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_v7_strictly_increasing_and_carry_the_time() {
        let before = Utc::now().timestamp_millis();
        let ids: Vec<EventId> = (0..10_000).map(|_| EventId::new()).collect();
        let after = Utc::now().timestamp_millis();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
        }
        let first = ids[0].0;
        assert_eq!(first.get_version_num(), 7);
        assert_eq!(first.get_variant(), uuid::Variant::RFC4122);
        let (seconds, nanos) = first.get_timestamp().expect("a v7 timestamp").to_unix();
        let millis = seconds as i64 * 1000 + i64::from(nanos / 1_000_000);
        assert!(
            (before..=after).contains(&millis),
            "{before} <= {millis} <= {after}"
        );
        // Thousands in one millisecond: the counter keeps them apart, the random bits differ.
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn ids_made_on_several_threads_never_repeat() {
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..5_000).map(|_| EventId::new()).collect::<Vec<_>>()))
            .collect();
        let mut all = std::collections::HashSet::new();
        for thread in threads {
            for id in thread.join().unwrap() {
                assert!(all.insert(id), "{id} made twice");
            }
        }
    }

    #[test]
    fn metadata_is_written_with_its_correlation_id_and_read_back_equal() {
        let own = Metadata::new("a.b");
        let json = serde_json::to_value(&own).unwrap();
        assert_eq!(json["correlation_id"], own.id.to_string());
        assert!(json.get("causation_id").is_none());
        assert_eq!(serde_json::from_value::<Metadata>(json).unwrap(), own);

        let mut other = Metadata::new(String::from("a.c"));
        other.correlation_id = Some("request-1".into());
        other.source = "shop".into();
        let json = serde_json::to_value(&other).unwrap();
        assert_eq!(json["correlation_id"], "request-1");
        let back: Metadata = serde_json::from_value(json).unwrap();
        assert_eq!(back, other);
        assert_eq!(back.correlation(), "request-1");

        // Written by an older writer without the optional fields: still read.
        let bare = serde_json::json!({
            "id": own.id, "topic": "a.b", "timestamp": own.timestamp,
            "source": "", "correlation_id": "x",
        });
        let read: Metadata = serde_json::from_value(bare).unwrap();
        assert_eq!(read.correlation_id.as_deref(), Some("x"));
        // Malformed: a clear error, no panic.
        let error =
            serde_json::from_value::<Metadata>(serde_json::json!({ "id": own.id })).unwrap_err();
        assert!(error.to_string().contains("missing field"), "{error}");
    }

    #[test]
    fn new_metadata_is_correlated_with_its_own_id_and_stamped_now() {
        let before = Utc::now();
        let meta = Metadata::new("user.created");
        let after = Utc::now();
        assert_eq!(meta.correlation(), meta.id.to_string());
        assert!(meta.correlation_id.is_none());
        assert!(before <= meta.timestamp && meta.timestamp <= after);
        let (seconds, _) = meta.id.0.get_timestamp().unwrap().to_unix();
        assert_eq!(seconds as i64, meta.timestamp.timestamp());
    }
}
