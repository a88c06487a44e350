//! The lifecycle bookkeeping shared by the container and its request scopes: which phase the
//! container is in, which hooks wait for it, and running start, ready and shutdown hooks under
//! their timeouts ([`ShutdownReport`] says how shutdown went).

use std::time::Duration;

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

/// Runs one start or ready hook, bounded by `timeout`.
pub(crate) async fn run_hook<F>(
    node: &Node<F>,
    kind: LifecycleHook,
    hook: BoxFuture<Result<(), BoxError>>,
    timeout: Duration,
) -> Result<()> {
    let started = tokio::time::Instant::now();
    let outcome = tokio::time::timeout(timeout, hook).await;
    tracing::debug!(provider = %node.key, hook = %kind, elapsed = ?started.elapsed(), "lifecycle hook");
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

/// Runs shutdown hooks one at a time, in the order given, each bounded by `timeout`.
pub(crate) async fn run_hooks(
    hooks: Vec<(String, BoxFuture<()>)>,
    timeout: Duration,
) -> ShutdownReport {
    let mut report = ShutdownReport::default();
    for (name, hook) in hooks {
        match tokio::time::timeout(timeout, hook).await {
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
            handle.spawn(run_hooks(hooks, timeout));
        }
        Err(_) => tracing::warn!(
            "{what} dropped outside a tokio runtime without shutdown(): {} shutdown hooks skipped",
            hooks.len()
        ),
    }
}
