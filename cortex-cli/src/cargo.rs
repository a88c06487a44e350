//! Running cargo for the app: builds with progress and the compiler's own error output, and the
//! path of the binary that came out.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::{CliError, Context, Result};
use crate::project::Project;
use crate::ui::Ui;

/// The `cargo` to run: `$CARGO` when cargo started us, else `cargo` on the `PATH`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `cargo` for commands on the app, run in its folder. An app that depends on a Cortex checkout by
/// path shares that checkout's `target/` (unless `CARGO_TARGET_DIR` is set), so the dependencies
/// the checkout has compiled are not compiled again for each app.
pub fn cargo_for(project: &Project) -> Command {
    let mut command = cargo();
    command.current_dir(project.dir());
    if std::env::var_os("CARGO_TARGET_DIR").is_none()
        && let Some(checkout) = project.cortex_checkout()
    {
        command.env("CARGO_TARGET_DIR", checkout.join("target"));
    }
    command
}

/// How to build.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildOptions {
    /// `--release`.
    pub release: bool,
}

/// Builds the app's binary with `cargo build`, showing a spinner with the crate being compiled and
/// printing the compiler's diagnostics as cargo renders them. Returns the binary's path.
///
/// A failed build is an error that says so; the diagnostics are already printed above it.
pub fn build(project: &Project, options: BuildOptions, ui: &Ui) -> Result<PathBuf> {
    build_with(project, options, ui, None)
}

/// Like [`build`], with cargo in a process group of its own, whose id (cargo's process id) is
/// passed to `started` once cargo runs: the caller can then stop the whole build, cargo and its
/// compilers, with one signal to the group. For callers that handle Ctrl-C themselves
/// (`cortex serve`): Ctrl-C at the terminal no longer reaches this cargo directly.
pub fn build_in_group(
    project: &Project,
    options: BuildOptions,
    ui: &Ui,
    started: &dyn Fn(u32),
) -> Result<PathBuf> {
    build_with(project, options, ui, Some(started))
}

fn build_with(
    project: &Project,
    options: BuildOptions,
    ui: &Ui,
    group: Option<&dyn Fn(u32)>,
) -> Result<PathBuf> {
    let mut command = cargo_for(project);
    command
        .args(["build", "--message-format=json-render-diagnostics", "--bin"])
        .arg(project.bin())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if options.release {
        command.arg("--release");
    }
    if anstream::ColorChoice::global() != anstream::ColorChoice::Never
        && anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
    {
        command.arg("--color=always");
    }
    #[cfg(unix)]
    if group.is_some() {
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
    }
    let mut child = command
        .spawn()
        .context("cannot run cargo")
        .map_err(|e| e.hint("install Rust from https://rustup.rs, or put cargo on the PATH"))?;
    if let Some(started) = group {
        started(child.id());
    }

    let bar = ui.spinner(format!("Building {}", project.name()));
    let stderr = child.stderr.take().expect("stderr is piped");
    let printer = {
        let bar = bar.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                let plain = strip_ansi(&line);
                let trimmed = plain.trim_start();
                if let Some(rest) = trimmed.strip_prefix("Compiling ") {
                    bar.set_message(format!("Compiling {rest}"));
                    if !bar.is_hidden() {
                        continue;
                    }
                }
                if bar.is_hidden() {
                    eprintln!("{line}");
                } else if !trimmed.starts_with("Blocking waiting") {
                    bar.println(&line);
                }
            }
        })
    };

    let stdout = child.stdout.take().expect("stdout is piped");
    let mut executable = None;
    let mut success = None;
    for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        match message["reason"].as_str() {
            Some("compiler-artifact") => {
                let is_bin = message["target"]["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
                if is_bin
                    && message["target"]["name"] == project.bin()
                    && let Some(path) = message["executable"].as_str()
                {
                    executable = Some(PathBuf::from(path));
                }
            }
            Some("build-finished") => success = message["success"].as_bool(),
            _ => {}
        }
    }
    let status = child.wait().context("cargo build did not finish")?;
    let _ = printer.join();
    bar.finish_and_clear();
    if !status.success() || success == Some(false) {
        return Err(CliError::new(format!(
            "the build of `{}` failed; the compiler's messages are above",
            project.name()
        ))
        .hint("fix the first error and run the command again"));
    }
    executable.ok_or_else(|| {
        CliError::new(format!(
            "cargo built `{}` but reported no binary named `{}`",
            project.name(),
            project.bin()
        ))
        .hint("add a [[bin]] target (src/main.rs) to the app")
    })
}

/// The text without ANSI escape sequences (cargo colours its output when we ask it to).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ ... final byte in @..~
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::strip_ansi;

    #[test]
    fn strips_colour_codes() {
        assert_eq!(
            strip_ansi("\u{1b}[1m\u{1b}[32m   Compiling\u{1b}[0m blog v0.1.0"),
            "   Compiling blog v0.1.0"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }
}
