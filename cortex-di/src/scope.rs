//! [`RequestScope`]: one request's worth of request-scoped instances, opened with
//! [`Container::scope`]; resolving from it, and closing it (running its instances' shutdown
//! hooks).

use std::borrow::Cow;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::inject::Inject;
use crate::key::Key;
use crate::lifecycle::{ShutdownReport, run_hooks};
use crate::resolve::{AsyncResolver, OwnedCtx};

// `Container::scope` lives here, with the type it opens, so that the container does not depend on
// its scopes.
impl Container {
    /// Opens a request scope: request-scoped providers get one instance per scope.
    pub fn scope(&self) -> RequestScope {
        RequestScope {
            ctx: OwnedCtx::request(self.ctx().inner.clone()),
        }
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

    /// The container this scope belongs to.
    pub fn container(&self) -> Container {
        Container::from_inner(self.ctx.inner.clone())
    }

    /// Runs the shutdown hooks of this scope's instances in reverse creation order. Afterwards
    /// nothing new can be created in it; calling it again does nothing.
    pub async fn close(&self) -> ShutdownReport {
        let Some(state) = &self.ctx.scope else {
            return ShutdownReport::default();
        };
        run_hooks(state.close(), self.ctx.inner.shutdown_timeout).await
    }
}
