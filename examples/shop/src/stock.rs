//! The stock (`stock`, seeded by a migration), `GET /stock`, and the handler that reserves an
//! order's quantity: [`reserve_stock`].

use cortex::data::{Db, Model, Repo};
use cortex::events::store::Outbox;
use cortex::prelude::*;
use serde::{Deserialize, Serialize};

use crate::events::{OrderPlaced, StockReserved, StockUnavailable};
use crate::orders::{Order, OrderStatus};
use crate::processed::{HandleError, Instance, ProcessedEvent, claim, settle};

/// A row of `stock`: how many of a SKU are available.
#[derive(Model, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[model(table = "stock")]
pub struct Stock {
    /// The SKU: the key.
    #[model(primary_key)]
    pub sku: String,
    /// How many can be reserved.
    pub available: i32,
    /// Optimistic locking: a reservation applies to the version it read.
    #[model(version)]
    pub version: i32,
}

/// `/stock`: what is left.
#[controller("/stock")]
pub struct StockController {
    stock: Inject<Repo<Stock>>,
}

#[routes]
impl StockController {
    /// List the stock
    ///
    /// Every SKU with how many are available, by SKU.
    #[get("/")]
    async fn list(&self) -> Result<Json<Vec<Stock>>, HttpError> {
        let query = cortex::data::Query::new()
            .order_by(Stock::SKU.asc())
            .limit(cortex::data::MAX_LIMIT);
        Ok(Json(self.stock.find_many(query).await?))
    }
}

/// `order.placed`: takes the order's quantity from the stock and marks the order `reserved`
/// (then publishes [`StockReserved`]), or marks it `rejected` when there is not enough (then
/// publishes [`StockUnavailable`]) — the stock, the order, the `processed_events` row and the
/// outbox row in one transaction. A stale stock version (another instance reserved the same SKU
/// meanwhile) fails the attempt: the bus retries it.
#[event_handler(retries = 5)]
pub async fn reserve_stock(
    order: Envelope<OrderPlaced>,
    db: Inject<Db>,
    stock: Inject<Repo<Stock>>,
    orders: Inject<Repo<Order>>,
    processed: Inject<Repo<ProcessedEvent>>,
    outbox: Inject<Outbox>,
    instance: Inject<Instance>,
) -> Result<(), HandleError> {
    let outcome = db
        .transaction(async |tx| {
            claim(&processed, tx, "reserve_stock", order.metadata(), &instance).await?;
            let available = stock.on(tx).find(order.sku.clone()).await?;
            match available {
                Some(row) if row.available >= order.quantity => {
                    let row = stock
                        .on(tx)
                        .update(row.sku.clone())
                        .set(Stock::AVAILABLE, row.available - order.quantity)
                        .if_version(row.version)
                        .exec()
                        .await?;
                    orders
                        .on(tx)
                        .update(order.order_id)
                        .set(Order::STATUS, OrderStatus::Reserved.to_string())
                        .exec()
                        .await?;
                    let reserved = StockReserved {
                        order_id: order.order_id,
                        sku: row.sku,
                        quantity: order.quantity,
                        remaining: row.available,
                    };
                    outbox.enqueue(tx, reserved).await?;
                }
                row => {
                    orders
                        .on(tx)
                        .update(order.order_id)
                        .set(Order::STATUS, OrderStatus::Rejected.to_string())
                        .exec()
                        .await?;
                    let unavailable = StockUnavailable {
                        order_id: order.order_id,
                        sku: order.sku.clone(),
                        requested: order.quantity,
                        available: row.map_or(0, |row| row.available),
                    };
                    outbox.enqueue(tx, unavailable).await?;
                }
            }
            Ok(())
        })
        .await;
    settle(outcome)
}
