//! Logging: a `tracing` subscriber configured from the environment.
//!
//! - the filter comes from `CORTEX_LOG`, else `RUST_LOG`, else `info` (e.g.
//!   `CORTEX_LOG=info,cortex_core=debug`);
//! - the format is human-readable on a terminal in the `dev` and `test` profiles, JSON lines in
//!   `prod` (or when `CORTEX_LOG_FORMAT=json`; `CORTEX_LOG_FORMAT=text` forces text);
//! - colours only on a terminal, never when `NO_COLOR` is set.
//!
//! `#[cortex::main]` calls [`init`]; an app that installs its own subscriber first keeps it.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the subscriber unless one is already installed; returns whether it did.
///
/// ```
/// cortex_core::logging::init();
/// assert!(!cortex_core::logging::init(), "the second call keeps the first subscriber");
/// ```
pub fn init() -> bool {
    let filter = std::env::var("CORTEX_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|spec| match EnvFilter::try_new(&spec) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("warning: ignoring the log filter {spec:?}: {e}; using `info`");
                None
            }
        })
        .unwrap_or_else(|| EnvFilter::new("info"));
    let profile = std::env::var("CORTEX_PROFILE").unwrap_or_default();
    let json = match std::env::var("CORTEX_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => profile.eq_ignore_ascii_case("prod"),
    };
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = if json {
        builder.json().with_current_span(true).try_init()
    } else {
        builder.with_ansi(ansi).with_target(true).try_init()
    };
    installed.is_ok()
}
