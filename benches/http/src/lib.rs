//! Fixtures for the HTTP benchmarks: one JSON endpoint served as bare axum and as a Cortex app
//! (full default middleware stack, with or without the logging `#[cortex::main]` installs, or
//! [`HttpConfig::minimal`]), and a loopback load driver that measures them side by side.
//!
//! | benchmark | what it measures | run it with |
//! | --- | --- | --- |
//! | `instructions` | instructions per request in-process (`oneshot` on the router), under callgrind | `scripts/bench --http` |
//! | `throughput` | requests per second and server CPU per request over 127.0.0.1 keep-alive connections | `scripts/bench --http` |
//!
//! Issue 21's variants ([`Variant::OBSERVABILITY`]: the scaffolded app with the
//! `ObservabilityPlugin` recording metrics, exporting traces to an [`OtlpReceiver`] in the
//! process, or both) are measured against the scaffolded app by `scripts/bench --observability`.
//!
//! `docs/src/performance.md` explains the setup and reports the numbers.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cortex::Application;
use cortex::axum::extract::{ConnectInfo, State};
use cortex::axum::routing::get;
use cortex::axum::{self, Router};
use cortex::http::middleware::HttpConfig;
use cortex::http::observe::{ObservedRequest, ObservedResponse, RequestObserver};
use cortex::observability::ObservabilityPlugin;
use cortex::observability::metrics::Metrics;
use cortex::prelude::*;
use cortex::server::{Server, ServerConfig};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use serde::Serialize;

/// The path of the JSON endpoint.
pub const PATH: &str = "/json";

/// The body every variant answers: `{"message":"Hello, World!"}`.
pub const BODY: &str = r#"{"message":"Hello, World!"}"#;

/// What the endpoint serializes.
#[derive(Debug, Serialize)]
pub struct Message {
    /// Always `Hello, World!`.
    pub message: &'static str,
}

/// The service behind the endpoint, the same in every variant: a singleton in the Cortex app, an
/// `Arc` in the router's state for bare axum.
#[injectable]
#[derive(Debug, Default)]
pub struct Greeter;

impl Greeter {
    /// The message.
    pub fn message(&self) -> Message {
        Message {
            message: "Hello, World!",
        }
    }
}

/// The endpoint as a Cortex controller: `GET /json`.
#[controller("/")]
pub struct JsonController {
    greeter: Inject<Greeter>,
}

#[routes]
impl JsonController {
    #[get("/json")]
    async fn json(&self) -> Json<Message> {
        Json(self.greeter.message())
    }
}

async fn bare_json(State(greeter): State<Arc<Greeter>>) -> axum::Json<Message> {
    axum::Json(greeter.message())
}

/// The same endpoint on a bare axum `Router`: no middleware, no container.
pub fn bare_router() -> Router {
    Router::new()
        .route(PATH, get(bare_json))
        .with_state(Arc::new(Greeter))
}

/// [`HttpConfig::default`] — every default protection on — with the rate limit's quota raised so
/// that a benchmark from one address is never refused: the limiter still runs (one key hash and
/// one GCRA step per request).
pub fn full_config() -> HttpConfig {
    let mut config = HttpConfig::default();
    config.rate_limit.per_second = 1_000_000_000;
    config.rate_limit.burst = 1_000_000_000;
    config
}

/// The Cortex app: the controller, the container, and the middleware stack built from `http`.
pub async fn cortex_app(http: HttpConfig) -> Application {
    App::new()
        .http_config(http)
        .register::<Greeter>()
        .controller::<JsonController>()
        .build()
        .await
        .expect("the benchmark app builds")
}

/// A request observer that counts responses (one atomic increment per response): the cheapest
/// observer there is, so that [`Variant::CortexObserved`] measures what observing costs the
/// stack.
#[derive(Debug, Default)]
pub struct CountingObserver(AtomicU64);

impl CountingObserver {
    /// Responses observed so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl RequestObserver for CountingObserver {
    type State = ();

    fn on_request(&self, _: &ObservedRequest<'_>) {}

    fn on_response(&self, _: (), _: &ObservedResponse<'_>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// [`cortex_app`] with [`full_config`] and a [`CountingObserver`].
pub async fn observed_app() -> Application {
    App::new()
        .http_config(full_config())
        .register::<Greeter>()
        .controller::<JsonController>()
        .observer(CountingObserver::default())
        .build()
        .await
        .expect("the benchmark app builds")
}

/// [`cortex_app`] with [`full_config`] and the `ObservabilityPlugin` configured as
/// `variant`'s [`Variant::observability_toml`] says (the profile is `dev`, the dashboard is off
/// explicitly).
pub async fn observability_app(variant: Variant) -> Application {
    let toml = variant
        .observability_toml()
        .expect("an observability variant");
    let config = cortex::config::Config::from_toml(&toml).expect("the benchmark's configuration");
    App::with_config(config)
        .http_config(full_config())
        .register::<Greeter>()
        .controller::<JsonController>()
        .plugin(ObservabilityPlugin)
        .build()
        .await
        .expect("the benchmark app builds")
}

/// Folds the histogram samples the process-wide Prometheus registry holds into its buckets,
/// as its upkeep thread does every 5 s (and a scrape does): benchmarks call it at the end of a
/// metered run, so that the folding of every sample it recorded is counted where it ran.
pub fn fold_metrics() {
    Metrics::global().handle().run_upkeep();
}

/// Calibrates `quanta`'s clock (which the Prometheus exporter reads) on the calling thread. Its
/// calibration runs for a fixed time, not a fixed number of instructions, so under callgrind it
/// counts differently in every run: done once on the driver's thread before any server, it is
/// out of the server's counts (one-off, it is no part of a request's cost).
pub fn calibrate_clock() {
    let _ = quanta::Instant::now();
}

/// Installs the subscriber `#[cortex::main]` installs (`cortex::logging::init_with_writer`,
/// writing to a sink) as the process's global default, once; the traced variants run with it,
/// since the `ObservabilityPlugin` adds its OpenTelemetry layer to the installed subscriber
/// (`cortex::logging::add_layer`) and a thread's default subscriber never receives it. From
/// then on every other thread of the benchmarks sets a default of its own (the variant's, or
/// none), so the other variants are measured as before.
pub fn install_subscriber() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // The settings `cortex::logging::subscriber` reads from the environment (the
        // scaffolded variant's): `CORTEX_PROFILE`'s defaults, `CORTEX_LOG_FORMAT`; the filter
        // (`CORTEX_LOG`, `RUST_LOG`) is read by `init_with_writer`. `scripts/bench` empties
        // them all: `dev`, `info` text.
        let profile: cortex::config::Profile = std::env::var("CORTEX_PROFILE")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or_default();
        let mut config = cortex::logging::LogConfig::for_profile(&profile);
        match std::env::var("CORTEX_LOG_FORMAT").as_deref() {
            Ok("json") => config.format = cortex::logging::LogFormat::Json,
            Ok("text") => config.format = cortex::logging::LogFormat::Text,
            _ => {}
        }
        assert!(
            cortex::logging::init_with_writer(&config, std::io::sink),
            "no subscriber installed before the benchmark's"
        );
        SUBSCRIBER_INSTALLED.store(true, Ordering::Relaxed);
    });
}

static SUBSCRIBER_INSTALLED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// The dispatch a thread other than a traced variant's server sets as its default: the
/// variant's ([`Variant::logging`]), else none once [`install_subscriber`] installed one.
fn thread_logging(logging: Option<tracing::Dispatch>) -> Option<tracing::Dispatch> {
    logging.or_else(|| {
        SUBSCRIBER_INSTALLED
            .load(Ordering::Relaxed)
            .then(tracing::Dispatch::none)
    })
}

/// An OTLP/HTTP collector that accepts and discards: `POST /v1/traces` answers `200` with an
/// empty `ExportTraceServiceResponse` (zero bytes of protobuf), counting the exports and their
/// bytes. One per process, on a thread of its own (a single-threaded runtime), started on first
/// use; the traced variants export to it.
#[derive(Debug)]
pub struct OtlpReceiver {
    addr: SocketAddr,
    exports: AtomicU64,
    bytes: AtomicU64,
}

impl OtlpReceiver {
    /// Where it listens (127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Exports received so far.
    pub fn exports(&self) -> u64 {
        self.exports.load(Ordering::Relaxed)
    }

    /// Bytes of protobuf received so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// The process's [`OtlpReceiver`], started on first use (on a thread named `otlp-receiver`).
pub fn otlp_receiver() -> &'static OtlpReceiver {
    static RECEIVER: std::sync::OnceLock<&'static OtlpReceiver> = std::sync::OnceLock::new();
    RECEIVER.get_or_init(|| {
        let listener =
            std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let receiver: &'static OtlpReceiver = Box::leak(Box::new(OtlpReceiver {
            addr: listener.local_addr().expect("an address"),
            exports: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }));
        std::thread::Builder::new()
            .name("otlp-receiver".into())
            .spawn(move || {
                let _none = tracing::dispatcher::set_default(&tracing::Dispatch::none());
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                    let router = Router::new().route(
                        "/v1/traces",
                        axum::routing::post(move |body: Bytes| async move {
                            receiver.exports.fetch_add(1, Ordering::Relaxed);
                            receiver
                                .bytes
                                .fetch_add(body.len() as u64, Ordering::Relaxed);
                            ([("content-type", "application/x-protobuf")], Bytes::new())
                        }),
                    );
                    axum::serve(listener, router)
                        .await
                        .expect("the receiver serves");
                });
            })
            .expect("the receiver's thread");
        receiver
    })
}

/// The variants measured side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Bare axum: the router alone, served by `axum::serve`.
    BareAxum,
    /// The Cortex app with [`full_config`] (the default stack), served by Cortex's server.
    CortexFull,
    /// The Cortex app with [`HttpConfig::minimal`], served by Cortex's server.
    CortexMinimal,
    /// The bare axum router served by Cortex's server: separates the server's cost from the
    /// stack's (throughput only).
    BareOnCortexServer,
    /// The app as `cortex new` scaffolds it: [`full_config`] and the subscriber
    /// `#[cortex::main]` installs ([`Variant::logging`]), served by Cortex's server.
    CortexScaffolded,
    /// [`Variant::CortexFull`] with one `App::layer` that does nothing (`tower`'s `Identity`):
    /// what an app-wide layer costs on its own (instructions only; not in [`Variant::ALL`]).
    CortexLayered,
    /// [`Variant::CortexFull`] with one [`CountingObserver`] (`App::observer`): what a request
    /// observer costs.
    CortexObserved,
    /// [`Variant::CortexScaffolded`] with the `ObservabilityPlugin` recording metrics
    /// (`[observability.metrics]` at its defaults: the `http_server_*` request metrics and
    /// `/metrics`), tracing and the dashboard off. Issue 21; in [`Variant::OBSERVABILITY`].
    CortexMetrics,
    /// [`Variant::CortexScaffolded`] with the `ObservabilityPlugin` exporting traces
    /// (`[observability.tracing]`, `sampling_ratio = 0.1`) over OTLP/HTTP to [`otlp_receiver`],
    /// metrics (recording and `/metrics`) and the dashboard off. Runs with the subscriber
    /// installed process-wide ([`install_subscriber`]): the plugin adds its layer to that one.
    CortexTraced,
    /// Both, as a production app runs: [`Variant::CortexMetrics`] and [`Variant::CortexTraced`].
    CortexObservedAll,
}

impl Variant {
    /// Every variant, baseline first.
    pub const ALL: [Variant; 6] = [
        Variant::BareAxum,
        Variant::CortexFull,
        Variant::CortexMinimal,
        Variant::BareOnCortexServer,
        Variant::CortexScaffolded,
        Variant::CortexObserved,
    ];

    /// The observability variants (issue 21), their baseline first: measured against
    /// [`Variant::CortexScaffolded`] by `scripts/bench --observability`.
    pub const OBSERVABILITY: [Variant; 4] = [
        Variant::CortexScaffolded,
        Variant::CortexMetrics,
        Variant::CortexTraced,
        Variant::CortexObservedAll,
    ];

    /// Every variant there is, by name (`--only`).
    pub fn named(name: &str) -> Option<Variant> {
        Variant::ALL
            .into_iter()
            .chain(Variant::OBSERVABILITY)
            .chain([Variant::CortexLayered])
            .find(|v| v.name() == name)
    }

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Variant::BareAxum => "bare_axum",
            Variant::CortexFull => "cortex_full",
            Variant::CortexMinimal => "cortex_minimal",
            Variant::BareOnCortexServer => "bare_axum_on_cortex_server",
            Variant::CortexScaffolded => "cortex_scaffolded",
            Variant::CortexLayered => "cortex_layered",
            Variant::CortexObserved => "cortex_observed",
            Variant::CortexMetrics => "cortex_metrics",
            Variant::CortexTraced => "cortex_traced",
            Variant::CortexObservedAll => "cortex_observed_all",
        }
    }

    /// The `tracing` subscriber the variant runs with: for [`Variant::CortexScaffolded`], the one
    /// `#[cortex::main]` installs (`cortex::logging::subscriber`, so the filter and format come
    /// from `CORTEX_LOG`, `RUST_LOG`, `CORTEX_LOG_FORMAT` and `CORTEX_PROFILE` as in the app, `info`
    /// text by default), writing to a sink instead of standard error: at `info` the app writes
    /// its startup and shutdown lines, which are not measured, and nothing per request. The
    /// other variants run with none.
    ///
    /// [`Variant::CortexMetrics`] runs with the same subscriber as [`Variant::CortexScaffolded`].
    /// The traced variants return `None` here but do run with it: installed process-wide
    /// ([`install_subscriber`]), since the plugin's OpenTelemetry layer is added with
    /// `cortex::logging::add_layer`, which reaches the installed subscriber only (see
    /// [`Variant::traced`]).
    pub fn logging(self) -> Option<tracing::Dispatch> {
        matches!(self, Variant::CortexScaffolded | Variant::CortexMetrics)
            .then(|| cortex::logging::subscriber(std::io::sink))
    }

    /// Whether the variant exports traces: it runs with the subscriber installed process-wide
    /// ([`install_subscriber`]), where the plugin adds its layer, rather than with a subscriber
    /// of its thread's.
    pub fn traced(self) -> bool {
        matches!(self, Variant::CortexTraced | Variant::CortexObservedAll)
    }

    /// Whether the variant records the `http_server_*` metrics into the process-wide
    /// Prometheus registry.
    pub fn metered(self) -> bool {
        matches!(self, Variant::CortexMetrics | Variant::CortexObservedAll)
    }

    /// The variant's `[observability]` section, for the observability variants: the dashboard
    /// off (as in `prod`), metrics and tracing as the variant says; tracing exports to
    /// [`otlp_receiver`].
    pub fn observability_toml(self) -> Option<String> {
        let mut toml = String::from("[observability.dashboard]\nenabled = false\n");
        match self {
            Variant::CortexMetrics => {}
            Variant::CortexTraced => {
                toml.push_str("[observability.metrics]\nenabled = false\nhttp = false\n")
            }
            Variant::CortexObservedAll => {}
            _ => return None,
        }
        if self.traced() {
            toml.push_str(&format!(
                "[observability.tracing]\nenabled = true\nendpoint = 'http://{}'\nsampling_ratio = 0.1\n",
                otlp_receiver().addr()
            ));
        }
        Some(toml)
    }

    /// The router the variant serves (for the in-process benchmark).
    pub async fn router(self) -> Router {
        match self {
            Variant::BareAxum | Variant::BareOnCortexServer => bare_router(),
            Variant::CortexFull | Variant::CortexScaffolded => {
                cortex_app(full_config()).await.router()
            }
            Variant::CortexMinimal => cortex_app(HttpConfig::minimal()).await.router(),
            Variant::CortexLayered => App::new()
                .http_config(full_config())
                .register::<Greeter>()
                .controller::<JsonController>()
                .layer(tower::layer::util::Identity::new())
                .build()
                .await
                .expect("the benchmark app builds")
                .router(),
            Variant::CortexObserved => observed_app().await.router(),
            Variant::CortexMetrics | Variant::CortexTraced | Variant::CortexObservedAll => {
                observability_app(self).await.router()
            }
        }
    }
}

/// A `GET /json` request as the server hands it to the router: with the peer address (so the
/// rate limiter keys on it) and a host.
pub fn request() -> Request<axum::body::Body> {
    let mut request = Request::get(PATH)
        .header("host", "127.0.0.1")
        .body(axum::body::Body::empty())
        .expect("a valid request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((Ipv4Addr::LOCALHOST, 40000))));
    request
}

// --- the loopback load driver -------------------------------------------------------------------

/// How hard and how long [`measure`] drives a server.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Keep-alive HTTP/1.1 connections, each sending one request at a time.
    pub connections: usize,
    /// Traffic before counting starts.
    pub warm_up: Duration,
    /// How long requests are counted.
    pub measure: Duration,
    /// Instead of a duration: this many requests in all (spread over the connections), with no
    /// warm-up and no timing — for instruction counts of the whole run under callgrind.
    pub requests: Option<u64>,
}

/// What one [`measure`] run saw.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Responses (all `200` with the expected body) completed while counting.
    pub requests: u64,
    /// How long requests were counted ([`Load::measure`]).
    pub elapsed: Duration,
    /// CPU time of the server's thread while counting (read when counting starts and ends,
    /// by a task on that thread).
    pub server_cpu: Duration,
}

impl Measured {
    /// Requests per second.
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Server CPU per request, in microseconds.
    pub fn cpu_us_per_request(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }

    /// How busy the server's thread was while counting (1.0 = always on CPU).
    pub fn server_utilization(&self) -> f64 {
        self.server_cpu.as_secs_f64() / self.elapsed.as_secs_f64()
    }
}

/// CPU time of the calling thread so far (`/proc/thread-self/schedstat`, nanoseconds; Linux).
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat is readable (Linux)");
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("schedstat starts with nanoseconds on CPU");
    Duration::from_nanos(nanos)
}

/// Serves `variant` on 127.0.0.1 from a thread of its own (a single-threaded tokio runtime, so
/// that its CPU time is the server's), drives it with `load.connections` keep-alive hyper client
/// connections from the calling thread, and counts the responses completed during
/// `load.measure`. Panics on any response that is not `200` with the expected body.
pub fn measure(variant: Variant, load: Load) -> Measured {
    if variant.traced() {
        install_subscriber();
    }
    let client_logging = thread_logging(None);
    let _client_logging = client_logging
        .as_ref()
        .map(tracing::dispatcher::set_default);
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (start_tx, start_rx) = tokio::sync::oneshot::channel::<()>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (cpu_tx, cpu_rx) = std::sync::mpsc::channel();
    let (quit_tx, quit_rx) = tokio::sync::oneshot::channel::<()>();

    let server = std::thread::Builder::new()
        .name(format!("server-{}", variant.name()))
        .spawn(move || {
            // For this thread only: the other variants, measured in the same process, run with
            // no subscriber.
            // A traced variant: the installed subscriber, where the plugin adds its layer.
            let logging = if variant.traced() {
                None
            } else {
                thread_logging(variant.logging())
            };
            let _logging = logging.as_ref().map(tracing::dispatcher::set_default);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                // The CPU clock is read on this thread, by a task of this runtime.
                tokio::spawn(async move {
                    if start_rx.await.is_ok() {
                        let before = thread_cpu();
                        let _ = stop_rx.await;
                        let _ = cpu_tx.send(thread_cpu().saturating_sub(before));
                    }
                });
                let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                    .await
                    .expect("bind 127.0.0.1");
                addr_tx
                    .send(listener.local_addr().expect("an address"))
                    .expect("the driver waits");
                let quit = async move {
                    let _ = quit_rx.await;
                };
                serve(variant, listener, quit).await;
            });
        })
        .expect("a server thread");
    let addr: SocketAddr = addr_rx.recv().expect("the server binds");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let requests = runtime.block_on(drive(addr, load, start_tx, stop_tx));
    let server_cpu = cpu_rx.recv().expect("the server's CPU time");
    let _ = quit_tx.send(());
    server.join().expect("the server thread ends");
    // Process-wide: the tracing plugin turns it off when its last app has shut down; left on,
    // every later variant would make its request spans at `info`.
    assert!(
        !cortex::logging::spans_exported(),
        "{} left spans exported",
        variant.name()
    );
    Measured {
        requests,
        elapsed: load.measure,
        server_cpu,
    }
}

async fn serve(
    variant: Variant,
    listener: tokio::net::TcpListener,
    quit: impl Future<Output = ()> + Send + 'static,
) {
    match variant {
        Variant::BareAxum => {
            axum::serve(listener, bare_router())
                .with_graceful_shutdown(quit)
                .await
                .expect("axum serves");
        }
        Variant::BareOnCortexServer => {
            let server =
                Server::from_listener(listener, ServerConfig::default()).expect("a server");
            server
                .serve(bare_router(), quit)
                .await
                .expect("Cortex's server serves");
        }
        Variant::CortexLayered => {
            let server =
                Server::from_listener(listener, ServerConfig::default()).expect("a server");
            server
                .serve(variant.router().await, quit)
                .await
                .expect("Cortex's server serves");
        }
        Variant::CortexMetrics | Variant::CortexTraced | Variant::CortexObservedAll => {
            let running = observability_app(variant)
                .await
                .serve_on(listener)
                .await
                .expect("the app serves");
            quit.await;
            if variant.metered() {
                fold_metrics();
            }
            running.shutdown().await.expect("the app stops");
        }
        Variant::CortexFull
        | Variant::CortexMinimal
        | Variant::CortexScaffolded
        | Variant::CortexObserved => {
            let app = match variant {
                Variant::CortexMinimal => cortex_app(HttpConfig::minimal()).await,
                Variant::CortexObserved => observed_app().await,
                _ => cortex_app(full_config()).await,
            };
            let running = app.serve_on(listener).await.expect("the app serves");
            quit.await;
            running.shutdown().await.expect("the app stops");
        }
    }
}

/// Runs the client side: `load.connections` connections, each looping `GET /json`.
async fn drive(
    addr: SocketAddr,
    load: Load,
    start: tokio::sync::oneshot::Sender<()>,
    stop: tokio::sync::oneshot::Sender<()>,
) -> u64 {
    let begin = Instant::now() + load.warm_up;
    let end = begin + load.measure;
    let counted = Arc::new(AtomicU64::new(0));
    let connections = load.connections.max(1);
    let mut clients = Vec::with_capacity(connections);
    for i in 0..connections {
        let counted = counted.clone();
        // With a request count: this connection's share of it.
        let quota = load
            .requests
            .map(|n| n / connections as u64 + u64::from((i as u64) < n % connections as u64));
        clients.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .expect("connect to the server");
            let _ = stream.set_nodelay(true);
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
                    .await
                    .expect("an HTTP/1.1 connection");
            tokio::spawn(connection);
            let mut mine = 0;
            loop {
                if quota.is_some_and(|q| mine >= q) {
                    break;
                }
                let request = Request::get(PATH)
                    .header("host", "127.0.0.1")
                    .body(Empty::new())
                    .expect("a valid request");
                let response = sender.send_request(request).await.expect("a response");
                let status = response.status();
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .expect("a whole body")
                    .to_bytes();
                assert!(
                    status == StatusCode::OK && body == BODY,
                    "unexpected answer: {status} {body:?}"
                );
                if quota.is_some() {
                    mine += 1;
                    continue;
                }
                let now = Instant::now();
                if now >= end {
                    break;
                }
                if now >= begin {
                    mine += 1;
                }
            }
            counted.fetch_add(mine, Ordering::Relaxed);
        }));
    }
    if load.requests.is_some() {
        let _ = start.send(());
        for client in clients {
            client.await.expect("a client task");
        }
        let _ = stop.send(());
        return counted.load(Ordering::Relaxed);
    }
    tokio::time::sleep_until(begin.into()).await;
    let _ = start.send(());
    tokio::time::sleep_until(end.into()).await;
    let _ = stop.send(());
    for client in clients {
        client.await.expect("a client task");
    }
    counted.load(Ordering::Relaxed)
}
