//! OpenTelemetry traces (feature `otel`): OTLP export, W3C propagation, trace ids in logs.
//!
//! An OTLP/HTTP receiver runs inside the test process (axum on 127.0.0.1:0, decoding the protobuf
//! with `opentelemetry-proto`'s types). The pipeline and the `tracing` subscriber are global, so
//! the receiver and a JSON log capture are set up once per process; every test uses routes of its
//! own and finds its spans by them, so the tests hold when `cargo test` runs them in one process
//! (apps then share the pipeline, and the last to shut down stops it) as well as under nextest
//! (a process per test). The sampling test changes the process's ratio: it takes the lock the
//! other tests share.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use cortex_core::App;
use cortex_core::config::Config;
use cortex_core::logging::{self, LogConfig};
use cortex_core::testing::CapturedLogs;
use cortex_observability::ObservabilityPlugin;
use cortex_observability::client::HttpClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;

/// One exported span, flattened.
#[derive(Debug, Clone)]
struct Exported {
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    /// OTLP's `SpanKind`: 2 server, 3 client.
    kind: i32,
    /// OTLP's `StatusCode`: 2 error.
    status: i32,
    attributes: BTreeMap<String, String>,
    resource: BTreeMap<String, String>,
}

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const ERROR: i32 = 2;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// What the test process shares: the receiver's address and spans, the JSON log lines.
struct Shared {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<Exported>>>,
    logs: CapturedLogs,
    /// Whether this test process logs through the capture (another test may have installed a
    /// subscriber first under `cargo test`).
    logs_captured: bool,
}

/// Tests that read the sampling ratio share this lock; the sampling test takes it alone.
static RATIO_LOCK: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let logs = CapturedLogs::new();
        let config =
            LogConfig::from_config(&Config::from_toml("[log]\nformat = 'json'").unwrap()).unwrap();
        let logs_captured = logging::init_with_writer(&config, logs.clone());
        let spans = Arc::new(Mutex::new(Vec::new()));
        let stored = spans.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let http_store = stored.clone();
                let receive = move |body: Bytes| {
                    let stored = http_store.clone();
                    async move {
                        store(&stored, ExportTraceServiceRequest::decode(body).unwrap());
                        // An empty ExportTraceServiceResponse.
                        Vec::<u8>::new()
                    }
                };
                // OTLP over gRPC: one length-prefixed message in, an empty one out, status 0 in
                // the trailers (HTTP/2 without TLS, as tonic speaks it to an `http://` endpoint).
                let receive_grpc = move |body: Bytes| {
                    let stored = stored.clone();
                    async move {
                        let length = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
                        let message = ExportTraceServiceRequest::decode(&body[5..5 + length]);
                        store(&stored, message.unwrap());
                        let mut trailers = http::HeaderMap::new();
                        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                        let frames = futures_util::stream::iter([
                            Ok::<_, std::convert::Infallible>(http_body::Frame::data(
                                Bytes::from_static(&[0, 0, 0, 0, 0]),
                            )),
                            Ok(http_body::Frame::trailers(trailers)),
                        ]);
                        http::Response::builder()
                            .header("content-type", "application/grpc")
                            .body(axum::body::Body::new(http_body_util::StreamBody::new(
                                frames,
                            )))
                            .unwrap()
                    }
                };
                let router = Router::new().route("/v1/traces", post(receive)).route(
                    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                    post(receive_grpc),
                );
                axum::serve(listener, router).await.unwrap();
            });
        });
        Shared {
            addr: rx.recv().unwrap(),
            spans,
            logs,
            logs_captured,
        }
    })
}

/// Flattens and keeps the spans of one export.
fn store(stored: &Mutex<Vec<Exported>>, request: ExportTraceServiceRequest) {
    let mut spans = stored.lock().unwrap();
    for resource_spans in request.resource_spans {
        let resource: BTreeMap<String, String> = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
            .collect();
        for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
            spans.push(Exported {
                name: span.name,
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: hex(&span.parent_span_id),
                kind: span.kind,
                status: span.status.map_or(0, |s| s.code),
                attributes: span
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
                    .collect(),
                resource: resource.clone(),
            });
        }
    }
}

/// The spans exported so far whose attributes or name mention `marker` (a test's own route
/// prefix), and their traces' other spans.
fn spans_of(marker: &str) -> Vec<Exported> {
    let spans = shared().spans.lock().unwrap().clone();
    let traces: Vec<String> = spans
        .iter()
        .filter(|s| s.name.contains(marker) || s.attributes.values().any(|v| v.contains(marker)))
        .map(|s| s.trace_id.clone())
        .collect();
    spans
        .into_iter()
        .filter(|s| traces.contains(&s.trace_id))
        .collect()
}

/// Polls the receiver until `done` holds for `marker`'s spans (10 s at most).
async fn wait_for(marker: &str, done: impl Fn(&[Exported]) -> bool) -> Vec<Exported> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let spans = spans_of(marker);
        if done(&spans) {
            return spans;
        }
        assert!(
            Instant::now() < deadline,
            "the spans of {marker} never arrived as expected; got {spans:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An app exporting to the receiver, with `extra` TOML under `[observability.tracing]`.
fn app(extra: &str, router: Router) -> App {
    let toml = format!(
        "[observability]\nservice_name = 'traced'\n[observability.tracing]\nenabled = true\nendpoint = 'http://{}'\nservice_version = '1.2.3'\n{extra}",
        shared().addr
    );
    App::with_config(Config::from_toml(&toml).unwrap())
        .plugin(ObservabilityPlugin)
        .router(router)
}

async fn serve(app: App) -> cortex_core::Running {
    app.build()
        .await
        .expect("the app builds")
        .bind_to(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("the app serves")
}

fn client() -> HttpClient {
    HttpClient::new()
        .unwrap()
        .with_timeout(Duration::from_secs(5))
}

/// `GET path` over a plain connection: no client, no span, no `traceparent`.
async fn raw_get(addr: SocketAddr, path: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&response)
    );
}

fn server_span<'a>(spans: &'a [Exported], name: &str) -> &'a Exported {
    spans
        .iter()
        .find(|s| s.kind == SERVER && s.name == name)
        .unwrap_or_else(|| panic!("no server span {name} in {spans:#?}"))
}

#[tokio::test]
async fn a_request_span_is_named_after_its_route_and_flushed_on_shutdown() {
    let _ratio = RATIO_LOCK.read().await;
    let router = Router::new().route(
        "/t1/users/{id}",
        get(|| async {
            let span = tracing::info_span!("load_user");
            let _entered = span.enter();
            tracing::info!("loading");
            "ada"
        }),
    );
    let running = serve(app("", router)).await;
    let url = format!("http://{}/t1/users/7?token=s3cret", running.local_addr());
    let response = client().get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    // The plugin provides the client to inject.
    let provided: cortex_di::Inject<HttpClient> = running.container().get().unwrap();
    assert_eq!(provided.timeout(), HttpClient::DEFAULT_TIMEOUT);
    running.shutdown().await.unwrap();

    // Flushed by the shutdown: there without waiting for the batch's 5 s.
    let spans = spans_of("/t1/users");
    let server = server_span(&spans, "GET /t1/users/{id}");
    for (key, value) in [
        ("http.request.method", "GET"),
        ("http.route", "/t1/users/{id}"),
        ("url.path", "/t1/users/7"),
        ("client.address", "127.0.0.1"),
        ("http.response.status_code", "200"),
    ] {
        assert_eq!(
            server.attributes.get(key).map(String::as_str),
            Some(value),
            "{key} in {server:#?}"
        );
    }
    assert!(server.attributes.contains_key("request_id"), "{server:#?}");
    assert_ne!(server.status, ERROR);
    for (key, value) in [
        ("service.name", "traced"),
        ("service.version", "1.2.3"),
        ("deployment.environment.name", "dev"),
    ] {
        assert_eq!(
            server.resource.get(key).map(String::as_str),
            Some(value),
            "{key}"
        );
    }
    let child = spans
        .iter()
        .find(|s| s.name == "load_user")
        .expect("the handler's span is exported");
    assert_eq!(child.trace_id, server.trace_id);
    assert_eq!(
        child.parent_span_id, server.span_id,
        "a child of the request"
    );
    // The test's own call is the trace's root: a client span, without the query's secret.
    let call = spans
        .iter()
        .find(|s| s.kind == CLIENT)
        .expect("a client span");
    assert_eq!(server.parent_span_id, call.span_id);
    assert!(
        !spans
            .iter()
            .any(|s| s.attributes.values().any(|v| v.contains("s3cret"))),
        "{spans:#?}"
    );
}

#[tokio::test]
async fn an_incoming_traceparent_is_the_request_spans_parent() {
    let _ratio = RATIO_LOCK.read().await;
    let router = Router::new().route("/t2/orders", get(|| async { "ok" }));
    let running = serve(app("", router)).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = "00f067aa0ba902b7";
    let request = http::Request::get(format!("http://{}/t2/orders", running.local_addr()))
        .header("traceparent", format!("00-{trace_id}-{parent}-01"))
        .body(Bytes::new())
        .unwrap();
    assert_eq!(client().send(request).await.unwrap().status(), 200);
    running.shutdown().await.unwrap();
    let spans = spans_of("/t2/orders");
    let server = server_span(&spans, "GET /t2/orders");
    assert_eq!(server.trace_id, trace_id);
    assert_eq!(server.parent_span_id, parent);
    // The client kept the request's own `traceparent` rather than its span's.
}

/// Head sampling follows the caller: a `traceparent` whose sampled flag is off makes no span
/// at all (decided before the span would be made: the handler runs in no trace), even where
/// every root is traced, and the request is served as usual.
#[tokio::test]
async fn a_caller_that_did_not_sample_makes_no_span() {
    let _ratio = RATIO_LOCK.read().await;
    let router = Router::new().route(
        "/t2b/orders",
        get(|| async {
            format!(
                "traced: {} (span wanted: {})",
                cortex_core::logging::trace_ids().is_some(),
                cortex_core::logging::span_wanted()
            )
        }),
    );
    let running = serve(app("", router)).await;
    for (flags, trace, path, in_span) in [
        (
            "00",
            "4bf92f3577b34da6a3ce929d0e0e4737",
            "/t2b/orders?unsampled",
            false,
        ),
        (
            "01",
            "4bf92f3577b34da6a3ce929d0e0e4738",
            "/t2b/orders?sampled",
            true,
        ),
    ] {
        let request = http::Request::get(format!("http://{}{path}", running.local_addr()))
            .header(
                "traceparent",
                format!("00-{trace}-00f067aa0ba902b8-{flags}"),
            )
            .body(Bytes::new())
            .unwrap();
        let response = client().send(request).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            String::from_utf8_lossy(response.body()),
            format!("traced: {in_span} (span wanted: {in_span})"),
            "{path}"
        );
    }
    running.shutdown().await.unwrap();
    let servers: Vec<_> = spans_of("/t2b/orders")
        .into_iter()
        .filter(|s| s.kind == SERVER)
        .collect();
    assert_eq!(servers.len(), 1, "{servers:#?}");
    assert_eq!(servers[0].trace_id, "4bf92f3577b34da6a3ce929d0e0e4738");
}

#[tokio::test]
async fn the_trace_crosses_two_apps_through_the_http_client() {
    let _ratio = RATIO_LOCK.read().await;
    let b = serve(app(
        "",
        Router::new().route(
            "/t3/b/stock/{sku}",
            get(|headers: http::HeaderMap| async move {
                let header = |name| {
                    headers
                        .get(name)
                        .map_or(String::new(), |v| v.to_str().unwrap().to_owned())
                };
                format!("{} {}", header("baggage"), header("x-request-id"))
            }),
        ),
    ))
    .await;
    let b_url = format!("http://{}/t3/b/stock/A1", b.local_addr());
    let calls = client();
    let a = serve(app(
        "",
        Router::new().route(
            "/t3/a/orders",
            get(move || {
                let calls = calls.clone();
                let b_url = b_url.clone();
                async move {
                    let response = calls.get(&b_url).await.unwrap();
                    String::from_utf8(response.body().to_vec()).unwrap()
                }
            }),
        ),
    ))
    .await;
    let request = http::Request::get(format!("http://{}/t3/a/orders", a.local_addr()))
        .header("baggage", "tenant=acme")
        .body(Bytes::new())
        .unwrap();
    let response = client().send(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let a_request_id = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(
        String::from_utf8(response.body().to_vec()).unwrap(),
        format!("tenant=acme {a_request_id}"),
        "the baggage and A's request id go on to B"
    );

    let spans = wait_for("/t3/", |s| {
        s.iter().filter(|s| s.kind == SERVER).count() == 2
    })
    .await;
    let a_server = server_span(&spans, "GET /t3/a/orders");
    let b_server = server_span(&spans, "GET /t3/b/stock/{sku}");
    let client_span = spans
        .iter()
        .find(|s| s.kind == CLIENT)
        .unwrap_or_else(|| panic!("no client span in {spans:#?}"));
    assert_eq!(b_server.trace_id, a_server.trace_id, "one trace");
    assert_eq!(client_span.parent_span_id, a_server.span_id);
    assert_eq!(
        b_server.parent_span_id, client_span.span_id,
        "B continues A's call"
    );
    assert_eq!(client_span.name, "GET");
    assert_eq!(
        client_span.attributes.get("url.full").map(String::as_str),
        Some(format!("http://{}/t3/b/stock/A1", b.local_addr()).as_str())
    );
    assert_eq!(
        client_span
            .attributes
            .get("http.response.status_code")
            .map(String::as_str),
        Some("200")
    );
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_server_error_and_a_panic_mark_the_span_as_an_error() {
    let _ratio = RATIO_LOCK.read().await;
    let router = Router::new()
        .route(
            "/t4/fails",
            get(|| async { (http::StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route(
            "/t4/panics",
            get(|| async {
                if true {
                    panic!("boom");
                }
                "never"
            }),
        )
        .route("/t4/missing", get(|| async { http::StatusCode::NOT_FOUND }));
    let running = serve(app("", router)).await;
    for path in ["fails", "panics", "missing", "nowhere"] {
        let url = format!("http://{}/t4/{path}", running.local_addr());
        // The default timeout (30 s): the panic's backtrace is printed, symbolized, first.
        if let Err(error) = HttpClient::new().unwrap().get(&url).await {
            let source = std::error::Error::source(&error).map(ToString::to_string);
            panic!("GET /t4/{path} failed: {error} (source: {source:?}; {error:?})");
        }
    }
    running.shutdown().await.unwrap();
    let spans = spans_of("/t4/");
    assert_eq!(server_span(&spans, "GET /t4/fails").status, ERROR);
    assert_eq!(server_span(&spans, "GET /t4/panics").status, ERROR);
    assert_ne!(
        server_span(&spans, "GET /t4/missing").status,
        ERROR,
        "a 4xx is the client's error"
    );
    // No route matched: the method alone, no `http.route`.
    let unmatched = spans
        .iter()
        .find(|s| {
            s.kind == SERVER
                && s.attributes.get("url.path").map(String::as_str) == Some("/t4/nowhere")
        })
        .unwrap_or_else(|| panic!("no span for the unmatched path in {spans:#?}"));
    assert_eq!(unmatched.name, "GET");
    assert!(
        !unmatched.attributes.contains_key("http.route"),
        "{unmatched:#?}"
    );
}

#[tokio::test]
async fn the_sampling_ratio_keeps_no_trace_at_zero_and_every_trace_at_one() {
    let _alone = RATIO_LOCK.write().await;
    for (ratio, prefix) in [(0.0, "/t5/none"), (1.0, "/t5/all")] {
        let route = format!("{prefix}/{{n}}");
        let router = Router::new().route(&route, get(|| async { "ok" }));
        let running = serve(app(&format!("sampling_ratio = {ratio}"), router)).await;
        for n in 0..20 {
            let url = format!("http://{}{prefix}/{n}", running.local_addr());
            assert_eq!(client().get(&url).await.unwrap().status(), 200);
        }
        // And requests without a `traceparent` (no client span): the server's span is the root.
        for n in 20..30 {
            raw_get(running.local_addr(), &format!("{prefix}/{n}")).await;
        }
        running.shutdown().await.unwrap();
        // The test's calls are client spans (roots, sampled as the ratio says), each request's
        // server span their child.
        let spans = spans_of(prefix);
        let count = |kind| spans.iter().filter(|s| s.kind == kind).count();
        let roots = spans
            .iter()
            .filter(|s| s.kind == SERVER && s.parent_span_id.is_empty())
            .count();
        let expected = if ratio == 0.0 {
            (0, 0, 0)
        } else {
            (20, 30, 10)
        };
        assert_eq!(
            (count(CLIENT), count(SERVER), roots),
            expected,
            "ratio {ratio}"
        );
    }
}

#[tokio::test]
async fn json_log_lines_inside_a_request_carry_its_trace_and_span_ids() {
    let _ratio = RATIO_LOCK.read().await;
    let shared = shared();
    if !shared.logs_captured {
        eprintln!("another subscriber was installed first in this process: nothing to read");
        return;
    }
    let router = Router::new().route(
        "/t6/logged",
        get(|| async {
            tracing::info!(marker = "t6-in-handler", "handling");
            "ok"
        }),
    );
    let running = serve(app("[http.trace]\naccess_log = true", router)).await;
    let url = format!("http://{}/t6/logged", running.local_addr());
    client().get(&url).await.unwrap();
    running.shutdown().await.unwrap();

    let spans = spans_of("/t6/logged");
    let server = server_span(&spans, "GET /t6/logged");
    let logs = shared.logs.text();
    let line = logs
        .lines()
        .find(|line| line.contains("t6-in-handler"))
        .unwrap_or_else(|| panic!("no handler line in {logs}"));
    let line: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(line["trace_id"], server.trace_id.as_str(), "{line}");
    assert_eq!(line["span_id"], server.span_id.as_str(), "{line}");
    // Next to the request id, at the top level: a traced request has no `tracing` span (its
    // OpenTelemetry span is made directly, which is most of what tracing saves), so no span's
    // fields are in the line.
    assert_eq!(
        line["request_id"],
        server.attributes["request_id"].as_str(),
        "next to the request id: {line}"
    );
    assert!(line.get("span").is_none(), "{line}");
    // The access log line (written after the span) names the trace in its fields.
    let access = logs
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|line| line["target"] == "cortex::access" && line["fields"]["path"] == "/t6/logged")
        .unwrap_or_else(|| panic!("no access line in {logs}"));
    assert_eq!(
        access["fields"]["trace_id"],
        server.trace_id.as_str(),
        "{access}"
    );
    // A line outside any span has none.
    let outside = logs
        .lines()
        .filter(|l| !l.contains("\"span\""))
        .find(|l| l.contains("\"level\""));
    if let Some(outside) = outside {
        assert!(!outside.contains("trace_id"), "{outside}");
    }
}

#[tokio::test]
async fn a_bad_sampling_ratio_fails_the_start_naming_the_key() {
    let Err(error) = app("sampling_ratio = 1.5", Router::new()).build().await else {
        panic!("the start fails");
    };
    let error = error.to_string();
    assert!(
        error.contains("`observability.tracing.sampling_ratio`") && error.contains("0.0 to 1.0"),
        "{error}"
    );
}

#[tokio::test]
async fn a_call_that_outlasts_the_clients_timeout_fails_and_its_span_is_an_error() {
    let _ratio = RATIO_LOCK.read().await;
    let router = Router::new().route(
        "/t7/slow",
        get(|| async {
            // The server is slow; the client gives up first.
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }),
    );
    let running = serve(app("", router)).await;
    let url = format!("http://{}/t7/slow?key=s3cret", running.local_addr());
    let started = Instant::now();
    let error = client()
        .with_timeout(Duration::from_millis(200))
        .get(&url)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "gave up in time"
    );
    assert!(
        matches!(
            error,
            cortex_observability::client::ClientError::Timeout { .. }
        ),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("/t7/slow") && !message.contains("s3cret"),
        "{message}"
    );
    running.shutdown().await.unwrap();
    let spans = spans_of("/t7/slow");
    let call = spans
        .iter()
        .find(|s| s.kind == CLIENT)
        .unwrap_or_else(|| panic!("no client span in {spans:#?}"));
    assert_eq!(call.status, ERROR, "{call:#?}");
}

#[tokio::test]
async fn spans_go_over_grpc_with_the_otel_grpc_feature() {
    // Alone: the process's pipeline is then this app's (gRPC), not a running HTTP one.
    let _alone = RATIO_LOCK.write().await;
    let router = Router::new().route("/t8/grpc", get(|| async { "ok" }));
    let running = serve(app("protocol = 'grpc'", router)).await;
    raw_get(running.local_addr(), "/t8/grpc").await;
    running.shutdown().await.unwrap();
    let spans = spans_of("/t8/grpc");
    assert_eq!(server_span(&spans, "GET /t8/grpc").kind, SERVER);
}
