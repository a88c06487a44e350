//! The NATS JetStream bridge (feature `nats`): the bus across instances through a JetStream
//! stream.
//!
//! ```toml
//! [events.bridge]
//! kind = "nats"
//! topics = ["order.#"]              # the topics that cross instances; all of them by default
//!
//! [events.bridge.nats]
//! url = "nats://127.0.0.1:4222"     # several servers: comma-separated; `nats://user:pass@host`
//! stream = "CORTEX_EVENTS"          # the JetStream stream (made when missing)
//! subject_prefix = "events"         # topic `user.created` → subject `events.user.created`
//! ack_wait = "30s"                  # an event in the hands of a dead instance is redelivered after this
//! max_deliver = 5                   # deliveries of one event at most (0: no limit)
//! max_age = "7d"                    # how long the stream keeps events (0s: no limit)
//! ```
//!
//! # How events travel
//!
//! - **Publish.** An event on a bridged topic is published to `<subject_prefix>.<topic>` with
//!   JetStream's acknowledgement awaited: [`EventBus::publish`](crate::EventBus::publish) returns
//!   once the stream stored it. Its `Nats-Msg-Id` is the event's id, so the server drops a
//!   duplicate sent again within the stream's duplicate window (two minutes by default). The
//!   message is the event's [`WireEvent`] JSON: metadata (id, source, correlation, causation,
//!   trace context, headers) travels with it.
//! - **Shared consumer** (the handlers). A durable pull consumer named after the app's `source`,
//!   shared by its instances: each event goes to one instance, which acknowledges it once its
//!   handlers finished with it (handled, or dead-lettered). While a handler runs longer than
//!   half of `ack_wait`, the instance tells the server it is still working; an instance that
//!   dies with events in hand stops doing so, and the server redelivers them to a survivor after
//!   `ack_wait` (at-least-once: a handler whose effect must not repeat checks the event id). An
//!   event a full queue refused (`overflow = "fail"`) is handed back for redelivery, and so are
//!   the events a stopping instance had received but not started on. A new app's consumer
//!   starts with the events published from its first start on (not the stream's history); a
//!   change of `[events.bridge] topics`, `ack_wait` or `max_deliver` updates it in place.
//! - **Broadcast consumer** (the streams). An ordered, ephemeral consumer per instance that
//!   starts with the events published after the instance started; every instance sees every
//!   event. It resumes where it was after a reconnection.
//! - **Malformed messages.** A message on the stream that is not a Cortex event goes to the dead
//!   letters (handler `nats-bridge`, the raw message as the payload) and is terminated: never
//!   redelivered, never silently dropped.
//!
//! # Topics and subjects
//!
//! Pattern segments translate to NATS wildcards: `*` → `*`, and `#` → `>`. NATS's `>` needs at
//! least one token where `#` matches none, so `order.#` filters on both `events.order` and
//! `events.order.>`. A `#` in the middle of a pattern (`a.#.b`) has no NATS equivalent: the
//! consumer filters on the prefix before it (`events.a`, `events.a.>`) and checks the rest
//! itself. Before NATS 2.10 a consumer has a single filter: with several patterns it takes
//! `<subject_prefix>.>` and checks the topics itself (as it does whenever the filters overlap).
//!
//! # Connection
//!
//! The bridge connects when the app starts (an unreachable server fails the start, naming the
//! URL with its password masked) and creates the stream when it is missing; an existing stream
//! must take `<subject_prefix>.>`. After that, the client reconnects by itself and the consumers
//! resume (the shared one when the client's pull stream asks again, within a few seconds); a
//! publish cut off by a reconnection is sent again with the same `Nats-Msg-Id`. The
//! `events_nats` health check is down while the connection is, degraded while a consumer is
//! starting or being re-established.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull, message::PublishMessage, stream};
use cortex_core::App;
use cortex_core::config::{Config, ConfigError};
use cortex_core::health::{HealthCheck, HealthStatus};
use cortex_di::{BoxError, Provider};
use futures_util::StreamExt;
use serde::Deserialize;

use crate::bridge::{BridgeConsumer, BusBridge, ErasedBusBridge};
use crate::bus::Delivery;
use crate::dead_letter::DeadLetter;
use crate::error::HandlerFailure;
use crate::event::{EventId, Metadata, WireEvent};
use crate::topic::{Pattern, check_topic};

/// The dead letters of messages that are not Cortex events are filed under this handler name.
pub const MALFORMED_HANDLER: &str = "nats-bridge";

/// How many messages one pull asks for: few, so that an instance holds few events at a time
/// (the others go to the other instances, and a busy handler does not make events wait past
/// `ack_wait` in this instance's buffer).
const BATCH: usize = 8;

/// How long a pull request waits on the server, and the idle heartbeat that tells a live
/// connection from a dead one.
const PULL_EXPIRES: Duration = Duration::from_secs(30);
const PULL_HEARTBEAT: Duration = Duration::from_secs(10);

/// The longest wait between two attempts to re-establish a consumer.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// `[events.bridge.nats]`: where the NATS server is and how the stream and consumers are made.
/// Every key has a default.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_events::nats::NatsBridgeConfig;
/// use std::time::Duration;
///
/// let config = Config::from_toml(
///     "[events.bridge.nats]\nurl = \"nats://app:s3cret@127.0.0.1:4222\"\nack_wait = \"10s\"",
/// ).unwrap();
/// let nats = NatsBridgeConfig::from_config(&config).unwrap();
/// assert_eq!(nats.ack_wait, Duration::from_secs(10));
/// assert_eq!(nats.stream, "CORTEX_EVENTS");
/// assert_eq!(nats.subject_prefix, "events");
/// // The password never reaches a log.
/// assert!(!format!("{nats:?}").contains("s3cret"));
///
/// let bad = Config::from_toml("[events.bridge.nats]\nstream = \"my.events\"").unwrap();
/// let error = NatsBridgeConfig::from_config(&bad).unwrap_err().to_string();
/// assert!(error.contains("events.bridge.nats.stream"), "{error}");
/// ```
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct NatsBridgeConfig {
    /// The server: `nats://host:port` (or `tls://`), several separated by commas; credentials in
    /// the URL (`nats://user:password@host`, or `nats://token@host`) are used and never logged.
    pub url: String,
    /// The JetStream stream the events go to; made (file storage) when missing.
    pub stream: String,
    /// The subjects' first tokens: topic `user.created` is subject `<prefix>.user.created`.
    pub subject_prefix: String,
    /// How long the server waits for an instance to acknowledge an event before handing it to
    /// another instance.
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub ack_wait: Duration,
    /// How many times one event is delivered at most (a poison event that kills every instance
    /// that takes it is given up on after that); 0: no limit.
    pub max_deliver: u32,
    /// How long the stream keeps events (when it is made by the bridge); zero: no limit.
    #[serde(deserialize_with = "cortex_core::config::units::de::duration")]
    pub max_age: Duration,
}

impl Default for NatsBridgeConfig {
    fn default() -> Self {
        NatsBridgeConfig {
            url: "nats://127.0.0.1:4222".into(),
            stream: "CORTEX_EVENTS".into(),
            subject_prefix: "events".into(),
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            max_age: Duration::from_secs(7 * 24 * 60 * 60),
        }
    }
}

impl fmt::Debug for NatsBridgeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsBridgeConfig")
            .field("url", &mask_url(&self.url))
            .field("stream", &self.stream)
            .field("subject_prefix", &self.subject_prefix)
            .field("ack_wait", &self.ack_wait)
            .field("max_deliver", &self.max_deliver)
            .field("max_age", &self.max_age)
            .finish()
    }
}

/// The key under which the bridge's settings are read.
const SECTION: &str = "events.bridge.nats";

impl NatsBridgeConfig {
    /// Reads `[events.bridge.nats]` (the defaults when it is absent) and checks it: a bad key or
    /// value is an error naming it.
    pub fn from_config(config: &Config) -> Result<NatsBridgeConfig, ConfigError> {
        let nats: NatsBridgeConfig = config.get_or_default(SECTION)?;
        nats.check()
            .map_err(|problem| problem.into_error(Some(config)))?;
        Ok(nats)
    }

    /// The servers, parsed (checked by `check`).
    fn servers(&self) -> Result<Vec<async_nats::ServerAddr>, Problem> {
        let problem = Problem {
            key: "url",
            expected: "a NATS URL such as `nats://127.0.0.1:4222` (several separated by commas)",
            found: "a malformed URL",
        };
        let servers = self
            .url
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<async_nats::ServerAddr>().map_err(|_| problem))
            .collect::<Result<Vec<_>, _>>()?;
        if servers.is_empty() {
            return Err(Problem {
                found: "an empty string",
                ..problem
            });
        }
        Ok(servers)
    }

    fn check(&self) -> Result<(), Problem> {
        self.servers()?;
        if !valid_name(&self.stream) {
            return Err(Problem {
                key: "stream",
                expected: "a JetStream stream name: letters, digits, `_` and `-` (no `.`, `*`, `>`, space or slash)",
                found: if self.stream.is_empty() {
                    "an empty string"
                } else {
                    "a name with a character streams do not allow"
                },
            });
        }
        if !valid_prefix(&self.subject_prefix) {
            return Err(Problem {
                key: "subject_prefix",
                expected: "NATS subject tokens separated by dots, such as `events` or `shop.events` (no wildcard, space or empty token)",
                found: if self.subject_prefix.is_empty() {
                    "an empty string"
                } else {
                    "a malformed subject prefix"
                },
            });
        }
        Ok(())
    }
}

/// A bad value in `[events.bridge.nats]`.
#[derive(Debug, Clone, Copy)]
struct Problem {
    key: &'static str,
    expected: &'static str,
    found: &'static str,
}

impl Problem {
    fn into_error(self, config: Option<&Config>) -> ConfigError {
        let key = format!("{SECTION}.{}", self.key);
        ConfigError::Invalid {
            origin: config.and_then(|c| c.origin(&key)).cloned(),
            key,
            expected: self.expected.into(),
            found: self.found,
        }
    }
}

/// A stream or consumer name JetStream accepts (and that is safe in a file name).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.split('.').all(|token| {
            !token.is_empty()
                && token != "*"
                && token != ">"
                && token
                    .chars()
                    .all(|c| c.is_ascii_graphic() && c != '*' && c != '>')
        })
}

/// The URL(s) with any password or token replaced by `********`.
fn mask_url(url: &str) -> String {
    url.split(',')
        .map(|server| {
            let server = server.trim();
            let (scheme, rest) = match server.find("://") {
                Some(at) => server.split_at(at + 3),
                None => ("", server),
            };
            let host_start = rest.find(['/', '?']).unwrap_or(rest.len());
            match rest[..host_start].rfind('@') {
                Some(at) => {
                    let credentials = &rest[..at];
                    let masked = match credentials.find(':') {
                        Some(colon) => format!("{}:********", &credentials[..colon]),
                        None => "********".to_string(),
                    };
                    format!("{scheme}{masked}{}", &rest[at..])
                }
                None => server.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Decodes `%XX` escapes of a URL's user or password.
fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if let (b'%', Some(high), Some(low)) = (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            out.push((high * 16 + low) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What went wrong between the bridge and NATS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsBridgeError {
    /// The server could not be reached (or refused the credentials).
    #[error(
        "the NATS bridge cannot connect to {url} (`[events.bridge.nats] url`): {source}; hint: is the NATS server running, with JetStream enabled (`nats-server -js`)?"
    )]
    Connect {
        /// The URL, its password masked.
        url: String,
        /// What the client said.
        #[source]
        source: async_nats::ConnectError,
    },
    /// The stream could not be read or made.
    #[error(
        "the NATS bridge cannot use the JetStream stream `{stream}` (`[events.bridge.nats] stream`): {source}; hint: is JetStream enabled on the server (`nats-server -js`)?"
    )]
    Stream {
        /// The stream's name.
        stream: String,
        /// What the server said.
        #[source]
        source: BoxError,
    },
    /// The stream exists but does not take the bridge's subjects.
    #[error(
        "the JetStream stream `{stream}` exists but does not take `{subject}` (its subjects: {subjects}); hint: set `[events.bridge.nats] stream` to a stream of its own, or `subject_prefix` to one of its subjects"
    )]
    StreamSubjects {
        /// The stream's name.
        stream: String,
        /// The subjects the bridge publishes on.
        subject: String,
        /// The stream's subjects.
        subjects: String,
    },
    /// A consumer could not be made or read.
    #[error("the NATS bridge's consumer `{consumer}` on stream `{stream}`: {source}")]
    Consumer {
        /// The stream's name.
        stream: String,
        /// The consumer's name.
        consumer: String,
        /// What the server or client said.
        #[source]
        source: BoxError,
    },
    /// An event was not stored by the stream.
    #[error("the NATS bridge could not publish event {id} on `{subject}`: {source}")]
    Publish {
        /// The event's id.
        id: EventId,
        /// The subject.
        subject: String,
        /// What the server or client said.
        #[source]
        source: async_nats::jetstream::context::PublishError,
    },
}

/// The bus bridged through NATS JetStream: what `[events.bridge] kind = "nats"` makes. Cheap to
/// clone (clones share the connection).
///
/// Usually made from configuration; by hand, for an `EventsPlugin` that is given its bridge:
///
/// ```
/// use cortex_core::App;
/// use cortex_events::EventsPlugin;
/// use cortex_events::nats::{NatsBridge, NatsBridgeConfig};
///
/// let mut config = NatsBridgeConfig::default();
/// config.stream = "ORDERS".into();
/// let bridge = NatsBridge::new(config).unwrap();
/// let app = App::new().plugin(EventsPlugin::default().bridge(bridge));
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct NatsBridge {
    inner: Arc<Inner>,
}

struct Inner {
    config: NatsBridgeConfig,
    servers: Vec<async_nats::ServerAddr>,
    connection: tokio::sync::OnceCell<Connection>,
    /// Bumped at each reconnection: the consumers make their pull requests again at once
    /// rather than wait for the client to notice.
    reconnected: Arc<tokio::sync::watch::Sender<u64>>,
    shared: Mutex<ConsumerState>,
    broadcast: Mutex<ConsumerState>,
}

struct Connection {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    stream: stream::Stream,
    /// Whether the server takes several filter subjects on a consumer (NATS 2.10 and later).
    multi_filter: bool,
    /// The stream's next sequence when the bridge connected: where a new shared consumer
    /// starts (the events published from then on, not the stream's whole history).
    first_sequence: u64,
}

/// Where a consumer is, for the health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConsumerState {
    /// Not running (never started, or stopped).
    Idle,
    /// Making its consumer on the server.
    Starting,
    /// Receiving events.
    Running,
    /// Lost its consumer and is making it again.
    Retrying,
}

impl fmt::Debug for NatsBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsBridge")
            .field("config", &self.inner.config)
            .field("connected", &self.inner.connection.initialized())
            .finish()
    }
}

impl NatsBridge {
    /// A bridge with these settings (checked; nothing is connected until it is used).
    pub fn new(config: NatsBridgeConfig) -> Result<NatsBridge, ConfigError> {
        config.check().map_err(|problem| problem.into_error(None))?;
        let servers = config
            .servers()
            .map_err(|problem| problem.into_error(None))?;
        Ok(NatsBridge {
            inner: Arc::new(Inner {
                config,
                servers,
                connection: tokio::sync::OnceCell::new(),
                reconnected: Arc::new(tokio::sync::watch::Sender::new(0)),
                shared: Mutex::new(ConsumerState::Idle),
                broadcast: Mutex::new(ConsumerState::Idle),
            }),
        })
    }

    /// The bridge `[events.bridge.nats]` describes.
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// use cortex_events::nats::NatsBridge;
    ///
    /// let config = Config::from_toml("[events.bridge.nats]\nsubject_prefix = \"shop.events\"").unwrap();
    /// let bridge = NatsBridge::from_config(&config).unwrap();
    /// assert_eq!(bridge.subject("order.placed"), "shop.events.order.placed");
    ///
    /// let bad = Config::from_toml("[events.bridge.nats]\nsubject_prefix = \"events.>\"").unwrap();
    /// assert!(NatsBridge::from_config(&bad).unwrap_err().to_string().contains("subject_prefix"));
    /// ```
    pub fn from_config(config: &Config) -> Result<NatsBridge, ConfigError> {
        let nats = NatsBridgeConfig::from_config(config)?;
        NatsBridge::new(nats)
    }

    /// The settings.
    pub fn config(&self) -> &NatsBridgeConfig {
        &self.inner.config
    }

    /// The NATS client, once connected (for a raw publish, a probe, or a test that forces a
    /// reconnection); `None` before [`connect`](Self::connect).
    pub fn client(&self) -> Option<&async_nats::Client> {
        self.inner.connection.get().map(|c| &c.client)
    }

    /// The subject an event on `topic` is published on.
    pub fn subject(&self, topic: &str) -> String {
        format!("{}.{topic}", self.inner.config.subject_prefix)
    }

    /// Connects (once; later calls share the connection) and makes the stream when it is
    /// missing. The plugin calls it when the app starts, so that an unreachable server fails the
    /// start rather than the first publish.
    pub async fn connect(&self) -> Result<(), NatsBridgeError> {
        self.connection().await.map(|_| ())
    }

    async fn connection(&self) -> Result<&Connection, NatsBridgeError> {
        self.inner.connection.get_or_try_init(|| self.open()).await
    }

    async fn open(&self) -> Result<Connection, NatsBridgeError> {
        let config = &self.inner.config;
        let masked = mask_url(&config.url);
        let mut options = async_nats::ConnectOptions::new()
            .name("cortex-events")
            .event_callback({
                let masked = masked.clone();
                let reconnected = Arc::clone(&self.inner.reconnected);
                move |event| {
                    if matches!(event, async_nats::Event::Connected) {
                        reconnected.send_modify(|n| *n += 1);
                    }
                    let masked = masked.clone();
                    async move { log_connection_event(&masked, event) }
                }
            });
        if let Some(server) = self.inner.servers.iter().find(|s| s.has_user_pass()) {
            let user = percent_decode(server.username().unwrap_or_default());
            options = match server.password() {
                Some(password) => options.user_and_password(user, percent_decode(password)),
                None => options.token(user),
            };
        }
        let client = options
            .connect(self.inner.servers.as_slice())
            .await
            .map_err(|source| NatsBridgeError::Connect {
                url: masked.clone(),
                source,
            })?;
        let jetstream = jetstream::new(client.clone());
        let stream = self.ensure_stream(&jetstream).await?;
        let multi_filter = server_at_least(&client.server_info().version, (2, 10));
        let first_sequence = stream.cached_info().state.last_sequence + 1;
        tracing::debug!(
            target: "cortex::events",
            bridge = "nats",
            url = %masked,
            stream = %config.stream,
            server = %client.server_info().version,
            "connected to NATS"
        );
        Ok(Connection {
            client,
            jetstream,
            stream,
            multi_filter,
            first_sequence,
        })
    }

    /// The stream, made when missing; an existing one must take `<prefix>.>`.
    async fn ensure_stream(
        &self,
        jetstream: &jetstream::Context,
    ) -> Result<stream::Stream, NatsBridgeError> {
        let config = &self.inner.config;
        let subject = format!("{}.>", config.subject_prefix);
        let stream_error = |source: BoxError| NatsBridgeError::Stream {
            stream: config.stream.clone(),
            source,
        };
        let mut stream = jetstream
            .get_or_create_stream(stream::Config {
                name: config.stream.clone(),
                subjects: vec![subject.clone()],
                max_age: config.max_age,
                storage: stream::StorageType::File,
                description: Some("Cortex events (cortex-events' NATS bridge)".into()),
                ..Default::default()
            })
            .await
            .map_err(|e| stream_error(e.into()))?;
        let subjects = stream
            .info()
            .await
            .map_err(|e| stream_error(e.into()))?
            .config
            .subjects
            .clone();
        if !subjects.iter().any(|s| subsumes(s, &subject)) {
            return Err(NatsBridgeError::StreamSubjects {
                stream: config.stream.clone(),
                subject,
                subjects: subjects.join(", "),
            });
        }
        Ok(stream)
    }

    fn state(&self, delivery: Delivery) -> &Mutex<ConsumerState> {
        match delivery {
            Delivery::Shared => &self.inner.shared,
            Delivery::Broadcast => &self.inner.broadcast,
        }
    }

    fn set_state(&self, delivery: Delivery, state: ConsumerState) {
        *self.state(delivery).lock().expect("consumer state lock") = state;
    }

    fn get_state(&self, delivery: Delivery) -> ConsumerState {
        *self.state(delivery).lock().expect("consumer state lock")
    }

    /// The health of the connection and the consumers.
    fn health(&self) -> HealthStatus {
        let Some(connection) = self.inner.connection.get() else {
            return HealthStatus::unhealthy("not connected to NATS");
        };
        if connection.client.connection_state() != async_nats::connection::State::Connected {
            return HealthStatus::unhealthy("the connection to NATS is down; reconnecting");
        }
        let states = [
            ("shared", self.get_state(Delivery::Shared)),
            ("broadcast", self.get_state(Delivery::Broadcast)),
        ];
        if let Some((which, _)) = states.iter().find(|(_, s)| *s == ConsumerState::Retrying) {
            return HealthStatus::degraded(format!(
                "the {which} NATS consumer is being re-established"
            ));
        }
        if let Some((which, _)) = states.iter().find(|(_, s)| *s == ConsumerState::Starting) {
            return HealthStatus::degraded(format!("the {which} NATS consumer is starting"));
        }
        HealthStatus::Healthy
    }

    /// Runs `consumer` until it is stopped, re-establishing it (with a backoff) whenever it is
    /// lost.
    async fn run(&self, consumer: BridgeConsumer) -> Result<(), BoxError> {
        let delivery = consumer.delivery();
        self.set_state(delivery, ConsumerState::Starting);
        // The broadcast consumer starts with what is published from now on, and resumes after
        // the last event it saw.
        let mut position = Position {
            last_sequence: None,
        };
        let mut backoff = Duration::from_millis(100);
        loop {
            let result = match delivery {
                Delivery::Shared => self.run_shared(&consumer).await,
                Delivery::Broadcast => self.run_broadcast(&consumer, &mut position).await,
            };
            match result {
                Ok(Ended::Stopped) => {
                    self.set_state(delivery, ConsumerState::Idle);
                    return Ok(());
                }
                Ok(Ended::Reconnected) => {
                    tracing::debug!(
                        target: "cortex::events",
                        bridge = "nats",
                        delivery = ?delivery,
                        "reconnected to NATS: resuming the consumer"
                    );
                    backoff = Duration::from_millis(100);
                }
                Err(error) => {
                    if self.get_state(delivery) == ConsumerState::Running {
                        // It ran for a while: a new failure starts the backoff over.
                        backoff = Duration::from_millis(100);
                    }
                    self.set_state(delivery, ConsumerState::Retrying);
                    tracing::warn!(
                        target: "cortex::events",
                        bridge = "nats",
                        delivery = ?delivery,
                        error = %error,
                        retry_in_ms = backoff.as_millis() as u64,
                        "the NATS consumer was lost; re-establishing it"
                    );
                    tokio::select! {
                        () = consumer.stopped() => {
                            self.set_state(delivery, ConsumerState::Idle);
                            return Ok(());
                        }
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// The shared consumer: pulls from the durable consumer, delivers, acknowledges, until
    /// stopped. (After a reconnection the client's pull stream asks again by itself; made anew,
    /// the messages it holds would wait `ack_wait` to be redelivered.)
    async fn run_shared(&self, consumer: &BridgeConsumer) -> Result<Ended, NatsBridgeError> {
        let connection = self.connection().await?;
        // Made again if it was deleted meanwhile.
        self.ensure_stream(&connection.jetstream).await?;
        let name = consumer_name(consumer.group());
        let consumer_error = |source: BoxError| NatsBridgeError::Consumer {
            stream: self.inner.config.stream.clone(),
            consumer: name.clone(),
            source,
        };
        let durable = self
            .durable_consumer(connection, &name, consumer.patterns())
            .await
            .map_err(consumer_error)?;
        let mut messages = durable
            .stream()
            .max_messages_per_batch(BATCH)
            .expires(PULL_EXPIRES)
            .heartbeat(PULL_HEARTBEAT)
            .messages()
            .await
            .map_err(|e| consumer_error(e.into()))?;
        self.set_state(Delivery::Shared, ConsumerState::Running);
        loop {
            let next = tokio::select! {
                biased;
                () = consumer.stopped() => {
                    release(&mut messages).await;
                    return Ok(Ended::Stopped);
                }
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => self.handle_shared(consumer, message).await,
                Some(Err(e)) if e.kind() == pull::MessagesErrorKind::MissingHeartbeat => {
                    tracing::debug!(
                        target: "cortex::events",
                        bridge = "nats",
                        "a heartbeat from the NATS server was missed"
                    );
                }
                Some(Err(e)) => return Err(consumer_error(e.into())),
                None => return Err(consumer_error("the message stream ended".into())),
            }
        }
    }

    /// The durable consumer `name`, made when missing, its filters and limits brought up to the
    /// configuration when they changed.
    async fn durable_consumer(
        &self,
        connection: &Connection,
        name: &str,
        patterns: &[Pattern],
    ) -> Result<jetstream::consumer::PullConsumer, BoxError> {
        let config = &self.inner.config;
        let filters = filters(&config.subject_prefix, patterns, connection.multi_filter);
        let max_deliver = if config.max_deliver == 0 {
            -1
        } else {
            i64::from(config.max_deliver)
        };
        let wanted = |mut c: pull::Config| {
            c.durable_name = Some(name.to_string());
            c.ack_policy = jetstream::consumer::AckPolicy::Explicit;
            c.ack_wait = config.ack_wait;
            c.max_deliver = max_deliver;
            set_filters(&mut c, &filters);
            c
        };
        // Two instances starting at once may both find it missing: the loser of the race finds
        // it on the second round.
        let mut last_error: Option<BoxError> = None;
        for _ in 0..3 {
            match connection.stream.consumer_info(name).await {
                Ok(info) => {
                    let current: pull::Config =
                        jetstream::consumer::FromConsumer::try_from_consumer_config(info.config)?;
                    let target = wanted(current.clone());
                    if target == current {
                        return connection.stream.get_consumer(name).await;
                    }
                    // Same consumer, new settings; everything else (where it is) as it was.
                    tracing::info!(
                        target: "cortex::events",
                        bridge = "nats",
                        consumer = name,
                        filters = ?filters,
                        "updating the NATS consumer to the configured topics and limits"
                    );
                    match connection.stream.create_consumer(target).await {
                        Ok(consumer) => return Ok(consumer),
                        Err(e) => last_error = Some(e.into()),
                    }
                }
                Err(e) if e.kind() == jetstream::context::ConsumerInfoErrorKind::NotFound => {
                    let created = wanted(pull::Config {
                        deliver_policy: jetstream::consumer::DeliverPolicy::ByStartSequence {
                            start_sequence: connection.first_sequence,
                        },
                        ..Default::default()
                    });
                    match connection.stream.create_consumer(created).await {
                        Ok(consumer) => return Ok(consumer),
                        Err(e) => last_error = Some(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last_error.unwrap_or_else(|| "the consumer could not be made".into()))
    }

    /// One message of the shared consumer: decoded, delivered to this instance's handlers,
    /// acknowledged once they finished (told to the server as work in progress meanwhile).
    async fn handle_shared(&self, consumer: &BridgeConsumer, message: jetstream::Message) {
        let wire = match decode(&message) {
            Ok(wire) => wire,
            Err(problem) => {
                self.dead_letter_malformed(consumer, &message, &problem)
                    .await;
                return;
            }
        };
        if !consumer.wants(&wire.metadata.topic) {
            // A topic this app does not bridge, on a subject its filter could not exclude.
            settle(&message, AckKind::Ack).await;
            return;
        }
        let id = wire.metadata.id;
        let topic = wire.metadata.topic.clone();
        let completion = {
            let deliver = consumer.deliver(wire);
            tokio::pin!(deliver);
            let every = self.inner.config.ack_wait / 2;
            let mut progress = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tokio::select! {
                    completion = &mut deliver => break completion,
                    _ = progress.tick() => {
                        if let Err(e) = message.ack_with(AckKind::Progress).await {
                            tracing::debug!(
                                target: "cortex::events",
                                bridge = "nats",
                                event_id = %id,
                                error = %e,
                                "could not tell NATS the event is still being handled"
                            );
                        }
                    }
                }
            }
        };
        let refused = completion
            .outcomes
            .iter()
            .any(|o| o.result == Err(HandlerFailure::Dropped));
        if refused {
            tracing::warn!(
                target: "cortex::events",
                bridge = "nats",
                event_id = %id,
                topic = %topic,
                "a handler's queue was full: the event goes back to NATS for redelivery"
            );
            settle(&message, AckKind::Nak(Some(Duration::from_secs(1)))).await;
        } else {
            settle(&message, AckKind::Ack).await;
        }
    }

    /// A message that is not a Cortex event: into the dead letters, then terminated (never
    /// redelivered). If the dead letters refuse it, it is handed back to NATS for later.
    async fn dead_letter_malformed(
        &self,
        consumer: &BridgeConsumer,
        message: &jetstream::Message,
        problem: &str,
    ) {
        let subject = message.subject.as_str();
        let prefix = format!("{}.", self.inner.config.subject_prefix);
        let topic = subject.strip_prefix(&prefix).unwrap_or(subject);
        let mut metadata = Metadata::new(topic.to_owned());
        if let Some(id) = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .and_then(|id| id.as_str().parse::<EventId>().ok())
        {
            // Correlated with itself (`correlation_id: None`): its own id is the broker's.
            metadata.id = id;
        }
        metadata.source = "nats".into();
        let payload = serde_json::json!({
            "subject": subject,
            "body": String::from_utf8_lossy(&message.payload),
        });
        let error = format!("not a Cortex event on `{subject}`: {problem}");
        tracing::error!(
            target: "cortex::events",
            bridge = "nats",
            subject,
            event_id = %metadata.id,
            error = %problem,
            "a message on the NATS stream is not a Cortex event; it is in the dead letters"
        );
        let letter = DeadLetter::new(MALFORMED_HANDLER, WireEvent { metadata, payload }, error, 1);
        metrics::counter!("cortex_events_dead_lettered_total", "handler" => MALFORMED_HANDLER)
            .increment(1);
        match consumer.bus.dead_letters().put(letter).await {
            Ok(()) => settle(message, AckKind::Term).await,
            Err(e) => {
                tracing::error!(
                    target: "cortex::events",
                    bridge = "nats",
                    subject,
                    error = %e,
                    "the dead-letter store refused a malformed message: it goes back to NATS"
                );
                settle(message, AckKind::Nak(Some(Duration::from_secs(5)))).await;
            }
        }
    }

    /// The broadcast consumer: an ordered consumer from `position`, every event delivered to
    /// this instance's broadcast subscribers, until stopped or reconnected.
    async fn run_broadcast(
        &self,
        consumer: &BridgeConsumer,
        position: &mut Position,
    ) -> Result<Ended, NatsBridgeError> {
        let connection = self.connection().await?;
        let mut reconnected = self.inner.reconnected.subscribe();
        self.ensure_stream(&connection.jetstream).await?;
        let config = &self.inner.config;
        let consumer_error = |source: BoxError| NatsBridgeError::Consumer {
            stream: config.stream.clone(),
            consumer: "ordered (broadcast)".into(),
            source,
        };
        let last_sequence = match position.last_sequence {
            Some(sequence) => sequence,
            None => {
                // What is published from now on (asked before the consumer is made: nothing
                // published meanwhile is missed).
                let info = connection
                    .stream
                    .get_info()
                    .await
                    .map_err(|e| consumer_error(e.into()))?;
                position.last_sequence = Some(info.state.last_sequence);
                info.state.last_sequence
            }
        };
        let deliver_policy = jetstream::consumer::DeliverPolicy::ByStartSequence {
            start_sequence: last_sequence + 1,
        };
        let filters = filters(
            &config.subject_prefix,
            consumer.patterns(),
            connection.multi_filter,
        );
        let mut ordered = pull::OrderedConfig {
            deliver_policy,
            ..Default::default()
        };
        match filters.as_slice() {
            [one] => ordered.filter_subject = one.clone(),
            many => ordered.filter_subjects = many.to_vec(),
        }
        let mut messages = connection
            .stream
            .create_consumer(ordered)
            .await
            .map_err(|e| consumer_error(e.into()))?
            .messages()
            .await
            .map_err(|e| consumer_error(e.into()))?;
        self.set_state(Delivery::Broadcast, ConsumerState::Running);
        loop {
            let next = tokio::select! {
                biased;
                () = consumer.stopped() => return Ok(Ended::Stopped),
                Ok(()) = reconnected.changed() => return Ok(Ended::Reconnected),
                next = messages.next() => next,
            };
            let message = match next {
                Some(Ok(message)) => message,
                Some(Err(e)) => return Err(consumer_error(e.into())),
                None => return Err(consumer_error("the message stream ended".into())),
            };
            if let Ok(info) = message.info() {
                position.last_sequence = Some(info.stream_sequence);
            }
            match decode(&message) {
                Ok(wire) if consumer.wants(&wire.metadata.topic) => {
                    consumer.deliver(wire).await;
                }
                Ok(_) => {}
                // The shared consumer dead-letters it (once for the app, not once per instance).
                Err(problem) => tracing::debug!(
                    target: "cortex::events",
                    bridge = "nats",
                    subject = message.subject.as_str(),
                    error = %problem,
                    "a message on the NATS stream is not a Cortex event: skipped"
                ),
            }
        }
    }
}

/// Why a consumer's loop ended without an error.
enum Ended {
    /// Asked to stop.
    Stopped,
    /// The connection was re-established: the broadcast consumer is made again from where it
    /// was (at once, rather than when the client notices missed heartbeats).
    Reconnected,
}

/// Hands back to NATS (for another instance, at once) the messages a stopping shared consumer
/// had received but not started on; without it they would wait `ack_wait`.
async fn release(messages: &mut pull::Stream) {
    use futures_util::FutureExt;
    while let Some(Some(Ok(message))) = messages.next().now_or_never() {
        settle(&message, AckKind::Nak(None)).await;
    }
}

/// Where the broadcast consumer resumes: after the last event it saw (or the stream's last one
/// when it started).
struct Position {
    last_sequence: Option<u64>,
}

impl BusBridge for NatsBridge {
    fn name(&self) -> &'static str {
        "nats"
    }

    async fn publish(&self, event: &WireEvent) -> Result<(), BoxError> {
        let connection = self.connection().await?;
        let subject = self.subject(&event.metadata.topic);
        let id = event.metadata.id;
        let publish_error = |source| NatsBridgeError::Publish {
            id,
            subject: subject.clone(),
            source,
        };
        let payload = bytes::Bytes::from(event.to_bytes());
        // The same message id each time: the stream keeps one copy however many attempts
        // reached it, so a publish cut off by a reconnection is safe to send again.
        let mut attempt = 1;
        let ack = loop {
            let message = PublishMessage::build()
                .payload(payload.clone())
                .message_id(id.to_string())
                .expected_stream(&self.inner.config.stream);
            let sent = match connection
                .jetstream
                .send_publish(subject.clone(), message)
                .await
            {
                Ok(ack) => ack.await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(ack) => break ack,
                Err(e) if attempt < PUBLISH_ATTEMPTS && retryable(&e) => {
                    tracing::debug!(
                        target: "cortex::events",
                        bridge = "nats",
                        event_id = %id,
                        attempt,
                        error = %e,
                        "publishing to NATS failed; trying again"
                    );
                    tokio::time::sleep(Duration::from_millis(100) * attempt).await;
                    if e.kind() == jetstream::context::PublishErrorKind::StreamNotFound {
                        // Deleted meanwhile: made again (an error here is the publish's).
                        if let Err(error) = self.ensure_stream(&connection.jetstream).await {
                            tracing::warn!(
                                target: "cortex::events",
                                bridge = "nats",
                                error = %error,
                                "the NATS stream is missing and cannot be made again"
                            );
                        }
                    }
                    attempt += 1;
                }
                Err(e) => return Err(publish_error(e).into()),
            }
        };
        if ack.duplicate {
            tracing::debug!(
                target: "cortex::events",
                bridge = "nats",
                event_id = %id,
                "NATS already had this event (a duplicate within the stream's window)"
            );
        }
        Ok(())
    }

    async fn consume(&self, consumer: BridgeConsumer) -> Result<(), BoxError> {
        self.run(consumer).await
    }
}

/// How many times a publish is tried when the connection fails it.
const PUBLISH_ATTEMPTS: u32 = 3;

/// Whether a failed publish may have been cut off by the connection (and may be sent again).
fn retryable(error: &jetstream::context::PublishError) -> bool {
    use jetstream::context::PublishErrorKind as Kind;
    matches!(
        error.kind(),
        Kind::TimedOut | Kind::BrokenPipe | Kind::StreamNotFound | Kind::Other
    )
}

/// Acknowledges (or naks, or terminates) a message, waiting for the server to confirm an ack;
/// a failure is logged (the message is redelivered after `ack_wait`: handlers dedupe).
async fn settle(message: &jetstream::Message, kind: AckKind) {
    let result = match kind {
        AckKind::Ack => message.double_ack().await,
        other => message.ack_with(other).await,
    };
    if let Err(e) = result {
        tracing::warn!(
            target: "cortex::events",
            bridge = "nats",
            subject = message.subject.as_str(),
            ack = ?kind,
            error = %e,
            "could not acknowledge a message to NATS: it will be redelivered"
        );
    }
}

/// The event in a message, or why it is not one.
fn decode(message: &jetstream::Message) -> Result<WireEvent, String> {
    let wire = WireEvent::from_bytes(&message.payload).map_err(|e| e.to_string())?;
    check_topic(&wire.metadata.topic).map_err(|e| format!("its topic is malformed: {e}"))?;
    Ok(wire)
}

/// The durable consumer's name for a consumer group: the group with every character JetStream
/// refuses in a name replaced by `_`.
fn consumer_name(group: &str) -> String {
    let name: String = group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "cortex".into()
    } else {
        name
    }
}

fn set_filters(config: &mut pull::Config, filters: &[String]) {
    match filters {
        [one] => {
            config.filter_subject = one.clone();
            config.filter_subjects = Vec::new();
        }
        many => {
            config.filter_subject = String::new();
            config.filter_subjects = many.to_vec();
        }
    }
}

/// Whether a server's version (`2.10.4`) is at least `(major, minor)`.
fn server_at_least(version: &str, (major, minor): (u32, u32)) -> bool {
    let mut parts = version
        .trim_start_matches('v')
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}

/// The subjects a pattern selects, as NATS filters: exact where NATS can say it, wider (the
/// consumer checks the topic itself) where it cannot.
fn pattern_subjects(prefix: &str, pattern: &Pattern) -> Vec<String> {
    let mut tokens = vec![prefix.to_string()];
    for segment in pattern.as_str().split('.') {
        match segment {
            "#" => {
                // `#` matches no segment too: the prefix itself (unless that is only the
                // subject prefix, which no event is published on), and `>` for one or more.
                let mut subjects = Vec::new();
                if tokens.len() > 1 {
                    subjects.push(tokens.join("."));
                }
                tokens.push(">".into());
                subjects.push(tokens.join("."));
                return subjects;
            }
            other => tokens.push(other.to_string()),
        }
    }
    vec![tokens.join(".")]
}

/// The consumer's filters for `patterns`: none overlapping (NATS refuses overlapping filters),
/// one when the server takes only one; `<prefix>.>` when the patterns cannot be said exactly.
fn filters(prefix: &str, patterns: &[Pattern], multi_filter: bool) -> Vec<String> {
    let everything = vec![format!("{prefix}.>")];
    let mut subjects: Vec<String> = Vec::new();
    for pattern in patterns {
        for subject in pattern_subjects(prefix, pattern) {
            if !subjects.contains(&subject) {
                subjects.push(subject);
            }
        }
    }
    // Drop the subjects another one covers.
    let kept: Vec<String> = subjects
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            !subjects
                .iter()
                .enumerate()
                .any(|(j, other)| j != *i && subsumes(other, s) && (!subsumes(s, other) || j < *i))
        })
        .map(|(_, s)| s.clone())
        .collect();
    let overlapping = kept
        .iter()
        .enumerate()
        .any(|(i, a)| kept[i + 1..].iter().any(|b| collide(a, b)));
    if kept.is_empty() || overlapping || (kept.len() > 1 && !multi_filter) {
        return everything;
    }
    kept
}

/// Whether every subject `b` matches is matched by `a` (NATS wildcards `*` and `>`).
fn subsumes(a: &str, b: &str) -> bool {
    let mut a = a.split('.');
    let mut b = b.split('.');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(t)) if t != ">" => {}
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

/// Whether some subject is matched by both `a` and `b`.
fn collide(a: &str, b: &str) -> bool {
    let mut a = a.split('.');
    let mut b = b.split('.');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(">"), Some(_)) | (Some(_), Some(">")) => return true,
            (Some("*"), Some(_)) | (Some(_), Some("*")) => {}
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

fn log_connection_event(url: &str, event: async_nats::Event) {
    match event {
        async_nats::Event::Connected => tracing::info!(
            target: "cortex::events",
            bridge = "nats",
            url,
            "connected to NATS"
        ),
        async_nats::Event::Disconnected => tracing::warn!(
            target: "cortex::events",
            bridge = "nats",
            url,
            "disconnected from NATS; reconnecting"
        ),
        other => tracing::debug!(
            target: "cortex::events",
            bridge = "nats",
            url,
            event = %other,
            "NATS connection event"
        ),
    }
}

/// The `events_nats` health check: the connection, and the consumers.
struct NatsHealth(NatsBridge);

impl HealthCheck for NatsHealth {
    const NAME: &'static str = "events_nats";

    async fn check(&self) -> HealthStatus {
        self.0.health()
    }
}

/// When the app's bridge is a [`NatsBridge`]: the `events_nats` health check, and a start hook
/// that connects (so that an unreachable server fails the start). What the plugin calls.
pub(crate) fn register(app: App, bridge: Option<&Arc<dyn ErasedBusBridge>>) -> App {
    let Some(nats) = bridge.and_then(|b| (&**b as &dyn Any).downcast_ref::<NatsBridge>()) else {
        return app;
    };
    let connect = nats.clone();
    app.provide(Provider::value(NatsHealth(nats.clone())))
        .health_check::<NatsHealth>()
        .on_start(move |_| {
            let bridge = connect.clone();
            async move {
                bridge.connect().await?;
                // The plugin starts both consumers next: not healthy until they run.
                bridge.set_state(Delivery::Shared, ConsumerState::Starting);
                bridge.set_state(Delivery::Broadcast, ConsumerState::Starting);
                Ok::<_, BoxError>(())
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(list: &[&str]) -> Vec<Pattern> {
        list.iter().map(|p| Pattern::parse(p).unwrap()).collect()
    }

    #[test]
    fn patterns_translate_to_subjects() {
        let cases: &[(&str, &[&str])] = &[
            ("user.created", &["events.user.created"]),
            ("user.*", &["events.user.*"]),
            ("*.created", &["events.*.created"]),
            ("order.#", &["events.order", "events.order.>"]),
            ("#", &["events.>"]),
            ("a.#.b", &["events.a", "events.a.>"]),
            ("#.b", &["events.>"]),
        ];
        for (pattern, subjects) in cases {
            assert_eq!(
                pattern_subjects("events", &Pattern::parse(pattern).unwrap()),
                *subjects,
                "{pattern}"
            );
        }
    }

    #[test]
    fn filters_drop_covered_subjects_and_widen_overlaps() {
        let cases: &[(&[&str], bool, &[&str])] = &[
            (&["#"], true, &["events.>"]),
            (&["user.created"], false, &["events.user.created"]),
            (
                &["order.#", "order.placed"],
                true,
                &["events.order", "events.order.>"],
            ),
            (&["user.*", "user.created"], true, &["events.user.*"]),
            (
                &["user.*", "order.*"],
                true,
                &["events.user.*", "events.order.*"],
            ),
            // One filter only before NATS 2.10.
            (&["user.*", "order.*"], false, &["events.>"]),
            // Overlapping without one covering the other.
            (&["user.*", "*.created"], true, &["events.>"]),
            (&["a.b", "a.b"], false, &["events.a.b"]),
        ];
        for (list, multi, expected) in cases {
            assert_eq!(
                filters("events", &patterns(list), *multi),
                *expected,
                "{list:?} multi={multi}"
            );
        }
    }

    #[test]
    fn subsumption_and_collision_follow_nats_wildcards() {
        assert!(subsumes("a.>", "a.b.c"));
        assert!(subsumes("a.>", "a.*"));
        assert!(!subsumes("a.>", "a"));
        assert!(subsumes("a.*", "a.b"));
        assert!(!subsumes("a.*", "a.>"));
        assert!(!subsumes("a.b", "a.*"));
        assert!(collide("a.*", "*.b"));
        assert!(!collide("a.*", "b.*"));
        assert!(!collide("a", "a.>"));
        assert!(collide("a.>", "*.b.c"));
    }

    #[test]
    fn urls_are_masked() {
        assert_eq!(mask_url("nats://u:pw@h:4222"), "nats://u:********@h:4222");
        assert_eq!(mask_url("nats://token@h"), "nats://********@h");
        assert_eq!(mask_url("nats://h:4222"), "nats://h:4222");
        assert_eq!(
            mask_url("nats://a:1@x, tls://y"),
            "nats://a:********@x,tls://y"
        );
        assert_eq!(percent_decode("p%40ss%2"), "p@ss%2");
        assert_eq!(percent_decode("%é%zz"), "%é%zz");
    }

    #[test]
    fn consumer_names_are_what_jetstream_accepts() {
        assert_eq!(consumer_name("orders"), "orders");
        assert_eq!(consumer_name("my app.v2"), "my_app_v2");
        assert_eq!(consumer_name(""), "cortex");
    }

    #[test]
    fn server_versions_compare() {
        assert!(server_at_least("2.10.4", (2, 10)));
        assert!(server_at_least("v2.11.0-beta", (2, 10)));
        assert!(!server_at_least("2.9.10", (2, 10)));
    }

    #[test]
    fn config_errors_name_the_key() {
        let cases = [
            ("url = \"\"", "events.bridge.nats.url"),
            ("url = \"nats://[::1\"", "events.bridge.nats.url"),
            ("stream = \"a.b\"", "events.bridge.nats.stream"),
            ("stream = \"\"", "events.bridge.nats.stream"),
            (
                "subject_prefix = \"a..b\"",
                "events.bridge.nats.subject_prefix",
            ),
            (
                "subject_prefix = \"a.*\"",
                "events.bridge.nats.subject_prefix",
            ),
            ("ack_wait = \"0s\"", "events.bridge.nats.ack_wait"),
            ("ack_wait = \"soon\"", "events.bridge.nats.ack_wait"),
            ("max_deliver = -1", "events.bridge.nats.max_deliver"),
            ("max_age = 3", "events.bridge.nats.max_age"),
            ("colour = \"red\"", "events.bridge.nats.colour"),
        ];
        for (line, key) in cases {
            let config = Config::from_toml(&format!("[events.bridge.nats]\n{line}")).unwrap();
            let error = NatsBridgeConfig::from_config(&config)
                .unwrap_err()
                .to_string();
            assert!(error.contains(key), "{line}: {error}");
        }
    }
}
