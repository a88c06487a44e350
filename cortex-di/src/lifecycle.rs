//! The lifecycle bookkeeping shared by the container and its request scopes: which phase the
//! container is in, which hooks wait for it, and running start, ready and shutdown hooks under
//! their timeouts ([`ShutdownReport`] says how shutdown went).

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tracing::Instrument as _;

use crate::error::{BoxError, Error, LifecycleHook, Result};
use crate::node::{BoxFuture, Cell, Node};

/// How far the container's lifecycle has gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Built: start hooks of new singletons wait for [`Container::start`](crate::Container::start).
    #[default]
    Built,
    /// `start()` has begun: new singletons are started as they are created.
    Started,
    /// `ready()` has begun: new singletons are started and made ready as they are created.
    Ready,
}

/// A start or ready hook waiting for its phase: the provider's index and the hook's future (which
/// holds its own handle on the instance).
pub(crate) type PendingHook = (usize, BoxFuture<Result<(), BoxError>>);

/// The singletons' lifecycle: what was created, and the hooks still to run.
#[derive(Default)]
pub(crate) struct Lifecycle {
    pub(crate) phase: Phase,
    /// Singletons with a shutdown hook, in creation order.
    pub(crate) created: Vec<usize>,
    /// Start hooks of singletons created before `start()`, in creation order.
    pub(crate) to_start: Vec<PendingHook>,
    /// Ready hooks of singletons created before `ready()`, in creation order.
    pub(crate) to_ready: Vec<PendingHook>,
}

impl Lifecycle {
    /// Records `idx` as created: its hooks wait for their phases.
    pub(crate) fn queue<F>(
        &mut self,
        idx: usize,
        node: &Node<F>,
        start: Option<BoxFuture<Result<(), BoxError>>>,
        ready: Option<BoxFuture<Result<(), BoxError>>>,
    ) {
        if let Some(hook) = start {
            self.to_start.push((idx, hook));
        }
        if let Some(hook) = ready {
            self.to_ready.push((idx, hook));
        }
        if node.shutdown.is_some() {
            self.created.push(idx);
        }
    }
}

/// What [`Container::shutdown`](crate::Container::shutdown) and
/// [`RequestScope::close`](crate::RequestScope::close) did.
///
/// ```
/// use cortex_di::{ContainerBuilder, OnShutdown, Provider};
///
/// struct Pool;
/// impl OnShutdown for Pool {
///     async fn on_shutdown(&self) {}
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let c = ContainerBuilder::new().add(Provider::value(Pool).on_shutdown()).build().await.unwrap();
/// let report = c.shutdown().await;
/// assert_eq!(report.completed.len(), 1);
/// assert!(report.timed_out.is_empty());
/// # });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Providers whose hook completed, in the order they ran.
    pub completed: Vec<String>,
    /// Providers whose hook did not finish within the timeout.
    pub timed_out: Vec<String>,
}

/// Whether the `lifecycle.hook` spans are made at `info` (an OpenTelemetry exporter is
/// installed): `cortex-core` says so ([`export_hook_spans`]) from its `export_spans` flag before
/// each phase; otherwise they are `debug`.
static SPANS_AT_INFO: AtomicBool = AtomicBool::new(false);

/// Makes the `lifecycle.hook` spans `info` (`true`) or `debug`: `cortex-core` calls it with
/// `cortex_core::logging::spans_exported()` before each lifecycle phase.
pub(crate) fn export_hook_spans(on: bool) {
    SPANS_AT_INFO.store(on, Ordering::Relaxed);
}

/// The `phase` label of a hook kind.
fn phase(kind: LifecycleHook) -> &'static str {
    match kind {
        LifecycleHook::Start => "start",
        LifecycleHook::Ready => "ready",
        LifecycleHook::Shutdown => "shutdown",
    }
}

/// How one lifecycle hook ended, for its span and its metric.
pub(crate) enum HookEnd<'a> {
    Ok,
    Failed(&'a dyn fmt::Display),
    TimedOut,
}

/// Runs `hook` in a `lifecycle.hook` span (`hook` = the provider or closure, `phase`) and records
/// its duration in `cortex_lifecycle_hook_duration_seconds{hook, phase}`; `end` says how it
/// ended. A few hooks per process: the label's `String` costs nothing that matters.
pub(crate) async fn observe_hook<T>(
    hook: &(dyn fmt::Display + Sync),
    phase: &'static str,
    run: impl Future<Output = T>,
    end: impl FnOnce(&T) -> HookEnd<'_>,
) -> T {
    macro_rules! span {
        ($level:ident) => {
            tracing::$level!(
                target: "cortex::lifecycle",
                "lifecycle.hook",
                hook = %hook,
                phase,
                otel.status_code = tracing::field::Empty,
                otel.status_description = tracing::field::Empty,
                error.type = tracing::field::Empty,
            )
        };
    }
    let span = if SPANS_AT_INFO.load(Ordering::Relaxed) {
        span!(info_span)
    } else {
        span!(debug_span)
    };
    let started = tokio::time::Instant::now();
    let output = run.instrument(span.clone()).await;
    let elapsed = started.elapsed();
    metrics::histogram!(
        "cortex_lifecycle_hook_duration_seconds",
        "hook" => hook.to_string(),
        "phase" => phase,
    )
    .record(elapsed.as_secs_f64());
    match end(&output) {
        HookEnd::Ok => {}
        HookEnd::Failed(error) => {
            span.record("otel.status_code", "ERROR");
            span.record("otel.status_description", tracing::field::display(error));
            span.record("error.type", "hook_failed");
        }
        HookEnd::TimedOut => {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", "timeout");
        }
    }
    tracing::debug!(provider = %hook, hook = phase, ?elapsed, "lifecycle hook");
    output
}

/// Runs one start or ready hook, bounded by `timeout`.
pub(crate) async fn run_hook<F>(
    node: &Node<F>,
    kind: LifecycleHook,
    hook: BoxFuture<Result<(), BoxError>>,
    timeout: Duration,
) -> Result<()> {
    let outcome = observe_hook(
        &node.key,
        phase(kind),
        tokio::time::timeout(timeout, hook),
        |outcome| match outcome {
            Ok(Ok(())) => HookEnd::Ok,
            Ok(Err(source)) => HookEnd::Failed(source),
            Err(_) => HookEnd::TimedOut,
        },
    )
    .await;
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(source)) => Err(Error::Hook {
            hook: kind,
            provider: Box::new(node.reference()),
            source,
        }),
        Err(_) => Err(Error::HookTimedOut {
            hook: kind,
            provider: Box::new(node.reference()),
            timeout,
        }),
    }
}

/// Runs shutdown hooks one at a time, in the order given, each bounded by `timeout`. `observe`:
/// each in a `lifecycle.hook` span and timed (the singletons' `OnShutdown`; not a request scope's
/// `OnScopeEnd`, which runs per request).
pub(crate) async fn run_hooks(
    hooks: Vec<(String, BoxFuture<()>)>,
    timeout: Duration,
    observe: bool,
) -> ShutdownReport {
    let mut report = ShutdownReport::default();
    for (name, hook) in hooks {
        let bounded = tokio::time::timeout(timeout, hook);
        let outcome = if observe {
            observe_hook(
                &name,
                phase(LifecycleHook::Shutdown),
                bounded,
                |outcome| match outcome {
                    Ok(()) => HookEnd::Ok,
                    Err(_) => HookEnd::TimedOut,
                },
            )
            .await
        } else {
            bounded.await
        };
        match outcome {
            Ok(()) => report.completed.push(name),
            Err(_) => {
                tracing::warn!(provider = %name, ?timeout, "shutdown hook timed out");
                report.timed_out.push(name);
            }
        }
    }
    report
}

/// The shutdown hooks of the instances `created` (in reverse creation order) that are still in
/// `cells`, named by their keys.
pub(crate) fn shutdown_hooks<F>(
    nodes: &[Node<F>],
    cells: &[Cell],
    created: &[usize],
) -> Vec<(String, BoxFuture<()>)> {
    created
        .iter()
        .rev()
        .filter_map(|&idx| {
            let node = &nodes[idx];
            let inst = cells[node.slot].get()?;
            Some((node.key.to_string(), (node.shutdown?)(inst)))
        })
        .collect()
}

/// Takes the instances with hooks out of `cells` and, when a tokio runtime is at hand, runs their
/// hooks on it; used when a container or scope is dropped without being shut down.
pub(crate) fn dispose_on_drop<F>(
    nodes: &[Node<F>],
    cells: &mut [Cell],
    created: Vec<usize>,
    first: Vec<(String, BoxFuture<()>)>,
    timeout: Duration,
    what: &str,
) {
    let mut hooks = first;
    for idx in created.into_iter().rev() {
        let node = &nodes[idx];
        if let (Some(hook), Some(inst)) = (node.shutdown, cells[node.slot].take()) {
            let fut = hook(&inst);
            hooks.push((
                node.key.to_string(),
                Box::pin(async move {
                    fut.await;
                    drop(inst);
                }) as BoxFuture<()>,
            ));
        }
    }
    if hooks.is_empty() {
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(run_hooks(hooks, timeout, false));
        }
        Err(_) => tracing::warn!(
            "{what} dropped outside a tokio runtime without shutdown(): {} shutdown hooks skipped",
            hooks.len()
        ),
    }
}
