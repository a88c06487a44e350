//! The `[log]` section.

use std::collections::BTreeMap;

use serde::Deserialize;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{Directive, LevelFilter};

use crate::config::{Config, ConfigError, Profile};

/// The `[log]` section: the level, per-target levels and the output format.
///
/// ```toml
/// [log]
/// level = "info"            # trace, debug, info (default), warn, error or off
/// format = "json"           # "text" or "json"; default text in dev and test, json in prod
///
/// [log.targets]             # a level per target (a module path prefix)
/// sqlx = "warn"
/// "cortex_core::http" = "debug"
/// ```
///
/// `CORTEX_LOG` (else `RUST_LOG`), when set, replaces `level` and `targets` entirely with its
/// filter (`CORTEX_LOG=info,sqlx=warn`); `CORTEX_LOG_FORMAT` is short for `log.format`.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_core::logging::{LogConfig, LogFormat};
///
/// let config = Config::from_toml("[log]\nlevel = 'warn'\nformat = 'json'\n[log.targets]\nsqlx = 'error'")?;
/// let log = LogConfig::from_config(&config)?;
/// assert_eq!((log.level.as_str(), log.format), ("warn", LogFormat::Json));
/// assert_eq!(log.directives(), "warn,sqlx=error");
///
/// let err = LogConfig::from_config(&Config::from_toml("[log]\nlevel = 'loud'")?).unwrap_err();
/// assert_eq!(err.key(), Some("log.level"));
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogConfig {
    /// The level of every target not named in `targets`. Default `info`.
    pub level: String,
    /// A level per target: a module path or a prefix of one (`sqlx`, `cortex_core::http`).
    pub targets: BTreeMap<String, String>,
    /// How lines are written.
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogFormat {
    /// One human-readable line per event (coloured on a terminal unless `NO_COLOR` is set).
    Text,
    /// One JSON object per line, with the current span and the span list.
    Json,
}

/// `[log]` as written: `format` absent means "by profile".
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawLogConfig {
    level: Option<String>,
    targets: BTreeMap<String, String>,
    format: Option<LogFormat>,
}

/// What `level` and each target accept.
const LEVELS: &str = "one of `trace`, `debug`, `info`, `warn`, `error`, `off`";

impl Default for LogConfig {
    /// `info`, no per-target levels, text.
    fn default() -> Self {
        LogConfig {
            level: crate::logging::DEFAULT_FILTER.to_string(),
            targets: BTreeMap::new(),
            format: LogFormat::Text,
        }
    }
}

impl LogConfig {
    /// The defaults for `profile`: `info`, and JSON in `prod`, text elsewhere.
    ///
    /// ```
    /// use cortex_core::config::Profile;
    /// use cortex_core::logging::{LogConfig, LogFormat};
    ///
    /// assert_eq!(LogConfig::for_profile(&Profile::PROD).format, LogFormat::Json);
    /// assert_eq!(LogConfig::for_profile(&Profile::DEV).format, LogFormat::Text);
    /// ```
    pub fn for_profile(profile: &Profile) -> Self {
        LogConfig {
            format: if profile.is_prod() {
                LogFormat::Json
            } else {
                LogFormat::Text
            },
            ..LogConfig::default()
        }
    }

    /// Reads `[log]` (the defaults for the configuration's profile when it is absent) and checks
    /// every level; an error names the key and the accepted values.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let raw: RawLogConfig = config.get_or_default("log")?;
        let defaults = LogConfig::for_profile(config.profile());
        let invalid = |key: String| ConfigError::Invalid {
            origin: config.origin(&key).cloned(),
            key,
            expected: LEVELS.to_string(),
            found: "a string",
        };
        let level = raw.level.unwrap_or(defaults.level);
        if level.parse::<LevelFilter>().is_err() {
            return Err(invalid("log.level".to_string()));
        }
        for (target, target_level) in &raw.targets {
            let key = format!("log.targets.{target}");
            if target_level.parse::<LevelFilter>().is_err() {
                return Err(invalid(key));
            }
            if format!("{target}={target_level}")
                .parse::<Directive>()
                .is_err()
            {
                return Err(ConfigError::Invalid {
                    origin: config.origin(&key).cloned(),
                    key,
                    expected: "a target: a module path such as `sqlx` or `my_app::db`".to_string(),
                    found: "a string",
                });
            }
        }
        Ok(LogConfig {
            level,
            targets: raw.targets,
            format: raw.format.unwrap_or(defaults.format),
        })
    }

    /// The filter `level` and `targets` make, in `CORTEX_LOG` syntax: `warn,sqlx=error`.
    pub fn directives(&self) -> String {
        let mut directives = self.level.clone();
        for (target, level) in &self.targets {
            directives.push_str(&format!(",{target}={level}"));
        }
        directives
    }

    /// The filter: `env_override` (the value of `CORTEX_LOG` or `RUST_LOG`) when it is set and
    /// valid, else [`directives`](Self::directives). An invalid override is reported on stderr
    /// (the logger is not installed yet) and ignored.
    pub(crate) fn filter(&self, env_override: Option<(&str, String)>) -> EnvFilter {
        if let Some((var, spec)) = env_override {
            match EnvFilter::try_new(&spec) {
                Ok(filter) => return filter,
                Err(e) => eprintln!(
                    "warning: ignoring {var}={spec:?}: {e}; using `[log]` from the configuration ({}); hint: write a filter such as `info,sqlx=warn`",
                    self.directives()
                ),
            }
        }
        // Checked by `from_config`; a hand-built value that does not parse falls back to `info`.
        EnvFilter::try_new(self.directives())
            .unwrap_or_else(|_| EnvFilter::new(crate::logging::DEFAULT_FILTER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(toml: &str) -> Result<LogConfig, ConfigError> {
        LogConfig::from_config(&Config::from_toml(toml).unwrap())
    }

    #[test]
    fn an_absent_section_gives_info_and_text_outside_prod() {
        assert_eq!(read("").unwrap(), LogConfig::default());
    }

    #[test]
    fn prod_defaults_to_json_and_a_written_format_wins() {
        let prod = Config::builder()
            .profile(Profile::PROD)
            .env_vars::<_, &str, &str>([])
            .dir(tempfile::tempdir().unwrap().path())
            .load()
            .unwrap();
        assert_eq!(
            LogConfig::from_config(&prod).unwrap().format,
            LogFormat::Json
        );
        assert_eq!(
            read("[log]\nformat = 'text'").unwrap().format,
            LogFormat::Text
        );
        assert_eq!(
            read("[log]\nformat = 'json'").unwrap().format,
            LogFormat::Json
        );
    }

    #[test]
    fn targets_become_directives_after_the_level() {
        let log = read(
            "[log]\nlevel = 'debug'\n[log.targets]\nsqlx = 'warn'\n'cortex_core::http' = 'trace'",
        )
        .unwrap();
        assert_eq!(log.directives(), "debug,cortex_core::http=trace,sqlx=warn");
    }

    #[test]
    fn an_invalid_level_names_the_key_and_the_accepted_levels() {
        let err = read("[log]\nlevel = 'loud'").unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("config key `log.level`"), "{message}");
        assert!(
            message.contains(
                "expected one of `trace`, `debug`, `info`, `warn`, `error`, `off`, found a string"
            ),
            "{message}"
        );

        let err = read("[log.targets]\nsqlx = 'chatty'").unwrap_err();
        assert_eq!(err.key(), Some("log.targets.sqlx"));
        assert!(err.to_string().contains("expected one of `trace`"), "{err}");
    }

    #[test]
    fn an_invalid_format_or_an_unknown_key_is_a_config_error() {
        let err = read("[log]\nformat = 'yaml'").unwrap_err();
        assert_eq!(err.key(), Some("log.format"), "{err}");
        assert!(
            err.to_string().contains("`text`") && err.to_string().contains("`json`"),
            "{err}"
        );

        let err = read("[log]\nlevels = 'info'").unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("config key `log.levels`"), "{message}");
        assert!(
            message.contains("is not recognised: expected one of `level`, `targets`, `format`"),
            "{message}"
        );
    }

    #[test]
    fn an_env_override_replaces_level_and_targets() {
        let log = read("[log]\nlevel = 'warn'\n[log.targets]\nsqlx = 'error'").unwrap();
        assert_eq!(log.filter(None).to_string(), "sqlx=error,warn");
        let overridden = log.filter(Some(("CORTEX_LOG", "debug".to_string())));
        assert_eq!(overridden.to_string(), "debug");
        let ignored = log.filter(Some(("CORTEX_LOG", "info,=[".to_string())));
        assert_eq!(ignored.to_string(), "sqlx=error,warn");
    }
}
