//! The Cortex dependency-injection container.
//!
//! Providers are registered by type, by trait object, or by name; scoped as singletons,
//! transients, or one instance per request; made by values, factories or `async` factories.
//! [`ContainerBuilder::build`] validates the whole graph before creating anything — missing
//! providers, cycles, scope violations and duplicate bindings are all reported at once, each naming
//! the types involved and where they were declared — then creates the eager singletons in
//! dependency order.
//!
//! ```
//! use cortex_di::{ContainerBuilder, Inject, injectable};
//!
//! #[injectable]
//! struct Repository;
//!
//! #[injectable]
//! struct UserService {
//!     repo: Inject<Repository>,
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let container = ContainerBuilder::new().discover().build().await?;
//! let users: Inject<UserService> = container.get()?;
//! let repo: Inject<Repository> = container.get()?;
//! assert!(Inject::ptr_eq(&users.repo, &repo)); // singletons are shared
//! # Ok::<_, cortex_di::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Why Cortex has its own container
//!
//! [`shaku`](https://docs.rs/shaku) was the first candidate: it is compile-time checked and fast.
//! It does not fit a web framework's needs, though, and those needs are the container's core, not
//! add-ons: there is no request scope (a `Provider` makes a fresh value each time, with no
//! per-request cache), no `async` providers (a database pool is made by an `async fn`), no
//! profiles or conditional registration, no disposal hooks, no introspection for `cortex graph`,
//! and modules are declared by listing every component in a `module!` macro rather than discovered
//! from annotations. Its graph checks happen at compile time, which is a strength, but only within a
//! module, and a missing binding reads as a trait-bound error rather than a sentence. `cortex-di`
//! checks the whole graph at startup instead, once, before anything is created, and keeps the hot
//! path free of locks and string lookups. Existing shaku modules can be brought in with the `shaku`
//! feature (see `ContainerBuilder::shaku_module`).
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `macros` | yes | `#[injectable]` and `#[provider]` |
//! | `axum` | no | `Inject<T>` as an axum extractor (resolved from the request's scope) |
//! | `shaku` | no | `ContainerBuilder::shaku_module`, registering a shaku module's components |

#![cfg_attr(docsrs, feature(doc_cfg))]

#[allow(unused_extern_crates)]
extern crate self as cortex_di;

mod builder;
mod condition;
mod error;
#[cfg(feature = "axum")]
mod extract;
mod graph;
mod inject;
mod key;
mod provider;
mod registry;
mod resolve;
#[cfg(feature = "shaku")]
mod shaku_bridge;

use std::future::Future;

pub use builder::ContainerBuilder;
pub use condition::Env;
pub use error::{BoxError, Error, GraphError, GraphErrors, LifecycleHook, ProviderRef, Result};
#[cfg(feature = "axum")]
pub use extract::InjectRejection;
pub use graph::{DependencyInfo, Graph, ProviderInfo};
pub use inject::Inject;
pub use key::Key;
pub use provider::{Dependency, Location, Provider, ProviderKind, Scope};
pub use registry::{Injectable, Registration, registrations};
pub use resolve::{AsyncResolver, Container, RequestScope, Resolver, ShutdownReport};
#[cfg(feature = "shaku")]
pub use shaku_bridge::ShakuImport;

#[cfg(feature = "macros")]
pub use cortex_macros::{injectable, provider};

/// An async hook run once the container is built and before the app serves: opening
/// connections, warming caches, checking that a dependency answers (NestJS's `onModuleInit`).
///
/// [`Container::start`] runs the hooks of the singletons created so far, one at a time, in
/// creation order — dependencies before the services that use them — each bounded by
/// [`ContainerBuilder::start_timeout`]. The first error (or timeout) stops the start: the error
/// names the provider, and the container is shut down. `App::build` calls it right after building
/// the container.
///
/// `#[injectable]` types that implement it are hooked up automatically; for hand-written providers
/// call [`Provider::on_start`]. Only singletons may have one (a request-scoped or transient
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
/// [`Container::ready`] runs the hooks of the singletons created so far, in creation order, each
/// bounded by [`ContainerBuilder::start_timeout`]; `Application::serve_on` calls it once the
/// listener is up. An error (or timeout) is not merely logged: `ready()` returns it, naming the
/// provider, and the app stops (drains, runs its shutdown hooks) and reports it, because an
/// instance that could not announce itself should not keep running half-ready.
///
/// `#[injectable]` types that implement it are hooked up automatically; for hand-written providers
/// call [`Provider::on_ready`]. Only singletons may have one.
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
/// call [`Provider::on_shutdown`].
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

/// Where `#[inject(config = "key")]` fields read their values: a tree of configuration values,
/// addressed by dotted keys.
///
/// The app runtime binds its configuration here; a [`serde_json::Value`] is one too.
///
/// ```
/// use cortex_di::ConfigSource;
/// let config = serde_json::json!({ "server": { "port": 8080 } });
/// assert_eq!(config.value("server.port"), Some(serde_json::json!(8080)));
/// assert_eq!(config.value("server.host"), None);
/// ```
pub trait ConfigSource: Send + Sync + 'static {
    /// The value at `key` (for example `"database.url"`), if present.
    fn value(&self, key: &str) -> Option<serde_json::Value>;
}

impl ConfigSource for serde_json::Value {
    fn value(&self, key: &str) -> Option<serde_json::Value> {
        let mut at = self;
        for part in key.split('.') {
            at = match at {
                serde_json::Value::Object(map) => map.get(part)?,
                serde_json::Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(at.clone())
    }
}

/// Items the macros expand to. Not public API.
#[doc(hidden)]
pub mod __private {
    use std::marker::PhantomData;

    pub use inventory;

    use crate::{OnReady, OnShutdown, OnStart, Provider};

    /// Hooks up [`OnStart`], [`OnReady`] and [`OnShutdown`] for the ones the type implements, by
    /// autoref specialization: the macros call `(&&HookProbe::<T>::new()).attach_start(provider)`
    /// (and `attach_ready`, `attach_shutdown`). When `T` implements the trait, the impl on
    /// `&HookProbe<T>` matches the receiver without auto-deref and wins; otherwise method lookup
    /// derefs once and finds the do-nothing impl on `HookProbe<T>`.
    pub struct HookProbe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

    impl<T: ?Sized> HookProbe<T> {
        #[allow(clippy::new_without_default)]
        pub const fn new() -> Self {
            HookProbe(PhantomData)
        }
    }

    pub trait AttachStart<T: ?Sized> {
        fn attach_start(&self, provider: Provider<T>) -> Provider<T>;
    }

    impl<T: ?Sized + OnStart + 'static> AttachStart<T> for &HookProbe<T> {
        fn attach_start(&self, provider: Provider<T>) -> Provider<T> {
            provider.on_start()
        }
    }

    pub trait SkipStart<T: ?Sized> {
        fn attach_start(&self, provider: Provider<T>) -> Provider<T>;
    }

    impl<T: ?Sized> SkipStart<T> for HookProbe<T> {
        fn attach_start(&self, provider: Provider<T>) -> Provider<T> {
            provider
        }
    }

    pub trait AttachReady<T: ?Sized> {
        fn attach_ready(&self, provider: Provider<T>) -> Provider<T>;
    }

    impl<T: ?Sized + OnReady + 'static> AttachReady<T> for &HookProbe<T> {
        fn attach_ready(&self, provider: Provider<T>) -> Provider<T> {
            provider.on_ready()
        }
    }

    pub trait SkipReady<T: ?Sized> {
        fn attach_ready(&self, provider: Provider<T>) -> Provider<T>;
    }

    impl<T: ?Sized> SkipReady<T> for HookProbe<T> {
        fn attach_ready(&self, provider: Provider<T>) -> Provider<T> {
            provider
        }
    }

    pub trait AttachShutdown<T: ?Sized> {
        fn attach_shutdown(&self, provider: Provider<T>) -> Provider<T>;
    }

    impl<T: ?Sized + OnShutdown + 'static> AttachShutdown<T> for &HookProbe<T> {
        fn attach_shutdown(&self, provider: Provider<T>) -> Provider<T> {
            provider.on_shutdown()
        }
    }

    pub trait SkipShutdown<T: ?Sized> {
        fn attach_shutdown(&self, provider: Provider<T>) -> Provider<T>;
    }

    impl<T: ?Sized> SkipShutdown<T> for HookProbe<T> {
        fn attach_shutdown(&self, provider: Provider<T>) -> Provider<T> {
            provider
        }
    }

    /// Turns a provider function's return value into `Result<T, BoxError>`.
    pub fn ok<T>(value: T) -> Result<T, crate::BoxError> {
        Ok(value)
    }

    /// Turns a provider function's `Result` into `Result<T, BoxError>`.
    pub fn from_result<T, E: Into<crate::BoxError>>(
        value: Result<T, E>,
    ) -> Result<T, crate::BoxError> {
        value.map_err(Into::into)
    }
}
