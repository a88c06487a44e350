//! Opening each backend's pool from the `[database]` settings.

#[cfg(feature = "sqlite")]
use std::str::FromStr;

use crate::backend::Backend;
use crate::config::DatabaseConfig;
use crate::config::mask_url;
use crate::db::Pool;
use crate::error::DataError;

fn pool_options<DB: sqlx::Database>(config: &DatabaseConfig) -> sqlx::pool::PoolOptions<DB> {
    let nonzero = |d: std::time::Duration| (!d.is_zero()).then_some(d);
    sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(config.max_connections)
        .min_connections(config.min_connections)
        .acquire_timeout(config.acquire_timeout)
        .idle_timeout(nonzero(config.idle_timeout))
        .max_lifetime(nonzero(config.max_lifetime))
}

fn bad_url(url: &str, error: sqlx::Error) -> DataError {
    DataError::Config {
        message: format!(
            "`database.url`: cannot read the database URL `{url}`: {error}; hint: check `[database] url` (or DATABASE_URL, CORTEX_DATABASE__URL)"
        ),
    }
}

/// The backend `url` names, checked: its scheme names a database, this build has its feature,
/// and its driver can read it. The errors name `database.url` and say the fix.
pub(crate) fn check_url(url: &str) -> Result<Backend, DataError> {
    let masked = mask_url(url);
    let backend = Backend::from_url(url).ok_or_else(|| DataError::Config {
        message: format!(
            "`database.url`: `{masked}` names no database Cortex knows; hint: start the URL with sqlite:, postgres: or mysql: (mariadb:)"
        ),
    })?;
    // Parsing the options is what opening the pool does first; nothing connects.
    let parsed: Result<(), sqlx::Error> = match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => sqlx::sqlite::SqliteConnectOptions::from_str(url).map(drop),
        #[cfg(feature = "postgres")]
        Backend::Postgres => url.parse::<sqlx::postgres::PgConnectOptions>().map(drop),
        #[cfg(feature = "mysql")]
        Backend::MySql => mysql_url(url)
            .parse::<sqlx::mysql::MySqlConnectOptions>()
            .map(drop),
        // A backend this build was compiled without.
        #[allow(unreachable_patterns)]
        other => return Err(not_compiled(other, &masked)),
    };
    parsed.map_err(|e| bad_url(&masked, e))?;
    Ok(backend)
}

/// `mariadb:` URLs as the MySQL driver reads them.
#[cfg(feature = "mysql")]
fn mysql_url(url: &str) -> String {
    match url.get(..8) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mariadb:") => format!("mysql:{}", &url[8..]),
        _ => url.to_string(),
    }
}

/// Whether `url` names an in-memory SQLite database (`sqlite::memory:`, `sqlite://:memory:`,
/// `?mode=memory`).
#[cfg(feature = "sqlite")]
fn is_sqlite_memory(url: &str) -> bool {
    let url = url.to_ascii_lowercase();
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The level sqlx logs statements slower than `[database] slow_query` at: off when it is zero.
fn slow_level(slow: std::time::Duration) -> log::LevelFilter {
    if slow.is_zero() {
        log::LevelFilter::Off
    } else {
        log::LevelFilter::Warn
    }
}

/// Opens `backend`'s pool without connecting. `masked` is the URL for messages.
pub(crate) fn open_lazy(
    backend: Backend,
    config: &DatabaseConfig,
    masked: &str,
) -> Result<Pool, DataError> {
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    use sqlx::ConnectOptions as _;
    let slow = config.slow_query;
    match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => {
            use sqlx::ConnectOptions as _;
            use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
            let options = SqliteConnectOptions::from_str(&config.url)
                .map_err(|e| bad_url(masked, e))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(config.busy_timeout)
                .log_slow_statements(slow_level(slow), slow);
            let mut pool = pool_options::<sqlx::Sqlite>(config);
            if is_sqlite_memory(&config.url) {
                // An in-memory database lives as long as one of its connections: the pool keeps
                // them (no idle timeout, no lifetime).
                pool = pool.idle_timeout(None).max_lifetime(None);
            }
            Ok(Pool::Sqlite(pool.connect_lazy_with(options)))
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let options = config
                .url
                .parse::<sqlx::postgres::PgConnectOptions>()
                .map_err(|e| bad_url(masked, e))?
                .log_slow_statements(slow_level(slow), slow);
            Ok(Pool::Postgres(
                pool_options::<sqlx::Postgres>(config).connect_lazy_with(options),
            ))
        }
        #[cfg(feature = "mysql")]
        Backend::MySql => {
            let options = mysql_url(&config.url)
                .parse::<sqlx::mysql::MySqlConnectOptions>()
                .map_err(|e| bad_url(masked, e))?
                .log_slow_statements(slow_level(slow), slow);
            Ok(Pool::MySql(
                pool_options::<sqlx::MySql>(config).connect_lazy_with(options),
            ))
        }
        #[allow(unreachable_patterns)]
        other => Err(not_compiled(other, masked)),
    }
}

/// The error for a URL of a backend this build was compiled without.
#[allow(dead_code)] // unreachable when every backend is compiled in
fn not_compiled(backend: Backend, masked: &str) -> DataError {
    DataError::Config {
        message: format!(
            "`database.url`: `{masked}` is a {backend} URL, but this app was built without {backend} support; hint: turn on the `{}` feature of `cortex` in Cargo.toml",
            backend.feature()
        ),
    }
}
