//! The Cortex event bus: typed events published in-process (and across instances through a
//! bridge), handlers discovered like controllers, retries and dead letters, backpressure and
//! interceptors.
//!
//! ```
//! use cortex_events::{Envelope, Event, EventBus};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct UserCreated { id: u64 }
//! impl Event for UserCreated { const TOPIC: &'static str = "user.created"; }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let bus = EventBus::new();
//! let _welcome = bus.subscribe(|user: Envelope<UserCreated>| async move {
//!     assert_eq!(user.id, 7);
//!     Ok(())
//! }).unwrap();
//! assert!(bus.publish_and_wait(UserCreated { id: 7 }).await.unwrap().is_ok());
//! # }
//! ```
//!
//! # Delivery semantics
//!
//! - **Per subscriber, in order.** Each subscriber (a handler, a subscription, a stream) has its
//!   own bounded queue and handles its events one at a time, in the order they were published
//!   (per publisher; two tasks publishing at once are ordered by who queued first).
//! - **Isolation.** A handler that fails or panics affects neither the publisher nor the other
//!   subscribers: its attempt is retried after a backoff ([`RetryPolicy`]), and after the last
//!   retry the event goes to the dead letters ([`DeadLetterStore`]) with the last error, to be
//!   listed and replayed ([`EventBus::replay`]). An event from outside that does not decode into
//!   a handler's type goes to the dead letters at once.
//! - **Backpressure.** A full queue makes the publisher wait (the default), drops the oldest
//!   event, or fails the publish for that subscriber ([`Overflow`]); memory is bounded by the
//!   queues' capacities.
//! - **Shutdown.** The bus stops accepting events, the handlers finish what is queued within
//!   the drain timeout, and what is left (queued or waiting for a retry) goes to the dead
//!   letters.

mod bridge;
mod bridges;
pub mod bus;
mod config;
mod dead_letter;
mod error;
mod event;
mod handler;
mod interceptor;
mod plugin;
mod queue;
mod registry;
mod retry;
pub mod testing;
pub mod topic;

pub use bridge::{BridgeConsumer, BusBridge, ErasedBusBridge};
pub use bridges::{BridgeConfig, BridgeKind};
pub use bus::{
    Completion, Delivery, DrainReport, EventBus, EventBusBuilder, EventStream, HandlerOutcome,
    HandlersFailed, ReplayError, SubscribeOptions, Subscription,
};
pub use config::{DeadLetterBackend, EventsConfig};
pub use dead_letter::{
    DeadLetter, DeadLetterQuery, DeadLetterStore, ErasedDeadLetterStore, MemoryDeadLetters,
};
pub use error::{HandlerFailure, PublishError, SubscribeError};
pub use event::{
    Envelope, Event, EventId, Json, Metadata, PayloadRef, Receivable, WireError, WireEvent,
};
pub use handler::HandlerResult;
pub use interceptor::{ErasedInterceptor, HandleContext, Interceptor, Next};
#[doc(hidden)]
pub use plugin::EventHandlerNode;
pub use plugin::EventsPlugin;
pub use queue::Overflow;
pub use registry::{HandlerDescriptor, HandlerRegistration, registered_handlers};
pub use retry::RetryPolicy;
pub use topic::{Pattern, TopicError};

/// Items the macros expand to: not public API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
