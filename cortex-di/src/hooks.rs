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

/// How a unit of work ended, as the code that opened its request scope reports it to
/// [`RequestScope::finish`](crate::RequestScope::finish): what [`OnScopeEnd`] hooks see, to commit
/// or roll back.
///
/// The HTTP layer reports the response status (below 400 is a success); a consumer or a job
/// reports its handler's `Result` with [`from_result`](Self::from_result).
///
/// ```
/// use cortex_di::ScopeOutcome;
/// assert!(ScopeOutcome::from_status(204).is_success());
/// assert_eq!(ScopeOutcome::from_status(503).status(), Some(503));
/// let failed = ScopeOutcome::from_result(&Err::<(), _>("queue closed"));
/// assert!(!failed.is_success());
/// assert_eq!(failed.error(), Some("queue closed"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScopeOutcome {
    /// The unit of work succeeded.
    Success {
        /// The HTTP status of the response, for a request.
        status: Option<u16>,
    },
    /// The unit of work failed.
    Failure {
        /// The HTTP status of the response, for a request.
        status: Option<u16>,
        /// What went wrong, when known.
        error: Option<String>,
    },
}

impl ScopeOutcome {
    /// A success with no status.
    pub fn success() -> Self {
        ScopeOutcome::Success { status: None }
    }

    /// A failure described by `error`.
    pub fn failure(error: impl std::fmt::Display) -> Self {
        ScopeOutcome::Failure {
            status: None,
            error: Some(error.to_string()),
        }
    }

    /// The outcome of an HTTP exchange: a status below 400 (1xx, 2xx, 3xx) is a success.
    pub fn from_status(status: u16) -> Self {
        if status < 400 {
            ScopeOutcome::Success {
                status: Some(status),
            }
        } else {
            ScopeOutcome::Failure {
                status: Some(status),
                error: None,
            }
        }
    }

    /// The outcome of a handler that returned `result`.
    pub fn from_result<T, E: std::fmt::Display>(result: &Result<T, E>) -> Self {
        match result {
            Ok(_) => Self::success(),
            Err(e) => Self::failure(e),
        }
    }

    /// Whether the unit of work succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, ScopeOutcome::Success { .. })
    }

    /// The HTTP status, for a request.
    pub fn status(&self) -> Option<u16> {
        match self {
            ScopeOutcome::Success { status } | ScopeOutcome::Failure { status, .. } => *status,
        }
    }

    /// What went wrong, for a failure that says.
    pub fn error(&self) -> Option<&str> {
        match self {
            ScopeOutcome::Success { .. } => None,
            ScopeOutcome::Failure { error, .. } => error.as_deref(),
        }
    }
}

/// An async hook run on a request-scoped instance when its scope ends, with how the unit of work
/// went: commit a request's transaction on success, roll it back on failure.
///
/// [`RequestScope::finish`](crate::RequestScope::finish) runs the hooks of the instances the scope
/// created, in reverse creation order, before their [`OnShutdown`] hooks; the HTTP layer finishes
/// each request's scope with the response status. A scope closed with
/// [`close`](crate::RequestScope::close), or dropped, without an outcome ends as a
/// [`ScopeOutcome::Failure`]: nothing is committed by accident.
///
/// `#[injectable(scope = "request")]` types that implement it are hooked up automatically; for
/// hand-written providers call [`Provider::on_scope_end`](crate::Provider::on_scope_end). Only
/// request-scoped providers may have one.
///
/// ```
/// use cortex_di::{ContainerBuilder, OnScopeEnd, Provider, Scope, ScopeOutcome};
/// use std::sync::Mutex;
///
/// #[derive(Default)]
/// struct Transaction { ended: Mutex<Option<bool>> }
/// impl OnScopeEnd for Transaction {
///     async fn on_scope_end(&self, outcome: &ScopeOutcome) {
///         *self.ended.lock().unwrap() = Some(outcome.is_success()); // commit or roll back
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let c = ContainerBuilder::new()
///     .add(Provider::factory(|_| Ok(Transaction::default())).scope(Scope::Request).on_scope_end())
///     .build()
///     .await?;
/// let scope = c.scope();
/// let tx = scope.get::<Transaction>()?;
/// scope.finish(ScopeOutcome::from_status(201)).await;
/// assert_eq!(*tx.ended.lock().unwrap(), Some(true));
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
pub trait OnScopeEnd: Send + Sync {
    /// Ends the instance's part of the unit of work.
    fn on_scope_end(&self, outcome: &ScopeOutcome) -> impl Future<Output = ()> + Send;
}
