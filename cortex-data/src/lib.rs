//! `cortex-data`: Cortex's data layer on [sqlx](https://docs.rs/sqlx) — the app's pool ([`Db`]),
//! configured by `[database]` ([`DatabaseConfig`]), with errors that answer as problem details
//! ([`DataError`]).
//!
//! SQLite is the embedded default (the `sqlite` feature, bundled: nothing to install);
//! PostgreSQL (`postgres`) and MySQL/MariaDB (`mysql`) are one URL away.
//!
//! # Why typed pools, not `sqlx::Any`
//! [`Db`] holds one backend's own pool (`SqlitePool`, `PgPool`, `MySqlPool`), chosen by the URL
//! at start, instead of sqlx's `Any` driver. `Any` decodes only a handful of types (no
//! timestamps, UUIDs or JSON) and passes placeholders through unchanged, so the same SQL would
//! not run on all three; the typed pools keep every sqlx type, and each backend's pool stays
//! reachable as the escape hatch for raw queries.
//!
//! # No TLS
//! sqlx is built without TLS: the embedded default and local databases do not need it, and it
//! would add rustls or OpenSSL to every app's build. (A later issue can add a `tls` feature.)

pub mod backend;
mod classify;
pub mod config;
mod db;
mod error;
mod metrics;
mod plugin;
mod pool;
mod tx;
mod uow;

pub use backend::Backend;
pub use config::{DatabaseConfig, MigrateOn};
pub use db::Db;
pub use error::DataError;
pub use metrics::{PoolStats, StatementStats};
pub use plugin::DataPlugin;
pub use tx::Tx;
pub use uow::UnitOfWork;

/// sqlx itself, for raw queries on [`Db::sqlite`], [`Db::postgres`] and [`Db::mysql`].
pub use sqlx;
