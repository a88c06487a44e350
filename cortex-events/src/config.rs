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
    /// `[events.bridge]`, read by [`BridgeConfig`](crate::BridgeConfig): accepted here so that
    /// `deny_unknown_fields` does not refuse it.
    #[serde(rename = "bridge")]
    _bridge: serde::de::IgnoredAny,
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
            _bridge: serde::de::IgnoredAny,
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
