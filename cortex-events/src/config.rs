//! `[events]` in `cortex.toml`.

use std::time::Duration;

use cortex_core::config::{Config, ConfigError};
use serde::Deserialize;

use crate::queue::Overflow;
use crate::retry::RetryPolicy;

/// Where dead letters are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterBackend {
    /// In memory (bounded; lost at exit). The default.
    #[default]
    Memory,
    /// In the app's database (the `store` feature and the data layer).
    Database,
}

/// The `[events]` section: every key has a default.
///
/// ```toml
/// [events]
/// source = "orders"          # written in every event's metadata; the binary's name by default
/// capacity = 1024            # each subscriber's queue
/// overflow = "wait"          # or "drop_oldest", "fail"
/// drain_timeout = "10s"      # how long handlers get to finish at shutdown
/// dead_letters = "memory"    # or "database"
///
/// [events.retry]
/// retries = 3
/// initial = "100ms"
/// factor = 2.0
/// max = "30s"
/// jitter = 0.2
///
/// [events.store]             # the event store (feature `store` and the data layer)
/// enabled = false            # true: record every published event
/// record = []                # or the topics to record, such as ["order.#"]
///
/// [events.outbox]            # the outbox's relay (feature `store` and the data layer)
/// relay = true               # false: this instance does not publish the outbox's rows
/// interval = "1s"            # how often it looks for rows committed by other instances
/// batch = 100                # rows published per transaction
/// ```
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_events::EventsConfig;
///
/// let config = Config::from_toml("[events]\ncapacity = 8\noverflow = \"fail\"").unwrap();
/// let events = EventsConfig::from_config(&config).unwrap();
/// assert_eq!(events.capacity, 8);
///
/// // `[events.bridge]` is read on its own (`BridgeConfig`).
/// let bridged = Config::from_toml("[events.bridge]\nkind = \"nats\"").unwrap();
/// assert!(EventsConfig::from_config(&bridged).is_ok());
///
/// let bad = Config::from_toml("[events]\noverflow = \"explode\"").unwrap();
/// assert!(EventsConfig::from_config(&bad).unwrap_err().to_string().contains("events.overflow"));
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct EventsConfig {
    /// The source written in events' metadata.
    pub source: Option<String>,
    /// Each subscriber's queue capacity.
    pub capacity: usize,
    /// What a full queue does.
    pub overflow: Overflow,
    /// How long handlers get to finish at shutdown.
    #[serde(deserialize_with = "cortex_core::config::units::de::duration")]
    pub drain_timeout: Duration,
    /// Where dead letters are kept.
    pub dead_letters: DeadLetterBackend,
    /// The handlers' default retries.
    pub retry: RetryPolicy,
    /// `[events.store]`: which published events the event store records.
    pub store: StoreConfig,
    /// `[events.outbox]`: the outbox's relay.
    pub outbox: OutboxConfig,
    /// `[events.bridge]`: the broker that carries events between instances.
    pub bridge: crate::bridges::BridgeConfig,
}

/// `[events.store]`: which published events the event store records (the `store` feature, with
/// the data layer).
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_events::EventsConfig;
///
/// let config = Config::from_toml("[events.store]\nrecord = ['order.#']").unwrap();
/// let events = EventsConfig::from_config(&config).unwrap();
/// assert_eq!(events.store.recorded(), ["order.#"]);
///
/// let all = Config::from_toml("[events.store]\nenabled = true").unwrap();
/// assert_eq!(EventsConfig::from_config(&all).unwrap().store.recorded(), ["#"]);
///
/// let bad = Config::from_toml("[events.store]\nrecord = ['order.pl*ced']").unwrap();
/// let error = EventsConfig::from_config(&bad).unwrap_err().to_string();
/// assert!(error.contains("events.store.record[0]"), "{error}");
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct StoreConfig {
    /// Records every published event (unless `record` names the topics).
    pub enabled: bool,
    /// The topic patterns whose events are recorded (recording is on when this is not empty).
    pub record: Vec<String>,
}

impl StoreConfig {
    /// The patterns recorded: `record`, else `#` when `enabled`, else none.
    pub fn recorded(&self) -> Vec<String> {
        if !self.record.is_empty() {
            self.record.clone()
        } else if self.enabled {
            vec!["#".into()]
        } else {
            Vec::new()
        }
    }
}

/// `[events.outbox]`: the relay that publishes the outbox's committed rows (the `store`
/// feature, with the data layer).
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_events::EventsConfig;
///
/// let config = Config::from_toml("[events.outbox]\ninterval = '250ms'\nbatch = 10").unwrap();
/// let outbox = EventsConfig::from_config(&config).unwrap().outbox;
/// assert!(outbox.relay);
/// assert_eq!(outbox.interval, std::time::Duration::from_millis(250));
///
/// let bad = Config::from_toml("[events.outbox]\nbatch = 0").unwrap();
/// assert!(EventsConfig::from_config(&bad).unwrap_err().to_string().contains("events.outbox.batch"));
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OutboxConfig {
    /// Whether this instance runs the relay (on by default; off for an instance that must not
    /// publish, another one relaying for it).
    pub relay: bool,
    /// How often the relay looks for rows it was not told about (committed by another
    /// instance, or left by a crash); after an `enqueue` in this instance it looks at once.
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub interval: Duration,
    /// At most this many rows are published per transaction.
    pub batch: usize,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            relay: true,
            interval: Duration::from_secs(1),
            batch: 100,
        }
    }
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            source: None,
            capacity: 1024,
            overflow: Overflow::Wait,
            drain_timeout: Duration::from_secs(10),
            dead_letters: DeadLetterBackend::Memory,
            retry: RetryPolicy::default(),
            store: StoreConfig::default(),
            outbox: OutboxConfig::default(),
            bridge: crate::bridges::BridgeConfig::default(),
        }
    }
}

impl EventsConfig {
    /// Reads `[events]` (the defaults when it is absent); a bad key or value names itself.
    pub fn from_config(config: &Config) -> Result<EventsConfig, ConfigError> {
        let events: EventsConfig = config.get_or_default("events")?;
        if events.capacity == 0 {
            return Err(ConfigError::Invalid {
                key: "events.capacity".into(),
                origin: config.origin("events.capacity").cloned(),
                expected: "an integer of at least 1".into(),
                found: "0",
            });
        }
        if events.outbox.batch == 0 {
            return Err(ConfigError::Invalid {
                key: "events.outbox.batch".into(),
                origin: config.origin("events.outbox.batch").cloned(),
                expected: "an integer of at least 1".into(),
                found: "0",
            });
        }
        for (i, topic) in events.store.record.iter().enumerate() {
            if crate::Pattern::parse(topic).is_err() {
                return Err(ConfigError::Invalid {
                    key: format!("events.store.record[{i}]"),
                    origin: config.origin("events.store.record").cloned(),
                    expected: "a topic pattern such as `order.#` or `user.*`".into(),
                    found: "a malformed pattern",
                });
            }
        }
        Ok(events)
    }

    /// The source: `source`, else the binary's name.
    pub(crate) fn source(&self) -> String {
        self.source.clone().unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "app".into())
        })
    }
}

#[cfg(test)]
mod bridge_section_tests {
    use super::*;

    #[test]
    fn the_bridge_section_is_part_of_events() {
        let config =
            Config::from_toml("[events.bridge]\nkind = \"redis\"\ntopics = [\"order.#\"]").unwrap();
        let events = EventsConfig::from_config(&config).unwrap();
        assert_eq!(events.bridge.topics, ["order.#"]);
        let bad = Config::from_toml("[events.bridge]\nkindd = \"redis\"").unwrap();
        let error = EventsConfig::from_config(&bad).unwrap_err().to_string();
        assert!(error.contains("events.bridge.kindd"), "{error}");
    }
}
