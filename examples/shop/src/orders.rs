//! Orders (`orders`): `POST /orders` places one — the row and its [`OrderPlaced`] event commit
//! together, through the outbox — and `GET /orders/{id}` shows how far it got.

use std::fmt;

use cortex::data::chrono::{DateTime, Utc};
use cortex::data::{Db, Model, Repo};
use cortex::events::store::{Outbox, StoreError};
use cortex::prelude::*;
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

use crate::events::OrderPlaced;

/// A row of `orders`.
#[derive(Model, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Assigned by the database.
    pub id: i64,
    /// What was ordered.
    pub sku: String,
    /// How many.
    pub quantity: i32,
    /// Where the confirmation goes.
    pub email: String,
    /// How far it got: an [`OrderStatus`].
    pub status: String,
    /// Set on insert.
    pub created_at: DateTime<Utc>,
    /// Set on insert and on each change of status.
    pub updated_at: DateTime<Utc>,
}

/// Where an order is, as its events move it along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Written, with its `order.placed` event (`POST /orders`).
    Placed,
    /// Its quantity was taken from the stock (`reserve_stock`).
    Reserved,
    /// There was not enough stock (`reserve_stock`): the end.
    Rejected,
    /// Its confirmation email is queued (`queue_confirmation_email`): the end.
    Emailed,
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Reserved => "reserved",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Emailed => "emailed",
        })
    }
}

/// The body of `POST /orders`.
#[schema_rules]
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// The SKU: 1 to 64 lowercase letters, digits and `-`.
    #[validate(length(min = 1, max = 64), custom(function = "sku"))]
    pub sku: String,
    /// How many: 1 to 1,000.
    #[validate(range(min = 1, max = 1000))]
    pub quantity: i32,
    /// Where to send the confirmation.
    #[validate(email, length(max = 254))]
    pub email: String,
}

fn sku(text: &str) -> Result<(), ValidationError> {
    let valid = text
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(ValidationError::new("sku")
            .with_message("must be lowercase letters, digits and `-`".into()))
    }
}

/// `/orders`.
#[controller("/orders")]
pub struct OrderController {
    db: Inject<Db>,
    orders: Inject<Repo<Order>>,
    outbox: Inject<Outbox>,
}

#[routes]
impl OrderController {
    /// Place an order
    ///
    /// Writes the order (`placed`) and its `order.placed` event in one transaction: the event is
    /// published if and only if the order is stored. Its handlers then reserve the stock and
    /// queue the confirmation email; `GET /orders/{id}` shows how far it got.
    #[post("/")]
    async fn place(
        &self,
        Valid(Json(new)): Valid<Json<NewOrder>>,
    ) -> Result<Created<Order>, HttpError> {
        let order = self
            .db
            .transaction(async |tx| {
                let order = self
                    .orders
                    .on(tx)
                    .insert(&Order {
                        sku: new.sku.clone(),
                        quantity: new.quantity,
                        email: new.email.trim().to_string(),
                        status: OrderStatus::Placed.to_string(),
                        ..Order::default()
                    })
                    .await?;
                let placed = OrderPlaced {
                    order_id: order.id,
                    sku: order.sku.clone(),
                    quantity: order.quantity,
                    email: order.email.clone(),
                };
                self.outbox.enqueue(tx, placed).await.map_err(store_error)?;
                Ok::<_, HttpError>(order)
            })
            .await?;
        Ok(Created::at(format!("/orders/{}", order.id), order))
    }

    /// Show an order
    ///
    /// Its status: `placed`, `reserved`, `emailed` or `rejected`.
    #[get("/{id}")]
    async fn show(&self, Path(id): Path<i64>) -> Result<Json<Order>, HttpError> {
        Ok(Json(self.orders.get(id).await?))
    }
}

/// The outbox's error as an answer: the database's as the data layer answers it (503 when it is
/// unavailable), anything else a 500.
fn store_error(error: StoreError) -> HttpError {
    match error {
        StoreError::Data(error) => error.into(),
        other => HttpError::internal(other),
    }
}
