//! [`HttpMetrics`]: the RED metrics of every request, as a request observer.

use std::sync::{Arc, OnceLock, RwLock};

use cortex_core::http::observe::{ObservedRequest, ObservedResponse, RequestObserver};
use http::header::CONTENT_LENGTH;
use http::{Method, StatusCode};
use metrics::{Gauge, Histogram};

use super::Metrics;

/// The request latency histogram (`method`, `route`, `status_class`).
pub const REQUEST_DURATION: &str = "http_server_request_duration_seconds";
/// The in-flight gauge (`method`).
pub const ACTIVE_REQUESTS: &str = "http_server_active_requests";
/// The request body size histogram (`method`, `route`).
pub const REQUEST_BODY_SIZE: &str = "http_server_request_body_size_bytes";
/// The response body size histogram (`method`, `route`, `status_class`).
pub const RESPONSE_BODY_SIZE: &str = "http_server_response_body_size_bytes";

/// The `route` label of a request that matched no route (a 404).
pub const UNMATCHED: &str = "unmatched";

/// The methods that are labels of their own; any other is `_OTHER` (OpenTelemetry's list).
const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "_OTHER",
];
const STATUS_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "_OTHER"];

/// A request observer recording, per route template, method and status class, the latency
/// histogram, the in-flight gauge and the body sizes (the `http_server_*` metrics of the
/// guide's table). What the `ObservabilityPlugin` registers unless `[observability.metrics]
/// http = false`.
///
/// Labels are bounded: the route **template** (`/users/{id}`, `unmatched` when no route
/// matched), one of ten method labels, one of six status classes. The metric handles of each
/// combination are registered once and kept: a request costs the in-flight gauge's increment and
/// decrement, a read lock, one hash of the route template and the recording itself, with no
/// label formatting or allocation.
///
/// ```
/// use cortex_core::App;
/// use cortex_core::routing::Route;
/// use cortex_core::testing::TestApp;
/// use cortex_observability::metrics::{HttpMetrics, Metrics};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let metrics = Metrics::local();
/// let app = TestApp::new(
///     App::new()
///         .route(Route::get("/users/{id}", "user", || async { "someone" }))
///         .observer(HttpMetrics::new(&metrics)),
/// )
/// .await;
/// app.get("/users/1").send().await;
/// app.get("/users/2").send().await;
/// assert!(metrics.render().contains(
///     r#"http_server_request_duration_seconds_count{method="GET",route="/users/{id}",status_class="2xx"} 2"#
/// ));
/// # }
/// ```
#[derive(Clone)]
pub struct HttpMetrics {
    inner: Arc<Inner>,
}

struct Inner {
    metrics: Metrics,
    active: [OnceLock<Gauge>; METHODS.len()],
    /// By route template: a fast hash (the keys are the app's templates, not what clients send).
    routes: RwLock<foldhash::HashMap<Box<str>, Box<RouteHandles>>>,
}

/// One route's handles, registered on first use: per method, and per method and status class.
struct RouteHandles {
    route: Box<str>,
    request_size: [OnceLock<Histogram>; METHODS.len()],
    responses: [[OnceLock<ResponseHandles>; STATUS_CLASSES.len()]; METHODS.len()],
}

struct ResponseHandles {
    duration: Histogram,
    size: Histogram,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let routes = self.inner.routes.read().map(|r| r.len()).unwrap_or(0);
        f.debug_struct("HttpMetrics")
            .field("routes", &routes)
            .finish_non_exhaustive()
    }
}

impl HttpMetrics {
    /// An observer recording into `metrics`.
    pub fn new(metrics: &Metrics) -> Self {
        HttpMetrics {
            inner: Arc::new(Inner {
                metrics: metrics.clone(),
                active: Default::default(),
                routes: RwLock::default(),
            }),
        }
    }

    fn active(&self, method: usize) -> &Gauge {
        self.inner.active[method].get_or_init(|| {
            self.inner
                .metrics
                .gauge(ACTIVE_REQUESTS, &[("method", METHODS[method])])
        })
    }

    /// Runs `record` on the route's handles: under a read lock, after one hash of `route`, when
    /// the route was seen before (no reference count touched); registered under the write lock
    /// the first time.
    fn with_route<R>(&self, route: &str, record: impl FnOnce(&RouteHandles) -> R) -> R {
        let routes = &self.inner.routes;
        if let Some(handles) = routes.read().unwrap_or_else(|p| p.into_inner()).get(route) {
            return record(handles);
        }
        let mut routes = routes.write().unwrap_or_else(|p| p.into_inner());
        let handles = routes.entry(route.into()).or_insert_with(|| {
            Box::new(RouteHandles {
                route: route.into(),
                request_size: Default::default(),
                responses: Default::default(),
            })
        });
        record(handles)
    }

    /// How many distinct route labels have been recorded (bounded by the app's routes, plus
    /// `unmatched`).
    pub fn route_count(&self) -> usize {
        self.inner
            .routes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

impl RouteHandles {
    fn request_size(&self, metrics: &Metrics, method: usize) -> &Histogram {
        self.request_size[method].get_or_init(|| {
            metrics.histogram(
                REQUEST_BODY_SIZE,
                &[("method", METHODS[method]), ("route", &self.route)],
            )
        })
    }

    fn response(&self, metrics: &Metrics, method: usize, class: usize) -> &ResponseHandles {
        self.responses[method][class].get_or_init(|| {
            let labels = [
                ("method", METHODS[method]),
                ("route", &*self.route),
                ("status_class", STATUS_CLASSES[class]),
            ];
            ResponseHandles {
                duration: metrics.histogram(REQUEST_DURATION, &labels),
                size: metrics.histogram(RESPONSE_BODY_SIZE, &labels),
            }
        })
    }
}

/// The index of `method`'s label in [`METHODS`].
fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::CONNECT => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::PATCH => 8,
        _ => 9,
    }
}

/// The index of `status`'s class in [`STATUS_CLASSES`].
fn status_class_index(status: StatusCode) -> usize {
    match status.as_u16() / 100 {
        class @ 1..=5 => usize::from(class) - 1,
        _ => 5,
    }
}

/// A request in flight: counted in the in-flight gauge until dropped, which is when the response
/// is observed or when the request's future is dropped (the client went away).
pub struct InFlight {
    active: Gauge,
    method: usize,
    request_size: Option<u64>,
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight")
            .field("method", &METHODS[self.method])
            .finish_non_exhaustive()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.active.decrement(1.0);
    }
}

impl RequestObserver for HttpMetrics {
    type State = InFlight;

    fn on_request(&self, request: &ObservedRequest<'_>) -> InFlight {
        let method = method_index(request.method());
        let active = self.active(method).clone();
        active.increment(1.0);
        let request_size = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        InFlight {
            active,
            method,
            request_size,
        }
    }

    fn on_response(&self, state: InFlight, response: &ObservedResponse<'_>) {
        let metrics = &self.inner.metrics;
        let class = status_class_index(response.status());
        self.with_route(response.route().unwrap_or(UNMATCHED), |route| {
            let handles = route.response(metrics, state.method, class);
            handles.duration.record(response.latency().as_secs_f64());
            if let Some(size) = response.body_size() {
                handles.size.record(size as f64);
            }
            if let Some(size) = state.request_size {
                route
                    .request_size(metrics, state.method)
                    .record(size as f64);
            }
        });
        // Out of the in-flight gauge only now.
        drop(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_list_are_other() {
        assert_eq!(METHODS[method_index(&Method::GET)], "GET");
        assert_eq!(METHODS[method_index(&Method::PATCH)], "PATCH");
        assert_eq!(METHODS[method_index(&Method::TRACE)], "TRACE");
        let custom = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(METHODS[method_index(&custom)], "_OTHER");
    }

    #[test]
    fn status_classes() {
        let class =
            |code: u16| STATUS_CLASSES[status_class_index(StatusCode::from_u16(code).unwrap())];
        assert_eq!(class(101), "1xx");
        assert_eq!(class(200), "2xx");
        assert_eq!(class(308), "3xx");
        assert_eq!(class(404), "4xx");
        assert_eq!(class(599), "5xx");
        assert_eq!(class(600), "_OTHER");
    }

    #[test]
    fn in_flight_is_decremented_when_dropped() {
        let metrics = Metrics::local();
        let observer = HttpMetrics::new(&metrics);
        let gauge = observer.active(0).clone();
        gauge.increment(1.0);
        let state = InFlight {
            active: gauge,
            method: 0,
            request_size: None,
        };
        assert!(
            metrics
                .render()
                .contains("http_server_active_requests{method=\"GET\"} 1")
        );
        drop(state);
        assert!(
            metrics
                .render()
                .contains("http_server_active_requests{method=\"GET\"} 0")
        );
    }

    #[test]
    fn each_standard_method_is_a_label_of_its_own() {
        for method in [
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::CONNECT,
            Method::OPTIONS,
            Method::TRACE,
            Method::PATCH,
        ] {
            assert_eq!(METHODS[method_index(&method)], method.as_str());
        }
    }

    #[test]
    fn route_handles_are_made_once_per_route() {
        let metrics = Metrics::local();
        let observer = HttpMetrics::new(&metrics);
        assert_eq!(observer.route_count(), 0);
        assert_eq!(observer.with_route("/users/{id}", |r| r.route.len()), 11);
        assert_eq!(observer.with_route("/users/{id}", |r| r.route.len()), 11);
        assert_eq!(observer.with_route(UNMATCHED, |r| r.route.len()), 9);
        assert_eq!(observer.route_count(), 2);
        assert_eq!(format!("{observer:?}"), "HttpMetrics { routes: 2, .. }");
    }

    #[test]
    fn in_flight_shows_its_method() {
        let metrics = Metrics::local();
        let observer = HttpMetrics::new(&metrics);
        let state = InFlight {
            active: observer.active(2).clone(),
            method: 2,
            request_size: Some(5),
        };
        assert_eq!(format!("{state:?}"), r#"InFlight { method: "POST", .. }"#);
    }
}
