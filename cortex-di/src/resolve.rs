//! Resolution: the built [`Container`], [`RequestScope`]s, and the resolvers factories receive.

use std::any::TypeId;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::condition::Env;
use crate::error::ProviderRef;
use crate::graph::Graph;
use crate::key::TypeIdMap;
use crate::provider::{BoxFuture, Factory, Instance, ShutdownHook, StartHook};
use crate::{
    BoxError, ConfigSource, Dependency, Error, Inject, Key, LifecycleHook, Location, ProviderKind,
    Result, Scope,
};

/// A resolved dependency edge.
pub(crate) struct Edge {
    pub(crate) dep: Dependency,
    pub(crate) target: Option<usize>,
}

/// A provider after validation.
pub(crate) struct Node {
    pub(crate) key: Key,
    pub(crate) scope: Scope,
    pub(crate) lazy: bool,
    pub(crate) edges: Vec<Edge>,
    pub(crate) factory: Factory,
    pub(crate) kind: ProviderKind,
    pub(crate) location: Location,
    pub(crate) declared_by: Cow<'static, str>,
    pub(crate) start: Option<StartHook>,
    pub(crate) ready: Option<StartHook>,
    pub(crate) shutdown: Option<ShutdownHook>,
    /// Creating the instance may have to await (an async factory, here or below).
    pub(crate) init_async: bool,
    /// Index of the node's cell among the singleton or request cells.
    pub(crate) slot: usize,
}

impl Node {
    pub(crate) fn reference(&self) -> ProviderRef {
        ProviderRef {
            key: self.key.clone(),
            declared_by: self.declared_by.to_string(),
            location: self.location,
        }
    }

    /// Whether a dependent must await to obtain this node's instance.
    pub(crate) fn needs_async_for_dependents(&self) -> bool {
        self.init_async && (self.scope != Scope::Singleton || self.lazy)
    }
}

/// A once-initialised slot: synchronous when the provider never awaits, `async` otherwise.
pub(crate) enum Cell {
    Sync(once_cell::sync::OnceCell<Instance>),
    Async(tokio::sync::OnceCell<Instance>),
}

impl Cell {
    pub(crate) fn new(is_async: bool) -> Cell {
        if is_async {
            Cell::Async(tokio::sync::OnceCell::new())
        } else {
            Cell::Sync(once_cell::sync::OnceCell::new())
        }
    }

    #[inline]
    fn get(&self) -> Option<&Instance> {
        match self {
            Cell::Sync(c) => c.get(),
            Cell::Async(c) => c.get(),
        }
    }

    fn take(&mut self) -> Option<Instance> {
        match self {
            Cell::Sync(c) => c.take(),
            Cell::Async(c) => c.take(),
        }
    }
}

/// How far the container's lifecycle has gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Built: start hooks of new singletons wait for [`Container::start`].
    #[default]
    Built,
    /// `start()` has begun: new singletons are started as they are created.
    Started,
    /// `ready()` has begun: new singletons are started and made ready as they are created.
    Ready,
}

/// A start or ready hook waiting for its phase: the provider's index and the hook's future (which
/// holds its own handle on the instance).
type PendingHook = (usize, BoxFuture<Result<(), BoxError>>);

/// The singletons' lifecycle: what was created, and the hooks still to run.
#[derive(Default)]
pub(crate) struct Lifecycle {
    pub(crate) phase: Phase,
    /// Singletons with a shutdown hook, in creation order.
    pub(crate) created: Vec<usize>,
    /// Start hooks of singletons created before `start()`, in creation order.
    to_start: Vec<PendingHook>,
    /// Ready hooks of singletons created before `ready()`, in creation order.
    to_ready: Vec<PendingHook>,
}

impl Lifecycle {
    /// Records `idx` as created: its hooks wait for their phases.
    fn queue(
        &mut self,
        idx: usize,
        node: &Node,
        start: Option<BoxFuture<Result<(), BoxError>>>,
        ready: Option<BoxFuture<Result<(), BoxError>>>,
    ) {
        if let Some(hook) = start {
            self.to_start.push((idx, hook));
        }
        if let Some(hook) = ready {
            self.to_ready.push((idx, hook));
        }
        if node.shutdown.is_some() {
            self.created.push(idx);
        }
    }
}

pub(crate) struct Inner {
    pub(crate) nodes: Vec<Node>,
    pub(crate) unnamed: TypeIdMap<usize>,
    pub(crate) named: HashMap<Key, usize>,
    pub(crate) singletons: Box<[Cell]>,
    /// For each request slot, whether its cell is async.
    pub(crate) request_cells: Box<[bool]>,
    pub(crate) lifecycle: Mutex<Lifecycle>,
    /// Held while `start()` or `ready()` runs hooks, so a second call waits for the first.
    pub(crate) lifecycle_gate: tokio::sync::Mutex<()>,
    pub(crate) shut_down: AtomicBool,
    pub(crate) start_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) env: Env,
}

impl Inner {
    fn lifecycle(&self) -> std::sync::MutexGuard<'_, Lifecycle> {
        self.lifecycle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a singleton just created on the synchronous path. Those never have start or ready
    /// hooks that are due already: a singleton with such hooks that can be created after
    /// `start()` (a lazy one) is created on the `async` path, by [`Self::settle`].
    fn record_singleton(&self, idx: usize, inst: &Instance) {
        let node = &self.nodes[idx];
        if node.start.is_none() && node.ready.is_none() && node.shutdown.is_none() {
            return;
        }
        let start = node.start.map(|hook| hook(inst));
        let ready = node.ready.map(|hook| hook(inst));
        let mut lifecycle = self.lifecycle();
        debug_assert!(
            lifecycle.phase == Phase::Built || (start.is_none() && ready.is_none()),
            "a singleton with lifecycle hooks was created synchronously after start()"
        );
        lifecycle.queue(idx, node, start, ready);
    }

    /// Records a singleton just created on the `async` path: its start and ready hooks run now
    /// when their phase has begun (a lazy singleton created after `start()`), or wait for it.
    /// Fails when a hook that ran fails; the instance is then dropped and nothing is recorded.
    async fn settle(&self, idx: usize, inst: &Instance) -> Result<()> {
        let node = &self.nodes[idx];
        if node.start.is_none() && node.ready.is_none() {
            if node.shutdown.is_some() {
                self.lifecycle().created.push(idx);
            }
            return Ok(());
        }
        let mut start = node.start.map(|hook| hook(inst));
        let mut ready = node.ready.map(|hook| hook(inst));
        // Each round runs the hooks whose phase has begun; the phase may move on while they run,
        // so the rest are queued only once a round finds nothing due (under the lock that
        // `start()` and `ready()` take to move the phase on).
        loop {
            let mut due = Vec::new();
            {
                let mut lifecycle = self.lifecycle();
                if lifecycle.phase >= Phase::Started
                    && let Some(hook) = start.take()
                {
                    due.push((LifecycleHook::Start, hook));
                }
                if lifecycle.phase >= Phase::Ready
                    && let Some(hook) = ready.take()
                {
                    due.push((LifecycleHook::Ready, hook));
                }
                if due.is_empty() {
                    lifecycle.queue(idx, node, start, ready);
                    return Ok(());
                }
            }
            for (kind, hook) in due {
                run_hook(node, kind, hook, self.start_timeout).await?;
            }
        }
    }

    #[inline]
    fn lookup(&self, key: &Key) -> Option<usize> {
        match key.name() {
            None => self.unnamed.get(&key.type_id()).copied(),
            Some(_) => self.named.get(key).copied(),
        }
    }

    #[inline]
    fn lookup_type<T: ?Sized + 'static>(&self) -> Option<usize> {
        self.unnamed.get(&TypeId::of::<T>()).copied()
    }
}

pub(crate) struct ScopeState {
    inner: Arc<Inner>,
    cells: Box<[Cell]>,
    created: Mutex<Vec<usize>>,
    closed: AtomicBool,
}

impl ScopeState {
    /// Records a request-scoped instance for this scope's shutdown hooks.
    fn record(&self, node: &Node, idx: usize) {
        if node.shutdown.is_some() {
            self.created
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(idx);
        }
    }
}

enum Got<'a> {
    Borrowed(&'a Instance),
    Owned(Instance),
}

fn downcast<T: ?Sized + Send + Sync + 'static>(got: Got<'_>, node: &Node) -> Result<Inject<T>> {
    let found = match got {
        Got::Borrowed(b) => b.downcast_ref::<Inject<T>>().cloned(),
        Got::Owned(o) => o.downcast::<Inject<T>>().ok().map(|b| *b),
    };
    // Keys are built from the same `T` as the instances, so this only fails if a hand-written
    // provider lies about its type; say so rather than panic.
    found.ok_or_else(|| Error::Provider {
        provider: node.reference(),
        source: format!(
            "the provider's instance is not a `{}`",
            std::any::type_name::<T>()
        )
        .into(),
    })
}

fn provider_error(node: &Node, source: crate::BoxError) -> Error {
    Error::Provider {
        provider: node.reference(),
        source,
    }
}

/// A borrowed resolution context.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    inner: &'a Inner,
    scope: Option<&'a ScopeState>,
    /// Instances of transient dependencies made ahead of a synchronous factory by the async path.
    stash: &'a [(usize, Instance)],
}

impl<'a> Ctx<'a> {
    fn index(&self, key: &Key) -> Result<usize> {
        self.inner
            .lookup(key)
            .ok_or_else(|| Error::NotRegistered { key: key.clone() })
    }

    fn cell(&self, idx: usize) -> Result<&'a Cell> {
        let node = &self.inner.nodes[idx];
        match node.scope {
            Scope::Singleton => Ok(&self.inner.singletons[node.slot]),
            Scope::Request => match self.scope {
                Some(scope) => Ok(&scope.cells[node.slot]),
                None => Err(Error::RequestScopeRequired {
                    key: node.key.clone(),
                }),
            },
            Scope::Transient => unreachable!("transient providers have no cell"),
        }
    }

    /// Records an instance just put in its cell on the synchronous path.
    fn record_created(&self, idx: usize, inst: &Instance) {
        let node = &self.inner.nodes[idx];
        match (node.scope, self.scope) {
            (Scope::Request, Some(scope)) => scope.record(node, idx),
            _ => self.inner.record_singleton(idx, inst),
        }
    }

    fn check_open(&self, idx: usize) -> Result<()> {
        let node = &self.inner.nodes[idx];
        let closed = match (node.scope, self.scope) {
            (Scope::Request, Some(scope)) => scope.closed.load(Ordering::Acquire),
            _ => self.inner.shut_down.load(Ordering::Acquire),
        };
        if closed {
            Err(Error::ShutDown {
                key: node.key.clone(),
            })
        } else {
            Ok(())
        }
    }

    #[inline]
    fn instance(&self, idx: usize) -> Result<Got<'a>> {
        let node = &self.inner.nodes[idx];
        if node.scope == Scope::Transient {
            if let Some((_, inst)) = self.stash.iter().find(|(i, _)| *i == idx) {
                return Ok(Got::Borrowed(inst));
            }
            if node.init_async {
                return Err(Error::NeedsAsync {
                    key: node.key.clone(),
                });
            }
            return self.create_sync(idx).map(Got::Owned);
        }
        match self.cell(idx)? {
            Cell::Sync(cell) => cell
                .get_or_try_init(|| {
                    let inst = self.create_sync(idx)?;
                    self.record_created(idx, &inst);
                    Ok(inst)
                })
                .map(Got::Borrowed),
            Cell::Async(cell) => match cell.get() {
                Some(inst) => Ok(Got::Borrowed(inst)),
                None => Err(Error::NeedsAsync {
                    key: node.key.clone(),
                }),
            },
        }
    }

    fn create_sync(&self, idx: usize) -> Result<Instance> {
        self.check_open(idx)?;
        let node = &self.inner.nodes[idx];
        match &node.factory {
            Factory::Value(make) => Ok(make()),
            Factory::Sync(f) => {
                let r = Resolver {
                    ctx: Ctx {
                        stash: &[],
                        ..*self
                    },
                    requester: node,
                };
                f(&r).map_err(|e| provider_error(node, e))
            }
            Factory::Async(_) => Err(Error::NeedsAsync {
                key: node.key.clone(),
            }),
        }
    }

    /// The instance of `idx` if it already exists in its cell: a created singleton, or a
    /// request-scoped value this scope already made.
    #[inline]
    fn ready(&self, idx: usize) -> Option<&'a Instance> {
        let node = &self.inner.nodes[idx];
        let cell = match node.scope {
            Scope::Singleton => &self.inner.singletons[node.slot],
            Scope::Request => &self.scope?.cells[node.slot],
            Scope::Transient => return None,
        };
        cell.get()
    }

    /// The hot path of every resolve: an instance that already exists is one lookup, one downcast
    /// and one `Arc` clone; anything else (creating, errors) goes through [`Self::get_slow`].
    #[inline]
    fn get<T: ?Sized + Send + Sync + 'static>(&self, idx: usize) -> Result<Inject<T>> {
        if let Some(inst) = self.ready(idx)
            && let Some(found) = inst.downcast_ref::<Inject<T>>()
        {
            return Ok(found.clone());
        }
        self.get_slow(idx)
    }

    #[inline(never)]
    fn get_slow<T: ?Sized + Send + Sync + 'static>(&self, idx: usize) -> Result<Inject<T>> {
        let got = self.instance(idx)?;
        downcast(got, &self.inner.nodes[idx])
    }
}

/// An owned resolution context, for `async` work.
#[derive(Clone)]
struct OwnedCtx {
    inner: Arc<Inner>,
    scope: Option<Arc<ScopeState>>,
}

impl OwnedCtx {
    fn borrow(&self) -> Ctx<'_> {
        Ctx {
            inner: &self.inner,
            scope: self.scope.as_deref(),
            stash: &[],
        }
    }

    /// Makes sure the instance of `idx` exists: returns it when it is transient (owned), or `None`
    /// once it sits in its cell.
    fn ensure(self, idx: usize) -> BoxFuture<Result<Option<Instance>>> {
        Box::pin(async move {
            let node = &self.inner.nodes[idx];
            if !node.init_async {
                let ctx = self.borrow();
                return match ctx.instance(idx)? {
                    Got::Owned(inst) => Ok(Some(inst)),
                    Got::Borrowed(_) => Ok(None),
                };
            }
            if node.scope == Scope::Transient {
                return self.create_async(idx).await.map(Some);
            }
            let cell = self.borrow().cell(idx)?;
            match cell {
                Cell::Async(cell) => {
                    cell.get_or_try_init(|| async {
                        let inst = self.clone().create_async(idx).await?;
                        match (node.scope, self.scope.as_deref()) {
                            (Scope::Request, Some(scope)) => scope.record(node, idx),
                            _ => self.inner.settle(idx, &inst).await?,
                        }
                        Ok::<_, Error>(inst)
                    })
                    .await?;
                }
                Cell::Sync(_) => unreachable!("async providers have async cells"),
            }
            Ok(None)
        })
    }

    async fn create_async(self, idx: usize) -> Result<Instance> {
        self.borrow().check_open(idx)?;
        let node = &self.inner.nodes[idx];
        match &node.factory {
            Factory::Value(make) => Ok(make()),
            Factory::Async(f) => {
                let r = AsyncResolver {
                    ctx: self.clone(),
                    requester: node.key.type_name(),
                };
                f(r).await.map_err(|e| provider_error(node, e))
            }
            Factory::Sync(f) => {
                // A synchronous factory over dependencies that must be awaited: make those first,
                // then run the factory, which finds them in their cells or in the stash.
                let mut stash = Vec::new();
                for edge in &node.edges {
                    let Some(target) = edge.target else { continue };
                    if !self.inner.nodes[target].needs_async_for_dependents() {
                        continue;
                    }
                    let made = self
                        .clone()
                        .ensure(target)
                        .await
                        .map_err(|e| provider_error(node, e.into()))?;
                    if let Some(inst) = made {
                        stash.push((target, inst));
                    }
                }
                let ctx = Ctx {
                    inner: &self.inner,
                    scope: self.scope.as_deref(),
                    stash: &stash,
                };
                let r = Resolver {
                    ctx,
                    requester: node,
                };
                f(&r).map_err(|e| provider_error(node, e))
            }
        }
    }

    async fn resolve<T: ?Sized + Send + Sync + 'static>(&self, idx: usize) -> Result<Inject<T>> {
        let node = &self.inner.nodes[idx];
        match self.clone().ensure(idx).await? {
            Some(inst) => downcast(Got::Owned(inst), node),
            None => downcast(self.borrow().instance(idx)?, node),
        }
    }
}

/// The resolver handed to synchronous factories (and the one `#[injectable]` code uses).
///
/// ```
/// use cortex_di::{ContainerBuilder, Dependency, Provider};
/// struct Port(u16);
/// struct Server { port: u16 }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let c = ContainerBuilder::new()
///     .add(Provider::value(Port(8080)))
///     .add(Provider::factory(|r| Ok(Server { port: r.get::<Port>()?.0 })).depends_on(Dependency::on::<Port>()))
///     .build()
///     .await
///     .unwrap();
/// assert_eq!(c.get::<Server>().unwrap().port, 8080);
/// # });
/// ```
pub struct Resolver<'a> {
    ctx: Ctx<'a>,
    requester: &'a Node,
}

impl Resolver<'_> {
    /// Resolves the unnamed binding of `T`.
    #[inline]
    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Inject<T>> {
        match self.ctx.inner.lookup_type::<T>() {
            Some(idx) => self.ctx.get(idx),
            None => Err(Error::NotRegistered {
                key: Key::of::<T>(),
            }),
        }
    }

    /// Resolves the binding of `T` named `name`.
    pub fn get_named<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Inject<T>> {
        let idx = self.ctx.index(&Key::of::<T>().with_name(name))?;
        self.ctx.get(idx)
    }

    /// Resolves the unnamed binding of `T`, or `None` when nothing is bound to it.
    pub fn get_optional<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Option<Inject<T>>> {
        match self.ctx.inner.lookup_type::<T>() {
            Some(idx) => self.ctx.get(idx).map(Some),
            None => Ok(None),
        }
    }

    /// Resolves the binding of `T` named `name`, or `None` when nothing is bound to it.
    pub fn get_named_optional<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Option<Inject<T>>> {
        match self.ctx.inner.lookup(&Key::of::<T>().with_name(name)) {
            Some(idx) => self.ctx.get(idx).map(Some),
            None => Ok(None),
        }
    }

    /// Reads the configuration value at `key` (a dotted path) from the bound [`ConfigSource`] and
    /// deserializes it. Errors name the key and the type, never the value (it may be a secret).
    pub fn config<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        let source = self.get::<dyn ConfigSource>()?;
        read_config(&*source, key, self.requester.key.type_name())
    }

    /// The environment the container was built for.
    pub fn env(&self) -> &Env {
        &self.ctx.inner.env
    }
}

pub(crate) fn read_config<T: DeserializeOwned>(
    source: &dyn ConfigSource,
    key: &str,
    required_by: &'static str,
) -> Result<T> {
    let value = source.value(key).ok_or_else(|| Error::Config {
        key: key.to_string(),
        problem: "is missing".into(),
        required_by,
    })?;
    let kind = match &value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "a table",
    };
    serde_json::from_value(value).map_err(|_| Error::Config {
        key: key.to_string(),
        problem: format!(
            "cannot be read as `{}` (found {kind})",
            std::any::type_name::<T>()
        ),
        required_by,
    })
}

/// The owned resolver handed to `async` factories.
///
/// ```
/// use cortex_di::{ContainerBuilder, Dependency, Provider};
/// struct Url(String);
/// struct Pool { url: String }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let c = ContainerBuilder::new()
///     .add(Provider::value(Url("sqlite::memory:".into())))
///     .add(
///         Provider::async_factory(|r| async move {
///             let url = r.resolve::<Url>().await?;
///             Ok(Pool { url: url.0.clone() })
///         })
///         .depends_on(Dependency::on::<Url>()),
///     )
///     .build()
///     .await
///     .unwrap();
/// assert_eq!(c.get::<Pool>().unwrap().url, "sqlite::memory:");
/// # });
/// ```
#[derive(Clone)]
pub struct AsyncResolver {
    ctx: OwnedCtx,
    requester: &'static str,
}

impl AsyncResolver {
    /// Resolves the unnamed binding of `T`, awaiting `async` providers.
    pub async fn resolve<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Inject<T>> {
        match self.ctx.inner.lookup_type::<T>() {
            Some(idx) => self.ctx.resolve(idx).await,
            None => Err(Error::NotRegistered {
                key: Key::of::<T>(),
            }),
        }
    }

    /// Resolves the binding of `T` named `name`.
    pub async fn resolve_named<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Inject<T>> {
        let idx = self.ctx.borrow().index(&Key::of::<T>().with_name(name))?;
        self.ctx.resolve(idx).await
    }

    /// Resolves the unnamed binding of `T`, or `None` when nothing is bound to it.
    pub async fn resolve_optional<T: ?Sized + Send + Sync + 'static>(
        &self,
    ) -> Result<Option<Inject<T>>> {
        match self.ctx.inner.lookup_type::<T>() {
            Some(idx) => self.ctx.resolve(idx).await.map(Some),
            None => Ok(None),
        }
    }

    /// Resolves the binding of `T` named `name`, or `None` when nothing is bound to it.
    pub async fn resolve_named_optional<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Option<Inject<T>>> {
        match self.ctx.inner.lookup(&Key::of::<T>().with_name(name)) {
            Some(idx) => self.ctx.resolve(idx).await.map(Some),
            None => Ok(None),
        }
    }

    /// Reads and deserializes the configuration value at `key` (see [`Resolver::config`]).
    pub async fn config<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        let source = self.resolve::<dyn ConfigSource>().await?;
        read_config(&*source, key, self.requester)
    }

    /// The environment the container was built for.
    pub fn env(&self) -> &Env {
        &self.ctx.inner.env
    }
}

/// A built, validated container. Cheap to clone (one `Arc`), `Send + Sync`.
///
/// Singletons were created by [`ContainerBuilder::build`](crate::ContainerBuilder::build) unless
/// lazy; [`get`](Self::get) returns them with a lookup and an `Arc` clone, no lock. Request-scoped
/// providers are resolved from a [`RequestScope`] opened with [`scope`](Self::scope).
///
/// ```
/// use cortex_di::{ContainerBuilder, Inject, Provider};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let c = ContainerBuilder::new().add(Provider::value(42_u32)).build().await.unwrap();
/// let a: Inject<u32> = c.get().unwrap();
/// let b: Inject<u32> = c.resolve().await.unwrap();
/// assert!(Inject::ptr_eq(&a, &b));
/// # });
/// ```
#[derive(Clone)]
pub struct Container {
    ctx: OwnedCtx,
}

/// What [`Container::shutdown`] and [`RequestScope::close`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Providers whose hook completed, in the order they ran.
    pub completed: Vec<String>,
    /// Providers whose hook did not finish within the timeout.
    pub timed_out: Vec<String>,
}

impl Container {
    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Container {
            ctx: OwnedCtx { inner, scope: None },
        }
    }

    pub(crate) async fn ensure_eager(&self, idx: usize) -> Result<()> {
        self.ctx.clone().ensure(idx).await.map(drop)
    }

    /// Resolves the unnamed binding of `T` without awaiting: singletons (made at build time),
    /// and transients whose providers never await.
    #[inline]
    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Inject<T>> {
        match self.ctx.inner.lookup_type::<T>() {
            Some(idx) => self.ctx.borrow().get(idx),
            None => Err(Error::NotRegistered {
                key: Key::of::<T>(),
            }),
        }
    }

    /// Resolves the binding of `T` named `name` without awaiting.
    pub fn get_named<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Inject<T>> {
        let ctx = self.ctx.borrow();
        ctx.get(ctx.index(&Key::of::<T>().with_name(name))?)
    }

    /// Resolves the unnamed binding of `T`, or `None` when nothing is bound to it.
    pub fn get_optional<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Option<Inject<T>>> {
        match self.ctx.inner.lookup_type::<T>() {
            Some(idx) => self.ctx.borrow().get(idx).map(Some),
            None => Ok(None),
        }
    }

    /// Resolves the unnamed binding of `T`, awaiting `async` providers.
    pub async fn resolve<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Inject<T>> {
        AsyncResolver {
            ctx: self.ctx.clone(),
            requester: "the caller",
        }
        .resolve()
        .await
    }

    /// Resolves the binding of `T` named `name`, awaiting `async` providers.
    pub async fn resolve_named<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Inject<T>> {
        AsyncResolver {
            ctx: self.ctx.clone(),
            requester: "the caller",
        }
        .resolve_named(name)
        .await
    }

    /// Whether anything is bound to `key`.
    pub fn contains(&self, key: &Key) -> bool {
        self.ctx.inner.lookup(key).is_some()
    }

    /// Every binding of `T`, named or not, in registration order: the health checks of an app,
    /// the plugins of a kind. Request-scoped bindings are skipped (there is no request here);
    /// `async` ones not yet created answer [`Error::NeedsAsync`].
    ///
    /// ```
    /// use cortex_di::{ContainerBuilder, Provider};
    /// use std::sync::Arc;
    /// trait Check: Send + Sync { fn name(&self) -> &'static str; }
    /// struct Db;
    /// impl Check for Db { fn name(&self) -> &'static str { "db" } }
    /// struct Disk;
    /// impl Check for Disk { fn name(&self) -> &'static str { "disk" } }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let c = ContainerBuilder::new()
    ///     .add(Provider::<dyn Check>::arc_value(Arc::new(Db)).named("db"))
    ///     .add(Provider::<dyn Check>::arc_value(Arc::new(Disk)).named("disk"))
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// let names: Vec<_> = c.get_all::<dyn Check>().unwrap().iter().map(|c| c.name()).collect();
    /// assert_eq!(names, ["db", "disk"]);
    /// # });
    /// ```
    pub fn get_all<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Vec<Inject<T>>> {
        let ctx = self.ctx.borrow();
        let type_id = TypeId::of::<T>();
        self.ctx
            .inner
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.key.type_id() == type_id && n.scope != Scope::Request)
            .map(|(idx, _)| ctx.get(idx))
            .collect()
    }

    /// Opens a request scope: request-scoped providers get one instance per scope.
    pub fn scope(&self) -> RequestScope {
        let cells = self
            .ctx
            .inner
            .request_cells
            .iter()
            .map(|&is_async| Cell::new(is_async))
            .collect();
        let state = ScopeState {
            inner: self.ctx.inner.clone(),
            cells,
            created: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        };
        RequestScope {
            ctx: OwnedCtx {
                inner: self.ctx.inner.clone(),
                scope: Some(Arc::new(state)),
            },
        }
    }

    /// The providers, their scopes and dependencies.
    pub fn graph(&self) -> Graph {
        Graph::from_nodes(&self.ctx.inner.nodes)
    }

    /// The environment the container was built for.
    pub fn env(&self) -> &Env {
        &self.ctx.inner.env
    }

    /// Runs the [`OnStart`](crate::OnStart) hooks of the singletons created so far, one at a
    /// time, in creation order (a singleton's dependencies are created, and so started, before
    /// it), each bounded by the builder's [`start_timeout`](crate::ContainerBuilder::start_timeout).
    ///
    /// From then on a lazy singleton is started as it is created, before anyone receives it; a
    /// lazy singleton that is never used is never started. `App::build` calls this right after
    /// building the container.
    ///
    /// The first hook that fails or times out stops the start: the container is shut down (the
    /// [`OnShutdown`](crate::OnShutdown) hooks of everything created run, in reverse order) and
    /// the error names the provider ([`Error::Hook`], [`Error::HookTimedOut`]). Calling it again,
    /// or after [`shutdown`](Self::shutdown), does nothing.
    pub async fn start(&self) -> Result<()> {
        let _gate = self.ctx.inner.lifecycle_gate.lock().await;
        self.start_locked().await
    }

    async fn start_locked(&self) -> Result<()> {
        let inner = &self.ctx.inner;
        let pending = {
            let mut lifecycle = inner.lifecycle();
            if lifecycle.phase >= Phase::Started || inner.shut_down.load(Ordering::Acquire) {
                return Ok(());
            }
            lifecycle.phase = Phase::Started;
            std::mem::take(&mut lifecycle.to_start)
        };
        let mut pending = pending.into_iter();
        while let Some((idx, hook)) = pending.next() {
            let node = &inner.nodes[idx];
            if let Err(e) = run_hook(node, LifecycleHook::Start, hook, inner.start_timeout).await {
                drop(pending);
                tracing::error!(error = %e, "start failed: shutting the container down");
                self.shutdown().await;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Runs the [`OnReady`](crate::OnReady) hooks of the singletons created so far, in creation
    /// order, each bounded by the builder's
    /// [`start_timeout`](crate::ContainerBuilder::start_timeout); starts the container first if
    /// [`start`](Self::start) was not called. `Application::serve_on` calls this once the server
    /// is listening. From then on a lazy singleton is started and made ready as it is created.
    ///
    /// The first hook that fails or times out stops the rest and its error is returned, naming
    /// the provider. The container is left running, so the caller can drain what is in flight
    /// before calling [`shutdown`](Self::shutdown). Calling it again does nothing.
    pub async fn ready(&self) -> Result<()> {
        let _gate = self.ctx.inner.lifecycle_gate.lock().await;
        self.start_locked().await?;
        let inner = &self.ctx.inner;
        let pending = {
            let mut lifecycle = inner.lifecycle();
            if lifecycle.phase >= Phase::Ready || inner.shut_down.load(Ordering::Acquire) {
                return Ok(());
            }
            lifecycle.phase = Phase::Ready;
            std::mem::take(&mut lifecycle.to_ready)
        };
        for (idx, hook) in pending {
            run_hook(
                &inner.nodes[idx],
                LifecycleHook::Ready,
                hook,
                inner.start_timeout,
            )
            .await?;
        }
        Ok(())
    }

    /// Runs the [`OnShutdown`](crate::OnShutdown) hooks of the singletons that were created, in
    /// reverse creation order, each bounded by the builder's shutdown timeout. Afterwards nothing
    /// new can be created, and start or ready hooks that have not run yet never will. Calling it
    /// again does nothing.
    pub async fn shutdown(&self) -> ShutdownReport {
        let inner = &self.ctx.inner;
        if inner.shut_down.swap(true, Ordering::AcqRel) {
            return ShutdownReport::default();
        }
        let order = {
            let mut lifecycle = inner.lifecycle();
            lifecycle.to_start.clear();
            lifecycle.to_ready.clear();
            std::mem::take(&mut lifecycle.created)
        };
        let hooks = order
            .iter()
            .rev()
            .filter_map(|&idx| {
                let node = &inner.nodes[idx];
                let inst = inner.singletons[node.slot].get()?;
                Some((node.key.to_string(), (node.shutdown?)(inst)))
            })
            .collect();
        run_hooks(hooks, inner.shutdown_timeout).await
    }
}

/// Runs one start or ready hook, bounded by `timeout`.
async fn run_hook(
    node: &Node,
    kind: LifecycleHook,
    hook: BoxFuture<Result<(), BoxError>>,
    timeout: Duration,
) -> Result<()> {
    let started = tokio::time::Instant::now();
    let outcome = tokio::time::timeout(timeout, hook).await;
    tracing::debug!(provider = %node.key, hook = %kind, elapsed = ?started.elapsed(), "lifecycle hook");
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(source)) => Err(Error::Hook {
            hook: kind,
            provider: Box::new(node.reference()),
            source,
        }),
        Err(_) => Err(Error::HookTimedOut {
            hook: kind,
            provider: Box::new(node.reference()),
            timeout,
        }),
    }
}

async fn run_hooks(hooks: Vec<(String, BoxFuture<()>)>, timeout: Duration) -> ShutdownReport {
    let mut report = ShutdownReport::default();
    for (name, hook) in hooks {
        match tokio::time::timeout(timeout, hook).await {
            Ok(()) => report.completed.push(name),
            Err(_) => {
                tracing::warn!(provider = %name, ?timeout, "shutdown hook timed out");
                report.timed_out.push(name);
            }
        }
    }
    report
}

/// Takes the instances with hooks out of `cells` and, when a tokio runtime is at hand, runs their
/// hooks on it; used when a container or scope is dropped without being shut down.
fn dispose_on_drop(
    nodes: &[Node],
    cells: &mut [Cell],
    created: Vec<usize>,
    timeout: Duration,
    what: &str,
) {
    let mut hooks = Vec::new();
    for idx in created.into_iter().rev() {
        let node = &nodes[idx];
        if let (Some(hook), Some(inst)) = (node.shutdown, cells[node.slot].take()) {
            let fut = hook(&inst);
            hooks.push((
                node.key.to_string(),
                Box::pin(async move {
                    fut.await;
                    drop(inst);
                }) as BoxFuture<()>,
            ));
        }
    }
    if hooks.is_empty() {
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(run_hooks(hooks, timeout));
        }
        Err(_) => tracing::warn!(
            "{what} dropped outside a tokio runtime without shutdown(): {} shutdown hooks skipped",
            hooks.len()
        ),
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.shut_down.load(Ordering::Acquire) {
            return;
        }
        let lifecycle = self.lifecycle.get_mut().unwrap_or_else(|e| e.into_inner());
        lifecycle.to_start.clear();
        lifecycle.to_ready.clear();
        let created = std::mem::take(&mut lifecycle.created);
        dispose_on_drop(
            &self.nodes,
            &mut self.singletons,
            created,
            self.shutdown_timeout,
            "container",
        );
    }
}

/// One request's worth of request-scoped instances; singletons come from the container.
///
/// The HTTP layer opens one per request. Dropping it disposes its instances; [`close`](Self::close)
/// awaits their shutdown hooks instead.
///
/// ```
/// use cortex_di::{ContainerBuilder, Inject, Provider, Scope};
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// static NEXT: AtomicU32 = AtomicU32::new(0);
/// struct RequestId(u32);
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let c = ContainerBuilder::new()
///     .add(Provider::factory(|_| Ok(RequestId(NEXT.fetch_add(1, Ordering::Relaxed)))).scope(Scope::Request))
///     .build()
///     .await
///     .unwrap();
/// let first = c.scope();
/// let second = c.scope();
/// assert_eq!(first.get::<RequestId>().unwrap().0, first.get::<RequestId>().unwrap().0);
/// assert_ne!(first.get::<RequestId>().unwrap().0, second.get::<RequestId>().unwrap().0);
/// # });
/// ```
#[derive(Clone)]
pub struct RequestScope {
    ctx: OwnedCtx,
}

impl RequestScope {
    /// Resolves the unnamed binding of `T` without awaiting.
    #[inline]
    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Inject<T>> {
        match self.ctx.inner.lookup_type::<T>() {
            Some(idx) => self.ctx.borrow().get(idx),
            None => Err(Error::NotRegistered {
                key: Key::of::<T>(),
            }),
        }
    }

    /// Resolves the binding of `T` named `name` without awaiting.
    pub fn get_named<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Inject<T>> {
        let ctx = self.ctx.borrow();
        ctx.get(ctx.index(&Key::of::<T>().with_name(name))?)
    }

    /// Resolves the unnamed binding of `T`, awaiting `async` providers.
    pub async fn resolve<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Inject<T>> {
        AsyncResolver {
            ctx: self.ctx.clone(),
            requester: "the caller",
        }
        .resolve()
        .await
    }

    /// Resolves the binding of `T` named `name`, awaiting `async` providers.
    pub async fn resolve_named<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Inject<T>> {
        AsyncResolver {
            ctx: self.ctx.clone(),
            requester: "the caller",
        }
        .resolve_named(name)
        .await
    }

    /// The container this scope belongs to.
    pub fn container(&self) -> Container {
        Container::from_inner(self.ctx.inner.clone())
    }

    /// Runs the shutdown hooks of this scope's instances in reverse creation order.
    pub async fn close(&self) -> ShutdownReport {
        let Some(state) = &self.ctx.scope else {
            return ShutdownReport::default();
        };
        if state.closed.swap(true, Ordering::AcqRel) {
            return ShutdownReport::default();
        }
        let order = std::mem::take(&mut *state.created.lock().unwrap_or_else(|e| e.into_inner()));
        let inner = &self.ctx.inner;
        let hooks = order
            .iter()
            .rev()
            .filter_map(|&idx| {
                let node = &inner.nodes[idx];
                let inst = state.cells[node.slot].get()?;
                Some((node.key.to_string(), (node.shutdown?)(inst)))
            })
            .collect();
        run_hooks(hooks, inner.shutdown_timeout).await
    }
}

impl Drop for ScopeState {
    fn drop(&mut self) {
        if *self.closed.get_mut() {
            return;
        }
        let created = std::mem::take(self.created.get_mut().unwrap_or_else(|e| e.into_inner()));
        let inner = &self.inner;
        dispose_on_drop(
            &inner.nodes,
            &mut self.cells,
            created,
            inner.shutdown_timeout,
            "request scope",
        );
    }
}
