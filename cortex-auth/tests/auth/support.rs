//! What every area's tests share: capturing the `cortex::auth` log lines an attack must leave.

use cortex_core::testing::CapturedLogs;

/// The log lines written while a [`Logs`] guard is alive (this thread's subscriber only: each
/// test captures its own).
#[derive(Clone, Default)]
pub(crate) struct Logs(CapturedLogs);

impl Logs {
    /// Starts capturing every event at `debug` and above; stops when the guard drops.
    pub(crate) fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.0.clone())
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .without_time()
            .finish();
        (logs.clone(), tracing::subscriber::set_default(subscriber))
    }

    /// Everything written so far.
    pub(crate) fn text(&self) -> String {
        self.0.text()
    }

    /// Whether some line contains every one of `parts`.
    pub(crate) fn has_line(&self, parts: &[&str]) -> bool {
        self.text()
            .lines()
            .any(|line| parts.iter().all(|part| line.contains(part)))
    }
}
