//! Output for people: cargo-style status lines, warnings, errors with hints, and spinners.
//!
//! Colours go through `anstream`, which drops them when `NO_COLOR` is set, when the stream is not
//! a terminal, or when `--color never` was given; spinners are hidden on non-terminals and with
//! `--quiet`.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::CliError;

const STATUS: Style = AnsiColor::Green.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default().bold();
const DIM: Style = Style::new().dimmed();

/// Where the CLI talks to the user (stderr; stdout is kept for machine-readable output such as
/// `cortex routes --format json`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ui {
    quiet: bool,
}

impl Ui {
    /// A `Ui`; `quiet` drops status lines and spinners (warnings and errors still print).
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    /// Whether status output is suppressed.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// A cargo-style status line: `     Created blog at ./blog`, the verb right-aligned in green.
    pub fn status(&self, verb: &str, message: impl std::fmt::Display) {
        if self.quiet {
            return;
        }
        line(format!("{STATUS}{verb:>12}{STATUS:#} {message}\n"));
    }

    /// A line of secondary information, dimmed.
    pub fn note(&self, message: impl std::fmt::Display) {
        if self.quiet {
            return;
        }
        line(format!("{DIM}{message}{DIM:#}\n"));
    }

    /// `warning: <message>`.
    pub fn warn(&self, message: impl std::fmt::Display) {
        line(format!("{WARN}warning{WARN:#}: {message}\n"));
    }

    /// `error: <message>` and, on the next line, `  hint: <hint>`.
    pub fn error(&self, error: &CliError) {
        let mut text = format!("{ERROR}error{ERROR:#}: {error}\n");
        if let Some(hint) = error.hint_text() {
            text.push_str(&format!("  {HINT}hint{HINT:#}: {hint}\n"));
        }
        line(text);
    }

    /// A spinner with this message, ticking until it is finished or dropped; hidden when stderr is
    /// not a terminal or the `Ui` is quiet (the caller prints a status line instead).
    pub fn spinner(&self, message: impl Into<String>) -> ProgressBar {
        let message = message.into();
        if self.quiet || !std::io::stderr().is_terminal() {
            return ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
                .with_message(message);
        }
        let bar = ProgressBar::new_spinner().with_message(message);
        if let Ok(style) = ProgressStyle::with_template("{spinner:.green} {msg} {elapsed:.dim}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    }
}

/// Writes `text` to stderr in one write, styled or stripped as stderr takes it: a line never
/// interleaves with what other processes sharing stderr (the app under `cortex serve`) print.
fn line(text: String) {
    let choice = anstream::AutoStream::choice(&std::io::stderr());
    let mut styled = anstream::AutoStream::new(Vec::new(), choice);
    let _ = styled.write_all(text.as_bytes());
    let _ = std::io::stderr().lock().write_all(&styled.into_inner());
}

/// Whether stdin and stderr are both terminals (the interactive wizard needs both).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}
