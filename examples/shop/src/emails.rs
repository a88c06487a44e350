//! The confirmation emails (`emails`: queued for a mailer to send) and the handler that queues
//! them: [`queue_confirmation_email`].

use cortex::data::chrono::{DateTime, Utc};
use cortex::data::{Db, Model, Repo};
use cortex::events::store::Outbox;
use cortex::prelude::*;
use serde::{Deserialize, Serialize};

use crate::events::{EmailQueued, StockReserved};
use crate::orders::{Order, OrderStatus};
use crate::processed::{HandleError, Instance, ProcessedEvent, claim, settle};

/// A row of `emails`: one confirmation per order (`order_id` is unique).
#[derive(Model, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Email {
    /// Assigned by the database.
    pub id: i64,
    /// The order it confirms.
    pub order_id: i64,
    /// The recipient.
    pub to_address: String,
    /// The subject line.
    pub subject: String,
    /// The text.
    pub body: String,
    /// The `stock.reserved` event that queued it.
    pub event_id: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// `stock.reserved`: queues the order's confirmation email (a row of `emails`), marks the order
/// `emailed` and publishes [`EmailQueued`], in one transaction with its `processed_events` row.
#[event_handler]
pub async fn queue_confirmation_email(
    reserved: Envelope<StockReserved>,
    db: Inject<Db>,
    emails: Inject<Repo<Email>>,
    orders: Inject<Repo<Order>>,
    processed: Inject<Repo<ProcessedEvent>>,
    outbox: Inject<Outbox>,
    instance: Inject<Instance>,
) -> Result<(), HandleError> {
    let outcome = db
        .transaction(async |tx| {
            claim(
                &processed,
                tx,
                "queue_confirmation_email",
                reserved.metadata(),
                &instance,
            )
            .await?;
            let order = orders.on(tx).get(reserved.order_id).await?;
            let email = emails
                .on(tx)
                .insert(&Email {
                    order_id: order.id,
                    to_address: order.email.clone(),
                    subject: format!("Your order #{} is confirmed", order.id),
                    body: format!(
                        "{} × {} are set aside for you ({} left in stock).",
                        order.quantity, order.sku, reserved.remaining
                    ),
                    event_id: reserved.id().to_string(),
                    ..Email::default()
                })
                .await?;
            orders
                .on(tx)
                .update(order.id)
                .set(Order::STATUS, OrderStatus::Emailed.to_string())
                .exec()
                .await?;
            let queued = EmailQueued {
                order_id: order.id,
                email_id: email.id,
                to: email.to_address,
            };
            outbox.enqueue(tx, queued).await?;
            Ok(())
        })
        .await;
    settle(outcome)
}
