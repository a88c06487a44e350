//! Migrations embedded in the binary, applied and reverted with sqlx's migrator, and seeds.
//!
//! # Files
//! A folder (`migrations/` by convention, next to `Cargo.toml`) holds one pair of files per
//! migration:
//!
//! ```text
//! migrations/
//!   20261207120000_create_posts.up.sql        applies it
//!   20261207120000_create_posts.down.sql      undoes it (optional: without it, no rollback)
//!   20261208090000_add_uuid.up.sql            the SQL for every backend …
//!   20261208090000_add_uuid.postgres.up.sql   … except PostgreSQL, which runs this one
//!   20261208090000_add_uuid.down.sql
//! ```
//!
//! The version is digits (`cortex db create NAME` writes a `YYYYMMDDHHMMSS` UTC timestamp);
//! migrations run in version order. A per-dialect file (`.postgres.`, `.mysql.`, `.sqlite.`)
//! replaces the plain one on that backend; a migration with no plain file needs one per dialect.
//! A file whose first line is `-- no-transaction` runs outside a transaction (for statements such
//! as PostgreSQL's `CREATE INDEX CONCURRENTLY`), as with sqlx.
//!
//! [`migrations!`](crate::migrations!) embeds the folder as a [`Migrations`] value; the bad
//! cases (no folder, a file name that does not parse, a `.down.sql` without its `.up.sql`, two
//! migrations with one version, an unknown dialect) are compile errors naming the file.
//! [`app_migrations!`](crate::app_migrations!) embeds them and registers them as the app's, for
//! the data plugin (`[database] migrate = "on_start"`) and the `db:*` tasks.
//!
//! Each file is embedded with `include_str!`, so editing one rebuilds the crate. A file *added*
//! to the folder is seen at the crate's next compilation: cargo does not watch the folder by
//! itself, so after `cortex db create` touch a source file of the crate, or add a `build.rs`
//! with `println!("cargo:rerun-if-changed=migrations");` (cargo then watches the whole folder).
//!
//! # Running
//! [`Db::migrate`], [`Db::rollback`], [`Db::migration_status`], [`Db::reset`] run them with
//! sqlx's migrator: the `_sqlx_migrations` table and its checksums are sqlx's own (`sqlx migrate
//! info` reads them). A migration that fails leaves nothing half-applied on SQLite and PostgreSQL,
//! whose DDL is transactional; MySQL and MariaDB commit each DDL statement as it runs, so the
//! error says the statements before the failing one may have been applied, and how to recover.
//! A migration changed after it was applied (its checksum differs) is refused, as is a database
//! with a migration the app does not have.
//!
//! ```
//! use cortex_data::migrate::{MigrationState, Migrations, Rollback};
//! use cortex_data::{DatabaseConfig, Db};
//!
//! static MIGRATIONS: Migrations = cortex_data::migrations!("tests/data/migrations/blog");
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cortex_data::DataError> {
//! let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
//! let applied = db.migrate(&MIGRATIONS).await?;
//! assert_eq!(applied.len(), 2);
//! assert!(db.migration_status(&MIGRATIONS).await?.iter().all(|m| m.state == MigrationState::Applied));
//!
//! let reverted = db.rollback(&MIGRATIONS, Rollback::Steps(1)).await?;
//! assert_eq!(reverted[0].name, "add_comments");
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use sqlx::SqlSafeStr;
use sqlx::migrate::{AppliedMigration, Migrate, MigrateError, Migration, MigrationType, Migrator};

use crate::backend::Backend;
use crate::db::{Db, Pool};
use crate::error::DataError;

// Called by the `DataPlugin`: its `build` registers the tasks, its `OnStart` migrates.
mod tasks;

pub(crate) use tasks::{migrate_on_start, tasks};

/// The table sqlx records applied migrations in.
pub const TABLE: &str = "_sqlx_migrations";

/// The SQL of one direction of a migration (or of a seed): the plain file's, and each dialect's
/// replacement. Made by the macros.
#[derive(Debug, Clone, Copy)]
pub struct Sql {
    any: Option<&'static str>,
    postgres: Option<&'static str>,
    mysql: Option<&'static str>,
    sqlite: Option<&'static str>,
}

impl Sql {
    #[doc(hidden)]
    pub const fn __embedded(
        any: Option<&'static str>,
        postgres: Option<&'static str>,
        mysql: Option<&'static str>,
        sqlite: Option<&'static str>,
    ) -> Sql {
        Sql {
            any,
            postgres,
            mysql,
            sqlite,
        }
    }

    /// The SQL `backend` runs: its dialect's file when there is one, the plain file otherwise.
    pub fn for_backend(&self, backend: Backend) -> &'static str {
        let dialect = match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
            Backend::MySql => self.mysql,
        };
        // The macro refuses a migration that leaves a backend without SQL.
        dialect.or(self.any).unwrap_or_default()
    }
}

/// One embedded migration: its version, name, and SQL up and (when it has one) down.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigration {
    version: i64,
    name: &'static str,
    up: Sql,
    down: Option<Sql>,
}

impl EmbeddedMigration {
    #[doc(hidden)]
    pub const fn __embedded(
        version: i64,
        name: &'static str,
        up: Sql,
        down: Option<Sql>,
    ) -> EmbeddedMigration {
        EmbeddedMigration {
            version,
            name,
            up,
            down,
        }
    }

    /// The version: the digits before the first `_` of the file name.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The name: the rest of the file name (`create_posts`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The SQL that applies it on `backend`.
    pub fn up(&self, backend: Backend) -> &'static str {
        self.up.for_backend(backend)
    }

    /// The SQL that undoes it on `backend`; `None` when it has no `.down.sql`.
    pub fn down(&self, backend: Backend) -> Option<&'static str> {
        self.down.map(|d| d.for_backend(backend))
    }

    fn label(&self) -> String {
        format!("{}_{}", self.version, self.name)
    }
}

/// A folder of migrations embedded by [`migrations!`](crate::migrations!), in version order.
///
/// ```
/// use cortex_data::Backend;
/// use cortex_data::migrate::Migrations;
///
/// static MIGRATIONS: Migrations = cortex_data::migrations!("tests/data/migrations/blog");
///
/// let names: Vec<_> = MIGRATIONS.iter().map(|m| m.name()).collect();
/// assert_eq!(names, ["create_posts", "add_comments"]);
/// assert!(MIGRATIONS.iter().next().unwrap().up(Backend::Sqlite).contains("CREATE TABLE posts"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    items: &'static [EmbeddedMigration],
}

impl Migrations {
    #[doc(hidden)]
    pub const fn __embedded(items: &'static [EmbeddedMigration]) -> Migrations {
        Migrations { items }
    }

    /// The migrations, in version order.
    pub fn iter(&self) -> impl Iterator<Item = &'static EmbeddedMigration> + 'static {
        self.items.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The migration with this version.
    pub fn get(&self, version: i64) -> Option<&'static EmbeddedMigration> {
        self.items.iter().find(|m| m.version == version)
    }

    /// The app's migrations and seeds, as registered by [`app_migrations!`](crate::app_migrations!)
    /// in the binary; `None` when nothing registered any.
    ///
    /// # Errors
    /// [`DataError::Migration`] when two `app_migrations!` are linked into the binary (naming
    /// where each is).
    ///
    /// ```standalone_crate
    /// // (its own doc-test binary)
    /// mod app {
    ///     cortex_data::app_migrations!("tests/data/migrations/blog");
    /// }
    /// mod plugin {
    ///     cortex_data::app_migrations!("tests/data/migrations/dialects");
    /// }
    ///
    /// let err = cortex_data::Migrations::registered().unwrap_err();
    /// assert!(err.to_string().starts_with("the binary registers two sets of migrations, at "));
    /// assert!(err.to_string().contains("hint: keep one `app_migrations!`"));
    /// ```
    pub fn registered() -> Result<Option<(&'static Migrations, &'static Seeds)>, DataError> {
        let all: Vec<&AppMigrations> = inventory::iter::<AppMigrations>.into_iter().collect();
        match all.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some((one.migrations, one.seeds))),
            [first, second, ..] => Err(DataError::Migration {
                version: None,
                message: format!(
                    "the binary registers two sets of migrations, at {} and at {}; hint: keep one `app_migrations!` (the app's); a plugin crate's migrations go in the app's folder",
                    first.at, second.at
                ),
            }),
        }
    }

    /// The migrations as sqlx runs them on `backend`.
    fn migrator(&self, backend: Backend) -> Migrator {
        let mut list = Vec::with_capacity(self.items.len() * 2);
        for m in self.items {
            let description: Cow<'static, str> = Cow::Owned(m.name.replace('_', " "));
            let up = m.up.for_backend(backend);
            let kind = if m.down.is_some() {
                MigrationType::ReversibleUp
            } else {
                MigrationType::Simple
            };
            list.push(Migration::new(
                m.version,
                description.clone(),
                kind,
                up.into_sql_str(),
                no_tx(up),
            ));
            if let Some(down) = m.down(backend) {
                list.push(Migration::new(
                    m.version,
                    description,
                    MigrationType::ReversibleDown,
                    down.into_sql_str(),
                    no_tx(down),
                ));
            }
        }
        Migrator::with_migrations(list)
    }

    fn label(&self, version: i64) -> String {
        match self.get(version) {
            Some(m) => m.label(),
            None => version.to_string(),
        }
    }
}

/// Whether a migration's SQL asks to run outside a transaction (sqlx's `-- no-transaction`).
fn no_tx(sql: &str) -> bool {
    sql.trim_start().starts_with("-- no-transaction")
}

/// Whether the migration `version` runs outside a transaction on `backend`, up or down.
fn outside_tx(migrations: &Migrations, version: i64, backend: Backend, up: bool) -> bool {
    migrations.get(version).is_some_and(|m| {
        let sql = if up {
            Some(m.up(backend))
        } else {
            m.down(backend)
        };
        sql.is_some_and(no_tx)
    })
}

/// One seed file (with its dialect variants).
#[derive(Debug, Clone, Copy)]
pub struct Seed {
    name: &'static str,
    sql: Sql,
}

impl Seed {
    #[doc(hidden)]
    pub const fn __embedded(name: &'static str, sql: Sql) -> Seed {
        Seed { name, sql }
    }

    /// The file name without `.sql`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The SQL `backend` runs.
    pub fn sql(&self, backend: Backend) -> &'static str {
        self.sql.for_backend(backend)
    }
}

/// A folder of seed files (`seeds/*.sql`, optionally `name.<dialect>.sql`), in name order: demo
/// or reference rows, inserted by `cortex db seed` ([`Db::seed`]). Embedded by
/// [`app_migrations!`](crate::app_migrations!)`("migrations", seeds = "seeds")`.
#[derive(Debug, Clone, Copy)]
pub struct Seeds {
    items: &'static [Seed],
}

impl Seeds {
    #[doc(hidden)]
    pub const fn __embedded(items: &'static [Seed]) -> Seeds {
        Seeds { items }
    }

    /// The seeds, in name order.
    pub fn iter(&self) -> impl Iterator<Item = &'static Seed> + 'static {
        self.items.iter()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// What [`app_migrations!`](crate::app_migrations!) submits.
#[doc(hidden)]
pub struct AppMigrations {
    migrations: &'static Migrations,
    seeds: &'static Seeds,
    at: &'static str,
}

impl AppMigrations {
    #[doc(hidden)]
    pub const fn new(
        migrations: &'static Migrations,
        seeds: &'static Seeds,
        at: &'static str,
    ) -> AppMigrations {
        AppMigrations {
            migrations,
            seeds,
            at,
        }
    }
}

inventory::collect!(AppMigrations);

#[doc(hidden)]
pub mod __private {
    pub use super::AppMigrations;
    pub use inventory;
}

/// Where a migration stands on a database (see [`Db::migration_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationState {
    /// Applied, with the SQL the app embeds.
    Applied,
    /// Not applied yet.
    Pending,
    /// Applied, but its SQL has changed since (the checksum differs): `migrate` refuses to run
    /// until the file is restored.
    Changed,
    /// Applied to the database, but the app has no such migration (its files were deleted, or
    /// the database is another app's).
    Missing,
    /// Failed partway in an earlier run and recorded as failed (MySQL/MariaDB, whose DDL is not
    /// transactional): `migrate` refuses to run until it is repaired.
    Failed,
}

impl fmt::Display for MigrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MigrationState::Applied => "applied",
            MigrationState::Pending => "pending",
            MigrationState::Changed => "changed",
            MigrationState::Missing => "missing",
            MigrationState::Failed => "failed",
        })
    }
}

/// One line of [`Db::migration_status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The version.
    pub version: i64,
    /// The name; empty for a [`Missing`](MigrationState::Missing) migration.
    pub name: String,
    /// Where it stands.
    pub state: MigrationState,
}

/// A migration [`Db::migrate`] applied or [`Db::rollback`] reverted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// The version.
    pub version: i64,
    /// The name.
    pub name: String,
}

impl fmt::Display for Ran {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.version, self.name)
    }
}

/// How far [`Db::rollback`] goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollback {
    /// Reverts the latest `n` applied migrations (`cortex db rollback --steps N`; 1 by default).
    Steps(usize),
    /// Reverts every applied migration newer than this version, which stays applied (`cortex db
    /// rollback --to VERSION`); `To(0)` reverts them all.
    To(i64),
    /// Reverts every applied migration.
    All,
}

/// What runs on a migration connection.
enum Op<'a> {
    List,
    Up,
    Down(&'a Migrations, Rollback),
}

/// What an [`Op`] returns.
enum Done {
    Listed(Vec<AppliedMigration>, Option<i64>),
    Applied(Vec<i64>),
    Reverted(Vec<i64>),
}

/// Why an [`Op`] failed.
enum Failure {
    Migrate(MigrateError),
    Data(DataError),
}

impl From<MigrateError> for Failure {
    fn from(e: MigrateError) -> Self {
        Failure::Migrate(e)
    }
}

/// Runs `op` on one connection (the migrator's lock is per session).
async fn perform<C: Migrate>(
    conn: &mut C,
    migrator: &Migrator,
    op: Op<'_>,
) -> Result<Done, Failure> {
    conn.ensure_migrations_table(TABLE).await?;
    match op {
        Op::List => {
            let applied = conn.list_applied_migrations(TABLE).await?;
            let dirty = conn.dirty_version(TABLE).await?;
            Ok(Done::Listed(applied, dirty))
        }
        Op::Up => {
            let before: Vec<i64> = conn
                .list_applied_migrations(TABLE)
                .await?
                .iter()
                .map(|m| m.version)
                .collect();
            migrator.run_direct(None, conn, false).await?;
            let pending = migrator
                .iter()
                .filter(|m| !m.migration_type.is_down_migration() && !before.contains(&m.version))
                .map(|m| m.version)
                .collect();
            Ok(Done::Applied(pending))
        }
        Op::Down(migrations, how) => {
            conn.lock().await?;
            if let Some(version) = conn.dirty_version(TABLE).await? {
                return Err(MigrateError::Dirty(version).into());
            }
            let applied = conn.list_applied_migrations(TABLE).await?;
            if let Some(missing) = applied.iter().find(|a| migrations.get(a.version).is_none()) {
                return Err(MigrateError::VersionMissing(missing.version).into());
            }
            let target = target(migrations, &applied, how).map_err(Failure::Data)?;
            let to_revert: Vec<i64> = applied
                .iter()
                .rev()
                .map(|a| a.version)
                .filter(|v| *v > target)
                .collect();
            for version in &to_revert {
                let migration = migrations.get(*version).expect("checked above");
                if migration.down.is_none() {
                    return Err(Failure::Data(DataError::Migration {
                        version: Some(*version),
                        message: format!(
                            "migration {} has no down migration, so it cannot be rolled back; nothing was reverted; hint: add `{}.down.sql` next to its `.up.sql` and rebuild",
                            migration.label(),
                            migration.label()
                        ),
                    }));
                }
            }
            for version in &to_revert {
                let down = migrator
                    .iter()
                    .find(|m| m.version == *version && m.migration_type.is_down_migration())
                    .expect("a down migration for each reversible one");
                conn.revert(TABLE, down).await?;
            }
            conn.unlock().await?;
            Ok(Done::Reverted(to_revert))
        }
    }
}

/// The version [`Rollback`] keeps: every applied migration above it is reverted.
fn target(
    migrations: &Migrations,
    applied: &[AppliedMigration],
    how: Rollback,
) -> Result<i64, DataError> {
    Ok(match how {
        Rollback::All => i64::MIN,
        Rollback::Steps(n) => {
            let n = n.max(1);
            if n >= applied.len() {
                i64::MIN
            } else {
                applied[applied.len() - n - 1].version
            }
        }
        Rollback::To(0) => i64::MIN,
        Rollback::To(version) => {
            if migrations.get(version).is_none() {
                return Err(DataError::Migration {
                    version: Some(version),
                    message: format!(
                        "no migration has the version {version}; hint: `cortex db status` lists the versions (`--to 0` reverts them all)"
                    ),
                });
            }
            version
        }
    })
}

/// Acquires a connection of `db`'s pool and runs `$body` with `$conn` (the backend's own
/// connection, which implements `Migrate`); on error the connection is closed, not returned to
/// the pool, so that a migrator lock it holds (PostgreSQL advisory lock, MySQL `GET_LOCK`) goes
/// with it.
macro_rules! on_connection {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.pool() {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => on_connection!(@run $db, pool, $conn, $body),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => on_connection!(@run $db, pool, $conn, $body),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => on_connection!(@run $db, pool, $conn, $body),
        }
    };
    (@run $db:expr, $pool:ident, $conn:ident, $body:expr) => {{
        match $pool.acquire().await {
            Err(e) => Err(Failure::Data(sqlx_error($db, e))),
            Ok(mut pooled) => {
                let $conn = &mut *pooled;
                let outcome = $body.await;
                if outcome.is_err() {
                    pooled.close_on_drop();
                }
                outcome
            }
        }
    }};
}

/// A sqlx error as a [`DataError`], naming `db`'s URL when the database is unreachable.
fn sqlx_error(db: &Db, error: sqlx::Error) -> DataError {
    match DataError::from(error) {
        DataError::Unavailable { reason, .. } => DataError::unavailable(db.url(), reason),
        other => other,
    }
}

impl Db {
    async fn perform(&self, migrations: &Migrations, op: Op<'_>) -> Result<Done, Failure> {
        let migrator = migrations.migrator(self.backend());
        on_connection!(self, |conn| perform(conn, &migrator, op))
    }

    /// Applies the pending migrations, in version order, each in its own transaction (where the
    /// backend's DDL is transactional), and returns them. Applied migrations are checked first:
    /// one whose SQL changed, or one the app does not have, stops it before anything runs.
    ///
    /// # Errors
    /// [`DataError::Migration`] naming the migration (`version_name`) that failed, changed, is
    /// missing or was left failed by an earlier run, with what to do;
    /// [`DataError::Unavailable`] when the database cannot be reached.
    pub async fn migrate(&self, migrations: &Migrations) -> Result<Vec<Ran>, DataError> {
        match self.perform(migrations, Op::Up).await {
            Ok(Done::Applied(versions)) => {
                let ran = ran(migrations, &versions);
                for m in &ran {
                    tracing::info!(target: "cortex::data", version = m.version, "applied migration {m}");
                }
                Ok(ran)
            }
            Ok(_) => unreachable!("Op::Up answers Applied"),
            Err(failure) => Err(self.explain(migrations, failure, "applying").await),
        }
    }

    /// Reverts applied migrations, newest first, with their `.down.sql`, and returns them.
    /// Nothing is reverted when one of them has no down migration.
    ///
    /// # Errors
    /// [`DataError::Migration`] naming the migration that cannot be reverted (no down migration,
    /// its down SQL failed), or when [`Rollback::To`] names no migration.
    pub async fn rollback(
        &self,
        migrations: &Migrations,
        how: Rollback,
    ) -> Result<Vec<Ran>, DataError> {
        match self.perform(migrations, Op::Down(migrations, how)).await {
            Ok(Done::Reverted(versions)) => {
                let ran = ran(migrations, &versions);
                for m in &ran {
                    tracing::info!(target: "cortex::data", version = m.version, "reverted migration {m}");
                }
                Ok(ran)
            }
            Ok(_) => unreachable!("Op::Down answers Reverted"),
            Err(failure) => Err(self.explain(migrations, failure, "reverting").await),
        }
    }

    /// Reverts every applied migration, then applies them all: an empty schema as the
    /// migrations build it. Returns what was applied. Data in the migrations' tables is lost.
    ///
    /// # Errors
    /// As [`rollback`](Self::rollback) (nothing is reverted when a migration has no down
    /// migration), then as [`migrate`](Self::migrate).
    pub async fn reset(&self, migrations: &Migrations) -> Result<Vec<Ran>, DataError> {
        self.rollback(migrations, Rollback::All).await?;
        self.migrate(migrations).await
    }

    /// Each migration of the app and each one the database has, in version order, with where
    /// it stands.
    ///
    /// # Errors
    /// [`DataError::Unavailable`] when the database cannot be reached; [`DataError::Sqlx`] when
    /// the migrations table cannot be read.
    pub async fn migration_status(
        &self,
        migrations: &Migrations,
    ) -> Result<Vec<MigrationStatus>, DataError> {
        let (applied, dirty) = match self.perform(migrations, Op::List).await {
            Ok(Done::Listed(applied, dirty)) => (applied, dirty),
            Ok(_) => unreachable!("Op::List answers Listed"),
            Err(failure) => return Err(self.explain(migrations, failure, "reading").await),
        };
        let migrator = migrations.migrator(self.backend());
        let checksums: HashMap<i64, &[u8]> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| (m.version, &*m.checksum))
            .collect();
        let recorded: HashMap<i64, &AppliedMigration> =
            applied.iter().map(|a| (a.version, a)).collect();
        let mut status: Vec<MigrationStatus> = migrations
            .iter()
            .map(|m| {
                let state = match recorded.get(&m.version) {
                    _ if dirty == Some(m.version) => MigrationState::Failed,
                    None => MigrationState::Pending,
                    Some(a) if *a.checksum == *checksums[&m.version] => MigrationState::Applied,
                    Some(_) => MigrationState::Changed,
                };
                MigrationStatus {
                    version: m.version,
                    name: m.name.to_string(),
                    state,
                }
            })
            .collect();
        status.extend(
            applied
                .iter()
                .filter(|a| migrations.get(a.version).is_none())
                .map(|a| MigrationStatus {
                    version: a.version,
                    name: String::new(),
                    state: MigrationState::Missing,
                }),
        );
        status.sort_by_key(|s| s.version);
        Ok(status)
    }

    /// Runs the seeds in name order, each file in a transaction, and returns their names.
    ///
    /// # Errors
    /// [`DataError::Migration`] naming the seed whose SQL failed (its transaction rolled back;
    /// the seeds before it stay inserted).
    pub async fn seed(&self, seeds: &Seeds) -> Result<Vec<&'static str>, DataError> {
        let mut done = Vec::new();
        for seed in seeds.iter() {
            let sql = seed.sql(self.backend());
            let outcome = async {
                let mut tx = self.begin().await?;
                match &mut tx.inner {
                    #[cfg(feature = "sqlite")]
                    crate::tx::TxInner::Sqlite(tx) => {
                        sqlx::raw_sql(sql).execute(&mut **tx).await.map(drop)
                    }
                    #[cfg(feature = "postgres")]
                    crate::tx::TxInner::Postgres(tx) => {
                        sqlx::raw_sql(sql).execute(&mut **tx).await.map(drop)
                    }
                    #[cfg(feature = "mysql")]
                    crate::tx::TxInner::MySql(tx) => {
                        sqlx::raw_sql(sql).execute(&mut **tx).await.map(drop)
                    }
                }
                .map_err(|e| sqlx_error(self, e))?;
                tx.commit().await
            }
            .await;
            if let Err(e) = outcome {
                return Err(DataError::Migration {
                    version: None,
                    message: format!(
                        "seed `{}` failed: {e}; its transaction was rolled back{}; hint: fix `seeds/{}.sql` and run `cortex db seed` again",
                        seed.name,
                        if done.is_empty() {
                            String::new()
                        } else {
                            format!(" (the seeds before it, {}, stay inserted)", done.join(", "))
                        },
                        seed.name
                    ),
                });
            }
            tracing::info!(target: "cortex::data", "ran seed {}", seed.name);
            done.push(seed.name);
        }
        Ok(done)
    }

    /// The error for a failed migration operation, saying which migration and what to do.
    async fn explain(&self, migrations: &Migrations, failure: Failure, doing: &str) -> DataError {
        let error = match failure {
            Failure::Data(e) => return e,
            Failure::Migrate(e) => e,
        };
        let backend = self.backend();
        match error {
            MigrateError::ExecuteMigration(e, version) => {
                let label = migrations.label(version);
                let message = if doing == "applying" && !backend.transactional_ddl() {
                    let recorded = self.recorded_as_failed(version).await;
                    format!(
                        "migration {label} failed on {backend}: {e}; {backend} commits DDL statements as they run, so the statements before the failing one may have been applied{}; hint: check the schema and undo what was applied by hand, fix the migration, then {}run `cortex db migrate` again",
                        if recorded {
                            format!(" (the migration is recorded as failed in `{TABLE}`)")
                        } else {
                            String::new()
                        },
                        if recorded {
                            format!(
                                "delete its row (`DELETE FROM {TABLE} WHERE version = {version}`) and "
                            )
                        } else {
                            String::new()
                        }
                    )
                } else if outside_tx(migrations, version, backend, doing == "applying") {
                    format!(
                        "migration {label} failed while {doing} it on {backend}: {e}; it ran outside a transaction (`-- no-transaction`), so the statements before the failing one may have been applied; hint: check the schema and undo what was applied by hand, fix the migration, then run the command again"
                    )
                } else {
                    format!(
                        "migration {label} failed while {doing} it on {backend}: {e}; nothing of it was applied (it ran in a transaction){}; hint: fix its SQL and run the command again",
                        if doing == "applying" {
                            " and it is still pending"
                        } else {
                            " and it is still applied"
                        }
                    )
                };
                DataError::Migration {
                    version: Some(version),
                    message,
                }
            }
            MigrateError::VersionMismatch(version) => DataError::Migration {
                version: Some(version),
                message: format!(
                    "migration {} was changed after it was applied to {} (its checksum differs from the one in `{TABLE}`); nothing was run; hint: restore the file as it was applied and put the change in a new migration (`cortex db create NAME`)",
                    migrations.label(version),
                    self.url()
                ),
            },
            MigrateError::VersionMissing(version) => DataError::Migration {
                version: Some(version),
                message: format!(
                    "migration {version} was applied to {} but the app has no such migration; nothing was run; hint: restore its files in the migrations folder, or, if it was removed on purpose, delete its row from `{TABLE}`",
                    self.url()
                ),
            },
            MigrateError::Dirty(version) => DataError::Migration {
                version: Some(version),
                message: format!(
                    "migration {} failed partway in an earlier run and is recorded as failed in `{TABLE}` ({backend} commits DDL as it runs); nothing was run; hint: undo what it applied by hand, delete its row (`DELETE FROM {TABLE} WHERE version = {version}`), then run `cortex db migrate` again",
                    migrations.label(version)
                ),
            },
            MigrateError::Execute(e) => sqlx_error(self, e),
            other => DataError::Migration {
                version: None,
                message: format!("{doing} the migrations failed: {other}"),
            },
        }
    }

    /// Whether the migrations table has `version` recorded as failed (MySQL/MariaDB, after a
    /// failure): `false` when it cannot tell.
    async fn recorded_as_failed(&self, version: i64) -> bool {
        match self.pool() {
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM _sqlx_migrations WHERE version = ? AND success = FALSE",
            )
            .bind(version)
            .fetch_one(pool)
            .await
            .is_ok_and(|n| n > 0),
            #[allow(unreachable_patterns)]
            _ => {
                let _ = version;
                false
            }
        }
    }
}

/// The migrations of `versions`, with their names.
fn ran(migrations: &Migrations, versions: &[i64]) -> Vec<Ran> {
    versions
        .iter()
        .map(|v| Ran {
            version: *v,
            name: migrations
                .get(*v)
                .map(|m| m.name.to_string())
                .unwrap_or_default(),
        })
        .collect()
}
