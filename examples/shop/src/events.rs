//! The shop's events: what happened, on which topic. Each is published through the
//! [`Outbox`](cortex::events::store::Outbox), in the transaction of the rows it describes.

use cortex::prelude::*;
use serde::{Deserialize, Serialize};

/// An order was placed (`POST /orders`): [`reserve_stock`](crate::stock::reserve_stock) takes
/// its quantity from the stock.
#[derive(Debug, Clone, PartialEq, Event, Serialize, Deserialize)]
#[event(topic = "order.placed")]
pub struct OrderPlaced {
    /// The order's id.
    pub order_id: i64,
    /// What was ordered.
    pub sku: String,
    /// How many.
    pub quantity: i32,
    /// Where the confirmation goes.
    pub email: String,
}

/// The order's quantity was taken from the stock:
/// [`queue_confirmation_email`](crate::emails::queue_confirmation_email) queues its email.
#[derive(Debug, Clone, PartialEq, Event, Serialize, Deserialize)]
#[event(topic = "stock.reserved")]
pub struct StockReserved {
    /// The order's id.
    pub order_id: i64,
    /// The SKU reserved.
    pub sku: String,
    /// How many.
    pub quantity: i32,
    /// What is left of it.
    pub remaining: i32,
}

/// The order could not be served (an unknown SKU, or not enough of it): the order is
/// `rejected`.
#[derive(Debug, Clone, PartialEq, Event, Serialize, Deserialize)]
#[event(topic = "stock.unavailable")]
pub struct StockUnavailable {
    /// The order's id.
    pub order_id: i64,
    /// The SKU asked for.
    pub sku: String,
    /// How many were asked for.
    pub requested: i32,
    /// How many there are (0 for an unknown SKU).
    pub available: i32,
}

/// The order's confirmation email is queued (a row of `emails`): the end of the chain.
#[derive(Debug, Clone, PartialEq, Event, Serialize, Deserialize)]
#[event(topic = "email.queued")]
pub struct EmailQueued {
    /// The order's id.
    pub order_id: i64,
    /// The email's id.
    pub email_id: i64,
    /// Its recipient.
    pub to: String,
}
