//! Where a configuration value came from.

use std::fmt;
use std::path::PathBuf;

/// The layer that set a configuration value, named in error messages and in
/// [`Config::to_toml_redacted`](super::Config::to_toml_redacted).
///
/// ```
/// use cortex_core::config::{Config, Origin};
///
/// let config = Config::builder()
///     .defaults("[server]\nport = 3000")
///     .env_vars([("CORTEX_SERVER__PORT", "8080")])
///     .dir(tempfile::tempdir()?.path())
///     .load()?;
/// let origin = config.origin("server.port").unwrap();
/// assert_eq!(origin, &Origin::Env { var: "CORTEX_SERVER__PORT".into() });
/// assert_eq!(origin.to_string(), "environment variable CORTEX_SERVER__PORT");
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The defaults the application supplied ([`ConfigBuilder::defaults`](super::ConfigBuilder::defaults)).
    Defaults,
    /// A TOML file: `cortex.toml`, `cortex.{profile}.toml` or one added with
    /// [`ConfigBuilder::file`](super::ConfigBuilder::file).
    File(PathBuf),
    /// A `CORTEX_*` variable read from a `.env` file.
    DotEnv {
        /// The `.env` file.
        path: PathBuf,
        /// The variable's name.
        var: String,
    },
    /// A `CORTEX_*` environment variable.
    Env {
        /// The variable's name.
        var: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Defaults => f.write_str("defaults"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::DotEnv { path, var } => write!(f, "{var} in {}", path.display()),
            Origin::Env { var } => write!(f, "environment variable {var}"),
        }
    }
}

impl Origin {
    /// How to change a value set by this origin, for hints.
    pub(super) fn fix_hint(&self, key: &str) -> String {
        match self {
            Origin::Defaults => format!(
                "the application's built-in default for `{key}` is wrong; override `{key}` in cortex.toml"
            ),
            Origin::File(path) => format!("fix `{key}` in {}", path.display()),
            Origin::DotEnv { path, var } => format!("fix or remove {var} in {}", path.display()),
            Origin::Env { var } => format!("fix or unset the environment variable {var}"),
        }
    }
}
