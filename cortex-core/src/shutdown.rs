//! Shutdown for everything, not only HTTP: the [`ShutdownSignal`] that trips when the drain
//! starts, and background work the drain waits for ([`ShutdownSignal::spawn_tracked`]).
//!
//! Every app has one signal, in its container (inject it with `Inject<ShutdownSignal>`). When the
//! server starts its drain (after SIGTERM or SIGINT and `[server] shutdown_delay`), it trips the
//! signal, then waits — within the same `[server] drain_timeout` as in-flight requests — for the
//! tasks spawned with [`spawn_tracked`](ShutdownSignal::spawn_tracked). A task still running at
//! the deadline is aborted, and the log names it.
//!
//! ```
//! use cortex_core::ShutdownSignal;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let signal = ShutdownSignal::new();
//! let watcher = signal.clone();
//! signal.spawn_tracked("consumer", async move {
//!     // A consumer loop: take the next message until the drain starts.
//!     watcher.tripped().await;
//!     // ...acknowledge what is in hand, then return.
//! });
//!
//! signal.trip();
//! let report = signal.wait_tracked(Duration::from_secs(5)).await;
//! assert!(report.aborted.is_empty());
//! # }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Tripped when the app's drain starts; background work registered with
/// [`spawn_tracked`](Self::spawn_tracked) is waited for by the drain, up to the drain timeout.
///
/// A cheap handle: clones share one signal. The app registers its signal in the container as a
/// singleton; consumers, actors, subscriptions, bridges and WebSocket handlers inject it and
/// `select!` on [`tripped`](Self::tripped) to stop taking new work.
///
/// ```
/// use cortex_core::ShutdownSignal;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let signal = ShutdownSignal::new();
/// assert!(!signal.is_tripped());
/// signal.trip();
/// signal.tripped().await; // completes at once from now on
/// assert!(signal.is_tripped());
/// # }
/// ```
#[derive(Clone, Default)]
pub struct ShutdownSignal {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    token: CancellationToken,
    tracked: Mutex<Tracked>,
}

/// The tracked tasks, and the name of each one still to be joined.
#[derive(Default)]
struct Tracked {
    set: JoinSet<()>,
    names: HashMap<tokio::task::Id, String>,
}

impl Tracked {
    /// Forgets the tasks that have finished (so a long-running app that spawns many short tasks
    /// does not keep their results until shutdown).
    fn reap(&mut self) {
        while let Some(done) = self.set.try_join_next_with_id() {
            let id = match &done {
                Ok((id, ())) => *id,
                Err(e) => e.id(),
            };
            let name = self.names.remove(&id);
            report_failure(name.as_deref(), done.err());
        }
    }
}

/// Logs a tracked task that panicked (a cancelled one was aborted on purpose).
fn report_failure(name: Option<&str>, error: Option<tokio::task::JoinError>) {
    if let Some(e) = error.filter(|e| e.is_panic()) {
        tracing::error!(task = name.unwrap_or("?"), error = %e, "a background task panicked");
    }
}

impl std::fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownSignal")
            .field("tripped", &self.is_tripped())
            .field("tracked", &self.tracked_names())
            .finish()
    }
}

/// What waiting for the tracked tasks found: which were still running at the deadline (and were
/// aborted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackedReport {
    /// The names of the tasks aborted at the deadline, sorted.
    pub aborted: Vec<String>,
    /// How many tasks finished (or failed, or panicked) before the deadline.
    pub finished: usize,
}

impl ShutdownSignal {
    /// A signal not tripped yet, tracking no task. An app makes its own (see
    /// [`App::shutdown_signal`](crate::App::shutdown_signal)); a new one is for a component
    /// tested on its own.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trips the signal: every [`tripped`](Self::tripped) completes. The server does it when its
    /// drain starts; calling it again does nothing.
    pub fn trip(&self) {
        if !self.inner.token.is_cancelled() {
            tracing::debug!("shutdown signal tripped");
        }
        self.inner.token.cancel();
    }

    /// Whether the drain has started.
    pub fn is_tripped(&self) -> bool {
        self.inner.token.is_cancelled()
    }

    /// Completes once the signal is tripped (at once if it is already).
    ///
    /// ```
    /// # use cortex_core::ShutdownSignal;
    /// # async fn consume(signal: ShutdownSignal, mut messages: tokio::sync::mpsc::Receiver<String>) {
    /// loop {
    ///     tokio::select! {
    ///         _ = signal.tripped() => break,
    ///         Some(message) = messages.recv() => println!("{message}"),
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn tripped(&self) {
        self.inner.token.cancelled().await;
    }

    /// A [`CancellationToken`] cancelled when the signal trips: for libraries that take one. A
    /// child token, so cancelling it does not trip the app's signal.
    pub fn token(&self) -> CancellationToken {
        self.inner.token.child_token()
    }

    /// Spawns `task` on the runtime and tracks it: when the drain starts, the server waits for
    /// it (up to `[server] drain_timeout`, with the in-flight requests), then aborts it if it is
    /// still running, naming it in the log. `name` says what it is (`"orders consumer"`).
    ///
    /// The task should watch [`tripped`](Self::tripped) and finish what it has in hand; one that
    /// never looks is cut off at the deadline. Must be called within a tokio runtime.
    ///
    /// ```
    /// # use cortex_core::ShutdownSignal;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal = ShutdownSignal::new();
    /// let stop = signal.clone();
    /// signal.spawn_tracked("heartbeat", async move {
    ///     let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
    ///     loop {
    ///         tokio::select! {
    ///             _ = stop.tripped() => return,
    ///             _ = tick.tick() => { /* send a heartbeat */ }
    ///         }
    ///     }
    /// });
    /// # }
    /// ```
    pub fn spawn_tracked<F>(&self, name: impl Into<String>, task: F) -> AbortHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut tracked = self.lock();
        tracked.reap();
        let handle = tracked.set.spawn(task);
        tracked.names.insert(handle.id(), name.into());
        handle
    }

    /// The names of the tracked tasks not known to have finished, sorted.
    pub fn tracked_names(&self) -> Vec<String> {
        let mut tracked = self.lock();
        tracked.reap();
        let mut names: Vec<String> = tracked.names.values().cloned().collect();
        names.sort();
        names
    }

    /// Waits up to `timeout` for every tracked task (those spawned meanwhile too), then aborts
    /// the ones still running and logs their names. What the server's drain does after tripping
    /// the signal; for a signal used outside an app (tests, a tool of your own).
    pub async fn wait_tracked(&self, timeout: Duration) -> TrackedReport {
        self.wait_tracked_until(Instant::now() + timeout).await
    }

    /// [`wait_tracked`](Self::wait_tracked) with a deadline.
    pub(crate) async fn wait_tracked_until(&self, deadline: Instant) -> TrackedReport {
        let mut aborted = Vec::new();
        let mut finished = 0;
        loop {
            // Taken out of the lock: joining awaits, and tasks may spawn more meanwhile.
            let (mut set, mut names) = {
                let mut tracked = self.lock();
                (
                    std::mem::take(&mut tracked.set),
                    std::mem::take(&mut tracked.names),
                )
            };
            if set.is_empty() {
                break;
            }
            let joined = tokio::time::timeout_at(deadline, async {
                while let Some(done) = set.join_next_with_id().await {
                    let id = match &done {
                        Ok((id, ())) => *id,
                        Err(e) => e.id(),
                    };
                    let name = names.remove(&id);
                    report_failure(name.as_deref(), done.err());
                    finished += 1;
                }
            })
            .await;
            if joined.is_err() {
                let mut late: Vec<String> = names.into_values().collect();
                late.sort();
                tracing::warn!(
                    tasks = ?late,
                    "drain timeout reached: aborting the background tasks still running: {}",
                    late.join(", ")
                );
                set.abort_all();
                while set.join_next().await.is_some() {}
                aborted.extend(late);
            }
        }
        aborted.sort();
        TrackedReport { aborted, finished }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tracked> {
        self.inner
            .tracked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::CapturedLogs;

    /// A subscriber writing what the code under test logs to `logs`, for this thread.
    fn dispatch(logs: &CapturedLogs) -> tracing::Dispatch {
        tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(logs.clone())
                .finish(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_tracked_task_that_finishes_on_the_signal_is_awaited() {
        let signal = ShutdownSignal::new();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let watcher = signal.clone();
        signal.spawn_tracked("consumer", async move {
            watcher.tripped().await;
            // Finishing what it has in hand takes a while, within the timeout.
            tokio::time::sleep(Duration::from_secs(1)).await;
            done_tx.send(()).unwrap();
        });
        assert_eq!(signal.tracked_names(), ["consumer"]);

        signal.trip();
        let started = Instant::now();
        let report = signal.wait_tracked(Duration::from_secs(5)).await;
        assert_eq!(
            report,
            TrackedReport {
                aborted: Vec::new(),
                finished: 1
            }
        );
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        done_rx.await.expect("the task ran to its end");
        assert!(signal.tracked_names().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_tracked_task_that_ignores_the_signal_is_aborted_at_the_timeout_and_named() {
        let signal = ShutdownSignal::new();
        let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
        signal.spawn_tracked("stubborn", async move {
            let _dropped_on_abort = dropped_tx;
            std::future::pending::<()>().await;
        });
        signal.spawn_tracked("polite", async {});

        let logs = CapturedLogs::new();
        let _log = tracing::dispatcher::set_default(&dispatch(&logs));
        signal.trip();
        let started = Instant::now();
        let report = signal.wait_tracked(Duration::from_secs(3)).await;
        assert_eq!(report.aborted, ["stubborn"]);
        assert_eq!(report.finished, 1, "`polite` ended");
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        let logged = logs.text();
        assert!(
            logged.contains(
                "drain timeout reached: aborting the background tasks still running: stubborn"
            ),
            "{logged}"
        );
        assert!(!logged.contains("polite"), "{logged}");
        assert!(
            dropped_rx.await.is_err(),
            "the aborted task's future was dropped"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn tasks_spawned_while_waiting_are_waited_for_too() {
        let signal = ShutdownSignal::new();
        let spawner = signal.clone();
        let (late_tx, late_rx) = tokio::sync::oneshot::channel();
        signal.spawn_tracked("first", async move {
            spawner.spawn_tracked("second", async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                late_tx.send(()).unwrap();
            });
        });
        signal.trip();
        let report = signal.wait_tracked(Duration::from_secs(5)).await;
        assert!(report.aborted.is_empty());
        late_rx.await.expect("the second task finished");
    }

    #[tokio::test]
    async fn finished_tasks_are_forgotten_before_shutdown() {
        let signal = ShutdownSignal::new();
        let handle = signal.spawn_tracked("quick", async {});
        while !handle.is_finished() {
            tokio::task::yield_now().await;
        }
        assert!(signal.tracked_names().is_empty());
        assert!(signal.lock().set.is_empty());
    }

    #[tokio::test]
    async fn the_token_is_cancelled_by_the_signal_but_does_not_trip_it() {
        let signal = ShutdownSignal::new();
        let token = signal.token();
        token.cancel();
        assert!(!signal.is_tripped());
        let token = signal.token();
        signal.trip();
        assert!(token.is_cancelled());
        assert!(signal.clone().is_tripped(), "clones share the signal");
    }
}
