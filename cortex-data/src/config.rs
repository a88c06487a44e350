//! The `[database]` section.

use std::time::Duration;

use cortex_core::config::units;
use serde::Deserialize;

/// The environment variable that sets the database URL, as Rails, Prisma, sqlx and Heroku read
/// it. It overrides `[database] url` from the files; `CORTEX_DATABASE__URL` overrides both.
pub const DATABASE_URL: &str = "DATABASE_URL";

/// When the app applies its migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrateOn {
    /// At start, before the server binds (`OnStart`): the default, right for SQLite and `dev`.
    #[default]
    OnStart,
    /// Never by itself: run `cortex db migrate` (a task of the app's binary) when deploying.
    Manual,
}

/// The `[database]` section of `cortex.toml`. Every key has a default; a key the section does not
/// know, or a value it cannot read, stops the start with the key's name.
///
/// ```toml
/// [database]
/// url = "postgres://app:secret@127.0.0.1:5432/app"   # or DATABASE_URL
/// max_connections = 10
/// min_connections = 0
/// acquire_timeout = "5s"     # waiting for a free connection; then 503 with Retry-After
/// connect_timeout = "5s"     # the ping at start
/// idle_timeout = "10m"
/// max_lifetime = "30m"
/// migrate = "on_start"       # or "manual"
/// slow_query = "500ms"       # statements slower than this are logged with their duration
/// busy_timeout = "5s"        # SQLite only: how long a writer waits for the lock
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// The database URL: `sqlite://file.db`, `sqlite::memory:`, `postgres://…`, `mysql://…`
    /// (or `mariadb://…`).
    pub url: String,
    /// The most connections the pool opens.
    pub max_connections: u32,
    /// The connections the pool keeps open when idle.
    pub min_connections: u32,
    /// How long a query waits for a free connection before failing (503).
    #[serde(deserialize_with = "units::de::positive_duration")]
    pub acquire_timeout: Duration,
    /// How long the ping at start waits for the database.
    #[serde(deserialize_with = "units::de::positive_duration")]
    pub connect_timeout: Duration,
    /// How long an idle connection is kept; `"0s"` keeps them.
    #[serde(deserialize_with = "units::de::duration")]
    pub idle_timeout: Duration,
    /// How long a connection lives at most; `"0s"` for no limit.
    #[serde(deserialize_with = "units::de::duration")]
    pub max_lifetime: Duration,
    /// When migrations run.
    pub migrate: MigrateOn,
    /// Statements slower than this are logged (warn) with their duration.
    #[serde(deserialize_with = "units::de::duration")]
    pub slow_query: Duration,
    /// SQLite only: how long a statement waits for a lock held by another connection.
    #[serde(deserialize_with = "units::de::duration")]
    pub busy_timeout: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://cortex.db".to_string(),
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(1800),
            migrate: MigrateOn::OnStart,
            slow_query: Duration::from_millis(500),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// A database URL with its password replaced by `***`, for logs and error messages.
///
/// ```
/// use cortex_data::config::mask_url;
///
/// assert_eq!(mask_url("postgres://app:s3cret@db:5432/app"), "postgres://app:***@db:5432/app");
/// assert_eq!(mask_url("sqlite://app.db"), "sqlite://app.db");
/// assert_eq!(mask_url("mysql://root@localhost/test"), "mysql://root@localhost/test");
/// ```
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The authority ends at the first '/', '?' or '#'; the userinfo at its last '@'.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let (userinfo, host) = authority.split_at(at);
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{host}{tail}"),
        None => url.to_string(),
    }
}
