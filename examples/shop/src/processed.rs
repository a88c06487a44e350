//! Handling each event once although it may arrive twice: bridges and the outbox deliver **at
//! least once** (an instance that dies before acknowledging an event leaves it to another; a
//! relay that dies between publishing and deleting its row publishes it again). Each handler
//! writes a `processed_events` row — unique by (event id, handler) — in the transaction of its
//! effects: a second delivery finds the row taken, and changes nothing.

use cortex::data::chrono::{DateTime, Utc};
use cortex::data::{DataError, Model, Repo, Tx};
use cortex::events::store::StoreError;
use cortex::events::{EventId, Metadata};
use cortex::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `processed_events`: `handler` handled the event `event_id`, on `instance`.
#[derive(Model, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessedEvent {
    /// Assigned by the database.
    pub id: i64,
    /// The event's id (a UUID v7, as text).
    pub event_id: String,
    /// The handler's name.
    pub handler: String,
    /// The instance that handled it (`[shop] instance`).
    pub instance: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// This instance's name: `[shop] instance` (`CORTEX_SHOP__INSTANCE`).
#[injectable]
pub struct Instance {
    #[inject(config = "shop.instance")]
    name: String,
}

impl Instance {
    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Why a handler's transaction did not commit.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The event was handled before (a redelivery): nothing to do.
    #[error("event {event} was handled by `{handler}` already")]
    AlreadyHandled {
        /// The event.
        event: EventId,
        /// The handler.
        handler: &'static str,
    },
    /// The database failed (or an optimistic lock moved on): retried by the bus.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The outbox refused the event.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Claims `event` for `handler` in `tx`: inserts its `processed_events` row, or answers
/// [`HandleError::AlreadyHandled`] when another delivery has (or, in a transaction still open,
/// is about to: the insert waits for it, then finds the row).
///
/// # Errors
/// [`HandleError::AlreadyHandled`], or the database's.
pub async fn claim(
    processed: &Repo<ProcessedEvent>,
    tx: &mut Tx,
    handler: &'static str,
    event: &Metadata,
    instance: &Instance,
) -> Result<(), HandleError> {
    let row = ProcessedEvent {
        event_id: event.id.to_string(),
        handler: handler.to_string(),
        instance: instance.name.clone(),
        ..ProcessedEvent::default()
    };
    match processed.on(tx).insert(&row).await {
        Ok(_) => Ok(()),
        Err(DataError::Conflict { .. }) => Err(HandleError::AlreadyHandled {
            event: event.id,
            handler,
        }),
        Err(error) => Err(error.into()),
    }
}

/// A handler's outcome from its transaction's: a redelivered event is a success (logged), any
/// other error is the handler's failure (retried, then a dead letter).
///
/// # Errors
/// `outcome`'s error, unless it is [`HandleError::AlreadyHandled`].
pub fn settle(outcome: Result<(), HandleError>) -> Result<(), HandleError> {
    match outcome {
        Err(HandleError::AlreadyHandled { event, handler }) => {
            cortex::tracing::info!(%event, handler, "a redelivered event, handled already: skipped");
            Ok(())
        }
        other => other,
    }
}
