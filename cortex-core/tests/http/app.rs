//! The app end to end: controllers and routes from the macros, the container, middleware, health,
//! and serving on a real socket with graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use cortex_core::health::{HealthCheck, HealthStatus};
use cortex_core::http::{Created, HttpError, Json, Path, Valid};
use cortex_core::routing::{Guard, RouteError};
use cortex_core::{App, AppError};
use cortex_di::{Inject, injectable};
use cortex_macros::{controller, routes};
use http::request::Parts;
use http::{Request, StatusCode};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;

#[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
struct User {
    id: u32,
    name: String,
}

#[derive(Deserialize, validator::Validate)]
struct NewUser {
    #[validate(length(min = 2, max = 40))]
    name: String,
}

#[injectable(profile = "app-test")]
struct UserStore {
    #[inject(default)]
    users: std::sync::Mutex<Vec<User>>,
}

static REQUESTS_SEEN: AtomicUsize = AtomicUsize::new(0);

#[injectable(scope = "request", profile = "app-test")]
struct RequestCounter {
    #[inject(value = REQUESTS_SEEN.fetch_add(1, Ordering::SeqCst))]
    n: usize,
}

struct AdminOnly;
impl Guard for AdminOnly {
    async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {
        let admin = request.headers.get("x-role").is_some_and(|v| v == "admin");
        // An await point: the guard's future is a real async one, and must be `Send`.
        tokio::task::yield_now().await;
        if admin {
            Ok(())
        } else {
            Err(HttpError::forbidden("admins only"))
        }
    }
}

#[controller("/users", profile = "app-test")]
struct UserController {
    store: Inject<UserStore>,
}

#[routes]
impl UserController {
    #[get("/")]
    async fn list(&self) -> Json<Vec<User>> {
        Json(self.store.users.lock().unwrap().clone())
    }

    #[get("/{id}")]
    async fn show(&self, Path(id): Path<u32>) -> Result<Json<User>, HttpError> {
        let users = self.store.users.lock().unwrap();
        users
            .iter()
            .find(|u| u.id == id)
            .cloned()
            .map(Json)
            .ok_or_else(|| HttpError::not_found(format!("no user {id}")))
    }

    #[post("/")]
    #[guard(AdminOnly)]
    async fn create(&self, Valid(Json(body)): Valid<Json<NewUser>>) -> Created<User> {
        let mut users = self.store.users.lock().unwrap();
        let user = User {
            id: users.len() as u32 + 1,
            name: body.name,
        };
        users.push(user.clone());
        Created::at(format!("/users/{}", user.id), user)
    }

    #[get("/counter/twice")]
    async fn counter(&self, a: Inject<RequestCounter>, b: Inject<RequestCounter>) -> String {
        assert!(Inject::ptr_eq(&a, &b), "one request, one scope");
        a.n.to_string()
    }

    #[get("/boom")]
    async fn boom(&self) -> &'static str {
        panic!("secret internals")
    }
}

async fn app() -> cortex_core::Application {
    App::new()
        .container(|b| {
            b.profile("app-test");
        })
        .discover()
        .build()
        .await
        .unwrap()
}

async fn send(
    app: &cortex_core::Application,
    request: Request<Body>,
) -> (StatusCode, http::HeaderMap, serde_json::Value) {
    let response = app.router().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::String(
        String::from_utf8_lossy(&bytes).into(),
    ));
    (status, headers, json)
}

fn post_json(uri: &str, body: &str, admin: bool) -> Request<Body> {
    let mut r = Request::post(uri).header("content-type", "application/json");
    if admin {
        r = r.header("x-role", "admin");
    }
    r.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn controllers_serve_their_routes_with_extractors_validation_and_guards() {
    let app = app().await;
    let (status, headers, body) = send(&app, post_json("/users", r#"{"name":"Ada"}"#, true)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers["location"], "/users/1");
    assert_eq!(body["name"], "Ada");

    let (status, _, body) = send(&app, Request::get("/users/1").body(Body::empty()).unwrap()).await;
    assert_eq!(
        (status, &body["name"]),
        (StatusCode::OK, &serde_json::json!("Ada"))
    );

    let (status, headers, body) =
        send(&app, Request::get("/users/9").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(body["detail"], "no user 9");

    let (status, _, body) = send(&app, post_json("/users", r#"{"name":"A"}"#, true)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "name");

    let (status, _, body) = send(&app, post_json("/users", r#"{"name":"Bob"}"#, false)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["detail"], "admins only");

    let (status, _, body) = send(
        &app,
        Request::get("/users/abc").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn request_scoped_arguments_share_one_scope_per_request() {
    let app = app().await;
    let (s1, _, a) = send(
        &app,
        Request::get("/users/counter/twice")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let (s2, _, b) = send(
        &app,
        Request::get("/users/counter/twice")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_ne!(a, b, "each request gets its own");
}

#[tokio::test]
async fn unknown_routes_methods_and_panics_answer_problem_details() {
    let app = app().await;
    let (status, headers, _) = send(&app, Request::get("/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(
        (status, &headers["content-type"]),
        (
            StatusCode::NOT_FOUND,
            &"application/problem+json".parse().unwrap()
        )
    );
    let (status, headers, _) =
        send(&app, Request::delete("/users").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(headers.contains_key("allow"));
    let (status, _, body) = send(
        &app,
        Request::get("/users/boom").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!body.to_string().contains("secret internals"));
    let (status, _, _) = send(&app, Request::get("/users").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "still serving after a panic");
}

#[tokio::test]
async fn the_route_table_lists_method_path_handler_and_guards() {
    let app = app().await;
    let create = app
        .routes()
        .iter()
        .find(|r| r.handler == "UserController::create")
        .unwrap();
    assert_eq!(
        (create.method.as_str(), create.path.as_str()),
        ("POST", "/users")
    );
    assert_eq!(create.guards, ["AdminOnly"]);
    let show = app
        .routes()
        .iter()
        .find(|r| r.handler == "UserController::show")
        .unwrap();
    assert_eq!(show.path, "/users/{id}");
}

#[tokio::test]
async fn health_probes_answer_json() {
    let app = app().await;
    let (status, _, body) = send(
        &app,
        Request::get("/health/live").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("up"))
    );
    let (status, _, body) = send(
        &app,
        Request::get("/health/ready").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("up"))
    );
}

#[tokio::test]
async fn a_handler_argument_nothing_provides_fails_the_start() {
    #[injectable(profile = "missing-dep")]
    struct Lonely;
    struct NotProvided;

    #[controller("/lonely", profile = "missing-dep")]
    struct LonelyController;

    #[routes]
    impl LonelyController {
        #[get("/")]
        async fn get(&self, _x: Inject<NotProvided>) -> &'static str {
            "never"
        }
    }

    let err = App::new()
        .container(|b| {
            b.profile("missing-dep");
        })
        .controller::<LonelyController>()
        .build()
        .await
        .err()
        .unwrap();
    let AppError::Routes(errors) = &err else {
        panic!("{err}")
    };
    let [
        RouteError::UnknownDependency {
            handler,
            method,
            path,
            dependency,
            argument,
        },
    ] = errors.errors()
    else {
        panic!("{err}")
    };
    assert_eq!(
        (
            handler.as_str(),
            method.as_str(),
            path.as_str(),
            argument.as_str()
        ),
        ("LonelyController::get", "GET", "/lonely", "_x")
    );
    assert!(dependency.ends_with("NotProvided"), "{dependency}");
    assert_eq!(
        err.to_string(),
        format!(
            "handler `LonelyController::get` (GET /lonely) needs `{dependency}` (argument `_x`), but nothing provides it; hint: annotate it with #[injectable] or register it"
        )
    );
    let _ = Lonely;
}

#[tokio::test]
async fn serving_on_a_socket_then_shutting_down_runs_hooks_in_order() {
    let log = Arc::new(std::sync::Mutex::new(Vec::<&'static str>::new()));
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let app = App::new()
        .container(|b| {
            b.profile("app-test");
        })
        .discover()
        .on_start(move |_| {
            let l = l1.clone();
            async move {
                l.lock().unwrap().push("start");
                Ok(())
            }
        })
        .on_ready(move |_| {
            let l = l2.clone();
            async move {
                l.lock().unwrap().push("ready");
                Ok(())
            }
        })
        .on_shutdown(move |_| {
            let l = l3.clone();
            async move {
                l.lock().unwrap().push("shutdown");
                Ok(())
            }
        })
        .build()
        .await
        .unwrap();
    let running = app.bind_to("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = running.local_addr();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let response = sender
        .send_request(
            Request::get("/health/live")
                .header("host", "localhost")
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(running.handle().active_connections(), 1);
    drop(sender);
    let summary = running.shutdown().await.unwrap();
    assert_eq!(summary.forced_closed, 0);
    assert_eq!(*log.lock().unwrap(), ["start", "ready", "shutdown"]);
}

/// Header names of a response, without the ones whose values change per request.
fn header_names(headers: &http::HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = headers.keys().map(|k| k.to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn handlers_wrapped_before_boxing_get_the_same_stack_problems_and_405s_as_the_others() {
    // `/users/{id}` has one undecorated handler (wrapped in the stack before axum boxes it);
    // `/users` also has a guarded one (served the usual way).
    for app in [
        app().await,
        // With another router merged in, every handler is served the usual way.
        App::new()
            .container(|b| {
                b.profile("app-test");
            })
            .discover()
            .router(axum::Router::new().route("/extra", axum::routing::get(|| async { "extra" })))
            .build()
            .await
            .unwrap(),
    ] {
        let (direct_status, direct_headers, direct_body) = send(
            &app,
            Request::delete("/users/1").body(Body::empty()).unwrap(),
        )
        .await;
        let (boxed_status, boxed_headers, boxed_body) =
            send(&app, Request::delete("/users").body(Body::empty()).unwrap()).await;
        assert_eq!(direct_status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(boxed_status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(direct_headers["content-type"], "application/problem+json");
        assert_eq!(direct_headers["allow"], "GET,HEAD");
        assert_eq!(direct_body["status"], 405);
        assert_eq!(boxed_body["status"], 405);
        // The stack ran around both: request id, security headers, the same set of headers.
        assert!(
            direct_headers.contains_key("x-request-id"),
            "{direct_headers:?}"
        );
        assert!(direct_headers.contains_key("x-content-type-options"));
        assert_eq!(header_names(&direct_headers), header_names(&boxed_headers));

        // The success path of an undecorated handler carries the stack's headers too.
        let (status, headers, _) = send(
            &app,
            Request::get("/users/counter/twice")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.contains_key("x-request-id"));
        assert!(headers.contains_key("x-content-type-options"));
        // HEAD is served by the GET handler.
        let (status, _, _) = send(
            &app,
            Request::head("/users/counter/twice")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn two_handlers_on_one_method_and_path_are_a_duplicate_route_error() {
    #[controller("/twice", profile = "duplicate-route")]
    struct FirstController;

    #[routes]
    impl FirstController {
        #[get("/")]
        async fn list(&self) -> &'static str {
            "first"
        }
    }

    #[controller("/twice", profile = "duplicate-route")]
    struct SecondController;

    #[routes]
    impl SecondController {
        #[get("/")]
        async fn list(&self) -> &'static str {
            "second"
        }
    }

    let err = App::new()
        .container(|b| {
            b.profile("duplicate-route");
        })
        .controller::<FirstController>()
        .controller::<SecondController>()
        .build()
        .await
        .err()
        .unwrap();
    let AppError::Routes(errors) = &err else {
        panic!("{err}")
    };
    let [
        RouteError::Duplicate {
            method,
            path,
            first,
            second,
        },
    ] = errors.errors()
    else {
        panic!("{err}")
    };
    assert_eq!(
        [method, path, first, second].map(String::as_str),
        [
            "GET",
            "/twice",
            "FirstController::list",
            "SecondController::list"
        ]
    );
    assert_eq!(
        err.to_string(),
        "GET /twice is served by both `FirstController::list` and `SecondController::list`; hint: change one path or method"
    );
}

/// Up, and registered as a health check by `#[injectable]` alone.
#[injectable(profile = "health-degraded", profile = "health-down")]
struct DatabaseHealth;

impl HealthCheck for DatabaseHealth {
    const NAME: &'static str = "database";

    async fn check(&self) -> HealthStatus {
        tokio::task::yield_now().await;
        HealthStatus::Healthy
    }
}

#[injectable(profile = "health-degraded", profile = "health-down")]
struct CacheHealth;

impl HealthCheck for CacheHealth {
    const NAME: &'static str = "cache";

    async fn check(&self) -> HealthStatus {
        HealthStatus::degraded("the cache is cold")
    }
}

#[injectable(profile = "health-down")]
struct BrokerHealth;

impl HealthCheck for BrokerHealth {
    const NAME: &'static str = "broker";

    async fn check(&self) -> HealthStatus {
        HealthStatus::unhealthy("no broker answers")
    }
}

/// `/health/ready`'s status and body, without the durations (which vary).
async fn readiness(profile: &str) -> (StatusCode, serde_json::Value) {
    let app = App::new()
        .container(|b| {
            b.profile(profile);
        })
        .register::<DatabaseHealth>()
        .register::<CacheHealth>()
        .register::<BrokerHealth>()
        .build()
        .await
        .unwrap();
    let (status, headers, mut body) = send(
        &app,
        Request::get("/health/ready").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(headers["cache-control"], "no-store");
    for check in body["checks"].as_array_mut().unwrap() {
        assert!(check["duration_ms"].is_u64(), "{check}");
        check.as_object_mut().unwrap().remove("duration_ms");
    }
    (status, body)
}

#[tokio::test]
async fn a_degraded_check_makes_readiness_degraded_and_still_200() {
    assert_eq!(
        readiness("health-degraded").await,
        (
            StatusCode::OK,
            serde_json::json!({
                "status": "degraded",
                "checks": [
                    {"name": "database", "status": "up"},
                    {"name": "cache", "status": "degraded", "reason": "the cache is cold"},
                ]
            })
        )
    );
}

#[tokio::test]
async fn an_unhealthy_check_makes_readiness_down_and_503() {
    assert_eq!(
        readiness("health-down").await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({
                "status": "down",
                "checks": [
                    {"name": "database", "status": "up"},
                    {"name": "cache", "status": "degraded", "reason": "the cache is cold"},
                    {"name": "broker", "status": "down", "error": "no broker answers"},
                ]
            })
        )
    );
}

#[tokio::test]
async fn a_check_provided_by_hand_is_registered_with_health_check() {
    struct Disk;
    impl HealthCheck for Disk {
        const NAME: &'static str = "disk";
        async fn check(&self) -> HealthStatus {
            HealthStatus::unhealthy("the disk is full")
        }
    }

    let app = App::new()
        .provide(cortex_di::Provider::value(Disk))
        .health_check::<Disk>()
        .build()
        .await
        .unwrap();
    let (status, _, body) = send(
        &app,
        Request::get("/health/ready").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["checks"][0]["error"], "the disk is full");
}

#[tokio::test]
async fn health_probes_and_marked_operational_paths_are_never_rate_limited() {
    use axum::extract::ConnectInfo;
    use cortex_core::http::middleware::HttpConfig;
    let mut http = HttpConfig::default();
    http.rate_limit.per_second = 1;
    http.rate_limit.burst = 1;
    let app = App::new()
        .http_config(http)
        .router(
            axum::Router::new()
                .route("/status", axum::routing::get(|| async { "fine" }))
                .route("/other", axum::routing::get(|| async { "other" })),
        )
        .operational_path("/status")
        .build()
        .await
        .unwrap();
    // Everything from one address, as behind a load balancer.
    let from_balancer = |path: &str| {
        Request::get(path)
            .extension(ConnectInfo(std::net::SocketAddr::from((
                [10, 0, 0, 9],
                40_000,
            ))))
            .body(Body::empty())
            .unwrap()
    };
    let status = |request: Request<Body>| app.router().oneshot(request);
    assert_eq!(
        status(from_balancer("/other")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        status(from_balancer("/other")).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    for _ in 0..20 {
        for path in ["/health/live", "/health/ready", "/status"] {
            assert_eq!(
                status(from_balancer(path)).await.unwrap().status(),
                StatusCode::OK,
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn an_operational_path_that_is_not_a_path_fails_the_build() {
    let err = App::new()
        .operational_path("metrics")
        .build()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`metrics` is not a path"), "{err}");
}
