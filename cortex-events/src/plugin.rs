//! [`EventsPlugin`]: reads `[events]`, provides the [`EventBus`], subscribes the handlers when the
//! app starts and drains them when it stops.

use std::sync::{Arc, Mutex};

use cortex_core::App;
use cortex_core::plugin::{Plugin, PluginManifest};
use cortex_di::{BoxError, Container, Provider, Scope};

use crate::bridge::{BridgeConsumer, ErasedBusBridge};
use crate::bridges::BridgeConfig;
use crate::bus::Delivery;
use crate::bus::{EventBus, Subscription};
use crate::config::{DeadLetterBackend, EventsConfig};
use crate::dead_letter::ErasedDeadLetterStore;
use crate::interceptor::ErasedInterceptor;
use crate::registry::{HandlerDescriptor, registered_handlers};

/// A handler's node in the container's graph (`cortex graph`): a request-scoped binding named
/// after the handler, whose dependencies are the handler's. Never resolved.
#[doc(hidden)]
pub struct EventHandlerNode;

/// The event bus as a plugin: provides `Inject<EventBus>`, subscribes every `#[event_handler]`
/// (and those added with [`handler`](Self::handler)) before the server accepts requests, each
/// event handled in its own scope; at shutdown stops publishing and lets handlers finish within
/// `[events] drain_timeout`. Registers the tasks `events:dead-letters:list` and
/// `events:dead-letters:replay` (`cortex events dead-letters list|replay`).
///
/// With the `store` feature and the data layer (the `DataPlugin`), it also creates the store's
/// tables at start, provides `Inject<EventStore>` and `Inject<Outbox>`, runs the outbox's relay
/// (`[events.outbox]`), records the topics `[events.store]` names and, with `[events]
/// dead_letters = "database"`, keeps the dead letters in the database (see
/// `cortex_events::store`).
///
/// ```
/// use cortex_core::App;
/// use cortex_events::{Envelope, Event, EventBus, EventsPlugin, HandlerDescriptor};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Ping;
/// impl Event for Ping { const TOPIC: &'static str = "ping"; }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_core::AppError> {
/// let app = App::new()
///     .plugin(EventsPlugin::default().handler(HandlerDescriptor::new(
///         "pong",
///         |_scope, _ping: Envelope<Ping>| async { Ok::<_, cortex_di::BoxError>(()) },
///     )))
///     .build()
///     .await?;
/// let bus = app.container().get::<EventBus>().unwrap();
/// assert_eq!(bus.subscriptions()[0].as_ref(), "pong");
/// assert!(bus.publish_and_wait(Ping).await.unwrap().is_ok());
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct EventsPlugin {
    handlers: Vec<HandlerDescriptor>,
    interceptors: Vec<Arc<dyn ErasedInterceptor>>,
    dead_letters: Option<Arc<dyn ErasedDeadLetterStore>>,
    bridge: Option<Arc<dyn ErasedBusBridge>>,
}

impl std::fmt::Debug for EventsPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsPlugin")
            .field("handlers", &self.handlers.len())
            .field("interceptors", &self.interceptors.len())
            .finish()
    }
}

impl EventsPlugin {
    /// Adds a handler written by hand.
    pub fn handler(mut self, handler: HandlerDescriptor) -> Self {
        self.handlers.push(handler);
        self
    }

    /// Adds an interceptor (before those the container provides as `dyn ErasedInterceptor`).
    pub fn interceptor(mut self, interceptor: impl crate::Interceptor) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Bridges the bus through `bridge` (instead of `[events.bridge]`'s); the topics are
    /// `[events.bridge] topics` (all by default).
    pub fn bridge(mut self, bridge: impl crate::BusBridge) -> Self {
        self.bridge = Some(Arc::new(bridge));
        self
    }

    /// Keeps dead letters in `store` instead of the configured backend.
    pub fn dead_letters(mut self, store: impl crate::DeadLetterStore) -> Self {
        self.dead_letters = Some(Arc::new(store));
        self
    }
}

impl Plugin for EventsPlugin {
    fn manifest(&self) -> PluginManifest {
        PluginManifest::new("events", env!("CARGO_PKG_VERSION")).config_section("events")
    }

    fn build(&self, app: App) -> App {
        let config = match EventsConfig::from_config(app.config()) {
            Ok(config) => config,
            Err(error) => return app.fail(error),
        };
        let database_dead_letters =
            config.dead_letters == DeadLetterBackend::Database && self.dead_letters.is_none();
        #[cfg(not(feature = "store"))]
        if database_dead_letters {
            return app.fail(
                "`[events] dead_letters = \"database\"` needs the event store: enable the `store` \
                 feature of cortex-events (the facade's `events` with a database feature) and the \
                 data layer",
            );
        }
        #[cfg(not(feature = "store"))]
        if !config.store.recorded().is_empty() {
            return app.fail(
                "`[events.store]` records events in the event store: enable the `store` feature \
                 of cortex-events (the facade's `events` with a database feature) and the data \
                 layer",
            );
        }
        #[cfg(feature = "store")]
        let store = crate::store::plugin::StoreSetup::default();
        let bridge_config = match BridgeConfig::from_config(app.config()) {
            Ok(config) => config,
            Err(error) => return app.fail(error),
        };
        let bridge = match &self.bridge {
            Some(bridge) => Some(Arc::clone(bridge)),
            None => match crate::bridges::configured(app.config(), &bridge_config) {
                Ok(bridge) => bridge,
                Err(error) => return app.fail(error),
            },
        };
        // The NATS bridge's health check (`events_nats`) and its connection at start.
        #[cfg(feature = "nats")]
        let app = crate::nats::register(app, bridge.as_ref());
        // The configured bridge's readiness check (`events_redis`).
        let app = if self.bridge.is_none() && bridge.is_some() {
            crate::bridges::install_health(app, &bridge_config)
        } else {
            app
        };
        let patterns = bridge_config.patterns();
        let mut builder = EventBus::builder()
            .source(config.source())
            .capacity(config.capacity)
            .overflow(config.overflow)
            .retry(config.retry.clone());
        if let Some(store) = &self.dead_letters {
            builder = builder.dead_letters_shared(Arc::clone(store));
        }
        #[cfg(feature = "store")]
        if database_dead_letters {
            builder = builder.dead_letters_shared(store.dead_letters());
        }
        let bus = builder.build();
        let in_memory = self.dead_letters.is_none() && !database_dead_letters;
        for interceptor in &self.interceptors {
            bus.add_interceptor_shared(Arc::clone(interceptor));
        }

        let mut handlers = self.handlers.clone();
        handlers.extend(registered_handlers());
        let mut problems = Vec::new();
        for (i, handler) in handlers.iter().enumerate() {
            if handlers[..i].iter().any(|h| h.name() == handler.name()) {
                problems.push(format!(
                    "two event handlers are named `{}`; give one another name",
                    handler.name()
                ));
            }
            match handler.pattern() {
                None => problems.push(format!(
                    "event handler `{}` takes any event (`Json`) but names no topic pattern",
                    handler.name()
                )),
                Some(pattern) => {
                    if let Err(e) = crate::Pattern::parse(pattern) {
                        problems.push(format!("event handler `{}`: {e}", handler.name()));
                    }
                }
            }
        }
        let mut app = app;
        for problem in problems {
            app = app.fail(problem);
        }

        let mut app = app.provide(Provider::value(bus.clone()));
        #[cfg(feature = "store")]
        {
            app = store.provide(app, &bus);
        }
        for handler in &handlers {
            let mut node = Provider::factory(|_| Ok(EventHandlerNode))
                .scope(Scope::Request)
                .named(handler.name().to_string())
                .declared_by(format!("#[event_handler] {}", handler.name()));
            // `cortex graph` and the container's errors name where the handler was declared.
            if let Some((file, line)) = handler
                .declared_at()
                .and_then(|at| at.rsplit_once(':'))
                .and_then(|(file, line)| Some((file, line.parse().ok()?)))
            {
                node = node.at(cortex_di::Location::new(file, line));
            }
            for dependency in handler.dependencies() {
                node = node.depends_on(dependency.clone());
            }
            app = app.provide(node);
        }

        let subscriptions: Arc<Mutex<Vec<Subscription>>> = Arc::default();
        let start_bus = bus.clone();
        let held = Arc::clone(&subscriptions);
        let handlers = Arc::new(handlers);
        let drain_timeout = config.drain_timeout;
        let consumers: Arc<Mutex<Vec<RunningConsumer>>> = Arc::default();
        let started_consumers = Arc::clone(&consumers);
        #[cfg(feature = "store")]
        let (started_store, stopped_store) = (store.clone(), store);
        let _ = database_dead_letters;
        let app = app.on_start(move |container: Container| {
            let bus = start_bus.clone();
            let handlers = Arc::clone(&handlers);
            let held = Arc::clone(&held);
            let bridge = bridge.clone();
            let patterns = patterns.clone();
            let consumers = Arc::clone(&started_consumers);
            #[cfg(feature = "store")]
            let (store, config) = (started_store.clone(), config.clone());
            async move {
                // The tables, the database dead letters, the recorder and the outbox's relay,
                // before any handler can fail.
                #[cfg(feature = "store")]
                if let Some(recorder) = store
                    .start(&container, &bus, &config, database_dead_letters)
                    .await?
                {
                    held.lock().expect("subscriptions lock").push(recorder);
                }
                for interceptor in container
                    .get_all::<dyn ErasedInterceptor>()
                    .unwrap_or_default()
                {
                    bus.add_interceptor_shared(interceptor.into_arc());
                }
                let scopes = container.scope_factory();
                {
                    let mut subscriptions = held.lock().expect("subscriptions lock");
                    for handler in handlers.iter() {
                        subscriptions.push(handler.subscribe(&bus, scopes.clone())?);
                    }
                }
                // The bridge's consumers after the handlers are subscribed: an event they take
                // is delivered to the handlers, never acknowledged with nobody to handle it.
                if let Some(bridge) = bridge {
                    bus.set_bridge(Arc::clone(&bridge), patterns.clone());
                    let instance = instance_name();
                    let mut consumers = consumers.lock().expect("consumers lock");
                    for delivery in [Delivery::Shared, Delivery::Broadcast] {
                        let consumer = BridgeConsumer::new(
                            bus.clone(),
                            bus.source(),
                            instance.clone(),
                            delivery,
                            patterns.clone(),
                        );
                        let task = tokio::spawn({
                            let bridge = Arc::clone(&bridge);
                            let consumer = consumer.clone();
                            async move {
                                if let Err(e) = bridge.consume(consumer).await {
                                    tracing::error!(
                                        target: "cortex::events",
                                        bridge = bridge.name(),
                                        error = %e,
                                        "the event bridge's consumer stopped"
                                    );
                                }
                            }
                        });
                        consumers.push((consumer, task));
                    }
                }
                tracing::debug!(
                    target: "cortex::events",
                    handlers = handlers.len(),
                    "event handlers subscribed"
                );
                // The outbox's relay once the handlers listen: what it publishes first (rows
                // a crash left) reaches them.
                #[cfg(feature = "store")]
                store.start_relay(&container, &config)?;
                Ok::<_, BoxError>(())
            }
        })
        .on_shutdown(move |_container| {
            let bus = bus.clone();
            let subscriptions = Arc::clone(&subscriptions);
            let consumers = Arc::clone(&consumers);
            #[cfg(feature = "store")]
            let store = stopped_store.clone();
            async move {
                // The outbox's relay first: it stops publishing (what it has not published
                // stays in the outbox for the next start).
                #[cfg(feature = "store")]
                store.stop(drain_timeout).await;
                // The bridge's consumers first: they stop taking events and acknowledge what
                // their handlers finished.
                let consumers: Vec<_> =
                    std::mem::take(&mut *consumers.lock().expect("consumers lock"));
                for (consumer, _) in &consumers {
                    consumer.stop();
                }
                for (_, task) in consumers {
                    let abort = task.abort_handle();
                    if tokio::time::timeout(drain_timeout, task).await.is_err() {
                        abort.abort();
                    }
                }
                let report = bus.shutdown(drain_timeout).await;
                // Handlers stay subscribed until their queues are drained.
                subscriptions.lock().expect("subscriptions lock").clear();
                if report.finished {
                    tracing::info!(
                        target: "cortex::events",
                        elapsed_ms = report.elapsed.as_millis() as u64,
                        "event handlers drained"
                    );
                } else {
                    tracing::warn!(
                        target: "cortex::events",
                        abandoned = report.abandoned,
                        "event handlers did not finish within the drain timeout; what was left is in the dead letters"
                    );
                }
                Ok::<_, BoxError>(())
            }
        });
        crate::tasks::register(app, in_memory)
    }
}

/// A bridge consumer and its task.
type RunningConsumer = (BridgeConsumer, tokio::task::JoinHandle<()>);

/// This process's name among the app's instances: host, process id and a random suffix.
fn instance_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "host".into());
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &suffix[suffix.len() - 6..]
    )
}

#[cfg(feature = "discover")]
cortex_core::plugin::submit!(EventsPlugin::default());
