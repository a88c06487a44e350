//! The dashboard's routes: the page and its assets, the sign-in form, the JSON endpoints and
//! the event stream.

use std::convert::Infallible;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Form;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use cortex_core::health::{ErasedHealthCheck, Health, ReadinessReport};
use cortex_core::routing::Route;
use cortex_core::{Application, ShutdownSignal};
use futures_util::StreamExt as _;
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use super::DashboardConfig;
use super::gate::Gate;
use super::logs::{ErrorLog, LoggedError, error_log, is_captured};
use super::stats::{Stats, StatsSnapshot, unix_ms};

/// Health checks run at most this often, however many pages are open.
pub(crate) const HEALTH_EVERY: Duration = Duration::from_secs(5);
/// A comment line on the stream this often, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long the dashboard lets one health check run.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

const INDEX: &str = include_str!("assets/index.html");
const LOGIN: &str = include_str!("assets/login.html");
const SCRIPT: &str = include_str!("assets/dashboard.js");
const STYLE: &str = include_str!("assets/dashboard.css");

/// The page's own policy: its script and style only, nothing framed, nothing posted elsewhere.
const CSP: &str = "default-src 'self'; img-src 'self' data:; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'";

/// What the app looks like once built (it does not change while it runs).
struct AppView {
    /// `GET …/api/app`, serialized once.
    info: String,
    health: Health,
}

/// The dashboard's state, shared by its routes.
pub(crate) struct Dashboard {
    path: String,
    refresh: Duration,
    gate: Gate,
    stats: Arc<Stats>,
    shutdown: ShutdownSignal,
    app: OnceLock<AppView>,
    health: tokio::sync::Mutex<Option<(Instant, ReadinessReport)>>,
    log: Arc<ErrorLog>,
    started_ms: u64,
    /// The page, its path filled in.
    index: String,
}

/// `GET …/api/live`, and each event of the stream.
#[derive(Serialize)]
struct Live {
    time_ms: u64,
    uptime_secs: u64,
    draining: bool,
    stats: StatsSnapshot,
    health: Option<ReadinessReport>,
    log_errors: Vec<LoggedError>,
    log_errors_captured: bool,
    refresh_ms: u64,
}

#[derive(Deserialize)]
struct SignIn {
    token: String,
}

impl Dashboard {
    pub(crate) fn new(
        config: &DashboardConfig,
        stats: Arc<Stats>,
        shutdown: ShutdownSignal,
    ) -> Self {
        let log = error_log();
        Dashboard {
            path: config.path.clone(),
            refresh: config.refresh,
            gate: Gate::new(&config.access),
            stats,
            shutdown,
            app: OnceLock::new(),
            health: tokio::sync::Mutex::new(None),
            log,
            started_ms: unix_ms(),
            index: INDEX.replace("{{base}}", &config.path),
        }
    }

    /// Takes what the page shows of the built app: routes, plugins, graph, configuration,
    /// health checks.
    pub(crate) fn set_app(&self, app: &Application) {
        let config = app.config();
        let routes: Vec<serde_json::Value> = app
            .routes()
            .iter()
            .map(|r| {
                serde_json::json!({
                    "method": r.method, "path": r.path, "handler": r.handler,
                    "origin": r.origin, "plugin": r.plugin, "guards": r.guards,
                    "public": r.public,
                })
            })
            .chain(app.framework_routes().iter().map(|r| {
                serde_json::json!({
                    "method": r.method, "path": r.path, "handler": r.handler,
                    "origin": r.origin.as_str(), "plugin": null, "guards": [], "public": false,
                })
            }))
            .collect();
        let graph = app.container().graph();
        let service = config
            .get::<String>("observability.service_name")
            .ok()
            .or_else(|| config.get::<String>("app.name").ok());
        let info = serde_json::json!({
            "service": service,
            "profile": config.profile().as_str(),
            "cortex_version": env!("CARGO_PKG_VERSION"),
            "started_ms": self.started_ms,
            "path": self.path,
            "protected": self.gate.is_protected(),
            "routes": routes,
            "plugins": app.plugins(),
            "graph": graph,
            "mermaid": graph.to_mermaid(),
            "config": config.redacted(),
        });
        let checks: Vec<Arc<dyn ErasedHealthCheck>> = app
            .container()
            .get_all::<dyn ErasedHealthCheck>()
            .map(|all| all.into_iter().map(|c| c.into_arc()).collect())
            .unwrap_or_default();
        let health = Health::new(checks, Arc::new(AtomicBool::new(false)), HEALTH_TIMEOUT);
        let _ = self.app.set(AppView {
            info: info.to_string(),
            health,
        });
    }

    /// The health report, run at most every [`HEALTH_EVERY`].
    async fn health(&self) -> Option<ReadinessReport> {
        let view = self.app.get()?;
        let mut cached = self.health.lock().await;
        if let Some((at, report)) = &*cached
            && at.elapsed() < HEALTH_EVERY
        {
            return Some(report.clone());
        }
        let mut report = view.health.readiness().await;
        if self.shutdown.is_tripped() {
            report.status = "draining";
        }
        *cached = Some((Instant::now(), report.clone()));
        Some(report)
    }

    async fn live(&self) -> String {
        let live = Live {
            time_ms: unix_ms(),
            uptime_secs: self.stats.now(),
            draining: self.shutdown.is_tripped(),
            stats: self.stats.snapshot(),
            health: self.health().await,
            log_errors: self.log.recent(),
            log_errors_captured: is_captured(),
            refresh_ms: self.refresh.as_millis() as u64,
        };
        serde_json::to_string(&live).unwrap_or_else(|_| "{}".into())
    }
}

/// The dashboard's routes.
pub(crate) fn routes(dashboard: &Arc<Dashboard>) -> Vec<Route> {
    let base = dashboard.path.clone();
    let page = {
        let d = dashboard.clone();
        move |headers: HeaderMap| {
            let d = d.clone();
            async move { d.page(&headers) }
        }
    };
    let sign_in = {
        let d = dashboard.clone();
        move |headers: HeaderMap, Form(form): Form<SignIn>| {
            let d = d.clone();
            async move { d.sign_in(&headers, &form.token) }
        }
    };
    let app_info = {
        let d = dashboard.clone();
        move |headers: HeaderMap| {
            let d = d.clone();
            async move {
                if let Err(refused) = d.gate.check(&headers) {
                    return refused;
                }
                match d.app.get() {
                    Some(view) => json(view.info.clone()),
                    None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                }
            }
        }
    };
    let live = {
        let d = dashboard.clone();
        move |headers: HeaderMap| {
            let d = d.clone();
            async move {
                if let Err(refused) = d.gate.check(&headers) {
                    return refused;
                }
                json(d.live().await)
            }
        }
    };
    let stream = {
        let d = dashboard.clone();
        move |headers: HeaderMap| {
            let d = d.clone();
            async move {
                if let Err(refused) = d.gate.check(&headers) {
                    return refused;
                }
                d.stream()
            }
        }
    };
    vec![
        Route::get(base.clone(), "dashboard_page", page).public(),
        Route::post(format!("{base}/login"), "dashboard_sign_in", sign_in).public(),
        Route::get(format!("{base}/api/app"), "dashboard_app", app_info).public(),
        Route::get(format!("{base}/api/live"), "dashboard_live", live).public(),
        Route::get(format!("{base}/api/stream"), "dashboard_stream", stream).public(),
        Route::get(
            format!("{base}/assets/dashboard.js"),
            "dashboard_script",
            || async { asset("text/javascript; charset=utf-8", SCRIPT) },
        )
        .public(),
        Route::get(
            format!("{base}/assets/dashboard.css"),
            "dashboard_style",
            || async { asset("text/css; charset=utf-8", STYLE) },
        )
        .public(),
    ]
}

impl Dashboard {
    fn page(&self, headers: &HeaderMap) -> Response {
        if self.gate.check(headers).is_err() {
            return self.login_page(StatusCode::UNAUTHORIZED, "");
        }
        html(StatusCode::OK, self.index.clone())
    }

    fn login_page(&self, status: StatusCode, message: &str) -> Response {
        let page = LOGIN
            .replace("{{base}}", &self.path)
            .replace("{{message}}", message);
        html(status, page)
    }

    fn sign_in(&self, headers: &HeaderMap, token: &str) -> Response {
        match self.gate.sign_in(token, headers, &self.path) {
            Some(cookie) => {
                let mut response = StatusCode::SEE_OTHER.into_response();
                let headers = response.headers_mut();
                if let (Ok(location), Ok(cookie)) = (
                    HeaderValue::from_str(&self.path),
                    HeaderValue::from_str(&cookie),
                ) {
                    headers.insert(LOCATION, location);
                    headers.insert(SET_COOKIE, cookie);
                }
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            None => {
                tracing::warn!("operations dashboard: a sign-in with a wrong token was refused");
                self.login_page(
                    StatusCode::UNAUTHORIZED,
                    "<p class=\"refused\">That token is not the one configured.</p>",
                )
            }
        }
    }

    /// One `snapshot` event per `refresh`, until the client goes or the app drains.
    fn stream(self: Arc<Self>) -> Response {
        let mut interval = tokio::time::interval(self.refresh);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shutdown = self.shutdown.clone();
        let events = futures_util::stream::unfold(
            (self, interval),
            |(dashboard, mut interval)| async move {
                interval.tick().await;
                let event = Event::default()
                    .event("snapshot")
                    .data(dashboard.live().await);
                Some((Ok::<_, Infallible>(event), (dashboard, interval)))
            },
        )
        // The drain does not wait for open pages: the stream ends when it starts.
        .take_until(async move { shutdown.tripped().await });
        let mut response = Sse::new(events)
            .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
            .into_response();
        response
            .headers_mut()
            .insert("x-accel-buffering", HeaderValue::from_static("no"));
        response
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    response
}

fn json(body: String) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
