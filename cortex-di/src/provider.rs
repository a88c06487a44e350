//! [`Provider`]: how an application describes a binding: what it binds, how its instance is
//! made (a value, a factory over a [`Resolver`], an `async` factory), its scope, what it depends
//! on, when it applies, and its lifecycle hooks.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::condition::Env;
use crate::error::BoxError;
use crate::hooks::{OnReady, OnScopeEnd, OnShutdown, OnStart, ScopeOutcome};
use crate::inject::Inject;
use crate::key::Key;
use crate::node::{BoxFuture, Instance, ScopeEndHook, ShutdownHook, StartHook};
use crate::resolve::{
    AsyncResolver, ByHandle, ByValue, Factory, Inner, MakeFn, Resolver, SyncFactory, general_make,
};
use crate::spec::{Dependency, Location, ProviderKind, Scope};

pub(crate) type Predicate = Arc<dyn Fn(&Env) -> bool + Send + Sync>;

#[derive(Clone)]
pub(crate) enum ScopeSpec {
    Fixed(Scope),
    /// An alias takes the scope of its target.
    Inherit,
}

/// The untyped provider record the container works with.
#[derive(Clone)]
pub(crate) struct RawProvider {
    pub(crate) key: Key,
    pub(crate) scope: ScopeSpec,
    pub(crate) lazy: bool,
    pub(crate) deps: Vec<Dependency>,
    pub(crate) factory: Factory,
    pub(crate) kind: ProviderKind,
    pub(crate) location: Location,
    pub(crate) declared_by: Cow<'static, str>,
    pub(crate) profiles: Vec<Cow<'static, str>>,
    pub(crate) predicate: Option<Predicate>,
    pub(crate) start: Option<StartHook>,
    pub(crate) ready: Option<StartHook>,
    pub(crate) shutdown: Option<ShutdownHook>,
    pub(crate) scope_end: Option<ScopeEndHook>,
    /// How a resolve that does not find the instance in its cell gets it: the general path for
    /// the key's type (a synchronous factory's own, typed path replaces it when the container
    /// lays out its cells).
    pub(crate) make: MakeFn,
}

/// A provider for `T`, built with the methods below and added with
/// [`ContainerBuilder::add`](crate::ContainerBuilder::add).
///
/// Most applications never write one: `#[injectable]` and `#[provider]` generate them. Use them for
/// explicit registration, for values made at runtime and in tests.
///
/// ```
/// use cortex_di::{ContainerBuilder, Dependency, Inject, Provider, Scope};
///
/// struct Config { url: String }
/// struct Client { url: String }
///
/// # tokio_test_block_on(async {
/// let container = ContainerBuilder::new()
///     .add(Provider::value(Config { url: "http://localhost".into() }))
///     .add(
///         Provider::factory(|r| {
///             let cfg = r.get::<Config>()?;
///             Ok(Client { url: cfg.url.clone() })
///         })
///         .depends_on(Dependency::on::<Config>())
///         .scope(Scope::Transient),
///     )
///     .build()
///     .await?;
/// let a: Inject<Client> = container.get()?;
/// let b: Inject<Client> = container.get()?;
/// assert_eq!(a.url, "http://localhost");
/// assert!(!Inject::ptr_eq(&a, &b)); // transient: a new one each time
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
pub struct Provider<T: ?Sized> {
    pub(crate) raw: RawProvider,
    _type: PhantomData<fn() -> Box<T>>,
}

impl<T: ?Sized + Send + Sync + 'static> Provider<T> {
    #[track_caller]
    fn raw(factory: Factory, kind: ProviderKind, scope: ScopeSpec) -> Self {
        Provider {
            raw: RawProvider {
                key: Key::of::<T>(),
                scope,
                lazy: false,
                deps: Vec::new(),
                factory,
                kind,
                location: Location::caller(),
                declared_by: Cow::Borrowed(std::any::type_name::<T>()),
                profiles: Vec::new(),
                predicate: None,
                start: None,
                ready: None,
                shutdown: None,
                scope_end: None,
                make: general_make::<T>,
            },
            _type: PhantomData,
        }
    }

    /// A provider whose instance is an existing [`Arc`]; with `T = dyn Trait` this binds a trait
    /// object. Singleton.
    #[track_caller]
    pub fn arc_value(value: Arc<T>) -> Self {
        let make = move || -> Instance { Instance::new(Inject::from_arc(value.clone())) };
        Self::raw(
            Factory::Value(Arc::new(make)),
            ProviderKind::Value,
            ScopeSpec::Fixed(Scope::Singleton),
        )
    }

    /// A synchronous factory returning an [`Arc<T>`]; with `T = dyn Trait` this binds a trait
    /// object. Declare each dependency it resolves with
    /// [`depends_on`](Self::depends_on): it can resolve nothing else.
    #[track_caller]
    pub fn arc_factory<F>(factory: F) -> Self
    where
        F: Fn(&Resolver<'_>) -> Result<Arc<T>, BoxError> + Send + Sync + 'static,
    {
        let f = move |r: &Resolver<'_>| -> Result<Inject<T>, BoxError> {
            Ok(Inject::from_arc(factory(r)?))
        };
        Self::raw(
            Factory::Sync(SyncFactory::new(ByHandle(f))),
            ProviderKind::Factory,
            ScopeSpec::Fixed(Scope::Singleton),
        )
    }

    /// An `async` factory returning an [`Arc<T>`]; it resolves only what it declares with
    /// [`depends_on`](Self::depends_on).
    #[track_caller]
    pub fn async_arc_factory<F, Fut>(factory: F) -> Self
    where
        F: Fn(AsyncResolver) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Arc<T>, BoxError>> + Send + 'static,
    {
        let f = move |r: AsyncResolver| -> BoxFuture<Result<Instance, BoxError>> {
            let fut = factory(r);
            Box::pin(async move {
                let arc = fut.await?;
                Ok(Instance::new(Inject::from_arc(arc)))
            })
        };
        Self::raw(
            Factory::Async(Arc::new(f)),
            ProviderKind::Async,
            ScopeSpec::Fixed(Scope::Singleton),
        )
    }

    /// Binds `T` (usually `dyn Trait`) to the provider of `Impl`, converting with `cast`; the
    /// binding takes the scope of `Impl`'s provider and shares its singleton.
    ///
    /// ```
    /// use cortex_di::{ContainerBuilder, Inject, Provider};
    /// use std::sync::Arc;
    ///
    /// trait Mailer: Send + Sync { fn send(&self) -> &'static str; }
    /// struct Smtp;
    /// impl Mailer for Smtp { fn send(&self) -> &'static str { "smtp" } }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let c = ContainerBuilder::new()
    ///     .add(Provider::value(Smtp))
    ///     .add(Provider::<dyn Mailer>::alias::<Smtp>(|smtp| smtp))
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// let mailer: Inject<dyn Mailer> = c.get().unwrap();
    /// assert_eq!(mailer.send(), "smtp");
    /// # });
    /// ```
    #[track_caller]
    pub fn alias<Impl>(cast: fn(Arc<Impl>) -> Arc<T>) -> Self
    where
        Impl: ?Sized + Send + Sync + 'static,
    {
        let f = move |r: &Resolver<'_>| -> Result<Inject<T>, BoxError> {
            let target = r.get::<Impl>()?;
            Ok(Inject::from_arc(cast(target.into_arc())))
        };
        let mut p = Self::raw(
            Factory::Sync(SyncFactory::new(ByHandle(f))),
            ProviderKind::Alias,
            ScopeSpec::Inherit,
        );
        p.raw.deps.push(Dependency::on::<Impl>());
        p.raw.declared_by = Cow::Borrowed(std::any::type_name::<Impl>());
        p
    }

    /// Like [`alias`](Self::alias), to a named binding of `Impl`.
    #[track_caller]
    pub fn alias_named<Impl>(
        target: impl Into<Cow<'static, str>>,
        cast: fn(Arc<Impl>) -> Arc<T>,
    ) -> Self
    where
        Impl: ?Sized + Send + Sync + 'static,
    {
        let target: Cow<'static, str> = target.into();
        let name = target.clone();
        let f = move |r: &Resolver<'_>| -> Result<Inject<T>, BoxError> {
            let target = r.get_named::<Impl>(name.clone())?;
            Ok(Inject::from_arc(cast(target.into_arc())))
        };
        let mut p = Self::raw(
            Factory::Sync(SyncFactory::new(ByHandle(f))),
            ProviderKind::Alias,
            ScopeSpec::Inherit,
        );
        p.raw.deps.push(Dependency::on::<Impl>().named(target));
        p.raw.declared_by = Cow::Borrowed(std::any::type_name::<Impl>());
        p
    }

    /// A request-scoped value that no factory makes: the code that opens a scope gives it with
    /// [`RequestScope::provide`](crate::RequestScope::provide) (the current user, a message's
    /// metadata, a tenant). Declaring it lets the startup validation treat `T` as request-scoped:
    /// a request-scoped service may depend on it, a singleton that does is a scope violation.
    /// Resolving it in a scope that was not given one is [`Error::NotSeeded`](crate::Error::NotSeeded).
    ///
    /// ```
    /// use cortex_di::{ContainerBuilder, Dependency, Provider, Scope};
    /// struct CurrentUser(&'static str);
    /// struct Greeter { user: &'static str }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let c = ContainerBuilder::new()
    ///     .add(Provider::<CurrentUser>::seeded())
    ///     .add(
    ///         Provider::factory(|r| Ok(Greeter { user: r.get::<CurrentUser>()?.0 }))
    ///             .depends_on(Dependency::on::<CurrentUser>())
    ///             .scope(Scope::Request),
    ///     )
    ///     .build()
    ///     .await?;
    /// let scope = c.scope();
    /// scope.provide(CurrentUser("ada"))?;
    /// assert_eq!(scope.get::<Greeter>()?.user, "ada");
    /// # Ok::<_, cortex_di::Error>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    pub fn seeded() -> Self {
        Self::raw(
            Factory::Seeded,
            ProviderKind::Seeded,
            ScopeSpec::Fixed(Scope::Request),
        )
    }

    /// A singleton made by the container from its own state (the [`ScopeFactory`](crate::ScopeFactory)).
    #[track_caller]
    pub(crate) fn builtin(make: fn(&Inner) -> Instance) -> Self {
        Self::raw(
            Factory::Builtin(make),
            ProviderKind::Value,
            ScopeSpec::Fixed(Scope::Singleton),
        )
    }

    /// Sets the scope (singleton by default).
    pub fn scope(mut self, scope: Scope) -> Self {
        self.raw.scope = ScopeSpec::Fixed(scope);
        self
    }

    /// Binds under `name`, so several providers of one type can coexist.
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.raw.key = self.raw.key.with_name(name);
        self
    }

    /// Creates a singleton on first use rather than at build time.
    pub fn lazy(mut self, lazy: bool) -> Self {
        self.raw.lazy = lazy;
        self
    }

    /// Declares a dependency, so the graph is checked before anything is built, and so the
    /// factory may resolve it: a factory that resolves anything it did not declare fails with
    /// [`Error::UndeclaredDependency`](crate::Error::UndeclaredDependency), naming the
    /// `.depends_on(...)` to add. Declare each binding the way the factory asks for it: `.named(..)`
    /// for `get_named`, `.optional()` for `get_optional`.
    ///
    /// ```
    /// use cortex_di::{ContainerBuilder, Dependency, Provider};
    /// struct Clock(u64);
    /// struct Cache { ttl: u64 }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let c = ContainerBuilder::new()
    ///     .add(Provider::value(Clock(60)).named("slow"))
    ///     .add(
    ///         Provider::factory(|r| {
    ///             let ttl = r.get_named::<Clock>("slow")?.0;
    ///             let fast = r.get_optional::<Clock>()?; // absent, and declared optional
    ///             Ok(Cache { ttl: fast.map_or(ttl, |c| c.0) })
    ///         })
    ///         .depends_on(Dependency::on::<Clock>().named("slow"))
    ///         .depends_on(Dependency::on::<Clock>().optional()),
    ///     )
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(c.get::<Cache>().unwrap().ttl, 60);
    /// # });
    /// ```
    pub fn depends_on(mut self, dependency: Dependency) -> Self {
        self.raw.deps.push(dependency);
        self
    }

    /// Registers the provider only when `profile` is active; `"!prod"` means "unless `prod` is
    /// active". Several calls combine with *or*, as in Spring's `@Profile`.
    pub fn profile(mut self, profile: impl Into<Cow<'static, str>>) -> Self {
        self.raw.profiles.push(profile.into());
        self
    }

    /// Registers the provider only when `predicate` holds for the builder's [`Env`].
    pub fn when(mut self, predicate: impl Fn(&Env) -> bool + Send + Sync + 'static) -> Self {
        self.raw.predicate = Some(Arc::new(predicate));
        self
    }

    /// Records where the provider was declared (the macros pass the annotated item's position).
    pub fn at(mut self, location: Location) -> Self {
        self.raw.location = location;
        self
    }

    /// Records what declared the provider (a struct or function path), for messages.
    pub fn declared_by(mut self, what: impl Into<Cow<'static, str>>) -> Self {
        self.raw.declared_by = what.into();
        self
    }

    /// The key this provider is bound to.
    pub fn key(&self) -> &Key {
        &self.raw.key
    }
}

impl<T: Send + Sync + 'static> Provider<T> {
    /// A ready-made value. Singleton; the value is shared by every resolve.
    #[track_caller]
    pub fn value(value: T) -> Self {
        Self::arc_value(Arc::new(value))
    }

    /// A synchronous factory. Declare each dependency it resolves with
    /// [`depends_on`](Self::depends_on): it can resolve nothing else.
    #[track_caller]
    pub fn factory<F>(factory: F) -> Self
    where
        F: Fn(&Resolver<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    {
        Self::raw(
            Factory::Sync(SyncFactory::new(ByValue(factory))),
            ProviderKind::Factory,
            ScopeSpec::Fixed(Scope::Singleton),
        )
    }

    /// An `async` factory; singletons made by one are awaited at build time, in dependency order,
    /// and a failure stops the build with the provider named.
    /// Like a synchronous factory, it resolves only what it declares with
    /// [`depends_on`](Self::depends_on).
    ///
    /// ```
    /// use cortex_di::{ContainerBuilder, Provider};
    /// struct Pool { size: u32 }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let c = ContainerBuilder::new()
    ///     .add(Provider::async_factory(|_r| async { Ok(Pool { size: 5 }) }))
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(c.get::<Pool>().unwrap().size, 5);
    /// # });
    /// ```
    #[track_caller]
    pub fn async_factory<F, Fut>(factory: F) -> Self
    where
        F: Fn(AsyncResolver) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, BoxError>> + Send + 'static,
    {
        let f = move |r: AsyncResolver| -> BoxFuture<Result<Instance, BoxError>> {
            let fut = factory(r);
            Box::pin(async move { Ok(Instance::new(Inject::new(fut.await?))) })
        };
        Self::raw(
            Factory::Async(Arc::new(f)),
            ProviderKind::Async,
            ScopeSpec::Fixed(Scope::Singleton),
        )
    }
}

impl<T: ?Sized + OnStart + 'static> Provider<T> {
    /// Calls [`OnStart::on_start`] on the instance when the container starts
    /// ([`Container::start`](crate::Container::start)), in creation order; a lazy singleton created
    /// after that is started as it is created. Singletons only.
    pub fn on_start(mut self) -> Self {
        self.raw.start = Some(start_hook::<T>);
        self
    }
}

fn start_hook<T: ?Sized + OnStart + 'static>(
    instance: &Instance,
) -> BoxFuture<Result<(), BoxError>> {
    let handle = instance.downcast_ref::<T>().cloned();
    Box::pin(async move {
        match handle {
            Some(handle) => handle.on_start().await,
            None => Ok(()),
        }
    })
}

impl<T: ?Sized + OnReady + 'static> Provider<T> {
    /// Calls [`OnReady::on_ready`] on the instance when the app is serving
    /// ([`Container::ready`](crate::Container::ready)), in creation order. Singletons only.
    pub fn on_ready(mut self) -> Self {
        self.raw.ready = Some(ready_hook::<T>);
        self
    }
}

fn ready_hook<T: ?Sized + OnReady + 'static>(
    instance: &Instance,
) -> BoxFuture<Result<(), BoxError>> {
    let handle = instance.downcast_ref::<T>().cloned();
    Box::pin(async move {
        match handle {
            Some(handle) => handle.on_ready().await,
            None => Ok(()),
        }
    })
}

impl<T: ?Sized + OnShutdown + 'static> Provider<T> {
    /// Calls [`OnShutdown::on_shutdown`] on the instance when the container (or, for request-scoped
    /// providers, the request scope) shuts down, in reverse creation order.
    pub fn on_shutdown(mut self) -> Self {
        self.raw.shutdown = Some(shutdown_hook::<T>);
        self
    }
}

impl<T: ?Sized + OnScopeEnd + 'static> Provider<T> {
    /// Calls [`OnScopeEnd::on_scope_end`] on the instance when its request scope ends
    /// ([`RequestScope::finish`](crate::RequestScope::finish)), with the unit of work's outcome.
    /// Request-scoped providers only.
    pub fn on_scope_end(mut self) -> Self {
        self.raw.scope_end = Some(scope_end_hook::<T>);
        self
    }
}

fn scope_end_hook<T: ?Sized + OnScopeEnd + 'static>(
    instance: &Instance,
    outcome: &ScopeOutcome,
) -> BoxFuture<()> {
    let handle = instance.downcast_ref::<T>().cloned();
    let outcome = outcome.clone();
    Box::pin(async move {
        if let Some(handle) = handle {
            handle.on_scope_end(&outcome).await;
        }
    })
}

fn shutdown_hook<T: ?Sized + OnShutdown + 'static>(instance: &Instance) -> BoxFuture<()> {
    let handle = instance.downcast_ref::<T>().cloned();
    Box::pin(async move {
        if let Some(handle) = handle {
            handle.on_shutdown().await;
        }
    })
}

impl<T: ?Sized> fmt::Debug for Provider<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("key", &self.raw.key)
            .field("kind", &self.raw.kind)
            .field("location", &self.raw.location)
            .finish_non_exhaustive()
    }
}
