//! Cortex: an application framework for Rust.
//!
//! Applications are plain structs and `impl` blocks annotated with attributes; Cortex wires them
//! together through a scoped dependency-injection container, validated as a whole before anything
//! runs, and serves their controllers on tokio + axum with production middleware on by default.
//! This crate is the facade: depend on `cortex` and `use cortex::prelude::*;`.
//!
//! ```
//! use cortex::prelude::*;
//!
//! #[injectable]
//! struct Clock;
//!
//! #[injectable(scope = "request")]
//! struct Audit {
//!     clock: Inject<Clock>,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cortex::di::Error> {
//! let container = ContainerBuilder::new().discover().build().await?;
//! let request = container.scope();
//! let audit: Inject<Audit> = request.get()?;
//! assert!(Inject::ptr_eq(&audit.clock, &container.get::<Clock>()?));
//! # Ok(())
//! # }
//! ```
//!
//! # What is here so far
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`di`] | the container: providers, scopes, graph validation, overrides, introspection |
//! | [`App`] | configuration → container → routes → middleware → server, lifecycle hooks |
//! | [`config`] | `cortex.toml`, profiles, `CORTEX_*` variables, typed sections, secrets masked |
//! | [`http`] | problem details, `HttpError`, `Json`/`Query`/`Form`/`Path`/`Valid`, middleware |
//! | [`routing`] | `#[controller]`/`#[routes]` runtime, guards, the route table |
//! | [`server`] | HTTP/1.1 + HTTP/2 serving, connection limits, graceful drain |
//! | [`health`] | `/health/live`, `/health/ready`, the `HealthCheck` trait |
//! | [`openapi`] | the OpenAPI 3.1 document built from the routes, served at `/openapi.json` and `/docs` |
//! | [`logging`] | the `tracing` subscriber `#[cortex::main]` installs from `[log]`: readable in dev, JSON lines in prod, secret fields masked |
//! | [`testing`] | the whole app in a test: in-process requests, assertions that show the body |
//! | [`tokio`], [`tracing`] | the runtime and the logging Cortex uses, for `sleep`, `spawn`, `info!` |
//! | `data` | the data layer (the `cortex-data` crate, behind the `data` feature): `Db`, transactions, `[database]` |
//!
//! An app's `Cargo.toml` needs `cortex`, and `serde` and `validator` with their `derive` features
//! for the derives on its own types; the guide's introduction lists what `cortex new` writes.
//!
//! The attribute macros: [`macro@injectable`] and [`macro@provider`] (providers),
//! [`macro@controller`] and [`macro@routes`] (HTTP), [`macro@main`] (`#[cortex::main]`); with the
//! `events` feature, `#[derive(Event)]`, `#[event_handler]` and `#[event_handlers]` (in
//! `cortex::events` and the prelude).
//!
//! The `cortex` command line tool (the `cortex-cli` crate) scaffolds apps (`cortex new`), generates
//! controllers, services, middleware and plugins (`cortex generate`), serves with hot reload
//! (`cortex serve`) and inspects routes, the container graph and configuration.
//!
//! The guide (`docs/` in the repository) has a chapter per capability.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `shaku` | no | `ContainerBuilder::shaku_module`: bring an existing shaku module's components in |
//! | `tls` | no | TLS with rustls and ALPN (HTTP/2), when `[server] tls` names a certificate |
//! | `data` | no | the data layer, `cortex::data`, on SQLite (the same as `sqlite`); `App::discover()` applies its `DataPlugin` |
//! | `sqlite` | no | the data layer with SQLite (bundled) |
//! | `postgres` | no | the data layer with PostgreSQL |
//! | `mysql` | no | the data layer with MySQL and MariaDB |
//! | `events` | no | the event bus, `cortex::events`: `#[derive(Event)]`, `#[event_handler]`, `EventBus`; `App::discover()` applies its `EventsPlugin` |
//!
//! The database features add up: `features = ["postgres", "sqlite"]` builds both, and
//! `[database] url` picks one at start.

#[allow(unused_extern_crates)]
extern crate self as cortex;

/// The dependency-injection container (the `cortex-di` crate).
pub use cortex_di as di;

pub use cortex_core::{
    App, Application, Plugin, Running, axum, config, health, http, logging, openapi, plugin,
    routing, server, shutdown, task, testing,
};
pub use cortex_di::{BoxError, Container, ContainerBuilder, Inject, injectable, provider};
pub use cortex_macros::{controller, main, routes, schema_rules};

/// The data layer (the `cortex-data` crate): [`Db`](data::Db), transactions, the request's
/// [`UnitOfWork`](data::UnitOfWork), `[database]`, the [`DataPlugin`](data::DataPlugin). Behind the
/// `data` (SQLite), `sqlite`, `postgres` and `mysql` features.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub use cortex_data as data;

/// Authentication and authorization (the `cortex-auth` crate): the [`AuthPlugin`](auth::AuthPlugin),
/// [`CurrentUser`](auth::CurrentUser), guards, passwords, JWT, API keys, sessions, `[auth]`.
/// Behind the `auth` feature.
#[cfg(feature = "auth")]
pub use cortex_auth as auth;

/// The event bus (the `cortex-events` crate): [`EventBus`](events::EventBus), typed events,
/// handlers, retries and dead letters, `[events]`. Behind the `events` feature; with a database
/// feature as well, `events::store`: the event store, the transactional outbox and dead letters
/// in the database.
#[cfg(feature = "events")]
pub use cortex_events as events;

/// Operations (the `cortex-observability` crate): the
/// [`ObservabilityPlugin`](observability::ObservabilityPlugin), `/metrics`, traces (feature
/// `otel`), the dashboard at `/_cortex`, `[observability]`. Behind the `observability` feature.
#[cfg(feature = "observability")]
pub use cortex_observability as observability;

/// The `metrics` facade for an app's own (business) metrics: `counter!`, `gauge!`,
/// `histogram!`, recorded with Cortex's and served at `/metrics`. Behind the `observability`
/// feature.
#[cfg(feature = "observability")]
pub use cortex_observability::facade as metrics;

/// The tokio Cortex runs on, with its `time`, `sync`, `macros` and `rt-multi-thread` features:
/// `cortex::tokio::time::sleep` and `cortex::tokio::spawn` need no dependency of the app's own.
///
/// ```
/// # #[cortex::tokio::main(crate = "cortex::tokio", flavor = "current_thread")]
/// # async fn main() {
/// cortex::tokio::time::sleep(std::time::Duration::from_millis(1)).await;
/// # }
/// ```
pub use tokio;

/// The `tracing` Cortex logs with: `cortex::tracing::info!(..)` logs through the subscriber
/// `#[cortex::main]` installs, without a dependency of the app's own.
///
/// ```
/// cortex::tracing::info!(user = 7, "signed in");
/// ```
pub use tracing;

/// The error an app's `main` returns: configuration, container, routes, hooks, I/O.
pub type Error = cortex_core::AppError;

/// `Result` with Cortex's [`Error`], `()` by default: `async fn main() -> cortex::Result`.
pub type Result<T = (), E = Error> = std::result::Result<T, E>;

/// Items the macros expand to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use cortex_core;
}

/// What most applications need, in one import.
pub mod prelude {
    pub use cortex_core::health::{HealthCheck, HealthStatus};
    // `utoipa` itself too: the code `#[derive(ToSchema)]` generates names `utoipa::..`, so an app
    // that depends on `cortex` alone derives with this import and nothing else.
    pub use cortex_core::http::{
        Created, Form, HttpError, HttpResultExt, Json, NoContent, Path, Query, Valid,
    };
    pub use cortex_core::openapi::{IntoParams, ToSchema, utoipa};
    pub use cortex_core::routing::Guard;
    pub use cortex_core::{App, Plugin, ShutdownSignal};
    pub use cortex_di::{
        BoxError, Container, ContainerBuilder, Dependency, Inject, Injectable, OnReady, OnScopeEnd,
        OnShutdown, OnStart, Provider, RequestScope, Scope, ScopeFactory, ScopeOutcome, injectable,
        provider,
    };
    pub use cortex_macros::{controller, routes, schema_rules};
    // Auth: the extractor and the guards every secured route names.
    #[cfg(feature = "auth")]
    pub use cortex_auth::{Authenticated, CurrentUser, Permission, Role};
    #[cfg(feature = "events")]
    pub use cortex_events::{Envelope, Event, EventBus, event_handler, event_handlers};
}

/// The guide's chapters, compiled as doc tests so their examples stay true.
#[cfg(doctest)]
mod guide {
    #[doc = include_str!("../../docs/src/container.md")]
    struct Container;

    #[doc = include_str!("../../docs/src/controllers.md")]
    struct Controllers;

    #[doc = include_str!("../../docs/src/configuration.md")]
    struct Configuration;

    #[doc = include_str!("../../docs/src/errors.md")]
    struct Errors;

    #[doc = include_str!("../../docs/src/inspect.md")]
    struct Inspect;

    #[doc = include_str!("../../docs/src/extending.md")]
    struct Extending;

    // `plugins.md` ("Writing a plugin") is not here: its code is included from the
    // `examples/visits` crate (mdBook `{{#include}}`), which is built and tested as a workspace
    // member, so it is compiled there instead.

    #[doc = include_str!("../../docs/src/lifecycle.md")]
    struct Lifecycle;

    #[doc = include_str!("../../docs/src/middleware.md")]
    struct Middleware;

    #[doc = include_str!("../../docs/src/openapi.md")]
    struct OpenApi;

    #[doc = include_str!("../../docs/src/server.md")]
    struct Server;

    #[doc = include_str!("../../docs/src/testing.md")]
    struct Testing;

    // The operations chapters: compiled with the `observability` feature.
    #[cfg(feature = "observability")]
    #[doc = include_str!("../../docs/src/operating-metrics.md")]
    struct OperatingMetrics;
    #[cfg(feature = "observability")]
    #[doc = include_str!("../../docs/src/operating-dashboard.md")]
    struct OperatingDashboard;
    // "Operating a Cortex app": the logs Cortex writes (core only, no feature needed).
    #[doc = include_str!("../../docs/src/operating-logs.md")]
    struct OperatingLogs;

    // Its examples run on SQLite: compiled with the `data` (or `sqlite`) feature, as
    // `scripts/test` does (`--all-features`).
    #[cfg(feature = "sqlite")]
    #[doc = include_str!("../../docs/src/data.md")]
    struct Data;

    // The auth chapters: compiled with the `auth` feature and SQLite (the database stores' examples),
    // as `scripts/test` does (`--all-features`).
    #[cfg(all(feature = "auth", feature = "sqlite"))]
    #[doc = include_str!("../../docs/src/auth.md")]
    struct Auth;

    #[cfg(all(feature = "auth", feature = "sqlite"))]
    #[doc = include_str!("../../docs/src/auth-passwords.md")]
    struct AuthPasswords;

    #[cfg(all(feature = "auth", feature = "sqlite"))]
    #[doc = include_str!("../../docs/src/auth-tokens.md")]
    struct AuthTokens;

    #[cfg(all(feature = "auth", feature = "sqlite"))]
    #[doc = include_str!("../../docs/src/auth-api-keys.md")]
    struct AuthApiKeys;

    #[cfg(all(feature = "auth", feature = "sqlite"))]
    #[doc = include_str!("../../docs/src/auth-sessions.md")]
    struct AuthSessions;

    #[cfg(all(feature = "auth", feature = "sqlite"))]
    #[doc = include_str!("../../docs/src/auth-audit.md")]
    struct AuthAudit;

    // The event bus: compiled with the `events` feature.
    #[cfg(feature = "events")]
    #[doc = include_str!("../../docs/src/events.md")]
    struct Events;

    // "Operating a Cortex app": compiled with the `observability` feature.
    #[cfg(feature = "observability")]
    #[doc = include_str!("../../docs/src/operating.md")]
    struct Operating;
    #[cfg(feature = "otel")]
    #[doc = include_str!("../../docs/src/operating-tracing.md")]
    struct OperatingTracing;
}
