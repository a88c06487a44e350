//! Prometheus metrics: the recorder, `/metrics`, and what Cortex records.
//!
//! - [`Metrics`]: the registry (the `metrics` facade's global recorder, installed once per
//!   process; [`Metrics::local`] for tests), in the container.
//! - [`HttpMetrics`]: the RED metrics of every request, per route template.
//! - `/metrics` ([`MetricsConfig`]): Prometheus text, or OpenMetrics when the `Accept` header
//!   asks ([`wants_openmetrics`], [`to_openmetrics`]), on the main port or an admin port, behind
//!   a token when configured; the process, runtime and build gauges are collected at scrape time.
//!
//! The metric names are in the guide's "Metrics" chapter.

mod collect;
mod http;
mod openmetrics;
mod recorder;

use std::net::SocketAddr;

use ::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use ::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use cortex_core::App;
use cortex_core::ShutdownSignal;
use cortex_core::http::observe::request_observer;
use cortex_core::routing::Route;
use cortex_di::{Container, Dependency, Inject, Provider};
use serde::Deserialize;

pub use self::http::{
    ACTIVE_REQUESTS, HttpMetrics, InFlight, REQUEST_BODY_SIZE, REQUEST_DURATION,
    RESPONSE_BODY_SIZE, UNMATCHED,
};
pub use self::openmetrics::{
    OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, to_openmetrics, wants_openmetrics,
};
pub use self::recorder::{DURATION_BUCKETS, Metrics, SIZE_BUCKETS};

use self::collect::BuildInfo;
use crate::ObservabilityConfig;
use crate::access::{Access, AccessConfig};

/// `[observability.metrics]`: the Prometheus endpoint and what is recorded.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_observability::ObservabilityConfig;
///
/// let config = Config::from_toml(
///     "[observability.metrics]\nlisten = '127.0.0.1:9464'\n[observability.metrics.access]\ntoken = 'scrape-token-0123456789'",
/// )?;
/// let metrics = ObservabilityConfig::from_config(&config)?.metrics;
/// assert!(metrics.enabled);
/// assert_eq!(metrics.path, "/metrics");
/// assert_eq!(metrics.listen, Some("127.0.0.1:9464".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Whether `/metrics` is served (default `true`). Off, Cortex still records (for the
    /// dashboard) but serves nothing.
    pub enabled: bool,
    /// The endpoint's path (default `/metrics`).
    pub path: String,
    /// An address for a separate admin server that serves the endpoint (and nothing else), for
    /// example `127.0.0.1:9464`; the main port then does not serve it. Unset (the default): the
    /// main port serves it.
    pub listen: Option<SocketAddr>,
    /// Whether the `http_server_*` request metrics are recorded (default `true`).
    pub http: bool,
    /// `[observability.metrics.access]`: who may read it.
    pub access: AccessConfig,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            path: "/metrics".into(),
            listen: None,
            http: true,
            access: AccessConfig::default(),
        }
    }
}

/// A setting of `[observability.metrics]` that parses but cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A key's value is not usable.
    #[error("config key `{key}` has an invalid value: {reason}")]
    Config {
        /// The dotted key, `observability.metrics.path`.
        key: &'static str,
        /// What is wrong, with a hint.
        reason: String,
    },
    /// The admin server cannot listen on `[observability.metrics] listen`.
    #[error(
        "cannot listen on {addr} (`observability.metrics.listen`): {source}; hint: is another process using the port? choose another, or remove `listen` to serve /metrics on the main port"
    )]
    Listen {
        /// The configured address.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

impl MetricsConfig {
    fn validate(&self) -> Result<(), MetricsError> {
        let path = &self.path;
        let reason = if !path.starts_with('/') {
            Some("it must start with `/`")
        } else if path.contains(['{', '}', '*', '?', '#', ' ']) {
            Some("it must be a plain path, without parameters, wildcards, a query or spaces")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(MetricsError::Config {
                key: "observability.metrics.path",
                reason: format!("{reason}; hint: the default is `/metrics`"),
            }),
            None => Ok(()),
        }
    }
}

/// What serves `/metrics`: the access check and the build labels.
#[derive(Debug, Clone)]
struct Endpoint {
    access: Access,
    build: BuildInfo,
}

impl Endpoint {
    /// Answers one scrape: the access check, the collectors, the format the client asked for.
    fn serve(&self, metrics: &Metrics, headers: &HeaderMap) -> Response {
        if let Err(refused) = self.access.check(headers) {
            return refused;
        }
        let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok());
        let (content_type, body) = scrape(metrics, &self.build, wants_openmetrics(accept));
        (
            [
                (CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response()
    }
}

/// Runs the scrape-time collectors and renders: the content type and the body.
fn scrape(metrics: &Metrics, build: &BuildInfo, openmetrics: bool) -> (&'static str, String) {
    let direct = collect::collect(metrics, build);
    let mut text = metrics.render();
    text.push_str(&direct);
    if openmetrics {
        (OPENMETRICS_CONTENT_TYPE, to_openmetrics(&text))
    } else {
        (PROMETHEUS_CONTENT_TYPE, text)
    }
}

/// The service name when `[observability] service_name` is unset: the executable's name.
fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.file_stem()?.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "cortex-app".into())
}

/// Adds this area's providers, routes and hooks to `app`, as `config` says.
pub(crate) fn install(app: App, config: &ObservabilityConfig) -> App {
    let settings = &config.metrics;
    if let Err(error) = settings.validate() {
        return app.fail(error);
    }
    // The process-wide registry, created when the container is built; a test overrides it
    // with `Metrics::local()` and the global recorder is then never installed.
    let mut app = app.provide(
        Provider::factory(|_| Ok(Metrics::global())).declared_by("ObservabilityPlugin (metrics)"),
    );
    if settings.http {
        app = app
            .provide(
                Provider::factory(|r| Ok(HttpMetrics::new(&*r.get::<Metrics>()?)))
                    .depends_on(Dependency::on::<Metrics>())
                    .declared_by("ObservabilityPlugin (metrics)"),
            )
            .provide(request_observer::<HttpMetrics>());
    }
    if !settings.enabled {
        return app;
    }
    let endpoint = Endpoint {
        access: Access::new(&settings.access),
        build: BuildInfo {
            service: config
                .service_name
                .clone()
                .unwrap_or_else(default_service_name),
            version: env!("CARGO_PKG_VERSION").into(),
            profile: app.config().profile().as_str().to_string(),
        },
    };
    match settings.listen {
        None => {
            let protected = endpoint.access.is_protected();
            let route = Route::get(
                settings.path.clone(),
                "metrics",
                move |metrics: Inject<Metrics>, headers: HeaderMap| {
                    let endpoint = endpoint.clone();
                    async move { endpoint.serve(&metrics, &headers) }
                },
            )
            .with_dependency(Dependency::on::<Metrics>())
            .with_summary("Metrics in the Prometheus text format (OpenMetrics when asked)")
            .with_tag("observability");
            // Behind a token it is not open to anyone; either way it is operational (never rate
            // limited, exempt from deny-by-default).
            let route = if protected { route } else { route.public() };
            app.route(route).operational_path(settings.path.clone())
        }
        Some(addr) => {
            let path = settings.path.clone();
            app.on_start(move |container| {
                let (endpoint, path) = (endpoint.clone(), path.clone());
                async move {
                    let local = start_admin_server(&container, addr, &path, endpoint).await?;
                    tracing::info!(address = %local, %path, "metrics served on the admin port");
                    Ok(())
                }
            })
        }
    }
}

/// Binds the admin server and serves `path` on it until the app's shutdown signal trips (the
/// drain waits for it).
async fn start_admin_server(
    container: &Container,
    addr: SocketAddr,
    path: &str,
    endpoint: Endpoint,
) -> Result<SocketAddr, cortex_di::BoxError> {
    let metrics = (*container.get::<Metrics>()?).clone();
    let signal = (*container.get::<ShutdownSignal>()?).clone();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Listen { addr, source })?;
    let local = listener.local_addr()?;
    let router = axum::Router::new().route(
        path,
        axum::routing::get(move |headers: HeaderMap| {
            let (endpoint, metrics) = (endpoint.clone(), metrics.clone());
            async move { endpoint.serve(&metrics, &headers) }
        }),
    );
    let stop = signal.clone();
    signal.spawn_tracked("metrics admin server", async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.tripped().await })
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "the metrics admin server stopped");
        }
    });
    Ok(local)
}
