//! Security extension points of an app: the rate limiter's store and principal resolver from the
//! container, and guards that describe themselves to OpenAPI.

use super::middleware::Warnings;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use cortex_core::App;
use cortex_core::AppError;
use cortex_core::http::middleware::{
    Decision, ErasedRateLimitStore, HttpConfig, Principal, PrincipalResolver, RateLimitKey,
    RateLimitKeyKind, RateLimitSetupError, RateLimitStore,
};
use cortex_core::testing::{TestApp, config};
use cortex_di::{BoxError, Provider, injectable};
use http::{Extensions, HeaderMap, StatusCode};

// ---------------------------------------------------------------------------------------------
// rate limiting: store and principal resolver from the container

/// A store that records every key it is asked about and allows `allow` requests in all, then
/// refuses for 7 s.
struct Recording {
    calls: Arc<Mutex<Vec<String>>>,
    allow: usize,
}

impl RateLimitStore for Recording {
    async fn check(&self, key: &RateLimitKey) -> Result<Decision, BoxError> {
        let calls = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(key.to_string());
            calls.len()
        };
        // As a networked store would, answer later.
        tokio::task::yield_now().await;
        Ok(if calls <= self.allow {
            Decision::allow(self.allow as u32, (self.allow - calls) as u32)
        } else {
            Decision::deny(self.allow as u32, Duration::from_secs(7))
        })
    }
}

fn routes() -> Router {
    Router::new()
        .route("/small", get(|| async { "ok" }))
        .route("/metrics", get(|| async { "# metrics" }))
}

fn limited(configure: impl FnOnce(&mut HttpConfig)) -> App {
    let mut http = HttpConfig::default();
    http.rate_limit.per_second = 1;
    http.rate_limit.burst = 1;
    configure(&mut http);
    App::with_config(config("."))
        .http_config(http)
        .router(routes())
}

fn from(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 40_000)
}

#[tokio::test]
async fn a_store_from_the_container_decides_and_its_refusal_is_a_429_with_headers() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let store = Recording {
        calls: calls.clone(),
        allow: 2,
    };
    let app = TestApp::new(
        limited(|http| http.rate_limit.headers = true)
            .provide(Provider::value(store))
            .rate_limit_store::<Recording>(),
    )
    .await;
    for remaining in ["1", "0"] {
        let answer = app.get("/small").peer(from("192.0.2.1")).await;
        answer.assert_status(StatusCode::OK);
        assert_eq!(answer.header("ratelimit-limit"), Some("2"));
        assert_eq!(answer.header("ratelimit-remaining"), Some(remaining));
    }
    // The in-memory store (burst 1) would have refused the second request: the container's
    // store decided, and now it refuses.
    let refused = app.get("/small").peer(from("192.0.2.1")).await;
    refused.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(refused.header("retry-after"), Some("7"));
    assert_eq!(refused.header("ratelimit-limit"), Some("2"));
    assert_eq!(refused.header("ratelimit-remaining"), Some("0"));
    assert_eq!(refused.header("ratelimit-reset"), Some("7"));
    assert_eq!(
        *calls.lock().unwrap(),
        ["ip:192.0.2.1", "ip:192.0.2.1", "ip:192.0.2.1"]
    );
}

/// A store that binds itself: `#[injectable(provides = dyn ErasedRateLimitStore)]`.
#[injectable(provides = dyn ErasedRateLimitStore, profile = "security-test-store")]
struct RefuseAll;

impl RateLimitStore for RefuseAll {
    async fn check(&self, _key: &RateLimitKey) -> Result<Decision, BoxError> {
        Ok(Decision::deny(0, Duration::from_secs(3)))
    }
}

#[tokio::test]
async fn an_injectable_store_binds_itself_and_operational_paths_are_still_never_limited() {
    // The profile keeps it out of the apps other tests of this binary discover.
    let app = TestApp::new(
        App::with_config(config("."))
            .register::<RefuseAll>()
            .container(|b| {
                b.profile("security-test-store");
            })
            .router(routes()),
    )
    .await;
    // One address for everything, as behind a load balancer: the store refuses it all, but
    // probes and metrics never reach the store.
    for _ in 0..5 {
        for path in ["/health/live", "/health/ready", "/metrics"] {
            app.get(path)
                .peer(from("10.0.0.9"))
                .await
                .assert_status(StatusCode::OK);
        }
    }
    let refused = app.get("/small").peer(from("10.0.0.9")).await;
    refused.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.header("retry-after"), Some("3"));
}

/// Counts its calls; lets everything through.
struct Counting(Arc<AtomicUsize>);

impl RateLimitStore for Counting {
    async fn check(&self, _key: &RateLimitKey) -> Result<Decision, BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Decision::allow(1, 1))
    }
}

struct AlsoCounting(Arc<AtomicUsize>);

impl RateLimitStore for AlsoCounting {
    async fn check(&self, _key: &RateLimitKey) -> Result<Decision, BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Decision::allow(1, 1))
    }
}

#[tokio::test]
async fn two_stores_fail_the_start_naming_both() {
    let calls = Arc::new(AtomicUsize::new(0));
    let err = TestApp::try_new(
        limited(|_| {})
            .provide(Provider::value(Counting(calls.clone())))
            .provide(Provider::value(AlsoCounting(calls)))
            .rate_limit_store::<Counting>()
            .rate_limit_store::<AlsoCounting>(),
    )
    .await
    .unwrap_err();
    let AppError::RateLimit(RateLimitSetupError::SeveralStores { stores }) = &err else {
        panic!("not a store error: {err}");
    };
    assert_eq!(stores.len(), 2, "{stores:?}");
    assert!(stores[0].ends_with("::Counting"), "{stores:?}");
    assert!(stores[1].ends_with("::AlsoCounting"), "{stores:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("2 rate-limit stores are registered"),
        "{message}"
    );
    assert!(message.contains("hint: remove all but one"), "{message}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_store_registered_while_rate_limiting_is_off_is_never_asked_and_the_start_warns() {
    let warnings = Warnings::default();
    let _guard = tracing::subscriber::set_default(warnings.clone());
    tracing::callsite::rebuild_interest_cache();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = TestApp::new(
        limited(|http| http.rate_limit.enabled = false)
            .provide(Provider::value(Counting(calls.clone())))
            .rate_limit_store::<Counting>(),
    )
    .await;
    for _ in 0..3 {
        app.get("/small")
            .peer(from("192.0.2.1"))
            .await
            .assert_status(StatusCode::OK);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // The messages of the warnings (`Warnings` records each one's fields).
    let warnings: Vec<String> = warnings
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|fields| fields.get("message").cloned())
        .collect();
    let about_store: Vec<_> = warnings
        .iter()
        .filter(|w| w.contains("rate-limit store"))
        .collect();
    assert_eq!(about_store.len(), 1, "{warnings:?}");
    assert!(
        about_store[0].contains("`[http.rate_limit] enabled = false`"),
        "{about_store:?}"
    );
    assert!(about_store[0].contains("::Counting`"), "{about_store:?}");
}

/// Each API key is a principal of its own.
struct ApiKeys;

impl PrincipalResolver for ApiKeys {
    fn resolve(&self, headers: &HeaderMap, _extensions: &Extensions) -> Option<Principal> {
        let key = headers.get("x-api-key")?.to_str().ok()?;
        Some(Principal::new(format!("api-key:{key}")))
    }
}

#[tokio::test]
async fn a_principal_resolver_from_the_container_gives_each_api_key_its_own_quota() {
    let app = TestApp::new(
        limited(|http| http.rate_limit.key = RateLimitKeyKind::User)
            .provide(Provider::value(ApiKeys))
            .principal_resolver::<ApiKeys>(),
    )
    .await;
    // Two clients behind one address (a NAT, a proxy): each key has its quota of one.
    let with_key = |key: &str| {
        app.get("/small")
            .peer(from("198.51.100.4"))
            .header("x-api-key", key)
    };
    with_key("alpha").await.assert_status(StatusCode::OK);
    with_key("beta").await.assert_status(StatusCode::OK);
    with_key("alpha")
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);
    with_key("beta")
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);
    // Without a key the resolver says nothing, and the address is the key: its quota is its own.
    app.get("/small")
        .peer(from("198.51.100.4"))
        .await
        .assert_status(StatusCode::OK);
    app.get("/small")
        .peer(from("198.51.100.4"))
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);
    // Probes are still never limited.
    for _ in 0..3 {
        app.get("/health/live")
            .peer(from("198.51.100.4"))
            .header("x-api-key", "alpha")
            .await
            .assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn a_resolver_and_a_store_from_the_container_work_together() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let app = TestApp::new(
        limited(|http| http.rate_limit.key = RateLimitKeyKind::User)
            .provide(Provider::value(Recording {
                calls: calls.clone(),
                allow: 10,
            }))
            .rate_limit_store::<Recording>()
            // A closure is a resolver too.
            .provide(Provider::<dyn PrincipalResolver>::arc_value(Arc::new(
                |headers: &HeaderMap, _: &Extensions| {
                    let user = headers.get("x-user")?.to_str().ok()?;
                    Some(Principal::new(user))
                },
            ))),
    )
    .await;
    app.get("/small")
        .peer(from("192.0.2.1"))
        .header("x-user", "ada")
        .await
        .assert_status(StatusCode::OK);
    app.get("/small")
        .peer(from("192.0.2.1"))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(*calls.lock().unwrap(), ["user:ada", "ip:192.0.2.1"]);
}

#[tokio::test]
async fn two_principal_resolvers_fail_the_start_naming_both() {
    struct Other;
    impl PrincipalResolver for Other {
        fn resolve(&self, _: &HeaderMap, _: &Extensions) -> Option<Principal> {
            None
        }
    }
    let err = TestApp::try_new(
        limited(|http| http.rate_limit.key = RateLimitKeyKind::User)
            .provide(Provider::value(ApiKeys))
            .provide(Provider::value(Other))
            .principal_resolver::<ApiKeys>()
            .principal_resolver::<Other>(),
    )
    .await
    .unwrap_err();
    let AppError::RateLimit(RateLimitSetupError::SeveralResolvers { resolvers }) = &err else {
        panic!("not a resolver error: {err}");
    };
    assert_eq!(resolvers.len(), 2, "{resolvers:?}");
    assert!(resolvers[0].ends_with("ApiKeys"), "{resolvers:?}");
    assert!(resolvers[1].ends_with("Other"), "{resolvers:?}");
    assert!(
        err.to_string()
            .starts_with("2 principal resolvers are registered"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// guards that describe themselves to OpenAPI

mod described {
    use cortex_core::App;
    use cortex_core::AppError;
    use cortex_core::http::HttpError;
    use cortex_core::openapi::GuardDoc;
    use cortex_core::routing::{Guard, RouteError};
    use cortex_core::testing::{TestApp, config};
    use cortex_di::injectable;
    use cortex_macros::{controller, routes};
    use http::StatusCode;
    use http::request::Parts;
    use serde_json::{Value, json};
    use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};

    /// Requires a bearer token with a scope (the token itself is checked by a real guard).
    struct Bearer(pub &'static str);

    impl Guard for Bearer {
        async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {
            match request.headers.get("authorization") {
                Some(v) if v.as_bytes().starts_with(b"Bearer ") => Ok(()),
                _ => Err(HttpError::unauthorized("a bearer token is required")),
            }
        }

        fn describe(&self, doc: &mut GuardDoc) {
            doc.security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            )
            .require("bearer", &[self.0])
            .problem_response(StatusCode::UNAUTHORIZED, "No valid bearer token")
            .problem_response(
                StatusCode::FORBIDDEN,
                format!("The token lacks the `{}` scope", self.0),
            );
        }
    }

    /// An API key guard the container provides: `#[guard(inject = ApiKeyGuard)]`.
    #[injectable(profile = "security-test-guards")]
    struct ApiKeyGuard;

    impl Guard for ApiKeyGuard {
        async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {
            match request.headers.get("x-api-key") {
                Some(_) => Ok(()),
                None => Err(HttpError::unauthorized("an API key is required")),
            }
        }

        fn describe(&self, doc: &mut GuardDoc) {
            doc.security_scheme(
                "api_key",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
            )
            .require("api_key", &[])
            .problem_response(StatusCode::UNAUTHORIZED, "No API key");
        }
    }

    /// A guard that says nothing to the document.
    struct BusinessHours;

    impl Guard for BusinessHours {
        async fn check(&self, _request: &mut Parts) -> Result<(), HttpError> {
            Ok(())
        }
    }

    #[controller("/orders", profile = "security-test-guards")]
    struct Orders;

    #[routes]
    impl Orders {
        /// List orders
        #[get("/")]
        async fn list(&self) -> &'static str {
            "[]"
        }

        /// Place an order
        #[post("/")]
        #[guard(Bearer("orders:write"))]
        async fn place(&self) -> StatusCode {
            StatusCode::CREATED
        }

        /// Opening hours only
        #[get("/hours")]
        #[guard(BusinessHours)]
        async fn hours(&self) -> &'static str {
            "9-17"
        }
    }

    #[controller("/admin", profile = "security-test-guards")]
    #[guard(inject = ApiKeyGuard)]
    struct Admin;

    #[routes]
    impl Admin {
        #[get("/stats")]
        async fn stats(&self) -> &'static str {
            "{}"
        }

        #[delete("/orders/{id}")]
        #[guard(Bearer("orders:admin"))]
        async fn purge(&self) -> StatusCode {
            StatusCode::NO_CONTENT
        }
    }

    fn app() -> App {
        App::with_config(config("."))
            .container(|b| {
                b.profile("security-test-guards");
            })
            .register::<ApiKeyGuard>()
            .controller::<Orders>()
            .controller::<Admin>()
    }

    fn document(app: &TestApp) -> Value {
        serde_json::to_value(app.application().openapi().unwrap().document()).unwrap()
    }

    #[tokio::test]
    async fn guards_put_their_scheme_once_their_requirement_and_their_refusals_in_the_document() {
        let app = TestApp::new(app()).await;
        let doc = document(&app);
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(
            schemes,
            &json!({
                "bearer": { "type": "http", "scheme": "bearer" },
                "api_key": { "type": "apiKey", "in": "header", "name": "x-api-key" },
            }),
            "each scheme once, though two routes declare `bearer`"
        );
        let op = |path: &str, method: &str| doc["paths"][path][method].clone();

        // A route-level guard: its requirement and responses, on that operation only.
        let place = op("/orders", "post");
        assert_eq!(place["security"], json!([{ "bearer": ["orders:write"] }]));
        assert_eq!(
            place["responses"]["401"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
        assert_eq!(
            place["responses"]["403"]["description"],
            "The token lacks the `orders:write` scope"
        );

        // Unguarded, and guarded by a guard that describes nothing: no security, no 401/403.
        for unguarded in [op("/orders", "get"), op("/orders/hours", "get")] {
            assert!(unguarded.get("security").is_none(), "{unguarded}");
            assert!(unguarded["responses"].get("401").is_none(), "{unguarded}");
            assert!(unguarded["responses"].get("403").is_none(), "{unguarded}");
        }

        // A controller-wide injected guard: on each of its routes, with the route's own guard
        // required as well.
        let stats = op("/admin/stats", "get");
        assert_eq!(stats["security"], json!([{ "api_key": [] }]));
        assert_eq!(stats["responses"]["401"]["description"], "No API key");
        assert!(stats["responses"].get("403").is_none(), "{stats}");
        let purge = op("/admin/orders/{id}", "delete");
        assert_eq!(
            purge["security"],
            json!([{ "api_key": [], "bearer": ["orders:admin"] }])
        );
        assert!(purge["responses"]["401"].is_object());
        assert!(purge["responses"]["403"].is_object());

        // The guards still guard.
        app.post("/orders")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
        app.post("/orders")
            .bearer("t")
            .await
            .assert_status(StatusCode::CREATED);
        app.get("/admin/stats")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn a_guard_that_describes_nothing_leaves_the_document_as_it_was() {
        #[controller("/plain", profile = "security-test-guards")]
        struct Plain;
        #[routes]
        impl Plain {
            #[get("/")]
            async fn show(&self) -> &'static str {
                "plain"
            }
        }
        #[controller("/plain", profile = "security-test-guards")]
        #[guard(BusinessHours)]
        struct Guarded;
        #[routes]
        impl Guarded {
            #[get("/")]
            #[guard(BusinessHours)]
            async fn show(&self) -> &'static str {
                "plain"
            }
        }
        let build = |app: App| async move {
            let app = TestApp::new(app.container(|b| {
                b.profile("security-test-guards");
            }))
            .await;
            let mut doc = document(&app);
            // The operation ids and tags name the controller.
            let text = doc.to_string().replace("Guarded", "Plain");
            doc = serde_json::from_str(&text).unwrap();
            doc
        };
        let plain = build(App::with_config(config(".")).controller::<Plain>()).await;
        let guarded = build(App::with_config(config(".")).controller::<Guarded>()).await;
        assert_eq!(plain, guarded);
        assert!(plain["components"].get("securitySchemes").is_none());
    }

    /// Declares `bearer` as a JWT bearer scheme: not the definition `Bearer` gives it.
    struct Jwt;

    impl Guard for Jwt {
        async fn check(&self, _request: &mut Parts) -> Result<(), HttpError> {
            Ok(())
        }

        fn describe(&self, doc: &mut GuardDoc) {
            let mut http = Http::new(HttpAuthScheme::Bearer);
            http.bearer_format = Some("JWT".into());
            doc.security_scheme("bearer", SecurityScheme::Http(http));
        }
    }

    #[controller("/jwt", profile = "security-test-guards")]
    struct JwtController;

    #[routes]
    impl JwtController {
        #[get("/")]
        #[guard(Jwt)]
        async fn show(&self) -> &'static str {
            "jwt"
        }
    }

    #[tokio::test]
    async fn one_scheme_name_with_two_definitions_fails_the_start_with_or_without_the_document() {
        for openapi in [true, false] {
            let toml = format!("[openapi]\nenabled = {openapi}");
            let app = App::with_config(cortex_core::config::Config::from_toml(&toml).unwrap())
                .container(|b| {
                    b.profile("security-test-guards");
                })
                .controller::<Orders>()
                .controller::<JwtController>();
            let err = TestApp::try_new(app).await.unwrap_err();
            let AppError::Routes(errors) = &err else {
                panic!("not a route error: {err}");
            };
            let [
                RouteError::ConflictingSecurityScheme {
                    scheme,
                    first,
                    first_definition,
                    second,
                    second_definition,
                },
            ] = errors.errors()
            else {
                panic!("{errors:?}");
            };
            assert_eq!(scheme, "bearer");
            assert!(
                first.contains("Bearer") && first.contains("Orders::place"),
                "{first}"
            );
            assert!(
                second.contains("Jwt") && second.contains("JwtController::show"),
                "{second}"
            );
            assert_eq!(first_definition, r#"{"type":"http","scheme":"bearer"}"#);
            assert!(
                second_definition.contains(r#""bearerFormat":"JWT""#),
                "{second_definition}"
            );
            assert!(err.to_string().contains("hint:"), "{err}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// access policies: the route table, `#[public]`, deny-by-default

mod audit {
    use cortex_core::App;
    use cortex_core::AppError;
    use cortex_core::http::HttpError;
    use cortex_core::inspect::inspect_app;
    use cortex_core::openapi::{AccessPolicy, GuardDoc};
    use cortex_core::routing::{Guard, Route, RouteError, RouteInfo, guard_fn};
    use cortex_core::testing::{TestApp, config};
    use cortex_di::{Inject, injectable};
    use cortex_macros::{controller, routes};
    use http::StatusCode;
    use http::request::Parts;
    use serde_json::json;
    use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

    const PROFILE: &str = "security-test-audit";

    /// Any bearer token (a real one is checked by cortex-auth): declares `Authenticated`.
    struct Authenticated;

    impl Guard for Authenticated {
        async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {
            match request.headers.get("authorization") {
                Some(v) if v.as_bytes().starts_with(b"Bearer ") => Ok(()),
                _ => Err(HttpError::unauthorized("a bearer token is required")),
            }
        }

        fn describe(&self, doc: &mut GuardDoc) {
            doc.security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            )
            .require("bearer", &[])
            .problem_response(StatusCode::UNAUTHORIZED, "No valid bearer token")
            .access(AccessPolicy::Authenticated);
        }
    }

    /// A role (checked here from a header, for the test).
    struct Role(&'static str);

    impl Guard for Role {
        async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {
            match request.headers.get("x-role") {
                Some(v) if v == self.0 => Ok(()),
                _ => Err(HttpError::forbidden("not your role")),
            }
        }

        fn describe(&self, doc: &mut GuardDoc) {
            doc.access(AccessPolicy::Roles(vec![self.0.to_string()]));
        }
    }

    #[injectable(profile = "security-test-audit")]
    struct Users;

    #[derive(serde::Deserialize)]
    struct NewUser {
        #[allow(dead_code)]
        name: String,
    }

    #[controller("/users", profile = "security-test-audit")]
    #[guard(Authenticated)]
    struct UsersController;

    #[routes]
    impl UsersController {
        #[get("/{id}")]
        async fn show(
            &self,
            _users: Inject<Users>,
            axum::extract::Path(id): axum::extract::Path<i64>,
        ) -> String {
            id.to_string()
        }

        #[delete("/{id}")]
        #[guard(Role("admin"))]
        async fn remove(&self) -> StatusCode {
            StatusCode::NO_CONTENT
        }
    }

    #[controller("/site", profile = "security-test-audit")]
    struct Site;

    #[routes]
    impl Site {
        #[get("/")]
        #[public]
        async fn home(&self) -> &'static str {
            "home"
        }

        #[post("/signup")]
        #[public]
        async fn signup(&self, _body: axum::Json<NewUser>) -> StatusCode {
            StatusCode::CREATED
        }

        #[get("/about")]
        async fn about(&self) -> &'static str {
            "about"
        }

        #[get("/json")]
        #[guard(guard_fn(|_| Ok(())))]
        async fn json(&self) -> &'static str {
            "{}"
        }
    }

    #[controller("/docs-site", profile = "security-test-audit")]
    #[public]
    struct OpenSite;

    #[routes]
    impl OpenSite {
        #[get("/")]
        async fn index(&self) -> &'static str {
            "docs"
        }
    }

    fn app() -> App {
        App::with_config(config("."))
            .container(|b| {
                b.profile(PROFILE);
            })
            .register::<Users>()
    }

    fn info<'a>(app: &'a TestApp, method: &str, path: &str) -> &'a RouteInfo {
        app.application()
            .routes()
            .iter()
            .find(|r| r.method == method && r.path == path)
            .unwrap_or_else(|| panic!("{method} {path}"))
    }

    #[tokio::test]
    async fn the_route_table_has_each_routes_policies_controller_first_public_and_inputs() {
        let app = TestApp::new(
            app()
                .controller::<UsersController>()
                .controller::<Site>()
                .controller::<OpenSite>(),
        )
        .await;
        let show = info(&app, "GET", "/users/{id}");
        assert_eq!(show.access, [AccessPolicy::Authenticated]);
        assert!(!show.public);
        // `Inject<Users>` comes from the container, not the request.
        assert_eq!(show.inputs, ["axum::extract::Path<i64>"]);
        let remove = info(&app, "DELETE", "/users/{id}");
        assert_eq!(
            remove.access,
            [
                AccessPolicy::Authenticated,
                AccessPolicy::Roles(vec!["admin".into()])
            ]
        );
        assert!(remove.inputs.is_empty());
        let signup = info(&app, "POST", "/site/signup");
        assert!(signup.public && signup.access.is_empty());
        assert_eq!(signup.inputs, ["axum::Json<NewUser>"]);
        assert!(!info(&app, "GET", "/site/about").public);
        // A guard that declares no policy: named in `guards`, no access.
        let json = info(&app, "GET", "/site/json");
        assert!(json.access.is_empty() && json.guards.len() == 1, "{json:?}");
        // `#[public]` on the controller: each of its routes.
        assert!(info(&app, "GET", "/docs-site").public);

        // The guards still guard, and public routes are served.
        app.delete("/users/1")
            .bearer("t")
            .await
            .assert_status(StatusCode::FORBIDDEN);
        app.delete("/users/1")
            .bearer("t")
            .header("x-role", "admin")
            .await
            .assert_status(StatusCode::NO_CONTENT);
        app.get("/site").await.assert_status(StatusCode::OK);

        // As inspection writes it: empty fields left out.
        let routes: serde_json::Value = serde_json::from_str(
            &inspect_app(
                app_for_inspection()
                    .controller::<UsersController>()
                    .controller::<Site>(),
                "routes",
            )
            .await
            .unwrap(),
        )
        .unwrap();
        let row = |method: &str, path: &str| {
            routes
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["method"] == method && r["path"] == path)
                .cloned()
                .unwrap()
        };
        assert_eq!(
            row("DELETE", "/users/{id}")["access"],
            json!(["authenticated", { "roles": ["admin"] }])
        );
        assert_eq!(row("POST", "/site/signup")["public"], true);
        assert_eq!(
            row("POST", "/site/signup")["inputs"],
            json!(["axum::Json<NewUser>"])
        );
        let about = row("GET", "/site/about");
        for absent in ["access", "public", "inputs"] {
            assert!(about.get(absent).is_none(), "{about}");
        }
        assert!(row("GET", "/health/live").get("access").is_none());
    }

    fn app_for_inspection() -> App {
        app()
    }

    #[tokio::test]
    async fn deny_by_default_fails_the_start_naming_every_route_without_a_policy_at_once() {
        let err = TestApp::try_new(
            app()
                .deny_by_default()
                .controller::<UsersController>()
                .controller::<Site>()
                .route(Route::get("/webhook", "webhook", || async { "ok" }))
                .route(Route::get("/.well-known/jwks.json", "jwks", || async { "{}" }).public())
                // Operational: exempt, as the framework's own routes are.
                .route(Route::get("/metrics", "metrics", || async { "up 1" })),
        )
        .await
        .unwrap_err();
        let AppError::Routes(errors) = &err else {
            panic!("not a route error: {err}");
        };
        let [RouteError::Unguarded { routes }] = errors.errors() else {
            panic!("{errors:?}");
        };
        assert_eq!(
            routes,
            &[
                "GET /site/about (Site::about)".to_string(),
                "GET /site/json (Site::json) [guarded by guard_fn(| _ | Ok(())), which declare no policy]".to_string(),
                "GET /webhook (webhook)".to_string(),
            ]
        );
        assert_eq!(
            err.to_string(),
            "deny-by-default: 3 routes have no access policy: GET /site/about (Site::about), GET /site/json (Site::json) [guarded by guard_fn(| _ | Ok(())), which declare no policy], GET /webhook (webhook); hint: add #[guard(Authenticated)] or #[public] to each (a plugin's or the app's route: a guard that declares one, or `Route::public()`); a guard of your own declares what it enforces in `Guard::describe` with `GuardDoc::access`"
        );
    }

    #[tokio::test]
    async fn deny_by_default_starts_when_every_route_is_guarded_or_public() {
        let mut described = GuardDoc::new();
        described.access(AccessPolicy::Custom("signed webhook".into()));
        let app = TestApp::new(
            app()
                .deny_by_default()
                .controller::<UsersController>()
                .controller::<OpenSite>()
                .route(
                    Route::get("/webhook", "webhook", || async { "ok" }).with_guard_doc(described),
                )
                .route(Route::get("/login", "login", || async { "<form>" }).public()),
        )
        .await;
        assert_eq!(
            info(&app, "GET", "/webhook").access,
            [AccessPolicy::Custom("signed webhook".into())]
        );
        app.get("/health/live").await.assert_status(StatusCode::OK);
        app.get("/users/7")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
        app.get("/login").await.assert_status(StatusCode::OK);
    }

    #[tokio::test]
    async fn without_deny_by_default_unguarded_routes_start_and_inspection_never_fails_on_them() {
        TestApp::new(app().controller::<Site>()).await;
        // Inspection shows them (`cortex routes --audit`) rather than failing.
        let routes = inspect_app(app().deny_by_default().controller::<Site>(), "routes")
            .await
            .unwrap();
        assert!(routes.contains("/site/about"), "{routes}");
    }

    #[controller("/guarded", profile = "security-test-audit")]
    #[guard(Authenticated)]
    struct GuardedWithPublic;

    #[routes]
    impl GuardedWithPublic {
        #[get("/open")]
        #[public]
        async fn open(&self) -> &'static str {
            "open?"
        }
    }

    #[tokio::test]
    async fn a_public_route_whose_controller_requires_a_policy_fails_the_start() {
        let err = TestApp::try_new(app().controller::<GuardedWithPublic>())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "GET /guarded/open (`GuardedWithPublic::open`) is marked public, but its guards require authenticated; hint: remove #[public] / `Route::public()`, or move the route out of the guarded controller"
        );
    }

    #[tokio::test]
    async fn a_public_route_has_no_security_requirement_in_an_app_whose_other_routes_need_one() {
        let app = TestApp::new(
            app()
                .controller::<UsersController>()
                .controller::<Site>()
                .route(Route::get("/jwks", "jwks", || async { "{}" }).public()),
        )
        .await;
        let doc = serde_json::to_value(app.application().openapi().unwrap().document()).unwrap();
        assert!(doc.get("security").is_none(), "no global requirement");
        assert_eq!(
            doc["paths"]["/users/{id}"]["get"]["security"],
            json!([{ "bearer": [] }])
        );
        for (path, method) in [("/site", "get"), ("/site/signup", "post"), ("/jwks", "get")] {
            let op = &doc["paths"][path][method];
            assert!(op.is_object(), "{path}");
            assert!(op.get("security").is_none(), "{path}: {op}");
            assert!(op["responses"].get("401").is_none(), "{path}: {op}");
        }
    }
}
