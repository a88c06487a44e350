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

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, ColorWhen, Command, ConfigCommand};
use crate::error::CliError;
use crate::ui::Ui;

/// Parses the command line, runs the command, prints any error with its hint, and returns the
/// exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.color {
        ColorWhen::Always => anstream::ColorChoice::Always.write_global(),
        ColorWhen::Never => anstream::ColorChoice::Never.write_global(),
        ColorWhen::Auto => {}
    }
    let ui = Ui::new(cli.quiet);
    match run(cli.command, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            ui.error(&error);
            ExitCode::from(error.code())
        }
    }
}

/// Runs one parsed command.
pub fn run(command: Command, ui: &Ui) -> Result<(), CliError> {
    match command {
        Command::New(args) => commands::new::run(args, ui),
        Command::Generate(args) => commands::generate::run(args, ui),
        Command::Serve(args) => commands::serve::run(args, ui),
        Command::Routes(args) => commands::inspect::routes(args, ui),
        Command::Graph(args) => commands::inspect::graph(args, ui),
        Command::Build(args) => commands::build::build(args, ui),
        Command::Test(args) => commands::build::test(args, ui),
        Command::Doctor(args) => commands::doctor::run(args, ui),
        Command::Config(ConfigCommand::Show(args)) => commands::config::show(args, ui),
        Command::Completions(args) => commands::completions::run(args, ui),
    }
}
