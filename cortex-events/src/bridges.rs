//! `[events.bridge]`: which bridge the plugin runs, from configuration.

use std::sync::Arc;

use cortex_core::config::{Config, ConfigError};
use cortex_di::BoxError;
use serde::Deserialize;

use crate::bridge::ErasedBusBridge;
use crate::topic::Pattern;

/// The brokers a bridge can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BridgeKind {
    /// Redis Streams with consumer groups (feature `redis`).
    Redis,
    /// NATS JetStream with durable consumers (feature `nats`).
    Nats,
}

/// `[events.bridge]`: off unless `kind` is set.
///
/// ```toml
/// [events.bridge]
/// kind = "redis"            # or "nats"
/// topics = ["order.#"]      # the topics that cross instances; all of them by default
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BridgeConfig {
    /// The broker; no bridge when unset.
    pub kind: Option<BridgeKind>,
    /// The topic patterns that go through the bridge.
    pub topics: Vec<String>,
    /// The bridge's own settings (`[events.bridge.redis]`, `[events.bridge.nats]`), read by it.
    pub redis: Option<serde_json::Value>,
    /// See `redis`.
    pub nats: Option<serde_json::Value>,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            kind: None,
            topics: vec!["#".into()],
            redis: None,
            nats: None,
        }
    }
}

impl BridgeConfig {
    /// Reads `[events.bridge]`.
    pub fn from_config(config: &Config) -> Result<BridgeConfig, ConfigError> {
        let bridge: BridgeConfig = config.get_or_default("events.bridge")?;
        for (i, topic) in bridge.topics.iter().enumerate() {
            if Pattern::parse(topic).is_err() {
                return Err(ConfigError::Invalid {
                    key: format!("events.bridge.topics[{i}]"),
                    origin: config.origin("events.bridge.topics").cloned(),
                    expected: "a topic pattern such as `order.#` or `user.*`".into(),
                    found: "a malformed pattern",
                });
            }
        }
        Ok(bridge)
    }

    /// The patterns (checked by `from_config`).
    pub(crate) fn patterns(&self) -> Vec<Pattern> {
        self.topics
            .iter()
            .filter_map(|t| Pattern::parse(t).ok())
            .collect()
    }
}

/// The bridge `[events.bridge]` names, built from its section; `None` when no `kind` is set.
pub(crate) fn configured(
    config: &Config,
    bridge: &BridgeConfig,
) -> Result<Option<Arc<dyn ErasedBusBridge>>, BoxError> {
    let _ = config;
    match bridge.kind {
        None => Ok(None),
        #[cfg(feature = "redis")]
        Some(BridgeKind::Redis) => Ok(Some(Arc::new(crate::redis::RedisBridge::from_config(
            config,
        )?))),
        #[cfg(not(feature = "redis"))]
        Some(BridgeKind::Redis) => Err(
            "`[events.bridge] kind = \"redis\"` needs the Redis bridge: enable the `redis` feature of cortex-events (the facade's `redis` feature, with `events`)".into(),
        ),
        Some(BridgeKind::Nats) => nats(config),
    }
}

/// `[events.bridge] kind = "nats"`: the NATS JetStream bridge from `[events.bridge.nats]`.
#[cfg(feature = "nats")]
fn nats(config: &Config) -> Result<Option<Arc<dyn ErasedBusBridge>>, BoxError> {
    Ok(Some(Arc::new(crate::nats::NatsBridge::from_config(
        config,
    )?)))
}

#[cfg(not(feature = "nats"))]
fn nats(_config: &Config) -> Result<Option<Arc<dyn ErasedBusBridge>>, BoxError> {
    Err("`[events.bridge] kind = \"nats\"` needs the NATS bridge: enable the `nats` feature of cortex-events (the facade's `nats`)".into())
}

/// Binds the readiness check of the bridge `[events.bridge]` names, when it has one
/// (`events_redis`).
pub(crate) fn install_health(app: cortex_core::App, bridge: &BridgeConfig) -> cortex_core::App {
    match bridge.kind {
        #[cfg(feature = "redis")]
        Some(BridgeKind::Redis) => crate::redis::install_health(app),
        _ => app,
    }
}
