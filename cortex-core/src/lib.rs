//! The Cortex application runtime: configuration, the HTTP layer and its middleware, health
//! endpoints and the application lifecycle, built on tokio, axum and the `cortex-di` container.

#[allow(unused_extern_crates)]
extern crate self as cortex_core;

mod app;
pub mod config;
pub mod health;
pub mod http;
pub mod inspect;
pub mod logging;
mod notify;
pub mod openapi;
pub mod plugin;
pub mod routing;
pub mod server;
pub mod shutdown;
pub mod task;
pub mod testing;

#[allow(deprecated)]
pub use app::HookError;
pub use app::{App, AppError, Application, Running};
/// The axum version Cortex is built on, for routers, extractors and responses of your own.
pub use axum;
pub use plugin::Plugin;
pub use shutdown::ShutdownSignal;

/// Items the macros expand to. Not public API.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
