//! `cortex_core::testing`: an app built from its folder's configuration in the `test` profile,
//! requests sent in-process, and assertions that fail with the response in the message.

use cortex_core::App;
use cortex_core::http::{HttpError, Json, Valid};
use cortex_core::testing::{TestApp, config, try_config};
use cortex_di::{Inject, injectable};
use cortex_macros::{controller, routes};
use serde::{Deserialize, Serialize};

// Registered in the `test` profile only, which `testing::config` always selects; no other
// module of this binary declares anything for that profile.
#[injectable(profile = "test")]
struct Greeter {
    #[inject(config = "greeting.word")]
    word: String,
}

#[derive(Deserialize, Serialize, validator::Validate)]
struct Note {
    #[validate(length(min = 1))]
    text: String,
}

#[controller("/t", profile = "test")]
struct TestingController {
    greeter: Inject<Greeter>,
}

#[routes]
impl TestingController {
    #[get("/hello/{name}")]
    async fn hello(
        &self,
        cortex_core::http::Path(name): cortex_core::http::Path<String>,
    ) -> String {
        format!("{}, {name}!", self.greeter.word)
    }

    #[post("/notes")]
    async fn note(&self, Valid(Json(note)): Valid<Json<Note>>) -> Json<Note> {
        Json(note)
    }

    #[post("/form")]
    async fn form(&self, cortex_core::http::Form(note): cortex_core::http::Form<Note>) -> String {
        note.text
    }

    #[get("/whoami")]
    async fn whoami(&self, headers: http::HeaderMap) -> Result<String, HttpError> {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| HttpError::unauthorized("no token"))?;
        Ok(auth.to_string())
    }
}

fn app_dir(greeting: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cortex.toml"),
        "[greeting]\nword = \"Hi\"\n[server]\nport = 1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("cortex.test.toml"),
        format!("[greeting]\nword = \"{greeting}\"\n"),
    )
    .unwrap();
    // .env is for dev only; the test configuration ignores it and the environment.
    std::fs::write(
        dir.path().join(".env"),
        "CORTEX_GREETING__WORD=FromDotenv\n",
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn discover_builds_the_app_from_its_folder_in_the_test_profile() {
    let dir = app_dir("Hello");
    let app = TestApp::discover(dir.path()).await;
    assert!(app.application().config().profile().is_test());
    app.get("/t/hello/Ada")
        .await
        .assert_status(200)
        .assert_text("Hello, Ada!");
    // Resolving from the container sees the same configuration.
    assert_eq!(app.container().get::<Greeter>().unwrap().word, "Hello");
}

#[tokio::test]
async fn json_form_headers_and_problems() {
    let dir = app_dir("Hey");
    let app = TestApp::discover(dir.path()).await;

    let note: serde_json::Value = app
        .post("/t/notes")
        .json(&serde_json::json!({ "text": "milk" }))
        .await
        .assert_status(200)
        .json();
    assert_eq!(note["text"], "milk");

    let problem = app
        .post("/t/notes")
        .json(&serde_json::json!({ "text": "" }))
        .await
        .assert_problem(422);
    assert_eq!(problem["errors"][0]["field"], "text", "{problem}");

    app.post("/t/notes")
        .header("content-type", "application/json")
        .body("{")
        .await
        .assert_problem(400);

    app.post("/t/form")
        .form(&[("text", "a b&c")])
        .await
        .assert_status(200)
        .assert_text("a b&c");

    app.get("/t/whoami").await.assert_problem(401);
    app.get("/t/whoami")
        .bearer("t0k")
        .await
        .assert_status(200)
        .assert_text("Bearer t0k");

    let missing = app.get("/t/missing").await;
    assert_eq!(missing.status(), 404);
    assert!(missing.header("x-request-id").is_some());
    assert!(missing.headers().contains_key("content-type"));
    assert!(missing.bytes().len() > 2);
    missing.assert_problem(http::StatusCode::NOT_FOUND);
}

#[tokio::test]
#[should_panic(expected = "GET /t/hello/Ada: expected status 201 Created, got 200 OK\nHello, Ada!")]
async fn a_wrong_status_fails_with_the_body() {
    let dir = app_dir("Hello");
    TestApp::discover(dir.path())
        .await
        .get("/t/hello/Ada")
        .await
        .assert_status(201);
}

#[tokio::test]
#[should_panic(expected = "expected application/problem+json, got content type")]
async fn a_plain_response_is_not_a_problem() {
    let dir = app_dir("Hello");
    TestApp::discover(dir.path())
        .await
        .get("/t/hello/Ada")
        .await
        .assert_problem(200);
}

#[tokio::test]
#[should_panic(expected = "the body is not JSON of type serde_json::value::Value")]
async fn json_of_a_text_body_fails_with_the_body() {
    let dir = app_dir("Hello");
    let _: serde_json::Value = TestApp::discover(dir.path())
        .await
        .get("/t/hello/Ada")
        .await
        .json();
}

#[tokio::test]
#[should_panic(expected = "`x-bad: line\nbreak` is not a valid HTTP header")]
async fn an_invalid_header_is_named() {
    let dir = app_dir("Hello");
    TestApp::discover(dir.path())
        .await
        .get("/t/hello/Ada")
        .header("x-bad", "line\nbreak")
        .await;
}

#[tokio::test]
#[should_panic(expected = "the app does not build (TestApp::new at")]
async fn an_app_that_does_not_build_panics_with_the_error() {
    // No `[greeting] word`: the Greeter cannot be made.
    let dir = tempfile::tempdir().unwrap();
    TestApp::discover(dir.path()).await;
}

#[tokio::test]
async fn try_new_returns_the_error_and_a_bad_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let err = TestApp::try_new(App::with_config(config(dir.path())).discover())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("greeting.word"), "{err}");

    std::fs::write(dir.path().join("cortex.test.toml"), "[greeting\n").unwrap();
    let err = try_config(dir.path()).unwrap_err();
    assert!(err.to_string().contains("cortex.test.toml"), "{err}");
}

#[tokio::test]
async fn serve_answers_on_a_real_socket() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = app_dir("Yo");
    let running = TestApp::discover(dir.path()).await.serve().await.unwrap();
    let addr = running.local_addr();
    assert!(addr.ip().is_loopback());
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /t/hello/Bo HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("Yo, Bo!"), "{reply}");
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_trips_the_signal_and_waits_for_tracked_tasks() {
    let app = TestApp::new(App::with_config(config(app_dir("Hi").path()))).await;
    let signal: Inject<cortex_core::ShutdownSignal> = app.container().get().unwrap();
    let (finished_tx, finished_rx) = tokio::sync::oneshot::channel();
    let watcher = cortex_core::ShutdownSignal::clone(&signal);
    signal.spawn_tracked("worker", async move {
        watcher.tripped().await;
        tokio::task::yield_now().await;
        finished_tx.send(()).unwrap();
    });
    app.shutdown().await;
    assert!(signal.is_tripped());
    assert!(
        signal.tracked_names().is_empty(),
        "the worker was waited for"
    );
    finished_rx.await.expect("the worker ran to its end");
}

// --- lifecycle, peer address, sessions, scopes, extension traits --------------------------------

/// Records the lifecycle events it sees: a consumer that starts in `OnReady`.
#[injectable(profile = "testing-lifecycle")]
struct Recorder {
    #[inject(default)]
    events: std::sync::Mutex<Vec<&'static str>>,
}

impl Recorder {
    fn push(&self, event: &'static str) {
        self.events.lock().unwrap().push(event);
    }
}

impl cortex_di::OnReady for Recorder {
    async fn on_ready(&self) -> Result<(), cortex_di::BoxError> {
        self.push("OnReady");
        Ok(())
    }
}

impl cortex_di::OnShutdown for Recorder {
    async fn on_shutdown(&self) {
        self.push("OnShutdown");
    }
}

fn recording_app() -> App {
    fn log(c: &cortex_di::Container, event: &'static str) -> Result<(), cortex_di::BoxError> {
        c.get::<Recorder>()?.push(event);
        Ok(())
    }
    App::with_config(config(app_dir("Hi").path()))
        .container(|b| {
            b.profile("testing-lifecycle");
        })
        .discover()
        .on_ready(|c| async move { log(&c, "on_ready") })
        .on_shutdown(|c| async move { log(&c, "on_shutdown") })
}

#[tokio::test]
async fn new_runs_the_ready_hooks_and_shutdown_runs_the_on_shutdown_closures() {
    let app = TestApp::new(recording_app()).await;
    let recorder: Inject<Recorder> = app.container().get().unwrap();
    assert_eq!(*recorder.events.lock().unwrap(), ["OnReady", "on_ready"]);
    app.shutdown().await;
    assert_eq!(
        *recorder.events.lock().unwrap(),
        ["OnReady", "on_ready", "on_shutdown", "OnShutdown"]
    );
}

#[tokio::test]
async fn serving_a_test_app_does_not_run_its_ready_closures_twice() {
    let app = TestApp::new(recording_app()).await;
    let recorder: Inject<Recorder> = app.container().get().unwrap();
    let running = app.serve().await.unwrap();
    running.shutdown().await.unwrap();
    assert_eq!(
        *recorder.events.lock().unwrap(),
        ["OnReady", "on_ready", "on_shutdown", "OnShutdown"]
    );
}

#[tokio::test]
async fn a_failing_on_ready_closure_fails_try_new_and_shuts_the_app_down() {
    let app = recording_app().on_ready(|_| async { Err("the broker is down".into()) });
    let err = TestApp::try_new(app).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the on_ready hook failed: the broker is down"
    );
}

fn echo_routes() -> axum::Router {
    use axum::extract::ConnectInfo;
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/peer",
            get(|request: axum::extract::Request| async move {
                request
                    .extensions()
                    .get::<ConnectInfo<std::net::SocketAddr>>()
                    .map(|ConnectInfo(addr)| addr.to_string())
                    .unwrap_or_else(|| "none".to_string())
            }),
        )
        .route(
            "/login",
            post(|| async {
                (
                    axum::response::AppendHeaders([
                        ("set-cookie", "session=abc123; Path=/; HttpOnly"),
                        ("set-cookie", "theme=dark"),
                    ]),
                    "signed in",
                )
            }),
        )
        .route(
            "/logout",
            post(|| async { ([("set-cookie", "session=; Max-Age=0")], "bye") }),
        )
        .route(
            "/cookies",
            get(|headers: http::HeaderMap| async move {
                headers
                    .get_all("cookie")
                    .iter()
                    .map(|v| v.to_str().unwrap().to_string())
                    .collect::<Vec<_>>()
                    .join(" | ")
            }),
        )
}

async fn echo_app() -> TestApp {
    TestApp::new(App::with_config(config(app_dir("Hi").path())).router(echo_routes())).await
}

#[tokio::test]
async fn the_peer_address_is_set_per_request() {
    let app = echo_app().await;
    app.get("/peer")
        .peer("198.51.100.7:5555".parse().unwrap())
        .await
        .assert_text("198.51.100.7:5555");
    app.get("/peer").await.assert_text("none");
}

#[tokio::test]
async fn a_session_keeps_cookies_across_requests_and_forgets_expired_ones() {
    let app = echo_app().await;
    let session = app.session();
    session.get("/cookies").await.assert_text("");
    session.post("/login").await.assert_status(200);
    session
        .get("/cookies")
        .await
        .assert_text("session=abc123; theme=dark");
    assert_eq!(session.cookies()["session"], "abc123");

    let other = app.session();
    other.get("/cookies").await.assert_text("");
    app.get("/cookies").await.assert_text("");

    session.post("/logout").await.assert_status(200);
    session.get("/cookies").await.assert_text("theme=dark");
    session.set_cookie("lang", "fr");
    session
        .get("/cookies")
        .await
        .assert_text("lang=fr; theme=dark");
}

#[tokio::test]
async fn a_scope_resolves_request_scoped_services_once_per_scope() {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    struct RequestId(u32);
    let app = TestApp::new(
        App::with_config(config(app_dir("Hi").path())).provide(
            cortex_di::Provider::factory(|_| Ok(RequestId(NEXT.fetch_add(1, Ordering::SeqCst))))
                .scope(cortex_di::Scope::Request),
        ),
    )
    .await;
    let (first, second) = (app.scope(), app.scope());
    assert_eq!(
        first.get::<RequestId>().unwrap().0,
        first.get::<RequestId>().unwrap().0
    );
    assert_ne!(
        first.get::<RequestId>().unwrap().0,
        second.get::<RequestId>().unwrap().0
    );
    assert!(
        app.container().get::<RequestId>().is_err(),
        "not outside a scope"
    );
}

/// What a plugin crate (an auth module, say) would ship for its users' tests: helpers on
/// `TestApp` through an extension trait, built on its public API.
mod auth_plugin_testing {
    use cortex_core::testing::{TestApp, TestRequest};

    pub(super) trait AuthTestExt {
        /// A `GET` as the signed-in `user`.
        fn get_as(&self, user: &str, uri: &str) -> TestRequest;
    }

    impl AuthTestExt for TestApp {
        fn get_as(&self, user: &str, uri: &str) -> TestRequest {
            self.get(uri).bearer(format!("token-of-{user}"))
        }
    }
}

#[tokio::test]
async fn a_plugin_extends_test_app_with_an_extension_trait() {
    use auth_plugin_testing::AuthTestExt;
    let app = TestApp::discover(app_dir("Hi").path()).await;
    app.get_as("ada", "/t/whoami")
        .await
        .assert_status(200)
        .assert_text("Bearer token-of-ada");
}
