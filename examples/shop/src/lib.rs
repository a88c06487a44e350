//! `shop`: an order placed over HTTP sets off a chain of events — stock reserved, confirmation
//! email queued — handled by `#[event_handler]` functions, in one process on the embedded
//! defaults (SQLite, the in-process bus) or across several instances through Redis.
//!
//! | route | what it does |
//! | --- | --- |
//! | `POST /orders` | places an order (`sku`, `quantity`, `email`): `201 Created` with `Location: /orders/{id}`, status `placed`; a bad body is a `422` problem |
//! | `GET /orders/{id}` | the order and its status: `placed`, `reserved`, `emailed` or `rejected` (`404` when there is none) |
//! | `GET /stock` | every SKU and how many are available |
//!
//! ```text
//! POST /orders ── orders row + outbox row, one transaction
//!      │ (the outbox relay publishes once it commits)
//!      ▼
//! order.placed ──▶ reserve_stock ─┬─ enough:     stock − quantity, order `reserved` ──▶ stock.reserved
//!                                 └─ not enough: order `rejected` ──▶ stock.unavailable
//! stock.reserved ──▶ queue_confirmation_email: emails row, order `emailed` ──▶ email.queued
//! ```
//!
//! Every step writes its rows and its next event in one transaction (the outbox: the event is
//! published if and only if the transaction commits), and each handler records the event in
//! `processed_events` in that transaction, so an event delivered twice — bridges and the outbox
//! deliver at least once — changes nothing the second time. The events of one order share one
//! correlation id, the id of the HTTP request that placed it (`x-request-id`), and each names the
//! event whose handler published it (`causation_id`).
//!
//! With `[events.bridge] kind = "redis"` (the `redis` profile: `cortex.redis.toml`) the events
//! go through a Redis stream: instances sharing the database and the stream share the work, each
//! event handled by one of them.

pub mod emails;
pub mod events;
pub mod orders;
pub mod processed;
pub mod stock;

cortex::data::app_migrations!("migrations");
