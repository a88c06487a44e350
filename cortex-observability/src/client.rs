//! [`HttpClient`]: outgoing HTTP calls that carry the request id and, with the `otel` feature,
//! the trace (W3C `traceparent`, `tracestate`, `baggage`), each call a `client` span.
//!
//! # Why hyper with rustls
//!
//! An app calls real APIs over HTTPS, so the client speaks TLS (rustls with the `ring` provider,
//! which the server's TLS already compiles, and the Mozilla root certificates built in: no
//! system certificate store needed in a slim container image) and HTTP/1.1 and HTTP/2 (ALPN).
//! It is hyper's own client (`hyper-util`), which the server already compiles: `reqwest` would
//! add its own stack (redirects, cookies, proxies, decompression) that a service-to-service call
//! rarely needs, at a larger compile. The OTLP exporter sends through the same client.
//!
//! The client does not follow redirects, and a response body is read whole (up to
//! [`MAX_BODY`]).

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tracing::{Instrument, Span};

/// The hyper client both the exporter and [`HttpClient`] use.
pub(crate) type Hyper = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The largest response body [`HttpClient`] reads: 16 MiB.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// The header the request id is sent in.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub(crate) fn hyper_client() -> Result<Hyper, String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No answer (head and body) within the client's timeout.
    #[error("{method} {url}: no answer within {timeout:?}")]
    Timeout {
        /// The method.
        method: http::Method,
        /// The URL, without its query.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The connection or the exchange failed.
    #[error("{method} {url}: {source}")]
    Transport {
        /// The method.
        method: http::Method,
        /// The URL, without its query.
        url: String,
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// An HTTP client for calls to other services: HTTPS, a timeout on every call, the current
/// request's id in `x-request-id`, and (feature `otel`, tracing on) the current trace in W3C
/// `traceparent`/`tracestate`/`baggage` with a `client` span per call, so that the service called
/// continues the trace.
///
/// The `ObservabilityPlugin` provides one as a singleton (inject it: `Inject<HttpClient>`);
/// cloning it shares its connection pool.
///
/// ```no_run
/// use cortex_observability::client::HttpClient;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = HttpClient::new()?;
/// let response = client.get("https://api.example.com/v1/rates").await?;
/// assert!(response.status().is_success());
/// let body: &[u8] = response.body();
/// # let _ = body;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: Hyper,
    timeout: Duration,
}

impl HttpClient {
    /// The timeout when none is given: 30 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A client with the [default timeout](Self::DEFAULT_TIMEOUT).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let client = cortex_observability::client::HttpClient::new().unwrap();
    /// assert_eq!(client.timeout(), std::time::Duration::from_secs(30));
    /// # }
    /// ```
    pub fn new() -> Result<Self, ClientError> {
        let client = hyper_client().map_err(|e| ClientError::Transport {
            method: http::Method::GET,
            url: String::new(),
            source: e.into(),
        })?;
        Ok(HttpClient {
            client,
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// The same client (sharing its connections) with another timeout for the whole call.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// let client = cortex_observability::client::HttpClient::new().unwrap();
    /// assert_eq!(client.with_timeout(Duration::from_secs(2)).timeout(), Duration::from_secs(2));
    /// # }
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        HttpClient {
            client: self.client.clone(),
            timeout,
        }
    }

    /// The timeout of a call (head and body).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `GET url`.
    ///
    /// ```no_run
    /// # async fn run(client: cortex_observability::client::HttpClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let rates = client.get("https://api.example.com/v1/rates").await?;
    /// # let _ = rates; Ok(()) }
    /// ```
    pub async fn get(&self, url: &str) -> Result<Response<Bytes>, ClientError> {
        let request = Request::get(url)
            .body(Bytes::new())
            .map_err(|e| ClientError::Transport {
                method: http::Method::GET,
                url: without_query(url),
                source: e.into(),
            })?;
        self.send(request).await
    }

    /// Sends `request` and reads the whole response, adding the request id and the trace
    /// headers (a header the request already has is kept).
    ///
    /// ```no_run
    /// # async fn run(client: cortex_observability::client::HttpClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let request = http::Request::post("https://api.example.com/v1/orders")
    ///     .header("content-type", "application/json")
    ///     .body(bytes::Bytes::from_static(br#"{"sku":"A1"}"#))?;
    /// let created = client.send(request).await?;
    /// # let _ = created; Ok(()) }
    /// ```
    pub async fn send(&self, mut request: Request<Bytes>) -> Result<Response<Bytes>, ClientError> {
        if !request.headers().contains_key(&REQUEST_ID)
            && let Some(id) = cortex_core::http::current_request_id()
            && let Ok(value) = HeaderValue::from_str(&id)
        {
            request.headers_mut().insert(REQUEST_ID, value);
        }
        let method = request.method().clone();
        let url = without_query(&request.uri().to_string());
        let span = client_span(&request, &url);
        let timeout = self.timeout;
        let client = self.client.clone();
        let transport = |source: Box<dyn std::error::Error + Send + Sync>| ClientError::Transport {
            method: method.clone(),
            url: url.clone(),
            source,
        };
        let call = async {
            #[cfg(feature = "otel")]
            if !Span::current().is_disabled() && !request.headers().contains_key("traceparent") {
                // Inside the client span: its context is current.
                crate::traces::inject(request.headers_mut());
            }
            let response = client
                .request(request.map(Full::new))
                .await
                .map_err(|e| transport(e.into()))?;
            let status = response.status();
            let span = Span::current();
            span.record("http.response.status_code", status.as_u16());
            if status.is_server_error() {
                span.record("otel.status_code", "error");
            }
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(transport)?
                .to_bytes();
            Ok(Response::from_parts(parts, body))
        };
        let outcome = tokio::time::timeout(timeout, call.instrument(span.clone())).await;
        let outcome = outcome.unwrap_or_else(|_| {
            Err(ClientError::Timeout {
                method: method.clone(),
                url: url.clone(),
                timeout,
            })
        });
        if outcome.is_err() {
            span.record("otel.status_code", "error");
        }
        outcome
    }
}

/// The call's span, when spans are exported: `info`, OpenTelemetry's HTTP client conventions.
fn client_span(request: &Request<Bytes>, url: &str) -> Span {
    if !cortex_core::logging::span_wanted() {
        return Span::none();
    }
    let uri = request.uri();
    tracing::info_span!(
        "http.client",
        otel.name = %request.method(),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        http.request.method = %request.method(),
        url.full = url,
        server.address = uri.host(),
        server.port = uri.port_u16().or_else(|| match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        }),
        http.response.status_code = tracing::field::Empty,
    )
}

/// `url` without its query and fragment (which may hold secrets: tokens, API keys).
fn without_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

/// Provides the client as a singleton.
pub(crate) fn install(app: cortex_core::App) -> cortex_core::App {
    match HttpClient::new() {
        Ok(client) => {
            app.provide(cortex_di::Provider::value(client).declared_by("ObservabilityPlugin"))
        }
        Err(error) => app.fail(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_query_and_fragment() {
        assert_eq!(
            without_query("https://api.example.com/v1/x?token=s3cret#frag"),
            "https://api.example.com/v1/x"
        );
        assert_eq!(without_query("http://a/b"), "http://a/b");
    }
}
