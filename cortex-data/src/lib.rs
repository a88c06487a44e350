//! `cortex-data`: Cortex's data layer on [sqlx](https://docs.rs/sqlx) — the app's pool ([`Db`]),
//! configured by `[database]` ([`DatabaseConfig`]), with errors that answer as problem details
//! ([`DataError`]).
//!
//! SQLite is the embedded default (the `sqlite` feature, bundled: nothing to install);
//! PostgreSQL (`postgres`) and MySQL/MariaDB (`mysql`) are one URL away. An app reaches it through
//! the `cortex` facade (`cortex::data`, features `data`, `sqlite`, `postgres`, `mysql`); the guide's
//! chapter "Data" (`docs/src/data.md`) covers it all.
//!
//! | item | what it is |
//! | --- | --- |
//! | [`DataPlugin`] | the plugin: reads `[database]` (and `DATABASE_URL`), binds [`Db`] without connecting, checks the connection at start, the `database` readiness check, closes the pool on shutdown |
//! | [`Db`] | the pool, whichever backend: [`transaction`](Db::transaction), [`begin`](Db::begin), [`stats`](Db::stats), each backend's own sqlx pool |
//! | [`Tx`] | a transaction |
//! | [`UnitOfWork`] | a request's transaction: committed when the handler succeeds, rolled back otherwise |
//! | [`DataError`] | what a call fails with, and its HTTP answer (404, 409, 422, 503 + `Retry-After`, 500) |
//! | [`DatabaseConfig`] | the `[database]` section |
//! | [`PoolStats`] | connections and statements, for metrics |
//!
//! ```
//! use cortex_core::App;
//! use cortex_core::config::Config;
//! use cortex_data::{DataError, DataPlugin, Db};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::from_toml("[database]\nurl = 'sqlite::memory:'\nmax_connections = 1")?;
//! let app = App::with_config(config).plugin(DataPlugin).build().await?;
//! let db = app.container().get::<Db>()?;
//! let answer = db
//!     .transaction(async |tx| {
//!         let one: i64 = sqlx::query_scalar("SELECT 41 + 1").fetch_one(&mut **tx.sqlite().unwrap()).await?;
//!         Ok::<_, DataError>(one)
//!     })
//!     .await?;
//! assert_eq!(answer, 42);
//! # Ok(()) }
//! ```
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

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!(
    "cortex-data needs a database: turn on one of its features `sqlite`, `postgres`, `mysql` (with the `cortex` facade: `data`, `sqlite`, `postgres` or `mysql`)"
);

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
