//! [`ContainerBuilder`]: collects providers and settings, has the graph validated, and builds the
//! [`Container`]. The top of the crate: it uses every layer and none uses it (but the registry,
//! which adds discovery to it).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::ConfigSource;
use crate::condition::Env;
use crate::container::Container;
use crate::error::{GraphErrors, Result};
use crate::graph::Graph;
use crate::key::Key;
use crate::provider::{Provider, RawProvider};
use crate::scope::ScopeFactory;
use crate::spec::{Location, ProviderKind, Scope};
use crate::validate::plan;

/// Collects providers and builds a [`Container`], validating the whole graph first.
///
/// ```
/// use cortex_di::{ContainerBuilder, Inject, Provider};
///
/// struct Greeting(&'static str);
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let container = ContainerBuilder::new()
///     .discover()                      // every #[injectable] and #[provider] in the binary
///     .profile("test")                 // providers restricted to other profiles stay out
///     .add(Provider::value(Greeting("hello")))
///     .build()
///     .await?;
/// let greeting: Inject<Greeting> = container.get()?;
/// assert_eq!(greeting.0, "hello");
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
pub struct ContainerBuilder {
    providers: Vec<RawProvider>,
    overrides: Vec<RawProvider>,
    env: Env,
    start_timeout: Duration,
    shutdown_timeout: Duration,
    discovered: bool,
}

impl Default for ContainerBuilder {
    fn default() -> Self {
        ContainerBuilder {
            providers: Vec::new(),
            overrides: Vec::new(),
            env: Env::default(),
            start_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            discovered: false,
        }
    }
}

impl ContainerBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a provider.
    pub fn add<T: ?Sized>(&mut self, provider: Provider<T>) -> &mut Self {
        self.providers.push(provider.raw);
        self
    }

    /// Runs a registration function (what `Injectable::register` is); registering the same
    /// declaration twice adds it once.
    pub fn register_with(&mut self, register: fn(&mut ContainerBuilder)) -> &mut Self {
        register(self);
        self
    }

    /// Marks the registry as read; `false` if it already was (see
    /// [`discover`](Self::discover)).
    pub(crate) fn mark_discovered(&mut self) -> bool {
        !std::mem::replace(&mut self.discovered, true)
    }

    /// Adds a value provider (a singleton) for `T`.
    #[track_caller]
    pub fn value<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        let p = Provider::value(value).at(Location::caller());
        self.add(p)
    }

    /// Binds the [`ConfigSource`] that `#[inject(config = "key")]` fields read from.
    #[track_caller]
    pub fn config(&mut self, source: impl ConfigSource) -> &mut Self {
        let source: Arc<dyn ConfigSource> = Arc::new(source);
        let p = Provider::arc_value(source).at(Location::caller());
        self.add(p)
    }

    /// Activates a profile for conditional providers.
    pub fn profile(&mut self, profile: impl Into<String>) -> &mut Self {
        self.env.add_profile(profile);
        self
    }

    /// Sets a property that `when` predicates can read.
    pub fn property(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.env.set_property(key.into(), value.into());
        self
    }

    /// Replaces the whole environment.
    pub fn env(&mut self, env: Env) -> &mut Self {
        self.env = env;
        self
    }

    /// How long each [`OnStart`](crate::OnStart) and [`OnReady`](crate::OnReady) hook may take
    /// (30 seconds by default); one that takes longer fails the start with
    /// [`Error::HookTimedOut`](crate::Error::HookTimedOut).
    pub fn start_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.start_timeout = timeout;
        self
    }

    /// How long each shutdown hook may take (10 seconds by default).
    pub fn shutdown_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Replaces whatever is bound to the provider's key (for tests: a fake in place of a real
    /// service). Building fails if nothing is bound to that key.
    ///
    /// ```
    /// use cortex_di::{ContainerBuilder, Inject, Provider};
    /// use std::sync::Arc;
    ///
    /// trait Mailer: Send + Sync { fn name(&self) -> &'static str; }
    /// struct Smtp;
    /// impl Mailer for Smtp { fn name(&self) -> &'static str { "smtp" } }
    /// struct Fake;
    /// impl Mailer for Fake { fn name(&self) -> &'static str { "fake" } }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let c = ContainerBuilder::new()
    ///     .add(Provider::<dyn Mailer>::arc_value(Arc::new(Smtp)))
    ///     .override_provider(Provider::<dyn Mailer>::arc_value(Arc::new(Fake)))
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(c.get::<dyn Mailer>().unwrap().name(), "fake");
    /// # });
    /// ```
    pub fn override_provider<T: ?Sized>(&mut self, provider: Provider<T>) -> &mut Self {
        let mut raw = provider.raw;
        raw.kind = ProviderKind::Override;
        self.overrides.push(raw);
        self
    }

    /// Replaces whatever is bound to `T` with `value`.
    #[track_caller]
    pub fn override_value<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        let p = Provider::value(value).at(Location::caller());
        self.override_provider(p)
    }

    /// Replaces whatever is bound to `T` (often `dyn Trait`) with `value`.
    #[track_caller]
    pub fn override_arc<T: ?Sized + Send + Sync + 'static>(&mut self, value: Arc<T>) -> &mut Self {
        let p = Provider::arc_value(value).at(Location::caller());
        self.override_provider(p)
    }

    /// Validates the graph without creating anything, and describes it.
    pub fn validate(&self) -> std::result::Result<Graph, GraphErrors> {
        let mut providers = self.providers.clone();
        add_builtins(&mut providers);
        let plan = plan(providers, self.overrides.clone(), &self.env)?;
        Ok(Graph::from_nodes(&plan.nodes))
    }

    /// Validates the graph, then creates every eager singleton in dependency order, awaiting
    /// `async` providers. The builder is left empty.
    ///
    /// Fails with [`Error::Graph`](crate::Error::Graph) listing every problem in the graph, or with
    /// [`Error::Provider`](crate::Error::Provider) naming the provider whose factory failed (the
    /// singletons made before it are shut down again).
    ///
    /// No [`OnStart`](crate::OnStart) hook runs here: they run in
    /// [`Container::start`](crate::Container::start), which the app calls next.
    pub fn build(&mut self) -> impl Future<Output = Result<Container>> + Send + 'static {
        let mut providers = std::mem::take(&mut self.providers);
        add_builtins(&mut providers);
        let overrides = std::mem::take(&mut self.overrides);
        let env = std::mem::take(&mut self.env);
        let start_timeout = self.start_timeout;
        let shutdown_timeout = self.shutdown_timeout;
        self.discovered = false;
        async move {
            let started = std::time::Instant::now();
            let plan = plan(providers, overrides, &env)?;
            let providers = providers_by_scope(&plan);
            let container = Container::create(plan, env, start_timeout, shutdown_timeout).await?;
            record_build(providers, started.elapsed());
            Ok(container)
        }
    }

    /// Validates the graph as [`build`](Self::build) does and returns a container that creates
    /// nothing: no singleton (eager or lazy), no transient, no value, no lifecycle hook. What an
    /// app's inspection mode (`cortex routes`, `cortex graph`, `CORTEX_INSPECT`) builds, so that
    /// inspecting an app whose providers connect to a database connects to nothing. The builder
    /// is left empty.
    ///
    /// The container answers [`contains`](Container::contains), [`graph`](Container::graph) and
    /// [`env`](Container::env) as a built one does; every resolve answers
    /// [`Error::Inspection`](crate::Error::Inspection), a request-scoped key
    /// [`Error::RequestScopeRequired`](crate::Error::RequestScopeRequired) and an unknown one
    /// [`Error::NotRegistered`](crate::Error::NotRegistered), as they would be for a built one.
    /// [`Container::is_inspection`] tells the two apart.
    ///
    /// ```
    /// use cortex_di::{ContainerBuilder, Error, Key, Provider};
    ///
    /// struct Pool;
    /// let mut builder = ContainerBuilder::new();
    /// builder.add(Provider::factory(|_| -> Result<Pool, cortex_di::BoxError> {
    ///     panic!("inspection creates nothing")
    /// }));
    /// let container = builder.build_for_inspection()?;
    /// assert!(container.contains(&Key::of::<Pool>()));
    /// assert!(matches!(container.get::<Pool>(), Err(Error::Inspection { .. })));
    /// # Ok::<_, cortex_di::Error>(())
    /// ```
    ///
    /// Fails with [`Error::Graph`](crate::Error::Graph) listing every problem in the graph, as
    /// `build` does.
    pub fn build_for_inspection(&mut self) -> Result<Container> {
        let mut providers = std::mem::take(&mut self.providers);
        add_builtins(&mut providers);
        let overrides = std::mem::take(&mut self.overrides);
        let env = std::mem::take(&mut self.env);
        self.discovered = false;
        let plan = plan(providers, overrides, &env)?;
        Ok(Container::inspection(
            plan,
            env,
            self.start_timeout,
            self.shutdown_timeout,
        ))
    }
}

/// How many providers the plan has of each scope (singleton, transient, request).
fn providers_by_scope(plan: &crate::validate::Plan) -> [(Scope, usize); 3] {
    [Scope::Singleton, Scope::Transient, Scope::Request].map(|scope| {
        (
            scope,
            plan.nodes.iter().filter(|n| n.scope == scope).count(),
        )
    })
}

/// Records what a built container looks like, once per build (never per resolve):
/// `cortex_container_providers{scope}` and `cortex_container_build_seconds` (validating the
/// graph and creating the eager singletons; the `OnStart` hooks are timed on their own).
fn record_build(providers: [(Scope, usize); 3], elapsed: std::time::Duration) {
    for (scope, count) in providers {
        metrics::gauge!("cortex_container_providers", "scope" => scope.as_str()).set(count as f64);
    }
    metrics::gauge!("cortex_container_build_seconds").set(elapsed.as_secs_f64());
}

/// Binds the [`ScopeFactory`] when a provider depends on it and nothing else binds it: the graph
/// (and `cortex graph`) shows it only where it is used.
fn add_builtins(providers: &mut Vec<RawProvider>) {
    let key = Key::of::<ScopeFactory>();
    let wanted = providers
        .iter()
        .any(|p| p.deps.iter().any(|d| d.key() == &key));
    if wanted && !providers.iter().any(|p| p.key == key) {
        let provider = Provider::<ScopeFactory>::builtin(ScopeFactory::make)
            .declared_by("cortex_di::ContainerBuilder");
        providers.push(provider.raw);
    }
}
