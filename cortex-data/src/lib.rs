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
//! | [`testing`] | the test kit: a database per test (`TestApp::with_database`, [`TestDatabase`](testing::TestDatabase)), [`Factory`](testing::Factory) |
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

// The macros' generated code names `::cortex_data` (or `::cortex::data`), inside this crate too.
#[allow(unused_extern_crates)]
extern crate self as cortex_data;
#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!(
    "cortex-data needs a database: turn on one of its features `sqlite`, `postgres`, `mysql` (with the `cortex` facade: `data`, `sqlite`, `postgres` or `mysql`)"
);

pub mod backend;
mod classify;
pub mod config;
mod db;
mod error;
mod exec;
mod metrics;
pub mod migrate;
mod model;
mod openapi;
mod plugin;
mod pool;
mod query;
mod relation;
mod repo;
mod sql;
pub mod testing;
mod tx;
mod uow;
mod value;

pub use backend::Backend;
pub use config::{DatabaseConfig, MigrateOn};
pub use db::Db;
pub use error::DataError;
pub use metrics::{PoolStats, StatementStats};
pub use plugin::DataPlugin;
pub use tx::Tx;
pub use uow::UnitOfWork;

pub use migrate::Migrations;

/// Embeds a folder of migrations into the binary as a [`Migrations`] value (see [`migrate`] for
/// the file names, per-dialect files and what happens when a file is added).
///
/// The folder is relative to the crate's `Cargo.toml`. A folder that does not exist, a file name
/// that does not parse, a `.down.sql` without its `.up.sql`, two migrations with one version or
/// an unknown dialect is a compile error naming the file.
///
/// ```
/// use cortex_data::Migrations;
///
/// static MIGRATIONS: Migrations = cortex_data::migrations!("tests/data/migrations/blog");
/// assert_eq!(MIGRATIONS.len(), 2);
/// ```
pub use cortex_data_macros::migrations;

/// Embeds a folder of seed files (`<name>.sql`, optionally `<name>.<postgres|mysql|sqlite>.sql`)
/// as a [`migrate::Seeds`] value, run in name order by [`Db::seed`].
///
/// ```
/// static SEEDS: cortex_data::migrate::Seeds = cortex_data::seeds!("tests/data/seeds/blog");
/// assert_eq!(SEEDS.iter().map(|s| s.name()).collect::<Vec<_>>(), ["01_posts", "02_comments"]);
/// ```
pub use cortex_data_macros::seeds;

/// Embeds the app's migrations (and, with `seeds = "dir"`, its seeds) and registers them, so
/// that the data plugin applies them at start (`[database] migrate = "on_start"`, the default)
/// and the `db:*` tasks (`cortex db migrate | rollback | status | reset | seed`) find them. Write
/// it once, at the top level of the app's crate (`src/main.rs` or `src/lib.rs`); a binary that
/// links two is refused at start.
///
/// ```standalone_crate
/// // (its own doc-test binary: a binary registers one set)
/// cortex_data::app_migrations!("tests/data/migrations/blog", seeds = "tests/data/seeds/blog");
///
/// let (migrations, seeds) = cortex_data::Migrations::registered().unwrap().unwrap();
/// assert_eq!(migrations.len(), 2);
/// assert!(!seeds.is_empty());
/// ```
pub use cortex_data_macros::app_migrations;

pub use model::{Column, ColumnDef, KeyStrategy, Model, ModelMeta};
pub use query::{
    ColumnValue, Cursor, DEFAULT_LIMIT, Filter, Filters, MAX_LIMIT, Order, Query, QueryError,
};
pub use repo::{Page, Repo, RepoOn, Update};
pub use value::{Field, Row, ToValue, Value, ValueKind, decode};

/// Makes a struct a model: a table's row, with typed column constants and a [`Repo`].
///
/// ```
/// use chrono::{DateTime, Utc};
/// use cortex_data::Model;
/// use uuid::Uuid;
///
/// #[derive(Model)]
/// #[model(table = "blog_posts")]
/// struct Post {
///     id: Uuid,                               // the key: `id` unless `#[model(primary_key)]`
///     #[model(column = "headline")]
///     title: String,
///     #[model(version)]
///     lock_version: i32,                      // optimistic locking
///     created_at: DateTime<Utc>,              // set on insert
///     updated_at: DateTime<Utc>,              // set on insert and update
///     deleted_at: Option<DateTime<Utc>>,      // soft delete
///     #[model(skip)]
///     comments_loaded: bool,                  // not a column: `Default` on reads
/// }
///
/// assert_eq!(Post::META.table, "blog_posts");
/// assert_eq!(Post::TITLE.name(), "headline");
/// ```
///
/// Attributes: on the struct, `#[model(table = "…")]` (default: the name in snake case, plural);
/// on a field, `#[model(primary_key)]`, `#[model(column = "…")]`, `#[model(version)]` (an integer),
/// `#[model(skip)]` (not a column; the type must be `Default`), `#[model(no_query)]` (not
/// filterable or sortable from query strings). Fields named `created_at`, `updated_at`
/// (`DateTime<Utc>`) and `deleted_at` (`Option<DateTime<Utc>>`) take their roles by name.
///
/// For OpenAPI, derive `utoipa::ToSchema` next to it (and `serde::Serialize`): the schema
/// follows your serde attributes, which the model derive does not read.
pub use cortex_data_macros::Model;

/// The registrations the derive submits.
#[doc(hidden)]
pub mod __private {
    pub use crate::repo::ModelRegistration;
    pub use crate::sql::StatementCache;
    pub use inventory;
}

/// sqlx itself, for raw queries on [`Db::sqlite`], [`Db::postgres`] and [`Db::mysql`].
pub use sqlx;

/// chrono, for models' timestamps (`chrono::DateTime<Utc>`) without a dependency of the app's own.
pub use chrono;

/// uuid, for models' UUID keys without a dependency of the app's own.
pub use uuid;
