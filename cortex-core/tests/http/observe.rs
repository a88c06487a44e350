//! Request observers (`cortex_core::http::observe`): what they see for controller routes, other
//! routes and the answers the stack gives itself, in which order several run, and observers
//! from the container.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use cortex_core::App;
use cortex_core::http::middleware::HttpConfig;
use cortex_core::http::observe::{
    ObservedRequest, ObservedResponse, RequestObserver, request_observer,
};
use cortex_core::http::{HttpError, Path};
use cortex_core::testing::CapturedSpans;
use cortex_di::Provider;
use cortex_macros::{controller, routes};
use http::{Method, Request, StatusCode};
use tower::ServiceExt;

#[controller("/users", profile = "observe-test")]
struct ObservedUsers;

#[routes]
impl ObservedUsers {
    #[get("/{id}")]
    async fn show(&self, Path(id): Path<u32>) -> Result<String, HttpError> {
        // Long enough that the latency is measurable on any clock.
        tokio::time::sleep(Duration::from_millis(2)).await;
        match id {
            7 => Ok("seven".to_owned()),
            _ => Err(HttpError::not_found(format!("no user {id}"))),
        }
    }
}

/// What one observer saw of one request.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    observer: &'static str,
    method: Method,
    route: Option<String>,
    /// The path `on_request` returned as its state, as `on_response` got it back.
    path_from_state: String,
    status: StatusCode,
    latency: Duration,
    body_size: Option<u64>,
}

/// Records every response into a shared log, with its state: the path it saw on the request.
#[derive(Clone)]
struct Recorder {
    name: &'static str,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl RequestObserver for Recorder {
    type State = String;

    fn on_request(&self, request: &ObservedRequest<'_>) -> String {
        request.uri().path().to_owned()
    }

    fn on_response(&self, path: String, response: &ObservedResponse<'_>) {
        self.log.lock().unwrap().push(Seen {
            observer: self.name,
            method: response.method().clone(),
            route: response.route().map(str::to_owned),
            path_from_state: path,
            status: response.status(),
            latency: response.latency(),
            body_size: response.body_size(),
        });
    }
}

fn recorder(name: &'static str, log: &Arc<Mutex<Vec<Seen>>>) -> Recorder {
    Recorder {
        name,
        log: log.clone(),
    }
}

/// Counts responses: the observer of the benchmark, and a container binding here.
#[derive(Default)]
struct Counter(AtomicU64);

impl RequestObserver for Counter {
    type State = ();

    fn on_request(&self, _: &ObservedRequest<'_>) {}

    fn on_response(&self, _: (), _: &ObservedResponse<'_>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn other_routes() -> Router {
    Router::new()
        .route("/orders/{order}/lines", get(|| async { "lines" }))
        .route("/echo", post(|body: String| async move { body }))
}

async fn app_with(
    http: HttpConfig,
    configure: impl FnOnce(App) -> App,
) -> cortex_core::Application {
    let app = App::new()
        .container(|b| {
            b.profile("observe-test");
        })
        .http_config(http)
        .controller::<ObservedUsers>()
        .router(other_routes());
    configure(app).build().await.unwrap()
}

async fn send(app: &cortex_core::Application, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let response = app.router().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, body.to_vec())
}

fn request(method: Method, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .extension(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 40_000))))
        .body(Body::empty())
        .unwrap()
}

fn take(log: &Arc<Mutex<Vec<Seen>>>) -> Vec<Seen> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[tokio::test]
async fn observers_see_method_route_template_status_latency_and_size() {
    let log = Arc::default();
    let app = app_with(HttpConfig::default(), |app| {
        app.observer(recorder("a", &log))
    })
    .await;

    let (status, body) = send(&app, request(Method::GET, "/users/7")).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"seven"[..]));
    let seen = take(&log);
    assert_eq!(seen.len(), 1, "{seen:?}");
    let seen = &seen[0];
    assert_eq!(seen.method, Method::GET);
    // The template, never the raw path; the state came back.
    assert_eq!(seen.route.as_deref(), Some("/users/{id}"));
    assert_eq!(seen.path_from_state, "/users/7");
    assert_eq!(seen.status, StatusCode::OK);
    assert!(
        seen.latency >= Duration::from_millis(2),
        "{:?}",
        seen.latency
    );
    assert_eq!(seen.body_size, Some(5));

    // A route of another router: the template from axum's `MatchedPath`.
    let (status, _) = send(&app, request(Method::GET, "/orders/42/lines")).await;
    assert_eq!(status, StatusCode::OK);
    let seen = take(&log);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].route.as_deref(), Some("/orders/{order}/lines"));
    assert_eq!(seen[0].path_from_state, "/orders/42/lines");
    assert_eq!(seen[0].body_size, Some(5));
    assert!(seen[0].latency > Duration::ZERO);

    // An error from the handler: a problem, its size known.
    let (status, body) = send(&app, request(Method::GET, "/users/8")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let seen = take(&log);
    assert_eq!(seen[0].route.as_deref(), Some("/users/{id}"));
    assert_eq!(seen[0].status, StatusCode::NOT_FOUND);
    assert_eq!(seen[0].body_size, Some(body.len() as u64));
}

#[tokio::test]
async fn answers_of_the_stack_itself_are_observed() {
    let log = Arc::default();
    let mut http = HttpConfig::default();
    http.rate_limit.per_second = 1;
    http.rate_limit.burst = 4;
    http.body_limit = Some(16);
    let app = app_with(http, |app| app.observer(recorder("a", &log))).await;

    // 404: no route matched, so no template.
    let (status, body) = send(&app, request(Method::GET, "/nowhere/7")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // 405: the path matched a controller route; the template is known.
    let (status, _) = send(&app, request(Method::DELETE, "/users/7")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // 413: refused before the handler runs.
    let mut oversized = request(Method::POST, "/echo");
    *oversized.body_mut() = Body::from("x".repeat(100));
    oversized
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, 100.into());
    let (status, _) = send(&app, oversized).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // 429: the fifth request of the burst.
    let (status, _) = send(&app, request(Method::GET, "/users/7")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(&app, request(Method::GET, "/users/7")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    let seen = take(&log);
    let summary: Vec<(StatusCode, Option<&str>, &str)> = seen
        .iter()
        .map(|s| (s.status, s.route.as_deref(), s.path_from_state.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (StatusCode::NOT_FOUND, None, "/nowhere/7"),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                Some("/users/{id}"),
                "/users/7"
            ),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("/echo"), "/echo"),
            (StatusCode::OK, Some("/users/{id}"), "/users/7"),
            (
                StatusCode::TOO_MANY_REQUESTS,
                Some("/users/{id}"),
                "/users/7"
            ),
        ]
    );
    assert_eq!(seen[0].body_size, Some(body.len() as u64));
    assert_eq!(seen[1].method, Method::DELETE);
    assert!(seen.iter().all(|s| s.body_size.is_some()), "{seen:?}");
}

#[tokio::test]
async fn several_observers_run_in_registration_order() {
    let log = Arc::default();
    let app = app_with(HttpConfig::minimal(), |app| {
        app.observer(recorder("first", &log))
            .observer(recorder("second", &log))
            .observer(recorder("third", &log))
    })
    .await;
    let (status, _) = send(&app, request(Method::GET, "/users/7")).await;
    assert_eq!(status, StatusCode::OK);
    let seen = take(&log);
    let order: Vec<&str> = seen.iter().map(|s| s.observer).collect();
    assert_eq!(order, ["first", "second", "third"]);
    // Each got its own state back, and all saw the same response.
    assert!(
        seen.iter()
            .all(|s| s.path_from_state == "/users/7" && s.route.as_deref() == Some("/users/{id}")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn observers_come_from_the_container() {
    let log = Arc::default();
    let recorded = recorder("from the container", &log);
    let app = app_with(HttpConfig::default(), |app| {
        app.provide(Provider::value(Counter::default()))
            .provide(request_observer::<Counter>())
            .provide(Provider::value(recorded))
            .provide(request_observer::<Recorder>())
    })
    .await;
    for _ in 0..3 {
        let (status, _) = send(&app, request(Method::GET, "/users/7")).await;
        assert_eq!(status, StatusCode::OK);
    }
    // The bound instance is the one the app injects.
    let counter = app.container().get::<Counter>().unwrap();
    assert_eq!(counter.0.load(Ordering::Relaxed), 3);
    let seen = take(&log);
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.iter().all(|s| s.observer == "from the container"));
}

#[tokio::test]
async fn an_app_without_observers_answers_as_before() {
    let app = app_with(HttpConfig::default(), |app| app).await;
    let (status, body) = send(&app, request(Method::GET, "/users/7")).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"seven"[..]));
    let (status, _) = send(&app, request(Method::DELETE, "/users/7")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

/// An app whose controller routes are on the fast path (no router merged): the stack wraps
/// each route's handlers and knows its template from startup.
async fn fast_path_app(configure: impl FnOnce(App) -> App) -> cortex_core::Application {
    let app = App::new()
        .container(|b| {
            b.profile("observe-test");
        })
        .http_config(HttpConfig::default())
        .controller::<ObservedUsers>();
    configure(app).build().await.unwrap()
}

#[tokio::test]
async fn controller_routes_on_the_fast_path_give_observers_and_the_span_their_template() {
    let spans = CapturedSpans::new();
    let _guard = tracing::dispatcher::set_default(&spans.dispatch());
    let log = Arc::default();
    let app = fast_path_app(|app| {
        app.provide(Provider::value(Counter::default()))
            .provide(request_observer::<Counter>())
            .observer(recorder("first", &log))
            .observer(recorder("second", &log))
    })
    .await;
    // Another test thread may leave a stale "not interested" for the span's callsite behind
    // (a known tracing-core race): recompute interests, and try again.
    let mut span_route = None;
    let mut sent = 0;
    for _ in 0..3 {
        tracing::callsite::rebuild_interest_cache();
        sent += 1;
        let (status, body) = send(&app, request(Method::GET, "/users/7")).await;
        assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"seven"[..]));
        span_route = spans
            .named("http.request")
            .first()
            .map(|span| span.fields["route"].clone());
        if span_route.is_some() {
            break;
        }
    }
    // The span's route: the template the stack was given for the route.
    assert_eq!(span_route.as_deref(), Some("/users/{id}"));

    let seen = take(&log);
    assert_eq!(seen.len(), 2 * sent, "{seen:?}");
    let (first, second) = (&seen[seen.len() - 2], &seen[seen.len() - 1]);
    assert_eq!((first.observer, second.observer), ("first", "second"));
    for seen in [first, second] {
        assert_eq!(seen.route.as_deref(), Some("/users/{id}"));
        assert_eq!(seen.path_from_state, "/users/7");
        assert_eq!(seen.status, StatusCode::OK);
        assert_eq!(seen.body_size, Some(5));
    }
    // Measured once, when the first observer asked: every observer gets the same latency.
    assert!(first.latency >= Duration::from_millis(2), "{first:?}");
    assert_eq!(first.latency, second.latency);

    // The observer with the state `()` (kept without a box) was called for every response, and
    // so was the 405 of a path that matched.
    let (status, _) = send(&app, request(Method::DELETE, "/users/7")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let counter = app.container().get::<Counter>().unwrap();
    assert_eq!(counter.0.load(Ordering::Relaxed), sent as u64 + 1);
    let seen = take(&log);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.route.as_deref() == Some("/users/{id}")
                && s.status == StatusCode::METHOD_NOT_ALLOWED),
        "{seen:?}"
    );
}
