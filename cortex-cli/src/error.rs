//! The CLI's one error type: a message for people, an optional hint, an exit code.

use std::fmt;

/// The CLI's result type.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// An error the user sees as one line, `error: <message>`, followed by `  hint: <hint>` when
/// there is one, and a non-zero exit status. Never a panic or a backtrace.
///
/// ```
/// use cortex_cli::error::CliError;
///
/// let e = CliError::new("directory `blog` already exists").hint("choose another name, or pass --path DIR");
/// assert_eq!(e.to_string(), "directory `blog` already exists");
/// assert_eq!(e.hint_text(), Some("choose another name, or pass --path DIR"));
/// assert_eq!(e.code(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    message: String,
    hint: Option<String>,
    code: u8,
    /// Shown already (by the app's binary, on its stderr): the CLI adds nothing.
    reported: bool,
}

impl CliError {
    /// An error with this message and exit status 1.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            code: 1,
            reported: false,
        }
    }

    /// A failure the user has seen already — an app's binary printed its own `error:` line — that
    /// only sets the exit status: the CLI prints nothing more.
    ///
    /// ```
    /// use cortex_cli::error::CliError;
    ///
    /// let e = CliError::reported("the task failed", 3);
    /// assert!(e.is_reported());
    /// assert_eq!(e.code(), 3);
    /// ```
    pub fn reported(message: impl Into<String>, code: u8) -> Self {
        Self {
            reported: true,
            ..Self::new(message).with_code(code)
        }
    }

    /// Whether the error was shown already (see [`reported`](CliError::reported)).
    pub fn is_reported(&self) -> bool {
        self.reported
    }

    /// Adds what the user can do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The exit status: 1 unless [`with_code`](CliError::with_code) set another.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// The exit status to use instead of 1 (2 for usage errors, as clap uses; 0 becomes 1).
    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code.max(1);
        self
    }

    /// The message, without the hint.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint, if any.
    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Turns any error into a [`CliError`] that says what was being done: `cannot read x.toml: <e>`.
///
/// ```
/// use cortex_cli::error::Context;
///
/// let read = std::fs::read_to_string("/no/such/file").context("cannot read /no/such/file");
/// assert!(read.unwrap_err().to_string().starts_with("cannot read /no/such/file: "));
/// ```
pub trait Context<T> {
    /// Prefixes the error with `what` (`what: error`).
    fn context(self, what: impl fmt::Display) -> Result<T>;
    /// Like [`context`](Context::context), computing the text only on error.
    fn with_context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| CliError::new(format!("{what}: {e}")))
    }

    fn with_context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| CliError::new(format!("{}: {e}", what())))
    }
}
