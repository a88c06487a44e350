//! The client behind the proxies: [`ClientIp`], [`ForwardedInfo`], the [`Secure`] marker and
//! trusted-proxy resolution of `Forwarded` (RFC 7239) and `X-Forwarded-*`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use http::header::{FORWARDED, HOST};
use http::request::Parts;
use http::uri::{Authority, Scheme};
use http::{Extensions, HeaderMap, HeaderName, StatusCode};

use super::config::IpCidr;
use crate::http::Problem;

pub(crate) static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Marks a request that arrived over TLS. The server inserts it into the request's extensions
/// for connections it terminated with TLS; `Strict-Transport-Security` is only sent for such
/// requests (or for requests a trusted proxy says came over `https`).
///
/// ```
/// use cortex_core::http::middleware::Secure;
///
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(Secure);
/// assert!(request.extensions().get::<Secure>().is_some());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Secure;

/// Where a request really came from: the client address, scheme and host, after trusted proxies.
///
/// The middleware inserts it when the socket peer is a trusted proxy that sent `Forwarded` or
/// `X-Forwarded-*`. As an extractor it always succeeds when the server provides the peer address
/// (`into_make_service_with_connect_info::<SocketAddr>()`): without proxies it describes the
/// connection itself.
///
/// ```
/// use cortex_core::http::middleware::ForwardedInfo;
///
/// async fn handler(info: ForwardedInfo) -> String {
///     format!("{} via {}", info.client_ip, info.scheme)
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::get(handler));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedInfo {
    /// The client's address.
    pub client_ip: IpAddr,
    /// `http` or `https`, as the client used it.
    pub scheme: Scheme,
    /// The host the client asked for (`X-Forwarded-Host`, `Forwarded: host=`, else `Host`).
    pub host: Option<Authority>,
}

impl ForwardedInfo {
    /// Resolves the request's origin from its extensions and headers, as the extractor does:
    /// the middleware's [`ForwardedInfo`] if present, else the socket peer
    /// ([`ConnectInfo<SocketAddr>`]), the [`Secure`] marker and the `Host` header.
    pub fn from_parts(extensions: &Extensions, headers: &HeaderMap) -> Option<Self> {
        if let Some(info) = extensions.get::<ForwardedInfo>() {
            return Some(info.clone());
        }
        let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0;
        Some(ForwardedInfo {
            client_ip: peer.ip().to_canonical(),
            scheme: if extensions.get::<Secure>().is_some() {
                Scheme::HTTPS
            } else {
                Scheme::HTTP
            },
            host: headers
                .get(HOST)
                .and_then(|h| Authority::try_from(h.as_bytes()).ok()),
        })
    }
}

/// The client's IP address: from a trusted proxy's headers, else the socket peer.
///
/// ```
/// use cortex_core::http::middleware::ClientIp;
///
/// async fn handler(ClientIp(ip): ClientIp) -> String {
///     format!("hello, {ip}")
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::get(handler));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The client IP from the request's extensions (see [`ForwardedInfo::from_parts`]).
    pub fn from_extensions(extensions: &Extensions) -> Option<Self> {
        if let Some(info) = extensions.get::<ForwardedInfo>() {
            return Some(ClientIp(info.client_ip));
        }
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| ClientIp(c.0.ip().to_canonical()))
    }
}

fn no_peer() -> Problem {
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR)
        .with_detail("the client address is unknown: serve the app with into_make_service_with_connect_info::<SocketAddr>()")
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        ClientIp::from_extensions(&parts.extensions).ok_or_else(no_peer)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ForwardedInfo {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        ForwardedInfo::from_parts(&parts.extensions, &parts.headers).ok_or_else(no_peer)
    }
}

/// The configured trusted proxies.
#[derive(Debug, Clone)]
pub(crate) struct TrustedProxies {
    networks: Box<[IpCidr]>,
}

impl TrustedProxies {
    pub(crate) fn new(networks: &[IpCidr]) -> Option<Self> {
        (!networks.is_empty()).then(|| TrustedProxies {
            networks: networks.into(),
        })
    }

    /// Whether `ip` (canonical: an IPv4-mapped IPv6 address as IPv4) is a trusted proxy.
    pub(crate) fn trusts(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(ip))
    }

    /// The forwarded view of a request whose socket peer is `peer`, or `None` when the peer is
    /// not trusted or sent no forwarding headers (then the peer is the client).
    #[cfg(test)]
    fn resolve(&self, headers: &HeaderMap, peer: IpAddr) -> Option<ForwardedInfo> {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return None;
        }
        self.resolve_trusted(headers, peer)
    }

    /// [`resolve`](Self::resolve) for a peer (canonical) already known to be trusted.
    pub(crate) fn resolve_trusted(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
    ) -> Option<ForwardedInfo> {
        if headers.contains_key(FORWARDED) {
            return self.resolve_forwarded(headers, peer);
        }
        if !headers.contains_key(&X_FORWARDED_FOR)
            && !headers.contains_key(&X_FORWARDED_PROTO)
            && !headers.contains_key(&X_FORWARDED_HOST)
        {
            return None;
        }
        // Walk X-Forwarded-For from the nearest hop outwards, past every trusted proxy.
        let mut client = peer;
        let hops: Vec<&str> = headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            match parse_node(hop) {
                Some(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                None => break,
            }
        }
        let scheme = first_value(headers, &X_FORWARDED_PROTO)
            .and_then(parse_scheme)
            .unwrap_or(Scheme::HTTP);
        let host = first_value(headers, &X_FORWARDED_HOST)
            .and_then(|h| Authority::try_from(h).ok())
            .or_else(|| {
                headers
                    .get(HOST)
                    .and_then(|h| Authority::try_from(h.as_bytes()).ok())
            });
        Some(ForwardedInfo {
            client_ip: client,
            scheme,
            host,
        })
    }

    fn resolve_forwarded(&self, headers: &HeaderMap, peer: IpAddr) -> Option<ForwardedInfo> {
        let elements: Vec<Element<'_>> = headers
            .get_all(FORWARDED)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(split_unquoted(','))
            .map(Element::parse)
            .collect();
        let mut client = peer;
        let mut chosen: Option<&Element<'_>> = None;
        for element in elements.iter().rev() {
            match element.for_ip {
                Some(ip) => {
                    client = ip;
                    chosen = Some(element);
                    if !self.trusts(ip) {
                        break;
                    }
                }
                None => break,
            }
        }
        let chosen = chosen.or(elements.last());
        let scheme = chosen
            .and_then(|e| e.proto)
            .and_then(parse_scheme)
            .unwrap_or(Scheme::HTTP);
        let host = chosen
            .and_then(|e| e.host)
            .and_then(|h| Authority::try_from(h).ok())
            .or_else(|| {
                headers
                    .get(HOST)
                    .and_then(|h| Authority::try_from(h.as_bytes()).ok())
            });
        Some(ForwardedInfo {
            client_ip: client,
            scheme,
            host,
        })
    }
}

/// One `Forwarded` element: `for=...;proto=...;host=...`.
struct Element<'a> {
    for_ip: Option<IpAddr>,
    proto: Option<&'a str>,
    host: Option<&'a str>,
}

impl<'a> Element<'a> {
    fn parse(element: &'a str) -> Self {
        let mut parsed = Element {
            for_ip: None,
            proto: None,
            host: None,
        };
        for pair in split_unquoted(';')(element) {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let value = unquote(value.trim());
            match name.trim().to_ascii_lowercase().as_str() {
                "for" => parsed.for_ip = parse_node(value),
                "proto" => parsed.proto = Some(value),
                "host" => parsed.host = Some(value),
                _ => {}
            }
        }
        parsed
    }
}

/// Splits on `sep` outside double quotes.
fn split_unquoted(sep: char) -> impl Fn(&str) -> Vec<&str> {
    move |s: &str| {
        let mut parts = Vec::new();
        let (mut start, mut quoted) = (0, false);
        for (i, c) in s.char_indices() {
            if c == '"' {
                quoted = !quoted;
            } else if c == sep && !quoted {
                parts.push(&s[start..i]);
                start = i + 1;
            }
        }
        parts.push(&s[start..]);
        parts
    }
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]:80`; `None` for
/// `unknown` or obfuscated (`_hidden`) nodes.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = unquote(s.trim());
    if let Some(rest) = s.strip_prefix('[') {
        return rest
            .split(']')
            .next()?
            .parse::<IpAddr>()
            .ok()
            .map(|ip| ip.to_canonical());
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    s.parse::<SocketAddr>().ok().map(|a| a.ip().to_canonical())
}

fn first_value<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(value.split(',').next()?.trim()).filter(|v| !v.is_empty())
}

fn parse_scheme(s: &str) -> Option<Scheme> {
    if s.eq_ignore_ascii_case("https") {
        Some(Scheme::HTTPS)
    } else if s.eq_ignore_ascii_case("http") {
        Some(Scheme::HTTP)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn proxies(list: &[&str]) -> TrustedProxies {
        let nets: Vec<IpCidr> = list.iter().map(|s| s.parse().unwrap()).collect();
        TrustedProxies::new(&nets).unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn x_forwarded_for_skips_trusted_hops() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9, 10.0.0.7"),
            ("x-forwarded-proto", "https"),
        ]);
        let info = p.resolve(&h, ip("10.0.0.1")).unwrap();
        assert_eq!(info.client_ip, ip("203.0.113.9"));
        assert_eq!(info.scheme, Scheme::HTTPS);
    }

    #[test]
    fn spoofed_entries_left_of_the_client_are_ignored() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9")]);
        assert_eq!(
            p.resolve(&h, ip("10.0.0.1")).unwrap().client_ip,
            ip("203.0.113.9")
        );
    }

    #[test]
    fn untrusted_peers_are_the_client() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "1.1.1.1")]);
        assert!(p.resolve(&h, ip("192.0.2.1")).is_none());
    }

    #[test]
    fn forwarded_elements_carry_proto_and_host() {
        let p = proxies(&["127.0.0.1"]);
        let h = headers(&[(
            "forwarded",
            "for=\"[2001:db8::17]:4711\";proto=https;host=api.example.com, for=127.0.0.1",
        )]);
        let info = p.resolve(&h, ip("127.0.0.1")).unwrap();
        assert_eq!(info.client_ip, ip("2001:db8::17"));
        assert_eq!(info.scheme, Scheme::HTTPS);
        assert_eq!(info.host.unwrap().as_str(), "api.example.com");
    }

    #[test]
    fn unknown_nodes_stop_the_walk() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "203.0.113.9, unknown, 10.0.0.5")]);
        assert_eq!(
            p.resolve(&h, ip("10.0.0.1")).unwrap().client_ip,
            ip("10.0.0.5")
        );
    }
}
