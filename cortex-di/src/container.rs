//! [`Container`]: the public handle on a built container: resolving from it, its lifecycle
//! (`start`, `ready`, `shutdown`), and its creation from a validated plan. Request scopes opened
//! from it are in `scope.rs`.

use std::any::TypeId;
use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::condition::Env;
use crate::error::{LifecycleHook, Result};
use crate::graph::Graph;
use crate::inject::Inject;
use crate::key::Key;
use crate::lifecycle::{Phase, ShutdownReport, run_hook, run_hooks, shutdown_hooks};
use crate::resolve::{AsyncResolver, Inner, OwnedCtx};
use crate::spec::Scope;
use crate::validate::Plan;

/// A built, validated container. Cheap to clone (one `Arc`), `Send + Sync`.
///
/// Singletons were created by [`ContainerBuilder::build`](crate::ContainerBuilder::build) unless
/// lazy; [`get`](Self::get) returns them with a lookup and an `Arc` clone, no lock. Request-scoped
/// providers are resolved from a [`RequestScope`](crate::RequestScope) opened with [`scope`](Self::scope).
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

impl Container {
    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Container {
            ctx: OwnedCtx::container(inner),
        }
    }

    /// Creates the container of a validated `plan`, then its eager singletons in dependency
    /// order; when one fails, the ones made before it are shut down again.
    pub(crate) async fn create(
        plan: Plan,
        env: Env,
        start_timeout: Duration,
        shutdown_timeout: Duration,
    ) -> Result<Container> {
        let Plan {
            nodes,
            order,
            unnamed,
            named,
        } = plan;
        let eager: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| nodes[i].scope == Scope::Singleton && !nodes[i].lazy)
            .collect();
        let inner = Arc::new_cyclic(|this| {
            let this = this.clone();
            Inner::new(
                nodes,
                unnamed,
                named,
                env,
                start_timeout,
                shutdown_timeout,
                this,
            )
        });
        let container = Container::from_inner(inner);
        for idx in eager {
            if let Err(e) = container.ctx.clone().ensure(idx).await {
                container.shutdown().await;
                return Err(e);
            }
        }
        Ok(container)
    }

    /// The container of a validated `plan` that creates nothing: what
    /// [`ContainerBuilder::build_for_inspection`](crate::ContainerBuilder::build_for_inspection)
    /// returns. It is shut down from the start, so no factory, value or hook ever runs, and every
    /// resolve that would create answers [`Error::Inspection`](crate::Error::Inspection).
    pub(crate) fn inspection(
        plan: Plan,
        env: Env,
        start_timeout: Duration,
        shutdown_timeout: Duration,
    ) -> Container {
        let Plan {
            nodes,
            order: _,
            unnamed,
            named,
        } = plan;
        let inner = Arc::new_cyclic(|this| {
            let mut inner = Inner::new(
                nodes,
                unnamed,
                named,
                env,
                start_timeout,
                shutdown_timeout,
                this.clone(),
            );
            inner.inspection = true;
            *inner.shut_down.get_mut() = true;
            inner
        });
        Container::from_inner(inner)
    }

    /// Whether this container was built for inspection
    /// ([`ContainerBuilder::build_for_inspection`](crate::ContainerBuilder::build_for_inspection)),
    /// and so creates nothing: what code that runs while an app is inspected (`cortex routes`)
    /// checks before it resolves anything.
    ///
    /// ```
    /// use cortex_di::ContainerBuilder;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// assert!(ContainerBuilder::new().build_for_inspection()?.is_inspection());
    /// assert!(!ContainerBuilder::new().build().await?.is_inspection());
    /// # Ok::<_, cortex_di::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn is_inspection(&self) -> bool {
        self.ctx.inner.inspection
    }

    /// The resolution context, for the request scopes opened from this container.
    #[inline]
    pub(crate) fn ctx(&self) -> &OwnedCtx {
        &self.ctx
    }

    /// Resolves the unnamed binding of `T` without awaiting: singletons (made at build time),
    /// and transients whose providers never await.
    #[inline]
    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Inject<T>> {
        self.ctx.get()
    }

    /// Resolves the binding of `T` named `name` without awaiting.
    pub fn get_named<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Inject<T>> {
        self.ctx.get_named(name)
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
        AsyncResolver::for_caller(self.ctx.clone()).resolve().await
    }

    /// Resolves the binding of `T` named `name`, awaiting `async` providers.
    pub async fn resolve_named<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Inject<T>> {
        AsyncResolver::for_caller(self.ctx.clone())
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

    /// Whether a request-scoped provider has an [`OnScopeEnd`](crate::OnScopeEnd) hook: the HTTP
    /// layer opens and finishes each request's scope itself only then, so apps without one pay
    /// nothing for the hook.
    pub fn has_scope_end_hooks(&self) -> bool {
        self.ctx.inner.nodes.iter().any(|n| n.scope_end.is_some())
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
        let hooks = shutdown_hooks(&inner.nodes, &inner.singletons, &order);
        run_hooks(hooks, inner.shutdown_timeout, true).await
    }
}
