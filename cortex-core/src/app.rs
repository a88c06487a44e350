//! [`App`]: configuration → container → routes → middleware → server, with lifecycle hooks and
//! graceful shutdown.
//!
//! ```no_run
//! use cortex_core::App;
//!
//! # async fn main_() -> Result<(), cortex_core::AppError> {
//! App::from_config()?   // cortex.toml + cortex.{profile}.toml + CORTEX_* variables
//!     .discover()       // every #[injectable], #[provider] and #[controller] in the binary
//!     .run()            // serve until SIGTERM/SIGINT, then drain
//!     .await
//! # }
//! ```

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::routing::MethodRouter;
use cortex_di::{BoxError, Container, ContainerBuilder, Env, Injectable, Provider};

use crate::config::ServerConfig;
use crate::config::{Config, ConfigError};
use crate::health::{ErasedHealthCheck, Health, HealthCheck};
use crate::http::middleware::{
    HttpConfig, HttpConfigError, PrincipalResolver, RateLimitSetupError, RateLimitStore, Stack,
};
use crate::http::{method_not_allowed, problem_fallbacks};
use crate::openapi::{OpenApiBuilder, OpenApiConfig, Spec};
use crate::plugin::{Plugin, PluginError, PluginErrors, PluginInfo, PluginsConfig};
use crate::routing::{
    AddHandler, AppLayer, FrameworkOrigin, FrameworkRoute, Route, RouteError, RouteErrors,
    RouteInfo, RouteOrigin, Routes, Serve,
};
use crate::server::{ListenAddresses, ServeSummary, Server, ServerHandle};
use crate::shutdown::ShutdownSignal;

type Hook = Box<
    dyn Fn(Container) -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>> + Send + Sync,
>;
/// Tells the container whether its `lifecycle.hook` spans are `info` (spans are exported,
/// [`crate::logging::export_spans`]) or `debug`: before each lifecycle phase.
fn sync_hook_spans() {
    cortex_di::__private::export_hook_spans(crate::logging::spans_exported());
}

// Runs an app hook closure in a `lifecycle.hook` span (`hook` = `App::on_start`, …), timed in
// `cortex_lifecycle_hook_duration_seconds`, as the container runs the providers' hooks.
use cortex_di::__private::observe_app_hook;

type RoutesFn = fn(&Container) -> Result<Vec<Route>, cortex_di::Error>;
/// A controller: its name, its key in the container, and how to build its routes.
type ControllerEntry = (&'static str, fn() -> cortex_di::Key, RoutesFn);
type OpenApiHook = Box<dyn Fn(&mut utoipa::openapi::OpenApi) + Send + Sync>;

/// What a lifecycle hook returns on failure: [`cortex_di::BoxError`] under another name.
#[deprecated(
    note = "use `cortex_di::BoxError` (`cortex::BoxError`, in the prelude): the same type"
)]
pub type HookError = BoxError;

/// An [`App::on_built`] hook.
type OnBuilt = Box<dyn FnOnce(&Application) + Send + Sync>;

/// Everything that can stop an app from starting or serving. Each message says what is wrong and
/// how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The configuration could not be loaded or read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The `[http]` section is invalid.
    #[error("[http] in the configuration: {0}")]
    Http(#[from] HttpConfigError),
    /// The container binds more than one rate-limit store or principal resolver.
    #[error(transparent)]
    RateLimit(#[from] RateLimitSetupError),
    /// The container could not be built (graph errors, a failing provider).
    #[error(transparent)]
    Container(#[from] cortex_di::Error),
    /// The routes cannot be served as declared: two handlers serve the same method and path, two
    /// paths overlap (a request could match both), a path is malformed, a path is on or over a
    /// framework route's, a handler needs something nothing provides, or a controller's routes
    /// could not be built. Every problem is listed; match on [`RouteErrors::errors`].
    #[error(transparent)]
    Routes(RouteErrors),
    /// The plugins cannot be applied as declared: a missing dependency, a version that does not
    /// match, a cycle, a duplicate name, or an unknown name in `[plugins] disable`. Every problem
    /// is listed; match on [`PluginErrors::errors`].
    #[error(transparent)]
    Plugins(PluginErrors),
    /// A lifecycle hook failed.
    #[error("the {stage} hook failed: {source}")]
    Hook {
        /// `on_start`, `on_ready` or `on_shutdown`.
        stage: &'static str,
        /// What the hook returned.
        source: BoxError,
    },
    /// The listening socket could not be opened or served.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// `CORTEX_INSPECT` has an unknown value, or asks for something the app does not have (see
    /// [`inspect`](crate::inspect)).
    #[error("{0}")]
    Inspect(String),
    /// `CORTEX_TASK` names no task of the app, or two tasks share a name (see
    /// [`task`](crate::task)).
    #[error("{0}")]
    Task(String),
    /// A task (see [`App::task`]) returned an error.
    #[error("task `{task}` failed: {source}")]
    TaskFailed {
        /// The task's name.
        task: String,
        /// What it returned.
        source: BoxError,
    },
}

/// The application builder.
///
/// `App::from_config()?.discover().run().await` is the usual shape; [`build`](Self::build)
/// returns an [`Application`] that can be served or exercised in-process by tests.
pub struct App {
    config: Config,
    builder: ContainerBuilder,
    routes: Vec<ControllerEntry>,
    /// `App::route`s, with the plugin that added each (if one did).
    extra_routes: Vec<(Route, Option<String>)>,
    routers: Vec<Router>,
    /// `App::layer`s, the first added outermost.
    layers: Vec<AppLayer>,
    /// The plugin whose `build` runs now, if any: what `App::route` records as the origin.
    building_plugin: Option<String>,
    /// What plugins reported with `App::fail`: reported with the other plugin problems.
    failures: Vec<PluginError>,
    on_start: Vec<Hook>,
    on_ready: Vec<Hook>,
    on_shutdown: Vec<Hook>,
    /// `App::on_built` hooks, run once the application is built.
    on_built: Vec<OnBuilt>,
    http: Option<HttpConfig>,
    /// `[server]` set in code, and whether `host` and `port` still come from the configuration
    /// (as the deprecated `serve_options` did).
    serve: Option<(ServerConfig, bool)>,
    discovered: bool,
    /// Plugins added or discovered, applied in dependency order by `build`.
    plugins: Vec<crate::plugin::Pending>,
    plugins_discovered: bool,
    health_timeout: Duration,
    openapi_hooks: Vec<OpenApiHook>,
    /// How many observers [`App::observer`] added (each binding gets a name of its own).
    observers: usize,
    /// Added to the stack's operational paths (never rate limited).
    operational_paths: Vec<String>,
    /// Headers masked in the access log (`App::sensitive_header`).
    sensitive_headers: Vec<String>,
    /// Whether every route needs an access policy or `#[public]` (`App::deny_by_default`).
    deny_by_default: bool,
    /// Tripped when the drain starts; in the container too.
    shutdown: ShutdownSignal,
    /// Other addresses plugins serve on, for the startup line; in the container too.
    addresses: ListenAddresses,
    /// `App::task`s, by name, in the order added.
    tasks: Vec<(String, Hook)>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("config", &self.config)
            .field(
                "controllers",
                &self.routes.iter().map(|(n, _, _)| *n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Default for App {
    fn default() -> Self {
        // An empty document always parses.
        App::with_config(Config::from_toml("").expect("empty configuration"))
    }
}

impl App {
    /// An app on the built-in defaults, ignoring configuration files and the environment (tests,
    /// examples).
    pub fn new() -> Self {
        Self::default()
    }

    /// An app configured from `cortex.toml`, `cortex.{profile}.toml`, `.env` (in dev) and `CORTEX_*`
    /// variables in the current directory (or `CORTEX_CONFIG_DIR`), the profile chosen by
    /// `CORTEX_PROFILE`.
    ///
    /// It logs what it loaded: the profile, each file and the names (never the values) of the
    /// `CORTEX_*` variables applied, and a warning naming the directory when it found no
    /// `cortex.toml` there, so an app started from the wrong folder does not run on the defaults
    /// unnoticed. An invalid `[log]` section is an error here (under `#[cortex::main]` the
    /// subscriber fell back to the defaults for it).
    pub fn from_config() -> Result<Self, AppError> {
        let config = Config::load()?;
        crate::logging::LogConfig::from_config(&config)?;
        log_loaded(&config);
        Ok(Self::with_config(config))
    }

    /// An app on the given configuration.
    pub fn with_config(config: Config) -> Self {
        let mut builder = ContainerBuilder::new();
        let mut env = Env::default().with_profile(config.profile().as_str());
        if let Ok(properties) = config.get::<BTreeMap<String, serde_json::Value>>("properties") {
            for (k, v) in properties {
                env = env.with_property(
                    k,
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                );
            }
        }
        builder.env(env);
        builder.config(config.clone());
        builder.add(Provider::value(config.clone()));
        let shutdown = ShutdownSignal::new();
        builder.add(Provider::value(shutdown.clone()));
        let addresses = ListenAddresses::default();
        builder.add(Provider::value(addresses.clone()));
        App {
            config,
            builder,
            routes: Vec::new(),
            extra_routes: Vec::new(),
            routers: Vec::new(),
            layers: Vec::new(),
            building_plugin: None,
            failures: Vec::new(),
            on_start: Vec::new(),
            on_ready: Vec::new(),
            on_shutdown: Vec::new(),
            on_built: Vec::new(),
            http: None,
            serve: None,
            discovered: false,
            plugins: Vec::new(),
            plugins_discovered: false,
            health_timeout: Duration::from_secs(2),
            openapi_hooks: Vec::new(),
            observers: 0,
            operational_paths: Vec::new(),
            sensitive_headers: Vec::new(),
            deny_by_default: false,
            shutdown,
            addresses,
            tasks: Vec::new(),
        }
    }

    /// Registers a task: a one-off job (`db:migrate`, a seed, a report) that runs inside the app's
    /// binary, with its configuration and container, when `CORTEX_TASK` names it — what
    /// `cortex run <name>` does. [`run`](Self::run) then builds the app (`OnStart` hooks and
    /// `on_start` closures included), runs the task instead of serving, and shuts the app down.
    /// The task's error is [`AppError::TaskFailed`]: `#[cortex::main]` prints it on one line and
    /// exits with status 1. Two tasks with one name fail [`build`](Self::build).
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::config::Config;
    ///
    /// let app = App::new().task("report", |container| async move {
    ///     let config = container.get::<Config>()?;
    ///     println!("profile: {}", config.profile());
    ///     Ok(())
    /// });
    /// # let _ = app;
    /// ```
    pub fn task<F, Fut>(mut self, name: impl Into<String>, task: F) -> Self
    where
        F: Fn(Container) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.tasks
            .push((name.into(), Box::new(move |c| Box::pin(task(c)))));
        self
    }

    /// The app's [`ShutdownSignal`], also in the container (`Inject<ShutdownSignal>`): it trips
    /// when the drain starts, and the drain waits for the tasks spawned with
    /// [`ShutdownSignal::spawn_tracked`] (see the lifecycle chapter).
    ///
    /// ```
    /// use cortex_core::{App, ShutdownSignal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cortex_core::AppError> {
    /// let app = App::new().build().await?;
    /// let injected = app.container().get::<ShutdownSignal>()?;
    /// assert!(!injected.is_tripped());
    /// app.shutdown_signal().trip();
    /// assert!(injected.is_tripped(), "one signal, wherever it is taken from");
    /// # Ok(()) }
    /// ```
    pub fn shutdown_signal(&self) -> ShutdownSignal {
        self.shutdown.clone()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Adds every `#[injectable]`, `#[provider]` and `#[controller]`/`#[routes]` linked into the
    /// binary, and every plugin submitted with [`plugin::submit!`](crate::plugin::submit) (see
    /// [`discover_plugins`](Self::discover_plugins)).
    ///
    /// A crate is linked only when the binary names it. `#[cortex::main]` names its package's own
    /// library (`src/lib.rs`); for another crate whose components nothing in the binary uses (a
    /// workspace member, or the app's library from a test file), write `use that_crate as _;`.
    /// When nothing at all is found, `discover` logs a warning that says so.
    pub fn discover(mut self) -> Self {
        self = self.discover_plugins();
        if !self.discovered {
            self.discovered = true;
            if nothing_to_discover() {
                tracing::warn!("{NOTHING_DISCOVERED}");
            }
            self.builder.discover();
            for registration in crate::routing::registrations() {
                self.builder.register_with(registration.register);
                let key = (registration.key)();
                if !self.routes.iter().any(|(_, k, _)| k() == key) {
                    self.routes.push((
                        registration.controller,
                        registration.key,
                        registration.routes,
                    ));
                }
            }
        }
        self
    }

    /// Adds every plugin submitted with [`plugin::submit!`](crate::plugin::submit) in the crates
    /// linked into the binary (what [`discover`](Self::discover) does for plugins), sorted by
    /// name. A plugin added with [`plugin`](Self::plugin) under the same name replaces the
    /// discovered one (to configure it); `[plugins] disable` turns one off.
    ///
    /// ```
    /// let app = cortex_core::App::new().discover_plugins();
    /// # let _ = app;
    /// ```
    pub fn discover_plugins(mut self) -> Self {
        if !self.plugins_discovered {
            self.plugins_discovered = true;
            for plugin in crate::plugin::registrations() {
                self.plugins.push(crate::plugin::Pending::new(plugin, true));
            }
        }
        self
    }

    /// Adds a controller (and its providers) by hand.
    pub fn controller<C: Routes>(mut self) -> Self {
        let name = std::any::type_name::<C>();
        let key = cortex_di::Key::of::<C>();
        if !self.routes.iter().any(|(_, k, _)| k() == key) {
            self.builder.register::<C>();
            self.routes.push((name, cortex_di::Key::of::<C>, C::routes));
        }
        self
    }

    /// Registers an `#[injectable]` type or `#[provider]` by hand.
    pub fn register<T: Injectable>(mut self) -> Self {
        self.builder.register::<T>();
        self
    }

    /// Adds a provider.
    pub fn provide<T: ?Sized>(mut self, provider: Provider<T>) -> Self {
        self.builder.add(provider);
        self
    }

    /// Works on the container builder directly: overrides for tests, profiles, values.
    pub fn container(mut self, configure: impl FnOnce(&mut ContainerBuilder)) -> Self {
        configure(&mut self.builder);
        self
    }

    /// Registers `T`, provided on its own (by [`provide`](Self::provide), a `#[provider]`, a
    /// plugin), as a health check that `/health/ready` runs. An `#[injectable]` type that
    /// implements [`HealthCheck`] is registered already: adding it here too is a duplicate
    /// binding.
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::health::{HealthCheck, HealthStatus};
    ///
    /// struct Broker;
    /// impl HealthCheck for Broker {
    ///     const NAME: &'static str = "broker";
    ///     async fn check(&self) -> HealthStatus { HealthStatus::degraded("one node of three is down") }
    /// }
    ///
    /// let app = App::new()
    ///     .provide(cortex_di::Provider::value(Broker))
    ///     .health_check::<Broker>();
    /// # let _ = app;
    /// ```
    #[track_caller]
    pub fn health_check<T: HealthCheck>(mut self) -> Self {
        self.builder.add(crate::health::health_check::<T>());
        self
    }

    /// Makes `T`, provided on its own (by [`provide`](Self::provide), a `#[provider]`, a plugin),
    /// the store the rate limiter asks instead of the in-memory one: a Redis store, so that
    /// several instances share quotas. It is bound as a `dyn ErasedRateLimitStore` (see
    /// [`rate_limit_store`](crate::http::middleware::rate_limit_store)); an `#[injectable]` store
    /// can bind itself with `#[injectable(provides = dyn ErasedRateLimitStore)]` instead.
    ///
    /// An app has one store: a second fails [`build`](Self::build) with
    /// [`AppError::RateLimit`]. With `[http.rate_limit] enabled = false` the store is not asked,
    /// and the start logs a warning saying so (a profile may turn limiting off while a plugin
    /// still registers its store).
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::http::middleware::{Decision, RateLimitKey, RateLimitStore};
    /// use cortex_di::{BoxError, Provider};
    ///
    /// struct Redis;
    /// impl RateLimitStore for Redis {
    ///     async fn check(&self, _key: &RateLimitKey) -> Result<Decision, BoxError> {
    ///         Ok(Decision::allow(100, 99)) // a GCRA script on the server, in a real store
    ///     }
    /// }
    ///
    /// let app = App::new().provide(Provider::value(Redis)).rate_limit_store::<Redis>();
    /// # let _ = app;
    /// ```
    #[track_caller]
    pub fn rate_limit_store<T: RateLimitStore>(mut self) -> Self {
        self.builder
            .add(crate::http::middleware::rate_limit_store::<T>());
        self
    }

    /// Makes `T`, provided on its own, the [`PrincipalResolver`] that keys `key = "user"` rate
    /// limiting for requests whose extensions hold no `Principal`. It is bound as a
    /// `dyn PrincipalResolver` (see
    /// [`principal_resolver`](crate::http::middleware::principal_resolver)); an `#[injectable]`
    /// resolver can bind itself with `#[injectable(provides = dyn PrincipalResolver)]`. A second
    /// resolver fails [`build`](Self::build) with [`AppError::RateLimit`].
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::http::middleware::{Principal, PrincipalResolver};
    /// use cortex_di::Provider;
    /// use http::{Extensions, HeaderMap};
    ///
    /// struct ApiKeys;
    /// impl PrincipalResolver for ApiKeys {
    ///     fn resolve(&self, headers: &HeaderMap, _: &Extensions) -> Option<Principal> {
    ///         Some(Principal::new(headers.get("x-api-key")?.to_str().ok()?))
    ///     }
    /// }
    ///
    /// let app = App::new().provide(Provider::value(ApiKeys)).principal_resolver::<ApiKeys>();
    /// # let _ = app;
    /// ```
    #[track_caller]
    pub fn principal_resolver<T: PrincipalResolver>(mut self) -> Self {
        self.builder
            .add(crate::http::middleware::principal_resolver::<T>());
        self
    }

    /// Adds a route: what a plugin's [`build`](Plugin::build) calls to serve an endpoint of its
    /// own (`/metrics`, a webhook, an admin page) without a controller.
    ///
    /// A route is a controller's route in every way but its origin: a handler route
    /// ([`Route::get`], [`Route::from_handler`], ...) is served on the same fast path (the
    /// middleware stack wrapped around it before axum boxes it), its handler can take
    /// `Inject<T>` arguments (declare them with [`Route::with_dependency`] and they are checked
    /// at startup), it is in the route table (`cortex routes`, with origin `plugin` and the
    /// plugin's name, or `app`) and in the OpenAPI document ([`Route::with_summary`],
    /// [`Route::with_tag`], [`Route::with_response`], [`Route::describe`]; a plugin's routes are
    /// tagged with its name unless given tags). A path it shares with a controller (another
    /// method) is served by both; the same method and path twice, or two paths a request could
    /// match both of, fail [`build`](Self::build) with every such problem listed
    /// ([`AppError::Routes`]).
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::routing::{Route, RouteOrigin};
    ///
    /// let metrics = |app: App| app.route(Route::get("/metrics", "metrics", || async { "up 1\n" }));
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let app = App::new().plugin(metrics).build().await?;
    /// assert_eq!(app.routes()[0].path, "/metrics");
    /// assert_eq!(app.routes()[0].origin, RouteOrigin::Plugin);
    /// # Ok::<_, cortex_core::AppError>(())
    /// # }).unwrap();
    /// ```
    pub fn route(mut self, route: Route) -> Self {
        self.extra_routes
            .push((route, self.building_plugin.clone()));
        self
    }

    /// Reports that a plugin cannot set itself up — its configuration section is invalid, a
    /// setting contradicts another — from its [`build`](Plugin::build), which cannot return an
    /// error. [`build`](Self::build) then fails with [`AppError::Plugins`], the error listed
    /// (as [`PluginError::Build`](crate::plugin::PluginError::Build), naming the plugin) with
    /// every other plugin problem. What the plugin added before failing is never served.
    ///
    /// ```
    /// use cortex_core::{App, AppError, Plugin};
    /// use cortex_core::config::Config;
    /// use cortex_core::plugin::PluginManifest;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize, Default)]
    /// #[serde(default, deny_unknown_fields)]
    /// struct CacheConfig { capacity: usize }
    ///
    /// struct Cache;
    /// impl Plugin for Cache {
    ///     fn manifest(&self) -> PluginManifest {
    ///         PluginManifest::new("cache", "1.0.0").config_section("cache")
    ///     }
    ///     fn build(&self, app: App) -> App {
    ///         let config: CacheConfig = match app.config().get_or_default("cache") {
    ///             Ok(config) => config,
    ///             Err(error) => return app.fail(error),
    ///         };
    ///         app.provide(cortex_di::Provider::value(config))
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let config = Config::from_toml("[cache]\ncapacity = \"lots\"").unwrap();
    /// let err = App::with_config(config).plugin(Cache).build().await.unwrap_err();
    /// assert!(matches!(err, AppError::Plugins(_)));
    /// assert!(err.to_string().starts_with("plugin `cache` cannot be set up:"), "{err}");
    /// assert!(err.to_string().contains("cache.capacity"), "{err}");
    /// # });
    /// ```
    pub fn fail(mut self, error: impl Into<BoxError>) -> Self {
        let plugin = self
            .building_plugin
            .clone()
            .unwrap_or_else(|| "app".to_string());
        self.failures.push(PluginError::Build {
            plugin,
            source: crate::plugin::PluginFailure::new(error),
        });
        self
    }

    /// Adds several routes (see [`route`](Self::route)).
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::routing::Route;
    ///
    /// let app = App::new().routes([
    ///     Route::get("/flags", "list_flags", || async { "[]" }),
    ///     Route::post("/flags", "add_flag", || async { "added" }),
    /// ]);
    /// # let _ = app;
    /// ```
    pub fn routes(mut self, routes: impl IntoIterator<Item = Route>) -> Self {
        for route in routes {
            self = self.route(route);
        }
        self
    }

    /// Adds a request observer: the middleware stack calls it for every request, after the
    /// observers registered before it (see [`observe`](crate::http::observe) for what it sees
    /// and what it costs). It is bound in the container as a `dyn ErasedRequestObserver`, as
    /// observers provided with [`request_observer`](crate::http::observe::request_observer)
    /// are.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use cortex_core::App;
    /// use cortex_core::http::observe::{ObservedRequest, ObservedResponse, RequestObserver};
    ///
    /// #[derive(Default)]
    /// struct Responses(AtomicU64);
    /// impl RequestObserver for Responses {
    ///     type State = ();
    ///     fn on_request(&self, _: &ObservedRequest<'_>) {}
    ///     fn on_response(&self, _: (), _: &ObservedResponse<'_>) {
    ///         self.0.fetch_add(1, Ordering::Relaxed);
    ///     }
    /// }
    ///
    /// let app = App::new().observer(Responses::default());
    /// # let _ = app;
    /// ```
    #[track_caller]
    pub fn observer<O: crate::http::observe::RequestObserver>(mut self, observer: O) -> Self {
        use crate::http::observe::ErasedRequestObserver;
        self.observers += 1;
        let name = format!(
            "{} (App::observer #{})",
            std::any::type_name::<O>(),
            self.observers
        );
        let observer: Arc<dyn ErasedRequestObserver> = Arc::new(observer);
        self.builder
            .add(Provider::<dyn ErasedRequestObserver>::arc_value(observer).named(name));
        self
    }

    /// Merges a plain axum router (its routes get the same middleware).
    ///
    /// Prefer [`route`](Self::route) for what a plugin or the app serves: a router's paths are
    /// unknown to Cortex (axum does not list them), so
    ///
    /// - its routes are not in the route table, the OpenAPI document (add them with
    ///   [`openapi_with`](Self::openapi_with)) or the startup dependency checks;
    /// - a conflict between its paths and the app's is not reported as a [`RouteError`]: axum
    ///   panics at [`build`](Self::build) (`Overlapping method route`, `Invalid route ...`);
    /// - with any router merged, every controller and [`route`](Self::route) handler leaves the
    ///   fast path: each is boxed once more and served behind `Router::layer` (about 1,100
    ///   instructions more per request; see the guide's performance chapter), since a path on
    ///   both sides of the merge would otherwise get the stack twice or a `405` from the wrong
    ///   side, and serving the handlers in front of the router (as its fallback's owner) would
    ///   route `/users/me` to a handler's `/users/{id}` when the router has `/users/me`.
    pub fn router(mut self, router: Router) -> Self {
        self.routers.push(router);
        self
    }

    /// Adds an app-wide tower layer around every route the app serves: the controllers', the
    /// [`route`](Self::route)s, routers merged with [`router`](Self::router), health, OpenAPI,
    /// static files, and the 404/405 answers.
    ///
    /// It sits **inside** the middleware stack, between it and the routes: a request reaches it
    /// once the request id, the span, trusted proxies, CORS, rate limiting, the body limit and
    /// the timeout are done (a request they refuse never reaches it), with the container in its
    /// extensions; its responses get the security headers, compression and ETags, an error
    /// status it answers becomes `application/problem+json`, and a panic in it is a 500. Several
    /// layers wrap in the order added, the first outermost (as `tower::ServiceBuilder` reads).
    ///
    /// Cost: the first layer goes into the same `Router::layer` call as the stack, and the
    /// handlers leave the fast path (they are boxed once more, as with [`router`](Self::router)),
    /// so one layer costs its own work plus about 1,100 instructions per request (measured in the
    /// guide's performance chapter); each further `layer` call boxes every route once more. Pass
    /// several layers as one tuple `(outer, inner)` (or a `ServiceBuilder`) to pay that once.
    ///
    /// ```
    /// use axum::extract::Request;
    /// use axum::middleware::{Next, from_fn};
    /// use axum::response::Response;
    /// use cortex_core::App;
    ///
    /// async fn tenant(mut request: Request, next: Next) -> Response {
    ///     let tenant = request.headers().get("x-tenant").cloned();
    ///     request.extensions_mut().insert(tenant);
    ///     next.run(request).await
    /// }
    ///
    /// let app = App::new().layer(from_fn(tenant));
    /// # let _ = app;
    /// ```
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service: tower::Service<
                axum::extract::Request,
                Response = axum::response::Response,
                Error = std::convert::Infallible,
            > + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
    {
        self.layers.push(crate::routing::erase_layer(layer));
        self
    }

    /// Adds a `tracing` layer (an OpenTelemetry exporter, a metrics bridge) to the log subscriber
    /// Cortex installed: what a plugin's `build` calls. It sees every span and event the `[log]`
    /// filter lets through, from now on.
    ///
    /// The subscriber is global and installed by `#[cortex::main]` before `main` runs; without it
    /// (an app or test that installed its own subscriber, or none) the layer is dropped, with a
    /// `debug` line. See [`logging::add_layer`](crate::logging::add_layer) for what such a layer
    /// may not do.
    ///
    /// ```
    /// use cortex_core::App;
    /// use tracing_subscriber::layer::Identity;
    ///
    /// cortex_core::logging::init();
    /// let app = App::new().log_layer(Identity::new());
    /// # let _ = app;
    /// ```
    pub fn log_layer(
        self,
        layer: impl tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
    ) -> Self {
        if !crate::logging::add_layer(layer) {
            tracing::debug!("log layer dropped: the installed subscriber is not Cortex's");
        }
        self
    }

    /// Adds a plugin. Plugins are applied by [`build`](Self::build), each after the plugins its
    /// [manifest](Plugin::manifest) depends on and in the order they were added otherwise, unless
    /// `[plugins] disable` names it; see [`plugin`](crate::plugin).
    pub fn plugin(mut self, plugin: impl Plugin) -> Self {
        self.plugins
            .push(crate::plugin::Pending::new(Box::new(plugin), false));
        self
    }

    /// Marks a path (`/metrics`) or a prefix (`/admin/probes/*`) as an operational endpoint, which
    /// the rate limiter never refuses: what a plugin serving probes or metrics calls. `/health/*`
    /// and `/metrics` are operational from the start (see
    /// [`OperationalPaths`](crate::http::middleware::OperationalPaths)); a pattern that is not a
    /// path fails [`build`](Self::build).
    ///
    /// ```
    /// use cortex_core::App;
    ///
    /// let app = App::new().operational_path("/internal/status");
    /// # let _ = app;
    /// ```
    pub fn operational_path(mut self, pattern: impl Into<String>) -> Self {
        self.operational_paths.push(pattern.into());
        self
    }

    /// Marks a request header as a credential, written as `********` when `[http.trace] headers`
    /// lists it: what a plugin that reads a credential from a header of its own calls (the auth
    /// plugin does for `[auth.api_keys] header`). `Authorization`, `Proxy-Authorization`,
    /// `Cookie`, `Set-Cookie`, `X-Api-Key`, `Api-Key` and any name that looks secret
    /// ([`is_secret_key`](crate::config::is_secret_key): `x-auth-token`, `x-client-key`) are
    /// masked already. A name that is not a header name fails [`build`](Self::build).
    ///
    /// ```
    /// use cortex_core::App;
    ///
    /// let app = App::new().sensitive_header("x-client-id");
    /// # let _ = app;
    /// ```
    pub fn sensitive_header(mut self, name: impl Into<String>) -> Self {
        self.sensitive_headers.push(name.into());
        self
    }

    /// Turns on deny-by-default: [`build`](Self::build) fails unless every route — the
    /// controllers', the app's and the plugins' — has a guard that declares an access policy
    /// ([`GuardDoc::access`](crate::openapi::GuardDoc::access): `#[guard(Authenticated)]`,
    /// `#[guard(Role("admin"))]`, a guard of your own) or is marked public (`#[public]`,
    /// [`Route::public`]). The framework's routes (health, OpenAPI, static files) and
    /// [operational paths](Self::operational_path) are exempt. A guard that declares no policy
    /// (a [`guard_fn`](crate::routing::guard_fn), a guard whose `describe` says nothing) does not
    /// count: it may check anything, and the check is meant to fail closed.
    ///
    /// The routes that fail are listed in one error ([`RouteError::Unguarded`] inside
    /// [`AppError::Routes`]). The auth plugin calls this when `[auth] deny_by_default = true`.
    /// `cortex routes --audit` shows every route's policy without failing.
    ///
    /// ```
    /// use cortex_core::{App, AppError};
    /// use cortex_core::routing::{Route, RouteError};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let err = App::new()
    ///     .deny_by_default()
    ///     .route(Route::get("/login", "login_form", || async { "<form>" }).public())
    ///     .route(Route::get("/admin", "admin", || async { "secret" }))
    ///     .build()
    ///     .await
    ///     .unwrap_err();
    /// let AppError::Routes(errors) = &err else { panic!("{err}") };
    /// assert!(matches!(errors.errors(), [RouteError::Unguarded { routes }] if routes == &["GET /admin (admin)"]));
    /// # });
    /// ```
    pub fn deny_by_default(mut self) -> Self {
        self.deny_by_default = true;
        self
    }

    /// Uses this middleware configuration instead of `[http]` from the configuration.
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http = Some(config);
        self
    }

    /// Uses this server configuration instead of `[server]` from the configuration, `host` and
    /// `port` included.
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::config::ServerConfig;
    /// use std::time::Duration;
    ///
    /// let server = ServerConfig { drain_timeout: Duration::from_secs(5), ..ServerConfig::default() };
    /// let app = App::new().server_config(server);
    /// # let _ = app;
    /// ```
    pub fn server_config(mut self, config: ServerConfig) -> Self {
        self.serve = Some((config, false));
        self
    }

    /// Uses these connection settings instead of `[server]`'s, keeping `host` and `port` from the
    /// configuration.
    #[deprecated(
        since = "0.1.0",
        note = "use `server_config`, which takes the whole `[server]` section (read it with `config.server()?` to keep the configured address)"
    )]
    #[allow(deprecated)]
    pub fn serve_options(mut self, options: crate::server::ServeOptions) -> Self {
        self.serve = Some((options, true));
        self
    }

    /// Changes the OpenAPI document once it is built from the routes: servers, security schemes,
    /// tag descriptions, operations of routes added with [`router`](Self::router).
    ///
    /// ```
    /// use cortex_core::App;
    /// use utoipa::openapi::server::Server;
    ///
    /// let app = App::new().openapi_with(|doc| {
    ///     doc.servers = Some(vec![Server::new("https://api.example.com")]);
    /// });
    /// # let _ = app;
    /// ```
    pub fn openapi_with(
        mut self,
        modify: impl Fn(&mut utoipa::openapi::OpenApi) + Send + Sync + 'static,
    ) -> Self {
        self.openapi_hooks.push(Box::new(modify));
        self
    }

    /// Runs `hook` after the container is built and its singletons' `OnStart` hooks ran, before
    /// the routes are assembled and the server binds; an error stops the start (migrations,
    /// warm-up) and shuts the container down.
    pub fn on_start<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Container) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.on_start.push(Box::new(move |c| Box::pin(hook(c))));
        self
    }

    /// Runs `hook` once the server is listening, after the singletons' `OnReady` hooks; an error
    /// stops the app (it drains and shuts down) and is returned.
    pub fn on_ready<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Container) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.on_ready.push(Box::new(move |c| Box::pin(hook(c))));
        self
    }

    /// Runs `hook` after the server has drained and before the container disposes its singletons.
    pub fn on_shutdown<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Container) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.on_shutdown.push(Box::new(move |c| Box::pin(hook(c))));
        self
    }

    /// Runs `hook` once the app is built — container, routes, plugins and middleware — with
    /// read access to the [`Application`]: its [`routes`](Application::routes),
    /// [`plugins`](Application::plugins), [`container`](Application::container) (and its
    /// dependency graph) and [`config`](Application::config). What a plugin calls from its
    /// `build` to show the app it is part of (the operations dashboard does). The hooks run in
    /// the order added, after the `on_start` closures and before the server binds; not in
    /// inspection mode (`CORTEX_INSPECT`) nor for a task (`CORTEX_TASK`).
    ///
    /// ```
    /// use std::sync::{Arc, OnceLock};
    /// use cortex_core::App;
    /// use cortex_core::routing::Route;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let seen = Arc::new(OnceLock::new());
    /// let keep = seen.clone();
    /// let app = App::new()
    ///     .route(Route::get("/users/{id}", "show_user", || async { "user" }))
    ///     .on_built(move |app| {
    ///         let _ = keep.set(app.routes().iter().map(|r| r.path.clone()).collect::<Vec<_>>());
    ///     })
    ///     .build()
    ///     .await?;
    /// assert_eq!(seen.get().unwrap(), &["/users/{id}"]);
    /// # let _ = app;
    /// # Ok::<_, cortex_core::AppError>(())
    /// # }).unwrap();
    /// ```
    pub fn on_built(mut self, hook: impl FnOnce(&Application) + Send + Sync + 'static) -> Self {
        self.on_built.push(Box::new(hook));
        self
    }

    /// Builds the container (validating the graph, creating the eager singletons), runs the
    /// singletons' `OnStart` hooks and then the `on_start` closures, and builds the routes
    /// (checking their dependencies, that no two handlers serve one method and path, and every
    /// path as axum's router will, so that a conflict is an [`AppError::Routes`] listing them all
    /// instead of a panic in axum) and the middleware stack.
    pub async fn build(self) -> Result<Application, AppError> {
        self.build_with(true).await
    }

    /// Builds as [`build`](Self::build) does but creating nothing: the container is validated
    /// and built with `ContainerBuilder::build_for_inspection` (no factory, no `OnStart` hook), no
    /// `on_start` closure runs, controllers and injected guards are not resolved and no health
    /// check is collected. What inspection mode (`CORTEX_INSPECT`) prints from; the router it
    /// returns must not serve requests.
    pub(crate) async fn build_for_inspection(self) -> Result<Application, AppError> {
        self.build_with(false).await
    }

    async fn build_with(self, start: bool) -> Result<Application, AppError> {
        let (mut app, plugins) = self.apply_plugins()?;
        let on_built = std::mem::take(&mut app.on_built);
        let application = app.build_applied(start, plugins).await?;
        // Inspection serves nothing: nobody needs to read the app then.
        for hook in on_built.into_iter().filter(|_| start) {
            hook(&application);
        }
        Ok(application)
    }

    /// Applies the plugins in dependency order, then those the plugins themselves added, and so
    /// on; returns the app and what was applied (the disabled plugins last).
    fn apply_plugins(mut self) -> Result<(App, Vec<PluginInfo>), AppError> {
        let config: PluginsConfig = self.config.get_or_default("plugins")?;
        let mut applied: Vec<PluginInfo> = Vec::new();
        loop {
            let pending = std::mem::take(&mut self.plugins);
            if pending.is_empty() {
                break;
            }
            match crate::plugin::resolve(pending, &config.disable, &applied) {
                Ok((plugins, infos)) => {
                    for plugin in plugins {
                        let name = plugin.manifest().name;
                        tracing::debug!(plugin = name, "plugin");
                        self.building_plugin = Some(name);
                        self = plugin.build(self);
                        self.building_plugin = None;
                    }
                    applied.extend(infos);
                }
                Err(problems) => {
                    let mut problems: Vec<PluginError> = std::mem::take(&mut self.failures)
                        .into_iter()
                        .chain(problems)
                        .collect();
                    problems.extend(crate::plugin::unknown_disabled(&config.disable, &applied));
                    return Err(AppError::Plugins(PluginErrors(problems)));
                }
            }
        }
        let mut problems = std::mem::take(&mut self.failures);
        problems.extend(crate::plugin::unknown_disabled(&config.disable, &applied));
        if !problems.is_empty() {
            return Err(AppError::Plugins(PluginErrors(problems)));
        }
        // Enabled in application order, then the disabled ones.
        applied.sort_by_key(|p| p.order.unwrap_or(usize::MAX));
        Ok((self, applied))
    }

    async fn build_applied(
        mut self,
        start: bool,
        plugins: Vec<PluginInfo>,
    ) -> Result<Application, AppError> {
        for (i, (name, _)) in self.tasks.iter().enumerate() {
            if name.trim().is_empty() {
                return Err(AppError::Task(
                    "a task has an empty name; hint: name it as `cortex run` will, e.g. `App::task(\"db:seed\", ..)`".into(),
                ));
            }
            if self.tasks[..i].iter().any(|(other, _)| other == name) {
                return Err(AppError::Task(format!(
                    "two tasks are named `{name}`; hint: give each `App::task` its own name"
                )));
            }
        }
        let http = match self.http.take() {
            Some(h) => h,
            None => self.config.get_or_default::<HttpConfig>("http")?,
        };
        let serve = match self.serve.take() {
            Some((set, false)) => set,
            Some((set, true)) => {
                let from_config = self.config.server()?;
                ServerConfig {
                    host: from_config.host,
                    port: from_config.port,
                    ..set
                }
            }
            None => self.config.server()?,
        };
        serve.validate()?;
        let mut stack = Stack::new(&http)?;
        for pattern in &self.operational_paths {
            stack = stack.with_operational_path(pattern)?;
        }
        for name in &self.sensitive_headers {
            stack = stack.with_sensitive_header(name)?;
        }
        let openapi_config = OpenApiConfig::from_config(&self.config)?;
        let mut openapi = openapi_config
            .enabled
            .then(|| OpenApiBuilder::from_config(&openapi_config));
        // Inspection (`cortex routes`) validates the graph and creates nothing: not even the
        // rate-limit store or principal resolver the container may provide.
        let (container, stack) = if start {
            let container = self.builder.build().await?;
            let stack = stack.with_container(&container)?;
            (container, stack)
        } else {
            (self.builder.build_for_inspection()?, stack)
        };
        // The singletons' OnStart hooks (dependencies first), then the app's own closures, each
        // in a `lifecycle.hook` span and timed.
        if start {
            sync_hook_spans();
            container.start().await?;
        }
        for hook in self.on_start.iter().filter(|_| start) {
            let run = hook(container.clone());
            if let Err(source) = observe_app_hook("App::on_start", "start", run).await {
                container.shutdown().await;
                return Err(AppError::Hook {
                    stage: "on_start",
                    source,
                });
            }
        }

        let mut table: Vec<RouteInfo> = Vec::new();
        let mut router = Router::new();
        // Handlers not boxed yet, by path: wrapped in the stack below, then boxed once.
        let mut handlers: BTreeMap<String, Vec<AddHandler>> = BTreeMap::new();
        // Paths the stack wraps as a whole router; the health probes are merged in below.
        let mut boxed_paths: HashSet<String> = Health::PATHS.map(String::from).into();
        // Finished `MethodRouter`s by path: added to the router once the paths are checked (axum
        // panics on a conflict).
        let mut routers_by_path: BTreeMap<String, Vec<MethodRouter>> = BTreeMap::new();
        let mut problems = Vec::new();
        let mut schemes = crate::openapi::SchemeRegistry::default();
        // The controllers' routes, then the `App::route`s, each with its origin.
        let mut all_routes: Vec<(Route, RouteOrigin, Option<String>)> = Vec::new();
        for (controller, key, routes_fn) in &self.routes {
            if !container.contains(&key()) {
                // Left out by a profile or condition, and its routes with it.
                continue;
            }
            let routes = routes_fn(&container).map_err(|source| {
                AppError::Routes(RouteErrors(vec![RouteError::Controller {
                    controller: controller.to_string(),
                    source,
                }]))
            })?;
            all_routes.extend(
                routes
                    .into_iter()
                    .map(|route| (route, RouteOrigin::Controller, None)),
            );
        }
        for (route, plugin) in self.extra_routes.drain(..) {
            let origin = match plugin {
                Some(_) => RouteOrigin::Plugin,
                None => RouteOrigin::App,
            };
            all_routes.push((route, origin, plugin));
        }
        // With app layers, every route goes behind `Router::layer` (see `App::layer`).
        let layered = !self.layers.is_empty();
        {
            for (route, origin, plugin) in all_routes {
                let parts = route.into_parts();
                let (mut info, serve, dependencies) = (parts.info, parts.serve, parts.dependencies);
                info.origin = origin;
                info.plugin = plugin;
                for dep in &dependencies {
                    if !dep.is_optional() && !container.contains(dep.key()) {
                        problems.push(RouteError::UnknownDependency {
                            handler: info.handler.clone(),
                            method: info.method.clone(),
                            path: info.path.clone(),
                            dependency: dep.key().to_string(),
                            argument: dep.field_name().unwrap_or("?").to_string(),
                        });
                    }
                }
                if let Some(other) = table
                    .iter()
                    .find(|t| t.method == info.method && t.path == info.path)
                {
                    problems.push(RouteError::Duplicate {
                        method: info.method.clone(),
                        path: info.path.clone(),
                        first: other.handler.clone(),
                        second: info.handler.clone(),
                    });
                    continue;
                }
                match serve {
                    Serve::Router(method_router) => {
                        boxed_paths.insert(info.path.clone());
                        routers_by_path
                            .entry(info.path.clone())
                            .or_default()
                            .push(method_router);
                    }
                    Serve::Handler(add) => handlers.entry(info.path.clone()).or_default().push(add),
                }
                // Guards' security schemes are checked with the document off too: an app does
                // not start in one profile only.
                match &mut openapi {
                    Some(openapi) => problems.extend(crate::routing::add_operation(
                        openapi,
                        &info,
                        parts.openapi,
                        parts.doc,
                        &parts.guard_doc,
                    )),
                    None => {
                        schemes.declare(&info, &parts.guard_doc, &mut problems);
                    }
                }
                table.push(info);
            }
        }
        let openapi = openapi.map(|mut builder| {
            for hook in &self.openapi_hooks {
                hook(builder.document_mut());
            }
            builder.build()
        });
        let framework = framework_routes(&openapi_config, openapi.is_some(), &http);
        // Paths axum would panic on, all at once: overlaps, malformed paths, framework paths.
        let openapi_paths: Vec<(&str, &'static str)> = if openapi.is_some() {
            vec![
                (openapi_config.path.as_str(), "the OpenAPI document"),
                (openapi_config.docs_path.as_str(), "the OpenAPI UI"),
            ]
        } else {
            Vec::new()
        };
        problems.extend(crate::routing::check_paths(
            &table,
            &framework,
            &openapi_paths,
        ));
        // Inspection (`cortex routes --audit`) shows these routes instead of failing on them.
        if start {
            problems.extend(crate::routing::check_access(
                &table,
                self.deny_by_default,
                stack.operational_paths(),
            ));
        }
        if !problems.is_empty() {
            return Err(AppError::Routes(RouteErrors(problems)));
        }
        for (path, method_routers) in routers_by_path {
            for method_router in method_routers {
                router = router.route(&path, method_router);
            }
        }
        if let Some(spec) = &openapi {
            router = router.merge(crate::openapi::router(spec, &openapi_config));
        }
        // Other routers' paths are not known (axum does not list them): with any, every handler
        // goes the usual way, so that no path is served from both sides of the merge below.
        let other_routers = !self.routers.is_empty();
        for extra in self.routers.drain(..) {
            router = router.merge(extra);
        }

        let draining = Arc::new(AtomicBool::new(false));
        // Inspection creates no health check (they are never run there).
        let checks: Vec<Arc<dyn ErasedHealthCheck>> = if container.is_inspection() {
            Vec::new()
        } else {
            container
                .get_all::<dyn ErasedHealthCheck>()?
                .into_iter()
                .map(|c| c.into_arc())
                .collect()
        };
        let health = Health::new(checks, draining.clone(), self.health_timeout);
        // A check registered nowhere is silently absent from /health/ready: say which ran.
        if !container.is_inspection() {
            tracing::info!(checks = ?health.names(), "readiness checks: {}", match health.names() {
                names if names.is_empty() => "none registered".to_string(),
                names => names.join(", "),
            });
        }
        let mut router = router.merge(health.router());
        // The stack does the container's and the problem layer's work too (one service and
        // future instead of three).
        let fused = stack.for_app(container.clone())?;
        // Controller handlers go into the stack before axum boxes them: one boxed service per
        // request, as with a bare axum handler. A path some other route also serves (a
        // decorated controller route, or another router's) gets its handlers the usual way.
        let mut direct = Router::new();
        let mut unboxed_paths = Vec::new();
        for (path, adds) in handlers {
            if other_routers || layered || boxed_paths.contains(&path) {
                for add in adds {
                    router = router.route(&path, add(MethodRouter::new(), None));
                }
                continue;
            }
            let fused = fused.for_route(&path);
            let mut method_router = MethodRouter::new();
            for add in adds {
                method_router = add(method_router, Some(&fused));
            }
            direct = direct.route(
                &path,
                fused.method_fallback(method_router, method_not_allowed),
            );
            unboxed_paths.push(path);
        }
        // One `Router::layer` call for everything else (each call boxes every route again);
        // `with_state(())` then builds each route's layered service once, where a `Router<()>`
        // left as is rebuilds it on every request.
        let router = match self.layers.split_first() {
            None => fused.apply(problem_fallbacks(router)).merge(direct),
            // The app's layers inside the stack: the inner ones (last added innermost) first,
            // then the outermost in the stack's own call.
            Some((outermost, inner)) => {
                let mut router = fused.mount_static(problem_fallbacks(router));
                for layer in inner.iter().rev() {
                    router = layer(router, None);
                }
                outermost(router, Some(fused.layer())).merge(direct)
            }
        }
        .with_state(());

        table.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
        Ok(Application {
            config: self.config,
            container,
            router,
            routes: table,
            framework,
            unboxed_paths,
            openapi,
            serve,
            draining,
            on_ready: self.on_ready,
            on_shutdown: self.on_shutdown,
            plugins,
            shutdown: self.shutdown,
            addresses: self.addresses,
            tasks: self.tasks,
            readied: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Builds, then serves on `[server] host:port` until SIGTERM or SIGINT, then drains and shuts
    /// down.
    ///
    /// With `CORTEX_INSPECT` set, prints what it asks for instead (see [`inspect`](crate::inspect)).
    ///
    /// With `CORTEX_TASK` set, runs that task instead of serving (see [`task`](Self::task)); a name
    /// the app does not know is an error naming the known ones, before any hook runs.
    pub async fn run(self) -> Result<(), AppError> {
        if let Some(request) = crate::inspect::Inspect::from_env()? {
            return crate::inspect::run(self, request).await;
        }
        if let Some(task) = crate::task::from_env() {
            return self.run_named_task(&task).await;
        }
        self.build().await?.run().await
    }

    /// What [`run`](Self::run) does with `CORTEX_TASK=name`: applies the plugins first (they
    /// register tasks too, as the data plugin does its `db:*`), then refuses a name the app does
    /// not know before any hook runs, then builds and runs the task.
    async fn run_named_task(self, name: &str) -> Result<(), AppError> {
        let (app, plugins) = self.apply_plugins()?;
        if !app.tasks.iter().any(|(n, _)| n == name) {
            let known: Vec<&str> = app.tasks.iter().map(|(n, _)| n.as_str()).collect();
            return Err(crate::task::unknown(name, &known));
        }
        app.build_applied(true, plugins).await?.run_task(name).await
    }
}

/// The routes Cortex adds to the controllers': health, the OpenAPI document and page (when
/// enabled), and the static directories.
fn framework_routes(
    openapi: &OpenApiConfig,
    openapi_served: bool,
    http: &HttpConfig,
) -> Vec<FrameworkRoute> {
    let [live, ready] = Health::PATHS;
    let mut routes = vec![
        FrameworkRoute::get(live, "liveness", FrameworkOrigin::Health),
        FrameworkRoute::get(ready, "readiness", FrameworkOrigin::Health),
    ];
    if openapi_served {
        routes.push(FrameworkRoute::get(
            &openapi.path,
            "OpenAPI document",
            FrameworkOrigin::OpenApi,
        ));
        if !openapi.docs_path.is_empty() {
            routes.push(FrameworkRoute::get(
                &openapi.docs_path,
                "API docs page",
                FrameworkOrigin::OpenApi,
            ));
        }
    }
    for mount in &http.static_files {
        let dir = mount.dir.display();
        let (path, handler) = if mount.path == "/" {
            (
                "/{*path}".to_string(),
                format!("files of {dir} (paths no route serves)"),
            )
        } else {
            (
                format!("{}/{{*path}}", mount.path.trim_end_matches('/')),
                format!("files of {dir}"),
            )
        };
        routes.push(FrameworkRoute::get(path, handler, FrameworkOrigin::Static));
    }
    routes
}

/// What the shutdown line reports.
struct Drained {
    summary: ServeSummary,
    /// `on_shutdown` closures and singletons' `OnShutdown` hooks run.
    hooks_run: usize,
    /// `on_shutdown` closures that returned an error (each logged with it).
    hooks_failed: usize,
    /// `OnShutdown` hooks cut at `[container] shutdown_timeout` (logged with their names).
    hooks_timed_out: usize,
    elapsed: Duration,
}

/// The shutdown line: one `info` event (`warn` when something was cut or failed) saying what
/// the drain found and did, each number also a field.
fn log_stopped(drained: &Drained) {
    let summary = &drained.summary;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let open = summary.open_at_shutdown;
    let cut = summary.forced_closed.min(open);
    let message = format!(
        "stopped in {:?}: {open} connection{} open at shutdown ({} closed in time, {cut} cut at the drain timeout), \
         {} request{} in flight, {} tracked task{} finished and {} aborted, {} shutdown hook{} run ({} failed, {} timed out)",
        drained.elapsed,
        plural(open),
        open - cut,
        summary.in_flight_at_shutdown,
        plural(summary.in_flight_at_shutdown),
        summary.tasks_finished,
        plural(summary.tasks_finished),
        summary.tasks_aborted,
        drained.hooks_run,
        plural(drained.hooks_run),
        drained.hooks_failed,
        drained.hooks_timed_out,
    );
    let clean = cut == 0
        && summary.tasks_aborted == 0
        && drained.hooks_failed == 0
        && drained.hooks_timed_out == 0;
    macro_rules! stopped {
        ($level:ident) => {
            tracing::$level!(
                connections_open = open,
                connections_closed = open - cut,
                connections_cut = cut,
                requests_in_flight = summary.in_flight_at_shutdown,
                tasks_finished = summary.tasks_finished,
                tasks_aborted = summary.tasks_aborted,
                hooks_run = drained.hooks_run,
                hooks_failed = drained.hooks_failed,
                hooks_timed_out = drained.hooks_timed_out,
                elapsed_ms = u64::try_from(drained.elapsed.as_millis()).unwrap_or(u64::MAX),
                "{message}"
            )
        };
    }
    if clean {
        stopped!(info)
    } else {
        stopped!(warn)
    }
}

/// What the startup line says, each part ready to write.
struct Banner {
    /// The main address as a URL (`localhost` for an unspecified address).
    url: String,
    profile: String,
    routes: usize,
    /// `auth 0.1.0, data 0.1.0` (applied plugins only), or `none`.
    plugins: String,
    docs: Option<String>,
    openapi: Option<String>,
    /// The health probes' URLs, comma-separated.
    health: String,
    /// `admin http://…, grpc http://…` (what plugins reported), or empty.
    others: String,
}

impl Banner {
    fn of(app: &Application, addr: SocketAddr) -> Banner {
        let host = if addr.ip().is_unspecified() {
            "localhost".to_string()
        } else {
            match addr {
                SocketAddr::V4(v4) => v4.ip().to_string(),
                SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
            }
        };
        let url = format!("{}://{host}:{}", app.serve.scheme(), addr.port());
        let plugins: Vec<String> = app
            .plugins
            .iter()
            .filter(|p| p.order.is_some())
            .map(|p| match &p.version {
                Some(version) => format!("{} {version}", p.name),
                None => p.name.clone(),
            })
            .collect();
        let framework = |origin: FrameworkOrigin| {
            app.framework
                .iter()
                .filter(move |r| r.origin == origin)
                .map(|r| format!("{url}{}", r.path))
        };
        let mut openapi = framework(FrameworkOrigin::OpenApi);
        let (openapi, docs) = (openapi.next(), openapi.next());
        Banner {
            url: url.clone(),
            profile: app.config.profile().to_string(),
            routes: app.routes.len(),
            plugins: if plugins.is_empty() {
                "none".into()
            } else {
                plugins.join(", ")
            },
            docs,
            openapi,
            health: framework(FrameworkOrigin::Health)
                .collect::<Vec<_>>()
                .join(", "),
            others: app
                .addresses
                .list()
                .iter()
                .map(|(name, url)| format!("{name} {url}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

impl std::fmt::Display for Banner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "listening on {} (profile `{}`, {} route{}, plugins: {})",
            self.url,
            self.profile,
            self.routes,
            s(self.routes),
            self.plugins
        )?;
        if !self.others.is_empty() {
            write!(f, "; also {}", self.others)?;
        }
        if let Some(docs) = self.docs.as_ref().or(self.openapi.as_ref()) {
            write!(f, "; API docs {docs}")?;
        }
        if !self.health.is_empty() {
            write!(f, "; health {}", self.health)?;
        }
        Ok(())
    }
}

/// Logs where `config` came from, once at startup.
fn log_loaded(config: &Config) {
    let files: Vec<String> = config
        .files()
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    tracing::info!(
        profile = config.profile().as_str(),
        files = ?files,
        env_vars = ?config.env_vars(),
        "configuration loaded: profile `{}`, {} file(s), {} CORTEX_* variable(s)",
        config.profile(),
        files.len(),
        config.env_vars().len(),
    );
    if !config.found_cortex_toml() {
        let dir = config.dir().unwrap_or(std::path::Path::new(""));
        // `dir` is empty for the current directory: name the directory itself.
        let shown = std::path::absolute(dir)
            .or_else(|_| std::env::current_dir())
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| dir.display().to_string());
        tracing::warn!(
            dir = %shown,
            "no cortex.toml in {shown}: the app runs on its built-in defaults (and any cortex.{}.toml and CORTEX_* variables); hint: start it from the app's folder, or set CORTEX_CONFIG_DIR",
            config.profile(),
        );
    }
}

/// What [`App::discover`] logs, and `TestApp::discover` prints, when the binary links no
/// component at all: most likely they live in a crate the binary never names.
pub(crate) const NOTHING_DISCOVERED: &str = "discover() found nothing: no #[injectable], #[provider] or #[controller] is linked into this binary; hint: a crate is linked only when the binary names it. #[cortex::main] names its package's own library (src/lib.rs); for another crate that declares components (a workspace member, or the app's library seen from a test file), write `use that_crate as _;`";

/// Whether the binary links no `#[injectable]`, `#[provider]` or `#[routes]` at all.
pub(crate) fn nothing_to_discover() -> bool {
    cortex_di::registrations().next().is_none() && crate::routing::registrations().next().is_none()
}

/// A built application: its router (with every middleware), container and route table.
pub struct Application {
    config: Config,
    container: Container,
    router: Router,
    routes: Vec<RouteInfo>,
    framework: Vec<FrameworkRoute>,
    /// Paths whose handlers were wrapped in the stack before axum boxed them.
    unboxed_paths: Vec<String>,
    openapi: Option<Spec>,
    serve: ServerConfig,
    draining: Arc<AtomicBool>,
    on_ready: Vec<Hook>,
    on_shutdown: Vec<Hook>,
    plugins: Vec<PluginInfo>,
    shutdown: ShutdownSignal,
    addresses: ListenAddresses,
    tasks: Vec<(String, Hook)>,
    /// Set once the `OnReady` hooks and `on_ready` closures ran (`TestApp` runs them, then
    /// `serve` must not run the closures again).
    readied: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// The app's plugins: the applied ones in the order they were applied, then those
    /// `[plugins] disable` turned off (what `cortex plugins` lists).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let app = cortex_core::App::new().plugin(|app: cortex_core::App| app).build().await?;
    /// assert_eq!(app.plugins().len(), 1);
    /// # Ok::<_, cortex_core::AppError>(())
    /// # }).unwrap();
    /// ```
    pub fn plugins(&self) -> &[PluginInfo] {
        &self.plugins
    }

    /// The complete router; `tower::ServiceExt::oneshot` on it serves a request in-process.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The container.
    pub fn container(&self) -> &Container {
        &self.container
    }

    /// The app's [`ShutdownSignal`] (see [`App::shutdown_signal`]).
    pub fn shutdown_signal(&self) -> &ShutdownSignal {
        &self.shutdown
    }

    /// The names of the app's tasks (see [`App::task`]), in the order they were added.
    pub fn task_names(&self) -> Vec<&str> {
        self.tasks.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// Runs the task `name` (see [`App::task`]) on this built app instead of serving, then shuts
    /// the app down as a drain would: the [`ShutdownSignal`] trips, tracked tasks are waited for
    /// (up to `[server] drain_timeout`), the `on_shutdown` closures and the `OnShutdown` hooks run.
    /// The task's error is [`AppError::TaskFailed`]; an unknown name is [`AppError::Task`],
    /// naming the known ones.
    ///
    /// ```
    /// use cortex_core::{App, AppError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), AppError> {
    /// let app = App::new()
    ///     .task("fail", |_| async { Err("the table `users` is missing".into()) })
    ///     .build()
    ///     .await?;
    /// let err = app.run_task("fail").await.unwrap_err();
    /// assert_eq!(err.to_string(), "task `fail` failed: the table `users` is missing");
    /// # Ok(()) }
    /// ```
    pub async fn run_task(self, name: &str) -> Result<(), AppError> {
        let Some(index) = self.tasks.iter().position(|(n, _)| n == name) else {
            return Err(crate::task::unknown(name, &self.task_names()));
        };
        tracing::info!(task = name, "running task `{name}`");
        let outcome = (self.tasks[index].1)(self.container.clone()).await;
        self.shutdown.trip();
        self.shutdown.wait_tracked(self.serve.drain_timeout).await;
        let failed = outcome.err().map(|source| AppError::TaskFailed {
            task: name.to_string(),
            source,
        });
        let first_error = failed.or(self.run_on_shutdown().await.err());
        self.container.shutdown().await;
        match first_error {
            Some(e) => Err(e),
            None => {
                tracing::info!(task = name, "task `{name}` done");
                Ok(())
            }
        }
    }

    /// The singletons' `OnReady` hooks, then the `on_ready` closures: once, however often it is
    /// called (`serve_on` after `TestApp` did it runs nothing again).
    pub(crate) async fn ready(&self) -> Result<(), AppError> {
        sync_hook_spans();
        self.container.ready().await?;
        if self.readied.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return Ok(());
        }
        for hook in &self.on_ready {
            observe_app_hook("App::on_ready", "ready", hook(self.container.clone()))
                .await
                .map_err(|source| AppError::Hook {
                    stage: "on_ready",
                    source,
                })?;
        }
        Ok(())
    }

    /// The startup line: one `info` event, `listening on <url>` and what the app serves there,
    /// with each part also as a field for JSON logs.
    fn log_banner(&self, addr: SocketAddr) {
        let banner = Banner::of(self, addr);
        tracing::info!(
            address = %addr,
            url = %banner.url,
            profile = self.config.profile().as_str(),
            routes = self.routes.len(),
            plugins = %banner.plugins,
            docs_url = banner.docs.as_deref(),
            openapi_url = banner.openapi.as_deref(),
            health_urls = %banner.health,
            other_addresses = (!banner.others.is_empty()).then_some(banner.others.as_str()),
            "{banner}"
        );
    }

    /// The `on_shutdown` closures, in order: each error is logged, the others still run, and the
    /// first is returned.
    pub(crate) async fn run_on_shutdown(&self) -> Result<(), AppError> {
        self.run_on_shutdown_counted().await.1.map_or(Ok(()), Err)
    }

    /// Runs the `on_shutdown` closures; returns how many failed, and the first error.
    async fn run_on_shutdown_counted(&self) -> (usize, Option<AppError>) {
        // The container's `OnShutdown` hooks follow: their spans at the level of today's flag.
        sync_hook_spans();
        let mut first_error = None;
        let mut failed = 0;
        for hook in &self.on_shutdown {
            let run = hook(self.container.clone());
            if let Err(source) = observe_app_hook("App::on_shutdown", "shutdown", run).await {
                tracing::error!(error = %source, "on_shutdown hook failed");
                failed += 1;
                first_error.get_or_insert(AppError::Hook {
                    stage: "on_shutdown",
                    source,
                });
            }
        }
        (failed, first_error)
    }

    /// `[server] drain_timeout`: how long the drain waits, for `TestApp::shutdown` too.
    pub(crate) fn drain_timeout(&self) -> Duration {
        self.serve.drain_timeout
    }

    /// The route table of the controllers (and routes added as [`Route`]s), sorted by path.
    pub fn routes(&self) -> &[RouteInfo] {
        &self.routes
    }

    /// The routes the framework serves next to [`routes`](Self::routes): `/health/live`,
    /// `/health/ready`, the OpenAPI document and docs page unless disabled, and each
    /// `[[http.static]]` directory. (Routes of routers merged with [`App::router`] are not known:
    /// axum does not list them.)
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::routing::FrameworkOrigin;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let app = App::new().build().await?;
    /// let paths: Vec<(&str, FrameworkOrigin)> =
    ///     app.framework_routes().iter().map(|r| (r.path.as_str(), r.origin)).collect();
    /// assert_eq!(paths, [
    ///     ("/health/live", FrameworkOrigin::Health),
    ///     ("/health/ready", FrameworkOrigin::Health),
    ///     ("/openapi.json", FrameworkOrigin::OpenApi),
    ///     ("/docs", FrameworkOrigin::OpenApi),
    /// ]);
    /// # Ok::<_, cortex_core::AppError>(())
    /// # }).unwrap();
    /// ```
    pub fn framework_routes(&self) -> &[FrameworkRoute] {
        &self.framework
    }

    /// The paths served on the fast path: their handlers wrapped in the middleware stack before
    /// axum boxed them (see [`Route::from_handler`]). For tests and benchmarks; not a stable API.
    #[doc(hidden)]
    pub fn unboxed_paths(&self) -> &[String] {
        &self.unboxed_paths
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The OpenAPI document of the routes, as served at `openapi.path`; `None` when
    /// `openapi.enabled = false`.
    pub fn openapi(&self) -> Option<&Spec> {
        self.openapi.as_ref()
    }

    /// Binds `[server] host:port` (see [`ServerConfig`]; or as set by
    /// [`App::server_config`]), or serves
    /// on the listening socket a process manager handed over.
    ///
    /// When `LISTEN_FDS` is set (the systemd socket-activation protocol, which `cortex serve`
    /// speaks too), the socket is fd 3 and is used instead of binding; `LISTEN_PID`, when set,
    /// must be this process's id. Both variables are removed once the socket is taken, so the
    /// app's own child processes do not inherit them. When `CORTEX_PARENT_PID` is set (by
    /// `cortex serve`), the app receives SIGTERM if that parent dies (Linux).
    pub async fn bind(self) -> Result<Running, AppError> {
        crate::notify::watch_parent();
        if let Some(listener) = crate::notify::inherited_listener()? {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            tracing::info!(
                address = %listener.local_addr()?,
                "serving on the listening socket handed over in LISTEN_FDS"
            );
            return self.serve_on(listener).await;
        }
        let addr = self.serve.addr()?;
        self.bind_to(addr).await
    }

    /// Binds `addr` (port 0 picks a free port) and starts serving in a background task.
    pub async fn bind_to(self, addr: SocketAddr) -> Result<Running, AppError> {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {addr}: {e}; hint: is another process using the port? set `server.port` or CORTEX_PORT"),
            )
        })?;
        self.serve_on(listener).await
    }

    /// Serves on a listener the caller opened (or one inherited from `cortex serve`), then runs the
    /// singletons' `OnReady` hooks and the `on_ready` closures. If one fails, the server drains and
    /// the app shuts down (as [`Running::shutdown`] does) before the error is returned.
    ///
    /// Once ready, when `NOTIFY_SOCKET` is set, the app sends `READY=1` and `MAINPID=` there (the
    /// `sd_notify` protocol of systemd's `Type=notify`, which `cortex serve` waits for).
    pub async fn serve_on(self, listener: tokio::net::TcpListener) -> Result<Running, AppError> {
        let server = Server::from_listener(listener, self.serve.clone())?
            .with_draining_flag(self.draining.clone())
            .with_shutdown_signal(self.shutdown.clone());
        let handle = server.handle();
        self.log_banner(handle.local_addr());
        let (signal_tx, signal_rx) = tokio::sync::oneshot::channel::<()>();
        let router = self.router.clone();
        let task = tokio::spawn(async move {
            let signal = async move {
                let _ = signal_rx.await;
            };
            server.serve(router, signal).await
        });
        let running = Running {
            app: self,
            handle,
            task,
            signal: Some(signal_tx),
        };
        // The singletons' OnReady hooks, then the app's own closures; a failure stops the app.
        if let Err(e) = running.ready().await {
            // The error itself is returned (and `#[cortex::main]` prints it once).
            tracing::warn!("the app failed to become ready: shutting down");
            if let Err(shutdown) = running.shutdown().await {
                tracing::error!(error = %shutdown, "shutdown after the failed start failed too");
            }
            return Err(e);
        }
        // Serving and ready: tell the process manager (`cortex serve`, systemd `Type=notify`).
        crate::notify::ready();
        Ok(running)
    }

    /// Serves on `[server] host:port` until SIGTERM or SIGINT, then drains and shuts down.
    ///
    /// With `CORTEX_INSPECT` set, prints what it asks for instead (see [`inspect`](crate::inspect)).
    pub async fn run(self) -> Result<(), AppError> {
        if let Some(request) = crate::inspect::Inspect::from_env()? {
            return crate::inspect::print(&self, request);
        }
        if let Some(task) = crate::task::from_env() {
            return self.run_task(&task).await;
        }
        // The signal handlers are installed (by a first poll) before binding, so a SIGTERM that
        // follows READY=1 at once (a `cortex serve` reload) drains instead of killing the process.
        let mut signal = std::pin::pin!(crate::server::shutdown_signal());
        std::future::poll_fn(|cx| {
            let _ = signal.as_mut().poll(cx);
            std::task::Poll::Ready(())
        })
        .await;
        let running = self.bind().await?;
        signal.await;
        running.shutdown().await.map(drop)
    }
}

/// A serving application.
pub struct Running {
    app: Application,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<ServeSummary>>,
    signal: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.handle.local_addr())
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    async fn ready(&self) -> Result<(), AppError> {
        self.app.ready().await
    }

    /// Counters and the draining state.
    pub fn handle(&self) -> &ServerHandle {
        &self.handle
    }

    /// The app's [`ShutdownSignal`] (see [`App::shutdown_signal`]).
    pub fn shutdown_signal(&self) -> &ShutdownSignal {
        &self.app.shutdown
    }

    /// The container.
    pub fn container(&self) -> &Container {
        &self.app.container
    }

    /// Stops accepting, drains in-flight requests (up to the drain timeout), runs the
    /// `on_shutdown` hooks in order, then shuts the container down (its `OnShutdown` hooks, in
    /// reverse creation order).
    ///
    /// When `NOTIFY_SOCKET` is set, `STOPPING=1` is sent there once the server has stopped
    /// accepting (after `[server] shutdown_delay`): a process manager that shares the listening
    /// socket (`cortex serve`) knows that new connections go to the next process from then on.
    pub async fn shutdown(mut self) -> Result<ServeSummary, AppError> {
        let started = std::time::Instant::now();
        if let Some(signal) = self.signal.take() {
            let _ = signal.send(());
        }
        let finished = tokio::select! {
            biased;
            _ = self.handle.stopped_accepting() => None,
            // It ended (or failed) without closing its listener.
            ended = &mut self.task => Some(ended),
        };
        crate::notify::stopping();
        let ended = match finished {
            Some(ended) => ended,
            None => (&mut self.task).await,
        };
        // Tripped by the drain already, unless the server ended some other way.
        self.app.shutdown.trip();
        let summary =
            ended.map_err(|e| std::io::Error::other(format!("the server task failed: {e}")))??;
        let (closures_failed, first_error) = self.app.run_on_shutdown_counted().await;
        let report = self.app.container.shutdown().await;
        if !report.timed_out.is_empty() {
            tracing::warn!(providers = ?report.timed_out, "shutdown hooks timed out");
        }
        log_stopped(&Drained {
            summary,
            hooks_run: self.app.on_shutdown.len() + report.completed.len() + report.timed_out.len(),
            hooks_failed: closures_failed,
            hooks_timed_out: report.timed_out.len(),
            elapsed: started.elapsed(),
        });
        match first_error {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    /// Runs `body` on a current-thread runtime under Cortex's subscriber in `format` (`text` or
    /// `json`); returns its output and what it wrote.
    /// The JSON line of `out` whose message starts with `prefix` (the `what` line).
    fn json_line(out: &str, prefix: &str, what: &str) -> serde_json::Value {
        out.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|l| l["fields"]["message"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {what} line in {out}"))
    }

    fn logged<T>(format: &str, body: impl Future<Output = T>) -> (T, String) {
        let toml = format!("[log]\nformat = '{format}'");
        let config =
            crate::logging::LogConfig::from_config(&Config::from_toml(&toml).unwrap()).unwrap();
        let captured = crate::testing::CapturedLogs::new();
        // Not `subscriber_from`: independent of `CORTEX_LOG` in the test's environment.
        let (dispatch, _) = crate::logging::build_from(&config, None, captured.clone());
        let out = tracing::dispatcher::with_default(&dispatch, || {
            tracing::callsite::rebuild_interest_cache();
            block_on(body)
        });
        (out, captured.text())
    }

    /// A plugin with a version that reports an admin address, as an observability plugin would.
    struct Admin;

    impl Plugin for Admin {
        fn manifest(&self) -> crate::plugin::PluginManifest {
            crate::plugin::PluginManifest::new("admin", "1.2.0")
        }
        fn build(&self, app: App) -> App {
            app.on_start(|container| async move {
                container
                    .get::<ListenAddresses>()?
                    .report("admin", "http://127.0.0.1:9091");
                Ok(())
            })
        }
    }

    async fn banner_app() -> u16 {
        let app = App::new()
            .plugin(Admin)
            .route(Route::get("/users/{id}", "user", || async { "ada" }))
            .route(Route::get("/users", "users", || async { "[]" }))
            .build()
            .await
            .unwrap();
        let running = app.bind_to(([127, 0, 0, 1], 0).into()).await.unwrap();
        let port = running.local_addr().port();
        running.shutdown().await.unwrap();
        port
    }

    #[test]
    fn the_startup_line_names_profile_address_plugins_routes_and_urls_in_text() {
        let (port, out) = logged("text", banner_app());
        let line = out
            .lines()
            .find(|l| l.contains("listening on"))
            .unwrap_or_else(|| panic!("no startup line in {out}"));
        let url = format!("http://127.0.0.1:{port}");
        let expected = format!(
            "listening on {url} (profile `dev`, 2 routes, plugins: admin 1.2.0); also admin http://127.0.0.1:9091; \
             API docs {url}/docs; health {url}/health/live, {url}/health/ready"
        );
        assert!(line.contains(&expected), "{expected}\n  is not in\n{line}");
        assert!(line.contains(" INFO "), "{line}");
    }

    #[test]
    fn the_startup_line_has_a_field_per_part_in_json() {
        let (port, out) = logged("json", banner_app());
        let line = json_line(&out, "listening on", "startup");
        let url = format!("http://127.0.0.1:{port}");
        let fields = &line["fields"];
        assert_eq!(line["level"], "INFO");
        assert_eq!(fields["address"], format!("127.0.0.1:{port}"));
        assert_eq!(fields["url"], url);
        assert_eq!(fields["profile"], "dev");
        assert_eq!(fields["routes"], 2);
        assert_eq!(fields["plugins"], "admin 1.2.0");
        assert_eq!(fields["docs_url"], format!("{url}/docs"));
        assert_eq!(fields["openapi_url"], format!("{url}/openapi.json"));
        assert_eq!(
            fields["health_urls"],
            format!("{url}/health/live, {url}/health/ready")
        );
        assert_eq!(fields["other_addresses"], "admin http://127.0.0.1:9091");
    }

    /// Serves `/slow`, whose handler says it started and answers once the shutdown signal trips,
    /// and `/stuck`, which never answers; a tracked task that ends when the drain starts; an
    /// `on_shutdown` closure that fails. Sends one request to `/slow` (and one to `/stuck` when
    /// `stuck`), shuts down while they are in flight, and returns what `/slow`'s client read.
    async fn drained_app(stuck: bool) -> (Result<ServeSummary, AppError>, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let entered = Arc::new(tokio::sync::Semaphore::new(0));
        let (slow_entered, stuck_entered) = (entered.clone(), entered.clone());
        let app = App::new();
        let signal = app.shutdown_signal();
        let app = app
            .server_config(ServerConfig {
                drain_timeout: Duration::from_millis(if stuck { 300 } else { 10_000 }),
                ..ServerConfig::default()
            })
            .route(Route::get("/slow", "slow", move || {
                let entered = slow_entered.clone();
                let signal = signal.clone();
                async move {
                    entered.add_permits(1);
                    signal.tripped().await;
                    "done"
                }
            }))
            .route(Route::get("/stuck", "stuck", move || {
                let entered = stuck_entered.clone();
                async move {
                    entered.add_permits(1);
                    std::future::pending::<()>().await;
                    "never"
                }
            }))
            .on_start(|container| async move {
                let signal = container.get::<ShutdownSignal>()?;
                let waiting = signal.clone();
                signal.spawn_tracked("flusher", async move { waiting.tripped().await });
                Ok(())
            })
            .on_shutdown(|_| async { Err("the flush failed".into()) })
            .build()
            .await
            .unwrap();
        let running = app.bind_to(([127, 0, 0, 1], 0).into()).await.unwrap();
        let addr = running.local_addr();
        let get = |path: &'static str| async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response).await;
            response
        };
        let slow = tokio::spawn(get("/slow"));
        let stuck_client = stuck.then(|| tokio::spawn(get("/stuck")));
        let expected = if stuck { 2 } else { 1 };
        tokio::time::timeout(Duration::from_secs(10), entered.acquire_many(expected))
            .await
            .expect("the handlers started")
            .unwrap()
            .forget();
        let summary = running.shutdown().await;
        let response = tokio::time::timeout(Duration::from_secs(10), slow)
            .await
            .unwrap()
            .unwrap();
        if let Some(client) = stuck_client {
            client.abort();
        }
        (summary, response)
    }

    #[test]
    fn the_shutdown_line_reports_what_was_drained() {
        let ((summary, response), out) = logged("text", drained_app(false));
        assert!(response.ends_with("done"), "{response}");
        assert!(
            summary.is_err(),
            "the failing on_shutdown closure is the result"
        );
        let line = out
            .lines()
            .find(|l| l.contains("stopped in"))
            .unwrap_or_else(|| panic!("no shutdown line in {out}"));
        for part in [
            " WARN ",
            "1 connection open at shutdown (1 closed in time, 0 cut at the drain timeout), \
             1 request in flight, 1 tracked task finished and 0 aborted, 1 shutdown hook run (1 failed, 0 timed out)",
            "connections_open=1",
            "connections_cut=0",
            "requests_in_flight=1",
            "tasks_finished=1",
            "hooks_failed=1",
            "elapsed_ms=",
        ] {
            assert!(line.contains(part), "{part:?} missing from {line}");
        }
    }

    #[test]
    fn the_shutdown_line_counts_a_connection_cut_at_the_drain_timeout() {
        let ((summary, response), out) = logged("json", drained_app(true));
        assert!(response.ends_with("done"), "{response}");
        assert!(summary.is_err());
        let line = json_line(&out, "stopped in", "shutdown");
        let fields = &line["fields"];
        assert_eq!(line["level"], "WARN", "{line}");
        assert_eq!(fields["connections_open"], 2, "{line}");
        assert_eq!(fields["connections_closed"], 1, "{line}");
        assert_eq!(fields["connections_cut"], 1, "{line}");
        assert_eq!(fields["requests_in_flight"], 2, "{line}");
        assert_eq!(fields["tasks_finished"], 1, "{line}");
        assert_eq!(fields["tasks_aborted"], 0, "{line}");
        assert!(fields["elapsed_ms"].as_u64().unwrap() >= 300, "{line}");
    }

    #[test]
    fn a_task_a_plugin_registers_runs_by_name() {
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = ran.clone();
        let plugin = move |app: App| {
            let counter = counter.clone();
            app.task("plugin:task", move |_| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })
        };
        block_on(App::new().plugin(plugin).run_named_task("plugin:task")).unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn an_unknown_task_is_refused_before_any_hook_runs_naming_the_plugins_tasks() {
        let started = Arc::new(AtomicUsize::new(0));
        let counter = started.clone();
        let app = App::new()
            .plugin(|app: App| app.task("plugin:task", |_| async { Ok(()) }))
            .on_start(move |_| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            });
        let err = block_on(app.run_named_task("plugin:tsak")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unknown task `plugin:tsak`: the app's tasks are plugin:task"),
            "{err}"
        );
        assert_eq!(started.load(Ordering::SeqCst), 0, "no hook ran");
    }
}
