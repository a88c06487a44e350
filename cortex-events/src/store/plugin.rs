//! What the [`EventsPlugin`](crate::EventsPlugin) does with the store: the providers, the tables
//! at start, the database dead letters, the recorder, the relay.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cortex_core::{App, ShutdownSignal};
use cortex_data::Db;
use cortex_di::{BoxError, Container, Dependency, Provider};
use tokio::sync::OnceCell;

use super::{DatabaseDeadLetters, EventStore, Outbox, OutboxRelay, StoreError};
use crate::bus::{EventBus, SubscribeOptions, Subscription};
use crate::config::EventsConfig;
use crate::dead_letter::{DeadLetter, DeadLetterQuery, DeadLetterStore, ErasedDeadLetterStore};
use crate::event::{Envelope, EventId, Json, WireEvent};
use crate::topic::Pattern;

/// The recorder's subscription name.
pub(crate) const RECORDER: &str = "cortex.events.store";

/// What an app without the data layer is told.
const NEEDS_DATA: &str = "needs the data layer: add the `DataPlugin` (the `cortex` facade's `sqlite`, `postgres` or `mysql` feature with `App::discover()`)";

/// The plugin's share of the store (clones share it).
#[derive(Clone, Default)]
pub(crate) struct StoreSetup {
    /// Whether the tables are made: shared by the store, the outbox and the dead letters.
    ready: Arc<OnceCell<()>>,
    dead_letters: Arc<DeferredDeadLetters>,
    relay: Arc<Mutex<Option<OutboxRelay>>>,
}

impl StoreSetup {
    /// The dead letters `[events] dead_letters = "database"` gives the bus: the database's once
    /// the app has started (handlers are subscribed after that).
    pub(crate) fn dead_letters(&self) -> Arc<dyn ErasedDeadLetterStore> {
        Arc::clone(&self.dead_letters) as Arc<dyn ErasedDeadLetterStore>
    }

    /// `Inject<EventStore>` and `Inject<Outbox>`: made on first use, on the app's `Db` (an error
    /// naming the `DataPlugin` without one).
    pub(crate) fn provide(&self, app: App, bus: &EventBus) -> App {
        let ready = Arc::clone(&self.ready);
        let app = app.provide(
            Provider::factory(move |r| {
                let db = r
                    .get_optional::<Db>()?
                    .ok_or_else(|| format!("the event store {NEEDS_DATA}"))?;
                Ok(EventStore::with_ready((*db).clone(), Arc::clone(&ready)))
            })
            .depends_on(Dependency::on::<Db>().optional())
            .lazy(true)
            .declared_by("EventsPlugin (event store)"),
        );
        let ready = Arc::clone(&self.ready);
        let bus = bus.clone();
        app.provide(
            Provider::factory(move |r| {
                let db = r
                    .get_optional::<Db>()?
                    .ok_or_else(|| format!("the outbox {NEEDS_DATA}"))?;
                Ok(Outbox::with_ready(
                    (*db).clone(),
                    bus.clone(),
                    Arc::clone(&ready),
                ))
            })
            .depends_on(Dependency::on::<Db>().optional())
            .lazy(true)
            .declared_by("EventsPlugin (outbox)"),
        )
    }

    /// At start (before the handlers subscribe): the tables, the database dead letters and the
    /// recorder (returned, to be held with the handlers' subscriptions).
    pub(crate) async fn start(
        &self,
        container: &Container,
        bus: &EventBus,
        config: &EventsConfig,
        database_dead_letters: bool,
    ) -> Result<Option<Subscription>, BoxError> {
        let recorded = config.store.recorded();
        let Some(db) = container.get_optional::<Db>()? else {
            if database_dead_letters {
                return Err(format!("`[events] dead_letters = \"database\"` {NEEDS_DATA}").into());
            }
            if !recorded.is_empty() {
                return Err(format!(
                    "`[events.store]` records events in the event store, which {NEEDS_DATA}"
                )
                .into());
            }
            return Ok(None);
        };
        let store = container.get::<EventStore>()?;
        store.ensure_schema().await?;
        if database_dead_letters {
            let _ = self.dead_letters.0.set(DatabaseDeadLetters::with_ready(
                (*db).clone(),
                Arc::clone(&self.ready),
            ));
        }
        let recorder = if recorded.is_empty() {
            None
        } else {
            Some(record(bus, (*store).clone(), &recorded)?)
        };
        Ok(recorder)
    }

    /// Once the handlers are subscribed (rows left by a crash are published at once): the
    /// outbox's relay, with `[events.outbox] relay` and the data layer.
    pub(crate) fn start_relay(
        &self,
        container: &Container,
        config: &EventsConfig,
    ) -> Result<(), BoxError> {
        if config.outbox.relay && container.get_optional::<Db>()?.is_some() {
            let outbox = container.get::<Outbox>()?;
            let (relay, task) = outbox.relay(config.outbox.interval, config.outbox.batch);
            match container.get_optional::<ShutdownSignal>()? {
                Some(signal) => {
                    // Tracked by the app's drain, which it does not hold up: it stops after its
                    // current pass when the shutdown starts.
                    let stop = relay.stopper();
                    let tripped = (*signal).clone();
                    signal.spawn_tracked("events outbox relay", async move {
                        let mut task = std::pin::pin!(task);
                        tokio::select! {
                            () = &mut task => {}
                            () = tripped.tripped() => {
                                stop.cancel();
                                task.await;
                            }
                        }
                    });
                }
                None => {
                    tokio::spawn(task);
                }
            }
            *self.relay.lock().expect("relay lock") = Some(relay);
        }
        Ok(())
    }

    /// At shutdown (before the bus drains): the relay stops after its current pass.
    pub(crate) async fn stop(&self, timeout: Duration) {
        let relay = self.relay.lock().expect("relay lock").take();
        if let Some(relay) = relay
            && !relay.shutdown(timeout).await
        {
            tracing::warn!(target: "cortex::events", "the outbox relay did not stop within the drain timeout; its rows stay for the next start");
        }
    }
}

/// Subscribes the recorder: every event on `patterns` appended to the store (once per app: a
/// shared subscriber when bridged; a redelivered event is stored once).
fn record(
    bus: &EventBus,
    store: EventStore,
    patterns: &[String],
) -> Result<Subscription, BoxError> {
    let parsed: Vec<Pattern> = patterns
        .iter()
        .map(|p| Pattern::parse(p))
        .collect::<Result<_, _>>()?;
    // One pattern: the bus routes by it; several: every event, filtered here.
    let (pattern, filter) = match parsed.as_slice() {
        [one] => (one.as_str().to_string(), None),
        _ => ("#".to_string(), Some(Arc::new(parsed))),
    };
    let subscription = bus.subscribe_filtered(
        SubscribeOptions::named(RECORDER).pattern(pattern),
        move |event: &Envelope<Json>| {
            filter
                .as_ref()
                .is_none_or(|patterns| patterns.iter().any(|p| p.matches(event.topic())))
        },
        move |event: Envelope<Json>| {
            let store = store.clone();
            async move {
                let wire = WireEvent {
                    metadata: event.metadata().clone(),
                    payload: event.event().0.clone(),
                };
                store.append(store.db(), [wire]).await?;
                Ok(())
            }
        },
    )?;
    Ok(subscription)
}

/// The database dead letters, set when the app starts.
#[derive(Default)]
struct DeferredDeadLetters(OnceLock<DatabaseDeadLetters>);

impl DeferredDeadLetters {
    fn store(&self) -> Result<&DatabaseDeadLetters, StoreError> {
        self.0.get().ok_or(StoreError::NotStarted)
    }
}

impl DeadLetterStore for DeferredDeadLetters {
    async fn put(&self, letter: DeadLetter) -> Result<(), BoxError> {
        DeadLetterStore::put(self.store()?, letter).await
    }

    async fn list(&self, query: &DeadLetterQuery) -> Result<Vec<DeadLetter>, BoxError> {
        DeadLetterStore::list(self.store()?, query).await
    }

    async fn get(&self, event: EventId, handler: &str) -> Result<Option<DeadLetter>, BoxError> {
        DeadLetterStore::get(self.store()?, event, handler).await
    }

    async fn remove(&self, event: EventId, handler: &str) -> Result<bool, BoxError> {
        DeadLetterStore::remove(self.store()?, event, handler).await
    }
}
