//! The Cortex application runtime: configuration, the HTTP layer and its middleware, health
//! endpoints and the application lifecycle, built on tokio, axum and the `cortex-di` container.

#[allow(unused_extern_crates)]
extern crate self as cortex_core;

mod app;
pub mod config;
pub mod health;
pub mod logging;
pub mod http;
pub mod openapi;
pub mod routing;
pub mod server;

pub use app::{App, AppError, Application, HookError, Plugin, Running};
/// The axum version Cortex is built on, for routers, extractors and responses of your own.
pub use axum;

/// Items the macros expand to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use axum;
    pub use http;

    /// Fails to compile, at the argument, when `T` cannot be extracted from the request head.
    pub fn assert_parts_extractor<T: axum::extract::FromRequestParts<()>>() {}

    /// Fails to compile, at the argument, when `T` is no extractor at all.
    pub fn assert_last_extractor<T: axum::extract::FromRequest<(), M>, M>() {}

    /// Fails to compile, at the return type, when it cannot be a response.
    pub fn assert_response<R: axum::response::IntoResponse>() {}

    /// What `#[cortex::main]` runs: logging, then `main`'s body on a multi-threaded runtime.
    pub fn run_main<F: std::future::Future>(body: F) -> F::Output {
        crate::logging::init();
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
        match runtime {
            Ok(runtime) => runtime.block_on(body),
            Err(e) => {
                eprintln!("error: cannot start the tokio runtime: {e}");
                std::process::exit(1);
            }
        }
    }
}
