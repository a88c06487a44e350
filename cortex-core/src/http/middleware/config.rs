//! `[http]` in `cortex.toml`: the middleware stack's configuration, its parsing and validation.
//!
//! Syntax is checked while deserializing (durations such as `"30s"`, sizes such as `"2MiB"` and
//! CIDR blocks, read by [`crate::config::units`]; unknown keys), semantics by
//! [`HttpConfig::validate`] (wildcard origins with credentials, header names and values, quotas).
//! Both report the field path and a hint.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, StatusCode, Uri};
use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::config::units::{self, IpCidr};

/// The HTTP middleware configuration: the `[http]` table of `cortex.toml`.
///
/// Every key is optional; [`HttpConfig::default`] is the production stack (everything on, with
/// the limits a careful operator would set), [`HttpConfig::minimal`] switches off everything
/// optional. Unknown keys are errors, so a typo never silently disables a protection.
///
/// ```
/// use cortex_core::http::middleware::HttpConfig;
/// use std::time::Duration;
///
/// let config = HttpConfig::from_toml(r#"
///     [http]
///     request_timeout = "10s"
///     body_limit = "1MiB"
///
///     [http.cors]
///     allow_origins = ["https://app.example.com"]
///
///     [http.rate_limit]
///     per_second = 20
///     burst = 40
/// "#).unwrap();
/// assert_eq!(config.request_timeout, Some(Duration::from_secs(10)));
/// assert_eq!(config.body_limit, Some(1024 * 1024));
/// assert_eq!(config.rate_limit.burst, 40);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// How long a request may take to produce its response head (`"30s"`; `"off"` disables).
    #[serde(deserialize_with = "units::de::optional_duration")]
    pub request_timeout: Option<Duration>,
    /// The status answered on timeout: 408 (default), 503 or 504.
    pub request_timeout_status: u16,
    /// The largest request body accepted (`"2MiB"`; `"off"` disables, including axum's own
    /// 2 MiB default for extractors).
    #[serde(deserialize_with = "units::de::optional_size")]
    pub body_limit: Option<u64>,
    /// `[http.request_id]`: the request id header.
    pub request_id: RequestIdConfig,
    /// `[http.trace]`: the tracing span per request.
    pub trace: TraceConfig,
    /// `[http.cors]`: cross-origin resource sharing (off until `allow_origins` lists an origin).
    pub cors: CorsConfig,
    /// `[http.security_headers]`: CSP, HSTS and friends.
    pub security_headers: SecurityHeadersConfig,
    /// `[http.compression]`: response compression.
    pub compression: CompressionConfig,
    /// `[http.rate_limit]`: GCRA rate limiting per client.
    pub rate_limit: RateLimitConfig,
    /// `[http.etag]`: ETags and conditional GET.
    pub etag: EtagConfig,
    /// `[http.trusted_proxies]`: which peers may set `X-Forwarded-*` and `Forwarded`.
    pub trusted_proxies: TrustedProxiesConfig,
    /// `[[http.static]]`: directories served as static files.
    #[serde(rename = "static")]
    pub static_files: Vec<StaticFilesConfig>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            request_timeout: Some(Duration::from_secs(30)),
            request_timeout_status: 408,
            body_limit: Some(2 * 1024 * 1024),
            request_id: RequestIdConfig::default(),
            trace: TraceConfig::default(),
            cors: CorsConfig::default(),
            security_headers: SecurityHeadersConfig::default(),
            compression: CompressionConfig::default(),
            rate_limit: RateLimitConfig::default(),
            etag: EtagConfig::default(),
            trusted_proxies: TrustedProxiesConfig::default(),
            static_files: Vec::new(),
        }
    }
}

impl HttpConfig {
    /// Everything optional off: no request id, span, CORS, security headers, compression, rate
    /// limiting or ETags. What stays are the two protections that cost nothing on the fast path:
    /// the request timeout (its timer is only armed when a handler does not answer at once) and
    /// the body limit (one header lookup).
    ///
    /// ```
    /// use cortex_core::http::middleware::HttpConfig;
    ///
    /// let config = HttpConfig::minimal();
    /// assert!(!config.rate_limit.enabled && !config.compression.enabled);
    /// assert!(config.request_timeout.is_some());
    /// ```
    pub fn minimal() -> Self {
        HttpConfig {
            request_id: RequestIdConfig {
                enabled: false,
                ..RequestIdConfig::default()
            },
            trace: TraceConfig {
                enabled: false,
                access_log: false,
                headers: Vec::new(),
            },
            cors: CorsConfig::default(),
            security_headers: SecurityHeadersConfig {
                enabled: false,
                ..SecurityHeadersConfig::default()
            },
            compression: CompressionConfig {
                enabled: false,
                ..CompressionConfig::default()
            },
            rate_limit: RateLimitConfig {
                enabled: false,
                ..RateLimitConfig::default()
            },
            etag: EtagConfig {
                enabled: false,
                ..EtagConfig::default()
            },
            ..HttpConfig::default()
        }
    }

    /// Reads the `[http]` table of a `cortex.toml` document (other tables are ignored) and
    /// validates it. Errors name the key, for example `http.cors.max_age`.
    ///
    /// ```
    /// use cortex_core::http::middleware::HttpConfig;
    ///
    /// let err = HttpConfig::from_toml("[http]\nrequest_timeout = \"30 parsecs\"").unwrap_err();
    /// assert!(err.to_string().contains("http.request_timeout"));
    /// ```
    pub fn from_toml(source: &str) -> Result<Self, HttpConfigError> {
        #[derive(Deserialize)]
        struct Document {
            #[serde(default)]
            http: HttpConfig,
        }
        let line_of = |e: &toml::de::Error| {
            e.span()
                .map(|span| 1 + source[..span.start.min(source.len())].matches('\n').count())
        };
        let deserializer = toml::Deserializer::parse(source).map_err(|e| {
            let at = line_of(&e).map_or_else(|| "TOML".to_string(), |line| format!("line {line}"));
            HttpConfigError::single(at, e.message(), Some("fix the TOML syntax".to_string()))
        })?;
        let document: Document = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let error = e.into_inner();
            let message = match line_of(&error) {
                Some(line) => format!("{} (line {line})", error.message()),
                None => error.message().to_string(),
            };
            HttpConfigError::single(
                if path == "." {
                    "http".to_string()
                } else {
                    path
                },
                message,
                None,
            )
        })?;
        document.http.validate()?;
        Ok(document.http)
    }

    /// Checks what deserialization cannot: wildcard origins with credentials, origin syntax,
    /// header names and values, quotas, static mounts. Every problem is reported, each with its
    /// field path and a hint.
    ///
    /// ```
    /// use cortex_core::http::middleware::HttpConfig;
    ///
    /// let mut config = HttpConfig::default();
    /// config.cors.allow_origins = vec!["*".into()];
    /// config.cors.allow_credentials = true;
    /// let err = config.validate().unwrap_err();
    /// assert_eq!(err.issues()[0].path, "http.cors.allow_origins");
    /// ```
    pub fn validate(&self) -> Result<(), HttpConfigError> {
        let mut issues = Vec::new();
        let mut push = |path: &str, message: String, hint: Option<&str>| {
            issues.push(ConfigIssue {
                path: path.to_string(),
                message,
                hint: hint.map(str::to_string),
            });
        };

        if !matches!(self.request_timeout_status, 408 | 503 | 504) {
            push(
                "http.request_timeout_status",
                format!("{} is not a timeout status", self.request_timeout_status),
                Some(
                    "use 408 (Request Timeout), 503 (Service Unavailable) or 504 (Gateway Timeout)",
                ),
            );
        }
        if self.request_timeout == Some(Duration::ZERO) {
            push(
                "http.request_timeout",
                "a zero timeout would fail every request".into(),
                Some("write \"off\" to disable the timeout"),
            );
        }
        for (i, header) in self.trace.headers.iter().enumerate() {
            if HeaderName::from_bytes(header.as_bytes()).is_err() {
                push(
                    &format!("http.trace.headers[{i}]"),
                    format!("{header:?} is not a valid header name"),
                    Some("list request header names, for example [\"user-agent\", \"referer\"]"),
                );
            }
        }
        if self.request_id.enabled
            && HeaderName::from_bytes(self.request_id.header.as_bytes()).is_err()
        {
            push(
                "http.request_id.header",
                format!("{:?} is not a valid header name", self.request_id.header),
                Some("use letters, digits and '-', for example \"x-request-id\""),
            );
        }

        self.cors.check(&mut push);
        self.security_headers.check(&mut push);

        if self.compression.enabled && self.compression.algorithms.is_empty() {
            push(
                "http.compression.algorithms",
                "no algorithm is enabled".into(),
                Some("list some of \"zstd\", \"br\", \"gzip\", or set enabled = false"),
            );
        }
        if self.rate_limit.enabled {
            if self.rate_limit.per_second == 0 {
                push(
                    "http.rate_limit.per_second",
                    "must be at least 1".into(),
                    Some("set enabled = false to turn rate limiting off"),
                );
            }
            if self.rate_limit.burst == 0 {
                push(
                    "http.rate_limit.burst",
                    "must be at least 1".into(),
                    Some("the burst is how many requests a client may send at once"),
                );
            }
        }

        for (i, mount) in self.static_files.iter().enumerate() {
            let path = &mount.path;
            let field = format!("http.static[{i}].path");
            if !path.starts_with('/') {
                push(
                    &field,
                    format!("{path:?} does not start with '/'"),
                    Some("for example \"/assets\""),
                );
            } else if path.len() > 1 && path.ends_with('/') {
                push(
                    &field,
                    format!("{path:?} ends with '/'"),
                    Some("remove the trailing slash"),
                );
            } else if path.contains(['{', '}', '*']) {
                push(
                    &field,
                    format!("{path:?} contains a route parameter"),
                    Some("static mounts are plain prefixes such as \"/assets\""),
                );
            }
            if let Some(value) = &mount.cache_control
                && HeaderValue::from_str(value).is_err()
            {
                push(
                    &format!("http.static[{i}].cache_control"),
                    format!("{value:?} is not a valid header value"),
                    Some("use visible ASCII, for example \"public, max-age=3600\""),
                );
            }
            if let Some(other) = self.static_files[..i]
                .iter()
                .position(|m| m.path == mount.path)
            {
                push(
                    &field,
                    format!("{path:?} is already mounted by http.static[{other}]"),
                    Some("mount each path once"),
                );
            }
        }

        if issues.is_empty() {
            Ok(())
        } else {
            Err(HttpConfigError { issues })
        }
    }
}

/// `[http.request_id]`: the request id, generated or taken from the incoming header, stored in
/// the request's extensions as [`RequestId`](super::RequestId) and echoed in the response.
///
/// ```toml
/// [http.request_id]
/// enabled = true              # default
/// header = "x-request-id"     # default
/// trust_incoming = true       # default: keep a well-formed id sent by the client or proxy
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestIdConfig {
    /// Whether request ids are assigned at all.
    pub enabled: bool,
    /// The header read from requests and written to responses.
    pub header: String,
    /// Keep an incoming id (1 to 128 visible ASCII characters) instead of generating one.
    pub trust_incoming: bool,
}

impl Default for RequestIdConfig {
    fn default() -> Self {
        RequestIdConfig {
            enabled: true,
            header: "x-request-id".into(),
            trust_incoming: true,
        }
    }
}

/// `[http.trace]`: one `tracing` span per request (`http.request`, with `method`, `route`,
/// `request_id`, then `status` and `latency_us`), and an optional access log.
///
/// The span is at `debug` level, so at the default `info` filter it is turned away at its
/// callsite and costs next to nothing; `CORTEX_LOG=info,cortex_core::http=debug` records it. An
/// enabled span is formatted when it is created, whether or not anything inside it is printed.
///
/// `access_log = true` writes one `info` event per response (target `cortex::access`, with
/// `method`, `path`, `route`, `status`, `latency_us`, `request_id`, `client_ip` and, when an
/// authentication layer set a [`LoggedUser`](crate::http::LoggedUser), `user_id`), without a
/// span: the price of the line, nothing more. Off by default, in every profile: the line costs
/// formatting and a write to standard error per request, and most deployments have an access log
/// at their load balancer already.
///
/// `headers` adds those request headers to the line (field `headers`): the credentials among
/// them (`Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`, `X-Api-Key`, `Api-Key`,
/// a header the app marks with [`App::sensitive_header`](crate::App::sensitive_header), and any
/// whose name looks secret by [`is_secret_key`](crate::config::is_secret_key)) are written as
/// `********`, keeping an authorization's scheme (`Bearer ********`).
///
/// ```toml
/// [http.trace]
/// enabled = true      # default
/// access_log = false  # default
/// headers = []        # default; e.g. ["user-agent", "referer", "authorization"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TraceConfig {
    /// Whether the span is created (when the log filter enables `debug` for `cortex_core::http`).
    pub enabled: bool,
    /// Whether each response is logged at `info`, target `cortex::access`.
    pub access_log: bool,
    /// Request headers written in the access log line, credentials masked (none by default).
    pub headers: Vec<String>,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            enabled: true,
            access_log: false,
            headers: Vec::new(),
        }
    }
}

/// `[http.cors]`: CORS with explicit allow-lists. Off while `allow_origins` is empty.
///
/// `"*"` is accepted in `allow_origins`, `allow_methods`, `allow_headers` and `expose_headers`
/// only without credentials (browsers reject the combination; [`HttpConfig::validate`] reports
/// it at startup).
///
/// ```toml
/// [http.cors]
/// allow_origins = ["https://app.example.com"]
/// allow_methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]   # default
/// allow_headers = ["authorization", "content-type", "accept", "x-request-id"]  # default
/// expose_headers = ["x-request-id"]                                    # default
/// allow_credentials = false                                            # default
/// max_age = "30m"                                                      # default
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed to read responses, such as `"https://app.example.com"`, or `["*"]`.
    pub allow_origins: Vec<String>,
    /// Methods announced in preflight responses.
    pub allow_methods: Vec<String>,
    /// Request headers announced in preflight responses.
    pub allow_headers: Vec<String>,
    /// Response headers scripts may read.
    pub expose_headers: Vec<String>,
    /// Whether cookies and `Authorization` may be sent cross-origin.
    pub allow_credentials: bool,
    /// How long browsers may cache a preflight answer.
    #[serde(deserialize_with = "units::de::duration")]
    pub max_age: Duration,
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allow_origins: Vec::new(),
            allow_methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
                .map(String::from)
                .to_vec(),
            allow_headers: ["authorization", "content-type", "accept", "x-request-id"]
                .map(String::from)
                .to_vec(),
            expose_headers: vec!["x-request-id".into()],
            allow_credentials: false,
            max_age: Duration::from_secs(30 * 60),
        }
    }
}

impl CorsConfig {
    /// Whether CORS is on (some origin is allowed).
    pub fn is_enabled(&self) -> bool {
        !self.allow_origins.is_empty()
    }

    fn check(&self, push: &mut impl FnMut(&str, String, Option<&str>)) {
        if !self.is_enabled() {
            return;
        }
        let wildcard = |list: &[String]| list.iter().any(|v| v == "*");
        if self.allow_credentials {
            for (field, list) in [
                ("allow_origins", &self.allow_origins),
                ("allow_methods", &self.allow_methods),
                ("allow_headers", &self.allow_headers),
                ("expose_headers", &self.expose_headers),
            ] {
                if wildcard(list) {
                    push(
                        &format!("http.cors.{field}"),
                        "\"*\" cannot be combined with allow_credentials = true (browsers reject it)".into(),
                        Some("list the allowed values explicitly, or set allow_credentials = false"),
                    );
                }
            }
        }
        if wildcard(&self.allow_origins) && self.allow_origins.len() > 1 {
            push(
                "http.cors.allow_origins",
                "\"*\" already allows every origin".into(),
                Some("use either [\"*\"] or a list of origins"),
            );
        }
        for (i, origin) in self.allow_origins.iter().enumerate() {
            if origin != "*"
                && let Err(hint) = check_origin(origin)
            {
                push(
                    &format!("http.cors.allow_origins[{i}]"),
                    format!("{origin:?} is not an origin"),
                    Some(&hint),
                );
            }
        }
        for (i, method) in self.allow_methods.iter().enumerate() {
            if method != "*" && Method::from_bytes(method.as_bytes()).is_err() {
                push(
                    &format!("http.cors.allow_methods[{i}]"),
                    format!("{method:?} is not an HTTP method"),
                    Some("for example \"GET\" or \"POST\""),
                );
            }
        }
        for (field, list) in [
            ("allow_headers", &self.allow_headers),
            ("expose_headers", &self.expose_headers),
        ] {
            for (i, name) in list.iter().enumerate() {
                if name != "*" && HeaderName::from_bytes(name.as_bytes()).is_err() {
                    push(
                        &format!("http.cors.{field}[{i}]"),
                        format!("{name:?} is not a header name"),
                        Some("for example \"content-type\""),
                    );
                }
            }
        }
    }
}

/// An origin is `scheme://host[:port]`, lowercase, nothing after it.
fn check_origin(origin: &str) -> Result<(), String> {
    if origin.contains('*') {
        return Err(
            "wildcard patterns are not supported; list each origin, or use [\"*\"] alone".into(),
        );
    }
    let uri: Uri = origin.parse().map_err(|_| {
        "write it as scheme://host[:port], for example \"https://app.example.com\"".to_string()
    })?;
    if uri.scheme().is_none() || uri.authority().is_none() {
        return Err(
            "write it as scheme://host[:port], for example \"https://app.example.com\"".into(),
        );
    }
    if origin.ends_with('/') || uri.path() != "/" || uri.query().is_some() {
        return Err(format!(
            "an origin has no path; write {:?}",
            format!(
                "{}://{}",
                uri.scheme_str().unwrap_or("https"),
                uri.authority().map(|a| a.as_str()).unwrap_or("")
            )
        ));
    }
    if origin.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "origins are compared exactly as browsers send them, in lowercase: {:?}",
            origin.to_ascii_lowercase()
        ));
    }
    Ok(())
}

/// `[http.security_headers]`: headers that harden browsers against framing, sniffing and
/// injection. An empty string leaves that header out; a handler that sets one itself wins.
///
/// ```toml
/// [http.security_headers]
/// enabled = true
/// csp = "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"
/// hsts = "max-age=31536000; includeSubDomains"   # sent only over TLS
/// frame_options = "DENY"
/// content_type_options = "nosniff"
/// referrer_policy = "no-referrer"
/// permissions_policy = "camera=(), microphone=(), geolocation=()"
/// coop = "same-origin"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityHeadersConfig {
    /// Whether any of these headers is sent.
    pub enabled: bool,
    /// `Content-Security-Policy`.
    pub csp: String,
    /// `Strict-Transport-Security`, sent only when the request came over TLS (the
    /// [`Secure`](super::Secure) marker, or `https` from a trusted proxy).
    pub hsts: String,
    /// `X-Frame-Options`.
    pub frame_options: String,
    /// `X-Content-Type-Options`.
    pub content_type_options: String,
    /// `Referrer-Policy`.
    pub referrer_policy: String,
    /// `Permissions-Policy`.
    pub permissions_policy: String,
    /// `Cross-Origin-Opener-Policy`.
    pub coop: String,
}

impl Default for SecurityHeadersConfig {
    fn default() -> Self {
        SecurityHeadersConfig {
            enabled: true,
            csp: "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'".into(),
            hsts: "max-age=31536000; includeSubDomains".into(),
            frame_options: "DENY".into(),
            content_type_options: "nosniff".into(),
            referrer_policy: "no-referrer".into(),
            permissions_policy: "camera=(), microphone=(), geolocation=()".into(),
            coop: "same-origin".into(),
        }
    }
}

impl SecurityHeadersConfig {
    pub(crate) fn fields(&self) -> [(&'static str, &'static str, &String); 7] {
        [
            ("csp", "content-security-policy", &self.csp),
            ("hsts", "strict-transport-security", &self.hsts),
            ("frame_options", "x-frame-options", &self.frame_options),
            (
                "content_type_options",
                "x-content-type-options",
                &self.content_type_options,
            ),
            ("referrer_policy", "referrer-policy", &self.referrer_policy),
            (
                "permissions_policy",
                "permissions-policy",
                &self.permissions_policy,
            ),
            ("coop", "cross-origin-opener-policy", &self.coop),
        ]
    }

    fn check(&self, push: &mut impl FnMut(&str, String, Option<&str>)) {
        if !self.enabled {
            return;
        }
        for (field, _, value) in self.fields() {
            if HeaderValue::from_str(value).is_err() {
                push(
                    &format!("http.security_headers.{field}"),
                    format!("{value:?} is not a valid header value"),
                    Some("use visible ASCII on one line"),
                );
            }
        }
    }
}

/// `[http.compression]`: gzip, brotli and zstd, negotiated with `Accept-Encoding`.
///
/// Bodies smaller than `min_size`, ranges, responses that already have a `Content-Encoding` and
/// already-compressed media types (images but SVG, audio, video, archives, fonts, gRPC, event
/// streams) are sent as they are. At equal `q` values the client gets zstd, then br, then gzip.
///
/// ```toml
/// [http.compression]
/// enabled = true
/// min_size = "1KiB"
/// algorithms = ["zstd", "br", "gzip"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompressionConfig {
    /// Whether responses are compressed.
    pub enabled: bool,
    /// Smallest body compressed, in bytes (`"1KiB"` or `1024`).
    #[serde(deserialize_with = "units::de::size")]
    pub min_size: u64,
    /// The encodings offered.
    pub algorithms: Vec<CompressionAlgorithm>,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        CompressionConfig {
            enabled: true,
            min_size: 1024,
            algorithms: vec![
                CompressionAlgorithm::Zstd,
                CompressionAlgorithm::Br,
                CompressionAlgorithm::Gzip,
            ],
        }
    }
}

/// A content coding offered by [`CompressionConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompressionAlgorithm {
    /// `zstd` (RFC 8878).
    Zstd,
    /// `br`, brotli (RFC 7932).
    Br,
    /// `gzip` (RFC 1952).
    Gzip,
}

/// `[http.rate_limit]`: per-client GCRA rate limiting. Over the limit, a client gets
/// `429 Too Many Requests` (problem details) with `Retry-After`.
///
/// On by default with a generous quota per client IP (100 requests a second, bursts of 200), so a
/// single misbehaving client cannot monopolise the server. Behind a reverse proxy, list it in
/// `[http.trusted_proxies]`, or every client shares the proxy's address (and its quota).
/// Requests with no identifiable client (no socket address, for example in-process tests) are
/// not limited.
///
/// ```toml
/// [http.rate_limit]
/// enabled = true
/// per_second = 100     # sustained rate per key
/// burst = 200          # requests allowed at once
/// key = "ip"           # or "user", or "header:x-api-key"
/// headers = false      # add RateLimit-Limit / RateLimit-Remaining to every response
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Whether requests are limited.
    pub enabled: bool,
    /// Requests per second replenished per key.
    pub per_second: u32,
    /// Requests a key may make at once.
    pub burst: u32,
    /// What identifies a client.
    pub key: RateLimitKeyKind,
    /// Whether every response carries `RateLimit-Limit` and `RateLimit-Remaining` (429 responses
    /// always carry `Retry-After`).
    pub headers: bool,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            per_second: 100,
            burst: 200,
            key: RateLimitKeyKind::Ip,
            headers: false,
        }
    }
}

/// What the rate limiter keys on (`key = "ip" | "user" | "header:<name>"`).
///
/// IPv6 clients are keyed by their /64 network, which is what one subscriber usually gets.
///
/// ```
/// use cortex_core::http::middleware::RateLimitKeyKind;
///
/// let kind: RateLimitKeyKind = "header:x-api-key".parse().unwrap();
/// assert_eq!(kind, RateLimitKeyKind::Header(http::HeaderName::from_static("x-api-key")));
/// assert!("cookie".parse::<RateLimitKeyKind>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RateLimitKeyKind {
    /// The client IP ([`ClientIp`](super::ClientIp)).
    #[default]
    Ip,
    /// The authenticated [`Principal`](super::Principal); anonymous requests fall back to the IP.
    User,
    /// The value of a request header (an API key); requests without it fall back to the IP.
    Header(HeaderName),
}

impl FromStr for RateLimitKeyKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ip" => Ok(RateLimitKeyKind::Ip),
            "user" => Ok(RateLimitKeyKind::User),
            _ => match s.strip_prefix("header:") {
                Some(name) => HeaderName::from_bytes(name.trim().as_bytes())
                    .map(RateLimitKeyKind::Header)
                    .map_err(|_| {
                        format!("{name:?} is not a header name (for example \"header:x-api-key\")")
                    }),
                None => Err(format!(
                    "unknown rate limit key {s:?}: use \"ip\", \"user\" or \"header:<name>\""
                )),
            },
        }
    }
}

impl<'de> Deserialize<'de> for RateLimitKeyKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(de::Error::custom)
    }
}

/// `[http.etag]`: weak ETags for `GET`/`HEAD` `200` responses of moderate size and
/// `304 Not Modified` answers to `If-None-Match` (and to `If-Modified-Since` when the response
/// has `Last-Modified`).
///
/// Bodies under `min_size` get no ETag, as they get no compression: a `304` would save the client
/// a few hundred bytes at most, while hashing and tagging cost every response.
///
/// ```toml
/// [http.etag]
/// enabled = true
/// min_size = "1KiB"     # smaller bodies get no ETag ("0" tags every body)
/// max_size = "256KiB"   # larger or streamed bodies get no ETag
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EtagConfig {
    /// Whether ETags are computed and conditional requests answered.
    pub enabled: bool,
    /// Smallest body hashed for an ETag.
    #[serde(deserialize_with = "units::de::size")]
    pub min_size: u64,
    /// Largest body hashed for an ETag.
    #[serde(deserialize_with = "units::de::size")]
    pub max_size: u64,
}

impl Default for EtagConfig {
    fn default() -> Self {
        EtagConfig {
            enabled: true,
            min_size: 1024,
            max_size: 256 * 1024,
        }
    }
}

/// `[http.trusted_proxies]`: the reverse proxies whose `Forwarded` / `X-Forwarded-For`,
/// `X-Forwarded-Proto` and `X-Forwarded-Host` headers are believed. Empty (the default) means
/// none: the client is the socket peer.
///
/// ```toml
/// [http.trusted_proxies]
/// proxies = ["127.0.0.1/32", "10.0.0.0/8", "::1"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrustedProxiesConfig {
    /// CIDR blocks (a bare address is a single host).
    pub proxies: Vec<IpCidr>,
}

/// `[[http.static]]`: a directory served under a path prefix, with `Range` requests,
/// `If-Modified-Since` and `Last-Modified`.
///
/// ```toml
/// [[http.static]]
/// path = "/assets"
/// dir = "public"
/// precompressed = false        # serve foo.js.br / .gz / .zst next to foo.js when accepted
/// index = true                 # serve index.html for directories
/// cache_control = "public, max-age=3600"   # optional
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticFilesConfig {
    /// The URL prefix, such as `"/assets"` (`"/"` serves the directory for every unmatched path).
    pub path: String,
    /// The directory, relative to the working directory.
    pub dir: PathBuf,
    /// Serve precompressed siblings (`.br`, `.gz`, `.zst`) when the client accepts them.
    #[serde(default)]
    pub precompressed: bool,
    /// Serve `index.html` for directory paths.
    #[serde(default = "yes")]
    pub index: bool,
    /// A `Cache-Control` value for these files.
    #[serde(default)]
    pub cache_control: Option<String>,
}

fn yes() -> bool {
    true
}

impl StaticFilesConfig {
    /// A mount of `dir` at `path` with the defaults.
    ///
    /// ```
    /// use cortex_core::http::middleware::StaticFilesConfig;
    ///
    /// let mount = StaticFilesConfig::new("/assets", "public");
    /// assert!(mount.index && !mount.precompressed);
    /// ```
    pub fn new(path: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        StaticFilesConfig {
            path: path.into(),
            dir: dir.into(),
            precompressed: false,
            index: true,
            cache_control: None,
        }
    }
}

/// One problem in the `[http]` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The key, such as `http.cors.allow_origins[0]`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// The `[http]` configuration is invalid: every problem found, each with its key and a hint.
///
/// ```
/// use cortex_core::http::middleware::HttpConfig;
///
/// let err = HttpConfig::from_toml("[http.cors]\nallow_origin = []").unwrap_err();
/// assert!(err.to_string().contains("unknown field `allow_origin`"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfigError {
    issues: Vec<ConfigIssue>,
}

impl HttpConfigError {
    pub(crate) fn single(
        path: impl Into<String>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        HttpConfigError {
            issues: vec![ConfigIssue {
                path: path.into(),
                message: message.into(),
                hint,
            }],
        }
    }

    /// The problems, in the order of the configuration.
    pub fn issues(&self) -> &[ConfigIssue] {
        &self.issues
    }
}

impl fmt::Display for HttpConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.issues.as_slice() {
            [one] => write!(f, "invalid HTTP configuration: {one}"),
            many => {
                write!(f, "invalid HTTP configuration ({} problems):", many.len())?;
                for issue in many {
                    write!(f, "\n  - {issue}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for HttpConfigError {}

/// A validated header value that lives as long as the process: cloning it per response is a copy,
/// not an atomic reference count shared by every core. Built once per stack, at startup.
pub(crate) fn static_value(value: &str) -> HeaderValue {
    HeaderValue::from_static(Box::leak(value.to_owned().into_boxed_str()))
}

/// The status for a timeout, as configured (validated to 408, 503 or 504).
pub(crate) fn timeout_status(config: &HttpConfig) -> StatusCode {
    StatusCode::from_u16(config.request_timeout_status).unwrap_or(StatusCode::REQUEST_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_be_bare() {
        assert!(check_origin("https://a.example").is_ok());
        assert!(check_origin("http://localhost:3000").is_ok());
        assert!(
            check_origin("https://a.example/")
                .unwrap_err()
                .contains("\"https://a.example\"")
        );
        assert!(check_origin("https://*.example").is_err());
        assert!(check_origin("a.example").is_err());
        assert!(check_origin("https://A.example").is_err());
    }

    #[test]
    fn the_default_configuration_is_valid() {
        HttpConfig::default().validate().unwrap();
        HttpConfig::minimal().validate().unwrap();
    }

    #[test]
    fn a_logged_header_that_is_not_a_header_name_is_reported_with_its_index() {
        let config: HttpConfig = crate::config::Config::from_toml(
            "[http.trace]\nheaders = ['user-agent', 'user agent']",
        )
        .unwrap()
        .get("http")
        .unwrap();
        let err = config.validate().unwrap_err();
        let issue = &err.issues()[0];
        assert_eq!(err.issues().len(), 1);
        assert_eq!(issue.path, "http.trace.headers[1]");
        assert_eq!(issue.message, "\"user agent\" is not a valid header name");
        // And an unknown key in `[http.trace]` names the key.
        let unknown = crate::config::Config::from_toml("[http.trace]\nlog_headers = []")
            .unwrap()
            .get::<HttpConfig>("http")
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("log_headers"), "{unknown}");
    }

    #[test]
    fn validation_reports_every_problem() {
        let mut config = HttpConfig::default();
        config.cors.allow_origins = vec!["*".into()];
        config.cors.allow_credentials = true;
        config.cors.allow_headers = vec!["*".into()];
        config.rate_limit.burst = 0;
        config.request_timeout_status = 500;
        let err = config.validate().unwrap_err();
        let paths: Vec<_> = err.issues().iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "http.request_timeout_status",
                "http.cors.allow_origins",
                "http.cors.allow_headers",
                "http.rate_limit.burst"
            ]
        );
    }
}
