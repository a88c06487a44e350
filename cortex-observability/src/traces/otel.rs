//! The OpenTelemetry pipeline: one at a time per process (the `tracing` subscriber it plugs into
//! is global), started by the first app that enables tracing, shared by the apps started while it
//! runs, and shut down (its last spans sent) with the last of them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, OnceLock, RwLock};
use std::time::Duration;

use bytes::Bytes;
use cortex_core::App;
use cortex_core::logging::{self, TraceIds};
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::{
    Link, SpanBuilder, SpanKind, Status, TraceContextExt, TraceId, Tracer, TracerProvider as _,
};
use opentelemetry::{Context, Key, KeyValue, Value, global};
use opentelemetry_http::{HeaderExtractor, HeaderInjector, HttpError};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, Sampler, SamplingResult, SdkTracer, SdkTracerProvider, ShouldSample,
};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SpanData, SpanExporter};

use super::{Settings, TracingError, TracingProtocol};

/// The running pipeline: shared by the apps of the process that trace (the `tracing` subscriber
/// it feeds is global), shut down with the last of them.
struct Pipeline {
    provider: SdkTracerProvider,
    settings: Settings,
    /// The apps using it that have not shut down.
    apps: usize,
}

static PIPELINE: Mutex<Option<Pipeline>> = Mutex::new(None);

/// What the layer makes spans with: the running pipeline's tracer; none between two pipelines.
static TRACER: RwLock<Option<SdkTracer>> = RwLock::new(None);

/// The layer's tracer: the running pipeline's, so that the layer (added once per process) outlives
/// a pipeline and serves the next one.
#[derive(Debug)]
struct PipelineTracer;

impl Tracer for PipelineTracer {
    type Span = opentelemetry_sdk::trace::Span;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> Self::Span {
        let tracer = TRACER.read().unwrap_or_else(|e| e.into_inner());
        match tracer.as_ref() {
            Some(tracer) => tracer.build_with_context(builder, parent_cx),
            None => idle().build_with_context(builder, parent_cx),
        }
    }
}

/// A tracer that records nothing (its spans still have ids), for spans made with no pipeline
/// running.
fn idle() -> &'static SdkTracer {
    static IDLE: OnceLock<SdkTracer> = OnceLock::new();
    IDLE.get_or_init(|| {
        SdkTracerProvider::builder()
            .with_sampler(Sampler::AlwaysOff)
            .build()
            .tracer("cortex")
    })
}

/// The head sampling ratio (`f64` bits): the latest app's, so that an app built again in the same
/// process (tests) samples as its configuration says.
static RATIO: AtomicU64 = AtomicU64::new(0x3FF0_0000_0000_0000); // 1.0

fn ratio() -> f64 {
    f64::from_bits(RATIO.load(Ordering::Relaxed))
}

/// `TraceIdRatioBased` with the ratio read per decision ([`RATIO`]): the root sampler under
/// `ParentBased`.
#[derive(Debug, Clone)]
struct CurrentRatio;

impl ShouldSample for CurrentRatio {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        // A request's span exists only when `trace_request` traced the request: a root span of
        // kind server is sampled (the decision was made before it was made).
        let sampler = if *span_kind == SpanKind::Server {
            Sampler::AlwaysOn
        } else {
            Sampler::TraceIdRatioBased(ratio())
        };
        sampler.should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

/// Starts the pipeline (or joins the running one), and leaves it when the app shuts down.
pub(super) fn install(app: App, settings: Settings) -> App {
    {
        let mut running = PIPELINE.lock().unwrap_or_else(|e| e.into_inner());
        match running.as_mut() {
            Some(pipeline) => {
                pipeline.apps += 1;
                if pipeline.settings.endpoint != settings.endpoint
                    || pipeline.settings.service_name != settings.service_name
                {
                    tracing::warn!(
                        endpoint = %pipeline.settings.endpoint,
                        service_name = %pipeline.settings.service_name,
                        "OpenTelemetry is already running in this process (one pipeline per process): this app's spans go to {} as {}",
                        pipeline.settings.endpoint,
                        pipeline.settings.service_name,
                    );
                }
            }
            None => {
                let provider = match build(&settings) {
                    Ok(provider) => provider,
                    Err(error) => return app.fail(error),
                };
                register();
                *TRACER.write().unwrap_or_else(|e| e.into_inner()) =
                    Some(provider.tracer("cortex"));
                *running = Some(Pipeline {
                    provider,
                    settings: settings.clone(),
                    apps: 1,
                });
            }
        }
        RATIO.store(settings.ratio.to_bits(), Ordering::Relaxed);
        // Under the lock: the last app leaving turns it off.
        logging::export_spans(true);
    }
    // The export's timeout, within the drain's.
    let drain = app.config().server().map(|server| server.drain_timeout);
    let timeout = drain.map_or(settings.timeout, |drain| drain.min(settings.timeout));
    app.on_shutdown(move |_| leave(timeout))
}

/// When an app shuts down (after its server drained): sends what the batch processor holds, and
/// shuts the pipeline down when this was its last app; waits at most `timeout` (the export's
/// timeout, or `[server] drain_timeout` when shorter), off the async threads (the processor's
/// flush blocks).
async fn leave(timeout: Duration) -> Result<(), cortex_di::BoxError> {
    let (provider, last) = {
        let mut running = PIPELINE.lock().unwrap_or_else(|e| e.into_inner());
        let Some(pipeline) = running.as_mut() else {
            return Ok(());
        };
        pipeline.apps = pipeline.apps.saturating_sub(1);
        if pipeline.apps == 0 {
            let pipeline = running.take().expect("checked above");
            *TRACER.write().unwrap_or_else(|e| e.into_inner()) = None;
            logging::export_spans(false);
            (pipeline.provider, true)
        } else {
            (pipeline.provider.clone(), false)
        }
    };
    let what = if last { "shutting down" } else { "flushing" };
    let sending = tokio::task::spawn_blocking(move || {
        if last {
            provider.shutdown()
        } else {
            provider.force_flush()
        }
    });
    match tokio::time::timeout(timeout, sending).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(error))) => Err(format!("{what} the span exporter failed: {error}").into()),
        Ok(Err(error)) => Err(format!("{what} the span exporter failed: {error}").into()),
        Err(_) => Err(format!(
            "{what} the span exporter took longer than {timeout:?} ([observability.tracing] timeout)"
        )
        .into()),
    }
}

/// Makes the provider: OTLP exporter, batch processor, sampler, resource.
fn build(settings: &Settings) -> Result<SdkTracerProvider, TracingError> {
    let exporter = exporter(settings)?;
    let mut resource = Resource::builder_empty()
        .with_service_name(settings.service_name.clone())
        .with_attribute(KeyValue::new(
            "deployment.environment.name",
            settings.environment.clone(),
        ));
    if let Some(version) = &settings.service_version {
        resource = resource.with_attribute(KeyValue::new("service.version", version.clone()));
    }
    Ok(SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter).build())
        .with_sampler(Sampler::ParentBased(Box::new(CurrentRatio)))
        .with_resource(resource.build())
        .build())
}

fn exporter(settings: &Settings) -> Result<Exporter, TracingError> {
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};

    let failed = |error: &dyn std::fmt::Display| TracingError::Exporter {
        endpoint: settings.endpoint.clone(),
        message: error.to_string(),
    };
    let headers: HashMap<String, String> = settings.headers.clone().into_iter().collect();
    match settings.protocol {
        TracingProtocol::HttpProtobuf => {
            let client = ExportClient::new(settings.timeout).map_err(|e| failed(&e))?;
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(settings.endpoint.clone())
                .with_timeout(settings.timeout)
                .with_headers(headers)
                .with_http_client(client)
                .build()
                .map(|exporter| Exporter::Http(Box::new(exporter)))
                .map_err(|e| failed(&e))
        }
        TracingProtocol::Grpc => grpc(settings, headers).map_err(|e| match e {
            GrpcError::Off => TracingError::GrpcFeatureOff,
            GrpcError::Build(message) => failed(&message),
        }),
    }
}

enum GrpcError {
    #[cfg_attr(feature = "otel-grpc", allow(dead_code))]
    Off,
    #[cfg_attr(not(feature = "otel-grpc"), allow(dead_code))]
    Build(String),
}

#[cfg(feature = "otel-grpc")]
fn grpc(settings: &Settings, headers: HashMap<String, String>) -> Result<Exporter, GrpcError> {
    use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};

    let mut map = HeaderMap::new();
    for (name, value) in &headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| GrpcError::Build(format!("header {name}: {e}")))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| GrpcError::Build(format!("the value of header {name} is not valid")))?;
        map.insert(name, value);
    }
    let metadata = opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(map);
    // tonic's channel starts its worker on the runtime current when it is built: the export
    // thread's, which outlives the app's runtime.
    let _runtime = export_runtime().enter();
    opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(settings.endpoint.clone())
        .with_timeout(settings.timeout)
        .with_metadata(metadata)
        .build()
        .map(|exporter| Exporter::Grpc(OnExportRuntime(std::sync::Arc::new(exporter))))
        .map_err(|e| GrpcError::Build(e.to_string()))
}

/// A span exporter whose exports run on the export thread's runtime: the batch processor polls
/// exports on a thread of its own, outside any runtime, and tonic's calls need one.
#[cfg(feature = "otel-grpc")]
#[derive(Debug)]
struct OnExportRuntime(std::sync::Arc<opentelemetry_otlp::SpanExporter>);

#[cfg(feature = "otel-grpc")]
impl SpanExporter for OnExportRuntime {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let exporter = self.0.clone();
        export_runtime()
            .spawn(async move { exporter.export(batch).await })
            .await
            .map_err(|e| opentelemetry_sdk::error::OTelSdkError::InternalFailure(e.to_string()))?
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        // Called once, when the provider is built, before any export shares the exporter.
        if let Some(exporter) = std::sync::Arc::get_mut(&mut self.0) {
            exporter.set_resource(resource);
        }
    }
}

/// The exporter, by protocol.
#[derive(Debug)]
enum Exporter {
    Http(Box<opentelemetry_otlp::SpanExporter>),
    #[cfg(feature = "otel-grpc")]
    Grpc(OnExportRuntime),
}

impl SpanExporter for Exporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            Exporter::Http(exporter) => exporter.export(batch).await,
            #[cfg(feature = "otel-grpc")]
            Exporter::Grpc(exporter) => exporter.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            Exporter::Http(exporter) => exporter.shutdown_with_timeout(timeout),
            #[cfg(feature = "otel-grpc")]
            Exporter::Grpc(exporter) => exporter.shutdown_with_timeout(timeout),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            Exporter::Http(exporter) => exporter.set_resource(resource),
            #[cfg(feature = "otel-grpc")]
            Exporter::Grpc(exporter) => exporter.set_resource(resource),
        }
    }
}

#[cfg(not(feature = "otel-grpc"))]
fn grpc(_settings: &Settings, _headers: HashMap<String, String>) -> Result<Exporter, GrpcError> {
    Err(GrpcError::Off)
}

/// Adds the `tracing` layer and registers the propagator and Cortex's hooks, once per process.
fn register() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(register_once);
}

fn register_once() {
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    // No busy/idle timing (a clock read on every poll of every span) and no code location:
    // what a span costs the request path is most of what tracing costs (docs/src/performance.md).
    let layer = tracing_opentelemetry::layer()
        .with_tracer(PipelineTracer)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_location(false);
    if !logging::add_layer(layer) {
        tracing::warn!(
            "spans are not exported: the installed `tracing` subscriber is not Cortex's (install it with `#[cortex::main]` or `cortex_core::logging::init`)"
        );
    }
    logging::set_trace_ids(current_ids);
    logging::set_request_tracer(trace_request);
}

/// The ids of the OpenTelemetry span current on this thread (the `tracing` span entered last).
fn current_ids() -> Option<TraceIds> {
    let context = Context::current();
    let span = context.span();
    let span = span.span_context();
    span.is_valid().then(|| TraceIds {
        trace_id: u128::from_be_bytes(span.trace_id().to_bytes()),
        span_id: u64::from_be_bytes(span.span_id().to_bytes()),
    })
}

/// The tracer of requests (registered with `cortex_core::logging::set_request_tracer`): the
/// head-sampling decision, then the request's server span.
///
/// A request whose caller sent a valid `traceparent` follows the caller's sampled flag
/// (parent-based) and its span continues the caller's trace (with its `tracestate` and
/// `baggage`); any other request is traced with the sampling ratio's probability. An untraced
/// request gets no span (nor do the spans Cortex makes inside it), which is what makes a ratio of
/// 0.1 cost about a tenth of tracing everything.
///
/// The span is made with the SDK's tracer directly, its attributes typed values (static strings
/// where they can be, integers), rather than through a `tracing` span and
/// `tracing-opentelemetry`: that costs a fraction of it per traced request
/// (`docs/src/performance.md`, "Issue 21").
fn trace_request(request: &logging::RequestHead<'_>) -> Option<Box<dyn logging::RequestSpan>> {
    let headers = request.headers();
    let parent = if carries_context(headers) {
        let context = global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderExtractor(headers))
        });
        let remote = context.span().span_context().clone();
        if remote.is_valid() {
            if !remote.is_sampled() {
                return None;
            }
        } else if !root_sampled() {
            // Baggage without a trace: a root of our own, the baggage carried.
            return None;
        }
        context
    } else {
        if !root_sampled() {
            return None;
        }
        Context::new()
    };
    Some(Box::new(RequestSpan::start(request, parent)))
}

/// Whether `headers` carry a W3C `traceparent` or `baggage`: asked for every request, so a
/// small map (a request's usual handful of headers) is scanned name by name, which costs less
/// than hashing each name for a lookup (about 130 instructions each).
fn carries_context(headers: &HeaderMap) -> bool {
    const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");
    const BAGGAGE: http::HeaderName = http::HeaderName::from_static("baggage");
    const SCAN_UP_TO: usize = 16;
    if headers.keys_len() > SCAN_UP_TO {
        return headers.contains_key(&TRACEPARENT) || headers.contains_key(&BAGGAGE);
    }
    headers
        .keys()
        .any(|name| *name == TRACEPARENT || *name == BAGGAGE)
}

/// A traced request's server span, in the context its children are made in (the caller's, with
/// this span): the request's code can add to it (`Context::current().span().set_attribute(..)`).
struct RequestSpan {
    context: Context,
}

impl RequestSpan {
    fn start(request: &logging::RequestHead<'_>, parent: Context) -> RequestSpan {
        const METHOD: Key = Key::from_static_str("http.request.method");
        const ROUTE: Key = Key::from_static_str("http.route");
        const PATH: Key = Key::from_static_str("url.path");
        const CLIENT: Key = Key::from_static_str("client.address");
        const REQUEST_ID: Key = Key::from_static_str("request_id");
        let method = request.method();
        let route = request.route();
        // Pushed rather than formatted (`format!` costs a few hundred instructions more).
        let name = match route {
            Some(route) => {
                let mut name = String::with_capacity(method.as_str().len() + 1 + route.len());
                name.push_str(method.as_str());
                name.push(' ');
                name.push_str(route);
                name
            }
            None => method.as_str().to_owned(),
        };
        let mut attributes = Vec::with_capacity(6);
        attributes.push(KeyValue::new(METHOD, method_value(method)));
        match (request.static_route(), route) {
            (Some(route), _) => attributes.push(KeyValue::new(ROUTE, route)),
            (None, Some(route)) => attributes.push(KeyValue::new(ROUTE, route.to_owned())),
            (None, None) => {}
        }
        attributes.push(KeyValue::new(PATH, request.path().to_owned()));
        if let Some(client) = request.client_ip() {
            attributes.push(KeyValue::new(CLIENT, client.to_string()));
        }
        if let Some(id) = request.request_id() {
            attributes.push(KeyValue::new(REQUEST_ID, id.to_owned()));
        }
        let mut builder = SpanBuilder::from_name(name).with_kind(SpanKind::Server);
        builder.attributes = Some(attributes);
        let span = PipelineTracer.build_with_context(builder, &parent);
        RequestSpan {
            context: parent.with_span(span),
        }
    }
}

impl logging::RequestSpan for RequestSpan {
    fn in_scope(&self, poll: &mut dyn FnMut()) {
        let _current = self.context.clone().attach();
        poll()
    }

    fn end(self: Box<Self>, status: http::StatusCode) {
        const STATUS: Key = Key::from_static_str("http.response.status_code");
        let span = self.context.span();
        span.set_attribute(KeyValue::new(
            STATUS,
            Value::I64(i64::from(status.as_u16())),
        ));
        if status.is_server_error() {
            span.set_status(Status::error(""));
        }
        span.end();
    }
}

/// The method as an attribute value: a static string for the standard methods.
fn method_value(method: &http::Method) -> Value {
    use http::Method;
    let name = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => return Value::from(method.as_str().to_owned()),
    };
    Value::from(name)
}

/// A root decision with the sampling ratio's probability.
fn root_sampled() -> bool {
    let ratio = ratio();
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 {
        return false;
    }
    // The SDK's random ids: 63 random bits against the ratio, as `TraceIdRatioBased` does with
    // a trace id.
    let random = RandomIdGenerator::default().new_span_id();
    let bits = u64::from_be_bytes(random.to_bytes()) >> 1;
    (bits as f64) < ratio * (1u64 << 63) as f64
}

/// Writes the current context (`traceparent`, `tracestate`, `baggage`) into `headers`.
pub(crate) fn inject(headers: &mut HeaderMap) {
    let context = Context::current();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(headers))
    });
}

/// The exporter's HTTP client: hyper (with rustls, for `https://` collectors), driven by a
/// runtime of its own on one thread, so that exports go on whichever runtime the app runs (or
/// none, between two tests) and never create spans of their own.
#[derive(Debug, Clone)]
struct ExportClient {
    client: crate::client::Hyper,
    timeout: Duration,
}

impl ExportClient {
    fn new(timeout: Duration) -> Result<Self, String> {
        Ok(ExportClient {
            client: crate::client::hyper_client()?,
            timeout,
        })
    }
}

/// The export thread's runtime.
fn export_runtime() -> &'static tokio::runtime::Handle {
    static RUNTIME: OnceLock<tokio::runtime::Handle> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds");
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("cortex-otlp".into())
            .spawn(move || runtime.block_on(std::future::pending::<()>()))
            .expect("the OTLP export thread starts");
        handle
    })
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for ExportClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let timeout = self.timeout;
        let exporting = async move {
            let response = client.request(request.map(Full::new)).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, HttpError>(Response::from_parts(parts, body))
        };
        export_runtime()
            .spawn(async move {
                tokio::time::timeout(timeout, exporting)
                    .await
                    .map_err(|_| HttpError::from(format!("no answer within {timeout:?}")))?
            })
            .await?
    }
}

#[cfg(test)]
mod head_sampling_tests {
    use super::*;

    /// Sets the process's ratio for the closure (these tests are the only unit tests that read
    /// it; the integration tests run in another binary).
    fn with_ratio(r: f64, f: impl FnOnce()) {
        let before = RATIO.swap(r.to_bits(), Ordering::Relaxed);
        f();
        RATIO.store(before, Ordering::Relaxed);
    }

    #[test]
    fn a_context_is_found_in_small_and_large_header_maps() {
        for extra in [0, 40] {
            let mut headers = HeaderMap::new();
            for n in 0..extra {
                headers.insert(
                    http::HeaderName::from_bytes(format!("x-filler-{n}").as_bytes()).unwrap(),
                    http::HeaderValue::from_static("1"),
                );
            }
            assert!(!carries_context(&headers), "{extra} other headers");
            for name in ["traceparent", "baggage"] {
                let mut with = headers.clone();
                with.insert(name, http::HeaderValue::from_static("x"));
                assert!(carries_context(&with), "{name} among {extra} other headers");
            }
        }
    }

    #[test]
    fn roots_are_traced_with_the_ratios_probability() {
        with_ratio(0.0, || assert!((0..1000).all(|_| !root_sampled())));
        with_ratio(1.0, || assert!((0..1000).all(|_| root_sampled())));
        with_ratio(0.1, || {
            let traced = (0..20_000).filter(|_| root_sampled()).count();
            // 2,000 expected; six standard deviations (about 42 each) either side.
            assert!((1_750..=2_250).contains(&traced), "{traced} of 20,000");
        });
    }
}
