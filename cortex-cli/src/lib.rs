//! The `cortex` command line: scaffold apps (`cortex new`), generate code (`cortex generate`),
//! serve with hot reload (`cortex serve`), inspect (`cortex routes`, `cortex graph`,
//! `cortex config show`), check (`cortex doctor`), build and test.
//!
//! The binary is a thin `main` over [`main`]; the modules are public so that they are documented
//! and unit-tested, not as a stable API.
//!
//! Every failure is an [`error::CliError`]: one line, a hint, a non-zero exit status, no
//! panic and no backtrace.

pub mod cargo;
pub mod cli;
pub mod commands;
pub mod error;
pub mod fields;
pub mod names;
pub mod project;
pub mod scaffold;
pub mod template;
pub mod ui;
pub mod watch;

pub use commands::{main, run};
