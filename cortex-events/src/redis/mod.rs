//! The Redis Streams bridge (feature `redis`): the bus across instances through one Redis
//! stream, with a consumer group per app.
//!
//! ```toml
//! [events.bridge]
//! kind = "redis"
//! topics = ["order.#"]            # the bridged topics (all by default)
//!
//! [events.bridge.redis]
//! url = "redis://127.0.0.1:6379"
//! stream = "shop:events"
//! ```
//!
//! # How events travel
//!
//! - **Publish**: `XADD <stream> MAXLEN ~ <max_len> * topic <topic> event <json>` (the event is
//!   [`WireEvent::to_bytes`]: its metadata and payload). [`EventBus::publish`] returns once
//!   Redis has appended it. The first event an app publishes also creates its consumer group
//!   (at the stream's end) if it does not exist yet, so an app's own first events are never
//!   missed by its consumers starting at the same time.
//! - **Shared consumer** (the handlers: one instance per event): the consumer group is the app's
//!   `[events] source`, each instance a consumer in it. `XREADGROUP … >` reads up to `batch`
//!   entries, waiting up to `block`; entries on other topics are acknowledged unread; events are
//!   handed to this instance's handlers ([`BridgeConsumer::deliver_all`]: each handler gets them
//!   in order) and acknowledged (`XACK`) once every handler finished with them — handled, or in
//!   the dead letters after its retries. An instance that dies leaves what it held pending:
//!   every `claim_interval`, each instance takes over (`XAUTOCLAIM`) the entries idle longer than
//!   `claim_idle` and handles them. Delivery is therefore **at least once**: an event whose
//!   handler finished just before its instance died is handled again by the survivor, so a
//!   handler whose effect must not repeat checks the event's id
//!   ([`Envelope::id`](crate::Envelope::id)). While its handlers run, a consumer keeps the
//!   entries it holds fresh (`XCLAIM … JUSTID`), so a slow handler does not lose them to another
//!   instance. Consumers that left (no pending entry, idle for ten times `claim_idle`, at least
//!   five minutes) are removed from the group.
//! - **Broadcast consumer** (the streams: every instance): `XREAD` from the entries appended
//!   after it started; not durable.
//! - **Malformed entries** (written by something else: no `event` field, bytes that are not a
//!   Cortex event, a topic that is not UTF-8) never stop a consumer: the shared consumer logs
//!   them and puts them in the bus's dead letters under the handler name `bridge:redis` — their
//!   fields as JSON (text, or `{"hex": …}`) in the payload, the stream and entry id in the
//!   headers `redis.stream` and `redis.entry` — then acknowledges them. Such a letter is for
//!   inspection: replaying it fails (no handler has that name). When the dead-letter store
//!   refuses the letter, the entry is left pending and tried again after `claim_idle`.
//! - **Trimmed entries**: an entry trimmed by `max_len` while pending is logged as lost.
//! - **Redis restarts**: every command failure closes the connection; consumers reconnect with a
//!   backoff (100 ms doubling to 5 s), log the outage once (`warn`) and its end (`info`), and
//!   recreate the consumer group if Redis lost it (then from the stream's start, as everything
//!   in a stream that lost its groups is new). A publish during the outage fails with
//!   [`PublishError::Bridge`](crate::PublishError::Bridge).
//! - **Stopping**: a consumer asked to stop finishes the read it is in (at most `block`), hands
//!   what it read to the handlers, acknowledges what they finished and returns.
//! - **Health**: with `[events.bridge] kind = "redis"`, the `EventsPlugin` adds the readiness check
//!   `events_redis` (a `PING` within a second).
//!
//! Programmatically:
//!
//! ```no_run
//! use cortex_core::App;
//! use cortex_events::EventsPlugin;
//! use cortex_events::redis::{RedisBridge, RedisBridgeConfig};
//!
//! let mut config = RedisBridgeConfig::default();
//! config.stream = "shop:events".into();
//! let app = App::new().plugin(EventsPlugin::default().bridge(RedisBridge::new(config)?));
//! # Ok::<(), cortex_events::redis::RedisBridgeError>(())
//! ```
//!
//! [`EventBus::publish`]: crate::EventBus::publish

mod config;
mod consume;
mod entry;
mod health;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cortex_core::config::{Config, ConfigError};
use cortex_di::BoxError;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError};

pub use config::RedisBridgeConfig;
pub(crate) use config::mask_url;
pub(crate) use health::install as install_health;

use crate::bridge::{BridgeConsumer, BusBridge};
use crate::bus::Delivery;
use crate::event::WireEvent;

/// Why the Redis bridge failed.
///
/// ```
/// use cortex_events::redis::{RedisBridge, RedisBridgeConfig, RedisBridgeError};
///
/// let mut config = RedisBridgeConfig::default();
/// config.batch = 0;
/// let err = RedisBridge::new(config).unwrap_err();
/// assert!(matches!(err, RedisBridgeError::Config(_)));
/// assert!(err.to_string().contains("events.bridge.redis.batch"), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisBridgeError {
    /// `[events.bridge.redis]` is wrong (the message names the key).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Redis refused a command, or could not be reached.
    #[error("the Redis event bridge at {url}: {action}: {source}")]
    Redis {
        /// The URL, its password masked.
        url: String,
        /// What was being done (`XADD to stream \`cortex:events\``).
        action: String,
        /// What Redis (or the connection) said.
        #[source]
        source: RedisError,
    },
}

/// The Redis Streams bridge: see the [module docs](self) for what it does.
///
/// Built from `[events.bridge.redis]` by the `EventsPlugin` when `[events.bridge] kind =
/// "redis"`, or by hand for [`EventsPlugin::bridge`](crate::EventsPlugin::bridge). Connects on
/// first use, and again after a failure.
///
/// ```
/// use cortex_events::redis::{RedisBridge, RedisBridgeConfig};
///
/// let bridge = RedisBridge::new(RedisBridgeConfig::default())?;
/// assert_eq!(bridge.config().stream, "cortex:events");
///
/// let mut bad = RedisBridgeConfig::default();
/// bad.url = "http://:hunter2@host".into();
/// let err = RedisBridge::new(bad).unwrap_err().to_string();
/// assert!(err.contains("events.bridge.redis.url") && !err.contains("hunter2"), "{err}");
/// # Ok::<(), cortex_events::redis::RedisBridgeError>(())
/// ```
#[derive(Clone)]
pub struct RedisBridge {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBridge")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: RedisBridgeConfig,
    client: redis::Client,
    /// The URL with its password masked.
    url: String,
    /// The publishers' connection and its generation (a failed one is replaced once).
    publisher: tokio::sync::Mutex<Option<(u64, MultiplexedConnection)>>,
    generation: std::sync::atomic::AtomicU64,
    /// The consumer groups created by a publish.
    groups: Mutex<HashSet<String>>,
    /// Since when Redis has been unreachable, for one log line per outage.
    outage: Mutex<Option<Instant>>,
}

impl RedisBridge {
    /// A bridge with these settings (checked: a URL Redis can use, a stream, a batch of at least
    /// one). Does not connect yet.
    pub fn new(config: RedisBridgeConfig) -> Result<Self, RedisBridgeError> {
        config.check(|_| None)?;
        Self::checked(config)
    }

    /// The bridge `[events.bridge.redis]` describes.
    ///
    /// ```
    /// use cortex_core::config::Config;
    /// use cortex_events::redis::RedisBridge;
    ///
    /// let config = Config::from_toml("[events.bridge.redis]\nblock = 'forever'")?;
    /// let err = RedisBridge::from_config(&config).unwrap_err().to_string();
    /// assert!(err.contains("events.bridge.redis.block"), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_config(config: &Config) -> Result<Self, RedisBridgeError> {
        Self::checked(RedisBridgeConfig::from_config(config)?)
    }

    fn checked(config: RedisBridgeConfig) -> Result<Self, RedisBridgeError> {
        let client =
            redis::Client::open(config.url.as_str()).map_err(|source| RedisBridgeError::Redis {
                url: mask_url(&config.url),
                action: "reading the URL".into(),
                source,
            })?;
        Ok(RedisBridge {
            inner: Arc::new(Inner {
                url: mask_url(&config.url),
                config,
                client,
                publisher: tokio::sync::Mutex::new(None),
                generation: std::sync::atomic::AtomicU64::new(0),
                groups: Mutex::new(HashSet::new()),
                outage: Mutex::new(None),
            }),
        })
    }

    /// Its settings.
    pub fn config(&self) -> &RedisBridgeConfig {
        &self.inner.config
    }
}

impl Inner {
    fn error(&self, action: impl Into<String>, source: RedisError) -> RedisBridgeError {
        RedisBridgeError::Redis {
            url: self.url.clone(),
            action: action.into(),
            source,
        }
    }

    /// A new connection whose replies may take `response` (a blocking read's time and then
    /// some).
    async fn connect(&self, response: Duration) -> Result<MultiplexedConnection, RedisError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.config.timeout))
            .set_response_timeout(Some(response));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    /// A consumer's connection, named after it (`CLIENT LIST` shows
    /// `cortex-events:<group>:<instance>:<shared|broadcast>`).
    async fn connect_consumer(
        &self,
        consumer: &BridgeConsumer,
    ) -> Result<MultiplexedConnection, RedisError> {
        let mut connection = self
            .connect(self.config.block + self.config.timeout)
            .await?;
        let delivery = match consumer.delivery() {
            Delivery::Shared => "shared",
            Delivery::Broadcast => "broadcast",
        };
        let name: String = format!(
            "cortex-events:{}:{}:{delivery}",
            consumer.group(),
            consumer.instance()
        )
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(name)
            .query_async::<()>(&mut connection)
            .await?;
        Ok(connection)
    }

    /// The publishers' connection (made on first use, and after a failure).
    async fn publisher(&self) -> Result<(u64, MultiplexedConnection), RedisError> {
        let mut publisher = self.publisher.lock().await;
        if let Some(connection) = &*publisher {
            return Ok(connection.clone());
        }
        let connection = self.connect(self.config.timeout).await?;
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *publisher = Some((generation, connection.clone()));
        Ok((generation, connection))
    }

    /// Forgets the publishers' connection `generation` after it failed.
    async fn forget_publisher(&self, generation: u64) {
        let mut publisher = self.publisher.lock().await;
        if publisher.as_ref().is_some_and(|(g, _)| *g == generation) {
            *publisher = None;
        }
    }

    /// `XGROUP CREATE <stream> <group> <from> MKSTREAM`; an existing group is fine.
    async fn create_group(
        &self,
        connection: &mut MultiplexedConnection,
        group: &str,
        from: &str,
    ) -> Result<(), RedisError> {
        let created: Result<redis::Value, RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.config.stream)
            .arg(group)
            .arg(from)
            .arg("MKSTREAM")
            .query_async(connection)
            .await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(e),
            _ => Ok(()),
        }
    }

    async fn xadd(
        &self,
        connection: &mut MultiplexedConnection,
        event: &WireEvent,
        bytes: &[u8],
    ) -> Result<(), RedisError> {
        let source = &event.metadata.source;
        let known = source.is_empty()
            || self
                .groups
                .lock()
                .expect("groups lock")
                .contains(source.as_str());
        if !known {
            self.create_group(connection, source, "$").await?;
            self.groups
                .lock()
                .expect("groups lock")
                .insert(source.to_string());
        }
        let mut xadd = redis::cmd("XADD");
        xadd.arg(&self.config.stream);
        if self.config.max_len > 0 {
            xadd.arg("MAXLEN").arg("~").arg(self.config.max_len);
        }
        xadd.arg("*")
            .arg(entry::TOPIC)
            .arg(event.metadata.topic.as_str())
            .arg(entry::EVENT)
            .arg(bytes);
        xadd.query_async::<redis::Value>(connection).await.map(drop)
    }

    /// Notes that Redis failed: logged once per outage.
    fn lost(&self, what: &str, error: &dyn std::fmt::Display) {
        let mut outage = self.outage.lock().expect("outage lock");
        if outage.is_none() {
            *outage = Some(Instant::now());
            tracing::warn!(
                target: "cortex::events",
                bridge = "redis",
                url = %self.url,
                stream = %self.config.stream,
                error = %error,
                "the Redis event bridge failed {what}; retrying until Redis answers"
            );
        }
    }

    /// Notes that Redis answers again.
    fn restored(&self) {
        let since = self.outage.lock().expect("outage lock").take();
        if let Some(since) = since {
            tracing::info!(
                target: "cortex::events",
                bridge = "redis",
                url = %self.url,
                stream = %self.config.stream,
                down_ms = since.elapsed().as_millis() as u64,
                "the Redis event bridge reaches Redis again"
            );
        }
    }
}

impl BusBridge for RedisBridge {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn publish(&self, event: &WireEvent) -> Result<(), BoxError> {
        let inner = &self.inner;
        let bytes = event.to_bytes();
        let action = || format!("XADD to stream `{}`", inner.config.stream);
        let (generation, mut connection) = inner
            .publisher()
            .await
            .map_err(|e| inner.error(format!("connecting for {}", action()), e))?;
        let added = inner.xadd(&mut connection, event, &bytes).await;
        let Err(error) = added else {
            return Ok(());
        };
        if server_answered(&error) {
            return Err(inner.error(action(), error).into());
        }
        inner.forget_publisher(generation).await;
        // A connection Redis closed (it restarted) fails before the command reaches it: once
        // more on a new one.
        if !error.is_connection_dropped() {
            return Err(inner.error(action(), error).into());
        }
        let (generation, mut connection) = inner
            .publisher()
            .await
            .map_err(|e| inner.error(format!("reconnecting for {}", action()), e))?;
        match inner.xadd(&mut connection, event, &bytes).await {
            Ok(()) => Ok(()),
            Err(error) => {
                if !server_answered(&error) {
                    inner.forget_publisher(generation).await;
                }
                Err(inner.error(action(), error).into())
            }
        }
    }

    async fn consume(&self, consumer: BridgeConsumer) -> Result<(), BoxError> {
        match consumer.delivery() {
            Delivery::Shared => {
                consume::Shared::new(Arc::clone(&self.inner), consumer)
                    .run()
                    .await
            }
            Delivery::Broadcast => {
                consume::Broadcast::new(Arc::clone(&self.inner), consumer)
                    .run()
                    .await
            }
        }
        Ok(())
    }
}

/// Whether Redis itself answered with this error (the connection is fine).
fn server_answered(error: &RedisError) -> bool {
    error.code().is_some()
}
