//! Inspection mode (`CORTEX_INSPECT`): the documents it prints, and that it runs no start hooks.
//! The variable is process-global, so these go through `inspect_app`, which takes the request
//! explicitly; the CLI's tests run a real binary with the variable set.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cortex_core::http::{HttpError, Json};
use cortex_core::inspect::{Inspect, inspect_app};
use cortex_core::routing::Guard;
use cortex_core::{App, AppError};
use cortex_di::{BoxError, Inject, OnStart, injectable};
use cortex_macros::{controller, routes};
use http::request::Parts;

static STARTED: AtomicUsize = AtomicUsize::new(0);

/// A service whose start-up would connect to a database: inspection must not run it.
#[injectable(profile = "inspect-test")]
struct Database;

impl OnStart for Database {
    async fn on_start(&self) -> Result<(), BoxError> {
        STARTED.fetch_add(1, Ordering::SeqCst);
        Err("cannot connect to the database".into())
    }
}

#[injectable(profile = "inspect-test")]
struct Catalog {
    db: Inject<Database>,
}

struct Staff;
impl Guard for Staff {
    async fn check(&self, _request: &mut Parts) -> Result<(), HttpError> {
        Ok(())
    }
}

#[controller("/books", profile = "inspect-test")]
struct BookController {
    catalog: Inject<Catalog>,
}

#[routes]
impl BookController {
    #[get("/")]
    async fn list(&self) -> Json<Vec<String>> {
        let _ = &self.catalog.db;
        Json(Vec::new())
    }

    #[post("/")]
    #[guard(Staff)]
    async fn create(&self) -> &'static str {
        "created"
    }
}

fn app(on_start_ran: Arc<AtomicUsize>) -> App {
    App::new()
        .container(|b| {
            b.profile("inspect-test");
        })
        .discover()
        .on_start(move |_| {
            on_start_ran.fetch_add(1, Ordering::SeqCst);
            async { Err("the on_start closure ran".into()) }
        })
}

#[tokio::test]
async fn routes_are_printed_as_json_without_running_start_hooks() {
    let closure = Arc::new(AtomicUsize::new(0));
    let before = STARTED.load(Ordering::SeqCst);
    let out = inspect_app(app(closure.clone()), "routes").await.unwrap();
    assert!(out.ends_with('\n'));
    let routes: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        routes,
        serde_json::json!([
            {"method": "GET", "path": "/books", "handler": "BookController::list", "guards": [], "controller": "BookController", "origin": "app"},
            {"method": "POST", "path": "/books", "handler": "BookController::create", "guards": ["Staff"], "controller": "BookController", "origin": "app"},
            {"method": "GET", "path": "/health/live", "handler": "liveness", "guards": [], "controller": null, "origin": "health"},
            {"method": "GET", "path": "/health/ready", "handler": "readiness", "guards": [], "controller": null, "origin": "health"},
            {"method": "GET", "path": "/openapi.json", "handler": "OpenAPI document", "guards": [], "controller": null, "origin": "openapi"},
            {"method": "GET", "path": "/docs", "handler": "API docs page", "guards": [], "controller": null, "origin": "openapi"},
        ])
    );
    assert_eq!(closure.load(Ordering::SeqCst), 0, "on_start closure ran");
    assert_eq!(STARTED.load(Ordering::SeqCst), before, "OnStart hook ran");

    // Built normally, the same app fails in its start hooks: inspection really skipped them.
    let err = app(closure.clone()).build().await.err().unwrap();
    assert!(err.to_string().contains("database"), "{err}");
}

#[tokio::test]
async fn the_framework_routes_follow_the_configuration_and_each_one_answers() {
    let assets = tempfile::tempdir().unwrap();
    std::fs::write(assets.path().join("app.css"), "body {}").unwrap();
    let toml = format!(
        "[openapi]\npath = \"/api/spec.json\"\ndocs_path = \"\"\n\n[[http.static]]\npath = \"/assets\"\ndir = {:?}\n",
        assets.path().display().to_string()
    );
    let app = || App::with_config(cortex_core::config::Config::from_toml(&toml).unwrap());
    let out = inspect_app(app(), "routes").await.unwrap();
    let routes: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let listed: Vec<(String, String)> = routes
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["origin"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("/health/live", "health"),
        ("/health/ready", "health"),
        ("/api/spec.json", "openapi"),
        ("/assets/{*path}", "static"),
    ];
    assert_eq!(
        listed,
        expected.map(|(p, o)| (p.to_string(), o.to_string())),
        "{out}"
    );

    // Each listed route is served: the listing is the app's, not a guess.
    let built = app().build().await.unwrap();
    for path in [
        "/health/live",
        "/health/ready",
        "/api/spec.json",
        "/assets/app.css",
    ] {
        let request = http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = tower::ServiceExt::oneshot(built.router(), request)
            .await
            .unwrap();
        assert_eq!(response.status(), http::StatusCode::OK, "{path}");
    }

    let off = cortex_core::config::Config::from_toml("[openapi]\nenabled = false").unwrap();
    let out = inspect_app(App::with_config(off), "routes").await.unwrap();
    assert!(!out.contains("openapi"), "{out}");
}

#[tokio::test]
async fn the_graph_is_printed_as_json_mermaid_and_dot() {
    let closure = Arc::new(AtomicUsize::new(0));
    let json = inspect_app(app(closure.clone()), "graph").await.unwrap();
    let graph: serde_json::Value = serde_json::from_str(&json).unwrap();
    let providers = graph["providers"].as_array().unwrap();
    let catalog = providers
        .iter()
        .find(|p| p["type"].as_str().unwrap().ends_with("::Catalog"))
        .expect("Catalog in the graph");
    assert_eq!(catalog["scope"], "singleton");
    assert_eq!(catalog["dependencies"][0]["field"], "db");
    assert!(
        catalog["dependencies"][0]["type"]
            .as_str()
            .unwrap()
            .ends_with("::Database")
    );

    let mermaid = inspect_app(app(closure.clone()), "graph:mermaid")
        .await
        .unwrap();
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(mermaid.contains("-->|db|"), "{mermaid}");

    let dot = inspect_app(app(closure.clone()), "graph:dot")
        .await
        .unwrap();
    assert!(dot.starts_with("digraph cortex {"), "{dot}");
    assert!(dot.contains("[label=\"catalog\"]"), "{dot}");
    assert_eq!(closure.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_openapi_document_is_printed_unless_disabled() {
    let closure = Arc::new(AtomicUsize::new(0));
    let out = inspect_app(app(closure.clone()), "openapi").await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    assert!(doc["paths"]["/books"]["post"].is_object(), "{doc}");

    let config = cortex_core::config::Config::from_toml("[openapi]\nenabled = false").unwrap();
    let err = inspect_app(App::with_config(config), "openapi")
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Inspect(_)), "{err}");
    assert!(
        err.to_string()
            .contains("the app has no OpenAPI document (`openapi.enabled = false`)"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unknown_request_names_the_valid_ones() {
    let err = inspect_app(App::new(), "route").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "CORTEX_INSPECT=\"route\" is not a known inspection: expected one of routes, graph, \
         graph:mermaid, graph:dot, openapi, plugins, tasks; hint: unset CORTEX_INSPECT to run the app"
    );
    for value in Inspect::VALUES {
        assert_eq!(value.parse::<Inspect>().unwrap().as_str(), value);
    }
}

#[tokio::test]
async fn a_graph_error_is_reported_as_at_start_up() {
    #[injectable(profile = "inspect-missing")]
    struct Needy {
        _missing: Inject<NotProvided>,
    }
    struct NotProvided;

    let err = inspect_app(
        App::new()
            .container(|b| {
                b.profile("inspect-missing");
            })
            .discover(),
        "graph",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Container(_)), "{err}");
    assert!(err.to_string().contains("NotProvided"), "{err}");
}

/// What the providers of `inspected_app` created, by name.
static CREATED: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

fn created(what: &'static str) {
    CREATED.lock().unwrap().push(what);
}

fn created_so_far() -> Vec<&'static str> {
    CREATED.lock().unwrap().clone()
}

/// A connection pool: connects when created.
struct Pool;
/// What the controller depends on.
struct Accounts {
    _pool: Inject<Pool>,
}
/// A guard resolved from the container, on a route and on the whole controller.
struct ApiKey;
struct Audited;
/// A health check, registered with `App::health_check`.
struct PoolProbe;
/// A lazy singleton.
struct Mailer;
/// What the middleware stack takes from the container: a request observer, a rate-limit store
/// and a principal resolver.
struct Metrics;
struct SharedQuota;
struct ApiKeyPrincipal;

impl cortex_core::http::observe::RequestObserver for Metrics {
    type State = ();
    fn on_request(&self, _: &cortex_core::http::observe::ObservedRequest<'_>) {}
    fn on_response(&self, _: (), _: &cortex_core::http::observe::ObservedResponse<'_>) {}
}
impl cortex_core::http::middleware::RateLimitStore for SharedQuota {
    async fn check(
        &self,
        _: &cortex_core::http::middleware::RateLimitKey,
    ) -> Result<cortex_core::http::middleware::Decision, BoxError> {
        Ok(cortex_core::http::middleware::Decision::allow(1, 1))
    }
}
impl cortex_core::http::middleware::PrincipalResolver for ApiKeyPrincipal {
    fn resolve(
        &self,
        _: &http::HeaderMap,
        _: &http::Extensions,
    ) -> Option<cortex_core::http::middleware::Principal> {
        None
    }
}

impl Guard for ApiKey {
    async fn check(&self, _request: &mut Parts) -> Result<(), HttpError> {
        Ok(())
    }
}
impl Guard for Audited {
    async fn check(&self, _request: &mut Parts) -> Result<(), HttpError> {
        Ok(())
    }
}
impl cortex_core::health::HealthCheck for PoolProbe {
    const NAME: &'static str = "pool";
    async fn check(&self) -> cortex_core::health::HealthStatus {
        cortex_core::health::HealthStatus::Healthy
    }
}

#[controller("/accounts", profile = "inspect-nothing")]
#[guard(inject = Audited)]
struct AccountController {
    accounts: Inject<Accounts>,
}

#[routes]
impl AccountController {
    #[get("/")]
    async fn list(&self) -> Json<Vec<String>> {
        let _ = &self.accounts;
        Json(Vec::new())
    }

    #[post("/")]
    #[guard(inject = ApiKey)]
    async fn open(&self) -> &'static str {
        "opened"
    }
}

/// An app whose every provider records its creation: an eager singleton (the pool), the
/// controller and its dependency, two injected guards, a health check, what the stack takes from
/// the container (an observer, a rate-limit store, a principal resolver) and a lazy singleton.
fn inspected_app() -> App {
    use cortex_di::{Dependency, Provider};
    App::new()
        .container(|b| {
            b.profile("inspect-nothing");
        })
        .provide(Provider::factory(|_| {
            created("pool");
            Ok(Pool)
        }))
        .provide(
            Provider::factory(|r| {
                created("accounts");
                Ok(Accounts {
                    _pool: r.get::<Pool>()?,
                })
            })
            .depends_on(Dependency::on::<Pool>()),
        )
        .provide(Provider::factory(|_| {
            created("api key guard");
            Ok(ApiKey)
        }))
        .provide(Provider::factory(|_| {
            created("audit guard");
            Ok(Audited)
        }))
        .provide(Provider::factory(|_| {
            created("health check");
            Ok(PoolProbe)
        }))
        .health_check::<PoolProbe>()
        .provide(Provider::factory(|_| {
            created("observer");
            Ok(Metrics)
        }))
        .provide(cortex_core::http::observe::request_observer::<Metrics>())
        .provide(Provider::factory(|_| {
            created("rate-limit store");
            Ok(SharedQuota)
        }))
        .rate_limit_store::<SharedQuota>()
        .provide(Provider::factory(|_| {
            created("principal resolver");
            Ok(ApiKeyPrincipal)
        }))
        .principal_resolver::<ApiKeyPrincipal>()
        .provide(
            Provider::factory(|_| {
                created("mailer");
                Ok(Mailer)
            })
            .lazy(true),
        )
        .controller::<AccountController>()
}

#[tokio::test]
async fn inspection_creates_nothing_and_prints_the_same_documents() {
    for request in ["routes", "graph", "openapi"] {
        let out = inspect_app(inspected_app(), request).await.unwrap();
        assert!(!out.trim().is_empty(), "{request}");
        assert_eq!(
            created_so_far(),
            Vec::<&str>::new(),
            "CORTEX_INSPECT={request}"
        );
    }
    let routes: serde_json::Value =
        serde_json::from_str(&inspect_app(inspected_app(), "routes").await.unwrap()).unwrap();
    assert_eq!(routes[0]["path"], "/accounts");
    assert_eq!(routes[0]["guards"], serde_json::json!(["inject Audited"]));
    assert_eq!(routes[1]["method"], "POST");
    assert_eq!(
        routes[1]["guards"],
        serde_json::json!(["inject Audited", "inject ApiKey"])
    );
    let openapi: serde_json::Value =
        serde_json::from_str(&inspect_app(inspected_app(), "openapi").await.unwrap()).unwrap();
    assert!(
        openapi["paths"]["/accounts"]["post"].is_object(),
        "{openapi}"
    );
    let graph = inspect_app(inspected_app(), "graph").await.unwrap();
    assert!(graph.contains("::Mailer"), "{graph}");
    assert_eq!(created_so_far(), Vec::<&str>::new());

    // The documents are those of the app built normally, which does create its providers (so
    // the test can tell), all but the lazy one, which is created on first use.
    let built = inspected_app().build().await.unwrap();
    let mut made = created_so_far();
    made.sort();
    assert_eq!(
        made,
        [
            "accounts",
            "api key guard",
            "audit guard",
            "health check",
            "observer",
            "pool",
            "principal resolver",
            "rate-limit store"
        ]
    );
    // But for the access policies of injected guards, which are not created for inspection:
    // the route table says so instead of showing no policy.
    let mut inspected: serde_json::Value =
        serde_json::from_str(&inspect_app(inspected_app(), "routes").await.unwrap()).unwrap();
    assert_eq!(
        inspected[1]["access"],
        serde_json::json!([
            { "custom": "Audited (injected: not created for inspection)" },
            { "custom": "ApiKey (injected: not created for inspection)" },
        ])
    );
    for route in inspected.as_array_mut().unwrap() {
        route.as_object_mut().unwrap().remove("access");
    }
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&Inspect::Routes.render(&built).unwrap())
            .unwrap(),
        inspected
    );
    assert_eq!(
        Inspect::OpenApi.render(&built).unwrap(),
        inspect_app(inspected_app(), "openapi").await.unwrap()
    );
    assert_eq!(
        Inspect::Graph.render(&built).unwrap(),
        inspect_app(inspected_app(), "graph").await.unwrap()
    );
    built.container().get::<Mailer>().unwrap();
    assert_eq!(created_so_far().last(), Some(&"mailer"));
}

#[tokio::test]
async fn inspection_still_reports_what_an_injected_guard_lacks() {
    struct Unbound;
    impl Guard for Unbound {
        async fn check(&self, _request: &mut Parts) -> Result<(), HttpError> {
            Ok(())
        }
    }
    #[controller("/locked", profile = "inspect-unbound-guard")]
    struct Locked;
    #[routes]
    impl Locked {
        #[get("/")]
        #[guard(inject = Unbound)]
        async fn show(&self) -> &'static str {
            "locked"
        }
    }
    let app = || {
        App::new()
            .container(|b| {
                b.profile("inspect-unbound-guard");
            })
            .controller::<Locked>()
    };
    let inspected = inspect_app(app(), "routes").await.unwrap_err();
    let built = app().build().await.unwrap_err();
    assert!(matches!(inspected, AppError::Routes(_)), "{inspected}");
    assert_eq!(inspected.to_string(), built.to_string());
    assert!(inspected.to_string().contains("Unbound"), "{inspected}");
}
