//! Loading: the layers, in order, into one [`Config`].

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::env::{CONFIG_DIR_VAR, EnvKey, PREFIX, PROFILE_VAR, env_var_to_key, parse_env_value};
use super::tree::{Layers, kind, line_col, parse_toml};
use super::{Config, ConfigError, Inner, Origin, Profile};

/// Builds a [`Config`] from files, variables and defaults; made by [`Config::builder`].
///
/// The layers, lowest to highest (a higher layer's value wins; tables merge key by key):
///
/// 1. the [`defaults`](Self::defaults) the application supplies;
/// 2. `cortex.toml` in the [directory](Self::dir) (optional);
/// 3. `cortex.{profile}.toml` (optional for `dev`, `test` and `prod`, required for other profiles);
/// 4. each [`file`](Self::file) added, in order (required);
/// 5. the `CORTEX_*` variables in `.env`, read in the `dev` profile only unless
///    [`dotenv`](Self::dotenv) says otherwise; the process environment is never modified;
/// 6. the `CORTEX_*` environment variables.
///
/// ```
/// use cortex_core::config::{Config, Profile};
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("cortex.toml"), "[server]\nport = 4000\nhost = '0.0.0.0'")?;
/// std::fs::write(dir.path().join("cortex.prod.toml"), "[server]\nport = 80")?;
///
/// let config = Config::builder()
///     .dir(dir.path())
///     .env_vars([("CORTEX_PROFILE", "prod"), ("CORTEX_HOST", "10.0.0.5")])
///     .load()?;
/// assert_eq!(config.profile(), &Profile::PROD);
/// assert_eq!(config.get::<u16>("server.port")?, 80);
/// assert_eq!(config.get::<String>("server.host")?, "10.0.0.5");
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
#[must_use = "call `.load()` to read the configuration"]
pub struct ConfigBuilder {
    dir: Option<PathBuf>,
    profile: Option<Profile>,
    env: Option<Vec<(OsString, OsString)>>,
    defaults: Vec<Defaults>,
    files: Vec<PathBuf>,
    dotenv: Option<bool>,
}

enum Defaults {
    Toml(String),
    Value(Value),
}

/// Shows variable names but never values, and how many defaults layers there are.
impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vars = self.env.as_ref().map(|vars| {
            vars.iter()
                .map(|(name, _)| name.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        });
        f.debug_struct("ConfigBuilder")
            .field("dir", &self.dir)
            .field("profile", &self.profile)
            .field("env_vars", &vars)
            .field("defaults", &self.defaults.len())
            .field("files", &self.files)
            .field("dotenv", &self.dotenv)
            .finish()
    }
}

impl ConfigBuilder {
    /// The directory holding `cortex.toml`, `cortex.{profile}.toml` and `.env`. Without it,
    /// `CORTEX_CONFIG_DIR` is used, else the current directory.
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("cortex.toml"), "name = 'blog'")?;
    /// let config = Config::builder().dir(dir.path()).env_vars::<_, &str, &str>([]).load()?;
    /// assert_eq!(config.get::<String>("name")?, "blog");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Sets the profile, instead of reading `CORTEX_PROFILE`.
    ///
    /// ```
    /// use cortex_core::config::{Config, Profile};
    /// let dir = tempfile::tempdir()?;
    /// let config = Config::builder().dir(dir.path()).profile(Profile::TEST).load()?;
    /// assert!(config.profile().is_test());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// Uses these variables instead of the process environment (for tests: nothing global is read
    /// or changed). `CORTEX_PROFILE` and `CORTEX_CONFIG_DIR` are read from them too.
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// let dir = tempfile::tempdir()?;
    /// let config = Config::builder()
    ///     .dir(dir.path())
    ///     .env_vars([("CORTEX_PORT", "9000"), ("HOME", "/root")])
    ///     .load()?;
    /// assert_eq!(config.server()?.port, 9000);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn env_vars<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<OsString>,
        V: Into<OsString>,
    {
        self.env = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Adds defaults written in TOML, the lowest layer (call it several times to stack several).
    /// A syntax error is reported by [`load`](Self::load), naming `defaults`.
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// let dir = tempfile::tempdir()?;
    /// let config = Config::builder()
    ///     .dir(dir.path())
    ///     .defaults("[mail]\nport = 587")
    ///     .env_vars([("CORTEX_MAIL__HOST", "smtp.example.com")])
    ///     .load()?;
    /// assert_eq!(config.get::<u16>("mail.port")?, 587);
    /// assert_eq!(config.get::<String>("mail.host")?, "smtp.example.com");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn defaults(mut self, toml: &str) -> Self {
        self.defaults.push(Defaults::Toml(toml.to_string()));
        self
    }

    /// Adds defaults given as a JSON value (a table), for example
    /// `serde_json::to_value(MySettings::default())`. Stacks with [`defaults`](Self::defaults) in
    /// call order.
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// let dir = tempfile::tempdir()?;
    /// let config = Config::builder()
    ///     .dir(dir.path())
    ///     .defaults_value(serde_json::json!({ "cache": { "ttl_secs": 60 } }))
    ///     .env_vars::<_, &str, &str>([])
    ///     .load()?;
    /// assert_eq!(config.get::<u64>("cache.ttl_secs")?, 60);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn defaults_value(mut self, value: Value) -> Self {
        self.defaults.push(Defaults::Value(value));
        self
    }

    /// Adds a TOML file after the profile's file (and before `.env` and the environment). Unlike
    /// `cortex.toml`, it must exist.
    ///
    /// ```
    /// use cortex_core::config::{Config, ConfigError};
    /// let dir = tempfile::tempdir()?;
    /// let err = Config::builder().dir(dir.path()).file(dir.path().join("extra.toml")).load().unwrap_err();
    /// assert!(matches!(err, ConfigError::Io { .. }));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn file(mut self, path: impl AsRef<Path>) -> Self {
        self.files.push(path.as_ref().to_path_buf());
        self
    }

    /// Whether to read `.env`: by default only in the `dev` profile.
    ///
    /// ```
    /// use cortex_core::config::{Config, Profile};
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join(".env"), "CORTEX_PORT=5000")?;
    /// let config = Config::builder().dir(dir.path()).profile(Profile::TEST).dotenv(true).load()?;
    /// assert_eq!(config.server()?.port, 5000);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn dotenv(mut self, read: bool) -> Self {
        self.dotenv = Some(read);
        self
    }

    /// Reads every layer and merges them. Fails on an unreadable file, a syntax error, a bad
    /// profile or a malformed `CORTEX_*` variable; a missing `cortex.toml` is not an error.
    ///
    /// ```
    /// use cortex_core::config::{Config, ConfigError};
    /// let dir = tempfile::tempdir()?;
    /// let err = Config::builder().dir(dir.path()).env_vars([("CORTEX_PROFILE", "prod!")]).load().unwrap_err();
    /// assert!(matches!(err, ConfigError::BadProfile { .. }));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(self) -> Result<Config, ConfigError> {
        let env = self.env.unwrap_or_else(|| std::env::vars_os().collect());
        let profile = match self.profile {
            Some(profile) => profile,
            None => profile_from(&env)?,
        };
        let dir = match self.dir {
            Some(dir) => dir,
            None => env
                .iter()
                .find(|(k, _)| k == CONFIG_DIR_VAR)
                .map(|(_, v)| PathBuf::from(v))
                .unwrap_or_default(),
        };
        let mut layers = Layers::default();
        let mut files = Vec::new();
        let mut env_vars = Vec::new();

        for defaults in self.defaults {
            let table = match defaults {
                Defaults::Toml(text) => parse_toml(&text, "defaults")?,
                Defaults::Value(Value::Object(map)) => map,
                Defaults::Value(other) => {
                    return Err(ConfigError::Parse {
                        file: "defaults".into(),
                        line: None,
                        column: None,
                        message: format!("the defaults must be a table, not {}", kind(&other)),
                    });
                }
            };
            layers.merge(table, &Origin::Defaults);
        }

        let base = dir.join("cortex.toml");
        if let Some(table) = read_toml(&base, false)? {
            layers.merge(table, &Origin::File(base.clone()));
            files.push(base);
        }
        let own = dir.join(profile.file_name());
        match read_toml(&own, false)? {
            Some(table) => {
                layers.merge(table, &Origin::File(own.clone()));
                files.push(own);
            }
            None if !profile.is_builtin() => {
                return Err(ConfigError::BadProfile {
                    name: profile.to_string(),
                    problem: format!(
                        "{} does not exist; hint: create it (it may be empty), or use `dev`, `test` or `prod`",
                        own.display()
                    ),
                });
            }
            None => {}
        }
        for file in self.files {
            let table = read_toml(&file, true)?.unwrap_or_default();
            layers.merge(table, &Origin::File(file.clone()));
            files.push(file);
        }

        if self.dotenv.unwrap_or_else(|| profile.is_dev()) {
            let path = dir.join(".env");
            if let Some(text) = read_text(&path, false)? {
                let vars = parse_dotenv(&text, &path)?;
                let origin = |var: &str| Origin::DotEnv {
                    path: path.clone(),
                    var: var.to_string(),
                };
                apply_env(
                    &mut layers,
                    vars.into_iter().map(|(k, v)| (k.into(), v.into())),
                    origin,
                    &mut env_vars,
                )
                .map_err(|e| match e {
                    ConfigError::BadEnv { var, problem } => ConfigError::BadEnv {
                        var: format!("{var} in {}", path.display()),
                        problem,
                    },
                    other => other,
                })?;
                files.push(path.clone());
            }
        }
        apply_env(
            &mut layers,
            env,
            |var| Origin::Env {
                var: var.to_string(),
            },
            &mut env_vars,
        )?;

        Ok(Config {
            inner: Arc::new(Inner {
                layers,
                profile,
                files,
                dir: Some(dir),
                env_vars,
            }),
        })
    }
}

/// The profile named by `CORTEX_PROFILE`; `dev` when unset or empty.
fn profile_from(env: &[(OsString, OsString)]) -> Result<Profile, ConfigError> {
    let Some((_, value)) = env.iter().rev().find(|(k, _)| k == PROFILE_VAR) else {
        return Ok(Profile::DEV);
    };
    match value.to_str() {
        Some("") => Ok(Profile::DEV),
        Some(name) => Profile::new(name),
        None => Err(ConfigError::BadProfile {
            name: value.to_string_lossy().into_owned(),
            problem: "CORTEX_PROFILE is not valid UTF-8; hint: use `dev`, `test`, `prod` or an ASCII name".into(),
        }),
    }
}

/// Reads a file; `None` when it does not exist and `required` is false.
fn read_text(path: &Path, required: bool) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !required => Ok(None),
        Err(source) => Err(ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn read_toml(path: &Path, required: bool) -> Result<Option<Map<String, Value>>, ConfigError> {
    match read_text(path, required)? {
        Some(text) => parse_toml(&text, &path.display().to_string()).map(Some),
        None => Ok(None),
    }
}

/// The variables in a `.env` file, in order, the first of each name kept (as dotenvy does).
/// Errors give the line, never its text.
fn parse_dotenv(text: &str, path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut vars: Vec<(String, String)> = Vec::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((name, value)) => {
                if !vars.iter().any(|(n, _)| *n == name) {
                    vars.push((name, value));
                }
            }
            Err(dotenvy::Error::LineParse(line, index)) => {
                // `line` is the logical line (several physical ones when a quote is left open);
                // point at the error when it is on the first physical line, else at the start.
                let (line, column) = match text.find(line.as_str()) {
                    Some(start) if line.get(..index).is_some_and(|head| !head.contains('\n')) => {
                        let (l, c) = line_col(text, start + index);
                        (Some(l), Some(c))
                    }
                    Some(start) => (Some(line_col(text, start).0), None),
                    None => (None, None),
                };
                return Err(ConfigError::Parse {
                    file: path.display().to_string(),
                    line,
                    column,
                    message: "cannot parse this line (an unclosed quote, or a name that is not `NAME=value`?)".into(),
                });
            }
            Err(dotenvy::Error::Io(source)) => {
                return Err(ConfigError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
            Err(other) => {
                return Err(ConfigError::Io {
                    path: path.to_path_buf(),
                    source: io::Error::other(other.to_string()),
                });
            }
        }
    }
    Ok(vars)
}

/// Sets the key of every `CORTEX_*` variable, adding each one's name to `applied`. Aliases
/// (`CORTEX_HOST`, `CORTEX_PORT`) go last, so they win over the long form; two other variables
/// naming one key, or one naming a key inside another's value, are an error.
fn apply_env(
    layers: &mut Layers,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    origin: impl Fn(&str) -> Origin,
    applied: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let mut keyed: Vec<(bool, String, Vec<String>, String)> = Vec::new();
    for (name, value) in vars {
        let Some(name) = name.to_str() else {
            let lossy = name.to_string_lossy();
            if lossy.starts_with(PREFIX) {
                return Err(ConfigError::BadEnv {
                    var: lossy.into_owned(),
                    problem: "has a name that is not valid UTF-8; hint: rename it".into(),
                });
            }
            continue;
        };
        let (path, alias) = match env_var_to_key(name) {
            Ok(EnvKey::Ignored) => continue,
            Ok(EnvKey::Key { path, alias }) => (path, alias),
            Err(problem) => {
                return Err(ConfigError::BadEnv {
                    var: name.to_string(),
                    problem,
                });
            }
        };
        let Some(value) = value.to_str() else {
            return Err(ConfigError::BadEnv {
                var: name.to_string(),
                problem: format!(
                    "is not valid UTF-8; hint: config values must be UTF-8 text ({name} sets `{}`)",
                    path.join(".")
                ),
            });
        };
        keyed.push((alias, name.to_string(), path, value.to_string()));
    }
    keyed.sort();
    for (i, (alias_a, a, path_a, _)) in keyed.iter().enumerate() {
        for (alias_b, b, path_b, _) in &keyed[i + 1..] {
            let same = path_a == path_b;
            if (same && alias_a == alias_b)
                || (!same && (path_b.starts_with(path_a) || path_a.starts_with(path_b)))
            {
                let (outer, inner) = if path_a.len() <= path_b.len() {
                    (a, b)
                } else {
                    (b, a)
                };
                let problem = if same {
                    format!(
                        "and {b} both set `{}`; hint: unset one of them",
                        path_a.join(".")
                    )
                } else {
                    let outer_key = if path_a.len() <= path_b.len() {
                        path_a
                    } else {
                        path_b
                    };
                    format!(
                        "sets `{}` to a value while {inner} sets a key inside it; hint: unset one of them",
                        outer_key.join(".")
                    )
                };
                return Err(ConfigError::BadEnv {
                    var: if same { a.clone() } else { outer.clone() },
                    problem,
                });
            }
        }
    }
    for (_, name, path, raw) in keyed {
        let (value, typed) = parse_env_value(&raw);
        layers.set(&path, value, &origin(&name));
        if typed {
            layers.raw.insert(path.join("."), raw);
        }
        applied.push(name);
    }
    Ok(())
}
