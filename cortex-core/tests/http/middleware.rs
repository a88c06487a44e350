//! Tests for the middleware area: the production stack through the router in process
//! (`oneshot`, with `ConnectInfo` set by hand) and through real sockets on 127.0.0.1.
//!
//! They are the stack's contract: they drive it only through its public surface (`Stack`,
//! `apply`, an `App`) and observe only HTTP answers, so they would pass unchanged against an
//! ordinary stack of tower layers composed in the documented order. How the fused stack reaches
//! those answers (its prepared header maps, for one) is pinned by the unit tests next to it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Read as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path};
use axum::routing::{get, post};
use bytes::Bytes;
use cortex_core::http::middleware::{
    ClientIp, CompressionAlgorithm, Decision, ForwardedInfo, HttpConfig, RateLimitKey,
    RateLimitKeyKind, RateLimitStore, RequestId, Secure, Stack, StaticFilesConfig, apply,
};
use cortex_core::testing::CapturedSpans;
use cortex_di::BoxError;
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// helpers

/// A JSON document comfortably above the compression threshold.
fn big_json() -> String {
    let items: Vec<String> = (0..200)
        .map(|i| format!("{{\"id\":{i},\"name\":\"item number {i}\"}}"))
        .collect();
    format!("[{}]", items.join(","))
}

fn routes() -> Router {
    Router::new()
        .route("/small", get(|| async { "ok" }))
        .route(
            "/big",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], big_json()) }),
        )
        .route(
            "/png",
            get(|| async { ([(header::CONTENT_TYPE, "image/png")], vec![7u8; 4096]) }),
        )
        .route("/pending", get(std::future::pending::<&'static str>))
        .route(
            "/echo",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route("/rid", get(|id: RequestId| async move { id.to_string() }))
        .route(
            "/id",
            get(|id: RequestId, headers: HeaderMap| async move {
                format!("{id} {}", headers["x-request-id"].to_str().unwrap())
            }),
        )
        .route(
            "/ip",
            get(|ClientIp(ip): ClientIp| async move { ip.to_string() }),
        )
        .route(
            "/forwarded",
            get(|info: ForwardedInfo| async move {
                format!(
                    "{} {} {}",
                    info.client_ip,
                    info.scheme,
                    info.host.map(|h| h.to_string()).unwrap_or_default()
                )
            }),
        )
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move { id.to_string() }),
        )
        .route(
            "/framed",
            get(|| async {
                (
                    [(
                        header::CONTENT_SECURITY_POLICY,
                        "frame-ancestors https://partner.example",
                    )],
                    "framed",
                )
            }),
        )
        .route(
            "/dated",
            get(|| async {
                (
                    [
                        (header::LAST_MODIFIED, "Wed, 21 Oct 2015 07:28:00 GMT"),
                        (header::CONTENT_TYPE, "text/plain"),
                    ],
                    "dated",
                )
            }),
        )
}

fn app(config: &HttpConfig) -> Router {
    apply(routes(), config).unwrap()
}

fn peer(ip: &str) -> ConnectInfo<SocketAddr> {
    ConnectInfo(SocketAddr::new(ip.parse().unwrap(), 40_000))
}

/// A request from 192.0.2.1.
fn get_req(uri: &str) -> http::request::Builder {
    Request::get(uri).extension(peer("192.0.2.1"))
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn assert_problem(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let problem = self.json();
        assert_eq!(problem["status"], status.as_u16());
        problem
    }
}

async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

async fn fetch(app: &Router, uri: &str) -> Answer {
    send(app, get_req(uri).body(Body::empty()).unwrap()).await
}

// ---------------------------------------------------------------------------------------------
// request id and span

#[tokio::test]
async fn request_ids_are_generated_when_missing() {
    let answer = fetch(&app(&HttpConfig::default()), "/id").await;
    let id = answer.header("x-request-id").unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    // The handler saw the same id, as an extractor and in the request header.
    assert_eq!(answer.text(), format!("{id} {id}"));
}

#[tokio::test]
async fn incoming_request_ids_are_propagated() {
    let request = get_req("/id")
        .header("x-request-id", "edge-7f3a")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app(&HttpConfig::default()), request).await;
    assert_eq!(answer.header("x-request-id"), Some("edge-7f3a"));
    assert_eq!(answer.text(), "edge-7f3a edge-7f3a");
}

#[tokio::test]
async fn incoming_request_ids_are_replaced_when_not_trusted_or_malformed() {
    let mut config = HttpConfig::default();
    config.request_id.trust_incoming = false;
    let request = get_req("/id")
        .header("x-request-id", "spoofed")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app(&config), request).await;
    let id = answer.header("x-request-id").unwrap().to_string();
    assert_ne!(id, "spoofed");
    assert_eq!(
        answer.text(),
        format!("{id} {id}"),
        "the handler sees the replacement in the header too"
    );

    let request = get_req("/id")
        .header("x-request-id", "has spaces\tand tabs")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app(&HttpConfig::default()), request).await;
    assert_eq!(answer.header("x-request-id").unwrap().len(), 32);
}

#[tokio::test]
async fn the_request_id_header_name_is_configurable_and_can_be_off() {
    let mut config = HttpConfig::default();
    config.request_id.header = "x-correlation-id".into();
    let answer = fetch(&app(&config), "/rid").await;
    let id = answer.header("x-correlation-id").unwrap();
    assert_eq!(answer.text(), id, "the extractor knows the custom header");
    assert!(answer.header("x-request-id").is_none());

    let answer = fetch(&app(&HttpConfig::minimal()), "/small").await;
    assert!(answer.header("x-request-id").is_none());
}

#[tokio::test]
async fn each_request_gets_a_span_with_route_id_status_and_latency() {
    let spans = CapturedSpans::new();
    let _guard = tracing::dispatcher::set_default(&spans.dispatch());
    let app = app(&HttpConfig::default());
    // Another test thread may register the span's callsite while this subscriber is being
    // installed and leave a stale "not interested" behind (a known tracing-core race); asking
    // tracing to recompute interests, and trying again, makes the test deterministic.
    let mut recorded = None;
    for _ in 0..3 {
        tracing::callsite::rebuild_interest_cache();
        let request = get_req("/users/7")
            .header("x-request-id", "trace-me")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&app, request).await.status, StatusCode::OK);
        recorded = spans.named("http.request").into_iter().next();
        if recorded.is_some() {
            break;
        }
    }
    let fields = recorded.expect("an http.request span").fields;
    assert_eq!(fields["method"], "GET");
    assert_eq!(fields["route"], "/users/{id}");
    assert_eq!(fields["path"], "/users/7");
    assert_eq!(fields["request_id"], "trace-me");
    assert_eq!(fields["status"], "200");
    assert!(fields["latency_us"].parse::<u64>().is_ok());
}

// ---------------------------------------------------------------------------------------------
// timeout and body limit

#[tokio::test(start_paused = true)]
async fn slow_requests_time_out_with_a_408_problem() {
    let config = HttpConfig {
        request_timeout: Some(Duration::from_millis(50)),
        ..HttpConfig::default()
    };
    let answer = fetch(&app(&config), "/pending").await;
    let problem = answer.assert_problem(StatusCode::REQUEST_TIMEOUT);
    assert!(
        problem["detail"].as_str().unwrap().contains("50ms"),
        "{problem}"
    );
    // The outer layers still did their work on the timeout answer.
    assert!(answer.header("x-request-id").is_some());
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test(start_paused = true)]
async fn the_timeout_status_is_configurable() {
    let config = HttpConfig {
        request_timeout: Some(Duration::from_millis(50)),
        request_timeout_status: 503,
        ..HttpConfig::default()
    };
    fetch(&app(&config), "/pending")
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn fast_requests_are_not_affected_by_the_timeout() {
    let config = HttpConfig {
        request_timeout: Some(Duration::from_millis(1)),
        ..HttpConfig::default()
    };
    assert_eq!(fetch(&app(&config), "/small").await.status, StatusCode::OK);
}

fn body_limited(limit: u64) -> Router {
    app(&HttpConfig {
        body_limit: Some(limit),
        ..HttpConfig::default()
    })
}

#[tokio::test]
async fn bodies_over_the_limit_get_a_413_problem() {
    let app = body_limited(1024);
    let request = Request::post("/echo")
        .extension(peer("192.0.2.1"))
        .header(header::CONTENT_LENGTH, "2048")
        .body(Body::from(vec![b'a'; 2048]))
        .unwrap();
    let problem = send(&app, request)
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(problem["limit"], 1024);

    let request = Request::post("/echo")
        .extension(peer("192.0.2.1"))
        .header(header::CONTENT_LENGTH, "1000")
        .body(Body::from(vec![b'a'; 1000]))
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(
        (answer.status, answer.text().as_str()),
        (StatusCode::OK, "1000")
    );
}

#[tokio::test]
async fn streamed_bodies_over_the_limit_get_a_413_problem() {
    let app = body_limited(1024);
    let chunks = futures_util::stream::iter(
        (0..4).map(|_| Ok::<_, Infallible>(Bytes::from(vec![b'a'; 512]))),
    );
    let request = Request::post("/echo")
        .extension(peer("192.0.2.1"))
        .body(Body::from_stream(chunks))
        .unwrap();
    send(&app, request)
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_limit_above_axums_default_lifts_it() {
    let app = body_limited(4 * 1024 * 1024);
    let size = 3 * 1024 * 1024;
    let chunks = futures_util::stream::iter(
        (0..3).map(|_| Ok::<_, Infallible>(Bytes::from(vec![b'a'; 1024 * 1024]))),
    );
    let request = Request::post("/echo")
        .extension(peer("192.0.2.1"))
        .body(Body::from_stream(chunks))
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(
        (answer.status, answer.text()),
        (StatusCode::OK, size.to_string())
    );
}

// ---------------------------------------------------------------------------------------------
// CORS

fn cors_app(credentials: bool) -> Router {
    let mut config = HttpConfig::default();
    config.cors.allow_origins = vec!["https://app.example.com".into()];
    config.cors.allow_credentials = credentials;
    app(&config)
}

fn preflight(origin: &str) -> Request<Body> {
    Request::options("/small")
        .extension(peer("192.0.2.1"))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn preflights_from_allowed_origins_are_answered() {
    let answer = send(&cors_app(true), preflight("https://app.example.com")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        answer.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(
        answer
            .header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert!(
        answer
            .header("access-control-allow-headers")
            .unwrap()
            .contains("content-type")
    );
    assert_eq!(answer.header("access-control-max-age"), Some("1800"));
}

#[tokio::test]
async fn preflights_from_other_origins_get_a_403_problem() {
    let answer = send(&cors_app(false), preflight("https://evil.example")).await;
    let problem = answer.assert_problem(StatusCode::FORBIDDEN);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("https://evil.example")
    );
    assert!(answer.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cross_origin_requests_get_cors_headers_only_for_allowed_origins() {
    let app = cors_app(false);
    let request = get_req("/small")
        .header(header::ORIGIN, "https://app.example.com")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        answer.header("access-control-expose-headers"),
        Some("x-request-id")
    );

    let request = get_req("/small")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn requests_without_origin_get_no_cors_headers() {
    let answer = fetch(&cors_app(true), "/small").await;
    assert!(
        answer
            .headers
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-")),
        "{:?}",
        answer.headers
    );
    assert!(
        answer
            .headers
            .get_all(header::VARY)
            .iter()
            .any(|v| v == "origin")
    );
}

#[tokio::test]
async fn errors_from_inner_layers_carry_cors_headers() {
    let mut config = HttpConfig::default();
    config.cors.allow_origins = vec!["https://app.example.com".into()];
    config.rate_limit.per_second = 1;
    config.rate_limit.burst = 1;
    let app = app(&config);
    let request = || {
        get_req("/small")
            .header(header::ORIGIN, "https://app.example.com")
            .body(Body::empty())
            .unwrap()
    };
    send(&app, request()).await;
    let answer = send(&app, request()).await;
    answer.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
}

#[test]
fn wildcard_origins_with_credentials_are_rejected_at_startup() {
    let mut config = HttpConfig::default();
    config.cors.allow_origins = vec!["*".into()];
    config.cors.allow_credentials = true;
    let err = Stack::new(&config).unwrap_err();
    assert_eq!(err.issues()[0].path, "http.cors.allow_origins");
    assert!(err.to_string().contains("allow_credentials"), "{err}");
}

#[tokio::test]
async fn a_wildcard_origin_without_credentials_allows_everyone() {
    let mut config = HttpConfig::default();
    config.cors.allow_origins = vec!["*".into()];
    let request = get_req("/small")
        .header(header::ORIGIN, "https://anyone.example")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app(&config), request).await;
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
}

// ---------------------------------------------------------------------------------------------
// security headers

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let app = app(&HttpConfig::default());
    for uri in ["/small", "/does-not-exist"] {
        let answer = fetch(&app, uri).await;
        assert!(
            answer
                .header("content-security-policy")
                .unwrap()
                .contains("default-src 'self'"),
            "{uri}"
        );
        assert_eq!(answer.header("x-frame-options"), Some("DENY"));
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(answer.header("referrer-policy"), Some("no-referrer"));
        assert!(answer.header("permissions-policy").is_some());
        assert_eq!(
            answer.header("cross-origin-opener-policy"),
            Some("same-origin")
        );
        assert!(
            answer.header("strict-transport-security").is_none(),
            "no HSTS over plain HTTP"
        );
    }
}

#[tokio::test]
async fn hsts_is_sent_only_over_tls() {
    let app = app(&HttpConfig::default());
    let request = get_req("/small")
        .extension(Secure)
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(
        answer.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
}

/// The response's headers, in order, as (name, value) strings.
fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_string()))
        .collect()
}

/// The response's header names, sorted (a name twice is listed twice).
fn sorted_names(headers: &HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = header_list(headers)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn every_response_gets_each_header_once_wherever_the_stack_is_placed() {
    // The security headers (unless the response has its own), the response's own headers, the
    // request id and `Content-Length`, each exactly once, whatever the route, the method, the
    // stack's placement (on each route or around the router) and the response's own headers.
    // (In which order is not part of the contract: the unit tests of the middleware's `core`
    // module pin that its prepared header maps and a plain merge agree.)
    let config = HttpConfig::default();
    let per_route = app(&config);
    use tower::Layer;
    let around = Stack::new(&config).unwrap().layer().layer(routes());
    let security = [
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
        "referrer-policy",
        "permissions-policy",
        "cross-origin-opener-policy",
    ];
    for (method, uri, own) in [
        ("GET", "/small", &["content-type"][..]),
        ("HEAD", "/small", &["content-type"][..]),
        ("GET", "/big", &["content-type", "etag", "vary"][..]),
        (
            "GET",
            "/framed",
            &["content-type", "content-security-policy"][..],
        ),
        ("GET", "/dated", &["content-type", "last-modified"][..]),
        ("GET", "/does-not-exist", &[][..]),
    ] {
        let request = || {
            Request::builder()
                .method(method)
                .uri(uri)
                .extension(peer("192.0.2.1"))
                .body(Body::empty())
                .unwrap()
        };
        let answer = send(&per_route, request()).await;
        let mut expected: Vec<String> = security
            .iter()
            .copied()
            .filter(|name| !own.contains(name))
            .chain(own.iter().copied())
            .chain(["x-request-id", "content-length"])
            .map(str::to_string)
            .collect();
        expected.sort();
        assert_eq!(sorted_names(&answer.headers), expected, "{method} {uri}");
        if own.contains(&"content-security-policy") {
            assert_eq!(
                answer.header("content-security-policy"),
                Some("frame-ancestors https://partner.example"),
                "the response's own header wins"
            );
        }
        let length: usize = answer.header("content-length").unwrap().parse().unwrap();
        if method == "GET" {
            assert_eq!(length, answer.body.len(), "{method} {uri}");
        } else {
            assert!(answer.body.is_empty() && length > 0, "{method} {uri}");
        }

        // Around the whole router: the same headers with the same values (for a HEAD, axum has
        // dropped the body before the stack sees the response; see `head_and_get_share_the_etag`).
        let response = around.clone().oneshot(request()).await.unwrap();
        if method == "GET" {
            let mut per_route_list = header_list(&answer.headers);
            let mut around_list = header_list(response.headers());
            for list in [&mut per_route_list, &mut around_list] {
                list.retain(|(name, _)| name != "x-request-id");
                list.sort();
            }
            assert_eq!(around_list, per_route_list, "{method} {uri}");
        }
        assert_eq!(
            response
                .headers()
                .get("content-length")
                .map(|v| v.to_str().unwrap().to_string()),
            Some(length.to_string()),
            "{method} {uri}"
        );
    }
}

#[tokio::test]
async fn over_tls_with_a_custom_request_id_header_every_value_is_right() {
    // Over TLS (HSTS on) and with a request id under another name, values included.
    let mut config = HttpConfig::default();
    config.request_id.header = "x-correlation-id".into();
    let app = app(&config);
    let request = get_req("/small")
        .extension(Secure)
        .header("x-correlation-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    let mut expected = vec![
        "content-length",
        "content-security-policy",
        "content-type",
        "cross-origin-opener-policy",
        "permissions-policy",
        "referrer-policy",
        "strict-transport-security",
        "x-content-type-options",
        "x-correlation-id",
        "x-frame-options",
    ];
    expected.sort();
    assert_eq!(sorted_names(&answer.headers), expected);
    assert_eq!(answer.header("x-correlation-id"), Some("abc-123"));
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(answer.header("content-length"), Some("2"));
    assert_eq!(answer.header("x-frame-options"), Some("DENY"));
    assert_eq!(answer.body, "ok");
}

#[tokio::test]
async fn handlers_override_and_config_removes_security_headers() {
    let mut config = HttpConfig::default();
    config.security_headers.frame_options = String::new();
    let app = app(&config);
    let answer = fetch(&app, "/framed").await;
    assert_eq!(
        answer.header("content-security-policy"),
        Some("frame-ancestors https://partner.example")
    );
    assert!(answer.header("x-frame-options").is_none());

    config.security_headers.enabled = false;
    let answer = fetch(&self::app(&config), "/small").await;
    assert!(answer.header("content-security-policy").is_none());
    assert!(answer.header("x-content-type-options").is_none());
}

// ---------------------------------------------------------------------------------------------
// compression

fn decode(encoding: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "gzip" => {
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap();
        }
        "br" => {
            brotli::Decompressor::new(bytes, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        "zstd" => out = zstd::stream::decode_all(bytes).unwrap(),
        other => panic!("unexpected encoding {other}"),
    }
    out
}

#[tokio::test]
async fn responses_are_compressed_with_each_negotiated_algorithm() {
    let app = app(&HttpConfig::default());
    for encoding in ["gzip", "br", "zstd"] {
        let request = get_req("/big")
            .header(header::ACCEPT_ENCODING, encoding)
            .body(Body::empty())
            .unwrap();
        let answer = send(&app, request).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("content-encoding"), Some(encoding));
        assert!(
            answer
                .headers
                .get_all(header::VARY)
                .iter()
                .any(|v| v == "accept-encoding")
        );
        assert!(
            answer.body.len() < big_json().len() / 2,
            "{encoding} should shrink repetitive JSON"
        );
        assert_eq!(
            decode(encoding, &answer.body),
            big_json().as_bytes(),
            "{encoding}"
        );
    }
}

#[tokio::test]
async fn the_best_accepted_algorithm_wins() {
    let app = app(&HttpConfig::default());
    let request = get_req("/big")
        .header(header::ACCEPT_ENCODING, "gzip, br, zstd")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&app, request).await.header("content-encoding"),
        Some("zstd")
    );
    let request = get_req("/big")
        .header(header::ACCEPT_ENCODING, "gzip;q=1, br;q=0.5")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&app, request).await.header("content-encoding"),
        Some("gzip")
    );

    let mut config = HttpConfig::default();
    config.compression.algorithms = vec![CompressionAlgorithm::Gzip];
    let request = get_req("/big")
        .header(header::ACCEPT_ENCODING, "zstd, br, gzip")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&self::app(&config), request)
            .await
            .header("content-encoding"),
        Some("gzip")
    );
}

#[tokio::test]
async fn small_bodies_and_compressed_types_are_sent_as_they_are() {
    let app = app(&HttpConfig::default());
    for uri in ["/small", "/png"] {
        let request = get_req(uri)
            .header(header::ACCEPT_ENCODING, "gzip, br, zstd")
            .body(Body::empty())
            .unwrap();
        let answer = send(&app, request).await;
        assert!(answer.header("content-encoding").is_none(), "{uri}");
    }
    let answer = fetch(&app, "/big").await;
    assert!(
        answer.header("content-encoding").is_none(),
        "nothing accepted"
    );
    assert_eq!(answer.body, big_json().as_bytes());
}

// ---------------------------------------------------------------------------------------------
// rate limiting

fn rate_limited(burst: u32) -> HttpConfig {
    let mut config = HttpConfig::default();
    config.rate_limit.per_second = 1;
    config.rate_limit.burst = burst;
    config
}

async fn get_from(app: &Router, ip: &str) -> Answer {
    send(
        app,
        Request::get("/small")
            .extension(peer(ip))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn clients_over_their_quota_get_429_with_retry_after() {
    let app = app(&rate_limited(2));
    assert_eq!(get_from(&app, "192.0.2.1").await.status, StatusCode::OK);
    assert_eq!(get_from(&app, "192.0.2.1").await.status, StatusCode::OK);
    let answer = get_from(&app, "192.0.2.1").await;
    let problem = answer.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(problem["retry_after"], 1);
    // Another client has its own quota.
    assert_eq!(get_from(&app, "192.0.2.2").await.status, StatusCode::OK);
}

#[tokio::test]
async fn rate_limit_headers_can_be_sent_on_every_response() {
    let mut config = rate_limited(3);
    config.rate_limit.headers = true;
    let app = app(&config);
    let answer = get_from(&app, "192.0.2.1").await;
    assert_eq!(answer.header("ratelimit-limit"), Some("3"));
    assert_eq!(answer.header("ratelimit-remaining"), Some("2"));
}

#[tokio::test]
async fn rate_limits_can_key_on_a_header() {
    let mut config = rate_limited(1);
    config.rate_limit.key = RateLimitKeyKind::Header(http::HeaderName::from_static("x-api-key"));
    let app = app(&config);
    let with_key = |key: &'static str| {
        get_req("/small")
            .header("x-api-key", key)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&app, with_key("alpha")).await.status, StatusCode::OK);
    assert_eq!(
        send(&app, with_key("alpha")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(send(&app, with_key("beta")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn requests_without_a_client_address_are_not_limited() {
    let app = app(&rate_limited(1));
    for _ in 0..3 {
        let answer = send(&app, Request::get("/small").body(Body::empty()).unwrap()).await;
        assert_eq!(answer.status, StatusCode::OK);
    }
}

/// A store that answers later, as a networked one would: an `async fn`, awaiting before it decides.
struct Slow(Mutex<u32>);

impl RateLimitStore for Slow {
    async fn check(&self, _key: &RateLimitKey) -> Result<Decision, BoxError> {
        let calls = {
            let mut calls = self.0.lock().unwrap();
            *calls += 1;
            *calls
        };
        tokio::task::yield_now().await;
        Ok(if calls > 1 {
            Decision::deny(1, Duration::from_secs(7))
        } else {
            Decision::allow(1, 0)
        })
    }
}

/// A store whose backend is down.
struct Unreachable;

impl RateLimitStore for Unreachable {
    async fn check(&self, _key: &RateLimitKey) -> Result<Decision, BoxError> {
        tokio::task::yield_now().await;
        Err("connection refused".into())
    }
}

#[tokio::test]
async fn the_rate_limit_store_can_be_replaced() {
    let stack = Stack::new(&HttpConfig::default())
        .unwrap()
        .with_rate_limit_store(Slow(Mutex::new(0)));
    let app = stack.apply(routes());
    assert_eq!(fetch(&app, "/small").await.status, StatusCode::OK);
    let answer = fetch(&app, "/small").await;
    answer.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.header("retry-after"), Some("7"));
}

#[tokio::test]
async fn a_failing_rate_limit_store_lets_requests_through() {
    let stack = Stack::new(&HttpConfig::default())
        .unwrap()
        .with_rate_limit_store(Arc::new(Unreachable));
    let app = stack.apply(routes());
    for _ in 0..3 {
        let answer = fetch(&app, "/small").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.header("ratelimit-limit").is_none());
    }
}

/// The routes, with health probes and `/metrics` as an app would serve them.
fn with_operational_routes() -> Router {
    routes()
        .route("/health/live", get(|| async { "up" }))
        .route("/health/ready", get(|| async { "up" }))
        .route("/metrics", get(|| async { "# metrics" }))
        .route("/internal/status", get(|| async { "fine" }))
}

async fn get_path_from(app: &Router, path: &str, ip: &str) -> StatusCode {
    let request = Request::get(path)
        .extension(peer(ip))
        .body(Body::empty())
        .unwrap();
    send(app, request).await.status
}

#[tokio::test]
async fn operational_endpoints_are_never_rate_limited_while_other_routes_are() {
    // One address for everything, as behind a load balancer.
    let stack = Stack::new(&rate_limited(2)).unwrap();
    let app = stack.apply(with_operational_routes());
    for _ in 0..2 {
        assert_eq!(
            get_path_from(&app, "/small", "10.0.0.9").await,
            StatusCode::OK
        );
    }
    assert_eq!(
        get_path_from(&app, "/small", "10.0.0.9").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    for _ in 0..50 {
        for path in ["/health/live", "/health/ready", "/metrics"] {
            assert_eq!(
                get_path_from(&app, path, "10.0.0.9").await,
                StatusCode::OK,
                "{path}"
            );
        }
    }
    // Not an operational path: limited like the rest.
    assert_eq!(
        get_path_from(&app, "/internal/status", "10.0.0.9").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn probes_do_not_use_up_the_quota_of_their_address() {
    let app = Stack::new(&rate_limited(2))
        .unwrap()
        .apply(with_operational_routes());
    for _ in 0..20 {
        assert_eq!(
            get_path_from(&app, "/health/live", "10.0.0.9").await,
            StatusCode::OK
        );
    }
    assert_eq!(
        get_path_from(&app, "/small", "10.0.0.9").await,
        StatusCode::OK
    );
    assert_eq!(
        get_path_from(&app, "/small", "10.0.0.9").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn more_operational_paths_can_be_marked_and_bad_patterns_are_refused() {
    let stack = Stack::new(&rate_limited(1))
        .unwrap()
        .with_operational_path("/internal/*")
        .unwrap();
    let app = stack.apply(with_operational_routes());
    for _ in 0..5 {
        assert_eq!(
            get_path_from(&app, "/internal/status", "10.0.0.9").await,
            StatusCode::OK
        );
    }
    let err = Stack::new(&HttpConfig::default())
        .unwrap()
        .with_operational_path("internal/*")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid HTTP configuration: operational path: `internal/*` is not a path (hint: write it as the request path, starting with `/`, such as \"/metrics\" or \"/health/*\")"
    );
}

/// Records an event's fields as text.
struct Fields<'a>(&'a mut HashMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

/// Records the warnings logged while it is the default subscriber: message and fields.
#[derive(Clone, Default)]
pub(crate) struct Warnings(pub(crate) Arc<Mutex<Vec<HashMap<String, String>>>>);

impl tracing::Subscriber for Warnings {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut fields = HashMap::new();
            event.record(&mut Fields(&mut fields));
            self.0.lock().unwrap().push(fields);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The warnings caused on a fresh stack from `config` by a request with `X-Forwarded-For` from
/// each of `peers` (tried again on another thread's callsite race, see the span test).
async fn forwarding_warnings(config: &HttpConfig, peers: &[&str]) -> Vec<HashMap<String, String>> {
    let warnings = Warnings::default();
    let _guard = tracing::subscriber::set_default(warnings.clone());
    for _ in 0..3 {
        tracing::callsite::rebuild_interest_cache();
        warnings.0.lock().unwrap().clear();
        let app = apply(routes(), config).unwrap();
        for from in peers {
            let request = Request::get("/ip")
                .extension(peer(from))
                .header("x-forwarded-for", "203.0.113.50")
                .body(Body::empty())
                .unwrap();
            assert_eq!(send(&app, request).await.status, StatusCode::OK);
        }
        if !warnings.0.lock().unwrap().is_empty() {
            break;
        }
    }
    warnings.0.lock().unwrap().clone()
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_warned_about_once_naming_the_setting() {
    let warnings = forwarding_warnings(&HttpConfig::default(), &["10.0.0.9"; 5]).await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let message = &warnings[0]["message"];
    assert!(message.contains("`[http] trusted_proxies`"), "{message}");
    assert!(message.contains("[http.trusted_proxies]"), "{message}");
    assert!(message.contains("X-Forwarded-For"), "{message}");
    assert!(message.contains("10.0.0.9"), "{message}");
    assert_eq!(warnings[0]["peer"], "10.0.0.9");

    // Proxies listed, but not this peer: the warning says so.
    let mut config = HttpConfig::default();
    config.trusted_proxies.proxies = vec!["192.0.2.0/24".parse().unwrap()];
    let warnings = forwarding_warnings(&config, &["10.0.0.9", "10.0.0.9"]).await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]["message"].contains("10.0.0.9 is not in `[http] trusted_proxies`"),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn forwarding_headers_from_a_trusted_proxy_are_not_warned_about() {
    let mut config = HttpConfig::default();
    config.trusted_proxies.proxies = vec!["10.0.0.0/8".parse().unwrap()];
    // The trusted proxy's requests warn of nothing; the one from elsewhere shows the capture works.
    let warnings = forwarding_warnings(&config, &["10.0.0.9", "10.1.2.3", "192.0.2.77"]).await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["peer"], "192.0.2.77");
}

// ---------------------------------------------------------------------------------------------
// ETag and conditional GET

#[tokio::test]
async fn etags_are_added_and_if_none_match_answers_304() {
    let app = app(&HttpConfig::default());
    let first = fetch(&app, "/big").await;
    let etag = first.header("etag").unwrap().to_string();
    assert!(etag.starts_with("W/\""), "{etag}");

    for if_none_match in [
        etag.clone(),
        format!("\"nope\", {}", etag.trim_start_matches("W/")),
        "*".to_string(),
    ] {
        let request = get_req("/big")
            .header(header::IF_NONE_MATCH, &if_none_match)
            .body(Body::empty())
            .unwrap();
        let answer = send(&app, request).await;
        assert_eq!(answer.status, StatusCode::NOT_MODIFIED, "{if_none_match}");
        assert!(answer.body.is_empty());
        assert_eq!(answer.header("etag"), Some(etag.as_str()));
        assert!(answer.header("content-type").is_none());
    }

    let request = get_req("/big")
        .header(header::IF_NONE_MATCH, "W/\"stale\"")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, big_json().as_bytes());
}

#[tokio::test]
async fn small_bodies_get_no_etag_unless_min_size_says_so() {
    // Under `min_size` (1 KiB by default) a `304` would save next to nothing: no ETag, no `304`.
    let app = app(&HttpConfig::default());
    let small = fetch(&app, "/small").await;
    assert_eq!(small.status, StatusCode::OK);
    assert!(small.header("etag").is_none());
    let request = get_req("/small")
        .header(header::IF_NONE_MATCH, "*")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::OK);
    assert!(fetch(&app, "/big").await.header("etag").is_some());

    let mut config = HttpConfig::default();
    config.etag.min_size = 0;
    let app = self::app(&config);
    let small = fetch(&app, "/small").await;
    let etag = small.header("etag").unwrap().to_string();
    assert!(etag.starts_with("W/\"2-"), "{etag}");
    let request = get_req("/small")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::NOT_MODIFIED);

    // Bodies from `min_size` on are tagged.
    config.etag.min_size = big_json().len() as u64;
    assert!(
        fetch(&self::app(&config), "/big")
            .await
            .header("etag")
            .is_some()
    );
    config.etag.min_size += 1;
    assert!(
        fetch(&self::app(&config), "/big")
            .await
            .header("etag")
            .is_none()
    );
}

#[tokio::test]
async fn etags_survive_compression_and_match_every_encoding() {
    let app = app(&HttpConfig::default());
    let plain = fetch(&app, "/big")
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let request = get_req("/big")
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::IF_NONE_MATCH, &plain)
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::NOT_MODIFIED);
    assert!(answer.header("content-encoding").is_none());
}

#[tokio::test]
async fn only_successful_gets_are_tagged() {
    let app = app(&HttpConfig::default());
    let request = Request::post("/echo")
        .extension(peer("192.0.2.1"))
        .body(Body::from("x"))
        .unwrap();
    assert!(send(&app, request).await.header("etag").is_none());
    assert!(fetch(&app, "/missing").await.header("etag").is_none());
    let mut config = HttpConfig::default();
    config.etag.enabled = false;
    assert!(
        fetch(&self::app(&config), "/big")
            .await
            .header("etag")
            .is_none()
    );
}

#[tokio::test]
async fn if_modified_since_is_honoured_when_last_modified_is_present() {
    let app = app(&HttpConfig::default());
    let answer = fetch(&app, "/dated").await;
    assert!(
        answer.header("etag").is_none(),
        "a response with Last-Modified keeps its own validator"
    );

    let request = get_req("/dated")
        .header(header::IF_MODIFIED_SINCE, "Wed, 21 Oct 2015 07:28:00 GMT")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::NOT_MODIFIED);
    let request = get_req("/dated")
        .header(header::IF_MODIFIED_SINCE, "Tue, 20 Oct 2015 07:28:00 GMT")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// trusted proxies

fn behind_proxy() -> HttpConfig {
    let mut config = HttpConfig::default();
    config.trusted_proxies.proxies = vec!["10.0.0.0/8".parse().unwrap()];
    config
}

fn forwarded_request(
    uri: &str,
    peer_ip: &str,
    headers: &[(&'static str, &'static str)],
) -> Request<Body> {
    let mut builder = Request::get(uri).extension(peer(peer_ip));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn forwarded_headers_from_trusted_proxies_are_honoured() {
    let app = app(&behind_proxy());
    let request = forwarded_request(
        "/ip",
        "10.1.2.3",
        &[("x-forwarded-for", "203.0.113.7, 10.9.9.9")],
    );
    assert_eq!(send(&app, request).await.text(), "203.0.113.7");

    let request = forwarded_request(
        "/forwarded",
        "10.1.2.3",
        &[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "shop.example"),
        ],
    );
    let answer = send(&app, request).await;
    assert_eq!(answer.text(), "203.0.113.7 https shop.example");
    assert!(
        answer.header("strict-transport-security").is_some(),
        "https from a trusted proxy counts as TLS"
    );

    let request = forwarded_request(
        "/ip",
        "10.1.2.3",
        &[("forwarded", "for=198.51.100.4;proto=https")],
    );
    assert_eq!(send(&app, request).await.text(), "198.51.100.4");
}

#[tokio::test]
async fn forwarded_headers_from_untrusted_peers_are_ignored() {
    let app = app(&behind_proxy());
    let request = forwarded_request(
        "/ip",
        "192.0.2.50",
        &[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-proto", "https"),
        ],
    );
    let answer = send(&app, request).await;
    assert_eq!(answer.text(), "192.0.2.50");
    assert!(answer.header("strict-transport-security").is_none());

    // Without any trusted proxy configured, nobody is believed.
    let request = forwarded_request("/ip", "10.1.2.3", &[("x-forwarded-for", "203.0.113.7")]);
    assert_eq!(
        send(&self::app(&HttpConfig::default()), request)
            .await
            .text(),
        "10.1.2.3"
    );
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_have_their_own_quota() {
    let mut config = behind_proxy();
    config.rate_limit.per_second = 1;
    config.rate_limit.burst = 1;
    let app = app(&config);
    let from = |client: &'static str| {
        forwarded_request("/small", "10.0.0.1", &[("x-forwarded-for", client)])
    };
    assert_eq!(send(&app, from("203.0.113.1")).await.status, StatusCode::OK);
    assert_eq!(
        send(&app, from("203.0.113.1")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(send(&app, from("203.0.113.2")).await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// static files

fn static_app() -> (tempfile::TempDir, Router) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello world").unwrap();
    let mut config = HttpConfig::default();
    let mut mount = StaticFilesConfig::new("/assets", dir.path());
    mount.cache_control = Some("public, max-age=60".into());
    config.static_files = vec![mount];
    let app = app(&config);
    (dir, app)
}

#[tokio::test]
async fn static_files_are_served_with_ranges() {
    let (_dir, app) = static_app();
    let answer = fetch(&app, "/assets/hello.txt").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "hello world");
    assert_eq!(answer.header("accept-ranges"), Some("bytes"));
    assert_eq!(answer.header("cache-control"), Some("public, max-age=60"));
    assert!(answer.header("last-modified").is_some());
    assert!(
        answer.header("x-content-type-options").is_some(),
        "static files get the whole stack"
    );

    let request = get_req("/assets/hello.txt")
        .header(header::RANGE, "bytes=0-4")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(answer.text(), "hello");
    assert_eq!(answer.header("content-range"), Some("bytes 0-4/11"));

    let last_modified = fetch(&app, "/assets/hello.txt")
        .await
        .header("last-modified")
        .unwrap()
        .to_string();
    let request = get_req("/assets/hello.txt")
        .header(header::IF_MODIFIED_SINCE, last_modified)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn unsatisfiable_ranges_and_missing_files_are_problems() {
    let (_dir, app) = static_app();
    let request = get_req("/assets/hello.txt")
        .header(header::RANGE, "bytes=100-200")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    answer.assert_problem(StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(answer.header("content-range"), Some("bytes */11"));

    fetch(&app, "/assets/nope.txt")
        .await
        .assert_problem(StatusCode::NOT_FOUND);
}

#[test]
fn a_missing_static_directory_fails_at_startup() {
    let config = HttpConfig {
        static_files: vec![StaticFilesConfig::new("/assets", "/definitely/not/here")],
        ..HttpConfig::default()
    };
    let err = Stack::new(&config).unwrap_err();
    assert_eq!(err.issues()[0].path, "http.static[0].dir");
    assert!(err.to_string().contains("not a directory"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// configuration

#[test]
fn cortex_toml_configures_every_section() {
    let config = HttpConfig::from_toml(
        r#"
        [server]
        port = 8080          # other tables are not ours

        [http]
        request_timeout = "1m30s"
        body_limit = "512KiB"

        [http.request_id]
        header = "x-correlation-id"
        trust_incoming = false

        [http.cors]
        allow_origins = ["https://app.example.com", "http://localhost:3000"]
        allow_credentials = true
        max_age = "1h"

        [http.security_headers]
        csp = "default-src 'none'"
        hsts = ""

        [http.compression]
        min_size = "2KiB"
        algorithms = ["br", "gzip"]

        [http.rate_limit]
        per_second = 5
        burst = 10
        key = "header:x-api-key"

        [http.etag]
        enabled = false

        [http.trusted_proxies]
        proxies = ["127.0.0.1", "10.0.0.0/8", "fd00::/8"]

        [[http.static]]
        path = "/assets"
        dir = "public"
        precompressed = true
        "#,
    )
    .unwrap();
    assert_eq!(config.request_timeout, Some(Duration::from_secs(90)));
    assert_eq!(config.body_limit, Some(512 * 1024));
    assert_eq!(config.request_id.header, "x-correlation-id");
    assert_eq!(config.cors.max_age, Duration::from_secs(3600));
    assert_eq!(config.security_headers.hsts, "");
    assert_eq!(config.compression.min_size, 2048);
    assert_eq!(
        config.rate_limit.key,
        RateLimitKeyKind::Header(http::HeaderName::from_static("x-api-key"))
    );
    assert!(!config.etag.enabled);
    assert_eq!(config.trusted_proxies.proxies.len(), 3);
    assert!(config.trusted_proxies.proxies[0].contains(IpAddr::from([127, 0, 0, 1])));
    assert!(config.static_files[0].precompressed && config.static_files[0].index);
    // Untouched keys keep their defaults.
    assert_eq!(
        config.cors.allow_methods,
        HttpConfig::default().cors.allow_methods
    );
}

#[test]
fn off_disables_the_timeout_and_the_body_limit() {
    let config =
        HttpConfig::from_toml("[http]\nrequest_timeout = \"off\"\nbody_limit = \"off\"").unwrap();
    assert_eq!((config.request_timeout, config.body_limit), (None, None));
}

fn config_error(toml: &str) -> String {
    HttpConfig::from_toml(toml).unwrap_err().to_string()
}

#[test]
fn malformed_values_name_the_key_and_how_to_fix_it() {
    let err = config_error("[http]\nrequest_timeout = \"30 parsecs\"");
    assert!(
        err.contains("http.request_timeout")
            && err.contains("unknown unit \"parsecs\"")
            && err.contains("\"30s\""),
        "{err}"
    );

    let err = config_error("[http]\nrequest_timeout = 30");
    assert!(
        err.contains("http.request_timeout") && err.contains("write \"30s\""),
        "{err}"
    );

    let err = config_error("[http]\nbody_limit = \"2 megs\"");
    assert!(
        err.contains("http.body_limit") && err.contains("MiB"),
        "{err}"
    );

    let err = config_error("[http.trusted_proxies]\nproxies = [\"10.0.0.1/8\"]");
    assert!(
        err.contains("http.trusted_proxies.proxies[0]")
            && err.contains("did you mean \"10.0.0.0/8\""),
        "{err}"
    );

    let err = config_error("[http.trusted_proxies]\nproxies = [\"localhost\"]");
    assert!(err.contains("is not an IP address"), "{err}");

    let err = config_error("[http.rate_limit]\nkey = \"cookie\"");
    assert!(
        err.contains("http.rate_limit.key") && err.contains("\"header:<name>\""),
        "{err}"
    );

    let err = config_error("[http.compression]\nalgorithms = [\"lz4\"]");
    assert!(
        err.contains("http.compression.algorithms") && err.contains("zstd"),
        "{err}"
    );
}

#[test]
fn unknown_keys_are_errors() {
    let err = config_error("[http]\nrequest_timout = \"5s\"");
    assert!(
        err.contains("unknown field `request_timout`") && err.contains("request_timeout"),
        "{err}"
    );

    let err = config_error("[http.cors]\nallowed_origins = []");
    assert!(
        err.contains("http.cors") && err.contains("allowed_origins") && err.contains("(line 2)"),
        "{err}"
    );

    let err = config_error("[server]\nport = 1\n[http\n");
    assert!(
        err.contains("line 3") && err.contains("TOML syntax"),
        "{err}"
    );
}

#[test]
fn semantic_errors_are_all_reported_with_hints() {
    let err = HttpConfig::from_toml(
        r#"
        [http.cors]
        allow_origins = ["https://app.example.com/", "*"]
        allow_credentials = true

        [http.rate_limit]
        per_second = 0
        "#,
    )
    .unwrap_err();
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "http.cors.allow_origins",
            "http.cors.allow_origins",
            "http.cors.allow_origins[0]",
            "http.rate_limit.per_second"
        ]
    );
    let text = err.to_string();
    assert!(
        text.contains("4 problems") && text.contains("write \"https://app.example.com\""),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// through a real socket

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// Sends one raw HTTP/1.1 request (the connection closes after it) and parses the answer.
async fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut bytes = Vec::new();
    // The server may close early (an oversized upload); whatever arrived is the answer.
    let _ = stream.read_to_end(&mut bytes).await;
    parse_response(&bytes)
}

fn parse_response(bytes: &[u8]) -> Answer {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = std::str::from_utf8(&bytes[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            value.trim().parse().unwrap(),
        );
    }
    let mut body = bytes[split + 4..].to_vec();
    if headers
        .get(header::TRANSFER_ENCODING)
        .is_some_and(|v| v == "chunked")
    {
        body = dechunk(&body);
    }
    Answer {
        status: StatusCode::from_u16(status).unwrap(),
        headers,
        body: body.into(),
    }
}

fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&bytes[..line_end]).unwrap().trim(), 16)
                .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&bytes[line_end + 2..line_end + 2 + size]);
        bytes = &bytes[line_end + 2 + size + 2..];
    }
}

fn raw_get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n")
}

#[tokio::test]
async fn over_a_socket_the_client_ip_and_headers_are_right() {
    let addr = serve(app(&HttpConfig::default())).await;
    let answer = raw(addr, &raw_get("/ip", ""), b"").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "127.0.0.1");
    assert_eq!(answer.header("x-request-id").map(str::len), Some(32));
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));

    let answer = raw(
        addr,
        &raw_get("/ip", "X-Forwarded-For: 203.0.113.9\r\n"),
        b"",
    )
    .await;
    assert_eq!(
        answer.text(),
        "127.0.0.1",
        "loopback is not a trusted proxy unless configured"
    );
}

#[tokio::test]
async fn over_a_socket_trusted_proxies_and_compression_work() {
    let mut config = HttpConfig::default();
    config.trusted_proxies.proxies = vec!["127.0.0.1".parse().unwrap()];
    let addr = serve(app(&config)).await;
    let answer = raw(
        addr,
        &raw_get("/ip", "X-Forwarded-For: 203.0.113.9\r\n"),
        b"",
    )
    .await;
    assert_eq!(answer.text(), "203.0.113.9");

    let answer = raw(addr, &raw_get("/big", "Accept-Encoding: br\r\n"), b"").await;
    assert_eq!(answer.header("content-encoding"), Some("br"));
    assert_eq!(decode("br", &answer.body), big_json().as_bytes());
}

#[tokio::test]
async fn over_a_socket_rate_limits_and_body_limits_apply() {
    let mut config = rate_limited(2);
    config.body_limit = Some(1024);
    let addr = serve(app(&config)).await;
    assert_eq!(
        raw(addr, &raw_get("/small", ""), b"").await.status,
        StatusCode::OK
    );

    let upload = vec![b'a'; 4096];
    let chunked = format!(
        "{:x}\r\n{}\r\n0\r\n\r\n",
        upload.len(),
        String::from_utf8(upload).unwrap()
    );
    let head = "POST /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
    raw(addr, head, chunked.as_bytes())
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE);

    let answer = raw(addr, &raw_get("/small", ""), b"").await;
    answer.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn over_a_socket_etags_answer_304_without_a_body() {
    let addr = serve(app(&HttpConfig::default())).await;
    let first = raw(addr, &raw_get("/big", ""), b"").await;
    let etag = first.header("etag").unwrap().to_string();
    let answer = raw(
        addr,
        &raw_get("/big", &format!("If-None-Match: {etag}\r\n")),
        b"",
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_MODIFIED);
    assert!(answer.body.is_empty());
    assert!(answer.header("content-length").is_none());
}

// ---------------------------------------------------------------------------------------------
// the stack around a whole router, headers from several concerns

#[tokio::test]
async fn the_stack_can_wrap_a_whole_router() {
    use tower::Layer;
    let stack = Stack::new(&rate_limited(1)).unwrap();
    let service = stack.layer().layer(routes());
    let call = |uri: &str| {
        service
            .clone()
            .oneshot(get_req(uri).body(Body::empty()).unwrap())
    };
    let response = call("/big").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
    assert!(response.headers().contains_key("etag"));
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let response = call("/big").await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn vary_lists_every_negotiated_header() {
    let app = cors_app(false);
    let request = get_req("/big")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    let vary: Vec<_> = answer
        .headers
        .get_all(header::VARY)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        vary.contains(&"accept-encoding") && vary.contains(&"origin"),
        "{vary:?}"
    );
}

#[tokio::test]
async fn head_and_get_share_the_etag() {
    let app = app(&HttpConfig::default());
    let get = fetch(&app, "/big").await;
    let head_request = || {
        Request::head("/big")
            .extension(peer("192.0.2.1"))
            .body(Body::empty())
            .unwrap()
    };
    let head = send(&app, head_request()).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), get.header("etag"));

    // Around the whole router, axum has dropped a HEAD body before the stack sees the response:
    // no ETag rather than a wrong one.
    use tower::Layer;
    let service = Stack::new(&HttpConfig::default())
        .unwrap()
        .layer()
        .layer(routes());
    let response = service.oneshot(head_request()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response.headers().contains_key("etag"));
}

// ---------------------------------------------------------------------------------------------
// the minimal stack

#[tokio::test]
async fn the_minimal_stack_keeps_only_the_free_protections() {
    let app = app(&HttpConfig::minimal());
    let request = get_req("/big")
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::ORIGIN, "https://x.example")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::OK);
    let ours = [
        "x-request-id",
        "etag",
        "content-encoding",
        "content-security-policy",
        "vary",
        "access-control-allow-origin",
    ];
    for name in ours {
        assert!(
            answer.header(name).is_none(),
            "{name} in {:?}",
            answer.headers
        );
    }
    let request = Request::post("/echo")
        .header(header::CONTENT_LENGTH, "3000000")
        .body(Body::from(vec![0u8; 3_000_000]))
        .unwrap();
    send(&app, request)
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
}

// ---------------------------------------------------------------------------------------------
// the order of the concerns, as seen from outside
//
// These tests, like the rest of this file, drive the stack only through its public surface:
// they are its contract, and would pass unchanged against an ordinary stack of tower layers
// composed in the documented order.

/// The routes, plus one that panics and one that fails with a 5xx `HttpError`.
fn failing_routes() -> Router {
    routes()
        .route(
            "/panic",
            get(|| async {
                panic!("the database password is hunter2");
                #[allow(unreachable_code)]
                ""
            }),
        )
        .route(
            "/unavailable",
            get(|| async {
                Err::<&str, _>(cortex_core::http::HttpError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the upstream is down",
                ))
            }),
        )
}

/// `failing_routes` behind the stack twice over: as an app serves them (the stack doing the
/// container's and the problem layer's work), and as an ordinary composition of the stack and
/// `ProblemLayer` (`Stack::apply_with`).
async fn failing_apps(config: &HttpConfig) -> Vec<(&'static str, Router)> {
    let app = cortex_core::App::new()
        .http_config(config.clone())
        .router(failing_routes())
        .build()
        .await
        .unwrap();
    let composed = Stack::new(config)
        .unwrap()
        .apply_with(failing_routes(), cortex_core::http::ProblemLayer::new());
    vec![("app", app.router()), ("apply_with", composed)]
}

#[tokio::test]
async fn a_panic_answers_a_500_problem_with_the_request_id_and_the_outer_headers() {
    for (name, app) in failing_apps(&HttpConfig::default()).await {
        let request = get_req("/panic")
            .header("x-request-id", "panic-42")
            .body(Body::empty())
            .unwrap();
        let answer = send(&app, request).await;
        let problem = answer.assert_problem(StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!answer.text().contains("hunter2"), "{name}: {problem}");
        assert_eq!(answer.header("x-request-id"), Some("panic-42"), "{name}");
        assert_eq!(problem["request_id"], "panic-42", "{name}");
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        // Still serving.
        assert_eq!(fetch(&app, "/small").await.status, StatusCode::OK, "{name}");
    }
}

#[tokio::test]
async fn a_handlers_5xx_problem_carries_the_request_id_the_stack_assigned() {
    for (name, app) in failing_apps(&HttpConfig::default()).await {
        let answer = fetch(&app, "/unavailable").await;
        let problem = answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE);
        let id = answer.header("x-request-id").expect("a generated id");
        assert_eq!(problem["request_id"], id, "{name}");
        assert_eq!(answer.header("x-frame-options"), Some("DENY"), "{name}");
    }
}

#[tokio::test]
async fn answers_of_the_inner_concerns_carry_the_request_id_and_security_headers() {
    // 429 (rate limit) and 413 (body limit) are answered inside the core concern: it still
    // echoes the request id and adds the security headers (408: see the timeout tests).
    let mut config = rate_limited(1);
    config.body_limit = Some(16);
    let app = app(&config);
    let oversized = Request::post("/echo")
        .extension(peer("192.0.2.7"))
        .header("x-request-id", "big-1")
        .header(header::CONTENT_LENGTH, "64")
        .body(Body::from(vec![b'a'; 64]))
        .unwrap();
    let answer = send(&app, oversized).await;
    answer.assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.header("x-request-id"), Some("big-1"));
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));

    let limited = || {
        get_req("/small")
            .header("x-request-id", "many-2")
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&app, limited()).await.status, StatusCode::OK);
    let answer = send(&app, limited()).await;
    answer.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.header("x-request-id"), Some("many-2"));
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    assert!(answer.header("content-security-policy").is_some());
}

#[tokio::test]
async fn a_client_over_its_quota_is_refused_before_its_body_is_looked_at() {
    let mut config = rate_limited(1);
    config.body_limit = Some(16);
    let app = app(&config);
    assert_eq!(fetch(&app, "/small").await.status, StatusCode::OK);
    let oversized = get_req("/echo")
        .method("POST")
        .header(header::CONTENT_LENGTH, "64")
        .body(Body::from(vec![b'a'; 64]))
        .unwrap();
    send(&app, oversized)
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn preflights_are_answered_before_the_rate_limiter_and_use_none_of_the_quota() {
    let mut config = rate_limited(1);
    config.cors.allow_origins = vec!["https://app.example.com".into()];
    let app = app(&config);
    for _ in 0..3 {
        let answer = send(&app, preflight("https://app.example.com")).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.header("x-request-id").is_some());
    }
    // A refused preflight is answered there too.
    send(&app, preflight("https://evil.example"))
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    // The quota of 1 is still whole.
    assert_eq!(fetch(&app, "/small").await.status, StatusCode::OK);
    fetch(&app, "/small")
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS);
}

/// A rate-limit store that never decides, as a networked one that hangs.
struct Hanging;

impl RateLimitStore for Hanging {
    async fn check(&self, _key: &RateLimitKey) -> Result<Decision, BoxError> {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn the_timeout_also_bounds_a_rate_limit_store_that_hangs() {
    let config = HttpConfig {
        request_timeout: Some(Duration::from_millis(50)),
        ..HttpConfig::default()
    };
    let app = Stack::new(&config)
        .unwrap()
        .with_rate_limit_store(Hanging)
        .apply(routes());
    let answer = fetch(&app, "/small").await;
    answer.assert_problem(StatusCode::REQUEST_TIMEOUT);
    assert!(answer.header("x-request-id").is_some());
}

#[tokio::test]
async fn error_responses_are_neither_tagged_nor_compressed_but_carry_the_outer_headers() {
    let app = app(&HttpConfig::default());
    let request = get_req("/does-not-exist")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.header("etag").is_none());
    assert!(answer.header("content-encoding").is_none());
    assert!(answer.header("x-request-id").is_some());
    assert_eq!(answer.header("referrer-policy"), Some("no-referrer"));
}
