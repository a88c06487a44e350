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
pub mod routing;
pub mod server;
pub mod testing;

#[allow(deprecated)]
pub use app::HookError;
pub use app::{App, AppError, Application, Plugin, Running};
/// The axum version Cortex is built on, for routers, extractors and responses of your own.
pub use axum;

/// Items the macros expand to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use axum;
    pub use http;

    /// What `#[cortex::main]` runs: logging, then `main`'s body on a multi-threaded runtime.
    pub fn run_main<O, F: std::future::Future<Output = O>>(body: F) -> O {
        crate::logging::init();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build();
        match runtime {
            Ok(runtime) => runtime.block_on(body),
            Err(e) => {
                eprintln!("error: cannot start the tokio runtime: {e}");
                std::process::exit(1);
            }
        }
    }

    /// What a `#[cortex::main]` function may return.
    pub trait MainOutput {
        /// The process's exit status, after printing an error if there is one.
        fn report(self) -> std::process::ExitCode;
    }

    impl MainOutput for () {
        fn report(self) -> std::process::ExitCode {
            std::process::ExitCode::SUCCESS
        }
    }

    impl<E: std::fmt::Display> MainOutput for Result<(), E> {
        fn report(self) -> std::process::ExitCode {
            match self {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    // One line, not a log event as well: the log is on stderr too, so the error
                    // would show twice.
                    eprintln!("error: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }

    /// Reports `main`'s result.
    pub fn report<O: MainOutput>(output: O) -> std::process::ExitCode {
        output.report()
    }
}
