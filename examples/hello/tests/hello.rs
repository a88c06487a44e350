//! The hello example end to end: the app in-process (every route, bad inputs answered with
//! problem details), then the `hello` binary as a real process on a free port, stopped with
//! SIGTERM.
#![allow(missing_docs)]

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cortex::App;
use cortex::config::Config;
use cortex::testing::TestApp;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

// Links the library, whose controller and service `discover()` finds.
use hello as _;

// --- in-process ---------------------------------------------------------------------------------

/// The app as the binary builds it, on `cortex.toml` + `cortex.test.toml`, ignoring the process
/// environment (`cortex::testing`).
async fn app() -> TestApp {
    TestApp::discover(env!("CARGO_MANIFEST_DIR")).await
}

#[tokio::test]
async fn every_route_answers_and_bad_input_gets_problem_details() {
    let app = app().await;
    // The app's own routes (with the workspace's `--all-features`, a plugin's such as `/metrics`
    // are in the table too).
    let routes: Vec<_> = app
        .application()
        .routes()
        .iter()
        .filter(|r| r.plugin.is_none())
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(routes, [("GET", "/"), ("GET", "/hello/{name}")]);

    let index = app.get("/").await;
    index.assert_status(200);
    assert_eq!(index.header("content-type"), Some("application/json"));
    assert!(
        index.header("x-request-id").is_some(),
        "the default middleware stack is on"
    );
    assert_eq!(index.json::<Value>(), json!({ "message": "Hello, world!" }));

    let ada: Value = app.get("/hello/Ada").await.assert_status(200).json();
    assert_eq!(ada, json!({ "message": "Hello, Ada!" }));
    let spaced: Value = app.get("/hello/%20Grace%20Hopper%20").await.json();
    assert_eq!(spaced, json!({ "message": "Hello, Grace Hopper!" }));

    let long = app
        .get(format!("/hello/{}", "a".repeat(65)))
        .await
        .assert_problem(400);
    assert_eq!(long["detail"], "`name` must be 1 to 64 characters");
    app.get("/hello/%20").await.assert_problem(400);
    app.get("/hello/%FF").await.assert_problem(400);

    app.get("/hello").await.assert_problem(404);
    app.get("/hello/Ada/again").await.assert_problem(404);
    let post = app.post("/").await;
    post.assert_problem(405);
    assert!(post.header("allow").unwrap().contains("GET"));

    app.get("/health/live").await.assert_status(200);
    let ready: Value = app.get("/health/ready").await.assert_status(200).json();
    assert_eq!(ready["status"], "up");
}

#[tokio::test]
async fn the_greeting_comes_from_the_configuration() {
    let config = Config::builder()
        .dir(env!("CARGO_MANIFEST_DIR"))
        .env_vars([("CORTEX_PROFILE", "test"), ("CORTEX_HELLO__GREETING", "Hi")])
        .load()
        .unwrap();
    let app = TestApp::new(App::with_config(config).discover()).await;
    let hi: Value = app.get("/hello/Ada").await.json();
    assert_eq!(hi, json!({ "message": "Hi, Ada!" }));

    // `App::new()` has an empty configuration.
    let err = TestApp::try_new(App::new().discover()).await.unwrap_err();
    assert!(
        err.to_string().contains("hello.greeting"),
        "a missing key stops the start and is named: {err}"
    );
}

// --- as a process -------------------------------------------------------------------------------

/// A port nobody listens on right now: bind port 0, read the port, close the socket.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `hello` binary, running; killed if a test fails before stopping it.
struct Process {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Process {
    fn spawn() -> Process {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hello"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("CORTEX_PROFILE", "test")
            .env("CORTEX_PORT", port.to_string())
            .env("CORTEX_LOG", "info")
            .env("CORTEX_LOG_FORMAT", "text")
            .env_remove("CORTEX_CONFIG_DIR")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the hello binary starts");
        // Drain the log continuously (a full pipe would block the server), keep it for messages.
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr);
            let mut line = String::new();
            while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Process {
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            log,
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Polls `/health/ready` until it answers 200; fails if the process exits or the deadline
    /// passes first.
    async fn wait_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "hello exited before it was ready ({status}):\n{}",
                    self.log()
                );
            }
            if let Ok((StatusCode::OK, _, _)) = get(self.addr, "/health/ready").await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "hello was not ready within {within:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM, as an orchestrator does.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit; fails after `within`.
    async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "hello did not exit within {within:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `GET path` on a new HTTP/1.1 connection to `addr`.
async fn get(
    addr: SocketAddr,
    path: &str,
) -> Result<(StatusCode, HeaderMap, Bytes), Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = Request::get(path)
        .header("host", addr.to_string())
        .body(Full::<Bytes>::default())?;
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    Ok((
        parts.status,
        parts.headers,
        body.collect().await?.to_bytes(),
    ))
}

#[tokio::test]
async fn the_binary_serves_on_cortex_port_and_stops_on_sigterm() {
    let mut hello = Process::spawn();
    hello.wait_ready(Duration::from_secs(30)).await;

    let (status, headers, body) = get(hello.addr, "/hello/Ada").await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({ "message": "Hello, Ada!" })
    );
    let (status, headers, _) = get(hello.addr, "/nope").await.unwrap();
    assert_eq!(
        (status, &headers["content-type"]),
        (
            StatusCode::NOT_FOUND,
            &"application/problem+json".parse().unwrap()
        )
    );

    let started = Instant::now();
    hello.terminate();
    let status = hello.wait_exit(Duration::from_secs(10)).await;
    assert!(
        status.success(),
        "hello exited with {status}:\n{}",
        hello.log()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "an idle server stops at once, took {:?}",
        started.elapsed()
    );
    assert!(
        get(hello.addr, "/").await.is_err(),
        "nothing listens after the exit"
    );
}

// --- tasks --------------------------------------------------------------------------------------

/// Runs the `hello` binary with `CORTEX_TASK=task` (what `cortex run` does) to its end.
fn run_task(task: &str, name: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hello"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CORTEX_PROFILE", "test")
        .env("CORTEX_TASK", task)
        .env("CORTEX_LOG", "warn")
        .env_remove("CORTEX_CONFIG_DIR")
        .env_remove("CORTEX_INSPECT")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    match name {
        Some(name) => command.env("GREET_NAME", name),
        None => command.env_remove("GREET_NAME"),
    };
    command.output().expect("the hello binary runs")
}

#[test]
fn a_task_runs_in_the_binary_and_exits_zero() {
    let out = run_task("greet", Some("Ada"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}:\n{stderr}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, Ada!\n");
}

#[test]
fn a_failing_task_exits_non_zero_with_its_message() {
    let out = run_task("greet", None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "error: task `greet` failed: GREET_NAME is not set; hint: `GREET_NAME=Ada cortex run greet`"
        ),
        "{stderr}"
    );
}

#[test]
fn an_unknown_task_exits_non_zero_naming_the_known_ones() {
    let out = run_task("gret", Some("Ada"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "error: unknown task `gret`: the app's tasks are greet; did you mean `greet`?"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
