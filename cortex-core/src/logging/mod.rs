//! Logging: a `tracing` subscriber configured from `[log]` in `cortex.toml`.
//!
//! - the filter comes from `CORTEX_LOG`, else `RUST_LOG`, else `[log] level` and `[log.targets]`
//!   (`info` by default); an environment filter replaces the configured one entirely;
//! - the format is `[log] format`: human-readable text by default in the `dev` and `test`
//!   profiles, JSON lines in `prod` (`CORTEX_LOG_FORMAT=json|text` is short for `log.format`);
//! - colours only on a terminal, never when `NO_COLOR` is set;
//! - a field whose name looks secret (`password`, `token`, `api_key`, `authorization`, `cookie`,
//!   … — the rule of [`is_secret_key`](crate::config::is_secret_key) that `cortex config show`
//!   uses) is written as `********`, in text and JSON, in events and in spans (fields given when
//!   the span is made or recorded later). Masking goes by the field's own name: a struct logged
//!   whole (`login = ?login`) is written as its `Debug` prints it, so give secrets a type whose
//!   `Debug` hides them (`cortex_auth`'s do), or log the fields one by one;
//! - `[http.trace] headers` adds request headers to the access log line, credentials masked
//!   (see [`TraceConfig`](crate::http::middleware::TraceConfig));
//! - plugins add layers (an OpenTelemetry exporter, say) with [`add_layer`] or
//!   `App::log_layer`.
//!
//! `#[cortex::main]` reads the configuration first, installs the subscriber from it with
//! [`init_from`], and only then runs `main`, so the startup lines (`configuration loaded: …`)
//! are written in the configured format. An app that installs its own subscriber first keeps it.
//!
//! At the default `info` a request costs the subscriber nothing: the per-request `http.request`
//! span and its closing event are `debug`, so the filter turns them away at their callsite and
//! nothing is formatted or masked. `CORTEX_LOG=info,cortex_core::http=debug` turns them on; for
//! one line per request at `info`, set `[http.trace] access_log = true`.

mod config;
mod mask;

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::Dispatch;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::DefaultFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

pub use config::{LogConfig, LogFormat};
/// The crate a plugin's layer is written against (`Layer<Registry>`), at the version Cortex
/// uses.
pub use tracing_subscriber;

use mask::{MaskSecrets, MaskedJson};

/// The filter when neither `CORTEX_LOG`, `RUST_LOG` nor `[log]` says otherwise.
pub const DEFAULT_FILTER: &str = "info";

/// A layer a plugin added to the subscriber.
type BoxLayer = Box<dyn Layer<Registry> + Send + Sync + 'static>;

/// The slot plugins' layers go into, installed empty with the subscriber. `None` rather than an
/// empty `Vec`, which would disable every callsite (an empty `Vec` of layers has no interest).
type Layers = Option<Vec<BoxLayer>>;

/// The handle to the installed subscriber's layer slot.
static INSTALLED: OnceLock<reload::Handle<Layers, Registry>> = OnceLock::new();

/// Whether a plugin exports spans (an OpenTelemetry exporter): see [`export_spans`].
static SPANS_EXPORTED: AtomicBool = AtomicBool::new(false);

/// Says that spans are exported from now on (`true`), or no longer (`false`).
///
/// Cortex's own spans (the HTTP request, a database query, a lifecycle hook) are `debug` by
/// default, so that at the default `info` filter they cost nothing. A plugin that exports them
/// (the OpenTelemetry exporter of `cortex-observability`) turns this on, and Cortex then makes
/// them at `info`, where the filter lets them through to the exporter's layer. Cortex's crates
/// and third-party plugins read it with [`spans_exported`] before making a span of their own.
///
/// ```
/// use cortex_core::logging;
///
/// assert!(!logging::spans_exported());
/// logging::export_spans(true);
/// assert!(logging::spans_exported());
/// logging::export_spans(false);
/// ```
pub fn export_spans(on: bool) {
    SPANS_EXPORTED.store(on, Ordering::Relaxed);
}

/// Whether spans are exported ([`export_spans`]): one relaxed atomic load, cheap enough to ask
/// per request or per query.
#[inline]
pub fn spans_exported() -> bool {
    SPANS_EXPORTED.load(Ordering::Relaxed)
}

/// Whether a span made here and now would be exported: spans are exported ([`export_spans`])
/// and either no request is being handled on this thread, or the request is traced (the
/// exporter started its span: [`set_request_tracer`]; without a tracer registered, every
/// request is). Inside a request the exporter did not sample, a span would be an orphan root of
/// a trace of its own: Cortex's
/// crates ask this before making a span for a database statement or an authentication, and a
/// plugin should too.
///
/// ```
/// use cortex_core::logging;
///
/// assert!(!logging::span_wanted(), "nothing is exported");
/// logging::export_spans(true);
/// assert!(logging::span_wanted(), "outside a request, a span is a root of its own");
/// logging::export_spans(false);
/// ```
#[inline]
pub fn span_wanted() -> bool {
    spans_exported()
        && (!crate::http::in_request()
            || IN_TRACED_REQUEST.get()
            // An exporter without a tracer of requests traces whatever it is handed.
            || REQUEST_TRACER.get().is_none())
}

/// The trace and span a log line is written in, as an exporter knows them: what
/// [`set_trace_ids`] registers and [`trace_ids`] returns.
///
/// ```
/// use cortex_core::logging::TraceIds;
///
/// let ids = TraceIds { trace_id: 0x4bf92f3577b34da6a3ce929d0e0e4736, span_id: 0x00f067aa0ba902b7 };
/// assert_eq!(ids.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(ids.span_id_hex(), "00f067aa0ba902b7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceIds {
    /// The W3C trace id (16 bytes, big-endian).
    pub trace_id: u128,
    /// The span id (8 bytes, big-endian).
    pub span_id: u64,
}

impl TraceIds {
    /// The trace id as W3C `traceparent` writes it: 32 lowercase hex digits.
    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// The span id as W3C `traceparent` writes it: 16 lowercase hex digits.
    pub fn span_id_hex(&self) -> String {
        format!("{:016x}", self.span_id)
    }
}

/// What [`set_trace_ids`] registers: the ids of the span that is current on this thread, if it
/// is traced.
pub type TraceIdsFn = fn() -> Option<TraceIds>;

/// What [`set_request_tracer`] registers: called for each request while spans are exported
/// ([`export_spans`]), before anything else looks at the request. It decides whether the request
/// is traced (head sampling) and, when it is, starts the request's span and hands it back;
/// `None` for a request that is not traced.
pub type RequestTracerFn = fn(&RequestHead<'_>) -> Option<Box<dyn RequestSpan>>;

/// A traced request's span, as an exporter made it ([`set_request_tracer`]): Cortex makes it
/// current around every poll of the request (so that the spans made inside, the log lines and
/// the HTTP client's calls belong to it) and ends it with the response's status.
///
/// No `tracing` span stands for the request: an exporter makes its span directly, which costs a
/// fraction of a `tracing` span through a layer (see `docs/src/performance.md`, "Issue 21").
///
/// ```
/// use cortex_core::logging::RequestSpan;
///
/// /// Counts the polls of a request and prints its status at the end.
/// struct Printed(std::sync::atomic::AtomicU32);
///
/// impl RequestSpan for Printed {
///     fn in_scope(&self, poll: &mut dyn FnMut()) {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         poll()
///     }
///
///     fn end(self: Box<Self>, status: http::StatusCode) {
///         println!("{status} after {} polls", self.0.into_inner());
///     }
/// }
///
/// let span: Box<dyn RequestSpan> = Box::new(Printed(Default::default()));
/// let mut polled = false;
/// span.in_scope(&mut || polled = true);
/// assert!(polled);
/// span.end(http::StatusCode::OK);
/// ```
pub trait RequestSpan: Send + 'static {
    /// Runs `poll` (one poll of the request, or its start) with this span current on this
    /// thread. It must call `poll` exactly once (Cortex calls it itself, outside the span, if
    /// it was not).
    fn in_scope(&self, poll: &mut dyn FnMut());

    /// Ends the span: the response is ready and has `status`. A span dropped without `end` (the
    /// client went away first) ends without a status.
    fn end(self: Box<Self>, status: http::StatusCode);
}

/// A request as a tracing exporter sees it ([`set_request_tracer`]): its head, the route it
/// matched, its client and its request id. What it computes (the client's address, the route of
/// a request outside a controller) is computed only when asked, so that an untraced request
/// costs the exporter only its sampling decision.
///
/// ```
/// use cortex_core::logging::{RequestHead, RequestSpan};
///
/// // A tracer that traces nothing but reads what it would put on a span.
/// fn tracer(request: &RequestHead<'_>) -> Option<Box<dyn RequestSpan>> {
///     let _name = match request.route() {
///         Some(route) => format!("{} {route}", request.method()),
///         None => request.method().to_string(),
///     };
///     let _attributes = (request.path(), request.client_ip(), request.request_id());
///     None
/// }
/// cortex_core::logging::set_request_tracer(tracer);
/// ```
pub struct RequestHead<'a> {
    request: &'a axum::extract::Request,
    route: Option<&'static str>,
    request_id: Option<&'a http::HeaderValue>,
}

impl<'a> RequestHead<'a> {
    pub(crate) fn new(
        request: &'a axum::extract::Request,
        route: Option<&'static str>,
        request_id: Option<&'a http::HeaderValue>,
    ) -> Self {
        RequestHead {
            request,
            route,
            request_id,
        }
    }

    /// The request headers (W3C `traceparent`, `tracestate`, `baggage`).
    pub fn headers(&self) -> &'a http::HeaderMap {
        self.request.headers()
    }

    /// The request method.
    pub fn method(&self) -> &'a http::Method {
        self.request.method()
    }

    /// The route template the request matched (`/users/{id}`), `None` when no route matched.
    pub fn route(&self) -> Option<&'a str> {
        self.route.or_else(|| {
            self.request
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map(axum::extract::MatchedPath::as_str)
        })
    }

    /// The route template when it is known at startup (a controller's route): a `&'static
    /// str`, which an exporter can keep without copying it.
    pub fn static_route(&self) -> Option<&'static str> {
        self.route
    }

    /// The request path (without the query, which may hold secrets).
    pub fn path(&self) -> &'a str {
        self.request.uri().path()
    }

    /// The client's address: the one a trusted proxy reported, else the peer's.
    pub fn client_ip(&self) -> Option<std::net::IpAddr> {
        let extensions = self.request.extensions();
        extensions
            .get::<crate::http::middleware::ForwardedInfo>()
            .map(|f| f.client_ip)
            .or_else(|| {
                extensions
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|c| c.0.ip().to_canonical())
            })
    }

    /// The request id the stack kept or assigned, when it assigns one.
    pub fn request_id(&self) -> Option<&'a str> {
        self.request_id.and_then(|v| v.to_str().ok())
    }
}

impl std::fmt::Debug for RequestHead<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", self.method())
            .field("path", &self.path())
            .field("route", &self.route())
            .finish_non_exhaustive()
    }
}

static TRACE_IDS: OnceLock<TraceIdsFn> = OnceLock::new();
static REQUEST_TRACER: OnceLock<RequestTracerFn> = OnceLock::new();

thread_local! {
    /// Whether a traced request is being polled on this thread (inside
    /// [`RequestSpan::in_scope`]): read by [`span_wanted`].
    static IN_TRACED_REQUEST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Registers, once per process, how to read the trace and span ids of the current span: an
/// extension point for a tracing exporter (the OpenTelemetry one of `cortex-observability`
/// registers one that reads the current OpenTelemetry context). Returns `false` when one was
/// registered already (the first stays).
///
/// Once registered, every JSON log line written inside a traced span carries `trace_id` and
/// `span_id` (32 and 16 hex digits, as in W3C `traceparent`) at its top level, and the access
/// log line (`[http.trace] access_log`) carries `trace_id`; Cortex itself does not depend on an
/// exporter.
///
/// ```
/// use cortex_core::logging::{self, TraceIds};
///
/// fn no_trace() -> Option<TraceIds> {
///     None
/// }
/// logging::set_trace_ids(no_trace);
/// assert_eq!(logging::trace_ids(), None);
/// ```
pub fn set_trace_ids(ids: TraceIdsFn) -> bool {
    TRACE_IDS.set(ids).is_ok()
}

/// The trace and span ids of the span current on this thread, when an exporter registered how
/// to read them ([`set_trace_ids`]) and the span is traced.
///
/// ```
/// // Without an exporter there are none.
/// assert_eq!(cortex_core::logging::trace_ids(), None);
/// ```
#[inline]
pub fn trace_ids() -> Option<TraceIds> {
    TRACE_IDS.get().and_then(|ids| ids())
}

/// Registers, once per process, the tracer of requests: called for each request while spans are
/// exported ([`export_spans`]), it decides whether the request is traced (head sampling: the
/// incoming W3C `traceparent`'s sampled flag, else a sampling ratio) and, when it is, starts the
/// request's span, continuing the caller's trace. An extension point for a tracing exporter (the
/// OpenTelemetry one of `cortex-observability` registers one). Returns `false` when one was
/// registered already (the first stays).
///
/// Cortex makes the span current around every poll of the request ([`RequestSpan::in_scope`])
/// and ends it when the response is ready. Inside an untraced request Cortex makes no span
/// (database statements, authentication: [`span_wanted`]). Without a tracer, Cortex makes no
/// span of its own for requests, and the spans made inside every request are wanted (an
/// exporter that is only a `tracing` layer gets them all).
///
/// ```
/// use cortex_core::logging::{self, RequestHead, RequestSpan};
///
/// fn no_request_traced(_: &RequestHead<'_>) -> Option<Box<dyn RequestSpan>> {
///     None
/// }
/// logging::set_request_tracer(no_request_traced);
/// ```
pub fn set_request_tracer(tracer: RequestTracerFn) -> bool {
    REQUEST_TRACER.set(tracer).is_ok()
}

/// The registered [`set_request_tracer`] function's span for `request`.
#[inline]
pub(crate) fn trace_request(request: &RequestHead<'_>) -> Option<Box<dyn RequestSpan>> {
    REQUEST_TRACER.get().and_then(|tracer| tracer(request))
}

/// Runs `f` inside the traced request's `span` ([`RequestSpan::in_scope`]), where
/// [`span_wanted`] holds.
pub(crate) fn in_traced_request<R>(span: &dyn RequestSpan, f: impl FnOnce() -> R) -> R {
    /// Restores the flag, also when `f` unwinds.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            IN_TRACED_REQUEST.set(self.0);
        }
    }
    let _restore = Restore(IN_TRACED_REQUEST.replace(true));
    let mut f = Some(f);
    let mut out = None;
    span.in_scope(&mut || {
        if let Some(f) = f.take() {
            out = Some(f());
        }
    });
    match out {
        Some(out) => out,
        // The span did not call it: run it outside the span rather than not at all.
        None => (f.take().expect("`f` runs at most once"))(),
    }
}

/// Whether an exporter registered how to read trace ids ([`set_trace_ids`]).
#[inline]
pub(crate) fn trace_ids_registered() -> bool {
    TRACE_IDS.get().is_some()
}

/// Installs the subscriber from the environment alone (as if `cortex.toml` had no `[log]`)
/// unless one is already installed; returns whether it did.
///
/// ```
/// cortex_core::logging::init();
/// assert!(!cortex_core::logging::init(), "the second call keeps the first subscriber");
/// ```
pub fn init() -> bool {
    init_from(&LogConfig::from_env())
}

/// Installs the subscriber `config` describes (with `CORTEX_LOG`/`RUST_LOG` overriding its
/// filter), writing to standard error, unless one is already installed; returns whether it did.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_core::logging::{self, LogConfig};
///
/// let config = Config::from_toml("[log]\nlevel = 'warn'")?;
/// logging::init_from(&LogConfig::from_config(&config)?);
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
pub fn init_from(config: &LogConfig) -> bool {
    init_with_writer(config, std::io::stderr)
}

/// Installs the subscriber `config` describes (with `CORTEX_LOG`/`RUST_LOG` overriding its
/// filter), writing to `writer` instead of standard error (a file, a test's buffer), unless one
/// is already installed; returns whether it did. Plugins' layers ([`add_layer`]) are added to it
/// as to [`init_from`]'s.
///
/// ```
/// use cortex_core::logging::{self, LogConfig};
///
/// let config = LogConfig::from_config(&cortex_core::config::Config::from_toml("")?)?;
/// logging::init_with_writer(&config, std::io::sink);
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
pub fn init_with_writer<W>(config: &LogConfig, writer: W) -> bool
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let (dispatch, handle) = build_from(config, env_filter(), writer);
    let installed = tracing::dispatcher::set_global_default(dispatch).is_ok();
    if installed {
        // Only the first install succeeds, so the handle is set once.
        let _ = INSTALLED.set(handle);
    }
    installed
}

/// Adds `layer` to the subscriber Cortex installed ([`init`], [`init_from`], `#[cortex::main]`);
/// returns `false`, dropping the layer, when that subscriber is not the installed one (an app
/// or test that installed its own).
///
/// The layer sees what the filter lets through, from the moment it is added. It is added after
/// the subscriber was built, so its `on_layer` is not called: a layer with a per-layer filter
/// (`.with_filter(..)`) cannot be added this way; filter inside the layer instead.
///
/// ```
/// use cortex_core::logging;
/// use tracing_subscriber::layer::Identity;
///
/// logging::init();
/// assert!(logging::add_layer(Identity::new()));
/// ```
pub fn add_layer(layer: impl Layer<Registry> + Send + Sync + 'static) -> bool {
    let Some(handle) = INSTALLED.get() else {
        return false;
    };
    handle
        .modify(|layers| layers.get_or_insert_with(Vec::new).push(Box::new(layer)))
        .is_ok()
}

/// The subscriber [`init`] installs, configured from the environment the same way, writing to
/// `writer` instead of standard error; nothing is installed.
///
/// Benchmarks and tests use it to run an app with exactly the logging `#[cortex::main]` gives it
/// when `cortex.toml` has no `[log]`, for one thread (`tracing::dispatcher::set_default`) or with
/// another sink.
///
/// ```
/// let dispatch = cortex_core::logging::subscriber(std::io::sink);
/// tracing::dispatcher::with_default(&dispatch, || {
///     tracing::info!("written to the sink");
///     // The request span's level is off at the default filter (unless CORTEX_LOG says otherwise).
///     if std::env::var_os("CORTEX_LOG").is_none() && std::env::var_os("RUST_LOG").is_none() {
///         assert!(!tracing::enabled!(tracing::Level::DEBUG));
///     }
/// });
/// ```
pub fn subscriber<W>(writer: W) -> Dispatch
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    subscriber_from(&LogConfig::from_env(), writer)
}

/// The subscriber [`init_from`] installs for `config`, writing to `writer`; nothing is installed.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_core::logging::{self, LogConfig};
///
/// let config = Config::from_toml("[log]\nlevel = 'warn'")?;
/// let dispatch = logging::subscriber_from(&LogConfig::from_config(&config)?, std::io::sink);
/// tracing::dispatcher::with_default(&dispatch, || {
///     if std::env::var_os("CORTEX_LOG").is_none() && std::env::var_os("RUST_LOG").is_none() {
///         assert!(!tracing::enabled!(tracing::Level::INFO));
///     }
/// });
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
pub fn subscriber_from<W>(config: &LogConfig, writer: W) -> Dispatch
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    build_from(config, env_filter(), writer).0
}

impl LogConfig {
    /// The settings without a configuration: the defaults for `CORTEX_PROFILE`, with
    /// `CORTEX_LOG_FORMAT` (`json` or `text`; anything else is ignored).
    pub(crate) fn from_env() -> LogConfig {
        let profile = std::env::var("CORTEX_PROFILE")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or_default();
        let mut config = LogConfig::for_profile(&profile);
        match std::env::var("CORTEX_LOG_FORMAT").as_deref() {
            Ok("json") => config.format = LogFormat::Json,
            Ok("text") => config.format = LogFormat::Text,
            _ => {}
        }
        config
    }
}

/// The filter set in the environment: `CORTEX_LOG`, else `RUST_LOG`, with the variable's name.
fn env_filter() -> Option<(&'static str, String)> {
    ["CORTEX_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|var| std::env::var(var).ok().map(|spec| (var, spec)))
}

/// The subscriber for `config`, with `env_override` (the variable and its filter) instead of the
/// environment's; tests pass `None` to be independent of `CORTEX_LOG`.
pub(crate) fn build_from<W>(
    config: &LogConfig,
    env_override: Option<(&str, String)>,
    writer: W,
) -> (Dispatch, reload::Handle<Layers, Registry>)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    build(
        config.filter(env_override),
        config.format == LogFormat::Json,
        ansi,
        writer,
    )
}

/// The subscriber from its settings, and the handle to its (empty) slot for plugins' layers.
fn build<W>(
    filter: EnvFilter,
    json: bool,
    ansi: bool,
    writer: W,
) -> (Dispatch, reload::Handle<Layers, Registry>)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let (plugins, handle) = reload::Layer::new(None::<Vec<BoxLayer>>);
    let registry = Registry::default().with(plugins).with(filter);
    let dispatch = if json {
        let format = tracing_subscriber::fmt::format()
            .json()
            .with_current_span(true);
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .event_format(MaskedJson(format))
            .with_writer(writer);
        Dispatch::new(registry.with(layer))
    } else {
        let layer = tracing_subscriber::fmt::layer()
            .fmt_fields(MaskSecrets(DefaultFields::new()))
            .with_ansi(ansi)
            .with_target(true)
            .with_writer(writer);
        Dispatch::new(registry.with(layer))
    };
    (dispatch, handle)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    use tracing::span::{Attributes, Id, Record};
    use tracing::subscriber::Interest;
    use tracing::{Event, Metadata, Subscriber};

    use super::*;
    use crate::App;
    use crate::http::middleware::HttpConfig;
    use crate::testing::CapturedLogs;

    /// Wraps the real subscriber and counts the spans and events it is handed (only those its
    /// filter lets through reach it). `Dispatch` does not expose the subscriber's level hint, so
    /// every callsite is asked: the counts are the same, the filter only answers later.
    struct Counting {
        inner: Dispatch,
        spans: Arc<AtomicUsize>,
        events: Arc<AtomicUsize>,
    }

    impl Subscriber for Counting {
        fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
            self.inner.register_callsite(metadata)
        }
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            self.inner.enabled(metadata)
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            self.spans.fetch_add(1, Ordering::SeqCst);
            self.inner.new_span(span)
        }
        fn record(&self, span: &Id, values: &Record<'_>) {
            self.inner.record(span, values)
        }
        fn record_follows_from(&self, span: &Id, follows: &Id) {
            self.inner.record_follows_from(span, follows)
        }
        fn event(&self, event: &Event<'_>) {
            self.events.fetch_add(1, Ordering::SeqCst);
            self.inner.event(event)
        }
        fn enter(&self, span: &Id) {
            self.inner.enter(span)
        }
        fn exit(&self, span: &Id) {
            self.inner.exit(span)
        }
        fn clone_span(&self, id: &Id) -> Id {
            self.inner.clone_span(id)
        }
        fn try_close(&self, id: Id) -> bool {
            self.inner.try_close(id)
        }
    }

    /// What one `GET /json` through the default stack handed to and made the subscriber write.
    struct Seen {
        spans: usize,
        events: usize,
        output: String,
    }

    async fn json() -> axum::Json<serde_json::Value> {
        axum::Json(serde_json::json!({"message": "Hello, World!"}))
    }

    /// Builds the app first (its startup is not counted), then serves one request with the
    /// subscriber of [`subscriber`] made from `filter`, in text or JSON.
    fn one_request(filter: &str, json_format: bool, http: HttpConfig) -> Seen {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let router = runtime.block_on(async {
            App::new()
                .http_config(http)
                .router(axum::Router::new().route("/json", axum::routing::get(json)))
                .build()
                .await
                .expect("the app builds")
                .router()
        });
        let captured = CapturedLogs::new();
        let spans = Arc::new(AtomicUsize::new(0));
        let events = Arc::new(AtomicUsize::new(0));
        let dispatch = Dispatch::new(Counting {
            inner: build(EnvFilter::new(filter), json_format, false, captured.clone()).0,
            spans: spans.clone(),
            events: events.clone(),
        });
        let mut request = Request::get("/json").body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                40000,
            ))));
        tracing::dispatcher::with_default(&dispatch, || {
            // Under `cargo test` another thread may register a callsite while this subscriber is
            // being installed, leaving a stale interest (see the middleware tests): recompute.
            tracing::callsite::rebuild_interest_cache();
            runtime.block_on(async {
                let response = router.oneshot(request).await.unwrap();
                assert_eq!(response.status(), 200);
                response.into_body().collect().await.unwrap();
            })
        });
        Seen {
            spans: spans.load(Ordering::SeqCst),
            events: events.load(Ordering::SeqCst),
            output: captured.text(),
        }
    }

    #[test]
    fn at_the_default_filter_a_request_creates_no_span_and_writes_nothing() {
        for json_format in [false, true] {
            let seen = one_request(DEFAULT_FILTER, json_format, HttpConfig::default());
            assert_eq!(
                seen.spans, 0,
                "no span reaches the subscriber (json: {json_format})"
            );
            assert_eq!(
                seen.events, 0,
                "no event reaches the subscriber (json: {json_format})"
            );
            assert_eq!(
                seen.output, "",
                "nothing is formatted (json: {json_format})"
            );
        }
    }

    #[test]
    fn at_debug_for_cortex_core_http_the_request_span_and_its_end_are_written() {
        let seen = one_request("info,cortex_core::http=debug", false, HttpConfig::default());
        assert_eq!(seen.spans, 1, "{}", seen.output);
        assert_eq!(seen.events, 1, "{}", seen.output);
        let line = seen.output.trim_end();
        assert!(
            line.contains(r#"http.request{method=GET route="/json" path="/json""#)
                && line.contains("request_id=")
                && line.contains("status=200")
                && line.contains("request finished"),
            "{line}"
        );
    }

    #[test]
    fn the_access_log_writes_one_info_line_per_request_without_a_span() {
        let mut http = HttpConfig::default();
        http.trace.access_log = true;
        let seen = one_request(DEFAULT_FILTER, false, http.clone());
        assert_eq!(seen.spans, 0, "{}", seen.output);
        assert_eq!(seen.events, 1, "{}", seen.output);
        let line = seen.output.trim_end();
        assert_eq!(line.lines().count(), 1, "{line}");
        for part in [
            " INFO cortex::access: ",
            "method=GET",
            "path=/json",
            "route=/json",
            "status=200",
            "latency_us=",
            "request_id=",
            "client_ip=127.0.0.1",
        ] {
            assert!(line.contains(part), "{part:?} missing from {line}");
        }

        let json_line = one_request(DEFAULT_FILTER, true, http.clone()).output;
        let value: serde_json::Value = serde_json::from_str(json_line.trim_end()).unwrap();
        assert_eq!(value["target"], "cortex::access", "{json_line}");
        assert_eq!(value["fields"]["status"], 200, "{json_line}");

        // Off with the rest of `info`.
        let quiet = one_request("warn", false, http);
        assert_eq!((quiet.events, quiet.output.as_str()), (0, ""));
    }

    /// Runs `log` under the subscriber `toml`'s `[log]` makes (with `env` as `CORTEX_LOG`) and
    /// returns what it wrote.
    fn written(toml: &str, env: Option<&str>, log: impl FnOnce()) -> String {
        let config =
            LogConfig::from_config(&crate::config::Config::from_toml(toml).unwrap()).unwrap();
        let captured = CapturedLogs::new();
        let (dispatch, _) = build_from(
            &config,
            env.map(|spec| ("CORTEX_LOG", spec.to_string())),
            captured.clone(),
        );
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::callsite::rebuild_interest_cache();
            log()
        });
        captured.text()
    }

    #[test]
    fn the_level_comes_from_the_config() {
        let log = || {
            tracing::info!("an info line");
            tracing::warn!("a warning");
        };
        let at_warn = written("[log]\nlevel = 'warn'\nformat = 'text'", None, log);
        assert!(!at_warn.contains("an info line"), "{at_warn}");
        assert!(at_warn.contains("a warning"), "{at_warn}");
        let at_info = written("[log]\nformat = 'text'", None, log);
        assert!(at_info.contains("an info line"), "{at_info}");
    }

    #[test]
    fn an_env_filter_replaces_the_configured_level_and_targets() {
        let log = || tracing::info!(target: "sqlx::query", "a query");
        let toml = "[log]\nlevel = 'warn'\n[log.targets]\nsqlx = 'error'";
        assert_eq!(written(toml, None, log), "");
        assert!(written(toml, Some("info"), log).contains("a query"));
    }

    #[test]
    fn a_target_gets_its_own_level() {
        let log = || {
            tracing::info!(target: "sqlx::query", "a query");
            tracing::info!(target: "my_app", "a request");
        };
        let out = written("[log.targets]\nsqlx = 'warn'", None, log);
        assert!(!out.contains("a query"), "{out}");
        assert!(out.contains("a request"), "{out}");
    }

    #[test]
    fn the_json_format_comes_from_the_config() {
        let out = written("[log]\nformat = 'json'", None, || {
            tracing::info!(user = "ada", "signed in")
        });
        let line: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(line["fields"]["message"], "signed in", "{out}");
        assert_eq!(line["fields"]["user"], "ada", "{out}");
    }

    #[test]
    fn secret_fields_are_masked_in_text() {
        let out = written("[log]\nformat = 'text'", None, || {
            let span = tracing::info_span!("login", api_key = "k-123", user = "ada");
            let _entered = span.enter();
            tracing::info!(password = "hunter2", token = ?"t-456", attempts = 3, "signed in");
        });
        for secret in ["hunter2", "t-456", "k-123"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        for shown in [
            "password=********",
            "token=********",
            "api_key=********",
            "user=\"ada\"",
            "attempts=3",
        ] {
            assert!(out.contains(shown), "{shown} missing from {out}");
        }
    }

    #[test]
    fn secret_fields_are_masked_in_json() {
        let out = written("[log]\nformat = 'json'", None, || {
            let span = tracing::info_span!("login", api_key = "k-123", user = "ada");
            let _entered = span.enter();
            tracing::info!(
                password = "hunter2",
                authorization = "Bearer t",
                attempts = 3,
                "signed in"
            );
        });
        for secret in ["hunter2", "Bearer", "k-123"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        let line: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(line["fields"]["password"], MASK_FOR_TESTS);
        assert_eq!(line["fields"]["authorization"], MASK_FOR_TESTS);
        assert_eq!(line["fields"]["attempts"], 3);
        assert_eq!(line["span"]["api_key"], MASK_FOR_TESTS);
        assert_eq!(line["span"]["user"], "ada");
        assert_eq!(line["spans"][0]["api_key"], MASK_FOR_TESTS);
    }

    const MASK_FOR_TESTS: &str = crate::config::MASK;

    thread_local! {
        /// The ids the test hook reports on this thread (other tests' threads see none).
        static TEST_IDS: std::cell::Cell<Option<TraceIds>> = const { std::cell::Cell::new(None) };
    }

    fn test_ids() -> Option<TraceIds> {
        TEST_IDS.get()
    }

    /// Every field name issue 21 names as secret, with a value that must never be written.
    const SECRET_FIELDS: [(&str, &str); 8] = [
        ("password", "v-password"),
        ("token", "v-token"),
        ("api_key", "v-api-key"),
        ("authorization", "v-authorization"),
        ("cookie", "v-cookie"),
        ("set_cookie", "v-set-cookie"),
        ("secret", "v-secret"),
        ("client_secret", "v-client-secret"),
    ];

    /// Logs each secret field as an event's field (a string, and a `Debug` value), as a span's
    /// field given at creation, and as a span's field recorded later, in `format`.
    fn each_secret_field(format: &str) -> String {
        written(&format!("[log]\nformat = '{format}'"), None, || {
            for (name, value) in SECRET_FIELDS {
                // Field names are static in `tracing`'s macros: a span and an event per name,
                // through `tracing::field` sets built at run time would not be, so one macro
                // call per name.
                macro_rules! with_field {
                    ($field:ident) => {{
                        let created = tracing::info_span!("created", $field = value, user = "ada");
                        let _created = created.enter();
                        let later = tracing::info_span!("later", $field = tracing::field::Empty);
                        later.record(stringify!($field), value);
                        let _later = later.enter();
                        tracing::info!($field = value, "as a str");
                        tracing::info!($field = ?value, "as a debug value");
                        tracing::info!($field = %value, "as a display value");
                    }};
                }
                match name {
                    "password" => with_field!(password),
                    "token" => with_field!(token),
                    "api_key" => with_field!(api_key),
                    "authorization" => with_field!(authorization),
                    "cookie" => with_field!(cookie),
                    "set_cookie" => with_field!(set_cookie),
                    "secret" => with_field!(secret),
                    "client_secret" => with_field!(client_secret),
                    _ => unreachable!(),
                }
            }
        })
    }

    #[test]
    fn each_secret_field_is_masked_in_events_and_spans_in_text() {
        let out = each_secret_field("text");
        assert_eq!(out.lines().count(), 3 * SECRET_FIELDS.len(), "{out}");
        for (name, value) in SECRET_FIELDS {
            assert!(!out.contains(value), "{name}'s value in {out}");
            let lines: Vec<&str> = out
                .lines()
                .filter(|l| l.contains(&format!(" {name}=")))
                .collect();
            assert_eq!(lines.len(), 3, "{name}: {out}");
            for line in lines {
                // The event's field, the span given it at creation, the span that recorded it.
                assert_eq!(
                    line.matches(&format!(" {name}=********")).count()
                        + line.matches(&format!("{{{name}=********")).count(),
                    3,
                    "{name}: {line}"
                );
                assert!(line.contains("user=\"ada\""), "{line}");
            }
        }
    }

    #[test]
    fn each_secret_field_is_masked_in_events_and_spans_in_json() {
        let out = each_secret_field("json");
        assert_eq!(out.lines().count(), 3 * SECRET_FIELDS.len(), "{out}");
        for (name, value) in SECRET_FIELDS {
            assert!(!out.contains(value), "{name}'s value in {out}");
        }
        for (i, line) in out.lines().enumerate() {
            let (name, _) = SECRET_FIELDS[i / 3];
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(line["fields"][name], MASK_FOR_TESTS, "{line}");
            // The current span recorded the field after it was created.
            assert_eq!(line["span"]["name"], "later", "{line}");
            assert_eq!(line["span"][name], MASK_FOR_TESTS, "{line}");
            assert_eq!(line["spans"][0][name], MASK_FOR_TESTS, "{line}");
            assert_eq!(line["spans"][0]["user"], "ada", "{line}");
            assert_eq!(line["spans"][1][name], MASK_FOR_TESTS, "{line}");
        }
    }

    #[test]
    fn masking_goes_by_field_name_not_into_a_debug_value() {
        // What the docs promise: a value is masked by its own field's name; a struct logged whole
        // is written as its `Debug` prints it (so secrets belong in types whose `Debug` hides
        // them, such as `cortex_auth`'s).
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Login {
            user: &'static str,
            password: &'static str,
        }
        let login = Login {
            user: "ada",
            password: "hunter2",
        };
        let out = written("[log]\nformat = 'text'", None, || {
            tracing::info!(password = ?login, "masked whole");
            tracing::info!(login = ?login, "written as Debug prints it");
        });
        let lines: Vec<&str> = out.lines().collect();
        assert!(!lines[0].contains("hunter2"), "{out}");
        assert!(lines[1].contains("hunter2"), "{out}");
    }

    #[test]
    fn json_lines_carry_the_registered_trace_ids_at_their_top_level() {
        // The hook is per process: it reads a thread-local, so other tests see no ids.
        set_trace_ids(test_ids);
        let ids = TraceIds {
            trace_id: 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
            span_id: 0x00f0_67aa_0ba9_02b7,
        };
        TEST_IDS.set(Some(ids));
        let out = written("[log]\nformat = 'json'", None, || {
            let span = tracing::info_span!("login", request_id = "r-1", api_key = "k-1");
            let _entered = span.enter();
            tracing::info!(password = "hunter2", "signed in");
            tracing::info!("plain");
        });
        TEST_IDS.set(None);
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{out}");
        for line in &lines {
            assert_eq!(
                line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736",
                "{line}"
            );
            assert_eq!(line["span_id"], "00f067aa0ba902b7", "{line}");
            assert_eq!(line["span"]["request_id"], "r-1", "{line}");
        }
        assert_eq!(lines[0]["fields"]["password"], MASK_FOR_TESTS, "masked too");
        assert!(!out.contains("hunter2") && !out.contains("k-1"), "{out}");

        // Without ids (no traced span), no keys.
        let out = written("[log]\nformat = 'json'", None, || {
            tracing::info!("untraced")
        });
        assert!(!out.contains("trace_id"), "{out}");
    }

    /// What the test tracer saw of the requests it traced (those with `x-test-trace`).
    static TRACED_HEADS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    /// The statuses its spans ended with.
    static ENDED: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());

    const TEST_TRACE: TraceIds = TraceIds {
        trace_id: 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
        span_id: 0xb7ad_6b71_6920_3331,
    };

    /// A span that makes [`TEST_TRACE`] current (through the test's `set_trace_ids` hook).
    struct TestSpan;

    impl RequestSpan for TestSpan {
        fn in_scope(&self, poll: &mut dyn FnMut()) {
            let outside = TEST_IDS.replace(Some(TEST_TRACE));
            poll();
            TEST_IDS.set(outside);
        }

        fn end(self: Box<Self>, status: http::StatusCode) {
            ENDED.lock().unwrap().push(status.as_u16());
        }
    }

    fn test_tracer(request: &RequestHead<'_>) -> Option<Box<dyn RequestSpan>> {
        if !request.headers().contains_key("x-test-trace") {
            return None;
        }
        TRACED_HEADS.lock().unwrap().push(format!(
            "{} {:?} {} {:?} {}",
            request.method(),
            request.route(),
            request.path(),
            request.client_ip(),
            request.request_id().is_some(),
        ));
        Some(Box::new(TestSpan))
    }

    #[test]
    fn a_traced_request_runs_in_its_exporters_span_and_its_log_lines_carry_the_ids() {
        set_trace_ids(test_ids);
        assert!(
            set_request_tracer(test_tracer),
            "the only tracer of this binary"
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut http = HttpConfig::default();
        http.trace.access_log = true;
        async fn handler() -> String {
            tracing::info!("in the handler");
            // Spans Cortex would make here (a statement, an authentication) are wanted only
            // in a traced request.
            span_wanted().to_string()
        }
        let router = runtime.block_on(async {
            App::new()
                .http_config(http)
                .router(axum::Router::new().route("/traced/{id}", axum::routing::get(handler)))
                .build()
                .await
                .expect("the app builds")
                .router()
        });
        let captured = CapturedLogs::new();
        let (dispatch, _) = build(EnvFilter::new("info"), true, false, captured.clone());
        export_spans(true);
        let bodies: Vec<String> = tracing::dispatcher::with_default(&dispatch, || {
            tracing::callsite::rebuild_interest_cache();
            [true, false]
                .into_iter()
                .map(|traced| {
                    let mut request = Request::get("/traced/7");
                    if traced {
                        request = request.header("x-test-trace", "1");
                    }
                    let mut request = request.body(Body::empty()).unwrap();
                    request
                        .extensions_mut()
                        .insert(ConnectInfo(std::net::SocketAddr::from((
                            [127, 0, 0, 1],
                            40000,
                        ))));
                    runtime.block_on(async {
                        let response = router.clone().oneshot(request).await.unwrap();
                        let body = response.into_body().collect().await.unwrap().to_bytes();
                        String::from_utf8(body.to_vec()).unwrap()
                    })
                })
                .collect()
        });
        export_spans(false);
        assert_eq!(bodies, ["true", "false"], "span_wanted in the handler");
        assert_eq!(
            *TRACED_HEADS.lock().unwrap(),
            [r#"GET Some("/traced/{id}") /traced/7 Some(127.0.0.1) true"#]
        );
        assert_eq!(*ENDED.lock().unwrap(), [200], "ended once, with the status");

        let lines: Vec<serde_json::Value> = captured
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let handler_lines: Vec<_> = lines
            .iter()
            .filter(|l| l["fields"]["message"] == "in the handler")
            .collect();
        assert_eq!(handler_lines.len(), 2, "{lines:#?}");
        let traced = handler_lines[0];
        assert_eq!(traced["trace_id"], TEST_TRACE.trace_id_hex(), "{traced}");
        assert_eq!(traced["span_id"], TEST_TRACE.span_id_hex(), "{traced}");
        assert!(traced["request_id"].is_string(), "{traced}");
        assert!(
            traced.get("span").is_none(),
            "no request span at info: {traced}"
        );
        assert!(handler_lines[1].get("trace_id").is_none(), "untraced");
        let access: Vec<_> = lines
            .iter()
            .filter(|l| l["target"] == "cortex::access")
            .collect();
        assert_eq!(access.len(), 2, "{lines:#?}");
        assert_eq!(
            access[0]["fields"]["trace_id"],
            TEST_TRACE.trace_id_hex(),
            "{}",
            access[0]
        );
        assert!(
            access[1]["fields"].get("trace_id").is_none(),
            "{}",
            access[1]
        );
    }

    #[test]
    fn a_layer_added_after_the_subscriber_was_built_sees_its_events() {
        #[derive(Clone, Default)]
        struct Count(Arc<AtomicUsize>);
        impl<S: Subscriber> Layer<S> for Count {
            fn on_event(&self, _: &Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let captured = CapturedLogs::new();
        let (dispatch, handle) = build(EnvFilter::new("info"), false, false, captured.clone());
        let count = Count::default();
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::callsite::rebuild_interest_cache();
            tracing::info!("before");
            handle
                .modify(|layers| {
                    layers
                        .get_or_insert_with(Vec::new)
                        .push(Box::new(count.clone()))
                })
                .unwrap();
            tracing::info!("after");
            tracing::debug!("filtered out");
        });
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(captured.text().contains("before") && captured.text().contains("after"));
    }
}
