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
//!
//! # Persistence
//! With the `store` feature (the `cortex` facade's `events` with a database feature) and the
//! data layer: the `store` module's event store (append, read, replay, snapshots), the
//! transactional outbox (an event published if and only if its transaction commits) and dead
//! letters kept in the database.

// The macros name this crate `::cortex_events`, also inside it.
#[allow(unused_extern_crates)]
extern crate self as cortex_events;

mod bridge;
mod bridges;
pub mod bus;
mod config;
mod dead_letter;
mod error;
mod event;
mod handler;
mod interceptor;
#[cfg(feature = "nats")]
pub mod nats;
mod plugin;
mod queue;
#[cfg(feature = "redis")]
pub mod redis;
mod registry;
mod retry;
#[cfg(feature = "store")]
pub mod store;
mod tasks;
pub mod testing;
pub mod topic;

pub use bridge::{BridgeConsumer, BusBridge, ErasedBusBridge};
pub use bridges::{BridgeConfig, BridgeKind};
pub use bus::{
    Completion, Delivery, DrainReport, EventBus, EventBusBuilder, EventStream, HandlerOutcome,
    HandlersFailed, ReplayError, SubscribeOptions, Subscription,
};
pub use config::{DeadLetterBackend, EventsConfig, OutboxConfig, StoreConfig};
pub use dead_letter::{
    DeadLetter, DeadLetterQuery, DeadLetterStore, ErasedDeadLetterStore, MemoryDeadLetters,
};
pub use error::{HandlerFailure, PublishError, SubscribeError};
pub use event::{
    Envelope, Event, EventId, Json, Metadata, PayloadRef, Receivable, SharedStr, WireError,
    WireEvent,
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

/// `#[derive(Event)]` (with `#[event(topic = "..")]`), `#[event_handler]` and
/// `#[event_handlers]`; see their docs in `cortex-macros`.
pub use cortex_macros::{Event, event_handler, event_handlers};

/// Items the macros expand to: not public API.
#[doc(hidden)]
pub mod __private {
    pub use cortex_di::{Dependency, RequestScope};
    pub use inventory;

    use cortex_di::{Inject, Key};

    /// Resolves `T` (named `name`) from an event's scope, `None` when nothing is bound to it:
    /// an `Option<Inject<T>>` argument of an `#[event_handler]`.
    pub async fn resolve_optional<T: ?Sized + Send + Sync + 'static>(
        scope: &RequestScope,
        name: Option<&'static str>,
    ) -> Result<Option<Inject<T>>, cortex_di::Error> {
        let key = match name {
            Some(name) => Key::of::<T>().with_name(name),
            None => Key::of::<T>(),
        };
        if !scope.container().contains(&key) {
            return Ok(None);
        }
        match name {
            Some(name) => scope.resolve_named::<T>(name).await.map(Some),
            None => scope.resolve::<T>().await.map(Some),
        }
    }
}
