//! What authentication records: `cortex_auth_attempts_total{mechanism, outcome}` from the layer
//! and from `PasswordLogin` (read back through a local `DebuggingRecorder`), and the
//! `auth.authenticate` span of each attempt when spans are exported (through a capturing layer).

use std::collections::BTreeMap;
use std::net::IpAddr;

use cortex_auth::{
    AuthFailure, AuthPlugin, Authenticator, CurrentUser, LoginThrottle, PasswordConfig,
    PasswordLogin, Passwords, ThrottleConfig,
};
use cortex_core::App;
use cortex_core::axum::{Router, routing::get};
use cortex_core::config::Profile;
use cortex_core::testing::{CapturedSpans, TestApp};
use http::Extensions;
use http::request::Parts;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// A credential no log, label or span may show.
const TOKEN: &str = "bad-s3cret-token-value";

/// `x-user: <id>` authenticates `<id>`; `bad…` is refused; `down` is a store failure.
struct Header;

impl Authenticator for Header {
    fn name(&self) -> &'static str {
        "header"
    }

    async fn authenticate(
        &self,
        request: &mut Parts,
        _: &mut Extensions,
    ) -> Result<Option<CurrentUser>, AuthFailure> {
        let Some(value) = request.headers.get("x-user") else {
            return Ok(None);
        };
        match value.to_str().unwrap() {
            "down" => Err(AuthFailure::Store("connection refused".into())),
            bad if bad.starts_with("bad") => Err(AuthFailure::Signature),
            id => Ok(Some(CurrentUser::builder(id).build())),
        }
    }
}

async fn app() -> TestApp {
    let routes = Router::new().route("/hello", get(|| async { "hello" }));
    TestApp::new(
        App::new()
            .plugin(AuthPlugin::default().authenticator(Header))
            .router(routes),
    )
    .await
}

/// Sends one request per `x-user` value (`None`: no header).
async fn requests(app: &TestApp, users: &[Option<&str>]) {
    for user in users {
        let request = app.request(http::Method::GET, "/hello");
        match user {
            Some(user) => request.header("x-user", *user).await,
            None => request.await,
        };
    }
}

fn login() -> PasswordLogin {
    let passwords = Passwords::new(&PasswordConfig::default(), &Profile::TEST).unwrap();
    let mut throttle = ThrottleConfig::default();
    throttle.enabled = false;
    PasswordLogin::new(passwords, LoginThrottle::new(&throttle).unwrap())
}

fn ip() -> IpAddr {
    "198.51.100.4".parse().unwrap()
}

/// Runs the same logins: one accepted, one wrong password, one unreadable stored hash.
async fn logins(login: &PasswordLogin) {
    let stored = login.passwords().hash("a long passphrase").await.unwrap();
    assert!(
        login
            .attempt("ann", ip(), Some(stored.as_str()), "a long passphrase")
            .await
            .is_ok()
    );
    assert!(
        login
            .attempt("ann", ip(), Some(stored.as_str()), TOKEN)
            .await
            .is_err()
    );
    assert!(
        login
            .attempt("ann", ip(), Some("not a hash"), "a long passphrase")
            .await
            .is_err()
    );
}

/// The attempt counters that moved, by `(mechanism, outcome)` (the handles are taken when the
/// authenticators are made, so every series exists from the start, at 0).
fn attempts(recorder: &DebuggingRecorder) -> BTreeMap<(String, String), u64> {
    recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let (_, key) = key.into_parts();
            if key.name() != "cortex_auth_attempts_total" {
                return None;
            }
            let label = |name: &str| {
                key.labels()
                    .find(|l| l.key() == name)
                    .map(|l| l.value().to_string())
                    .unwrap_or_default()
            };
            let DebugValue::Counter(count @ 1..) = value else {
                return None;
            };
            assert_eq!(key.labels().count(), 2, "{key:?}");
            Some(((label("mechanism"), label("outcome")), count))
        })
        .collect()
}

fn expected(rows: &[(&str, &str, u64)]) -> BTreeMap<(String, String), u64> {
    rows.iter()
        .map(|(m, o, n)| ((m.to_string(), o.to_string()), *n))
        .collect()
}

#[tokio::test]
async fn the_layer_counts_each_attempt_by_mechanism_and_outcome_but_not_anonymous_requests() {
    let recorder = DebuggingRecorder::new();
    let _local = metrics::set_default_local_recorder(&recorder);
    let app = app().await;
    requests(
        &app,
        &[None, Some("ada"), Some("bob"), Some(TOKEN), Some("down")],
    )
    .await;
    assert_eq!(
        attempts(&recorder),
        expected(&[
            ("header", "error", 1),
            ("header", "ok", 2),
            ("header", "refused", 1),
        ])
    );
}

#[tokio::test]
async fn password_logins_count_as_the_password_mechanism() {
    let recorder = DebuggingRecorder::new();
    let _local = metrics::set_default_local_recorder(&recorder);
    logins(&login()).await;
    assert_eq!(
        attempts(&recorder),
        expected(&[
            ("password", "error", 1),
            ("password", "ok", 1),
            ("password", "refused", 1),
        ])
    );
}

/// The fields of interest of a span, in a fixed order.
fn summary(span: &BTreeMap<String, String>) -> [&str; 4] {
    let field = |name: &str| span.get(name).map_or("-", String::as_str);
    [
        field("auth.mechanism"),
        field("auth.outcome"),
        field("enduser.id"),
        field("error.type"),
    ]
}

/// One test flips the global `export_spans` flag both ways (tests share it under `cargo test`).
#[tokio::test]
async fn each_attempt_is_a_span_naming_the_user_never_the_credential_when_spans_are_exported() {
    let spans = CapturedSpans::only("auth.authenticate");
    let _guard = tracing::dispatcher::set_default(&spans.dispatch_at(tracing::Level::INFO));
    tracing::callsite::rebuild_interest_cache();
    let app = app().await;
    let login = login();

    cortex_core::logging::export_spans(false);
    requests(&app, &[Some("ada"), Some(TOKEN)]).await;
    logins(&login).await;
    assert!(spans.spans().is_empty());

    cortex_core::logging::export_spans(true);
    requests(&app, &[None, Some("ada"), Some(TOKEN), Some("down")]).await;
    logins(&login).await;
    cortex_core::logging::export_spans(false);

    let seen: Vec<_> = spans.spans().into_iter().map(|span| span.fields).collect();
    let summaries: Vec<[&str; 4]> = seen.iter().map(summary).collect();
    assert_eq!(
        summaries,
        [
            ["-", "anonymous", "-", "-"],
            ["header", "ok", "ada", "-"],
            ["header", "refused", "-", "signature"],
            ["header", "error", "-", "store"],
            ["password", "ok", "ann", "-"],
            ["password", "refused", "-", "invalid_credentials"],
            ["password", "error", "-", "error"],
        ],
        "{seen:?}"
    );
    for span in &seen {
        assert!(
            span.values()
                .all(|v| !v.contains(TOKEN) && !v.contains("passphrase")),
            "no credential in a span: {span:?}"
        );
        if span.contains_key("error.type") {
            assert_eq!(span["otel.status_code"], "ERROR", "{span:?}");
        }
    }
}
