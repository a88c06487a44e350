//! The `[server]` section: where the HTTP server listens.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The `[server]` section: the address the HTTP server listens on.
///
/// Both keys have defaults, so an app with no configuration listens on `127.0.0.1:3000`.
/// `CORTEX_HOST` and `CORTEX_PORT` override them (the CLI's `--port` sets `CORTEX_PORT`), as do
/// `CORTEX_SERVER__HOST` and `CORTEX_SERVER__PORT`. Port `0` asks the operating system for a free
/// port.
///
/// ```toml
/// [server]
/// host = "0.0.0.0"   # default "127.0.0.1"
/// port = 8080        # default 3000
/// ```
///
/// ```
/// use cortex_core::config::{Config, ServerConfig};
///
/// let server = Config::from_toml("[server]\nport = 8080")?.server()?;
/// assert_eq!(server.host, "127.0.0.1");
/// assert_eq!(server.port, 8080);
/// assert_eq!(server.addr()?.to_string(), "127.0.0.1:8080");
/// assert_eq!(ServerConfig::default().port, 3000);
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The interface to listen on: an IP address (`127.0.0.1`, `0.0.0.0`, `::1`, `[::]`) or a
    /// host name (`localhost`). Default `127.0.0.1`: only this machine can connect.
    pub host: String,
    /// The TCP port. Default `3000`.
    pub port: u16,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".to_string(),
            port: 3000,
        }
    }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(host: &str, port: u16) -> ServerConfig {
        ServerConfig {
            host: host.into(),
            port,
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
    fn a_port_inside_the_host_is_an_error_with_a_hint() {
        let err = server("127.0.0.1:80", 3000).addr().unwrap_err().to_string();
        assert!(err.contains("server.port"), "{err}");
    }
}
