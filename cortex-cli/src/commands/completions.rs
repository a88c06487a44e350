//! `cortex completions SHELL`.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{CliError, Result};
use crate::ui::Ui;

/// Prints the completion script for the shell to stdout.
///
/// A closed pipe (`cortex completions bash | head`) ends the output quietly, as other Unix tools
/// do; any other write error is reported.
pub fn run(args: CompletionsArgs, ui: &Ui) -> Result<()> {
    let _ = ui;
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "cortex", &mut script);
    write_stdout(&script)
}

/// Writes to stdout; a closed pipe is not an error.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::new(format!("cannot write to stdout: {e}"))),
    }
}
