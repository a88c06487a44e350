//! Plugins: reusable bundles of providers, controllers, routes and hooks, each with a
//! [`PluginManifest`] (name, version, the plugins it depends on, the configuration section it
//! owns).
//!
//! [`App::plugin`] and [`App::discover`] collect plugins; [`App::build`] applies them in
//! dependency order (a plugin after every plugin it depends on, registration order otherwise),
//! leaving out those named in `[plugins] disable` ([`PluginsConfig`]). A missing dependency, a
//! version that does not satisfy a requirement, a cycle, two plugins with one name or an unknown
//! name in `disable` stop the start, every problem listed at once in one [`PluginErrors`]
//! ([`AppError::Plugins`](crate::AppError::Plugins)), each with its fix.
//!
//! ```
//! use cortex_core::App;
//! use cortex_core::plugin::{Plugin, PluginManifest};
//!
//! struct Metrics;
//! impl Plugin for Metrics {
//!     fn manifest(&self) -> PluginManifest {
//!         PluginManifest::new("metrics", "1.2.0")
//!     }
//!     fn build(&self, app: App) -> App { app }
//! }
//!
//! struct Data;
//! impl Plugin for Data {
//!     fn manifest(&self) -> PluginManifest {
//!         PluginManifest::new("data", "0.3.1")
//!             .depends_on("metrics", "^1.1")
//!             .config_section("database")
//!     }
//!     fn build(&self, app: App) -> App { app }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // Registered in the "wrong" order, applied dependencies first.
//! let app = App::new().plugin(Data).plugin(Metrics).build().await?;
//! let order: Vec<&str> = app.plugins().iter().map(|p| p.name.as_str()).collect();
//! assert_eq!(order, ["metrics", "data"]);
//! # Ok::<_, cortex_core::AppError>(())
//! # }).unwrap();
//! ```
//!
//! A crate makes its plugin discoverable with [`submit!`](crate::plugin::submit): linked into a
//! binary (a dependency, typically behind a cargo feature), it is applied by
//! [`App::discover`] with nothing else to write.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::App;

/// A plugin: a reusable bundle of providers, controllers and routes (a database integration, an
/// auth module, ...). Any `Fn(App) -> App` is one.
///
/// Its methods are plain builders, called once while the app is built: [`manifest`](Self::manifest)
/// to order and check it, then [`build`](Self::build) to add what it brings. Start-up and
/// shutdown work goes in `OnStart`/`OnShutdown` hooks of the singletons it provides (or
/// `App::on_start`/`on_shutdown`), which the app runs and drains like its own.
///
/// ```
/// use cortex_core::{App, Plugin};
/// use cortex_core::plugin::PluginManifest;
///
/// struct Greetings;
/// impl Plugin for Greetings {
///     fn manifest(&self) -> PluginManifest {
///         PluginManifest::new("greetings", "1.0.0").config_section("greetings")
///     }
///     fn build(&self, app: App) -> App {
///         app.provide(cortex_di::Provider::value(String::from("hello")))
///     }
/// }
///
/// let app = App::new().plugin(Greetings).plugin(|app: App| app);
/// # let _ = app;
/// ```
pub trait Plugin: Send + Sync + 'static {
    /// The plugin's name, for logs. [`manifest`](Self::manifest) uses it unless overridden.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }

    /// What the plugin is: its name, version, dependencies and configuration section. The
    /// default is an unversioned manifest named by [`name`](Self::name), without dependencies.
    fn manifest(&self) -> PluginManifest {
        PluginManifest::unversioned(self.name())
    }

    /// Adds the plugin's providers, controllers, routes and hooks.
    fn build(&self, app: App) -> App;
}

impl<F: Fn(App) -> App + Send + Sync + 'static> Plugin for F {
    fn manifest(&self) -> PluginManifest {
        // A closure is named after the function that wrote it, so two closures in one function
        // share a name: they are not checked for duplicates.
        let mut manifest = PluginManifest::unversioned(self.name());
        manifest.anonymous = true;
        manifest
    }

    fn build(&self, app: App) -> App {
        self(app)
    }
}

/// What a plugin declares about itself: see [`Plugin::manifest`].
///
/// Versions are [semantic versions](https://semver.org) and requirements are written as in
/// `Cargo.toml` (`"^1.2"`, `">=0.1, <0.3"`, `"*"`); both are checked when the app is built, so a
/// malformed one is reported with the other plugin problems.
///
/// ```
/// use cortex_core::plugin::PluginManifest;
///
/// let manifest = PluginManifest::new("cortex-data", "0.1.0")
///     .depends_on("cortex-observability", ">=0.1")
///     .config_section("database");
/// assert_eq!(manifest.name, "cortex-data");
/// assert_eq!(manifest.dependencies[0].requirement, ">=0.1");
/// assert_eq!(manifest.config_section.as_deref(), Some("database"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PluginManifest {
    /// The plugin's name: what dependencies and `[plugins] disable` refer to.
    pub name: String,
    /// Its version (`env!("CARGO_PKG_VERSION")` for a crate's plugin); `None` for a plugin that
    /// declares none, which only a `"*"` requirement accepts.
    pub version: Option<String>,
    /// The plugins it needs, applied before it.
    pub dependencies: Vec<PluginDependency>,
    /// The `cortex.toml` section it reads, if any (shown by `cortex plugins`).
    pub config_section: Option<String>,
    /// A closure: named after its function, so not checked for duplicates.
    anonymous: bool,
}

impl PluginManifest {
    /// A manifest for `name` at `version`.
    ///
    /// ```
    /// let manifest = cortex_core::plugin::PluginManifest::new("cache", env!("CARGO_PKG_VERSION"));
    /// assert_eq!(manifest.version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    /// ```
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        PluginManifest {
            name: name.into(),
            version: Some(version.into()),
            dependencies: Vec::new(),
            config_section: None,
            anonymous: false,
        }
    }

    /// A manifest for `name` without a version (what [`Plugin::manifest`] returns by default).
    ///
    /// ```
    /// let manifest = cortex_core::plugin::PluginManifest::unversioned("cache");
    /// assert_eq!(manifest.version, None);
    /// ```
    pub fn unversioned(name: impl Into<String>) -> Self {
        PluginManifest {
            version: None,
            ..PluginManifest::new(name, "")
        }
    }

    /// Declares that this plugin needs `plugin`, at a version matching `requirement`
    /// (`"^1.2"`, `">=0.1"`, `"*"` for any).
    ///
    /// ```
    /// let manifest = cortex_core::plugin::PluginManifest::new("auth", "1.0.0")
    ///     .depends_on("sessions", "^2");
    /// assert_eq!(manifest.dependencies[0].name, "sessions");
    /// ```
    pub fn depends_on(mut self, plugin: impl Into<String>, requirement: impl Into<String>) -> Self {
        self.dependencies.push(PluginDependency {
            name: plugin.into(),
            requirement: requirement.into(),
        });
        self
    }

    /// Declares the `cortex.toml` section the plugin reads (`"database"` for `[database]`).
    ///
    /// ```
    /// let manifest = cortex_core::plugin::PluginManifest::new("mail", "1.0.0").config_section("mail");
    /// assert_eq!(manifest.config_section.as_deref(), Some("mail"));
    /// ```
    pub fn config_section(mut self, section: impl Into<String>) -> Self {
        self.config_section = Some(section.into());
        self
    }
}

/// One dependency of a plugin: a plugin name and a version requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PluginDependency {
    /// The plugin needed.
    pub name: String,
    /// The versions accepted, as in `Cargo.toml` (`"^1.2"`, `">=0.1"`, `"*"`).
    pub requirement: String,
}

/// The `[plugins]` section of `cortex.toml`.
///
/// ```toml
/// [plugins]
/// disable = ["metrics"]   # applied neither by App::plugin nor by discovery
/// ```
///
/// A name in `disable` that no plugin of the app has is an error naming the plugins there are.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_core::plugin::PluginsConfig;
///
/// let config = Config::from_toml("[plugins]\ndisable = ['metrics']")?;
/// let plugins: PluginsConfig = config.get_or_default("plugins")?;
/// assert_eq!(plugins.disable, ["metrics"]);
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PluginsConfig {
    /// Plugins not to apply, by manifest name.
    pub disable: Vec<String>,
}

/// Whether a plugin was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PluginState {
    /// Applied.
    Enabled,
    /// Named in `[plugins] disable`, so not applied.
    Disabled,
}

/// A plugin of a built app, as [`Application::plugins`](crate::Application::plugins) and
/// `CORTEX_INSPECT=plugins` report it: the enabled ones in the order they were applied, then the
/// disabled ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PluginInfo {
    /// Its manifest name.
    pub name: String,
    /// Its version, if it declares one.
    pub version: Option<String>,
    /// Its position in the application order (0 first); `None` when disabled.
    pub order: Option<usize>,
    /// Applied, or disabled by configuration.
    pub state: PluginState,
    /// The configuration section it owns.
    pub config_section: Option<String>,
    /// The plugins it depends on.
    pub dependencies: Vec<PluginDependency>,
    /// `app` for a plugin added with `App::plugin`, `discovered` for one found by
    /// `App::discover`.
    pub origin: &'static str,
}

/// The error a plugin's [`build`](Plugin::build) reported with [`App::fail`](crate::App::fail),
/// shared so that [`PluginError`] stays `Clone`. Two are equal when they say the same thing.
///
/// ```
/// use cortex_core::plugin::PluginFailure;
/// use std::error::Error;
///
/// let failure = PluginFailure::new(std::io::Error::other("no such queue"));
/// assert_eq!(failure.to_string(), "no such queue");
/// assert!(failure.error().downcast_ref::<std::io::Error>().is_some());
/// # let _ = failure.source();
/// ```
#[derive(Clone)]
pub struct PluginFailure(std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>);

impl PluginFailure {
    /// Wraps what a plugin reported.
    pub fn new(error: impl Into<cortex_di::BoxError>) -> Self {
        PluginFailure(std::sync::Arc::from(error.into()))
    }

    /// The error itself (to downcast it).
    pub fn error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Debug for PluginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for PluginFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for PluginFailure {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0) || self.to_string() == other.to_string()
    }
}

impl Eq for PluginFailure {}

/// One problem with the app's plugins, found when the app is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// A plugin depends on a plugin the app does not have.
    #[error(
        "plugin `{plugin}` depends on `{dependency}` ({requirement}), which the app does not have; hint: add it with `.plugin(..)`, or enable the cargo feature of the crate that provides it"
    )]
    Missing {
        /// The plugin with the dependency.
        plugin: String,
        /// The plugin it needs.
        dependency: String,
        /// The versions it accepts.
        requirement: String,
    },
    /// A plugin depends on a plugin that `[plugins] disable` turns off.
    #[error(
        "plugin `{plugin}` depends on `{dependency}`, which `[plugins] disable` turns off; hint: remove \"{dependency}\" from `disable`, or disable \"{plugin}\" too"
    )]
    DependencyDisabled {
        /// The plugin with the dependency.
        plugin: String,
        /// The disabled plugin it needs.
        dependency: String,
    },
    /// A dependency's version does not satisfy the requirement.
    #[error(
        "plugin `{plugin}` needs `{dependency}` {requirement}, but the app has {}; hint: use a version of `{dependency}` that matches, or a version of `{plugin}` made for it", found.as_deref().map_or_else(|| "an unversioned one".to_string(), |v| format!("version {v}"))
    )]
    VersionMismatch {
        /// The plugin with the dependency.
        plugin: String,
        /// The plugin it needs.
        dependency: String,
        /// The versions it accepts.
        requirement: String,
        /// The version the app has (`None`: the dependency declares none).
        found: Option<String>,
    },
    /// Plugins depend on each other in a cycle; `path` starts and ends with the same plugin.
    #[error(
        "plugins depend on each other in a cycle: {}; hint: break the cycle by moving what they share into a plugin both depend on", path.join(" -> ")
    )]
    Cycle {
        /// The cycle, first plugin repeated at the end.
        path: Vec<String>,
    },
    /// Two plugins have the same name.
    #[error(
        "two plugins are named `{name}`; hint: apply a plugin once (a discovered plugin is not added again with `.plugin(..)`: that replaces it), and give different plugins different names"
    )]
    Duplicate {
        /// The name.
        name: String,
    },
    /// Two plugins claim the same configuration section
    /// ([`PluginManifest::config_section`]): each would read the other's settings.
    ///
    /// ```
    /// use cortex_core::plugin::PluginError;
    ///
    /// let err = PluginError::ConfigSectionConflict {
    ///     section: "cache".into(),
    ///     first: "redis-cache".into(),
    ///     second: "memory-cache".into(),
    /// };
    /// assert!(err.to_string().starts_with("plugins `redis-cache` and `memory-cache` both claim the configuration section `[cache]`"));
    /// ```
    #[error(
        "plugins `{first}` and `{second}` both claim the configuration section `[{section}]`; hint: disable one of them (`[plugins] disable = [\"{second}\"]`), or give one plugin's manifest another `config_section`"
    )]
    ConfigSectionConflict {
        /// The section both manifests name.
        section: String,
        /// The plugin that claimed it first (in application or registration order).
        first: String,
        /// The plugin that claimed it again.
        second: String,
    },
    /// A manifest's version or requirement is not valid semver.
    #[error("plugin `{plugin}`: {what} {value:?} is not valid: {reason}; hint: {hint}")]
    InvalidManifest {
        /// The plugin whose manifest is wrong.
        plugin: String,
        /// `version`, or `the requirement on \`x\``.
        what: String,
        /// What it says.
        value: String,
        /// What the semver parser said.
        reason: String,
        /// How to write it.
        hint: &'static str,
    },
    /// A plugin's [`build`](Plugin::build) could not set it up, and said so with
    /// [`App::fail`](crate::App::fail): its configuration section is invalid, say.
    ///
    /// ```
    /// use cortex_core::plugin::{PluginError, PluginFailure};
    ///
    /// let err = PluginError::Build {
    ///     plugin: "visits".into(),
    ///     source: PluginFailure::new(std::io::Error::other("`[visits] top` must be positive")),
    /// };
    /// assert_eq!(err.to_string(), "plugin `visits` cannot be set up: `[visits] top` must be positive");
    /// ```
    #[error("plugin `{plugin}` cannot be set up: {source}")]
    Build {
        /// The plugin whose `build` failed (`app` when the app's own code called `App::fail`).
        plugin: String,
        /// What it reported.
        #[source]
        source: PluginFailure,
    },
    /// `[plugins] disable` names a plugin the app does not have.
    #[error(
        "`[plugins] disable` names `{name}`, which is not a plugin of this app; the app's plugins: {}{}", if known.is_empty() { "none".to_string() } else { known.join(", ") }, suggestion.as_deref().map(|s| format!("; hint: did you mean \"{s}\"?")).unwrap_or_default()
    )]
    UnknownDisabled {
        /// The name in `disable`.
        name: String,
        /// Every plugin name the app has.
        known: Vec<String>,
        /// The nearest known name.
        suggestion: Option<String>,
    },
}

/// Every [`PluginError`] found when the app was built (inside
/// [`AppError::Plugins`](crate::AppError::Plugins)). One problem reads as its own message; several
/// as a list.
///
/// ```
/// use cortex_core::plugin::{PluginError, PluginErrors};
///
/// let errors = PluginErrors(vec![PluginError::Duplicate { name: "cache".into() }]);
/// assert!(errors.to_string().starts_with("two plugins are named `cache`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginErrors(pub Vec<PluginError>);

impl PluginErrors {
    /// The problems, in the order they were found.
    pub fn errors(&self) -> &[PluginError] {
        &self.0
    }
}

impl fmt::Display for PluginErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} plugin problems:", many.len())?;
                for problem in many {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for PluginErrors {}

/// The link-time registration [`submit!`](crate::plugin::submit) adds, collected by
/// [`App::discover`].
pub struct PluginRegistration {
    factory: fn() -> Box<dyn Plugin>,
}

impl PluginRegistration {
    /// A registration that makes its plugin with `factory`.
    pub const fn new(factory: fn() -> Box<dyn Plugin>) -> Self {
        PluginRegistration { factory }
    }

    /// Makes the plugin.
    pub fn plugin(&self) -> Box<dyn Plugin> {
        (self.factory)()
    }
}

impl fmt::Debug for PluginRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginRegistration").finish_non_exhaustive()
    }
}

inventory::collect!(PluginRegistration);

/// Every plugin submitted with [`submit!`](crate::plugin::submit) in the binary, sorted by name
/// so the order does not depend on how the linker laid them out.
pub fn registrations() -> Vec<Box<dyn Plugin>> {
    let mut plugins: Vec<Box<dyn Plugin>> = inventory::iter::<PluginRegistration>
        .into_iter()
        .map(PluginRegistration::plugin)
        .collect();
    plugins.sort_by_cached_key(|p| p.manifest().name);
    plugins
}

/// Makes a plugin discoverable: [`App::discover`] applies it in every binary the crate is linked
/// into. Put it behind a cargo feature (`#[cfg(feature = "cache")]`) so an app opts in by
/// enabling the feature; `[plugins] disable` still turns it off.
///
/// ```standalone_crate
/// use cortex_core::App;
/// use cortex_core::plugin::{Plugin, PluginManifest};
///
/// #[derive(Default)]
/// pub struct CachePlugin;
/// impl Plugin for CachePlugin {
///     fn manifest(&self) -> PluginManifest { PluginManifest::new("cache-doc", "1.0.0") }
///     fn build(&self, app: App) -> App { app }
/// }
///
/// cortex_core::plugin::submit!(CachePlugin::default());
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let app = App::new().discover().build().await?;
/// assert!(app.plugins().iter().any(|p| p.name == "cache-doc" && p.origin == "discovered"));
/// # Ok::<_, cortex_core::AppError>(())
/// # }).unwrap();
/// ```
#[doc(inline)]
pub use crate::__submit_plugin as submit;

#[doc(hidden)]
#[macro_export]
macro_rules! __submit_plugin {
    ($plugin:expr $(,)?) => {
        $crate::__private::inventory::submit! {
            $crate::plugin::PluginRegistration::new(
                || -> ::std::boxed::Box<dyn $crate::plugin::Plugin> { ::std::boxed::Box::new($plugin) }
            )
        }
    };
}

/// A plugin waiting to be applied.
pub(crate) struct Pending {
    pub(crate) plugin: Box<dyn Plugin>,
    pub(crate) manifest: PluginManifest,
    pub(crate) discovered: bool,
}

impl Pending {
    pub(crate) fn new(plugin: Box<dyn Plugin>, discovered: bool) -> Self {
        let manifest = plugin.manifest();
        Pending {
            plugin,
            manifest,
            discovered,
        }
    }

    fn info(&self, order: Option<usize>) -> PluginInfo {
        PluginInfo {
            name: self.manifest.name.clone(),
            version: self.manifest.version.clone(),
            order,
            state: if order.is_some() {
                PluginState::Enabled
            } else {
                PluginState::Disabled
            },
            config_section: self.manifest.config_section.clone(),
            dependencies: self.manifest.dependencies.clone(),
            origin: if self.discovered { "discovered" } else { "app" },
        }
    }
}

/// The plugins to apply, in order, and the report of every plugin (the disabled ones last).
pub(crate) type Resolved = (Vec<Box<dyn Plugin>>, Vec<PluginInfo>);

/// Orders `pending` for application after the plugins in `applied`: returns the plugins to apply,
/// in order, with their reports (the disabled ones last), or every problem found.
pub(crate) fn resolve(
    pending: Vec<Pending>,
    disabled: &[String],
    applied: &[PluginInfo],
) -> Result<Resolved, Vec<PluginError>> {
    let mut problems = Vec::new();

    // A plugin added with `.plugin(..)` replaces a discovered one of the same name.
    let explicit: HashSet<String> = pending
        .iter()
        .filter(|p| !p.discovered)
        .map(|p| p.manifest.name.clone())
        .collect();
    let mut seen: HashSet<String> = applied.iter().map(|p| p.name.clone()).collect();
    let mut reported = HashSet::new();
    let mut entries: Vec<Pending> = Vec::new();
    for p in pending {
        let name = &p.manifest.name;
        if p.discovered && explicit.contains(name) {
            continue;
        }
        if !p.manifest.anonymous && !seen.insert(name.clone()) {
            if reported.insert(name.clone()) {
                problems.push(PluginError::Duplicate { name: name.clone() });
            }
            continue;
        }
        entries.push(p);
    }

    let (enabled, off): (Vec<Pending>, Vec<Pending>) = entries
        .into_iter()
        .partition(|p| !disabled.contains(&p.manifest.name));

    // Versions: a malformed one is reported here, and satisfies no requirement below.
    for p in &enabled {
        if let Some(v) = &p.manifest.version
            && let Err(e) = semver::Version::parse(v)
        {
            problems.push(PluginError::InvalidManifest {
                plugin: p.manifest.name.clone(),
                what: "version".into(),
                value: v.clone(),
                reason: e.to_string(),
                hint: "write MAJOR.MINOR.PATCH, as `env!(\"CARGO_PKG_VERSION\")` gives",
            });
        }
    }
    let disabled_names: HashSet<&str> = off
        .iter()
        .map(|p| p.manifest.name.as_str())
        .chain(
            applied
                .iter()
                .filter(|p| p.state == PluginState::Disabled)
                .map(|p| p.name.as_str()),
        )
        .collect();

    // Configuration sections: one owner each, among the enabled plugins (a disabled one reads
    // nothing).
    let mut owners: HashMap<&str, &str> = applied
        .iter()
        .filter(|p| p.state == PluginState::Enabled)
        .filter_map(|p| Some((p.config_section.as_deref()?, p.name.as_str())))
        .collect();
    for p in &enabled {
        let Some(section) = p.manifest.config_section.as_deref() else {
            continue;
        };
        match owners.get(section) {
            Some(first) => problems.push(PluginError::ConfigSectionConflict {
                section: section.to_string(),
                first: first.to_string(),
                second: p.manifest.name.clone(),
            }),
            None => {
                owners.insert(section, &p.manifest.name);
            }
        }
    }

    // Dependencies: each names a plugin of the app, at a matching version.
    let index: HashMap<&str, usize> = enabled
        .iter()
        .enumerate()
        .map(|(i, p)| (p.manifest.name.as_str(), i))
        .collect();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); enabled.len()];
    for (i, p) in enabled.iter().enumerate() {
        let plugin = &p.manifest.name;
        for dep in &p.manifest.dependencies {
            let declared: Option<String> = if let Some(&j) = index.get(dep.name.as_str()) {
                edges[i].push(j);
                enabled[j].manifest.version.clone()
            } else if let Some(earlier) = applied
                .iter()
                .find(|a| a.name == dep.name && a.state == PluginState::Enabled)
            {
                earlier.version.clone()
            } else {
                problems.push(if disabled_names.contains(dep.name.as_str()) {
                    PluginError::DependencyDisabled {
                        plugin: plugin.clone(),
                        dependency: dep.name.clone(),
                    }
                } else {
                    PluginError::Missing {
                        plugin: plugin.clone(),
                        dependency: dep.name.clone(),
                        requirement: dep.requirement.clone(),
                    }
                });
                continue;
            };
            let requirement = match semver::VersionReq::parse(&dep.requirement) {
                Ok(requirement) => requirement,
                Err(e) => {
                    problems.push(PluginError::InvalidManifest {
                        plugin: plugin.clone(),
                        what: format!("the requirement on `{}`", dep.name),
                        value: dep.requirement.clone(),
                        reason: e.to_string(),
                        hint: "write it as in Cargo.toml: \"^1.2\", \">=0.1, <0.3\", or \"*\" for any version",
                    });
                    continue;
                }
            };
            let satisfied = match declared.as_deref().map(semver::Version::parse) {
                Some(Ok(version)) => requirement.matches(&version),
                // Malformed: reported above, once.
                Some(Err(_)) => continue,
                // Unversioned: only "any version" accepts it.
                None => requirement == semver::VersionReq::STAR,
            };
            if !satisfied {
                problems.push(PluginError::VersionMismatch {
                    plugin: plugin.clone(),
                    dependency: dep.name.clone(),
                    requirement: dep.requirement.clone(),
                    found: declared,
                });
            }
        }
    }

    // Topological order, registration order among the plugins that are ready.
    let mut placed = vec![false; enabled.len()];
    let mut order = Vec::with_capacity(enabled.len());
    while let Some(next) =
        (0..enabled.len()).find(|&i| !placed[i] && edges[i].iter().all(|&j| placed[j]))
    {
        placed[next] = true;
        order.push(next);
    }
    if order.len() < enabled.len() {
        let mut in_cycle = vec![false; enabled.len()];
        for start in 0..enabled.len() {
            if placed[start] || in_cycle[start] {
                continue;
            }
            // Follow unplaced dependencies until a plugin repeats: that loop is a cycle.
            let mut path = vec![start];
            let mut current = start;
            while let Some(&next) = edges[current].iter().find(|&&j| !placed[j]) {
                if in_cycle[next] {
                    break; // leads into a cycle already reported
                }
                if let Some(at) = path.iter().position(|&p| p == next) {
                    let cycle = &path[at..];
                    for &c in cycle {
                        in_cycle[c] = true;
                    }
                    let mut names: Vec<String> = cycle
                        .iter()
                        .map(|&c| enabled[c].manifest.name.clone())
                        .collect();
                    names.push(names[0].clone());
                    problems.push(PluginError::Cycle { path: names });
                    break;
                }
                path.push(next);
                current = next;
            }
        }
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    let base = applied
        .iter()
        .filter(|p| p.state == PluginState::Enabled)
        .count();
    let mut infos: Vec<PluginInfo> = order
        .iter()
        .enumerate()
        .map(|(n, &i)| enabled[i].info(Some(base + n)))
        .collect();
    infos.extend(off.iter().map(|p| p.info(None)));
    let mut slots: Vec<Option<Pending>> = enabled.into_iter().map(Some).collect();
    let plugins = order
        .into_iter()
        .filter_map(|i| slots[i].take())
        .map(|p| p.plugin)
        .collect();
    Ok((plugins, infos))
}

/// The names in `disable` that no plugin in `plugins` has, as errors with a suggestion.
pub(crate) fn unknown_disabled(disable: &[String], plugins: &[PluginInfo]) -> Vec<PluginError> {
    let known: Vec<String> = plugins.iter().map(|p| p.name.clone()).collect();
    disable
        .iter()
        .filter(|name| !known.contains(name))
        .map(|name| PluginError::UnknownDisabled {
            name: name.clone(),
            suggestion: suggest(name, &known),
            known: known.clone(),
        })
        .collect()
}

/// The known name nearest to `name`, if it is close enough to be a typo.
fn suggest(name: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(PluginManifest);
    impl Plugin for Named {
        fn manifest(&self) -> PluginManifest {
            self.0.clone()
        }
        fn build(&self, app: App) -> App {
            app
        }
    }

    fn pending(manifest: PluginManifest) -> Pending {
        Pending::new(Box::new(Named(manifest)), false)
    }

    /// An error with a cause, as a plugin's configuration error has.
    #[derive(Debug, thiserror::Error)]
    #[error("the section `[queue]` is invalid")]
    struct Invalid {
        #[source]
        cause: std::io::Error,
    }

    #[test]
    fn a_plugin_failure_shows_compares_and_chains_as_the_error_it_wraps() {
        use std::error::Error as _;

        let failure = PluginFailure::new(Invalid {
            cause: std::io::Error::other("`prefetch` must be positive"),
        });
        assert_eq!(failure.to_string(), "the section `[queue]` is invalid");
        assert!(
            format!("{failure:?}").starts_with("Invalid { cause: "),
            "{failure:?}"
        );
        assert_eq!(
            failure.source().map(|cause| cause.to_string()),
            Some("`prefetch` must be positive".to_string())
        );
        assert!(failure.error().downcast_ref::<Invalid>().is_some());

        // Equal when they say the same thing, whatever object says it.
        assert_eq!(failure, failure.clone());
        let same = PluginFailure::new(std::io::Error::other("the section `[queue]` is invalid"));
        assert_eq!(failure, same);
        let other = PluginFailure::new(std::io::Error::other("no such queue"));
        assert_ne!(failure, other);
    }

    fn order(plugins: Vec<Pending>) -> Vec<String> {
        let (_, infos) = resolve(plugins, &[], &[]).unwrap();
        infos.into_iter().map(|p| p.name).collect()
    }

    #[test]
    fn plugins_are_applied_after_their_dependencies_and_in_registration_order_otherwise() {
        let names = order(vec![
            pending(PluginManifest::new("auth", "1.0.0").depends_on("data", "^0.3")),
            pending(PluginManifest::new("mail", "1.0.0")),
            pending(PluginManifest::new("data", "0.3.1").depends_on("metrics", "*")),
            pending(PluginManifest::new("metrics", "2.0.0")),
        ]);
        assert_eq!(names, ["mail", "metrics", "data", "auth"]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = resolve(
            vec![
                pending(PluginManifest::new("auth", "1.0.0").depends_on("sessions", "^1")),
                pending(PluginManifest::new("data", "0.3.1").depends_on("metrics", ">=2")),
                pending(PluginManifest::new("metrics", "1.4.0")),
                pending(PluginManifest::new("a", "1.0.0").depends_on("b", "*")),
                pending(PluginManifest::new("b", "1.0.0").depends_on("a", "*")),
                pending(PluginManifest::new("metrics", "1.4.0")),
            ],
            &[],
            &[],
        )
        .err()
        .expect("plugin problems");
        let messages: Vec<String> = err.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "two plugins are named `metrics`; hint: apply a plugin once (a discovered plugin is not added again with `.plugin(..)`: that replaces it), and give different plugins different names",
                "plugin `auth` depends on `sessions` (^1), which the app does not have; hint: add it with `.plugin(..)`, or enable the cargo feature of the crate that provides it",
                "plugin `data` needs `metrics` >=2, but the app has version 1.4.0; hint: use a version of `metrics` that matches, or a version of `data` made for it",
                "plugins depend on each other in a cycle: a -> b -> a; hint: break the cycle by moving what they share into a plugin both depend on",
            ]
        );
    }

    #[test]
    fn two_plugins_claiming_one_config_section_are_reported_with_the_other_problems() {
        let err = resolve(
            vec![
                pending(PluginManifest::new("redis-cache", "1.0.0").config_section("cache")),
                pending(PluginManifest::new("auth", "1.0.0").depends_on("sessions", "^1")),
                pending(PluginManifest::new("memory-cache", "1.0.0").config_section("cache")),
                pending(PluginManifest::new("mail", "1.0.0").config_section("mail")),
                pending(PluginManifest::new("off-cache", "1.0.0").config_section("cache")),
            ],
            &["off-cache".to_string()],
            &[],
        )
        .err()
        .expect("plugin problems");
        assert_eq!(err.len(), 2, "{err:?}");
        assert_eq!(
            err[0],
            PluginError::ConfigSectionConflict {
                section: "cache".into(),
                first: "redis-cache".into(),
                second: "memory-cache".into(),
            }
        );
        assert_eq!(
            err[0].to_string(),
            "plugins `redis-cache` and `memory-cache` both claim the configuration section `[cache]`; hint: disable one of them (`[plugins] disable = [\"memory-cache\"]`), or give one plugin's manifest another `config_section`"
        );
        assert!(matches!(err[1], PluginError::Missing { .. }), "{err:?}");

        // A plugin applied earlier (by another plugin's build) owns its section too.
        let (_, applied) = resolve(
            vec![pending(
                PluginManifest::new("redis-cache", "1.0.0").config_section("cache"),
            )],
            &[],
            &[],
        )
        .unwrap();
        let err = resolve(
            vec![pending(
                PluginManifest::new("memory-cache", "1.0.0").config_section("cache"),
            )],
            &[],
            &applied,
        )
        .err()
        .expect("a conflict");
        assert!(
            matches!(&err[..], [PluginError::ConfigSectionConflict { first, .. }] if first == "redis-cache"),
            "{err:?}"
        );
    }

    #[test]
    fn a_plugin_that_only_depends_on_a_cycle_is_not_reported_as_one() {
        let err = resolve(
            vec![
                pending(PluginManifest::new("top", "1.0.0").depends_on("a", "*")),
                pending(PluginManifest::new("a", "1.0.0").depends_on("b", "*")),
                pending(PluginManifest::new("b", "1.0.0").depends_on("c", "*")),
                pending(PluginManifest::new("c", "1.0.0").depends_on("a", "*")),
            ],
            &[],
            &[],
        )
        .err()
        .expect("plugin problems");
        assert_eq!(
            err,
            [PluginError::Cycle {
                path: ["a", "b", "c", "a"].map(String::from).to_vec()
            }]
        );
    }

    #[test]
    fn malformed_versions_and_requirements_are_reported_with_their_fix() {
        let err = resolve(
            vec![
                pending(PluginManifest::new("data", "one").depends_on("metrics", "~>1")),
                pending(PluginManifest::new("metrics", "1.0.0").depends_on("data", "^1")),
            ],
            &[],
            &[],
        )
        .err()
        .expect("plugin problems");
        assert!(
            matches!(&err[0], PluginError::InvalidManifest { plugin, what, .. } if plugin == "data" && what == "version"),
            "{err:?}"
        );
        assert!(
            matches!(&err[1], PluginError::InvalidManifest { plugin, what, .. } if plugin == "data" && what == "the requirement on `metrics`"),
            "{err:?}"
        );
        // `metrics` needs `data` ^1, whose version is malformed: reported once, above.
        assert!(
            !err.iter()
                .any(|e| matches!(e, PluginError::VersionMismatch { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn an_unversioned_plugin_satisfies_only_any_version() {
        let ok = resolve(
            vec![
                pending(PluginManifest::unversioned("old")),
                pending(PluginManifest::new("new", "1.0.0").depends_on("old", "*")),
            ],
            &[],
            &[],
        );
        assert!(ok.is_ok());
        let err = resolve(
            vec![
                pending(PluginManifest::unversioned("old")),
                pending(PluginManifest::new("new", "1.0.0").depends_on("old", "^1")),
            ],
            &[],
            &[],
        )
        .err()
        .expect("plugin problems");
        assert!(
            err[0]
                .to_string()
                .contains("but the app has an unversioned one"),
            "{err:?}"
        );
    }

    #[test]
    fn a_disabled_plugin_is_listed_last_and_its_dependents_are_told_why() {
        let (plugins, infos) = resolve(
            vec![
                pending(PluginManifest::new("metrics", "1.0.0")),
                pending(PluginManifest::new("mail", "1.0.0")),
            ],
            &["metrics".to_string()],
            &[],
        )
        .unwrap();
        assert_eq!(plugins.len(), 1);
        assert_eq!(
            infos
                .iter()
                .map(|p| (p.name.as_str(), p.state, p.order))
                .collect::<Vec<_>>(),
            [
                ("mail", PluginState::Enabled, Some(0)),
                ("metrics", PluginState::Disabled, None)
            ]
        );
        let err = resolve(
            vec![
                pending(PluginManifest::new("metrics", "1.0.0")),
                pending(PluginManifest::new("data", "1.0.0").depends_on("metrics", "^1")),
            ],
            &["metrics".to_string()],
            &[],
        )
        .err()
        .expect("plugin problems");
        assert_eq!(
            err[0].to_string(),
            "plugin `data` depends on `metrics`, which `[plugins] disable` turns off; hint: remove \"metrics\" from `disable`, or disable \"data\" too"
        );
    }

    #[test]
    fn an_explicit_plugin_replaces_a_discovered_one_of_the_same_name() {
        let discovered = Pending::new(Box::new(Named(PluginManifest::new("cache", "1.0.0"))), true);
        let (_, infos) = resolve(
            vec![discovered, pending(PluginManifest::new("cache", "1.0.0"))],
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(infos.len(), 1);
        assert_eq!(infos[0].origin, "app");
    }

    #[test]
    fn an_unknown_disabled_name_suggests_the_nearest_plugin() {
        let (_, infos) = resolve(
            vec![
                pending(PluginManifest::new("metrics", "1.0.0")),
                pending(PluginManifest::new("mail", "1.0.0")),
            ],
            &[],
            &[],
        )
        .unwrap();
        let err = unknown_disabled(&["metrix".to_string(), "zzz".to_string()], &infos);
        assert_eq!(
            err[0].to_string(),
            "`[plugins] disable` names `metrix`, which is not a plugin of this app; the app's plugins: metrics, mail; hint: did you mean \"metrics\"?"
        );
        assert_eq!(
            err[1].to_string(),
            "`[plugins] disable` names `zzz`, which is not a plugin of this app; the app's plugins: metrics, mail"
        );
    }

    #[test]
    fn closures_are_not_checked_for_duplicate_names() {
        let a = Pending::new(Box::new(|app: App| app), false);
        let b = Pending::new(Box::new(|app: App| app), false);
        assert!(resolve(vec![a, b], &[], &[]).is_ok());
    }
}
