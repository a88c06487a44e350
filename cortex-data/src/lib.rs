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

// The macros' generated code names `::cortex_data` (or `::cortex::data`), inside this crate too.
#[allow(unused_extern_crates)]
extern crate self as cortex_data;

pub mod backend;
mod classify;
pub mod config;
mod db;
mod error;
pub mod migrate;
mod pool;
mod tx;

pub use backend::Backend;
pub use config::{DatabaseConfig, MigrateOn};
pub use db::Db;
pub use error::DataError;
pub use tx::Tx;

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

/// sqlx itself, for raw queries on [`Db::sqlite`], [`Db::postgres`] and [`Db::mysql`].
pub use sqlx;
