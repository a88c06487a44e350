//! End to end: one app with the `AuthPlugin` and every built-in mechanism on (JWT with an EdDSA
//! key and its JWKS route, API keys, cookie sessions), a controller with `Authenticated`, `Role`
//! and `Permission` routes and a controller guarded as a whole. Each credential goes through the
//! real layer and the guards; the route table is walked to prove that every guarded route refuses
//! an anonymous request; deny-by-default, the audit's access policies, the order of the
//! authenticators when a request carries two credentials, and the rate limiter's key for each
//! mechanism.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use cortex_auth::api_key::ApiKeys;
use cortex_auth::{
    AuthPlugin, Authenticated, Authentication, CurrentUser, Identity, Jwt, Permission, Role,
    Session,
};
use cortex_core::App;
use cortex_core::config::Config;
use cortex_core::openapi::AccessPolicy;
use cortex_core::testing::{TestApp, TestResponse, TestSession};
use cortex_di::{Inject, injectable};
use cortex_macros::{controller, routes};
use http::{Method, StatusCode};

use crate::support::Logs;

/// The profile of this module's controllers: other modules' apps do not discover them.
const PROFILE: &str = "auth-e2e-test";
/// A session key (base64 of 32 bytes).
const SESSION_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The session cookie's name (`secure = false`).
const COOKIE: &str = "session";

/// A request-scoped service that reads the seeded [`Identity`].
#[injectable(scope = "request", profile = "auth-e2e-test")]
struct WhoAmI {
    identity: Inject<Identity>,
}

impl WhoAmI {
    fn describe(&self) -> String {
        match self.identity.user() {
            Some(user) => format!("{} via {}", user.id(), user.method().as_str()),
            None => "anonymous".into(),
        }
    }
}

/// Routes with each kind of guard, and the public ones a session login needs.
#[controller("/e2e", profile = "auth-e2e-test")]
struct E2eController;

#[routes]
impl E2eController {
    /// Logs in as `ada` (roles `admin`, permission `posts:read`) with a session cookie.
    #[post("/login")]
    #[public]
    async fn login(&self, session: Session) -> &'static str {
        session.login(
            &CurrentUser::builder("ada")
                .roles(["admin"])
                .permissions(["posts:read"])
                .build(),
        );
        "logged in"
    }

    /// The session's CSRF token.
    #[get("/csrf")]
    #[public]
    async fn csrf(&self, token: cortex_auth::CsrfToken) -> String {
        token.as_str().to_string()
    }

    /// Who asks, and by which mechanism, from the request-scoped service.
    #[get("/whoami")]
    #[public]
    async fn whoami(&self, who: Inject<WhoAmI>) -> String {
        who.describe()
    }

    #[get("/me")]
    #[guard(Authenticated)]
    async fn me(&self, user: CurrentUser) -> String {
        format!("{} via {}", user.id(), user.method().as_str())
    }

    #[post("/action")]
    #[guard(Authenticated)]
    async fn action(&self, user: CurrentUser) -> String {
        format!("done by {}", user.id())
    }

    #[get("/admin")]
    #[guard(Role("admin"))]
    async fn admin(&self) -> &'static str {
        "admin"
    }

    #[get("/posts")]
    #[guard(Permission("posts:read"))]
    async fn posts(&self) -> &'static str {
        "posts"
    }

    #[delete("/posts/{id}")]
    #[guard(Permission("posts:delete"))]
    async fn delete_post(&self) -> StatusCode {
        StatusCode::NO_CONTENT
    }
}

/// A controller guarded as a whole: every route of it needs `admin`, one more a permission.
#[controller("/e2e/ops", profile = "auth-e2e-test")]
#[guard(Role("admin"))]
struct OpsController;

#[routes]
impl OpsController {
    #[get("/")]
    async fn index(&self) -> &'static str {
        "ops"
    }

    #[post("/deploy")]
    async fn deploy(&self) -> StatusCode {
        StatusCode::ACCEPTED
    }

    #[put("/flags/{name}")]
    async fn flag(&self) -> StatusCode {
        StatusCode::NO_CONTENT
    }

    #[delete("/caches/{name}")]
    #[guard(Permission("caches:purge"))]
    async fn purge(&self) -> StatusCode {
        StatusCode::NO_CONTENT
    }
}

/// A route somebody forgot to guard (deny-by-default must stop the start).
#[controller("/forgotten", profile = "auth-e2e-test")]
struct ForgottenController;

#[routes]
impl ForgottenController {
    #[get("/report")]
    async fn report(&self) -> &'static str {
        "everyone's data"
    }
}

fn key_path(name: &str) -> String {
    format!("{}/tests/auth/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// JWT (EdDSA, so the JWKS route is served), API keys and sessions, all in memory.
fn toml(extra: &str) -> String {
    format!(
        "{extra}\n[auth.jwt]\n[[auth.jwt.keys]]\nkid = 'ed'\nalgorithm = 'EdDSA'\nprivate_key_file = '{}'\n\
         [auth.api_keys]\nenabled = true\nprefix = 'ck_e2e'\n\
         [auth.sessions]\nenabled = true\nsecure = false\nsecret_keys = ['{SESSION_KEY}']\n",
        key_path("ed25519.pem")
    )
}

fn base(extra: &str) -> App {
    App::with_config(Config::from_toml(&toml(extra)).unwrap())
        .container(|b| {
            b.profile(PROFILE);
        })
        .plugin(AuthPlugin)
        .register::<WhoAmI>()
        .controller::<E2eController>()
        .controller::<OpsController>()
}

async fn app_with(extra: &str) -> TestApp {
    TestApp::new(base(extra)).await
}

async fn app() -> TestApp {
    app_with("").await
}

fn bearer(app: &TestApp, user: &CurrentUser) -> String {
    app.container()
        .get::<Jwt>()
        .unwrap()
        .issue(user)
        .unwrap()
        .token
}

/// An API key of `owner` with `scopes`.
async fn api_key(app: &TestApp, owner: &str, scopes: &[&str]) -> (String, String) {
    let keys = app.container().get::<ApiKeys>().unwrap();
    let new = keys
        .create(owner, "e2e", scopes.iter().copied(), None)
        .await
        .unwrap();
    (new.key, new.info.id)
}

async fn login(session: &TestSession) -> String {
    session
        .post("/e2e/login")
        .await
        .assert_status(StatusCode::OK);
    session.cookies()[COOKIE].clone()
}

/// Words a refusal's body must not say: the reasons are logged, never sent.
const LEAKS: &[&str] = &[
    "expired",
    "revoked",
    "signature",
    "unknown",
    "malformed",
    "scope",
    "posts:",
    "admin",
    "csrf-token",
    "Sec-Fetch",
];

/// Asserts a problem+json refusal with `status` that says nothing of why, nor echoes `secret`.
fn assert_refused(response: &TestResponse, status: StatusCode, secret: &str) {
    let body = response.text();
    assert_eq!(response.status(), status, "{body}");
    assert!(
        response
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/problem+json")),
        "{:?}",
        response.headers()
    );
    for leak in LEAKS {
        assert!(!body.contains(leak), "the body says `{leak}`: {body}");
    }
    assert!(
        secret.is_empty() || !body.contains(secret),
        "the body echoes the credential: {body}"
    );
}

fn ada() -> CurrentUser {
    CurrentUser::builder("ada")
        .roles(["admin"])
        .permissions(["posts:read"])
        .build()
}

// ---------------------------------------------------------------------------------------------
// bearer JWT

#[tokio::test]
async fn a_bearer_jwt_passes_the_layer_and_the_guards() {
    let app = app().await;
    let token = bearer(&app, &ada());
    let response = app.get("/e2e/me").bearer(&token).await;
    response.assert_status(StatusCode::OK);
    assert_eq!(response.text(), "ada via bearer");
    app.get("/e2e/admin")
        .bearer(&token)
        .await
        .assert_status(StatusCode::OK);
    app.get("/e2e/posts")
        .bearer(&token)
        .await
        .assert_status(StatusCode::OK);
    // Without the permission: 403, and the challenge says so (RFC 6750).
    let response = app.delete("/e2e/posts/1").bearer(&token).await;
    assert_refused(&response, StatusCode::FORBIDDEN, &token);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer error=\"insufficient_scope\"")
    );
    // Without the role.
    let bob = bearer(&app, &CurrentUser::builder("bob").build());
    assert_refused(
        &app.get("/e2e/admin").bearer(&bob).await,
        StatusCode::FORBIDDEN,
        &bob,
    );
}

#[tokio::test]
async fn an_expired_bearer_jwt_is_refused_with_the_challenge_and_the_log_line() {
    let (logs, _guard) = Logs::capture();
    let app = app().await;
    let jwt = app.container().get::<Jwt>().unwrap();
    let token = jwt
        .issue_at(
            &ada(),
            Default::default(),
            SystemTime::now() - Duration::from_secs(3 * 3600),
        )
        .unwrap()
        .token;
    let response = app.get("/e2e/me").bearer(&token).await;
    assert_refused(&response, StatusCode::UNAUTHORIZED, &token);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    assert!(
        logs.has_line(&["cortex::auth", "access token refused", "expired"]),
        "{}",
        logs.text()
    );
    assert!(
        logs.has_line(&[
            "cortex::auth",
            "authentication failed",
            "authenticator=\"bearer\"",
            "code=\"expired\""
        ]),
        "{}",
        logs.text()
    );
    // Without any credential: the bare challenge.
    let response = app.get("/e2e/me").await;
    assert_refused(&response, StatusCode::UNAUTHORIZED, "");
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
}

// ---------------------------------------------------------------------------------------------
// API keys

#[tokio::test]
async fn an_api_key_with_the_scope_passes_a_permission_guard_and_one_without_is_forbidden() {
    let (logs, _guard) = Logs::capture();
    let app = app().await;
    let (key, _) = api_key(&app, "svc", &["posts:read"]).await;
    let response = app.get("/e2e/posts").header("x-api-key", &key).await;
    response.assert_status(StatusCode::OK);
    let response = app.get("/e2e/me").header("x-api-key", &key).await;
    assert_eq!(response.text(), "svc via api_key");
    // `Authorization: ApiKey …` as well.
    app.get("/e2e/posts")
        .header("authorization", format!("ApiKey {key}"))
        .await
        .assert_status(StatusCode::OK);
    // The scope it lacks: 403 (no bearer challenge: it is not a bearer token).
    let response = app.delete("/e2e/posts/1").header("x-api-key", &key).await;
    assert_refused(&response, StatusCode::FORBIDDEN, &key);
    assert_eq!(response.header("www-authenticate"), None);
    assert!(
        logs.has_line(&[
            "cortex::auth",
            "access refused: the user lacks the permission",
            "user=\"svc\"",
            "missing=\"posts:delete\""
        ]),
        "{}",
        logs.text()
    );
    // A role is not a scope.
    assert_refused(
        &app.get("/e2e/admin").header("x-api-key", &key).await,
        StatusCode::FORBIDDEN,
        &key,
    );
}

#[tokio::test]
async fn a_revoked_or_expired_api_key_is_refused_with_401_and_the_log_line() {
    let (logs, _guard) = Logs::capture();
    let app = app().await;
    let keys = app.container().get::<ApiKeys>().unwrap();
    let (key, id) = api_key(&app, "svc", &["posts:read"]).await;
    app.get("/e2e/posts")
        .header("x-api-key", &key)
        .await
        .assert_status(StatusCode::OK);
    assert!(keys.revoke(&id).await.unwrap());
    let response = app.get("/e2e/posts").header("x-api-key", &key).await;
    assert_refused(&response, StatusCode::UNAUTHORIZED, &key);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    assert!(
        logs.has_line(&[
            "cortex::auth",
            "API key refused",
            &format!("key_id={id}"),
            "reason=\"revoked\""
        ]),
        "{}",
        logs.text()
    );
    assert!(
        logs.has_line(&[
            "cortex::auth",
            "authentication failed",
            "authenticator=\"api_key\"",
            "code=\"revoked\""
        ]),
        "{}",
        logs.text()
    );

    // Made two days ago for one day.
    let expired = keys
        .create_at(
            "svc",
            "old",
            ["posts:read"],
            Some(Duration::from_secs(86_400)),
            SystemTime::now() - Duration::from_secs(2 * 86_400),
        )
        .await
        .unwrap();
    let response = app
        .get("/e2e/posts")
        .header("x-api-key", &expired.key)
        .await;
    assert_refused(&response, StatusCode::UNAUTHORIZED, &expired.key);
    assert!(
        logs.has_line(&[
            "cortex::auth",
            "API key refused",
            &format!("key_id={}", expired.info.id),
            "reason=\"expired\""
        ]),
        "{}",
        logs.text()
    );
    // Never the key itself in a log line.
    assert!(!logs.text().contains(&key) && !logs.text().contains(&expired.key));
}

// ---------------------------------------------------------------------------------------------
// sessions

#[tokio::test]
async fn a_session_cookie_passes_authenticated_and_an_unsafe_request_needs_the_csrf_token() {
    let (logs, _guard) = Logs::capture();
    let app = app().await;
    let session = app.session();
    let cookie = login(&session).await;
    let response = session.get("/e2e/me").await;
    response.assert_status(StatusCode::OK);
    assert_eq!(response.text(), "ada via session");
    session
        .get("/e2e/admin")
        .await
        .assert_status(StatusCode::OK);
    // An unsafe method without the token: 403 before the handler, whatever the guard.
    let response = session.post("/e2e/action").await;
    assert_refused(&response, StatusCode::FORBIDDEN, &cookie);
    assert!(
        logs.has_line(&[
            "WARN",
            "cortex::auth",
            "cross-site request refused (csrf)",
            "x-csrf-token header is missing",
            "/e2e/action"
        ]),
        "{}",
        logs.text()
    );
    // A cross-site one with the token: still 403.
    let token = session.get("/e2e/csrf").await.text();
    let response = session
        .post("/e2e/action")
        .header("x-csrf-token", &token)
        .header("sec-fetch-site", "cross-site")
        .await;
    assert_refused(&response, StatusCode::FORBIDDEN, &cookie);
    // Same-site with the token: done.
    let response = session
        .post("/e2e/action")
        .header("x-csrf-token", &token)
        .await;
    response.assert_status(StatusCode::OK);
    assert_eq!(response.text(), "done by ada");
}

// ---------------------------------------------------------------------------------------------
// two credentials, and the identity of each mechanism

#[tokio::test]
async fn with_two_credentials_the_first_authenticator_in_order_decides() {
    let (logs, _guard) = Logs::capture();
    let app = app().await;
    let authentication = app.container().get::<Authentication>().unwrap();
    assert_eq!(
        authentication.names().collect::<Vec<_>>(),
        ["bearer", "api_key", "session"],
        "the default order"
    );
    let token = bearer(&app, &ada());
    let (key, _) = api_key(&app, "svc", &["posts:read"]).await;
    let session = app.session();
    login(&session).await;

    // Bearer before the API key, before the session.
    let who = |request: cortex_core::testing::TestRequest| async move { request.await.text() };
    assert_eq!(
        who(app.get("/e2e/me").bearer(&token).header("x-api-key", &key)).await,
        "ada via bearer"
    );
    assert_eq!(
        who(session.get("/e2e/me").header("x-api-key", &key)).await,
        "svc via api_key"
    );
    assert_eq!(
        who(session.get("/e2e/me").bearer(&token)).await,
        "ada via bearer"
    );
    // A bearer token decides an unsafe request: no CSRF check (a browser never sends it on its
    // own), even with a session cookie beside it.
    let response = session.post("/e2e/action").bearer(&token).await;
    response.assert_status(StatusCode::OK);

    // A refused credential decides too: the next one is not asked (no fallback to a weaker
    // credential).
    let revoked = {
        let (key, id) = api_key(&app, "svc", &[]).await;
        let keys = app.container().get::<ApiKeys>().unwrap();
        keys.revoke(&id).await.unwrap();
        key
    };
    let response = session.get("/e2e/me").header("x-api-key", &revoked).await;
    assert_refused(&response, StatusCode::UNAUTHORIZED, &revoked);
    assert!(
        logs.has_line(&["authentication failed", "authenticator=\"api_key\""]),
        "{}",
        logs.text()
    );
    let response = app
        .get("/e2e/me")
        .bearer("not.a.jwt")
        .header("x-api-key", &key)
        .await;
    assert_refused(&response, StatusCode::UNAUTHORIZED, &key);

    // `[auth] order` changes who wins.
    let app = app_with("[auth]\norder = ['session', 'api_key']").await;
    let authentication = app.container().get::<Authentication>().unwrap();
    assert_eq!(
        authentication.names().collect::<Vec<_>>(),
        ["session", "api_key", "bearer"]
    );
    let token = bearer(&app, &ada());
    let (key, _) = api_key(&app, "svc", &[]).await;
    assert_eq!(
        who(app.get("/e2e/me").bearer(&token).header("x-api-key", &key)).await,
        "svc via api_key"
    );
}

#[tokio::test]
async fn the_identity_is_seeded_for_each_mechanism() {
    let app = app().await;
    assert_eq!(app.get("/e2e/whoami").await.text(), "anonymous");
    let token = bearer(&app, &ada());
    assert_eq!(
        app.get("/e2e/whoami").bearer(&token).await.text(),
        "ada via bearer"
    );
    let (key, _) = api_key(&app, "svc", &[]).await;
    assert_eq!(
        app.get("/e2e/whoami")
            .header("x-api-key", &key)
            .await
            .text(),
        "svc via api_key"
    );
    let session = app.session();
    login(&session).await;
    assert_eq!(session.get("/e2e/whoami").await.text(), "ada via session");
    // A refused credential on a public route: anonymous, not an error.
    assert_eq!(
        app.get("/e2e/whoami").bearer("not.a.jwt").await.text(),
        "anonymous"
    );
}

// ---------------------------------------------------------------------------------------------
// the route table: a guard on every route, the audit, deny-by-default

/// A concrete URI for a route's path (`{name}` → `x`).
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push('x');
            }
            '}' => inside = false,
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

#[tokio::test]
async fn every_guarded_route_refuses_a_request_without_credentials() {
    let app = app().await;
    let routes = app.application().routes().to_vec();
    let mut guarded = 0;
    for route in &routes {
        if !route.path.starts_with("/e2e") {
            continue;
        }
        if route.public {
            assert!(route.access.is_empty(), "{route:?}");
            continue;
        }
        assert!(
            !route.access.is_empty(),
            "a route of the e2e controllers without an access policy: {route:?}"
        );
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let uri = concrete(&route.path);
        let response = app.request(method.clone(), &uri).await;
        assert_refused(&response, StatusCode::UNAUTHORIZED, "");
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer"),
            "{method} {uri}"
        );
        guarded += 1;
    }
    // E2eController's five guarded routes and OpsController's four.
    assert_eq!(guarded, 9, "{routes:#?}");
    // Every route of the controller guarded as a whole carries its guard, first.
    let ops: Vec<_> = routes
        .iter()
        .filter(|r| r.path.starts_with("/e2e/ops"))
        .collect();
    assert_eq!(ops.len(), 4);
    for route in ops {
        assert_eq!(
            route.access.first(),
            Some(&AccessPolicy::Roles(vec!["admin".into()])),
            "{route:?}"
        );
    }
}

#[tokio::test]
async fn the_route_table_shows_the_auth_guards_policies_and_the_plugins_route() {
    let app = app().await;
    let routes = app.application().routes();
    let find = |method: &str, path: &str| {
        routes
            .iter()
            .find(|r| r.method == method && r.path == path)
            .unwrap_or_else(|| panic!("no {method} {path} in {routes:#?}"))
    };
    assert_eq!(find("GET", "/e2e/me").access, [AccessPolicy::Authenticated]);
    assert_eq!(
        find("GET", "/e2e/admin").access,
        [AccessPolicy::Roles(vec!["admin".into()])]
    );
    assert_eq!(
        find("DELETE", "/e2e/posts/{id}").access,
        [AccessPolicy::Permissions(vec!["posts:delete".into()])]
    );
    assert_eq!(
        find("DELETE", "/e2e/ops/caches/{name}").access,
        [
            AccessPolicy::Roles(vec!["admin".into()]),
            AccessPolicy::Permissions(vec!["caches:purge".into()])
        ]
    );
    let login = find("POST", "/e2e/login");
    assert!(login.public && login.access.is_empty());
    // The plugin's JWKS route: public, and said to be the auth plugin's.
    let jwks = find("GET", "/.well-known/jwks.json");
    assert!(jwks.public, "{jwks:?}");
    assert_eq!(jwks.plugin.as_deref(), Some("auth"));
    assert_eq!(
        serde_json::to_value(find("GET", "/e2e/admin")).unwrap()["access"],
        serde_json::json!([{ "roles": ["admin"] }]),
        "what `cortex routes --audit --json` prints"
    );
}

#[tokio::test]
async fn deny_by_default_stops_an_app_with_an_unguarded_route_naming_it() {
    let Err(error) = TestApp::try_new(
        base("[auth]\ndeny_by_default = true").controller::<ForgottenController>(),
    )
    .await
    else {
        panic!("an unguarded route stops the start");
    };
    let error = error.to_string();
    assert!(
        error.contains("GET /forgotten/report (ForgottenController::report)"),
        "{error}"
    );
    // Only it: the guarded routes, the `#[public]` ones and the JWKS route pass.
    for passing in ["/e2e/me", "/e2e/login", "/e2e/ops", "jwks"] {
        assert!(!error.contains(passing), "{passing} named in: {error}");
    }
    // Without it, the app starts and serves.
    let app = app_with("[auth]\ndeny_by_default = true").await;
    app.get("/.well-known/jwks.json")
        .await
        .assert_status(StatusCode::OK);
    app.get("/e2e/me")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------------------------------------
// rate limiting by user: verified bearer tokens by their user, API keys and sessions by address

#[tokio::test]
async fn rate_limits_key_bearer_tokens_by_user_and_api_keys_and_sessions_by_address() {
    let app = app_with("[http.rate_limit]\nkey = 'user'\nper_second = 1\nburst = 2").await;
    let (a, b): (SocketAddr, SocketAddr) = (
        "10.0.0.1:4000".parse().unwrap(),
        "10.0.0.2:4000".parse().unwrap(),
    );
    let (key, _) = api_key(&app, "svc", &["posts:read"]).await;
    let status =
        |request: cortex_core::testing::TestRequest| async move { request.await.status().as_u16() };

    // The API key's requests spend its address's quota, shared with anonymous requests from it.
    assert_eq!(
        status(app.get("/e2e/posts").peer(a).header("x-api-key", &key)).await,
        200
    );
    assert_eq!(
        status(app.get("/e2e/posts").peer(a).header("x-api-key", &key)).await,
        200
    );
    assert_eq!(status(app.get("/e2e/whoami").peer(a)).await, 429);
    assert_eq!(
        status(app.get("/e2e/posts").peer(a).header("x-api-key", &key)).await,
        429,
        "limited by the address, not the key"
    );
    // The same key from another address has that address's quota.
    assert_eq!(
        status(app.get("/e2e/posts").peer(b).header("x-api-key", &key)).await,
        200
    );

    // An attacker who knows the key's id but not its secret spends only its own address's
    // quota, never the key owner's.
    let forged = format!("{}x", &key[..key.len() - 1]);
    let c: SocketAddr = "10.0.0.3:4000".parse().unwrap();
    for _ in 0..3 {
        let _ = status(app.get("/e2e/posts").peer(c).header("x-api-key", &forged)).await;
    }
    let d: SocketAddr = "10.0.0.4:4000".parse().unwrap();
    assert_eq!(
        status(app.get("/e2e/posts").peer(d).header("x-api-key", &key)).await,
        200
    );

    // A session by its address as well.
    let session = app.session();
    let e: SocketAddr = "10.0.0.5:4000".parse().unwrap();
    assert_eq!(status(session.post("/e2e/login").peer(e)).await, 200);
    assert_eq!(status(session.get("/e2e/me").peer(e)).await, 200);
    assert_eq!(status(session.get("/e2e/me").peer(e)).await, 429);
    assert_eq!(
        status(app.get("/e2e/whoami").peer(e)).await,
        429,
        "shared with the address"
    );

    // A verified bearer token by its user, whatever the address (a new one, its quota spent).
    let token = bearer(&app, &ada());
    assert_eq!(status(app.get("/e2e/me").peer(a).bearer(&token)).await, 200);
    assert_eq!(status(app.get("/e2e/me").peer(e).bearer(&token)).await, 200);
    assert_eq!(
        status(app.get("/e2e/me").peer(b).bearer(&token)).await,
        429,
        "ada's quota is spent"
    );
}

// ---------------------------------------------------------------------------------------------
// the database stores make their tables at start

/// Whether `table` exists in `db` (a query on it succeeds).
async fn table_exists(db: &cortex_data::Db, table: &str) -> bool {
    use cortex_data::sqlx::{self, AssertSqlSafe};
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match db.backend() {
        cortex_data::Backend::Sqlite => sqlx::query(AssertSqlSafe(sql))
            .fetch_one(db.sqlite().unwrap())
            .await
            .is_ok(),
        cortex_data::Backend::Postgres => sqlx::query(AssertSqlSafe(sql))
            .fetch_one(db.postgres().unwrap())
            .await
            .is_ok(),
        cortex_data::Backend::MySql => sqlx::query(AssertSqlSafe(sql))
            .fetch_one(db.mysql().unwrap())
            .await
            .is_ok(),
    }
}

/// The refresh-token, API-key and session tables exist once the app has started, before any
/// request: a missing database fails the start, not the first login.
async fn the_database_stores_make_their_tables_at_start_on(url: &str) {
    let database = cortex_data::testing::TestDatabase::for_url(url).await;
    let toml = format!(
        "[database]\nurl = '{}'\n[auth.refresh]\nstore = 'database'\n\
         [auth.jwt]\nsecret = 'an HS256 secret of at least 32 bytes, for tests'\n\
         [auth.api_keys]\nenabled = true\nstore = 'database'\n\
         [auth.sessions]\nenabled = true\nsecure = false\nstore = 'database'\nsecret_keys = ['{SESSION_KEY}']\n",
        database.url()
    );
    let tables = [
        "cortex_auth_refresh_tokens",
        "cortex_auth_api_keys",
        "cortex_auth_sessions",
    ];
    for table in tables {
        assert!(!table_exists(database.db(), table).await, "{table} before");
    }
    let app = TestApp::new(
        database.apply(
            App::with_config(Config::from_toml(&toml).unwrap())
                .plugin(cortex_data::DataPlugin)
                .plugin(AuthPlugin),
        ),
    )
    .await;
    for table in tables {
        assert!(
            table_exists(database.db(), table).await,
            "{table} after the start ({url})"
        );
    }
    drop(app);
    database.drop_now().await;
}

#[tokio::test]
async fn the_database_stores_make_their_tables_at_start_sqlite() {
    the_database_stores_make_their_tables_at_start_on("sqlite::memory:").await;
}

#[tokio::test]
async fn the_database_stores_make_their_tables_at_start_postgres() {
    the_database_stores_make_their_tables_at_start_on("postgres://postgres@127.0.0.1:5432/test")
        .await;
}

#[tokio::test]
async fn the_database_stores_make_their_tables_at_start_mariadb() {
    the_database_stores_make_their_tables_at_start_on("mysql://root@127.0.0.1:3306/test").await;
}

// ---------------------------------------------------------------------------------------------
// what `cortex graph` shows

#[tokio::test]
async fn the_graph_shows_the_auth_capability_as_the_plugins() {
    let app = app().await;
    let graph = app.container().graph();
    let find = |name: &str| {
        graph
            .providers
            .iter()
            .find(|p| p.type_name.ends_with(name))
            .unwrap_or_else(|| panic!("no {name} in the graph"))
    };
    for name in [
        "::Authentication",
        "::Identity",
        "::Jwt",
        "::ApiKeyAuthenticator",
        "::SessionAuthenticator",
        "::Tokens",
    ] {
        assert!(
            find(name).declared_by.starts_with("AuthPlugin"),
            "{name}: {:?}",
            find(name).declared_by
        );
    }
    // The authenticators the layer asks, as its dependencies (bearer through `Jwt`).
    let dependencies: Vec<&str> = find("::Authentication")
        .dependencies
        .iter()
        .map(|d| d.type_name.rsplit("::").next().unwrap())
        .collect();
    assert_eq!(
        dependencies,
        ["Jwt", "ApiKeyAuthenticator", "SessionAuthenticator"]
    );
    assert_eq!(find("::Identity").scope, cortex_di::Scope::Request);
}

/// With `[auth] redis_url`, `/health/ready` checks Redis: up against the real server, down (503)
/// against a port nobody listens on.
#[tokio::test]
async fn the_redis_stores_are_in_the_readiness_check() {
    for (url, status, state) in [
        ("redis://127.0.0.1:6379", 200, "up"),
        ("redis://127.0.0.1:1", 503, "down"),
    ] {
        let config = Config::from_toml(&format!("[auth]\nredis_url = '{url}'")).unwrap();
        let app = TestApp::new(App::with_config(config).plugin(AuthPlugin)).await;
        let ready = app.get("/health/ready").await;
        ready.assert_status(status);
        let report: serde_json::Value = ready.json();
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "auth_redis")
            .unwrap_or_else(|| panic!("no auth_redis check: {report}"))
            .clone();
        assert_eq!(check["status"], state, "{report}");
    }
}
