//! Handlers that run in a scope of the container: what `#[event_handler]` registers, and what
//! [`EventsPlugin::handler`](crate::EventsPlugin::handler) takes by hand.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use cortex_di::{BoxError, Dependency, RequestScope, ScopeFactory, ScopeOutcome};
use futures_util::FutureExt;

use crate::bus::{EventBus, SubscribeOptions, Subscription};
use crate::error::SubscribeError;
use crate::event::{Envelope, Receivable};
use crate::handler::HandlerResult;
use crate::queue::Overflow;
use crate::retry::RetryPolicy;

type Subscribe = Arc<
    dyn Fn(&EventBus, SubscribeOptions, ScopeFactory) -> Result<Subscription, SubscribeError>
        + Send
        + Sync,
>;

/// An event handler that runs each event in its own request scope of the container: its
/// dependencies are resolved from that scope, and the scope ends with the handler's outcome
/// (so `OnScopeEnd` hooks, a unit of work, commit or roll back).
///
/// `#[event_handler]` makes these; a handler written by hand is one call:
///
/// ```
/// use cortex_events::{Envelope, Event, HandlerDescriptor};
/// use cortex_di::Dependency;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct UserCreated { id: u64 }
/// impl Event for UserCreated { const TOPIC: &'static str = "user.created"; }
///
/// struct Mailer;
///
/// let handler = HandlerDescriptor::new("welcome", |scope, user: Envelope<UserCreated>| async move {
///     let _mailer = scope.resolve::<Mailer>().await?;
///     let _ = user.id;
///     Ok::<_, cortex_di::BoxError>(())
/// })
/// .dependency(Dependency::on::<Mailer>().field("mailer"))
/// .retries(5);
/// assert_eq!(handler.name(), "welcome");
/// assert_eq!(handler.pattern(), Some("user.created"));
/// ```
#[derive(Clone)]
pub struct HandlerDescriptor {
    name: Cow<'static, str>,
    event_type: &'static str,
    options: SubscribeOptions,
    dependencies: Vec<Dependency>,
    declared_at: Option<&'static str>,
    subscribe: Subscribe,
}

impl fmt::Debug for HandlerDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerDescriptor")
            .field("name", &self.name)
            .field("event_type", &self.event_type)
            .field("options", &self.options)
            .field("dependencies", &self.dependencies.len())
            .finish()
    }
}

impl HandlerDescriptor {
    /// A handler of `R` (an event type, or `Json` with a pattern) named `name`.
    pub fn new<R, F, Fut, Res>(name: impl Into<Cow<'static, str>>, handler: F) -> Self
    where
        R: Receivable,
        F: Fn(RequestScope, Envelope<R>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Res> + Send + 'static,
        Res: HandlerResult,
    {
        Self::filtered(name, |_: &Envelope<R>| true, handler)
    }

    /// A handler that only takes the events `filter` accepts.
    pub fn filtered<R, P, F, Fut, Res>(
        name: impl Into<Cow<'static, str>>,
        filter: P,
        handler: F,
    ) -> Self
    where
        R: Receivable,
        P: Fn(&Envelope<R>) -> bool + Send + Sync + 'static,
        F: Fn(RequestScope, Envelope<R>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Res> + Send + 'static,
        Res: HandlerResult,
    {
        let name = name.into();
        let handler = Arc::new(handler);
        let filter = Arc::new(filter);
        let subscribe: Subscribe = Arc::new(move |bus, options, scopes| {
            let handler = Arc::clone(&handler);
            let filter = Arc::clone(&filter);
            bus.subscribe_filtered(
                options,
                move |envelope: &Envelope<R>| filter(envelope),
                move |envelope: Envelope<R>| {
                    let handler = Arc::clone(&handler);
                    let scopes = scopes.clone();
                    async move { run_in_scope(&scopes, envelope, &*handler).await }
                },
            )
        });
        HandlerDescriptor {
            options: SubscribeOptions {
                name: Some(name.to_string()),
                pattern: R::DEFAULT_TOPIC.map(str::to_string),
                ..SubscribeOptions::default()
            },
            name,
            event_type: std::any::type_name::<R>(),
            dependencies: Vec::new(),
            declared_at: None,
            subscribe,
        }
    }

    /// The handler's name (unique in an app: it names its dead letters and metrics).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type of event it takes.
    pub fn event_type(&self) -> &'static str {
        self.event_type
    }

    /// Its topic pattern (`None`: a `Json` handler that still needs one).
    pub fn pattern(&self) -> Option<&str> {
        self.options.pattern.as_deref()
    }

    /// Its subscription options.
    pub fn options(&self) -> &SubscribeOptions {
        &self.options
    }

    /// What it resolves from the container (checked when the app starts, shown by
    /// `cortex graph`).
    pub fn dependencies(&self) -> &[Dependency] {
        &self.dependencies
    }

    /// Where it was declared (`file:line`), when known.
    pub fn declared_at(&self) -> Option<&'static str> {
        self.declared_at
    }

    /// Listens to `pattern` instead of the event type's topic.
    pub fn with_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.options.pattern = Some(pattern.into());
        self
    }

    /// Declares a dependency.
    pub fn dependency(mut self, dependency: Dependency) -> Self {
        self.dependencies.push(dependency);
        self
    }

    /// Sets the priority (higher first).
    pub fn priority(mut self, priority: i32) -> Self {
        self.options.priority = priority;
        self
    }

    /// Sets the number of retries (the bus's backoff otherwise).
    pub fn retries(mut self, retries: u32) -> Self {
        let retry = self.options.retry.take().unwrap_or_default();
        self.options.retry = Some(retry.retries(retries));
        self
    }

    /// Sets the whole retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.options.retry = Some(retry);
        self
    }

    /// Sets the queue's capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.options.capacity = Some(capacity);
        self
    }

    /// Sets the overflow policy.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.options.overflow = Some(overflow);
        self
    }

    /// Records where it was declared.
    pub fn declared_at_location(mut self, location: &'static str) -> Self {
        self.declared_at = Some(location);
        self
    }

    /// Subscribes it to `bus`, each event in a scope from `scopes`.
    pub fn subscribe(
        &self,
        bus: &EventBus,
        scopes: ScopeFactory,
    ) -> Result<Subscription, SubscribeError> {
        (self.subscribe)(bus, self.options.clone(), scopes)
    }
}

/// Opens a scope, runs the handler in it, ends the scope with the outcome.
async fn run_in_scope<R, F, Fut, Res>(
    scopes: &ScopeFactory,
    envelope: Envelope<R>,
    handler: &F,
) -> Result<(), BoxError>
where
    F: Fn(RequestScope, Envelope<R>) -> Fut,
    Fut: Future<Output = Res>,
    Res: HandlerResult,
{
    let scope = scopes.open()?;
    let result = match AssertUnwindSafe(handler(scope.clone(), envelope))
        .catch_unwind()
        .await
    {
        Ok(result) => result.into_result(),
        Err(panic) => {
            // The scope ends as a failure before the bus reports the panic (and retries).
            scope
                .finish(ScopeOutcome::failure(format!(
                    "the handler panicked: {}",
                    crate::bus::panic_message(panic.as_ref())
                )))
                .await;
            std::panic::resume_unwind(panic);
        }
    };
    let outcome = match &result {
        Ok(()) => ScopeOutcome::success(),
        Err(e) => ScopeOutcome::failure(e),
    };
    scope.finish(outcome).await;
    result
}

/// A handler registered at link time by `#[event_handler]` (not public API).
#[doc(hidden)]
pub struct HandlerRegistration {
    /// Makes the descriptor.
    pub describe: fn() -> HandlerDescriptor,
}

inventory::collect!(HandlerRegistration);

/// Every handler registered with `#[event_handler]` in the binary.
pub fn registered_handlers() -> Vec<HandlerDescriptor> {
    inventory::iter::<HandlerRegistration>
        .into_iter()
        .map(|r| (r.describe)())
        .collect()
}
