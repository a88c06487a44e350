//! The lifecycle hooks an instance can have: [`OnStart`], [`OnReady`] and [`OnShutdown`]. Plain
//! traits; the container runs them (see `lifecycle.rs`).

use std::future::Future;

use crate::error::BoxError;

/// An async hook run once the container is built and before the app serves: opening
/// connections, warming caches, checking that a dependency answers (NestJS's `onModuleInit`).
///
/// [`Container::start`](crate::Container::start) runs the hooks of the singletons created so far, one at a time, in
/// creation order — dependencies before the services that use them — each bounded by
/// [`ContainerBuilder::start_timeout`](crate::ContainerBuilder::start_timeout). The first error (or timeout) stops the start: the error
/// names the provider, and the container is shut down. `App::build` calls it right after building
/// the container.
///
/// `#[injectable]` types that implement it are hooked up automatically; for hand-written providers
/// call [`Provider::on_start`](crate::Provider::on_start). Only singletons may have one (a request-scoped or transient
/// provider with a start hook is a graph error). A lazy singleton is started when it is first
/// created, if that is after `start()`.
///
/// ```
/// use cortex_di::{BoxError, ContainerBuilder, OnStart, Provider};
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// #[derive(Default)]
/// struct Pool { warm: AtomicBool }
/// impl OnStart for Pool {
///     async fn on_start(&self) -> Result<(), BoxError> {
///         self.warm.store(true, Ordering::SeqCst);
///         Ok(())
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let c = ContainerBuilder::new()
///     .add(Provider::value(Pool::default()).on_start())
///     .build()
///     .await?;
/// assert!(!c.get::<Pool>()?.warm.load(Ordering::SeqCst));
/// c.start().await?;
/// assert!(c.get::<Pool>()?.warm.load(Ordering::SeqCst));
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
pub trait OnStart: Send + Sync {
    /// Prepares the instance; an error stops the app's start.
    fn on_start(&self) -> impl Future<Output = Result<(), BoxError>> + Send;
}

/// An async hook run once the app is serving: registering with service discovery, starting to
/// consume a queue, announcing the instance (NestJS's `onApplicationBootstrap`).
///
/// [`Container::ready`](crate::Container::ready) runs the hooks of the singletons created so far, in creation order, each
/// bounded by [`ContainerBuilder::start_timeout`](crate::ContainerBuilder::start_timeout); `Application::serve_on` calls it once the
/// listener is up. An error (or timeout) is not merely logged: `ready()` returns it, naming the
/// provider, and the app stops (drains, runs its shutdown hooks) and reports it, because an
/// instance that could not announce itself should not keep running half-ready.
///
/// `#[injectable]` types that implement it are hooked up automatically; for hand-written providers
/// call [`Provider::on_ready`](crate::Provider::on_ready). Only singletons may have one.
///
/// ```
/// use cortex_di::{BoxError, ContainerBuilder, OnReady, Provider};
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// #[derive(Default)]
/// struct Registration { announced: AtomicBool }
/// impl OnReady for Registration {
///     async fn on_ready(&self) -> Result<(), BoxError> {
///         self.announced.store(true, Ordering::SeqCst);
///         Ok(())
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let c = ContainerBuilder::new()
///     .add(Provider::value(Registration::default()).on_ready())
///     .build()
///     .await?;
/// c.ready().await?; // starts first if `start()` was not called
/// assert!(c.get::<Registration>()?.announced.load(Ordering::SeqCst));
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
pub trait OnReady: Send + Sync {
    /// Announces the instance; an error stops the app.
    fn on_ready(&self) -> impl Future<Output = Result<(), BoxError>> + Send;
}

/// An async hook run when the container (or a request scope) shuts down, in reverse creation
/// order, each bounded by a timeout.
///
/// `#[injectable]` types that implement it are hooked up automatically; for hand-written providers
/// call [`Provider::on_shutdown`](crate::Provider::on_shutdown).
///
/// ```
/// use cortex_di::{ContainerBuilder, OnShutdown, Provider};
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// struct Pool { closed: Arc<AtomicBool> }
/// impl OnShutdown for Pool {
///     async fn on_shutdown(&self) {
///         self.closed.store(true, Ordering::SeqCst);
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let closed = Arc::new(AtomicBool::new(false));
/// let c = ContainerBuilder::new()
///     .add(Provider::value(Pool { closed: closed.clone() }).on_shutdown())
///     .build()
///     .await
///     .unwrap();
/// let report = c.shutdown().await;
/// assert!(closed.load(Ordering::SeqCst));
/// assert_eq!(report.completed.len(), 1);
/// # });
/// ```
pub trait OnShutdown: Send + Sync {
    /// Releases what the instance holds (connections, files, background tasks).
    fn on_shutdown(&self) -> impl Future<Output = ()> + Send;
}
