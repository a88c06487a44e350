//! `/health/live` and `/health/ready`: Kubernetes-style probes with pluggable checks.
//!
//! Liveness answers 200 while the process can serve at all. Readiness runs every registered
//! [`HealthCheck`] concurrently, each bounded by a timeout, and answers 503 when one fails or the
//! server is draining, so a load balancer stops routing new traffic here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

/// A boxed future, as returned by [`HealthCheck::check`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A readiness check: a database ping, a broker connection, a disk-space test.
///
/// Bind implementations as `dyn HealthCheck` (several may coexist under different names); the
/// app collects all of them.
///
/// ```
/// use cortex_core::health::{BoxFuture, HealthCheck};
///
/// struct Disk;
/// impl HealthCheck for Disk {
///     fn name(&self) -> &str { "disk" }
///     fn check(&self) -> BoxFuture<'_, Result<(), String>> {
///         Box::pin(async { Ok(()) })
///     }
/// }
/// ```
pub trait HealthCheck: Send + Sync + 'static {
    /// The name shown in the readiness report.
    fn name(&self) -> &str;
    /// `Ok` when healthy; `Err` with a short reason (no secrets) otherwise.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// The checks and the draining flag behind the health endpoints.
#[derive(Clone)]
pub struct Health {
    checks: Arc<[Arc<dyn HealthCheck>]>,
    draining: Arc<AtomicBool>,
    timeout: Duration,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.checks.iter().map(|c| c.name()).collect();
        f.debug_struct("Health")
            .field("checks", &names)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckReport {
    /// The check's name.
    pub name: String,
    /// `up` or `down`.
    pub status: &'static str,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The readiness report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReadinessReport {
    /// `up`, `down` or `draining`.
    pub status: &'static str,
    /// Every check's result.
    pub checks: Vec<CheckReport>,
}

impl Health {
    /// Health over `checks`, each bounded by `timeout`, reporting draining while `draining` is set.
    pub fn new(
        checks: Vec<Arc<dyn HealthCheck>>,
        draining: Arc<AtomicBool>,
        timeout: Duration,
    ) -> Self {
        Health {
            checks: checks.into(),
            draining,
            timeout,
        }
    }

    /// Runs every check concurrently and reports.
    pub async fn readiness(&self) -> ReadinessReport {
        let timeout = self.timeout;
        let runs = self.checks.iter().map(|check| async move {
            let started = Instant::now();
            let outcome = tokio::time::timeout(timeout, check.check()).await;
            let error = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some(format!("timed out after {} ms", timeout.as_millis())),
            };
            CheckReport {
                name: check.name().to_string(),
                status: if error.is_none() { "up" } else { "down" },
                duration_ms: started.elapsed().as_millis() as u64,
                error,
            }
        });
        let checks = futures_util::future::join_all(runs).await;
        let status = if self.draining.load(Ordering::Acquire) {
            "draining"
        } else if checks.iter().all(|c| c.error.is_none()) {
            "up"
        } else {
            "down"
        };
        ReadinessReport { status, checks }
    }

    /// The paths [`router`](Self::router) serves: liveness, then readiness.
    pub(crate) const PATHS: [&'static str; 2] = ["/health/live", "/health/ready"];

    /// The `/health/live` and `/health/ready` routes.
    pub fn router(&self) -> Router {
        let [live_path, ready_path] = Self::PATHS;
        Router::new()
            .route(live_path, get(live))
            .route(ready_path, get(ready))
            .with_state(self.clone())
    }
}

async fn live() -> Response {
    axum::Json(serde_json::json!({ "status": "up" })).into_response()
}

async fn ready(State(health): State<Health>) -> Response {
    let report = health.readiness().await;
    let status = if report.status == "up" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = (status, axum::Json(report)).into_response();
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}
