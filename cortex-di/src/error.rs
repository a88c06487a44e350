//! The container's errors: every one names the types involved and where they were declared.

use std::fmt;
use std::time::Duration;

use crate::key::Key;
use crate::spec::{Location, Scope};

/// A boxed error from a provider's factory.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with the container's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A provider as named in messages: the key it binds, what declared it, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRef {
    /// The key the provider is bound to.
    pub key: Key,
    /// The struct or function that declared it.
    pub declared_by: String,
    /// Where it was declared.
    pub location: Location,
}

impl fmt::Display for ProviderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.key)?;
        if self.declared_by != self.key.type_name() {
            write!(f, " (provided by `{}`)", self.declared_by)?;
        }
        write!(f, " declared at {}", self.location)
    }
}

/// One problem found while validating the dependency graph.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GraphError {
    /// A required dependency has no provider.
    MissingProvider {
        /// What was asked for.
        dependency: Key,
        /// Who asked.
        required_by: ProviderRef,
        /// The field or argument that asked, if known.
        field: Option<&'static str>,
        /// Other bindings of the same type (with other names), as a hint.
        candidates: Vec<Key>,
    },
    /// Providers depend on each other in a loop; the path starts and ends with the same provider.
    Cycle {
        /// The providers along the loop, the first repeated at the end.
        path: Vec<ProviderRef>,
    },
    /// A longer-lived provider depends on a shorter-lived one, which it would capture.
    ScopeViolation {
        /// The longer-lived provider.
        provider: ProviderRef,
        /// Its scope.
        provider_scope: Scope,
        /// The shorter-lived dependency.
        dependency: ProviderRef,
        /// Its scope.
        dependency_scope: Scope,
        /// The field or argument, if known.
        field: Option<&'static str>,
    },
    /// Two providers are bound to the same key.
    Duplicate {
        /// The first provider registered.
        first: ProviderRef,
        /// The one registered after it.
        second: ProviderRef,
    },
    /// A test override names a key that no provider is bound to.
    OverrideWithoutTarget {
        /// The override.
        over: ProviderRef,
    },
    /// A seeded provider ([`Provider::seeded`](crate::Provider::seeded)) was given another
    /// scope than the request scope: seeded values are provided to one scope at a time.
    SeededOutsideRequest {
        /// The provider.
        provider: ProviderRef,
        /// The scope it was given.
        scope: Scope,
    },
    /// A provider that is not request-scoped has an [`OnScopeEnd`](crate::OnScopeEnd) hook,
    /// which runs when a request scope ends.
    ScopeEndHookOutsideRequest {
        /// The provider.
        provider: ProviderRef,
        /// Its scope.
        scope: Scope,
    },
    /// A request-scoped or transient provider has an `OnStart` or `OnReady` hook; those run once,
    /// for singletons only.
    HookOnNonSingleton {
        /// The provider.
        provider: ProviderRef,
        /// Its scope.
        scope: Scope,
        /// The hook it has.
        hook: LifecycleHook,
    },
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::MissingProvider {
                dependency,
                required_by,
                field,
                candidates,
            } => {
                write!(
                    f,
                    "no provider for `{dependency}`, required by {required_by}"
                )?;
                if let Some(field) = field {
                    write!(f, " (field `{field}`)")?;
                }
                if candidates.is_empty() {
                    write!(
                        f,
                        "; hint: annotate `{}` with #[injectable], add a #[provider] for it, or register it on the ContainerBuilder",
                        dependency.type_name()
                    )
                } else {
                    let names: Vec<String> = candidates.iter().map(|k| format!("`{k}`")).collect();
                    write!(f, "; hint: these bindings exist: {}", names.join(", "))
                }
            }
            GraphError::Cycle { path } => {
                write!(f, "dependency cycle: ")?;
                let names: Vec<String> = path.iter().map(|p| format!("`{}`", p.key)).collect();
                write!(f, "{}", names.join(" -> "))?;
                write!(f, " (")?;
                let at: Vec<String> = path[..path.len().saturating_sub(1)]
                    .iter()
                    .map(|p| format!("`{}` at {}", p.key.type_name(), p.location))
                    .collect();
                write!(f, "{}", at.join(", "))?;
                write!(
                    f,
                    "); hint: break the loop by resolving one side lazily or moving shared state into a third service"
                )
            }
            GraphError::ScopeViolation {
                provider,
                provider_scope,
                dependency,
                dependency_scope,
                field,
            } => {
                write!(
                    f,
                    "scope violation: {provider_scope} {provider} depends on {dependency_scope} {dependency}"
                )?;
                if let Some(field) = field {
                    write!(f, " (field `{field}`)")?;
                }
                write!(
                    f,
                    "; a {provider_scope} would capture one {dependency_scope} instance for its whole life; hint: make `{}` {dependency_scope} too, or make `{}` a singleton",
                    provider.key.type_name(),
                    dependency.key.type_name()
                )
            }
            GraphError::Duplicate { first, second } => write!(
                f,
                "`{}` is bound twice: by {first} and by {second}; hint: give one of them a name (`name = \"...\"`), restrict one to a profile, or remove one",
                first.key
            ),
            GraphError::OverrideWithoutTarget { over } => write!(
                f,
                "the override {over} replaces nothing: no provider is bound to `{}`; hint: register it with `add` instead",
                over.key
            ),
            GraphError::SeededOutsideRequest { provider, scope } => write!(
                f,
                "{provider} is seeded but {scope}-scoped; a seeded value is provided to one request scope at a time (`scope.provide(value)`); hint: drop the `.scope({scope:?})` call on `Provider::seeded()`",
            ),
            GraphError::ScopeEndHookOutsideRequest { provider, scope } => write!(
                f,
                "{provider} is {scope}-scoped but has an `OnScopeEnd` hook, which runs when a request scope ends; hint: make `{}` request-scoped, or drop the hook",
                provider.key.type_name()
            ),
            GraphError::HookOnNonSingleton {
                provider,
                scope,
                hook,
            } => write!(
                f,
                "{provider} is {scope}-scoped but has an `{hook}` hook, which runs once, for singletons only; hint: make `{}` a singleton, or move the work into a singleton it depends on",
                provider.key.type_name()
            ),
        }
    }
}

/// Every problem found in one graph, so they can all be fixed at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphErrors(pub Vec<GraphError>);

impl GraphErrors {
    /// The problems, in the order they were found.
    pub fn errors(&self) -> &[GraphError] {
        &self.0
    }
}

impl fmt::Display for GraphErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "invalid dependency graph: {one}"),
            many => {
                write!(f, "invalid dependency graph ({} problems):", many.len())?;
                for (i, e) in many.iter().enumerate() {
                    write!(f, "\n  {}. {e}", i + 1)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for GraphErrors {}

/// Everything that can go wrong building a container or resolving from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The graph is invalid; nothing was built.
    #[error(transparent)]
    Graph(#[from] GraphErrors),

    /// A provider's factory failed.
    #[error("provider {provider} failed: {source}")]
    Provider {
        /// The provider that failed.
        provider: ProviderRef,
        /// What its factory returned.
        #[source]
        source: BoxError,
    },

    /// Nothing is bound to the key (only reachable through lookups the graph did not declare).
    #[error(
        "no provider for `{key}`; hint: annotate it with #[injectable], add a #[provider] for it, or register it on the ContainerBuilder"
    )]
    NotRegistered {
        /// The key asked for.
        key: Key,
    },

    /// A provider's factory resolved a dependency that the provider does not declare with
    /// [`Provider::depends_on`](crate::Provider::depends_on), so the startup validation never
    /// checked it (missing provider, cycle, scope). The message names the declaration to add.
    ///
    /// ```
    /// use cortex_di::{ContainerBuilder, Error, Provider};
    /// struct Db;
    /// struct Repo;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let err = ContainerBuilder::new()
    ///     .add(Provider::value(Db))
    ///     .add(Provider::factory(|r| { r.get::<Db>()?; Ok(Repo) })) // no `.depends_on(...)`
    ///     .build()
    ///     .await
    ///     .err()
    ///     .unwrap();
    /// assert!(matches!(err, Error::UndeclaredDependency { .. }));
    /// assert!(err.to_string().contains("hint: add `.depends_on(Dependency::on::<"));
    /// assert!(err.to_string().contains("Db>())` to that provider"));
    /// # });
    /// ```
    #[error("{}", undeclared_message(provider, dependency, *optional))]
    UndeclaredDependency {
        /// The provider whose factory asked.
        provider: Box<ProviderRef>,
        /// What it asked for.
        dependency: Key,
        /// Whether it asked for it as optional (`get_optional`, `resolve_optional`).
        optional: bool,
    },

    /// The key's provider, or one it depends on, is `async` and not yet created.
    #[error("`{key}` needs an async provider; hint: use `resolve().await` instead of `get()`")]
    NeedsAsync {
        /// The key asked for.
        key: Key,
    },

    /// A request-scoped provider was resolved outside a request scope.
    #[error(
        "`{key}` is request-scoped; hint: resolve it from a RequestScope (`container.scope()`), not the container"
    )]
    RequestScopeRequired {
        /// The key asked for.
        key: Key,
    },

    /// A seeded provider ([`Provider::seeded`](crate::Provider::seeded)) was resolved in a
    /// request scope that was not given its value.
    ///
    /// ```
    /// use cortex_di::{ContainerBuilder, Error, Provider};
    /// struct CurrentUser(&'static str);
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let c = ContainerBuilder::new().add(Provider::<CurrentUser>::seeded()).build().await.unwrap();
    /// let err = c.scope().get::<CurrentUser>().err().unwrap();
    /// assert!(matches!(err, Error::NotSeeded { .. }));
    /// assert!(err.to_string().contains("hint: call `scope.provide::<"));
    /// # });
    /// ```
    #[error(
        "`{key}` is seeded: its value comes from the code that opens the request scope, and this scope was not given one; hint: call `scope.provide::<{}>(value)` right after opening the scope, before resolving anything that needs it",
        .key.type_name()
    )]
    NotSeeded {
        /// The key asked for.
        key: Key,
    },

    /// [`RequestScope::provide`](crate::RequestScope::provide) was given a value whose type is not
    /// declared seeded.
    #[error(
        "`{key}` cannot be provided to a request scope: it is not declared seeded, so the startup checks do not know a value will be there; hint: register `Provider::<{}>::seeded()` on the ContainerBuilder (or `App::provide`)",
        .key.type_name()
    )]
    NotSeedable {
        /// The key of the value.
        key: Key,
    },

    /// [`RequestScope::provide`](crate::RequestScope::provide) was called twice for one type in one
    /// scope.
    #[error(
        "`{key}` was already provided to this request scope; hint: provide each seeded value once, right after opening the scope"
    )]
    AlreadyProvided {
        /// The key of the value.
        key: Key,
    },

    /// A [`ScopeFactory`](crate::ScopeFactory) was asked for a scope after its container was shut
    /// down or dropped.
    #[error(
        "cannot open a request scope: the container was shut down or dropped; hint: stop the work that opens scopes (a consumer, a scheduled job) before the app shuts down, for example in an `OnShutdown` hook of the singleton that runs it"
    )]
    ContainerGone,

    /// A `#[inject(config = "...")]` value is missing or has the wrong type.
    #[error("config key `{key}` {problem}, required by `{required_by}`")]
    Config {
        /// The configuration key.
        key: String,
        /// What is wrong with it.
        problem: String,
        /// The type that needs it.
        required_by: &'static str,
    },

    /// The container was already shut down.
    #[error("the container was shut down; `{key}` can no longer be created")]
    ShutDown {
        /// The key asked for.
        key: Key,
    },

    /// The container was built for inspection
    /// ([`ContainerBuilder::build_for_inspection`](crate::ContainerBuilder::build_for_inspection):
    /// `cortex routes`, `cortex graph`), which validates the graph and creates nothing, so `key`
    /// cannot be resolved from it.
    ///
    /// ```
    /// use cortex_di::{ContainerBuilder, Error, Provider};
    /// let c = ContainerBuilder::new().add(Provider::value(7_u8)).build_for_inspection().unwrap();
    /// let err = c.get::<u8>().err().unwrap();
    /// assert!(matches!(err, Error::Inspection { .. }));
    /// assert!(err.to_string().contains("built for inspection"));
    /// ```
    #[error(
        "`{key}` was not created: the container was built for inspection (`cortex routes`, `cortex graph`, CORTEX_INSPECT), which validates the graph and creates nothing; hint: code that runs while an app is inspected (a hand-written `Routes::routes`, a plugin) must not resolve from the container: check `Container::is_inspection()` first"
    )]
    Inspection {
        /// The key asked for.
        key: Key,
    },

    /// An [`OnStart`](crate::OnStart) or [`OnReady`](crate::OnReady) hook returned an error.
    #[error("the `{hook}` hook of {provider} failed: {source}")]
    Hook {
        /// Which hook.
        hook: LifecycleHook,
        /// The provider whose instance's hook failed (boxed to keep [`Error`] small).
        provider: Box<ProviderRef>,
        /// What the hook returned.
        #[source]
        source: BoxError,
    },

    /// An [`OnStart`](crate::OnStart) or [`OnReady`](crate::OnReady) hook did not finish in time.
    #[error(
        "the `{hook}` hook of {provider} did not finish within {timeout:?}; hint: make it faster, move slow work into a background task, or raise the limit with `ContainerBuilder::start_timeout`"
    )]
    HookTimedOut {
        /// Which hook.
        hook: LifecycleHook,
        /// The provider whose instance's hook hung (boxed to keep [`Error`] small).
        provider: Box<ProviderRef>,
        /// The limit it exceeded.
        timeout: Duration,
    },
}

/// The lifecycle hooks an instance can have, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LifecycleHook {
    /// [`OnStart`](crate::OnStart): after the container is built, before the server binds.
    Start,
    /// [`OnReady`](crate::OnReady): once the server is listening.
    Ready,
    /// [`OnShutdown`](crate::OnShutdown): when the container shuts down, in reverse order.
    Shutdown,
}

impl LifecycleHook {
    /// The trait's name: `OnStart`, `OnReady` or `OnShutdown`.
    pub fn trait_name(self) -> &'static str {
        match self {
            LifecycleHook::Start => "OnStart",
            LifecycleHook::Ready => "OnReady",
            LifecycleHook::Shutdown => "OnShutdown",
        }
    }
}

impl fmt::Display for LifecycleHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.trait_name())
    }
}

impl Error {
    /// The graph problems, if this is a graph error.
    pub fn graph_errors(&self) -> Option<&[GraphError]> {
        match self {
            Error::Graph(g) => Some(g.errors()),
            _ => None,
        }
    }
}

fn undeclared_message(provider: &ProviderRef, dependency: &Key, optional: bool) -> String {
    let mut declaration = format!("Dependency::on::<{}>()", dependency.type_name());
    if let Some(name) = dependency.name() {
        declaration.push_str(&format!(".named({name:?})"));
    }
    if optional {
        declaration.push_str(".optional()");
    }
    format!(
        "the factory of {provider} resolved `{dependency}`, which it does not declare, so the startup checks (missing provider, cycle, scope) never saw that dependency; hint: add `.depends_on({declaration})` to that provider"
    )
}
