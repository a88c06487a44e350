//! Items the macros expand to (`cortex_core::__private`): not public API. The crates the
//! generated code names, and the runtime of `#[cortex::main]`: logging, the tokio runtime, and the
//! exit status.

pub use axum;
pub use http;
pub use inventory;

/// What `#[cortex::main]` runs: the configuration's `[log]`, the subscriber from it, then `main`'s
/// body on a multi-threaded runtime.
pub fn run_main<O, F: std::future::Future<Output = O>>(body: F) -> O {
    // Read before anything logs, so that every line, the startup ones included, has the configured
    // level and format. Nothing here logs; a configuration that cannot be read leaves the
    // environment's defaults, and `App::from_config` then reports the error in `main`.
    let log = crate::config::Config::load()
        .ok()
        .and_then(|config| crate::logging::LogConfig::from_config(&config).ok())
        .unwrap_or_else(crate::logging::LogConfig::from_env);
    crate::logging::init_from(&log);
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
