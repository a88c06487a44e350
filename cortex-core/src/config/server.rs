//! `[server]`: where the HTTP server listens and how it treats connections, read by one type,
//! [`ServerConfig`], with `[server.tls]` read by [`TlsConfig`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use super::ConfigError;
use super::units::{self, de::SizeVisitor};

/// The `[server]` section: the address the HTTP server listens on and how it treats connections.
/// The defaults are what a careful operator would set; a key the server does not know is an error
/// naming it and listing the keys it does know.
///
/// `host` and `port` default to `127.0.0.1:3000`. `CORTEX_HOST` and `CORTEX_PORT` override them
/// (the CLI's `--port` sets `CORTEX_PORT`), as do `CORTEX_SERVER__HOST` and `CORTEX_SERVER__PORT`.
/// Port `0` asks the operating system for a free port.
///
/// ```toml
/// [server]
/// host = "0.0.0.0"              # default "127.0.0.1"
/// port = 8080                   # default 3000
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
/// Durations and sizes are read by [`units`](super::units) (`"500ms"`, `"30s"`, `"2m"`,
/// `"64KiB"`).
///
/// ```
/// use cortex_core::config::{Config, ServerConfig};
/// use std::time::Duration;
///
/// let server = Config::from_toml("[server]\nport = 8080\ndrain_timeout = '5s'")?.server()?;
/// assert_eq!(server.host, "127.0.0.1");
/// assert_eq!(server.port, 8080);
/// assert_eq!(server.addr()?.to_string(), "127.0.0.1:8080");
/// assert_eq!(server.drain_timeout, Duration::from_secs(5));
///
/// let set_in_code = ServerConfig { drain_timeout: Duration::from_secs(5), ..ServerConfig::default() };
/// assert!(set_in_code.http2);
/// assert_eq!(set_in_code.header_read_timeout, Duration::from_secs(10));
///
/// let typo = Config::from_toml("[server]\ndrain_timout = '5s'")?;
/// let err = typo.server().unwrap_err().to_string();
/// assert!(err.contains("`server.drain_timout`") && err.contains("`drain_timeout`"), "{err}");
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// The interface to listen on: an IP address (`127.0.0.1`, `0.0.0.0`, `::1`, `[::]`) or a
    /// host name (`localhost`). Default `127.0.0.1`: only this machine can connect.
    pub host: String,
    /// The TCP port. Default `3000`.
    pub port: u16,
    /// Serve HTTP/2 as well as HTTP/1.1 (prior-knowledge h2c in the clear, ALPN `h2` over TLS).
    pub http2: bool,
    /// How long a client may take to send a request's headers (from the first byte of the
    /// connection, or the end of the previous response), so also how long an idle HTTP/1.1
    /// keep-alive connection stays open (slow-loris protection). Checked every quarter of it: a
    /// late connection closes between 1 and 1.25 times it. A request whose head is in (its body
    /// uploading, its response streaming) is not bound by it.
    #[serde(
        deserialize_with = "units::de::positive_duration",
        serialize_with = "units::ser::duration"
    )]
    pub header_read_timeout: Duration,
    /// How long a TLS handshake may take.
    #[serde(
        deserialize_with = "units::de::positive_duration",
        serialize_with = "units::ser::duration"
    )]
    pub tls_handshake_timeout: Duration,
    /// How long an HTTP/2 connection may stay open without a request before it is closed (with a
    /// `GOAWAY`, so streams still running finish); checked every quarter of it.
    #[serde(
        deserialize_with = "units::de::positive_duration",
        serialize_with = "units::ser::duration"
    )]
    pub idle_timeout: Duration,
    /// After accepting stops, how long in-flight requests may take before their connections are
    /// closed.
    #[serde(
        deserialize_with = "units::de::duration",
        serialize_with = "units::ser::duration"
    )]
    pub drain_timeout: Duration,
    /// After the shutdown signal and before accepting stops, how long readiness reports "draining"
    /// while new connections are still served, so load balancers stop routing here first.
    #[serde(
        deserialize_with = "units::de::duration",
        serialize_with = "units::ser::duration"
    )]
    pub shutdown_delay: Duration,
    /// Connections served at once; further clients wait in the accept queue until one closes.
    #[serde(deserialize_with = "connections")]
    pub max_connections: usize,
    /// Most headers in one HTTP/1.1 request.
    #[serde(deserialize_with = "headers")]
    pub max_headers: usize,
    /// Largest request head (request line and headers) in bytes, from 1 KiB to 16 MiB; HTTP/1.1
    /// answers 431 beyond it, HTTP/2 bounds its header list to it.
    #[serde(deserialize_with = "header_bytes")]
    pub max_header_bytes: usize,
    /// Most concurrent HTTP/2 streams per connection.
    #[serde(deserialize_with = "streams")]
    pub http2_max_concurrent_streams: u32,
    /// `[server.tls]`: TLS, when a certificate is configured (needs the `tls` feature: without
    /// it, [`validate`](Self::validate) and the server refuse to start rather than serve in the
    /// clear).
    pub tls: Option<TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".to_string(),
            port: 3000,
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
            tls: None,
        }
    }
}

/// `[server.tls]`: where the certificate chain and private key are (PEM files). Serving TLS needs
/// the `tls` feature.
///
/// ```toml
/// [server]
/// tls = { cert = "certs/server.pem", key = "certs/server.key" }
/// ```
///
/// ```
/// use cortex_core::config::{ServerConfig, TlsConfig};
/// let server = ServerConfig {
///     tls: Some(TlsConfig { cert: "certs/server.pem".into(), key: "certs/server.key".into() }),
///     ..ServerConfig::default()
/// };
/// assert_eq!(server.scheme(), "https");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl ServerConfig {
    /// The socket address to bind.
    ///
    /// An IP address is used as is (IPv6 with or without brackets); `localhost` is `127.0.0.1`;
    /// any other host name is resolved with the system resolver (this blocks) and its first
    /// address is used. Fails with [`ConfigError::Address`] when the host is empty or does not
    /// resolve.
    ///
    /// ```
    /// use cortex_core::config::Config;
    ///
    /// let addr = |toml: &str| Config::from_toml(toml)?.server()?.addr();
    /// assert_eq!(addr("server.host = '0.0.0.0'")?.to_string(), "0.0.0.0:3000");
    /// assert_eq!(addr("server.host = '::1'")?.to_string(), "[::1]:3000");
    /// assert_eq!(addr("server.host = 'localhost'\nserver.port = 0")?.to_string(), "127.0.0.1:0");
    /// assert!(addr("server.host = ''").is_err());
    /// # Ok::<_, cortex_core::config::ConfigError>(())
    /// ```
    pub fn addr(&self) -> Result<SocketAddr, ConfigError> {
        let bad = |problem: &str| ConfigError::Address {
            host: self.host.clone(),
            port: self.port,
            problem: problem.into(),
        };
        let host = self.host.trim();
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        let unbracketed = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, self.port));
        }
        if host.eq_ignore_ascii_case("localhost") {
            return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.port));
        }
        if host.contains(':') {
            return Err(bad(
                "the host is not a valid IP address (write the port in `server.port`, not in the host)",
            ));
        }
        match (host, self.port).to_socket_addrs() {
            Ok(mut addrs) => addrs
                .next()
                .ok_or_else(|| bad("the host name resolves to no address")),
            Err(e) => Err(bad(&format!("the host name does not resolve ({e})"))),
        }
    }

    /// The URL scheme clients use: `https` when TLS is configured, otherwise `http`.
    ///
    /// ```
    /// use cortex_core::config::ServerConfig;
    /// assert_eq!(ServerConfig::default().scheme(), "http");
    /// ```
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Checks what the type cannot: the bounds the configuration file enforces, for values set in
    /// code, and that TLS is configured only in a build with the `tls` feature. The app calls it
    /// before it starts; every problem is a [`ConfigError::Invalid`] naming the key.
    ///
    /// ```
    /// use cortex_core::config::ServerConfig;
    /// use std::time::Duration;
    ///
    /// assert!(ServerConfig::default().validate().is_ok());
    /// let zero = ServerConfig { header_read_timeout: Duration::ZERO, ..ServerConfig::default() };
    /// let err = zero.validate().unwrap_err();
    /// assert_eq!(err.key(), Some("server.header_read_timeout"));
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, expected: &str, found: &'static str| ConfigError::Invalid {
            key: format!("server.{key}"),
            origin: None,
            expected: expected.to_string(),
            found,
        };
        for (key, value) in [
            ("header_read_timeout", self.header_read_timeout),
            ("tls_handshake_timeout", self.tls_handshake_timeout),
            ("idle_timeout", self.idle_timeout),
        ] {
            if value.is_zero() {
                return Err(invalid(key, "a duration above zero", "zero"));
            }
        }
        for (key, value) in [
            ("max_connections", self.max_connections),
            ("max_headers", self.max_headers),
            (
                "http2_max_concurrent_streams",
                self.http2_max_concurrent_streams as usize,
            ),
        ] {
            if value == 0 {
                return Err(invalid(key, "a whole number, at least 1", "zero"));
            }
        }
        if !(HEADER_BYTES.min..=HEADER_BYTES.max).contains(&(self.max_header_bytes as u64)) {
            return Err(invalid(
                "max_header_bytes",
                HEADER_BYTES.expecting,
                "a size out of that range",
            ));
        }
        if self.tls.is_some() && !cfg!(feature = "tls") {
            return Err(invalid(
                "tls",
                "nothing: TLS needs the `tls` feature of cortex (or cortex-core), which this build does not have",
                "a table",
            ));
        }
        Ok(())
    }
}

// The messages below are serde's "invalid value/type: …, expected …" forms: the configuration
// layer shows the "expected" part and the kind of value found, never the value (it may be a
// secret), so the expectation has to say everything.

/// A count of at least 1 and at most `max`.
struct CountVisitor {
    what: &'static str,
    max: u64,
}

impl serde::de::Visitor<'_> for CountVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if usize::try_from(self.max).is_ok_and(|max| max == usize::MAX) {
            write!(f, "a whole number of {}, at least 1", self.what)
        } else {
            write!(f, "a whole number of {} from 1 to {}", self.what, self.max)
        }
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
        if (1..=self.max).contains(&v) {
            Ok(v)
        } else {
            Err(E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
        }
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self)),
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

/// The bounds of `max_header_bytes`: a request line needs room, and a larger head is an attack.
const HEADER_BYTES: SizeVisitor = SizeVisitor {
    off: false,
    min: 1024,
    max: 16 * 1024 * 1024,
    expecting: "a size from 1KiB to 16MiB, such as \"64KiB\" or 65536",
};

fn header_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = units::de::bounded_size(d, HEADER_BYTES)?.unwrap_or_default();
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(host: &str, port: u16) -> ServerConfig {
        ServerConfig {
            host: host.into(),
            port,
            ..ServerConfig::default()
        }
    }

    #[test]
    fn ip_addresses_are_used_as_they_are() {
        assert_eq!(
            server("0.0.0.0", 80).addr().unwrap(),
            "0.0.0.0:80".parse().unwrap()
        );
        assert_eq!(server("::", 80).addr().unwrap(), "[::]:80".parse().unwrap());
        assert_eq!(
            server("[::1]", 80).addr().unwrap(),
            "[::1]:80".parse().unwrap()
        );
    }

    #[test]
    fn a_server_config_written_out_reads_back() {
        let server = ServerConfig {
            drain_timeout: Duration::from_millis(1500),
            shutdown_delay: Duration::from_secs(90),
            tls: Some(TlsConfig {
                cert: "a.pem".into(),
                key: "a.key".into(),
            }),
            ..server("0.0.0.0", 8080)
        };
        let written = serde_json::to_value(&server).unwrap();
        assert_eq!(written["drain_timeout"], "1s 500ms");
        assert_eq!(
            serde_json::from_value::<ServerConfig>(written).unwrap(),
            server
        );
    }

    #[test]
    fn validation_reports_values_set_in_code_that_the_file_would_refuse() {
        let key = |server: ServerConfig| server.validate().unwrap_err().key().map(String::from);
        assert_eq!(
            key(ServerConfig {
                max_connections: 0,
                ..ServerConfig::default()
            }),
            Some("server.max_connections".into())
        );
        assert_eq!(
            key(ServerConfig {
                max_header_bytes: 10,
                ..ServerConfig::default()
            }),
            Some("server.max_header_bytes".into())
        );
        assert!(ServerConfig::default().validate().is_ok());
    }

    #[test]
    fn a_port_inside_the_host_is_an_error_with_a_hint() {
        let err = server("127.0.0.1:80", 3000).addr().unwrap_err().to_string();
        assert!(err.contains("server.port"), "{err}");
    }
}
