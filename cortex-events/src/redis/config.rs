//! `[events.bridge.redis]`: where the stream is and how it is read.

use std::fmt;
use std::time::Duration;

use cortex_core::config::{Config, ConfigError, Origin};
use serde::Deserialize;

/// `[events.bridge.redis]`: every key has a default.
///
/// ```toml
/// [events.bridge]
/// kind = "redis"
///
/// [events.bridge.redis]
/// url = "redis://127.0.0.1:6379"  # `redis://:password@host:6379/0`; the password is masked in logs
/// stream = "cortex:events"        # the stream's key, shared by the apps that exchange events
/// max_len = 100000                # trimmed to about this many entries (0: never trimmed)
/// block = "1s"                    # how long one read waits for new entries (bounds the stop)
/// batch = 64                      # entries per read
/// claim_idle = "30s"              # a pending entry idle this long is taken over from its consumer
/// claim_interval = "5s"           # how often pending entries are looked for
/// timeout = "5s"                  # how long a command (other than a blocking read) may take
/// ```
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_events::redis::RedisBridgeConfig;
/// use std::time::Duration;
///
/// let config = Config::from_toml("[events.bridge.redis]\nstream = 'shop:events'\nclaim_idle = '1m'")?;
/// let redis = RedisBridgeConfig::from_config(&config)?;
/// assert_eq!(redis.stream, "shop:events");
/// assert_eq!(redis.claim_idle, Duration::from_secs(60));
/// assert_eq!(redis.url, "redis://127.0.0.1:6379");
///
/// let bad = Config::from_toml("[events.bridge.redis]\nbatch = 0")?;
/// let err = RedisBridgeConfig::from_config(&bad).unwrap_err();
/// assert!(err.to_string().contains("events.bridge.redis.batch"), "{err}");
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RedisBridgeConfig {
    /// The Redis URL (`redis://[user][:password@]host[:port][/db]`).
    pub url: String,
    /// The stream's key.
    pub stream: String,
    /// `XADD … MAXLEN ~ max_len`: the stream is trimmed to about this many entries (Redis trims
    /// whole nodes, so a few more may stay); `0` never trims. An entry trimmed before every
    /// consumer group read it is lost to the groups that had not: keep this well above what
    /// the slowest app can fall behind.
    pub max_len: u64,
    /// How long one read blocks waiting for new entries. A consumer asked to stop finishes the
    /// read it is in, so this bounds how long stopping takes.
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub block: Duration,
    /// At most this many entries per read (handled together: each handler in order).
    pub batch: usize,
    /// An entry read by a consumer that has not acknowledged it for this long (the instance
    /// died, or lost Redis) is taken over by another instance's consumer and handled again.
    /// Consumers keep their in-hand entries fresh while their handlers run, so a slow handler
    /// does not lose its entries to another instance.
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub claim_idle: Duration,
    /// How often each instance looks for entries idle longer than `claim_idle`.
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub claim_interval: Duration,
    /// How long a command other than a blocking read may take (and a connection attempt).
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub timeout: Duration,
}

impl Default for RedisBridgeConfig {
    fn default() -> Self {
        RedisBridgeConfig {
            url: "redis://127.0.0.1:6379".into(),
            stream: "cortex:events".into(),
            max_len: 100_000,
            block: Duration::from_secs(1),
            batch: 64,
            claim_idle: Duration::from_secs(30),
            claim_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
        }
    }
}

impl fmt::Debug for RedisBridgeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBridgeConfig")
            .field("url", &mask_url(&self.url))
            .field("stream", &self.stream)
            .field("max_len", &self.max_len)
            .field("block", &self.block)
            .field("batch", &self.batch)
            .field("claim_idle", &self.claim_idle)
            .field("claim_interval", &self.claim_interval)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The section's key.
pub(super) const SECTION: &str = "events.bridge.redis";

impl RedisBridgeConfig {
    /// Reads `[events.bridge.redis]` (the defaults when it is absent); a bad key or value names
    /// itself (`events.bridge.redis.claim_idle`), and the URL is never shown.
    pub fn from_config(config: &Config) -> Result<RedisBridgeConfig, ConfigError> {
        let redis: RedisBridgeConfig = config.get_or_default(SECTION)?;
        redis.check(|key| config.origin(&format!("{SECTION}.{key}")).cloned())?;
        Ok(redis)
    }

    /// Checks what the types do not: a URL Redis can use, a stream name, a batch of at least
    /// one.
    pub(super) fn check(&self, origin: impl Fn(&str) -> Option<Origin>) -> Result<(), ConfigError> {
        let invalid = |key: &str, expected: &str, found: &'static str| ConfigError::Invalid {
            key: format!("{SECTION}.{key}"),
            origin: origin(key),
            expected: expected.into(),
            found,
        };
        if redis::Client::open(self.url.as_str()).is_err() {
            return Err(invalid(
                "url",
                "a Redis URL such as `redis://127.0.0.1:6379` or `redis://:password@host:6379/0`",
                "a string that is not one",
            ));
        }
        if self.stream.trim().is_empty() {
            return Err(invalid(
                "stream",
                "the stream's key, such as `cortex:events`",
                "an empty string",
            ));
        }
        if self.batch == 0 {
            return Err(invalid("batch", "a number of entries of at least 1", "0"));
        }
        Ok(())
    }
}

/// The URL with its password (and a `pass`/`password` query parameter) masked, for logs and
/// errors: `redis://user:secret@host` → `redis://user:********@host`.
pub(crate) fn mask_url(url: &str) -> String {
    const MASK: &str = "********";
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let mut masked = match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) if colon + 1 < at => format!(
                "{}{MASK}{}",
                &url[..authority_start + colon + 1],
                &url[authority_start + at..]
            ),
            _ => url.to_string(),
        },
        None => url.to_string(),
    };
    // `redis+unix:///run/redis.sock?pass=secret`
    if let Some(query_start) = masked.find('?') {
        let (head, query) = masked.split_at(query_start + 1);
        let query = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _))
                    if name.eq_ignore_ascii_case("pass")
                        || name.eq_ignore_ascii_case("password") =>
                {
                    format!("{name}={MASK}")
                }
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&");
        masked = format!("{head}{query}");
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_url_hides_passwords_only() {
        let cases = [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            (
                "redis://:hunter2@host:6379/0",
                "redis://:********@host:6379/0",
            ),
            ("rediss://ada:hunter2@host", "rediss://ada:********@host"),
            ("redis://ada@host", "redis://ada@host"),
            ("redis://ada:@host", "redis://ada:@host"),
            (
                "redis+unix:///run/redis.sock?db=1&pass=hunter2",
                "redis+unix:///run/redis.sock?db=1&pass=********",
            ),
            ("not a url", "not a url"),
        ];
        for (url, masked) in cases {
            assert_eq!(mask_url(url), masked, "{url}");
        }
    }

    #[test]
    fn debug_masks_the_url() {
        let config = RedisBridgeConfig {
            url: "redis://:hunter2@host".into(),
            ..RedisBridgeConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redis://:********@host"), "{shown}");
    }
}
