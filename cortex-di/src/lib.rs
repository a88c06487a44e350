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
mod graph;
mod inject;
mod key;
mod provider;
mod registry;
mod resolve;
#[cfg(feature = "axum")]
mod extract;
#[cfg(feature = "shaku")]
mod shaku_bridge;

use std::future::Future;

pub use builder::ContainerBuilder;
pub use condition::Env;
pub use error::{BoxError, Error, GraphError, GraphErrors, ProviderRef, Result};
pub use graph::{DependencyInfo, Graph, ProviderInfo};
pub use inject::Inject;
pub use key::Key;
pub use provider::{Dependency, Location, Provider, ProviderKind, Scope};
pub use registry::{Injectable, Registration, registrations};
pub use resolve::{AsyncResolver, Container, RequestScope, Resolver, ShutdownReport};
#[cfg(feature = "axum")]
pub use extract::InjectRejection;
#[cfg(feature = "shaku")]
pub use shaku_bridge::ShakuImport;

#[cfg(feature = "macros")]
pub use cortex_macros::{injectable, provider};

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

    use crate::{OnShutdown, Provider};

    /// Hooks up [`OnShutdown`] when the type implements it (autoref specialization: the macro
    /// calls `(&&ShutdownProbe::<T>::new()).attach(provider)`).
    pub struct ShutdownProbe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

    impl<T: ?Sized> ShutdownProbe<T> {
        #[allow(clippy::new_without_default)]
        pub const fn new() -> Self {
            ShutdownProbe(PhantomData)
        }
    }

    pub trait AttachShutdown<T: ?Sized> {
        fn attach(&self, provider: Provider<T>) -> Provider<T>;
    }

    impl<T: ?Sized + OnShutdown + 'static> AttachShutdown<T> for &ShutdownProbe<T> {
        fn attach(&self, provider: Provider<T>) -> Provider<T> {
            provider.on_shutdown()
        }
    }

    pub trait AttachNothing<T: ?Sized> {
        fn attach(&self, provider: Provider<T>) -> Provider<T>;
    }

    impl<T: ?Sized> AttachNothing<T> for ShutdownProbe<T> {
        fn attach(&self, provider: Provider<T>) -> Provider<T> {
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
