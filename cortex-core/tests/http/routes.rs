//! Routes and layers from plugins: `App::route` on the fast path, in the route table and the
//! OpenAPI document, checked at startup; route conflicts reported all at once before axum would
//! panic; `App::layer` inside the stack, around every route.

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use cortex_core::http::middleware::{HttpConfig, RequestId, StaticFilesConfig};
use cortex_core::inspect::inspect_app;
use cortex_core::plugin::{Plugin, PluginManifest};
use cortex_core::routing::{FrameworkOrigin, Route, RouteError, RouteOrigin};
use cortex_core::{App, AppError, Application};
use cortex_di::{Dependency, Inject, Provider};
use cortex_macros::{controller, routes};
use http::{HeaderValue, StatusCode};
use tower::ServiceExt;

struct Greeting(&'static str);

#[controller("/shared", profile = "plugin-routes")]
struct SharedController;

#[routes]
impl SharedController {
    /// Lists what is shared.
    #[get("/")]
    async fn list(&self) -> &'static str {
        "controller list"
    }
}

/// Handlers of a plugin: one on the controller's path (another method), one that injects.
async fn add_shared() -> &'static str {
    "plugin add"
}

async fn greet(
    greeting: Inject<Greeting>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> String {
    format!("{}, {name}", greeting.0)
}

/// A plugin that serves routes of its own.
struct Greeter;

impl Plugin for Greeter {
    fn manifest(&self) -> PluginManifest {
        PluginManifest::new("greeter", "1.0.0")
    }

    fn build(&self, app: App) -> App {
        app.provide(Provider::value(Greeting("hello")))
            .route(
                Route::get("/greet/{name}", "greet", greet)
                    .with_dependency(Dependency::on::<Greeting>().field("greeting"))
                    .with_summary("Greets someone")
                    .with_response(StatusCode::OK, "The greeting, as text"),
            )
            .routes([Route::post("/shared", "add_shared", add_shared)])
    }
}

fn app() -> App {
    App::new()
        .container(|b| {
            b.profile("plugin-routes");
        })
        .controller::<SharedController>()
        .plugin(Greeter)
}

async fn send(app: &Application, method: &str, uri: &str) -> (StatusCode, http::HeaderMap, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let response = app.router().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = http_body_util::BodyExt::collect(body)
        .await
        .unwrap()
        .to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn a_plugin_route_is_served_on_the_fast_path_next_to_a_controller_route_on_its_path() {
    let app = app().build().await.unwrap();

    let (status, headers, body) = send(&app, "GET", "/greet/ada").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "hello, ada"));
    assert!(
        headers.contains_key("x-request-id"),
        "the stack ran: {headers:?}"
    );
    assert!(headers.contains_key("x-content-type-options"));

    // One path, a controller's GET and a plugin's POST: both served.
    let (status, _, body) = send(&app, "GET", "/shared").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "controller list"));
    let (status, headers, body) = send(&app, "POST", "/shared").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "plugin add"));
    assert!(headers.contains_key("x-request-id"));
    let (status, headers, _) = send(&app, "DELETE", "/shared").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["allow"], "GET,HEAD,POST");

    // Both handler paths went into the stack before axum boxed them.
    let mut unboxed = app.unboxed_paths().to_vec();
    unboxed.sort();
    assert_eq!(unboxed, ["/greet/{name}", "/shared"]);
}

#[tokio::test]
async fn plugin_routes_are_in_the_route_table_and_the_openapi_document() {
    let app = app().build().await.unwrap();
    let table: Vec<(&str, &str, RouteOrigin, Option<&str>)> = app
        .routes()
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                r.origin,
                r.plugin.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        table,
        [
            ("GET", "/greet/{name}", RouteOrigin::Plugin, Some("greeter")),
            ("GET", "/shared", RouteOrigin::Controller, None),
            ("POST", "/shared", RouteOrigin::Plugin, Some("greeter")),
        ]
    );

    let json: serde_json::Value =
        serde_json::from_str(&inspect_app(app_for_inspection(), "routes").await.unwrap()).unwrap();
    let greet = &json[0];
    assert_eq!(greet["path"], "/greet/{name}");
    assert_eq!(greet["origin"], "plugin");
    assert_eq!(greet["plugin"], "greeter");
    assert_eq!(greet["controller"], serde_json::Value::Null);
    assert_eq!(json[1]["origin"], "app");
    assert_eq!(json[1]["controller"], "SharedController");
    assert!(json[1].get("plugin").is_none(), "{}", json[1]);

    let doc = app.openapi().unwrap().document();
    let doc = serde_json::to_value(doc).unwrap();
    let greet = &doc["paths"]["/greet/{name}"]["get"];
    assert_eq!(greet["summary"], "Greets someone");
    assert_eq!(greet["operationId"], "greet");
    assert_eq!(greet["tags"], serde_json::json!(["greeter"]));
    assert_eq!(
        greet["responses"]["200"]["description"],
        "The greeting, as text"
    );
    assert_eq!(
        doc["paths"]["/shared"]["post"]["tags"],
        serde_json::json!(["greeter"])
    );
    assert_eq!(
        doc["paths"]["/shared"]["get"]["tags"],
        serde_json::json!(["SharedController"])
    );
}

fn app_for_inspection() -> App {
    app()
}

#[tokio::test]
async fn a_plugin_route_needing_what_nothing_provides_fails_the_start() {
    struct Missing;
    async fn needs(_: Inject<Missing>) -> &'static str {
        "never"
    }
    let plugin = |app: App| {
        app.route(
            Route::get("/needs", "needs", needs)
                .with_dependency(Dependency::on::<Missing>().field("missing")),
        )
    };
    let err = App::new().plugin(plugin).build().await.unwrap_err();
    let AppError::Routes(errors) = &err else {
        panic!("{err}")
    };
    assert!(
        matches!(errors.errors(), [RouteError::UnknownDependency { handler, path, argument, .. }]
            if handler == "needs" && path == "/needs" && argument == "missing"),
        "{err}"
    );
}

#[tokio::test]
async fn duplicates_and_overlaps_are_reported_together_before_axum_would_panic() {
    let err = app()
        .routes([
            // The controller's GET /shared again.
            Route::get("/shared", "again", || async { "" }),
            Route::get("/x/{id}", "x_by_id", || async { "" }),
            Route::get("/x/{name}", "x_by_name", || async { "" }),
            Route::get("/files/{*rest}", "all_files", || async { "" }),
            Route::get("/files/{id}", "one_file", || async { "" }),
            Route::get("/old/:id", "old", || async { "" }),
        ])
        .build()
        .await
        .unwrap_err();
    let AppError::Routes(errors) = &err else {
        panic!("{err}")
    };
    let problems = errors.errors();
    assert_eq!(problems.len(), 4, "{err}");
    assert!(
        problems.iter().any(|p| matches!(p, RouteError::Duplicate { method, path, first, second }
            if method == "GET" && path == "/shared" && first == "SharedController::list" && second == "again")),
        "{err}"
    );
    assert!(
        problems.iter().any(|p| matches!(p, RouteError::Overlap { path, handler, other_path, other_handler, .. }
            if path == "/x/{name}" && handler == "x_by_name" && other_path == "/x/{id}" && other_handler == "x_by_id")),
        "{err}"
    );
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, RouteError::Overlap { path, other_path, .. }
            if path == "/files/{id}" && other_path == "/files/{*rest}")),
        "{err}"
    );
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, RouteError::InvalidPath { path, .. } if path == "/old/:id")),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.starts_with("4 route problems:"), "{message}");
    assert!(
        message.contains("route /x/{name} (`x_by_name`) overlaps /x/{id} (`x_by_id`): a request could match either; hint: "),
        "{message}"
    );
}

#[tokio::test]
async fn routes_on_or_over_framework_paths_are_reported_with_the_part_of_cortex_that_serves_them() {
    let dir = tempfile::tempdir().unwrap();
    let http = HttpConfig {
        static_files: vec![StaticFilesConfig::new("/assets", dir.path())],
        ..HttpConfig::default()
    };
    let err = App::new()
        .http_config(http)
        .routes([
            Route::post("/health/live", "live", || async { "" }),
            Route::get("/openapi.json", "spec", || async { "" }),
            Route::get("/assets", "assets", || async { "" }),
            Route::get("/assets/{file}", "asset", || async { "" }),
            // Next to a framework path, not on it: fine.
            Route::get("/health/{probe}", "probe", || async { "" }),
            Route::get("/assets/logo.svg", "logo", || async { "" }),
        ])
        .build()
        .await
        .unwrap_err();
    let AppError::Routes(errors) = &err else {
        panic!("{err}")
    };
    let problems = errors.errors();
    assert_eq!(problems.len(), 4, "{err}");
    assert!(
        matches!(&problems[0], RouteError::Reserved { path, origin: FrameworkOrigin::Health, .. } if path == "/health/live"),
        "{err}"
    );
    assert!(
        matches!(&problems[1], RouteError::ConflictingPath { path, framework: "the OpenAPI document", .. } if path == "/openapi.json"),
        "{err}"
    );
    assert!(
        matches!(&problems[2], RouteError::Reserved { path, framework_path, origin: FrameworkOrigin::Static, .. }
        if path == "/assets" && framework_path == "/assets/{*path}"),
        "{err}"
    );
    assert!(
        matches!(&problems[3], RouteError::Reserved { path, origin: FrameworkOrigin::Static, .. } if path == "/assets/{file}"),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("route /health/live (`live`) conflicts with /health/live, which Cortex serves (liveness); hint: /health/live and /health/ready are reserved"),
        "{message}"
    );
    assert!(message.contains("`[[http.static]] path`"), "{message}");
}

/// Appends `name` to `x-layers` on the way out, and says whether the request id and the
/// container were known.
fn marking(
    name: &'static str,
) -> impl Fn(Request, Next) -> std::pin::Pin<Box<dyn Future<Output = Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    move |request: Request, next: Next| {
        Box::pin(async move {
            let saw_id = RequestId::from_parts(request.extensions(), request.headers()).is_some()
                && request.extensions().get::<cortex_di::Container>().is_some();
            let mut response = next.run(request).await;
            let headers = response.headers_mut();
            headers.append("x-layers", HeaderValue::from_static(name));
            if saw_id {
                headers.insert("x-layer-saw-request-id", HeaderValue::from_static("yes"));
            }
            response
        })
    }
}

#[tokio::test]
async fn app_layers_wrap_every_route_inside_the_stack_first_added_outermost() {
    let app = app()
        .layer(from_fn(marking("outer")))
        .layer(from_fn(marking("inner")))
        .build()
        .await
        .unwrap();
    for (method, uri, status) in [
        ("GET", "/shared", StatusCode::OK),
        ("POST", "/shared", StatusCode::OK),
        ("GET", "/greet/ada", StatusCode::OK),
        ("GET", "/health/live", StatusCode::OK),
        ("GET", "/openapi.json", StatusCode::OK),
        ("GET", "/nowhere", StatusCode::NOT_FOUND),
        ("DELETE", "/shared", StatusCode::METHOD_NOT_ALLOWED),
    ] {
        let (got, headers, _) = send(&app, method, uri).await;
        assert_eq!(got, status, "{method} {uri}");
        let layers: Vec<&str> = headers
            .get_all("x-layers")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        // The inner layer sees the response first.
        assert_eq!(layers, ["inner", "outer"], "{method} {uri}");
        assert_eq!(
            headers["x-layer-saw-request-id"], "yes",
            "{method} {uri}: inside the stack"
        );
        assert!(headers.contains_key("x-request-id"), "{method} {uri}");
    }
    assert!(
        app.unboxed_paths().is_empty(),
        "with app layers, every route is layered"
    );
}

#[tokio::test]
async fn an_error_status_from_an_app_layer_becomes_a_problem() {
    async fn deny(request: Request, next: Next) -> Response {
        if request.headers().contains_key("x-key") {
            next.run(request).await
        } else {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response
        }
    }
    let app = app().layer(from_fn(deny)).build().await.unwrap();
    let (status, headers, body) = send(&app, "GET", "/shared").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert!(body.contains("\"status\":401"), "{body}");
}
