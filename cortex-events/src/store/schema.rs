//! The store's tables, created and migrated by the crate itself (versioned in
//! `cortex_events_schema`).

use std::time::Duration;

use cortex_data::sqlx::{self, AssertSqlSafe};
use cortex_data::{Backend, Db};

use super::{StoreError, on_pool};

/// The version of the store's tables this build creates (the last migration it ships).
///
/// ```
/// assert_eq!(cortex_events::store::SCHEMA_VERSION, 1);
/// ```
pub const SCHEMA_VERSION: i64 = 1;

/// One migration of the store's tables: its statements per dialect. Each statement is
/// idempotent (`IF NOT EXISTS`, an insert that ignores a duplicate), so that two instances
/// starting at once both succeed.
struct Migration {
    version: i64,
    sqlite: &'static [&'static str],
    postgres: &'static [&'static str],
    mysql: &'static [&'static str],
}

impl Migration {
    fn statements(&self, backend: Backend) -> &'static [&'static str] {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
            Backend::MySql => self.mysql,
        }
    }
}

const CREATE_VERSIONS: &str = "CREATE TABLE IF NOT EXISTS cortex_events_schema (version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)";

/// The migrations, in version order.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sqlite: &[
        "CREATE TABLE IF NOT EXISTS cortex_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id VARCHAR(36) NOT NULL UNIQUE,
            topic VARCHAR(255) NOT NULL,
            stream VARCHAR(255) NULL,
            version BIGINT NULL,
            occurred_at BIGINT NOT NULL,
            recorded_at BIGINT NOT NULL,
            metadata TEXT NOT NULL,
            payload TEXT NOT NULL,
            UNIQUE (stream, version))",
        "CREATE INDEX IF NOT EXISTS cortex_events_topic ON cortex_events (topic, seq)",
        "CREATE INDEX IF NOT EXISTS cortex_events_occurred ON cortex_events (occurred_at)",
        "CREATE TABLE IF NOT EXISTS cortex_events_snapshots (
            stream VARCHAR(255) NOT NULL PRIMARY KEY,
            version BIGINT NOT NULL,
            state TEXT NOT NULL,
            taken_at BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS cortex_outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id VARCHAR(36) NOT NULL UNIQUE,
            topic VARCHAR(255) NOT NULL,
            event_json TEXT NOT NULL,
            enqueued_at BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS cortex_outbox_lock (
            name VARCHAR(64) NOT NULL PRIMARY KEY,
            locked_at BIGINT NULL)",
        "INSERT INTO cortex_outbox_lock (name, locked_at) VALUES ('relay', NULL) ON CONFLICT (name) DO NOTHING",
        "CREATE TABLE IF NOT EXISTS cortex_dead_letters (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id VARCHAR(36) NOT NULL,
            handler VARCHAR(255) NOT NULL,
            topic VARCHAR(255) NOT NULL,
            event_json TEXT NOT NULL,
            error TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            failed_at BIGINT NOT NULL,
            UNIQUE (event_id, handler))",
        "CREATE INDEX IF NOT EXISTS cortex_dead_letters_handler ON cortex_dead_letters (handler, id)",
    ],
    postgres: &[
        "CREATE TABLE IF NOT EXISTS cortex_events (
            seq BIGSERIAL PRIMARY KEY,
            event_id VARCHAR(36) NOT NULL UNIQUE,
            topic VARCHAR(255) NOT NULL,
            stream VARCHAR(255) NULL,
            version BIGINT NULL,
            occurred_at BIGINT NOT NULL,
            recorded_at BIGINT NOT NULL,
            metadata TEXT NOT NULL,
            payload TEXT NOT NULL,
            UNIQUE (stream, version))",
        "CREATE INDEX IF NOT EXISTS cortex_events_topic ON cortex_events (topic, seq)",
        "CREATE INDEX IF NOT EXISTS cortex_events_occurred ON cortex_events (occurred_at)",
        "CREATE TABLE IF NOT EXISTS cortex_events_snapshots (
            stream VARCHAR(255) NOT NULL PRIMARY KEY,
            version BIGINT NOT NULL,
            state TEXT NOT NULL,
            taken_at BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS cortex_outbox (
            seq BIGSERIAL PRIMARY KEY,
            event_id VARCHAR(36) NOT NULL UNIQUE,
            topic VARCHAR(255) NOT NULL,
            event_json TEXT NOT NULL,
            enqueued_at BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS cortex_outbox_lock (
            name VARCHAR(64) NOT NULL PRIMARY KEY,
            locked_at BIGINT NULL)",
        "INSERT INTO cortex_outbox_lock (name, locked_at) VALUES ('relay', NULL) ON CONFLICT (name) DO NOTHING",
        "CREATE TABLE IF NOT EXISTS cortex_dead_letters (
            id BIGSERIAL PRIMARY KEY,
            event_id VARCHAR(36) NOT NULL,
            handler VARCHAR(255) NOT NULL,
            topic VARCHAR(255) NOT NULL,
            event_json TEXT NOT NULL,
            error TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            failed_at BIGINT NOT NULL,
            UNIQUE (event_id, handler))",
        "CREATE INDEX IF NOT EXISTS cortex_dead_letters_handler ON cortex_dead_letters (handler, id)",
    ],
    // MySQL's TEXT holds 64 KiB: payloads are LONGTEXT. Indexes are made with their table
    // (MySQL has no `CREATE INDEX IF NOT EXISTS`).
    mysql: &[
        "CREATE TABLE IF NOT EXISTS cortex_events (
            seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            event_id VARCHAR(36) NOT NULL,
            topic VARCHAR(255) NOT NULL,
            stream VARCHAR(255) NULL,
            version BIGINT NULL,
            occurred_at BIGINT NOT NULL,
            recorded_at BIGINT NOT NULL,
            metadata LONGTEXT NOT NULL,
            payload LONGTEXT NOT NULL,
            UNIQUE KEY cortex_events_event_id (event_id),
            UNIQUE KEY cortex_events_stream_version (stream, version),
            INDEX cortex_events_topic (topic, seq),
            INDEX cortex_events_occurred (occurred_at))",
        "CREATE TABLE IF NOT EXISTS cortex_events_snapshots (
            stream VARCHAR(255) NOT NULL PRIMARY KEY,
            version BIGINT NOT NULL,
            state LONGTEXT NOT NULL,
            taken_at BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS cortex_outbox (
            seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            event_id VARCHAR(36) NOT NULL,
            topic VARCHAR(255) NOT NULL,
            event_json LONGTEXT NOT NULL,
            enqueued_at BIGINT NOT NULL,
            UNIQUE KEY cortex_outbox_event_id (event_id))",
        "CREATE TABLE IF NOT EXISTS cortex_outbox_lock (
            name VARCHAR(64) NOT NULL PRIMARY KEY,
            locked_at BIGINT NULL)",
        "INSERT IGNORE INTO cortex_outbox_lock (name, locked_at) VALUES ('relay', NULL)",
        "CREATE TABLE IF NOT EXISTS cortex_dead_letters (
            id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            event_id VARCHAR(36) NOT NULL,
            handler VARCHAR(255) NOT NULL,
            topic VARCHAR(255) NOT NULL,
            event_json LONGTEXT NOT NULL,
            error TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            failed_at BIGINT NOT NULL,
            UNIQUE KEY cortex_dead_letters_letter (event_id, handler),
            INDEX cortex_dead_letters_handler (handler, id))",
    ],
}];

/// Creates or migrates the store's tables on `db` (the event store, snapshots, the outbox and
/// the dead letters) up to [`SCHEMA_VERSION`]; nothing runs when they are up to date. The
/// [`EventsPlugin`](crate::EventsPlugin) calls it when the app starts, each store before its
/// first statement.
///
/// ```
/// use cortex_data::{DatabaseConfig, Db};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
/// cortex_events::store::ensure_schema(&db).await?;
/// cortex_events::store::ensure_schema(&db).await?; // up to date: nothing to do
/// let tables: i64 = cortex_data::sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'cortex_%'")
///     .fetch_one(db.sqlite().unwrap()).await?;
/// assert_eq!(tables, 6);
/// # Ok(()) }
/// ```
///
/// # Errors
/// The database's error (unreachable, or a statement refused).
pub async fn ensure_schema(db: &Db) -> Result<(), StoreError> {
    match migrate(db).await {
        Ok(()) => Ok(()),
        // Another instance creating the same tables at the same moment can make PostgreSQL
        // refuse a `CREATE TABLE IF NOT EXISTS` (its catalog's unique index): once it is done,
        // the tables are there.
        Err(StoreError::Data(first)) if db.backend() == Backend::Postgres => {
            tracing::debug!(target: "cortex::events", error = %first, "creating the event store's tables collided; trying again");
            tokio::time::sleep(Duration::from_millis(200)).await;
            migrate(db).await
        }
        Err(other) => Err(other),
    }
}

async fn migrate(db: &Db) -> Result<(), StoreError> {
    on_pool!(db, |conn, backend| {
        sqlx::query(CREATE_VERSIONS).execute(&mut *conn).await?;
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM cortex_events_schema ORDER BY version")
                .fetch_all(&mut *conn)
                .await?;
        for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            for statement in migration.statements(backend) {
                sqlx::query(*statement).execute(&mut *conn).await?;
            }
            let record = match backend {
                Backend::MySql => {
                    "INSERT IGNORE INTO cortex_events_schema (version, applied_at) VALUES (?, ?)"
                }
                _ => {
                    "INSERT INTO cortex_events_schema (version, applied_at) VALUES (?, ?) ON CONFLICT (version) DO NOTHING"
                }
            };
            sqlx::query(AssertSqlSafe(super::sql(backend, record)))
                .bind(migration.version)
                .bind(super::micros(chrono::Utc::now()))
                .execute(&mut *conn)
                .await?;
            tracing::info!(target: "cortex::events", version = migration.version, backend = %backend, "the event store's tables migrated");
        }
    });
    Ok(())
}
