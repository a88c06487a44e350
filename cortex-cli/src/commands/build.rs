//! `cortex build` and `cortex test`.

use std::process::Stdio;

use crate::cargo::{self, BuildOptions};
use crate::cli::{BuildArgs, TestArgs};
use crate::error::{CliError, Context, Result};
use crate::project::Project;
use crate::ui::Ui;
use crate::watch::Watcher;

/// Runs `cortex build`: builds the app's binary and prints where it is.
pub fn build(args: BuildArgs, ui: &Ui) -> Result<()> {
    let project = Project::find(args.path.as_deref())?;
    let started = std::time::Instant::now();
    let binary = cargo::build(
        &project,
        BuildOptions {
            release: args.release,
        },
        ui,
    )?;
    ui.status(
        "Finished",
        format!(
            "{} in {:.1}s: {}",
            project.name(),
            started.elapsed().as_secs_f64(),
            binary.display()
        ),
    );
    Ok(())
}

/// Runs `cortex test`: `cargo nextest run` when cargo-nextest is installed, else `cargo test`, in
/// the app's folder, with the arguments after `--` passed on. Exits with the runner's status.
///
/// With `--watch`, runs the tests again whenever `src/`, `tests/`, templates, `Cargo.toml` or the
/// configuration change (see [`crate::watch`]), until interrupted.
pub fn test(args: TestArgs, ui: &Ui) -> Result<()> {
    let project = Project::find(args.path.as_deref())?;
    let runner = Runner::detect();
    if !args.watch {
        return run_tests(&project, runner, &args.args, ui);
    }
    let watcher = Watcher::new(project.dir())?.also("tests")?;
    loop {
        if let Err(e) = run_tests(&project, runner, &args.args, ui) {
            ui.error(&e);
        }
        ui.status(
            "Watching",
            "for changes to run the tests again (Ctrl-C to stop)",
        );
        let change = watcher.next_change()?;
        ui.status("Changed", change.describe());
    }
}

/// The test runner `cortex test` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// `cargo nextest run`.
    Nextest,
    /// `cargo test`.
    CargoTest,
}

impl Runner {
    /// `cargo nextest` when `cargo nextest --version` works, else `cargo test`.
    ///
    /// ```no_run
    /// let runner = cortex_cli::commands::build::Runner::detect();
    /// println!("tests run with {}", runner.command());
    /// ```
    pub fn detect() -> Runner {
        let nextest = cargo::cargo()
            .args(["nextest", "--version"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if nextest {
            Runner::Nextest
        } else {
            Runner::CargoTest
        }
    }

    /// The command as the user would type it.
    ///
    /// ```
    /// use cortex_cli::commands::build::Runner;
    /// assert_eq!(Runner::Nextest.command(), "cargo nextest run");
    /// assert_eq!(Runner::CargoTest.command(), "cargo test");
    /// ```
    pub fn command(self) -> &'static str {
        match self {
            Runner::Nextest => "cargo nextest run",
            Runner::CargoTest => "cargo test",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            Runner::Nextest => &["nextest", "run"],
            Runner::CargoTest => &["test"],
        }
    }
}

/// Runs the tests once, the runner's output going straight to the terminal.
fn run_tests(project: &Project, runner: Runner, args: &[String], ui: &Ui) -> Result<()> {
    ui.status(
        "Testing",
        format!("{} with {}", project.name(), runner.command()),
    );
    let status = cargo::cargo_for(project)
        .args(runner.args())
        .args(args)
        .status()
        .context(format!("cannot run {}", runner.command()))
        .map_err(|e| e.hint("install Rust from https://rustup.rs, or put cargo on the PATH"))?;
    if status.success() {
        return Ok(());
    }
    let code = status.code().unwrap_or(1);
    Err(CliError::new(format!(
        "the tests of `{}` failed ({} exited with status {code})",
        project.name(),
        runner.command()
    ))
    .hint("the runner's report is above; `cortex test -- NAME` runs only the tests matching NAME")
    .with_code(u8::try_from(code).unwrap_or(1)))
}
