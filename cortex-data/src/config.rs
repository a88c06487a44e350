//! The `[database]` section.

use std::time::Duration;

use cortex_core::config::{Config, ConfigError, Origin, units};
use serde::Deserialize;

/// The environment variable that sets the database URL, as Rails, Prisma, sqlx and Heroku read
/// it. It overrides `[database] url` from the files; `CORTEX_DATABASE__URL` (the configuration's
/// own environment layer, from the process or `.env`) overrides both. It is read from the
/// process environment only (a `DATABASE_URL` line in `.env` is not: write
/// `CORTEX_DATABASE__URL` there).
pub const DATABASE_URL: &str = "DATABASE_URL";

/// The database URL of an app in the `test` profile whose configuration names none: an in-memory
/// SQLite database of its own (sqlx gives each pool opened on `sqlite::memory:` a database of its
/// own, shared by the pool's connections, and the pool keeps them open), so that an app's tests
/// never write `cortex.db` into its folder.
///
/// ```
/// use cortex_core::config::{Config, Profile};
/// use cortex_data::DatabaseConfig;
/// use cortex_data::config::TEST_PROFILE_URL;
///
/// let dir = tempfile::tempdir()?;
/// let test = Config::builder().dir(dir.path()).profile(Profile::TEST).env_vars::<_, &str, &str>([]).load()?;
/// let dev = Config::builder().dir(dir.path()).profile(Profile::DEV).env_vars::<_, &str, &str>([]).load()?;
/// assert_eq!(DatabaseConfig::from_config_with(&test, None)?.url, TEST_PROFILE_URL);
/// assert_eq!(DatabaseConfig::from_config_with(&dev, None)?.url, "sqlite://cortex.db");
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
pub const TEST_PROFILE_URL: &str = "sqlite::memory:";

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
    /// Statements slower than this are logged (warn, target `sqlx::query`) with their duration;
    /// `"0s"` turns the slow-statement log off.
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

impl DatabaseConfig {
    /// The `[database]` section of `config`, with the URL from the environment variable
    /// [`DATABASE_URL`] of the process when it is set (and not empty), except in the `test`
    /// profile, where it is not read (see [`testing`](crate::testing) for tests on a server) — what
    /// [`DataPlugin`](crate::DataPlugin) reads. See [`from_config_with`](Self::from_config_with)
    /// for the precedence.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key (`database.acquire_timeout`) when the section has a key
    /// it does not know or a value it cannot read.
    pub fn from_config(config: &Config) -> Result<DatabaseConfig, ConfigError> {
        let from_env = database_url_var(config, || std::env::var(DATABASE_URL).ok());
        Self::from_config_with(config, from_env.as_deref())
    }

    /// The `[database]` section of `config` (every key defaulted), its `url` chosen, from lowest
    /// to highest precedence, from:
    ///
    /// 1. the configuration files (`cortex.toml`, `cortex.{profile}.toml`), else the default
    ///    `sqlite://cortex.db` — in the `test` profile, [`TEST_PROFILE_URL`] (an in-memory
    ///    database of the app's own, so that tests write no `cortex.db`);
    /// 2. `database_url`, the value of [`DATABASE_URL`] (ignored when empty);
    /// 3. `CORTEX_DATABASE__URL`, from the environment or `.env` (the configuration's own
    ///    environment layer).
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// use cortex_data::DatabaseConfig;
    ///
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("cortex.toml"), "[database]\nurl = 'sqlite://files.db'")?;
    /// let files = Config::builder().dir(dir.path()).env_vars::<_, &str, &str>([]).load()?;
    /// let env = Config::builder()
    ///     .dir(dir.path())
    ///     .env_vars([("CORTEX_DATABASE__URL", "sqlite://cortex-env.db")])
    ///     .load()?;
    ///
    /// let read = |config, var| DatabaseConfig::from_config_with(config, var).map(|c| c.url);
    /// assert_eq!(read(&files, None)?, "sqlite://files.db");
    /// assert_eq!(read(&files, Some("sqlite://database-url.db"))?, "sqlite://database-url.db");
    /// assert_eq!(read(&env, Some("sqlite://database-url.db"))?, "sqlite://cortex-env.db");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`from_config`](Self::from_config).
    pub fn from_config_with(
        config: &Config,
        database_url: Option<&str>,
    ) -> Result<DatabaseConfig, ConfigError> {
        let mut section: DatabaseConfig = config.get_or_default("database")?;
        if config.profile().is_test() && !config.contains("database.url") {
            // Tests never write `cortex.db` into the crate's folder: each app gets its own
            // in-memory database (sqlx names every `sqlite::memory:` pool's database apart).
            section.url = TEST_PROFILE_URL.to_string();
        }
        let set_by_cortex_env = matches!(
            config.origin("database.url"),
            Some(Origin::Env { .. } | Origin::DotEnv { .. })
        );
        if let Some(url) = database_url.map(str::trim).filter(|u| !u.is_empty())
            && !set_by_cortex_env
        {
            section.url = url.to_string();
        }
        Ok(section)
    }
}

/// The value of [`DATABASE_URL`] to apply, read with `read`: none in the `test` profile, so that
/// tests never reach the database a developer's shell points at (the test kit's
/// `CORTEX_TEST_DATABASE_URL` picks a server for them).
fn database_url_var(config: &Config, read: impl FnOnce() -> Option<String>) -> Option<String> {
    if config.profile().is_test() {
        None
    } else {
        read()
    }
}

#[cfg(test)]
mod tests {
    use cortex_core::config::{Config, Profile};

    use super::*;

    fn config(profile: Profile) -> Config {
        Config::builder()
            .profile(profile)
            .dir(std::env::temp_dir().join("cortex-data-no-such-dir"))
            .env_vars::<_, &str, &str>([])
            .load()
            .unwrap()
    }

    #[test]
    fn database_url_is_read_outside_the_test_profile_only() {
        let url = || Some("postgres://shell@db/app".to_string());
        assert_eq!(database_url_var(&config(Profile::TEST), url), None);
        assert_eq!(
            database_url_var(&config(Profile::DEV), url).as_deref(),
            Some("postgres://shell@db/app")
        );
        let test = DatabaseConfig::from_config(&config(Profile::TEST)).unwrap();
        assert_eq!(test.url, TEST_PROFILE_URL);
    }
}
