//! `/health/live` and `/health/ready`: Kubernetes-style probes with pluggable checks.
//!
//! Liveness answers 200 while the process can serve at all. Readiness runs every registered
//! [`HealthCheck`] concurrently, each bounded by a timeout, and answers 503 when one is down or the
//! server is draining, so a load balancer stops routing new traffic here; a degraded check makes
//! the report `degraded` but still answers 200.

use std::borrow::Cow;
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
use cortex_di::Provider;
use serde::Serialize;

/// A readiness check: a database ping, a broker connection, a disk-space test.
///
/// Implement it with an `async fn` on an `#[injectable]` struct: the struct is then registered as
/// a health check under [`NAME`](Self::NAME), with no other option to write (the same way an
/// `#[injectable]` that implements `OnStart` gets its start hook). The startup log lists the
/// checks the app found, and `cortex graph` shows each as a `dyn ErasedHealthCheck` binding
/// named after it. A value provided by hand is registered with
/// [`App::health_check`](crate::App::health_check).
///
/// ```
/// use cortex_core::health::{HealthCheck, HealthStatus};
///
/// struct Disk { free_percent: u8 }
///
/// impl HealthCheck for Disk {
///     const NAME: &'static str = "disk";
///
///     async fn check(&self) -> HealthStatus {
///         match self.free_percent {
///             0..=2 => HealthStatus::unhealthy("the disk is full"),
///             3..=10 => HealthStatus::degraded("less than 10% of the disk is free"),
///             _ => HealthStatus::Healthy,
///         }
///     }
/// }
/// ```
pub trait HealthCheck: Send + Sync + 'static {
    /// The name shown in the readiness report and the logs, and the name of the check's binding
    /// in the container (two checks cannot share one).
    const NAME: &'static str;

    /// Runs the check. [`Health`] bounds it with a timeout (a check that takes longer is reported
    /// unhealthy), so it need not bound itself.
    fn check(&self) -> impl Future<Output = HealthStatus> + Send;
}

/// What a [`HealthCheck`] found.
///
/// A reason is served to anyone who can reach `/health/ready`: write it for an operator, and
/// never put a secret, a connection string or an error's `Display` (which may hold either) in it;
/// log the details instead.
///
/// ```
/// use cortex_core::health::HealthStatus;
///
/// let status = HealthStatus::degraded("the cache is cold");
/// assert_eq!(status.as_str(), "degraded");
/// assert_eq!(status.reason(), Some("the cache is cold"));
/// assert_eq!(HealthStatus::Healthy.reason(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthStatus {
    /// Working: reported `up`.
    Healthy,
    /// Working, but impaired (a fallback in use, a queue backing up): reported `degraded`. The app
    /// stays ready — `/health/ready` answers 200 — so that a load balancer keeps routing to it.
    Degraded {
        /// Why, for an operator (no secrets).
        reason: Cow<'static, str>,
    },
    /// Not working: reported `down`; `/health/ready` answers 503.
    Unhealthy {
        /// Why, for an operator (no secrets).
        reason: Cow<'static, str>,
    },
}

impl HealthStatus {
    /// Impaired but serving, because of `reason`.
    pub fn degraded(reason: impl Into<Cow<'static, str>>) -> Self {
        HealthStatus::Degraded {
            reason: reason.into(),
        }
    }

    /// Not working, because of `reason`.
    pub fn unhealthy(reason: impl Into<Cow<'static, str>>) -> Self {
        HealthStatus::Unhealthy {
            reason: reason.into(),
        }
    }

    /// `up`, `degraded` or `down`, as the readiness report writes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            HealthStatus::Healthy => "up",
            HealthStatus::Degraded { .. } => "degraded",
            HealthStatus::Unhealthy { .. } => "down",
        }
    }

    /// The reason, unless healthy.
    pub fn reason(&self) -> Option<&str> {
        match self {
            HealthStatus::Healthy => None,
            HealthStatus::Degraded { reason } | HealthStatus::Unhealthy { reason } => Some(reason),
        }
    }
}

/// The boxed future of an [`ErasedHealthCheck`].
type BoxedCheck<'a> = Pin<Box<dyn Future<Output = HealthStatus> + Send + 'a>>;

/// The object-safe form of [`HealthCheck`] that the container binds (`dyn ErasedHealthCheck`,
/// named after the check) and [`Health`] runs: implemented for every `HealthCheck`, never by
/// hand. It boxes the check's future, as `cortex_di`'s adapter does for `OnStart` hooks.
///
/// ```
/// use std::sync::Arc;
/// use cortex_core::health::{ErasedHealthCheck, HealthCheck, HealthStatus};
///
/// struct Always;
/// impl HealthCheck for Always {
///     const NAME: &'static str = "always";
///     async fn check(&self) -> HealthStatus { HealthStatus::Healthy }
/// }
///
/// let check: Arc<dyn ErasedHealthCheck> = Arc::new(Always);
/// assert_eq!(check.name(), "always");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a health check",
    note = "implement `HealthCheck` for it: `impl HealthCheck for {Self} {{ const NAME: &'static str = \"..\"; async fn check(&self) -> HealthStatus {{ .. }} }}`"
)]
pub trait ErasedHealthCheck: Send + Sync + 'static {
    /// [`HealthCheck::NAME`].
    fn name(&self) -> &'static str;
    /// [`HealthCheck::check`], boxed.
    fn check_boxed(&self) -> BoxedCheck<'_>;
}

impl<T: HealthCheck> ErasedHealthCheck for T {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn check_boxed(&self) -> BoxedCheck<'_> {
        Box::pin(self.check())
    }
}

/// The container binding that makes `T` (provided on its own) a health check: a
/// `dyn ErasedHealthCheck` named [`T::NAME`](HealthCheck::NAME), aliasing `T`'s instance. What
/// `#[injectable]` registers for a type that implements [`HealthCheck`], and
/// [`App::health_check`](crate::App::health_check) for one provided by hand.
///
/// ```
/// use cortex_core::health::{ErasedHealthCheck, HealthCheck, HealthStatus, health_check};
/// use cortex_di::{ContainerBuilder, Provider};
///
/// struct Disk;
/// impl HealthCheck for Disk {
///     const NAME: &'static str = "disk";
///     async fn check(&self) -> HealthStatus { HealthStatus::Healthy }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let container = ContainerBuilder::new()
///     .add(Provider::value(Disk))
///     .add(health_check::<Disk>())
///     .build()
///     .await?;
/// let checks = container.get_all::<dyn ErasedHealthCheck>()?;
/// assert_eq!(checks[0].name(), "disk");
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
#[track_caller]
pub fn health_check<T: HealthCheck>() -> Provider<dyn ErasedHealthCheck> {
    Provider::<dyn ErasedHealthCheck>::alias::<T>(|check| check).named(T::NAME)
}

/// Items `#[injectable]` expands to. Not public API.
#[doc(hidden)]
pub mod __private {
    use std::marker::PhantomData;

    use cortex_di::{ContainerBuilder, Provider};

    use super::{ErasedHealthCheck, HealthCheck};

    /// Registers a `#[injectable]` type as a health check when it implements [`HealthCheck`], by
    /// autoref specialization (as `cortex_di::__private::HookProbe` does for lifecycle hooks):
    /// the impl on `&HealthProbe<T>` wins when `T: HealthCheck`, else the do-nothing one on
    /// `HealthProbe<T>` is found after one deref.
    pub struct HealthProbe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

    impl<T: ?Sized> HealthProbe<T> {
        #[allow(clippy::new_without_default)]
        pub const fn new() -> Self {
            HealthProbe(PhantomData)
        }
    }

    pub trait RegisterHealthCheck {
        fn register_health_check(
            &self,
            builder: &mut ContainerBuilder,
            decorate: impl FnOnce(Provider<dyn ErasedHealthCheck>) -> Provider<dyn ErasedHealthCheck>,
        );
    }

    impl<T: HealthCheck> RegisterHealthCheck for &HealthProbe<T> {
        fn register_health_check(
            &self,
            builder: &mut ContainerBuilder,
            decorate: impl FnOnce(Provider<dyn ErasedHealthCheck>) -> Provider<dyn ErasedHealthCheck>,
        ) {
            builder.add(decorate(super::health_check::<T>()));
        }
    }

    pub trait SkipHealthCheck {
        fn register_health_check(
            &self,
            builder: &mut ContainerBuilder,
            decorate: impl FnOnce(Provider<dyn ErasedHealthCheck>) -> Provider<dyn ErasedHealthCheck>,
        );
    }

    impl<T: ?Sized> SkipHealthCheck for HealthProbe<T> {
        fn register_health_check(
            &self,
            _builder: &mut ContainerBuilder,
            _decorate: impl FnOnce(Provider<dyn ErasedHealthCheck>) -> Provider<dyn ErasedHealthCheck>,
        ) {
        }
    }
}

/// The checks and the draining flag behind the health endpoints.
#[derive(Clone)]
pub struct Health {
    checks: Arc<[Arc<dyn ErasedHealthCheck>]>,
    draining: Arc<AtomicBool>,
    timeout: Duration,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("checks", &self.names())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckReport {
    /// The check's name.
    pub name: String,
    /// `up`, `degraded` or `down`.
    pub status: &'static str,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Why it is `down` (the check's reason, or the timeout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it is `degraded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The readiness report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReadinessReport {
    /// `up`, `degraded` (every check up or degraded, one at least degraded: still ready), `down`
    /// or `draining`.
    pub status: &'static str,
    /// Every check's result.
    pub checks: Vec<CheckReport>,
}

impl Health {
    /// Health over `checks`, each bounded by `timeout`, reporting draining while `draining` is set.
    pub fn new(
        checks: Vec<Arc<dyn ErasedHealthCheck>>,
        draining: Arc<AtomicBool>,
        timeout: Duration,
    ) -> Self {
        Health {
            checks: checks.into(),
            draining,
            timeout,
        }
    }

    /// The checks' names, in the order they run and are reported.
    ///
    /// ```
    /// use std::sync::{Arc, atomic::AtomicBool};
    /// use std::time::Duration;
    /// use cortex_core::health::{Health, HealthCheck, HealthStatus};
    ///
    /// struct Db;
    /// impl HealthCheck for Db {
    ///     const NAME: &'static str = "db";
    ///     async fn check(&self) -> HealthStatus { HealthStatus::Healthy }
    /// }
    ///
    /// let health = Health::new(vec![Arc::new(Db)], Arc::new(AtomicBool::new(false)), Duration::from_secs(1));
    /// assert_eq!(health.names(), ["db"]);
    /// ```
    pub fn names(&self) -> Vec<&'static str> {
        self.checks.iter().map(|c| c.name()).collect()
    }

    /// Runs every check concurrently and reports. Each check's result is also recorded as the
    /// gauge `cortex_health_check_status{check, kind="ready"}` (1 up or degraded, 0 down)
    /// through the `metrics` facade, so `/metrics` shows the last probe's answer.
    pub async fn readiness(&self) -> ReadinessReport {
        let timeout = self.timeout;
        let runs = self.checks.iter().map(|check| async move {
            let started = Instant::now();
            let outcome = tokio::time::timeout(timeout, check.check_boxed()).await;
            let status = outcome.unwrap_or_else(|_| {
                HealthStatus::unhealthy(format!("timed out after {} ms", timeout.as_millis()))
            });
            let reason = status.reason().map(str::to_string);
            let degraded = matches!(status, HealthStatus::Degraded { .. });
            // As of this run, for `/metrics` (a no-op without a recorder): 1 ready (up or
            // degraded), 0 down.
            let ready = !matches!(status, HealthStatus::Unhealthy { .. });
            metrics::gauge!("cortex_health_check_status", "check" => check.name(), "kind" => "ready")
                .set(if ready { 1.0 } else { 0.0 });
            CheckReport {
                name: check.name().to_string(),
                status: status.as_str(),
                duration_ms: started.elapsed().as_millis() as u64,
                error: if degraded { None } else { reason.clone() },
                reason: if degraded { reason } else { None },
            }
        });
        let checks = futures_util::future::join_all(runs).await;
        let status = if self.draining.load(Ordering::Acquire) {
            "draining"
        } else if checks.iter().any(|c| c.status == "down") {
            "down"
        } else if checks.iter().any(|c| c.status == "degraded") {
            "degraded"
        } else {
            "up"
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
    // Degraded is still ready (Spring Boot's and terminus's reading): traffic keeps coming.
    let status = if report.status == "up" || report.status == "degraded" {
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
