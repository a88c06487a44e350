//! Opening each backend's pool from the `[database]` settings.

#[cfg(feature = "sqlite")]
use std::str::FromStr;

use crate::backend::Backend;
use crate::config::DatabaseConfig;
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
            "cannot read the database URL `{url}`: {error}; hint: check `[database] url` (or DATABASE_URL)"
        ),
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
                .log_slow_statements(log::LevelFilter::Warn, slow);
            Ok(Pool::Sqlite(
                pool_options::<sqlx::Sqlite>(config).connect_lazy_with(options),
            ))
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let options = config
                .url
                .parse::<sqlx::postgres::PgConnectOptions>()
                .map_err(|e| bad_url(masked, e))?
                .log_slow_statements(log::LevelFilter::Warn, slow);
            Ok(Pool::Postgres(
                pool_options::<sqlx::Postgres>(config).connect_lazy_with(options),
            ))
        }
        #[cfg(feature = "mysql")]
        Backend::MySql => {
            let url = config.url.replacen("mariadb:", "mysql:", 1);
            let options = url
                .parse::<sqlx::mysql::MySqlConnectOptions>()
                .map_err(|e| bad_url(masked, e))?
                .log_slow_statements(log::LevelFilter::Warn, slow);
            Ok(Pool::MySql(
                pool_options::<sqlx::MySql>(config).connect_lazy_with(options),
            ))
        }
        #[allow(unreachable_patterns)]
        other => Err(DataError::Config {
            message: format!(
                "this app was built without {other} support; hint: turn on the `{}` feature of `cortex`",
                other.feature()
            ),
        }),
    }
}
