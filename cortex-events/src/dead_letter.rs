//! Dead letters: events a handler failed on after its last retry, kept to be inspected and
//! replayed.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use cortex_di::BoxError;
use serde::{Deserialize, Serialize};

use crate::event::{EventId, WireEvent};

/// An event one handler could not handle.
///
/// ```
/// use cortex_events::{DeadLetter, Metadata, WireEvent};
/// let letter = DeadLetter::new(
///     "send_welcome",
///     WireEvent { metadata: Metadata::new("user.created"), payload: serde_json::json!({}) },
///     "smtp refused",
///     4,
/// );
/// assert_eq!(letter.handler, "send_welcome");
/// assert_eq!(letter.attempts, 4);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The handler (or named subscription) that failed.
    pub handler: String,
    /// The event.
    pub event: WireEvent,
    /// The last error, as displayed.
    pub error: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// When it was given up on.
    pub failed_at: DateTime<Utc>,
}

impl DeadLetter {
    /// A dead letter failed now.
    pub fn new(
        handler: impl Into<String>,
        event: WireEvent,
        error: impl Into<String>,
        attempts: u32,
    ) -> Self {
        DeadLetter {
            handler: handler.into(),
            event,
            error: error.into(),
            attempts,
            failed_at: Utc::now(),
        }
    }

    /// The event's id (with [`DeadLetter::handler`], what identifies the letter).
    pub fn event_id(&self) -> EventId {
        self.event.metadata.id
    }
}

/// Which dead letters to list.
///
/// ```
/// let query = cortex_events::DeadLetterQuery::default().handler("send_welcome").limit(10);
/// assert_eq!(query.limit, 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterQuery {
    /// Only this handler's.
    pub handler: Option<String>,
    /// Only events on topics matching this pattern.
    pub topic: Option<String>,
    /// At most this many, oldest first.
    pub limit: usize,
}

impl Default for DeadLetterQuery {
    fn default() -> Self {
        DeadLetterQuery {
            handler: None,
            topic: None,
            limit: 100,
        }
    }
}

impl DeadLetterQuery {
    /// Only this handler's letters.
    pub fn handler(mut self, handler: impl Into<String>) -> Self {
        self.handler = Some(handler.into());
        self
    }

    /// Only letters for topics matching `pattern`.
    pub fn topic(mut self, pattern: impl Into<String>) -> Self {
        self.topic = Some(pattern.into());
        self
    }

    /// At most `limit` letters.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    pub(crate) fn accepts(&self, letter: &DeadLetter) -> bool {
        self.handler.as_ref().is_none_or(|h| *h == letter.handler)
            && self.topic.as_ref().is_none_or(|t| {
                crate::Pattern::parse(t).is_ok_and(|p| p.matches(&letter.event.metadata.topic))
            })
    }
}

/// Where dead letters are kept. The bus has one: [`MemoryDeadLetters`] by default; the event
/// store's table with the `store` feature (`[events] dead_letters = "database"`).
///
/// A letter is identified by its event id and its handler: the same event may fail in two
/// handlers.
pub trait DeadLetterStore: Send + Sync + 'static {
    /// Keeps a letter (replacing one with the same event and handler).
    fn put(&self, letter: DeadLetter) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// The letters the query selects, oldest first.
    fn list(
        &self,
        query: &DeadLetterQuery,
    ) -> impl Future<Output = Result<Vec<DeadLetter>, BoxError>> + Send;

    /// One letter.
    fn get(
        &self,
        event: EventId,
        handler: &str,
    ) -> impl Future<Output = Result<Option<DeadLetter>, BoxError>> + Send;

    /// Removes a letter (after a successful replay); whether it was there.
    fn remove(
        &self,
        event: EventId,
        handler: &str,
    ) -> impl Future<Output = Result<bool, BoxError>> + Send;
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe twin of [`DeadLetterStore`], implemented for every store: how the bus holds
/// one. Not meant to be implemented by hand.
pub trait ErasedDeadLetterStore: Send + Sync + 'static {
    /// [`DeadLetterStore::put`].
    fn put(&self, letter: DeadLetter) -> BoxFuture<'_, Result<(), BoxError>>;
    /// [`DeadLetterStore::list`].
    fn list<'a>(
        &'a self,
        query: &'a DeadLetterQuery,
    ) -> BoxFuture<'a, Result<Vec<DeadLetter>, BoxError>>;
    /// [`DeadLetterStore::get`].
    fn get<'a>(
        &'a self,
        event: EventId,
        handler: &'a str,
    ) -> BoxFuture<'a, Result<Option<DeadLetter>, BoxError>>;
    /// [`DeadLetterStore::remove`].
    fn remove<'a>(
        &'a self,
        event: EventId,
        handler: &'a str,
    ) -> BoxFuture<'a, Result<bool, BoxError>>;
}

impl<T: DeadLetterStore> ErasedDeadLetterStore for T {
    fn put(&self, letter: DeadLetter) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(DeadLetterStore::put(self, letter))
    }

    fn list<'a>(
        &'a self,
        query: &'a DeadLetterQuery,
    ) -> BoxFuture<'a, Result<Vec<DeadLetter>, BoxError>> {
        Box::pin(DeadLetterStore::list(self, query))
    }

    fn get<'a>(
        &'a self,
        event: EventId,
        handler: &'a str,
    ) -> BoxFuture<'a, Result<Option<DeadLetter>, BoxError>> {
        Box::pin(DeadLetterStore::get(self, event, handler))
    }

    fn remove<'a>(
        &'a self,
        event: EventId,
        handler: &'a str,
    ) -> BoxFuture<'a, Result<bool, BoxError>> {
        Box::pin(DeadLetterStore::remove(self, event, handler))
    }
}

/// Dead letters in memory, the default: at most `capacity` (10,000 by default), the oldest
/// forgotten first (with a warning). Lost when the process exits: use the database store where
/// that matters.
///
/// ```
/// use cortex_events::{DeadLetter, DeadLetterQuery, DeadLetterStore, MemoryDeadLetters, Metadata, WireEvent};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryDeadLetters::new(2);
/// for n in 0..3 {
///     let event = WireEvent { metadata: Metadata::new("t"), payload: serde_json::json!(n) };
///     store.put(DeadLetter::new("h", event, "failed", 1)).await.unwrap();
/// }
/// let kept = store.list(&DeadLetterQuery::default()).await.unwrap();
/// assert_eq!(kept.len(), 2);
/// assert_eq!(kept[0].event.payload, serde_json::json!(1));
/// # }
/// ```
pub struct MemoryDeadLetters {
    letters: Mutex<VecDeque<DeadLetter>>,
    capacity: usize,
}

impl MemoryDeadLetters {
    /// A store keeping at most `capacity` letters.
    pub fn new(capacity: usize) -> Self {
        MemoryDeadLetters {
            letters: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
        }
    }
}

impl Default for MemoryDeadLetters {
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl DeadLetterStore for MemoryDeadLetters {
    async fn put(&self, letter: DeadLetter) -> Result<(), BoxError> {
        let mut letters = self.letters.lock().expect("dead letters lock");
        letters.retain(|l| !(l.event_id() == letter.event_id() && l.handler == letter.handler));
        if letters.len() >= self.capacity
            && let Some(forgotten) = letters.pop_front()
        {
            tracing::warn!(
                target: "cortex::events",
                event_id = %forgotten.event_id(),
                handler = %forgotten.handler,
                capacity = self.capacity,
                "the in-memory dead-letter store is full: the oldest letter is forgotten"
            );
        }
        letters.push_back(letter);
        Ok(())
    }

    async fn list(&self, query: &DeadLetterQuery) -> Result<Vec<DeadLetter>, BoxError> {
        let letters = self.letters.lock().expect("dead letters lock");
        Ok(letters
            .iter()
            .filter(|l| query.accepts(l))
            .take(query.limit)
            .cloned()
            .collect())
    }

    async fn get(&self, event: EventId, handler: &str) -> Result<Option<DeadLetter>, BoxError> {
        let letters = self.letters.lock().expect("dead letters lock");
        Ok(letters
            .iter()
            .find(|l| l.event_id() == event && l.handler == handler)
            .cloned())
    }

    async fn remove(&self, event: EventId, handler: &str) -> Result<bool, BoxError> {
        let mut letters = self.letters.lock().expect("dead letters lock");
        let before = letters.len();
        letters.retain(|l| !(l.event_id() == event && l.handler == handler));
        Ok(letters.len() < before)
    }
}
