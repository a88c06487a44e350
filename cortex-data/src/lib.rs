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

// the derive's expansion names `::cortex_data`, also in this crate's own unit tests
#[cfg(test)]
extern crate self as cortex_data;

pub mod backend;
mod classify;
pub mod config;
mod db;
mod error;
mod exec;
mod model;
mod pool;
mod query;
mod relation;
mod repo;
mod sql;
mod tx;
mod value;

pub use backend::Backend;
pub use config::{DatabaseConfig, MigrateOn};
pub use db::Db;
pub use error::DataError;
pub use tx::Tx;

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

/// The guide's models and repositories sections, tested as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/src/data.md")]
pub struct GuideData;

/// The registrations the derive submits.
#[doc(hidden)]
pub mod __private {
    pub use crate::repo::ModelRegistration;
    pub use crate::sql::StatementCache;
    pub use inventory;
}

/// sqlx itself, for raw queries on [`Db::sqlite`], [`Db::postgres`] and [`Db::mysql`].
pub use sqlx;
