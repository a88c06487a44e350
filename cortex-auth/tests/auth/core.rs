//! The auth core: the layer, the guards, the extractors, the role hierarchy, policies and the
//! OpenAPI security, with a toy authenticator (`x-toy: id;roles;permissions`).

use cortex_auth::{
    AnyRole, AuthFailure, AuthMethod, AuthPlugin, Authenticated, Authentication, Authenticator,
    CurrentUser, Identity, Permission, Policy, Role,
};
use cortex_core::App;
use cortex_core::config::Config;
use cortex_core::http::HttpError;
use cortex_core::openapi::GuardDoc;
use cortex_core::openapi::utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use cortex_core::testing::{TestApp, TestResponse};
use cortex_di::{BoxError, Inject, injectable};
use cortex_macros::{controller, routes};
use http::request::Parts;
use http::{Extensions, HeaderValue, StatusCode};
use serde_json::{Value, json};

use crate::support::Logs;

const PROFILE: &str = "auth-core-test";

/// The secret a failing credential carries: it must never reach a log or a body.
const SECRET: &str = "s3cr3t-credential";

/// `x-toy: id;role,role;perm,perm` authenticates; `x-toy: expired-<secret>` fails (expired),
/// `x-toy: down` fails the store.
struct Toy;

/// What `Toy` leaves for its `finish`.
#[derive(Clone)]
struct Seen(String);

impl Authenticator for Toy {
    fn name(&self) -> &'static str {
        "toy"
    }

    async fn authenticate(
        &self,
        request: &mut Parts,
        state: &mut Extensions,
    ) -> Result<Option<CurrentUser>, AuthFailure> {
        let Some(value) = request.headers.get("x-toy") else {
            return Ok(None);
        };
        let value = value
            .to_str()
            .map_err(|_| AuthFailure::Malformed("x-toy"))?;
        if value.starts_with("expired") {
            return Err(AuthFailure::Expired);
        }
        if value == "down" {
            return Err(AuthFailure::Store("connection refused".into()));
        }
        let mut fields = value.split(';');
        let id = fields.next().unwrap_or_default();
        let list = |field: Option<&str>| -> Vec<String> {
            field
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        let roles = list(fields.next());
        let permissions = list(fields.next());
        state.insert(Seen(id.to_string()));
        Ok(Some(
            CurrentUser::builder(id)
                .roles(roles)
                .permissions(permissions)
                // `jwt:<id>` stands for a bearer token's user.
                .method(if id.starts_with("jwt:") {
                    AuthMethod::Bearer
                } else {
                    AuthMethod::Other("toy")
                })
                .build(),
        ))
    }

    async fn finish(
        &self,
        state: &mut Extensions,
        response: &mut http::Response<axum::body::Body>,
    ) {
        if let Some(Seen(id)) = state.get::<Seen>() {
            response
                .headers_mut()
                .insert("x-toy-finished", HeaderValue::from_str(id).unwrap());
        }
    }

    fn describe(&self, doc: &mut GuardDoc) {
        doc.security_scheme(
            "toy",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-toy"))),
        )
        .require("toy", &[]);
    }
}

/// A second mechanism, to test the order: `x-other: id`.
struct Other;

impl Authenticator for Other {
    fn name(&self) -> &'static str {
        "other"
    }

    async fn authenticate(
        &self,
        request: &mut Parts,
        _state: &mut Extensions,
    ) -> Result<Option<CurrentUser>, AuthFailure> {
        Ok(request
            .headers
            .get("x-other")
            .and_then(|v| v.to_str().ok())
            .map(|id| CurrentUser::builder(format!("other:{id}")).build()))
    }
}

#[controller("/admin", profile = "auth-core-test")]
#[guard(Role("admin"))]
struct AdminController;

#[routes]
impl AdminController {
    #[get("/")]
    async fn index(&self) -> &'static str {
        "admin"
    }

    #[post("/users")]
    async fn create(&self) -> StatusCode {
        StatusCode::CREATED
    }

    #[delete("/users/{id}")]
    async fn remove(&self) -> StatusCode {
        StatusCode::NO_CONTENT
    }

    #[get("/report")]
    #[guard(Permission("reports:read"))]
    async fn report(&self) -> &'static str {
        "report"
    }
}

/// A post, for the policy.
struct Post {
    author: &'static str,
}

/// Authors edit their own posts; editors edit any.
#[injectable(profile = "auth-core-test")]
struct PostPolicy;

impl Policy<Post> for PostPolicy {
    async fn allows(
        &self,
        user: &CurrentUser,
        action: &str,
        post: &Post,
    ) -> Result<bool, BoxError> {
        match action {
            "edit" => Ok(post.author == user.id() || user.has_role("editor")),
            "explode" => Err("the policy store is down".into()),
            _ => Ok(false),
        }
    }
}

/// A request-scoped service that knows who asks.
#[injectable(scope = "request", profile = "auth-core-test")]
struct Greeter {
    identity: Inject<Identity>,
}

impl Greeter {
    fn greet(&self) -> String {
        match self.identity.user() {
            Some(user) => format!("hello {}", user.id()),
            None => "hello stranger".into(),
        }
    }
}

#[controller("/posts", profile = "auth-core-test")]
struct PostsController;

#[routes]
impl PostsController {
    #[get("/public")]
    async fn public(&self, user: Option<CurrentUser>) -> String {
        user.map_or_else(|| "anonymous".into(), |u| u.id().to_string())
    }

    #[get("/me")]
    async fn me(&self, user: CurrentUser) -> String {
        let roles: Vec<&str> = user.roles().collect();
        format!("{} {}", user.id(), roles.join(","))
    }

    #[get("/identity")]
    async fn identity(&self, identity: Identity) -> String {
        identity.user().map_or("none", |u| u.id()).to_string()
    }

    #[get("/principal")]
    async fn principal(
        &self,
        principal: Option<axum::Extension<cortex_core::http::middleware::Principal>>,
    ) -> String {
        principal.map_or_else(|| "none".into(), |p| p.id().to_string())
    }

    #[get("/greet")]
    async fn greet(&self, greeter: Inject<Greeter>) -> String {
        greeter.greet()
    }

    #[get("/members")]
    #[guard(Authenticated)]
    async fn members(&self) -> &'static str {
        "members"
    }

    #[get("/staff")]
    #[guard(AnyRole(&["editor", "moderator"]))]
    async fn staff(&self) -> &'static str {
        "staff"
    }

    #[delete("/{id}")]
    #[guard(Permission("posts:delete"))]
    async fn delete(&self) -> StatusCode {
        StatusCode::NO_CONTENT
    }

    #[put("/by/{author}")]
    async fn edit(
        &self,
        user: CurrentUser,
        policy: Inject<PostPolicy>,
        axum::extract::Path(author): axum::extract::Path<String>,
    ) -> Result<&'static str, HttpError> {
        let post = Post {
            author: if author == "ada" { "ada" } else { "bob" },
        };
        let action = if author == "boom" { "explode" } else { "edit" };
        policy.authorize(&user, action, &post).await?;
        Ok("edited")
    }
}

const ROLES: &str = r#"
[auth.roles]
admin = { inherits = ["editor"], permissions = ["reports:*"] }
editor = { inherits = ["writer"], permissions = ["posts:delete"] }
writer = { permissions = ["posts:write"] }
"#;

fn base(toml: &str) -> App {
    App::with_config(Config::from_toml(toml).unwrap()).container(|b| {
        b.profile(PROFILE);
    })
}

fn app_with(toml: &str, plugin: AuthPlugin) -> App {
    base(toml)
        .plugin(plugin)
        .register::<PostPolicy>()
        .register::<Greeter>()
        .controller::<AdminController>()
        .controller::<PostsController>()
}

async fn app() -> TestApp {
    TestApp::new(app_with(ROLES, AuthPlugin::default().authenticator(Toy))).await
}

/// Asserts a problem+json answer with `status` whose body does not mention the secret or why.
fn assert_problem(response: &TestResponse, status: StatusCode) -> Value {
    let body = response.text();
    assert_eq!(response.status(), status, "{body}");
    assert!(
        response
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/problem+json")),
        "{:?}",
        response.headers()
    );
    for leak in [
        SECRET,
        "expired",
        "store",
        "connection refused",
        "admin",
        "reports",
    ] {
        assert!(!body.contains(leak), "the body says `{leak}`: {body}");
    }
    serde_json::from_str(&body).unwrap()
}

// ---------------------------------------------------------------------------------------------
// attacks: 401 vs 403, every route of a guarded controller

#[tokio::test]
async fn a_guard_on_a_controller_guards_every_route_of_it() {
    let (logs, _guard) = Logs::capture();
    let app = app().await;
    let routes = [
        (http::Method::GET, "/admin"),
        (http::Method::POST, "/admin/users"),
        (http::Method::DELETE, "/admin/users/7"),
        (http::Method::GET, "/admin/report"),
    ];
    for (method, path) in &routes {
        // No credential: 401 with the plain challenge.
        let anonymous = app.request(method.clone(), path).await;
        assert_problem(&anonymous, StatusCode::UNAUTHORIZED);
        assert_eq!(
            anonymous.header("www-authenticate"),
            Some("Bearer"),
            "{path}"
        );
        // A refused credential: 401, `invalid_token`.
        let forged = app
            .request(method.clone(), path)
            .header("x-toy", format!("expired-{SECRET}"))
            .await;
        assert_problem(&forged, StatusCode::UNAUTHORIZED);
        assert_eq!(
            forged.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\""),
            "{path}"
        );
        // Authenticated, without the role: 403, no challenge.
        let writer = app
            .request(method.clone(), path)
            .header("x-toy", "wanda;writer;")
            .await;
        assert_problem(&writer, StatusCode::FORBIDDEN);
        assert!(writer.header("www-authenticate").is_none());
        // The same from a bearer token: RFC 6750's `insufficient_scope`.
        let bearer = app
            .request(method.clone(), path)
            .header("x-toy", "jwt:wanda;writer;")
            .await;
        assert_problem(&bearer, StatusCode::FORBIDDEN);
        assert_eq!(
            bearer.header("www-authenticate"),
            Some("Bearer error=\"insufficient_scope\""),
            "{path}"
        );
        // A role given as a permission does not count.
        let sneaky = app
            .request(method.clone(), path)
            .header("x-toy", "sam;;admin")
            .await;
        assert_problem(&sneaky, StatusCode::FORBIDDEN);
        // The admin passes.
        let admin = app
            .request(method.clone(), path)
            .header("x-toy", "ada;admin;")
            .await;
        assert!(admin.status().is_success(), "{path}: {}", admin.status());
    }
    assert!(logs.has_line(&["cortex::auth", "authentication failed", "toy", "expired"]));
    assert!(logs.has_line(&["cortex::auth", "access refused", "wanda", "admin"]));
    assert!(!logs.text().contains(SECRET), "the credential was logged");
}

#[tokio::test]
async fn a_failure_reason_is_logged_and_never_sent() {
    let (logs, _guard) = Logs::capture();
    let app = app().await;
    let response = app
        .get("/posts/members")
        .header("x-toy", format!("expired-{SECRET}"))
        .await;
    let problem = assert_problem(&response, StatusCode::UNAUTHORIZED);
    assert_eq!(problem["detail"], "The request lacks valid credentials.");
    assert!(logs.has_line(&[
        "INFO",
        "cortex::auth",
        "authenticator=\"toy\"",
        "code=\"expired\"",
        "the token has expired"
    ]));
    assert!(!logs.text().contains(SECRET));
    // The anonymous refusal has the same body: nothing tells them apart but the challenge.
    let anonymous = app.get("/posts/members").await;
    assert_eq!(
        assert_problem(&anonymous, StatusCode::UNAUTHORIZED)["detail"],
        problem["detail"]
    );
}

#[tokio::test]
async fn a_failed_store_is_a_503_not_a_401() {
    let (logs, _guard) = Logs::capture();
    let app = app().await;
    let response = app.get("/posts/members").header("x-toy", "down").await;
    assert_problem(&response, StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.header("www-authenticate").is_none());
    assert!(logs.has_line(&[
        "WARN",
        "cortex::auth",
        "code=\"store\"",
        "connection refused"
    ]));
    // `Option<CurrentUser>` does not hide it either.
    let public = app.get("/posts/public").header("x-toy", "down").await;
    assert_problem(&public, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn without_the_plugin_a_guard_answers_500_and_says_to_add_it() {
    let (logs, _guard) = Logs::capture();
    let app = TestApp::new(
        base("")
            .register::<PostPolicy>()
            .controller::<AdminController>(),
    )
    .await;
    let response = app.get("/admin").header("x-toy", "ada;admin;").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(logs.has_line(&["ERROR", "cortex::auth", "add the `AuthPlugin`"]));
}

#[tokio::test]
async fn with_no_authenticator_configured_the_layer_is_not_added() {
    let (logs, _guard) = Logs::capture();
    let app = TestApp::new(base("").plugin(AuthPlugin).controller::<AdminController>()).await;
    assert!(app.container().get::<Authentication>().is_err());
    let response = app.get("/admin").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(logs.has_line(&["cortex::auth", "configure an authenticator"]));
}

// ---------------------------------------------------------------------------------------------
// roles, permissions, extractors, identity, policies

#[tokio::test]
async fn roles_inherit_transitively_with_their_permissions() {
    let app = app().await;
    let me = app.get("/posts/me").header("x-toy", "ada;admin;").await;
    assert_eq!(me.text(), "ada admin,editor,writer");
    // admin → editor → posts:delete
    let delete = app.delete("/posts/9").header("x-toy", "ada;admin;").await;
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    // the writer does not inherit upwards
    let writer = app
        .delete("/posts/9")
        .header("x-toy", "wanda;writer;")
        .await;
    assert_eq!(writer.status(), StatusCode::FORBIDDEN);
    // any role of a list
    let staff = app.get("/posts/staff").header("x-toy", "ada;admin;").await;
    assert_eq!(staff.status(), StatusCode::OK);
    let staff = app
        .get("/posts/staff")
        .header("x-toy", "mo;moderator;")
        .await;
    assert_eq!(staff.status(), StatusCode::OK);
    let staff = app
        .get("/posts/staff")
        .header("x-toy", "wanda;writer;")
        .await;
    assert_eq!(staff.status(), StatusCode::FORBIDDEN);
    // a user who holds part of what a role expands to still gets the rest: the roles already
    // held add no role, the permissions held directly do not hide the role's
    let both = app
        .delete("/posts/9")
        .header("x-toy", "ed;editor,writer;")
        .await;
    assert_eq!(both.status(), StatusCode::NO_CONTENT);
    let report = app
        .get("/admin/report")
        .header("x-toy", "ada;admin;posts:read")
        .await;
    assert_eq!(report.status(), StatusCode::OK);
    // an undeclared role is kept as is
    let me = app.get("/posts/me").header("x-toy", "gus;guest;").await;
    assert_eq!(me.text(), "gus guest");
}

#[tokio::test]
async fn permission_wildcards_hold_what_they_cover_and_nothing_else() {
    let app = app().await;
    let status = |perms: &'static str, path: &'static str| {
        let app = &app;
        async move {
            app.get(path)
                .header("x-toy", format!("ada;admin;{perms}"))
                .await
                .status()
        }
    };
    // the admin role grants `reports:*`
    assert_eq!(status("", "/admin/report").await, StatusCode::OK);
    let delete = |perms: &'static str| {
        let app = &app;
        async move {
            app.delete("/posts/1")
                .header("x-toy", format!("u;;{perms}"))
                .await
                .status()
        }
    };
    assert_eq!(delete("posts:*").await, StatusCode::NO_CONTENT);
    assert_eq!(delete("*").await, StatusCode::NO_CONTENT);
    assert_eq!(delete("posts:delete").await, StatusCode::NO_CONTENT);
    assert_eq!(delete("posts").await, StatusCode::FORBIDDEN);
    assert_eq!(delete("posts:del*").await, StatusCode::FORBIDDEN);
    assert_eq!(delete("users:*").await, StatusCode::FORBIDDEN);
    assert_eq!(delete("posts:delete:own").await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_optional_extractor_lets_anonymous_and_refused_credentials_through() {
    let (logs, _guard) = Logs::capture();
    let app = app().await;
    assert_eq!(app.get("/posts/public").await.text(), "anonymous");
    let stale = app
        .get("/posts/public")
        .header("x-toy", format!("expired-{SECRET}"))
        .await;
    assert_eq!(stale.text(), "anonymous");
    assert!(logs.has_line(&["cortex::auth", "code=\"expired\""]));
    let ada = app.get("/posts/public").header("x-toy", "ada;;").await;
    assert_eq!(ada.text(), "ada");
    // The plain extractor answers 401.
    let me = app.get("/posts/me").await;
    assert_problem(&me, StatusCode::UNAUTHORIZED);
    assert_eq!(me.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn identity_is_seeded_into_the_request_scope_and_extracted() {
    let app = app().await;
    assert_eq!(app.get("/posts/greet").await.text(), "hello stranger");
    let ada = app.get("/posts/greet").header("x-toy", "ada;;").await;
    assert_eq!(ada.text(), "hello ada");
    assert_eq!(ada.header("x-toy-finished"), Some("ada"), "finish ran");
    assert_eq!(
        app.get("/posts/identity")
            .header("x-toy", "bob;;")
            .await
            .text(),
        "bob"
    );
    assert_eq!(app.get("/posts/identity").await.text(), "none");
}

#[tokio::test]
async fn the_user_is_the_principal_for_later_middleware() {
    let app = app().await;
    let ada = app.get("/posts/principal").header("x-toy", "ada;;").await;
    assert_eq!(ada.text(), "ada");
    assert_eq!(app.get("/posts/principal").await.text(), "none");
    let refused = app
        .get("/posts/principal")
        .header("x-toy", format!("expired-{SECRET}"))
        .await;
    assert_eq!(refused.text(), "none");
}

#[tokio::test]
async fn a_policy_answers_403_when_it_denies_and_500_when_it_fails() {
    let (logs, _guard) = Logs::capture();
    let app = app().await;
    let own = app.put("/posts/by/ada").header("x-toy", "ada;;").await;
    assert_eq!(own.text(), "edited");
    let other = app.put("/posts/by/bob").header("x-toy", "ada;;").await;
    assert_problem(&other, StatusCode::FORBIDDEN);
    assert!(logs.has_line(&[
        "INFO",
        "cortex::auth",
        "access refused by a policy",
        "user=\"ada\"",
        "action=\"edit\"",
        "PostPolicy"
    ]));
    let editor = app
        .put("/posts/by/bob")
        .header("x-toy", "eve;editor;")
        .await;
    assert_eq!(editor.text(), "edited");
    let anonymous = app.put("/posts/by/bob").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let failed = app.put("/posts/by/boom").header("x-toy", "ada;;").await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!failed.text().contains("policy store"));
    assert!(logs.has_line(&[
        "ERROR",
        "cortex::auth",
        "a policy failed",
        "policy store is down"
    ]));
}

// ---------------------------------------------------------------------------------------------
// order and configuration errors

#[tokio::test]
async fn the_first_authenticator_with_an_answer_decides_in_the_configured_order() {
    let both = |toml: &'static str| async move {
        let app = TestApp::new(app_with(
            toml,
            AuthPlugin::default()
                .authenticator(Toy)
                .authenticator(Other),
        ))
        .await;
        app.get("/posts/public")
            .header("x-toy", "ada;;")
            .header("x-other", "bob")
            .await
            .text()
    };
    assert_eq!(both("").await, "ada");
    assert_eq!(both("[auth]\norder = [\"other\"]").await, "other:bob");
    assert_eq!(
        both("[auth]\norder = [\"other\", \"toy\"]").await,
        "other:bob"
    );
}

async fn start_error(toml: &str, plugin: AuthPlugin) -> String {
    match TestApp::try_new(app_with(toml, plugin)).await {
        Ok(_) => panic!("the app started with {toml}"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn configuration_errors_name_the_key() {
    let toy = || AuthPlugin::default().authenticator(Toy);
    let unknown = start_error("[auth]\norder = [\"toy\", \"bearer\"]", toy()).await;
    assert!(
        unknown.contains(
            "`auth.order` names `bearer`, which is not a configured authenticator; the configured ones are: toy"
        ),
        "{unknown}"
    );
    let twice = start_error("[auth]\norder = [\"toy\", \"toy\"]", toy()).await;
    assert!(twice.contains("`auth.order` names `toy` twice"), "{twice}");
    let cycle = start_error(
        "[auth.roles]\nadmin = { inherits = [\"editor\"] }\neditor = { inherits = [\"admin\"] }",
        toy(),
    )
    .await;
    assert!(cycle.contains("admin -> editor -> admin"), "{cycle}");
    let undeclared = start_error("[auth.roles]\nadmin = { inherits = [\"editr\"] }", toy()).await;
    assert!(
        undeclared.contains("`auth.roles.admin.inherits` names the role `editr`"),
        "{undeclared}"
    );
    let unknown_key = start_error("[auth.roles]\nadmin = { inherit = [] }", toy()).await;
    assert!(unknown_key.contains("inherit"), "{unknown_key}");
    let duplicate = start_error("", toy().authenticator(Toy)).await;
    assert!(
        duplicate.contains("two authenticators named `toy`"),
        "{duplicate}"
    );
}

// ---------------------------------------------------------------------------------------------
// OpenAPI

#[tokio::test]
async fn the_document_has_the_configured_schemes_and_each_operations_requirement() {
    let app = TestApp::new(app_with(
        ROLES,
        AuthPlugin::default()
            .authenticator(Toy)
            .authenticator(Other),
    ))
    .await;
    let doc = serde_json::to_value(app.application().openapi().unwrap().document()).unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"],
        json!({ "toy": { "type": "apiKey", "in": "header", "name": "x-toy" } }),
        "`other` describes nothing"
    );
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    assert_eq!(
        op("/admin", "get")["security"],
        json!([{ "toy": ["admin"] }])
    );
    assert_eq!(
        op("/admin/report", "get")["security"],
        // The controller's guard first, as it runs first.
        json!([{ "toy": ["admin", "reports:read"] }])
    );
    assert_eq!(
        op("/posts/members", "get")["security"],
        json!([{ "toy": [] }])
    );
    assert_eq!(
        op("/posts/{id}", "delete")["security"],
        json!([{ "toy": ["posts:delete"] }])
    );
    assert_eq!(
        op("/posts/staff", "get")["security"],
        json!([{ "toy": ["editor", "moderator"] }])
    );
    let staff = op("/posts/staff", "get");
    assert!(staff["responses"]["403"].is_object(), "{staff}");
    let admin = op("/admin/users", "post");
    assert!(admin["responses"]["401"].is_object(), "{admin}");
    assert!(admin["responses"]["403"].is_object(), "{admin}");
    let members = op("/posts/members", "get");
    assert!(members["responses"].get("403").is_none(), "{members}");
    // Unguarded routes require nothing.
    assert!(op("/posts/public", "get").get("security").is_none());
    assert!(!doc.to_string().contains("cortex_auth"), "{doc}");
}

// ---------------------------------------------------------------------------------------------
// the access log line (`[http.trace] access_log`)

const ACCESS_LOG: &str = "[http.trace]\naccess_log = true\nheaders = ['user-agent', 'x-toy', 'x-client-cred', 'authorization']\n[auth.api_keys]\nenabled = true\nheader = 'x-client-cred'\n";

#[tokio::test]
async fn the_access_log_line_carries_the_authenticated_user_id() {
    let (logs, _guard) = Logs::capture();
    let app = TestApp::new(app_with(
        &format!("{ROLES}{ACCESS_LOG}"),
        AuthPlugin::default().authenticator(Toy),
    ))
    .await;
    assert_eq!(
        app.get("/posts/principal")
            .header("x-toy", "ada;;")
            .await
            .text(),
        "ada"
    );
    assert_eq!(app.get("/posts/principal").await.text(), "none");
    let lines: Vec<String> = logs
        .text()
        .lines()
        .filter(|l| l.contains("cortex::access"))
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 2, "{}", logs.text());
    assert!(
        lines[0].contains("route=/posts/principal") && lines[0].contains("user_id=\"ada\""),
        "{}",
        lines[0]
    );
    // Anonymous: no user id at all.
    assert!(!lines[1].contains("user_id"), "{}", lines[1]);
}

#[tokio::test]
async fn credentials_in_logged_headers_are_masked_including_the_api_key_header_name() {
    let (logs, _guard) = Logs::capture();
    let app = TestApp::new(app_with(
        &format!("{ROLES}{ACCESS_LOG}"),
        AuthPlugin::default().authenticator(Toy),
    ))
    .await;
    app.get("/posts/principal")
        .header("user-agent", "probe/1.0")
        .header("x-client-cred", SECRET)
        .header("authorization", format!("Bearer {SECRET}"))
        .await;
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("cortex::access"))
        .unwrap_or_else(|| panic!("no access line in {text}"));
    assert!(!text.contains(SECRET), "a credential was logged: {text}");
    for part in [
        r#""user-agent": "probe/1.0""#,
        r#""x-client-cred": "********""#,
        r#""authorization": "Bearer ********""#,
    ] {
        assert!(line.contains(part), "{part} missing from {line}");
    }
    // `x-toy` is listed but was not sent: not in the line.
    assert!(!line.contains("x-toy"), "{line}");
}
