//! The bus's errors.

use std::sync::Arc;

use crate::event::EventId;
use crate::topic::TopicError;

/// Why a publish failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The bus is shutting down: nothing new is accepted. A publisher waiting for room in a full
    /// queue (overflow = "wait") when the bus shut down gets it too: that subscriber never got
    /// the event (others may have).
    #[error("the event bus is shutting down and accepts no new event")]
    Closed,
    /// The event's topic is malformed.
    #[error("cannot publish: {0}")]
    Topic(#[from] TopicError),
    /// An interceptor refused the event.
    #[error("an interceptor refused the event: {0}")]
    Refused(#[source] cortex_di::BoxError),
    /// Subscribers with the `fail` overflow policy had a full queue: they did not get the event
    /// (every other subscriber did).
    #[error("event {id} was not delivered to {} (queue full, overflow = \"fail\")", .subscribers.join(", "))]
    Full {
        /// The event's id.
        id: EventId,
        /// The subscribers that refused it.
        subscribers: Vec<Arc<str>>,
    },
    /// The event could not be serialized for the bridge, the outbox or the store.
    #[error("the event cannot be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The bridge refused the event (it was not published anywhere).
    #[error("the `{bridge}` bridge did not take the event: {source}")]
    Bridge {
        /// The bridge's name.
        bridge: &'static str,
        /// Why.
        #[source]
        source: cortex_di::BoxError,
    },
}

/// Why a subscription could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// The pattern is malformed.
    #[error("cannot subscribe: {0}")]
    Topic(#[from] TopicError),
    /// A subscription over `Json` named no pattern.
    #[error("a subscription to any event (`Json`) needs a topic pattern, such as `user.*` or `#`")]
    NoPattern,
    /// Another subscription has this name (handler names identify dead letters).
    #[error("two event handlers are named `{0}`; give one another name")]
    DuplicateName(String),
    /// The bus is shutting down.
    #[error("the event bus is shutting down")]
    Closed,
}

/// Why one handler did not handle an event, in a [`Completion`](crate::Completion).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerFailure {
    /// Every attempt failed; the event is in the dead letters.
    #[error("failed {attempts} time(s), dead-lettered: {error}")]
    DeadLettered {
        /// How many attempts were made.
        attempts: u32,
        /// The last error.
        error: String,
    },
    /// The event was dropped from a full queue (overflow = "drop_oldest").
    #[error("dropped from a full queue")]
    Dropped,
    /// The bus stopped before the handler could finish; the event is in the dead letters.
    #[error("not handled before shutdown")]
    Shutdown,
}
