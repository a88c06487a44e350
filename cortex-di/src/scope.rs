//! [`RequestScope`]: one request's worth of request-scoped instances, opened with
//! [`Container::scope`] or a [`ScopeFactory`]; seeding it, resolving from it, and finishing it
//! (running its instances' end-of-scope and shutdown hooks).

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use crate::container::Container;
use crate::error::{Error, Result};
use crate::hooks::ScopeOutcome;
use crate::inject::Inject;
use crate::key::Key;
use crate::lifecycle::{ShutdownReport, run_hooks};
use crate::node::Instance;
use crate::resolve::{AsyncResolver, Inner, OwnedCtx};

// `Container::scope` lives here, with the type it opens, so that the container does not depend on
// its scopes.
impl Container {
    /// Opens a request scope: request-scoped providers get one instance per scope.
    pub fn scope(&self) -> RequestScope {
        RequestScope {
            ctx: OwnedCtx::request(self.ctx().inner.clone()),
        }
    }

    /// A handle that opens request scopes of this container without keeping it alive: what a
    /// long-lived task outside the container holds. Inside the container, depend on
    /// `Inject<ScopeFactory>` instead.
    pub fn scope_factory(&self) -> ScopeFactory {
        ScopeFactory {
            inner: Arc::downgrade(&self.ctx().inner),
        }
    }
}

/// Opens request scopes outside HTTP requests: a queue consumer, an actor, an event handler, a
/// GraphQL resolver or a scheduled job runs each unit of work in a scope of its own.
///
/// Inject it (`Inject<ScopeFactory>`, or a `ScopeFactory` field's `Inject`) into the singleton
/// that runs the work; the container binds it as soon as something depends on it, and
/// [`Container::scope_factory`] hands one out directly. It does not own the container, so a
/// singleton holding it does not keep the container alive (no reference cycle): once the
/// container is shut down or dropped, [`open`](Self::open) answers [`Error::ContainerGone`].
///
/// ```
/// use cortex_di::{ContainerBuilder, Inject, Provider, Scope, ScopeFactory, ScopeOutcome, injectable};
///
/// struct Message(&'static str);
///
/// #[injectable]
/// struct Consumer {
///     scopes: Inject<ScopeFactory>,
/// }
///
/// impl Consumer {
///     async fn handle(&self, body: &'static str) -> Result<usize, cortex_di::Error> {
///         let scope = self.scopes.open()?;
///         scope.provide(Message(body))?;
///         let len = scope.get::<Message>()?.0.len();
///         scope.finish(ScopeOutcome::success()).await;
///         Ok(len)
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let c = ContainerBuilder::new()
///     .add(Provider::<Message>::seeded())
///     .register::<Consumer>()
///     .build()
///     .await?;
/// let consumer = c.get::<Consumer>()?;
/// assert_eq!(consumer.handle("hello").await?, 5);
/// c.shutdown().await;
/// assert!(matches!(consumer.scopes.open(), Err(cortex_di::Error::ContainerGone)));
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct ScopeFactory {
    inner: Weak<Inner>,
}

impl ScopeFactory {
    /// Opens a request scope of the container; [`Error::ContainerGone`] once the container was
    /// shut down or dropped.
    pub fn open(&self) -> Result<RequestScope> {
        match self.inner.upgrade() {
            Some(inner) if !inner.shut_down.load(Ordering::Acquire) => Ok(RequestScope {
                ctx: OwnedCtx::request(inner),
            }),
            _ => Err(Error::ContainerGone),
        }
    }

    /// Whether the container is still running (scopes can be opened).
    pub fn is_open(&self) -> bool {
        self.inner
            .upgrade()
            .is_some_and(|inner| !inner.shut_down.load(Ordering::Acquire))
    }

    /// What the container binds to `ScopeFactory` when something depends on it.
    pub(crate) fn make(inner: &Inner) -> Instance {
        Instance::new(Inject::new(ScopeFactory {
            inner: inner.this.clone(),
        }))
    }
}

impl std::fmt::Debug for ScopeFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopeFactory")
            .field("open", &self.is_open())
            .finish()
    }
}

/// One request's worth of request-scoped instances; singletons come from the container.
///
/// The HTTP layer opens one per request and finishes it with the response status; a
/// [`ScopeFactory`] opens them for other units of work. [`finish`](Self::finish) runs the
/// [`OnScopeEnd`](crate::OnScopeEnd) hooks of its instances with the outcome, then their shutdown
/// hooks; dropping it without finishing runs them in the background, as a failure.
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
        self.ctx.get()
    }

    /// Resolves the binding of `T` named `name` without awaiting.
    pub fn get_named<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Inject<T>> {
        self.ctx.get_named(name)
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

    /// Gives this scope the value of a seeded provider ([`Provider::seeded`](crate::Provider::seeded)):
    /// the current user, a message's metadata, a tenant. Call it right after opening the scope,
    /// before resolving anything that needs it.
    ///
    /// Fails with [`Error::NotSeedable`] when `T` is not declared seeded, and with
    /// [`Error::AlreadyProvided`] the second time.
    ///
    /// ```
    /// use cortex_di::{ContainerBuilder, Error, Provider};
    /// struct Tenant(&'static str);
    /// struct Clock;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let c = ContainerBuilder::new().add(Provider::<Tenant>::seeded()).build().await.unwrap();
    /// let scope = c.scope();
    /// scope.provide(Tenant("acme")).unwrap();
    /// assert_eq!(scope.get::<Tenant>().unwrap().0, "acme");
    /// assert!(matches!(scope.provide(Tenant("other")), Err(Error::AlreadyProvided { .. })));
    /// assert!(matches!(scope.provide(Clock), Err(Error::NotSeedable { .. })));
    /// # });
    /// ```
    pub fn provide<T: Send + Sync + 'static>(&self, value: T) -> Result<()> {
        self.provide_arc(Arc::new(value))
    }

    /// Like [`provide`](Self::provide), with an existing [`Arc`]; with `T = dyn Trait` this seeds
    /// a trait object declared with `Provider::<dyn Trait>::seeded()`.
    pub fn provide_arc<T: ?Sized + Send + Sync + 'static>(&self, value: Arc<T>) -> Result<()> {
        self.provide_instance(&Key::of::<T>(), Instance::new(Inject::from_arc(value)))
    }

    /// Like [`provide`](Self::provide), for the seeded binding of `T` named `name`.
    pub fn provide_named<T: Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
        value: T,
    ) -> Result<()> {
        self.provide_instance(
            &Key::of::<T>().with_name(name),
            Instance::new(Inject::new(value)),
        )
    }

    fn provide_instance(&self, key: &Key, inst: Instance) -> Result<()> {
        match &self.ctx.scope {
            Some(state) => state.seed(&self.ctx.inner, key, inst),
            None => Err(Error::RequestScopeRequired { key: key.clone() }),
        }
    }

    /// The container this scope belongs to.
    pub fn container(&self) -> Container {
        Container::from_inner(self.ctx.inner.clone())
    }

    /// Ends the scope with the unit of work's `outcome`: runs the
    /// [`OnScopeEnd`](crate::OnScopeEnd) hooks of this scope's instances with it, then their
    /// shutdown hooks, each in reverse creation order and bounded by the builder's shutdown
    /// timeout. Afterwards nothing new can be created in it; calling it again does nothing.
    pub async fn finish(&self, outcome: ScopeOutcome) -> ShutdownReport {
        let Some(state) = &self.ctx.scope else {
            return ShutdownReport::default();
        };
        run_hooks(
            state.close(&outcome),
            self.ctx.inner.shutdown_timeout,
            false,
        )
        .await
    }

    /// Ends the scope without an outcome: [`finish`](Self::finish) with a
    /// [`ScopeOutcome::Failure`], so end-of-scope hooks roll back rather than commit.
    pub async fn close(&self) -> ShutdownReport {
        self.finish(ScopeOutcome::failure(
            "the request scope was closed without an outcome",
        ))
        .await
    }

    /// Whether an [`OnScopeEnd`](crate::OnScopeEnd) hook is waiting for this scope's outcome: the
    /// HTTP layer finishes a request's scope only when one is.
    pub fn has_scope_end_hooks(&self) -> bool {
        self.ctx
            .scope
            .as_deref()
            .is_some_and(|s| s.has_scope_end_hooks())
    }
}
