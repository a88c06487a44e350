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
