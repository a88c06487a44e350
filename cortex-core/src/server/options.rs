//! [`ServeOptions`]: the `[server]` keys that govern connections, read strictly (a misspelt key is
//! an error, not a silently ignored setting).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, IgnoredAny, Unexpected, Visitor};

use crate::http::middleware::{parse_duration, parse_size};

/// How the server treats connections, read from `[server]` in `cortex.toml` (next to `host` and
/// `port`, which [`ServerConfig`](crate::config::ServerConfig) reads). The defaults are what a
/// careful operator would set.
///
/// ```toml
/// [server]
/// port = 8080
/// http2 = true                  # HTTP/2 as well as HTTP/1.1
/// header_read_timeout = "10s"   # and the HTTP/1.1 keep-alive idle time
/// tls_handshake_timeout = "10s"
/// idle_timeout = "60s"          # HTTP/2 connections with no request
/// drain_timeout = "30s"
/// shutdown_delay = "0s"
/// max_connections = 10000
/// max_headers = 100
/// max_header_bytes = "64KiB"
/// http2_max_concurrent_streams = 200
/// # tls = { cert = "certs/server.pem", key = "certs/server.key" }   (with the `tls` feature)
/// ```
///
/// Durations need a unit (`"500ms"`, `"30s"`, `"2m"`); a key the server does not know is an error
/// naming it and listing the keys it does know.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_core::server::ServeOptions;
/// use std::time::Duration;
///
/// let options = ServeOptions { drain_timeout: Duration::from_secs(5), ..ServeOptions::default() };
/// assert!(options.http2);
/// assert_eq!(options.header_read_timeout, Duration::from_secs(10));
///
/// let config = Config::from_toml("[server]\nport = 8080\ndrain_timeout = '5s'")?;
/// let options: ServeOptions = config.get("server")?;
/// assert_eq!(options.drain_timeout, Duration::from_secs(5));
///
/// let typo = Config::from_toml("[server]\ndrain_timout = '5s'")?;
/// let err = typo.get::<ServeOptions>("server").unwrap_err().to_string();
/// assert!(err.contains("`server.drain_timout`") && err.contains("`drain_timeout`"), "{err}");
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(from = "ServerSection")]
pub struct ServeOptions {
    /// Serve HTTP/2 as well as HTTP/1.1 (prior-knowledge h2c in the clear, ALPN `h2` over TLS).
    pub http2: bool,
    /// How long a client may take to send a request's headers (from the first byte of the
    /// connection, or the end of the previous response), so also how long an idle HTTP/1.1
    /// keep-alive connection stays open (slow-loris protection). Checked every quarter of it: a
    /// late connection closes between 1 and 1.25 times it. A request whose head is in (its body
    /// uploading, its response streaming) is not bound by it.
    pub header_read_timeout: Duration,
    /// How long a TLS handshake may take.
    pub tls_handshake_timeout: Duration,
    /// How long an HTTP/2 connection may stay open without a request before it is closed (with a
    /// `GOAWAY`, so streams still running finish); checked every quarter of it.
    pub idle_timeout: Duration,
    /// After accepting stops, how long in-flight requests may take before their connections are
    /// closed.
    pub drain_timeout: Duration,
    /// After the shutdown signal and before accepting stops, how long readiness reports "draining"
    /// while new connections are still served, so load balancers stop routing here first.
    pub shutdown_delay: Duration,
    /// Connections served at once; further clients wait in the accept queue until one closes.
    pub max_connections: usize,
    /// Most headers in one HTTP/1.1 request.
    pub max_headers: usize,
    /// Largest request head (request line and headers) in bytes; HTTP/1.1 answers 431 beyond it,
    /// HTTP/2 bounds its header list to it.
    pub max_header_bytes: usize,
    /// Most concurrent HTTP/2 streams per connection.
    pub http2_max_concurrent_streams: u32,
    /// TLS, when a certificate is configured.
    #[cfg(feature = "tls")]
    pub tls: Option<super::TlsConfig>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            http2: true,
            header_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(30),
            shutdown_delay: Duration::ZERO,
            max_connections: 10_000,
            max_headers: 100,
            max_header_bytes: 64 * 1024,
            http2_max_concurrent_streams: 200,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ServeOptions {
    /// The URL scheme clients use: `https` when TLS is configured, otherwise `http`.
    ///
    /// ```
    /// use cortex_core::server::ServeOptions;
    /// assert_eq!(ServeOptions::default().scheme(), "http");
    /// ```
    pub fn scheme(&self) -> &'static str {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return "https";
        }
        "http"
    }
}

/// `[server]` as written: every key [`ServeOptions`] reads, plus `host` and `port` (read by
/// [`ServerConfig`](crate::config::ServerConfig)), and nothing else.
#[derive(serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ServerSection {
    #[allow(dead_code)]
    host: Option<IgnoredAny>,
    #[allow(dead_code)]
    port: Option<IgnoredAny>,
    http2: bool,
    #[serde(deserialize_with = "positive_duration")]
    header_read_timeout: Duration,
    #[serde(deserialize_with = "positive_duration")]
    tls_handshake_timeout: Duration,
    #[serde(deserialize_with = "positive_duration")]
    idle_timeout: Duration,
    #[serde(deserialize_with = "duration")]
    drain_timeout: Duration,
    #[serde(deserialize_with = "duration")]
    shutdown_delay: Duration,
    #[serde(deserialize_with = "connections")]
    max_connections: usize,
    #[serde(deserialize_with = "headers")]
    max_headers: usize,
    #[serde(deserialize_with = "header_bytes")]
    max_header_bytes: usize,
    #[serde(deserialize_with = "streams")]
    http2_max_concurrent_streams: u32,
    #[cfg(feature = "tls")]
    tls: Option<super::TlsConfig>,
    #[cfg(not(feature = "tls"))]
    #[serde(deserialize_with = "tls_disabled")]
    #[allow(dead_code)]
    tls: Option<()>,
}

impl Default for ServerSection {
    fn default() -> Self {
        let d = ServeOptions::default();
        ServerSection {
            host: None,
            port: None,
            http2: d.http2,
            header_read_timeout: d.header_read_timeout,
            tls_handshake_timeout: d.tls_handshake_timeout,
            idle_timeout: d.idle_timeout,
            drain_timeout: d.drain_timeout,
            shutdown_delay: d.shutdown_delay,
            max_connections: d.max_connections,
            max_headers: d.max_headers,
            max_header_bytes: d.max_header_bytes,
            http2_max_concurrent_streams: d.http2_max_concurrent_streams,
            tls: None,
        }
    }
}

impl From<ServerSection> for ServeOptions {
    fn from(s: ServerSection) -> Self {
        ServeOptions {
            http2: s.http2,
            header_read_timeout: s.header_read_timeout,
            tls_handshake_timeout: s.tls_handshake_timeout,
            idle_timeout: s.idle_timeout,
            drain_timeout: s.drain_timeout,
            shutdown_delay: s.shutdown_delay,
            max_connections: s.max_connections,
            max_headers: s.max_headers,
            max_header_bytes: s.max_header_bytes,
            http2_max_concurrent_streams: s.http2_max_concurrent_streams,
            #[cfg(feature = "tls")]
            tls: s.tls,
        }
    }
}

// The messages below are serde's "invalid value/type: …, expected …" forms: the configuration
// layer shows the "expected" part and the kind of value found, never the value (it may be a
// secret), so the expectation has to say everything.

struct DurationVisitor {
    zero_allowed: bool,
}

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.zero_allowed {
            f.write_str("a duration with a unit, such as \"30s\", \"500ms\" or \"0s\"")
        } else {
            f.write_str("a duration above zero with a unit, such as \"10s\" or \"500ms\"")
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        match parse_duration(v) {
            Ok(d) if d.is_zero() && !self.zero_allowed => {
                Err(E::invalid_value(Unexpected::Str(v), &self))
            }
            Ok(d) => Ok(d),
            Err(_) => Err(E::invalid_value(Unexpected::Str(v), &self)),
        }
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_str(DurationVisitor { zero_allowed: true })
}

fn positive_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_str(DurationVisitor {
        zero_allowed: false,
    })
}

/// A count of at least 1 and at most `max`.
struct CountVisitor {
    what: &'static str,
    max: u64,
}

impl Visitor<'_> for CountVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if usize::try_from(self.max).is_ok_and(|max| max == usize::MAX) {
            write!(f, "a whole number of {}, at least 1", self.what)
        } else {
            write!(f, "a whole number of {} from 1 to {}", self.what, self.max)
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        if (1..=self.max).contains(&v) {
            Ok(v)
        } else {
            Err(E::invalid_value(Unexpected::Unsigned(v), &self))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }
}

fn count<'de, D: Deserializer<'de>>(d: D, what: &'static str) -> Result<usize, D::Error> {
    let max = u64::try_from(usize::MAX).unwrap_or(u64::MAX);
    let n = d.deserialize_u64(CountVisitor { what, max })?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

fn connections<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    count(d, "connections")
}

fn headers<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    count(d, "headers")
}

fn streams<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = d.deserialize_u64(CountVisitor {
        what: "streams",
        max: u64::from(u32::MAX),
    })?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Bytes, as a number or a size such as `"64KiB"`; at least 1 KiB (a request line needs room).
struct HeaderBytesVisitor;

impl HeaderBytesVisitor {
    const MIN: u64 = 1024;
    const MAX: u64 = 16 * 1024 * 1024;

    fn check<E: de::Error>(self, n: u64, unexpected: Unexpected<'_>) -> Result<usize, E> {
        if (Self::MIN..=Self::MAX).contains(&n) {
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        } else {
            Err(E::invalid_value(unexpected, &self))
        }
    }
}

impl Visitor<'_> for HeaderBytesVisitor {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a size from 1KiB to 16MiB, such as \"64KiB\" or 65536")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<usize, E> {
        self.check(v, Unexpected::Unsigned(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<usize, E> {
        match u64::try_from(v) {
            Ok(n) => self.check(n, Unexpected::Signed(v)),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        match parse_size(v) {
            Ok(n) => self.check(n, Unexpected::Str(v)),
            Err(_) => Err(E::invalid_value(Unexpected::Str(v), &self)),
        }
    }
}

fn header_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    d.deserialize_any(HeaderBytesVisitor)
}

#[cfg(not(feature = "tls"))]
fn tls_disabled<'de, D: Deserializer<'de>>(d: D) -> Result<Option<()>, D::Error> {
    <IgnoredAny as serde::Deserialize>::deserialize(d)?;
    Err(de::Error::invalid_value(
        Unexpected::Map,
        &"nothing: TLS needs the `tls` feature of cortex (or cortex-core), which this build does not have",
    ))
}
