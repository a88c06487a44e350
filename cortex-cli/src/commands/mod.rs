//! One module per command, and what runs them: [`main`] parses the command line and reports the
//! outcome, [`run`] runs one parsed command.

pub mod auth;
pub mod build;
pub mod completions;
pub mod config;
pub mod db;
pub mod doctor;
pub mod events;
pub mod generate;
pub mod inspect;
pub mod new;
pub mod run;
pub mod serve;

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
            if !error.is_reported() {
                ui.error(&error);
            }
            ExitCode::from(error.code())
        }
    }
}

/// Runs one parsed command.
pub fn run(command: Command, ui: &Ui) -> Result<(), CliError> {
    match command {
        Command::New(args) => new::run(args, ui),
        Command::Generate(args) => generate::run(args, ui),
        Command::Serve(args) => serve::run(args, ui),
        Command::Routes(args) => inspect::routes(args, ui),
        Command::Graph(args) => inspect::graph(args, ui),
        Command::Plugins(args) => inspect::plugins(args, ui),
        Command::Run(args) => run::run(args, ui),
        Command::Db(command) => db::run(command, ui),
        Command::Auth(command) => auth::run(command, ui),
        Command::Events(command) => events::run(command, ui),
        Command::Build(args) => build::build(args, ui),
        Command::Test(args) => build::test(args, ui),
        Command::Doctor(args) => doctor::run(args, ui),
        Command::Config(ConfigCommand::Show(args)) => config::show(args, ui),
        Command::Completions(args) => completions::run(args, ui),
    }
}
