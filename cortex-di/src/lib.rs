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
//! # How the crate is layered
//!
//! Each module uses only the ones below it (`use crate::…` lines point down), and `lib.rs` only
//! declares and re-exports:
//!
//! | layer | modules | what they hold |
//! | --- | --- | --- |
//! | base types | `key`, `inject`, `condition`, `spec`, `error`, `hooks`, `config` | keys, `Inject`, `Env`, `Scope`/`Location`/`Dependency`, errors, the hook traits and `ScopeOutcome`, reading config values |
//! | nodes | `node` | a validated provider (generic over its factory) and the cell its instance lives in |
//! | introspection, lifecycle | `graph`, `lifecycle` | `Graph` from nodes; phases, hook running, `ShutdownReport` |
//! | resolution | `resolve` | the shared state, instance lookup and creation, `Resolver`, `AsyncResolver` |
//! | providers | `provider` | `Provider<T>`, whose factories take the resolvers |
//! | validation | `validate` | registered providers to a validated plan, or every graph error |
//! | handles | `container`, `scope` | `Container` (from a plan), `RequestScope` (opened from a container) and `ScopeFactory` (opens them without owning the container) |
//! | assembly | `builder`, then `registry` | `ContainerBuilder`, and discovery of `#[injectable]` items |
//!
//! The adapters `extract` (axum), `shaku_bridge` and `__private` (what the macros expand to) sit
//! on top. [`ConfigSource`] is defined here rather than in a module because its path is part of
//! messages and introspection output (`dyn cortex_di::ConfigSource`).
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
mod config;
mod container;
mod error;
#[cfg(feature = "axum")]
mod extract;
mod graph;
mod hooks;
mod inject;
#[allow(unsafe_code)]
mod key;
mod lifecycle;
// The hot path's `unsafe` (here, in `key` and in `resolve`): instances read back without a
// downcast, cells read through pointers fixed at validation, lookups without bounds checks. Each
// block says which invariant makes it sound.
#[allow(unsafe_code)]
mod node;
mod provider;
mod registry;
#[allow(unsafe_code)]
mod resolve;
mod scope;
#[cfg(feature = "shaku")]
mod shaku_bridge;
mod spec;
mod validate;

/// Items the macros expand to. Not public API.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use builder::ContainerBuilder;
pub use condition::Env;
pub use container::Container;
pub use error::{BoxError, Error, GraphError, GraphErrors, LifecycleHook, ProviderRef, Result};
#[cfg(feature = "axum")]
pub use extract::InjectRejection;
pub use graph::{DependencyInfo, Graph, ProviderInfo};
pub use hooks::{OnReady, OnScopeEnd, OnShutdown, OnStart, ScopeOutcome};
pub use inject::Inject;
pub use key::Key;
pub use lifecycle::ShutdownReport;
pub use provider::Provider;
pub use registry::{Injectable, Registration, registrations};
pub use resolve::{AsyncResolver, Resolver};
pub use scope::{RequestScope, ScopeFactory};
#[cfg(feature = "shaku")]
pub use shaku_bridge::ShakuImport;
pub use spec::{Dependency, Location, ProviderKind, Scope};

#[cfg(feature = "macros")]
pub use cortex_macros::{injectable, provider};

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
