//! Configuration errors: each names the file or variable, the key and what was expected, on one
//! line ending with a hint, and none ever contains a configuration value.

use std::fmt;
use std::path::PathBuf;

use super::Origin;
use super::env::key_to_env_var;

/// Everything that can go wrong loading or reading the configuration.
///
/// Messages are one line, name where the problem is (file, line, key, variable) and end with a
/// hint. They never contain a configuration value — only its kind ("a string") — because values
/// may be secrets.
///
/// ```
/// use cortex_core::config::{Config, ConfigError, Origin};
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("cortex.toml"), "[database]\npassword = 'hunter2'\npool_size = 'ten'")?;
/// let config = Config::builder().dir(dir.path()).env_vars::<_, &str, &str>([]).load()?;
///
/// let err = config.get::<u32>("database.pool_size").unwrap_err();
/// let ConfigError::Invalid { key, origin, expected, found } = &err else { panic!() };
/// assert_eq!(key, "database.pool_size");
/// assert_eq!(origin, &Some(Origin::File(dir.path().join("cortex.toml"))));
/// assert_eq!((expected.as_str(), *found), ("u32", "a string"));
/// let file = dir.path().join("cortex.toml");
/// assert_eq!(
///     err.to_string(),
///     format!(
///         "config key `database.pool_size` (set by {0}) has an invalid value: expected u32, \
///          found a string; hint: fix `database.pool_size` in {0}",
///         file.display()
///     )
/// );
///
/// let err = config.get::<u32>("database.password").unwrap_err();
/// assert!(!err.to_string().contains("hunter2"));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A configuration file exists but cannot be read (permissions, a directory, not UTF-8).
    #[error("cannot read config file {}: {source}; hint: make it a readable UTF-8 file, or remove it", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A TOML (or `.env`) file is not valid syntax. The offending line is never shown: it may
    /// hold a secret.
    #[error("invalid syntax in {file}{}: {message}; hint: fix the syntax there (the line is not shown because it may hold a secret)", Position(*line, *column))]
    Parse {
        /// The file (or `defaults`).
        file: String,
        /// The line, from 1, when known.
        line: Option<usize>,
        /// The column, from 1, when known.
        column: Option<usize>,
        /// What the parser said, without the source text.
        message: String,
    },

    /// A required key is absent.
    #[error("config key `{key}`{} is missing; hint: set `{key}` in cortex.toml (or cortex.<profile>.toml), or set the environment variable {}", Expected(expected.as_deref()), key_to_env_var(key))]
    Missing {
        /// The dotted key, for example `database.url`.
        key: String,
        /// The type that was to be read there, when known.
        expected: Option<String>,
    },

    /// A value has the wrong type or is out of range.
    #[error("config key `{key}`{} has an invalid value: expected {expected}, found {found}; hint: {}", SetBy(origin.as_ref()), Hint(key, origin.as_ref()))]
    Invalid {
        /// The dotted key, for example `server.port`.
        key: String,
        /// The layer that set the value.
        origin: Option<Origin>,
        /// What the type wanted ("u16", "a string", "one of `a`, `b`").
        expected: String,
        /// The kind of value found ("a string", "an integer", …) — never the value.
        found: &'static str,
    },

    /// A key the target type does not know (the type denies unknown fields).
    #[error("config key `{key}`{} is not recognised: expected {expected}; hint: check its spelling, or remove it", SetBy(origin.as_ref()))]
    Unknown {
        /// The dotted key.
        key: String,
        /// The layer that set it.
        origin: Option<Origin>,
        /// The keys that are allowed there.
        expected: String,
    },

    /// The profile name (from `CORTEX_PROFILE` or [`ConfigBuilder::profile`](super::ConfigBuilder::profile))
    /// is not usable.
    #[error("invalid profile {name:?}: {problem}")]
    BadProfile {
        /// The name as given.
        name: String,
        /// What is wrong with it, and a hint.
        problem: String,
    },

    /// A `CORTEX_*` environment variable cannot be turned into a configuration key.
    #[error("environment variable {var} {problem}")]
    BadEnv {
        /// The variable's name.
        var: String,
        /// What is wrong with it, and a hint.
        problem: String,
    },

    /// `server.host` and `server.port` do not make an address to listen on.
    #[error(
        "cannot listen on {host}:{port}: {problem}; hint: set `server.host` (or CORTEX_HOST) to an IP address such as 127.0.0.1, 0.0.0.0 or ::1"
    )]
    Address {
        /// The host as configured.
        host: String,
        /// The port as configured.
        port: u16,
        /// Why it does not work.
        problem: String,
    },
}

struct Position(Option<usize>, Option<usize>);

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(line), Some(column)) => write!(f, " at line {line}, column {column}"),
            (Some(line), None) => write!(f, " at line {line}"),
            _ => Ok(()),
        }
    }
}

struct Expected<'a>(Option<&'a str>);

impl fmt::Display for Expected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ty) => write!(f, " (expected {ty})"),
            None => Ok(()),
        }
    }
}

struct SetBy<'a>(Option<&'a Origin>);

impl fmt::Display for SetBy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(origin) => write!(f, " (set by {origin})"),
            None => Ok(()),
        }
    }
}

struct Hint<'a>(&'a str, Option<&'a Origin>);

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(origin) => f.write_str(&origin.fix_hint(self.0)),
            None => write!(
                f,
                "set `{}` in cortex.toml or {}",
                self.0,
                key_to_env_var(self.0)
            ),
        }
    }
}

impl ConfigError {
    /// The dotted configuration key the error is about, if it is about one.
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// let config = Config::from_toml("")?;
    /// let err = config.get::<String>("mail.host").unwrap_err();
    /// assert_eq!(err.key(), Some("mail.host"));
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Missing { key, .. }
            | ConfigError::Invalid { key, .. }
            | ConfigError::Unknown { key, .. } => Some(key),
            _ => None,
        }
    }
}
