//! Configuration: `cortex.toml`, per-profile files, `CORTEX_*` environment variables and `.env`.
//!
//! [`Config::load`] reads, lowest to highest precedence:
//!
//! 1. defaults the application supplies ([`ConfigBuilder::defaults`]);
//! 2. `cortex.toml`;
//! 3. `cortex.{profile}.toml`, the [`Profile`] coming from `CORTEX_PROFILE` (`dev` by default);
//! 4. `.env` (in `dev` only; read into memory, the process environment is left alone);
//! 5. `CORTEX_*` environment variables: `CORTEX_SERVER__PORT=8080` sets `server.port`, and
//!    `CORTEX_HOST` / `CORTEX_PORT` are short for `server.host` / `server.port`.
//!
//! Sections are read into `#[derive(Deserialize)]` types with [`Config::get`], bound into the
//! container with [`Config::section_provider`], and single values are injected with
//! `#[inject(config = "key")]` because [`Config`] is a [`cortex_di::ConfigSource`]. Errors name the
//! file or variable, the key and the expected type; values are never printed, and
//! [`Config::redacted`] / [`Config::to_toml_redacted`] mask secrets for display.
//!
//! ```
//! use cortex_core::config::Config;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Mail {
//!     host: String,
//!     #[serde(default = "default_port")]
//!     port: u16,
//! }
//! fn default_port() -> u16 { 587 }
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("cortex.toml"), "[mail]\nhost = 'localhost'")?;
//! let config = Config::builder()
//!     .dir(dir.path())
//!     .env_vars([("CORTEX_MAIL__HOST", "smtp.example.com")])
//!     .load()?;
//! let mail: Mail = config.get("mail")?;
//! assert_eq!((mail.host.as_str(), mail.port), ("smtp.example.com", 587));
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```
//!
//! The guide's "Configuration" chapter (`docs/src/configuration.md`) covers all of it.
//!
//! # Section types
//!
//! The type read from a `[section]` is named `<Section>Config` and lives next to the code that
//! uses it; nested tables follow the same rule (`[http.cors]` is `CorsConfig`):
//!
//! | section | type |
//! | --- | --- |
//! | `[server]` | [`ServerConfig`] (with `[server.tls]`: [`TlsConfig`]), read by [`Config::server`] |
//! | `[http]` | [`HttpConfig`](crate::http::middleware::HttpConfig), with `CorsConfig`, `RateLimitConfig`, … |
//! | `[openapi]` | [`OpenApiConfig`](crate::openapi::OpenApiConfig) |
//! | `[plugins]` | [`PluginsConfig`](crate::plugin::PluginsConfig) |
//!
//! Each has a `Default` that is the production setting, denies unknown keys, and reads durations,
//! sizes and IP networks with [`units`], which an application's own sections can use too.

mod builder;
mod env;
mod error;
mod origin;
mod profile;
mod secret;
mod server;
mod show;
mod tree;
mod typed;
pub mod units;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use cortex_di::{ConfigSource, Provider};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use builder::ConfigBuilder;
pub use env::RESERVED_ENV_VARS;
pub use error::ConfigError;
pub use origin::Origin;
pub use profile::Profile;
pub use secret::{MASK, is_secret_key};
pub use server::{ServerConfig, TlsConfig};

use tree::{Layers, lookup};

/// The resolved configuration: every layer merged, with where each value came from.
///
/// Cheap to clone (one reference count), `Send + Sync + 'static`, and a
/// [`cortex_di::ConfigSource`], so `ContainerBuilder::config(config.clone())` makes it what
/// `#[inject(config = "key")]` fields read. `Debug` prints it with secrets masked.
///
/// ```
/// use cortex_core::config::Config;
///
/// let config = Config::from_toml(r#"
///     [server]
///     port = 8080
///     [database]
///     url = "postgres://app:hunter2@db/app"
///     password = "hunter2"
/// "#)?;
/// assert_eq!(config.get::<u16>("server.port")?, 8080);
/// let shown = format!("{config:?}");
/// assert!(shown.contains("postgres://app:********@db/app"));
/// assert!(!shown.contains("hunter2"));
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Config {
    inner: Arc<Inner>,
}

struct Inner {
    layers: Layers,
    profile: Profile,
    files: Vec<PathBuf>,
    /// The directory searched for `cortex.toml`; `None` for [`Config::from_toml`].
    dir: Option<PathBuf>,
    /// The names of the `CORTEX_*` variables applied, in order.
    env_vars: Vec<String>,
}

impl Config {
    /// Loads the configuration of the current directory (or `CORTEX_CONFIG_DIR`) and the process
    /// environment: `Config::builder().load()`.
    ///
    /// ```no_run
    /// let config = cortex_core::config::Config::load()?;
    /// let addr = config.server()?.addr()?;
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn load() -> Result<Config, ConfigError> {
        Config::builder().load()
    }

    /// A builder, to choose the directory, profile, variables, defaults and extra files.
    ///
    /// ```
    /// use cortex_core::config::{Config, Profile};
    /// let dir = tempfile::tempdir()?;
    /// let config = Config::builder()
    ///     .dir(dir.path())
    ///     .profile(Profile::TEST)
    ///     .env_vars([("CORTEX_SERVER__PORT", "0")])
    ///     .load()?;
    /// assert_eq!(config.server()?.port, 0);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// A configuration holding just this TOML document (profile `dev`, no files, no
    /// environment), for tests and examples. Its values count as [`Origin::Defaults`].
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// let config = Config::from_toml("[cache]\nttl_secs = 60")?;
    /// assert_eq!(config.get::<u64>("cache.ttl_secs")?, 60);
    /// assert!(Config::from_toml("[cache").is_err());
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn from_toml(toml: &str) -> Result<Config, ConfigError> {
        let mut layers = Layers::default();
        layers.merge(tree::parse_toml(toml, "defaults")?, &Origin::Defaults);
        Ok(Config {
            inner: Arc::new(Inner {
                layers,
                profile: Profile::DEV,
                files: Vec::new(),
                dir: None,
                env_vars: Vec::new(),
            }),
        })
    }

    /// The active profile.
    ///
    /// ```
    /// use cortex_core::config::{Config, Profile};
    /// assert_eq!(Config::from_toml("")?.profile(), &Profile::DEV);
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn profile(&self) -> &Profile {
        &self.inner.profile
    }

    /// The files that were read, in order (`cortex.toml`, the profile's file, extra files, `.env`).
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("cortex.toml"), "")?;
    /// let config = Config::builder().dir(dir.path()).env_vars::<_, &str, &str>([]).load()?;
    /// assert_eq!(config.files(), [dir.path().join("cortex.toml")]);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn files(&self) -> &[PathBuf] {
        &self.inner.files
    }

    /// The directory searched for `cortex.toml`, `cortex.{profile}.toml` and `.env` (empty: the
    /// current directory); `None` for a configuration made by [`from_toml`](Self::from_toml).
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// let dir = tempfile::tempdir()?;
    /// let config = Config::builder().dir(dir.path()).env_vars::<_, &str, &str>([]).load()?;
    /// assert_eq!(config.dir(), Some(dir.path()));
    /// assert_eq!(Config::from_toml("")?.dir(), None);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.inner.dir.as_deref()
    }

    /// Whether `cortex.toml` was found in [`dir`](Self::dir): without it, an app runs on its
    /// built-in defaults (and whatever the profile's file and the variables set).
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// let dir = tempfile::tempdir()?;
    /// let load = || Config::builder().dir(dir.path()).env_vars::<_, &str, &str>([]).load();
    /// assert!(!load()?.found_cortex_toml());
    /// std::fs::write(dir.path().join("cortex.toml"), "")?;
    /// assert!(load()?.found_cortex_toml());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn found_cortex_toml(&self) -> bool {
        self.inner
            .dir
            .as_ref()
            .is_some_and(|dir| self.inner.files.contains(&dir.join("cortex.toml")))
    }

    /// The names of the `CORTEX_*` variables that set values, from the environment and from
    /// `.env`, in the order they were applied — names only: values may be secrets.
    /// `CORTEX_PROFILE`, `CORTEX_CONFIG_DIR` and the other [`RESERVED_ENV_VARS`] set no value and
    /// are not listed.
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// let dir = tempfile::tempdir()?;
    /// let config = Config::builder()
    ///     .dir(dir.path())
    ///     .env_vars([("CORTEX_PORT", "8080"), ("CORTEX_PROFILE", "test"), ("HOME", "/root")])
    ///     .load()?;
    /// assert_eq!(config.env_vars(), ["CORTEX_PORT"]);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn env_vars(&self) -> &[String] {
        &self.inner.env_vars
    }

    /// Reads the value at a dotted key (`""` is the whole configuration) as `T`.
    ///
    /// Fails with [`ConfigError::Missing`] when the key (or a field `T` requires) is absent, and
    /// with [`ConfigError::Invalid`] or [`ConfigError::Unknown`] naming the key inside the section,
    /// the file or variable that set it, the expected type and the kind of value found — never
    /// the value. A value set by an environment variable that looked like a number or boolean is
    /// read as the string written when `T` wants a string.
    ///
    /// ```
    /// use cortex_core::config::{Config, ConfigError};
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize)]
    /// struct Database { url: String, pool_size: u32 }
    ///
    /// let config = Config::from_toml("[database]\nurl = 'sqlite::memory:'\npool_size = -1")?;
    /// let err = config.get::<Database>("database").err().unwrap();
    /// assert_eq!(err.key(), Some("database.pool_size"));
    /// assert!(err.to_string().contains("expected u32, found an integer"));
    ///
    /// let err = config.get::<Database>("db").err().unwrap();
    /// assert!(matches!(err, ConfigError::Missing { .. }));
    /// # Ok::<_, ConfigError>(())
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        match self.value_at(key) {
            Some(value) => typed::deserialize(self, key, value),
            None => Err(ConfigError::Missing {
                key: key.to_string(),
                expected: Some(typed::short_type_name(std::any::type_name::<T>())),
            }),
        }
    }

    /// Like [`get`](Self::get), but an absent key gives `T::default()` (a present but invalid one
    /// is still an error).
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize, Default, Debug, PartialEq)]
    /// #[serde(default)]
    /// struct Cache { ttl_secs: u64, enabled: bool }
    ///
    /// let config = Config::from_toml("")?;
    /// assert_eq!(config.get_or_default::<Cache>("cache")?, Cache::default());
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn get_or_default<T: DeserializeOwned + Default>(
        &self,
        key: &str,
    ) -> Result<T, ConfigError> {
        match self.value_at(key) {
            Some(value) => typed::deserialize(self, key, value),
            None => Ok(T::default()),
        }
    }

    /// Whether a value is set at the dotted key.
    ///
    /// ```
    /// let config = cortex_core::config::Config::from_toml("[server]\nport = 1")?;
    /// assert!(config.contains("server.port"));
    /// assert!(!config.contains("server.host"));
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn contains(&self, key: &str) -> bool {
        key.is_empty() || self.lookup(key).is_some()
    }

    /// The layer that set the value at the dotted key (for a table: the last layer that set a
    /// key in it).
    ///
    /// ```
    /// use cortex_core::config::{Config, Origin};
    /// let config = Config::from_toml("[server]\nport = 1")?;
    /// assert_eq!(config.origin("server.port"), Some(&Origin::Defaults));
    /// assert_eq!(config.origin("server.host"), None);
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.inner.layers.origins.get(key)
    }

    /// The `[server]` section, defaults filled in (see [`ServerConfig`]); a key it does not know
    /// is an error.
    ///
    /// ```
    /// let config = cortex_core::config::Config::from_toml("")?;
    /// assert_eq!(config.server()?.addr()?.to_string(), "127.0.0.1:3000");
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn server(&self) -> Result<ServerConfig, ConfigError> {
        self.get_or_default("server")
    }

    /// The whole configuration with secrets masked: values under secret keys (see
    /// [`is_secret_key`]) become [`MASK`], and URL passwords anywhere become `********`.
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// let config = Config::from_toml("[auth]\njwt_secret = 's3cret'\nissuer = 'me'")?;
    /// assert_eq!(
    ///     config.redacted(),
    ///     serde_json::json!({ "auth": { "jwt_secret": "********", "issuer": "me" } })
    /// );
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn redacted(&self) -> Value {
        Value::Object(secret::redact(&self.inner.layers.tree))
    }

    /// The configuration as a TOML document with secrets masked, each value followed by a comment
    /// naming where it came from — what `cortex config show` prints.
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("cortex.toml"), "[database]\nurl = 'postgres://app:pw@db/app'")?;
    /// let config = Config::builder().dir(dir.path()).env_vars([("CORTEX_PORT", "8080")]).load()?;
    /// let shown = config.to_toml_redacted();
    /// assert!(shown.contains("port = 8080  # environment variable CORTEX_PORT"));
    /// assert!(shown.contains(r#"url = "postgres://app:********@db/app"  # "#));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_toml_redacted(&self) -> String {
        show::render(
            &secret::redact(&self.inner.layers.tree),
            &self.inner.layers.origins,
            &self.inner.profile,
        )
    }

    /// A singleton provider of `T`, read from the section at `key` when the container is built; a
    /// missing or invalid section fails the build with the [`ConfigError`] as the reason. Services
    /// then take `Inject<T>`.
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// use cortex_di::{ContainerBuilder, Inject, injectable};
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize)]
    /// struct MailSettings { host: String }
    ///
    /// #[injectable]
    /// struct Mailer { settings: Inject<MailSettings> }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let config = Config::from_toml("[mail]\nhost = 'smtp.example.com'")?;
    /// let container = ContainerBuilder::new()
    ///     .add(config.section_provider::<MailSettings>("mail"))
    ///     .register::<Mailer>()
    ///     .build()
    ///     .await?;
    /// assert_eq!(container.get::<Mailer>()?.settings.host, "smtp.example.com");
    ///
    /// let err = ContainerBuilder::new().add(config.section_provider::<MailSettings>("smtp")).build().await.err().unwrap();
    /// assert!(err.to_string().contains("config key `smtp` (expected MailSettings) is missing"));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    pub fn section_provider<T>(&self, key: &str) -> Provider<T>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let config = self.clone();
        let key_owned = key.to_string();
        Provider::factory(move |_| config.get::<T>(&key_owned).map_err(Into::into))
            .declared_by(format!("Config::section_provider(\"{key}\")"))
    }

    /// The value at a non-empty dotted key.
    fn lookup(&self, key: &str) -> Option<&Value> {
        let (first, rest) = key.split_once('.').unwrap_or((key, ""));
        let top = self.inner.layers.tree.get(first)?;
        if rest.is_empty() {
            Some(top)
        } else {
            lookup(top, rest)
        }
    }

    /// The value at a dotted key, `""` being the whole tree.
    fn value_at(&self, key: &str) -> Option<Value> {
        if key.is_empty() {
            Some(Value::Object(self.inner.layers.tree.clone()))
        } else {
            self.lookup(key).cloned()
        }
    }
}

impl ConfigSource for Config {
    /// The value at a dotted key, as [`Config::get`] would read it (`server.port`, `hosts.0`).
    fn value(&self, key: &str) -> Option<Value> {
        self.value_at(key)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("profile", &self.inner.profile.as_str())
            .field("files", &self.inner.files)
            .field("values", &format_args!("{}", self.redacted()))
            .finish()
    }
}
