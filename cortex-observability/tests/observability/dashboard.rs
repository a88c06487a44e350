//! The operations dashboard over HTTP: its JSON, its stream, its access rules and its
//! configuration errors; and the page in a real headless Chromium (`browser` below).

use std::time::Duration;

use axum::extract::Path;
use cortex_core::App;
use cortex_core::config::{Config, Profile};
use cortex_core::routing::Route;
use cortex_core::testing::TestApp;
use cortex_observability::ObservabilityPlugin;
use http::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod browser;

/// A configuration in `profile` from `toml`, reading no file and no environment.
pub(crate) fn config(profile: Profile, toml: &str) -> Config {
    Config::builder()
        .dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/observability"))
        .profile(profile)
        .env_vars::<_, &str, &str>([])
        .dotenv(false)
        .defaults(toml)
        .load()
        .expect("test configuration")
}

/// An app with a few routes to watch: `/users/{id}` (200), `/boom` (500), `/slow` (30 ms).
pub(crate) fn watched(config: Config) -> App {
    App::with_config(config)
        .plugin(ObservabilityPlugin)
        .routes([
            Route::get(
                "/users/{id}",
                "show_user",
                |Path(id): Path<u32>| async move { format!("user {id}") },
            ),
            Route::get("/boom", "boom", || async {
                tracing::error!(
                    password = "hunter2",
                    "payment failed: postgres://app:s3cr3t@db/app refused"
                );
                StatusCode::INTERNAL_SERVER_ERROR
            }),
            Route::get("/slow", "slow", || async {
                tokio::time::sleep(Duration::from_millis(30)).await;
                "slow"
            }),
        ])
}

fn find<'a>(rows: &'a Value, route: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["route"] == route)
        .unwrap_or_else(|| panic!("no row {route} in {rows:#}"))
}

#[tokio::test]
async fn the_live_snapshot_counts_requests_per_route_template() {
    let app = TestApp::new(watched(config(Profile::DEV, ""))).await;
    for id in [1, 2, 3] {
        app.get(format!("/users/{id}"))
            .send()
            .await
            .assert_status(200);
    }
    app.get("/boom").send().await.assert_status(500);
    app.get("/slow").send().await.assert_status(200);
    app.get("/nowhere/42").send().await.assert_status(404);
    // The dashboard's own requests are not counted.
    app.get("/_cortex").send().await.assert_status(200);

    let live: Value = app.get("/_cortex/api/live").send().await.json();
    let stats = &live["stats"];
    assert_eq!(stats["overall"]["requests"], 6, "{stats:#}");
    assert_eq!(stats["overall"]["errors"], 1);
    let users = find(&stats["routes"], "GET /users/{id}");
    assert_eq!(users["requests"], 3);
    assert_eq!(users["error_rate"], 0.0);
    let boom = find(&stats["routes"], "GET /boom");
    assert_eq!(
        (boom["errors"].as_u64(), boom["error_rate"].as_f64()),
        (Some(1), Some(1.0))
    );
    let slow = find(&stats["routes"], "GET /slow");
    assert!(slow["p50_ms"].as_f64().unwrap() >= 25.0, "{slow}");
    assert_eq!(find(&stats["routes"], "(no route)")["requests"], 1);
    assert!(
        !stats["routes"].to_string().contains("/nowhere/42"),
        "raw paths never become rows"
    );
    assert_eq!(stats["requests_per_second"].as_array().unwrap().len(), 60);

    let errors = stats["recent_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["route"], "GET /boom");
    assert_eq!(errors[0]["status"], 500);
    assert_eq!(
        errors[0]["request_id"].as_str().unwrap().len(),
        32,
        "{errors:?}"
    );

    assert_eq!(live["health"]["status"], "up");
    assert_eq!(live["refresh_ms"], 1000);
}

#[tokio::test]
async fn the_app_endpoint_lists_routes_plugins_graph_and_masked_configuration() {
    let toml = "[observability]\nservice_name = 'shop'\n[database]\nurl = 'postgres://app:pw-in-url@db/app'\npassword = 'hunter2'";
    let app = TestApp::new(watched(config(Profile::DEV, toml))).await;
    let response = app.get("/_cortex/api/app").send().await;
    response.assert_status(200);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let info: Value = response.json();
    assert_eq!(info["service"], "shop");
    assert_eq!(info["profile"], "dev");
    assert_eq!(info["protected"], false);
    let paths: Vec<&str> = info["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    for path in [
        "/users/{id}",
        "/boom",
        "/_cortex",
        "/_cortex/api/stream",
        "/health/ready",
    ] {
        assert!(paths.contains(&path), "{path} in {paths:?}");
    }
    assert!(
        info["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "observability")
    );
    assert!(!info["graph"]["providers"].as_array().unwrap().is_empty());
    assert!(info["mermaid"].as_str().unwrap().starts_with("flowchart"));
    assert_eq!(info["config"]["database"]["password"], "********");
    assert_eq!(
        info["config"]["database"]["url"],
        "postgres://app:********@db/app"
    );
    let shown = info.to_string();
    assert!(!shown.contains("hunter2") && !shown.contains("pw-in-url"));
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_from_the_binary_with_a_strict_policy() {
    let app = TestApp::new(watched(config(Profile::DEV, ""))).await;
    let page = app.get("/_cortex").send().await;
    page.assert_status(200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    let html = page.text();
    assert!(html.contains(r#"<body data-base="/_cortex">"#));
    assert!(html.contains(r#"src="/_cortex/assets/dashboard.js""#));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN"
    );
    let script = app.get("/_cortex/assets/dashboard.js").send().await;
    script.assert_status(200);
    assert!(script.text().contains("EventSource"));
    app.get("/_cortex/assets/dashboard.css")
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_token_guards_every_endpoint_and_the_form_signs_in_with_a_cookie() {
    let toml = "[observability.dashboard.access]\ntoken = 'ops-token-0123456789'";
    let app = TestApp::new(watched(config(Profile::DEV, toml))).await;
    for path in [
        "/_cortex/api/live",
        "/_cortex/api/app",
        "/_cortex/api/stream",
    ] {
        let refused = app.get(path).send().await;
        refused.assert_status(401);
        assert_eq!(refused.header("www-authenticate"), Some("Bearer"), "{path}");
    }
    // The page answers with the sign-in form.
    let form = app.get("/_cortex").send().await;
    form.assert_status(401);
    assert!(form.text().contains(r#"action="/_cortex/login""#));
    // Scripts send the token as a bearer token.
    app.get("/_cortex/api/live")
        .bearer("ops-token-0123456789")
        .send()
        .await
        .assert_status(200);

    let session = app.session();
    let wrong = session
        .post("/_cortex/login")
        .form(&[("token", "guess")])
        .send()
        .await;
    wrong.assert_status(401);
    assert!(wrong.text().contains("not the one configured"));
    assert!(session.cookies().is_empty());

    let signed_in = session
        .post("/_cortex/login")
        .form(&[("token", "ops-token-0123456789")])
        .send()
        .await;
    signed_in.assert_status(303);
    assert_eq!(signed_in.header("location"), Some("/_cortex"));
    let cookie = signed_in.header("set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(cookie.contains("Path=/_cortex"), "{cookie}");
    assert!(
        !cookie.contains("ops-token"),
        "the cookie is not the token: {cookie}"
    );
    session.get("/_cortex").send().await.assert_status(200);
    session
        .get("/_cortex/api/live")
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn the_dashboard_is_off_in_test_and_prod_unless_enabled() {
    for profile in [Profile::TEST, Profile::PROD] {
        let app = TestApp::new(watched(config(profile.clone(), ""))).await;
        app.get("/_cortex").send().await.assert_status(404);
        app.get("/_cortex/api/live").send().await.assert_status(404);
    }
    let app = TestApp::new(watched(config(
        Profile::TEST,
        "[observability.dashboard]\nenabled = true",
    )))
    .await;
    app.get("/_cortex/api/live").send().await.assert_status(200);
    let app = TestApp::new(watched(config(
        Profile::DEV,
        "[observability.dashboard]\nenabled = false",
    )))
    .await;
    app.get("/_cortex").send().await.assert_status(404);
}

#[tokio::test]
async fn enabled_in_prod_without_a_token_the_app_does_not_start() {
    let err = watched(config(
        Profile::PROD,
        "[observability.dashboard]\nenabled = true",
    ))
    .build()
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("plugin `observability` cannot be set up:"),
        "{err}"
    );
    assert!(err.contains("`prod` profile"), "{err}");
    assert!(
        err.contains("`observability.dashboard.access.token` is not set"),
        "{err}"
    );

    // With a token it starts, and wants it.
    let app = TestApp::new(watched(config(
        Profile::PROD,
        "[observability.dashboard]\nenabled = true\n[observability.dashboard.access]\ntoken = 'prod-ops-token-xyz'",
    )))
    .await;
    app.get("/_cortex/api/live").send().await.assert_status(401);
    app.get("/_cortex/api/live")
        .bearer("prod-ops-token-xyz")
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn malformed_settings_are_errors_naming_the_key() {
    for (toml, key) in [
        (
            "[observability.dashboard]\npath = 'ops/'",
            "observability.dashboard.path",
        ),
        (
            "[observability.dashboard]\nrefresh = 'often'",
            "observability.dashboard.refresh",
        ),
        (
            "[observability.dashboard]\nrefresh = '0s'",
            "observability.dashboard.refresh",
        ),
        (
            "[observability.dashboard]\nenable = true",
            "observability.dashboard.enable",
        ),
        (
            "[observability.dashboard.access]\ntoken = ''",
            "observability.dashboard.access.token",
        ),
    ] {
        let err = watched(config(Profile::DEV, toml))
            .build()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{toml}: {err}");
    }
}

#[tokio::test]
async fn the_path_can_be_moved() {
    let app = TestApp::new(watched(config(
        Profile::DEV,
        "[observability.dashboard]\npath = '/ops/dashboard'",
    )))
    .await;
    app.get("/_cortex").send().await.assert_status(404);
    let page = app.get("/ops/dashboard").send().await;
    page.assert_status(200);
    assert!(
        page.text()
            .contains(r#"src="/ops/dashboard/assets/dashboard.js""#)
    );
    app.get("/ops/dashboard/api/live")
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn error_log_events_are_captured_with_secrets_masked() {
    // The layer goes into Cortex's subscriber, which must be installed first (as
    // `#[cortex::main]` does); nextest runs each test in its own process.
    cortex_core::logging::init();
    let app = TestApp::new(watched(config(Profile::DEV, ""))).await;
    app.get("/boom").send().await.assert_status(500);
    let live: Value = app.get("/_cortex/api/live").send().await.json();
    assert_eq!(live["log_errors_captured"], true);
    let logged = live["log_errors"].as_array().unwrap();
    let boom = logged
        .iter()
        .find(|e| e["message"].as_str().unwrap().starts_with("payment failed"))
        .unwrap_or_else(|| panic!("{logged:?}"));
    assert_eq!(
        boom["message"],
        "payment failed: postgres://app:********@db/app refused password=********"
    );
}

/// Reads from `stream` until `done` says the bytes so far are enough, or `limit` passes.
async fn read_until(
    stream: &mut tokio::net::TcpStream,
    limit: Duration,
    done: impl Fn(&str) -> bool,
) -> String {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.expect("read");
            seen.extend_from_slice(&buf[..n]);
            if n == 0 || done(&String::from_utf8_lossy(&seen)) {
                break;
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        read.is_ok(),
        "timed out after {limit:?}; read so far:\n{text}"
    );
    text
}

#[tokio::test]
async fn the_stream_sends_a_snapshot_per_interval_and_ends_when_the_app_drains() {
    let app = TestApp::new(watched(config(
        Profile::DEV,
        "[observability.dashboard]\nrefresh = '100ms'\n[server]\ndrain_timeout = '10s'",
    )))
    .await;
    let running = app.serve().await.expect("serve");
    let addr = running.local_addr();
    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET /_cortex/api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let head_and_two = read_until(&mut client, Duration::from_secs(10), |s| {
        s.matches("event: snapshot").count() >= 2
    })
    .await;
    assert!(
        head_and_two.starts_with("HTTP/1.1 200 OK\r\n"),
        "{head_and_two}"
    );
    let lower = head_and_two.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: text/event-stream"),
        "{head_and_two}"
    );
    assert!(lower.contains("cache-control: no-cache"), "{head_and_two}");
    // Each event is `event: snapshot` then one `data:` line of JSON, then a blank line.
    let event = head_and_two.split("event: snapshot\n").nth(1).unwrap();
    let data = event
        .lines()
        .next()
        .unwrap()
        .strip_prefix("data: ")
        .unwrap();
    let snapshot: Value = serde_json::from_str(data).unwrap();
    assert_eq!(snapshot["refresh_ms"], 100);
    assert!(snapshot["stats"]["overall"]["requests"].is_u64());

    // The drain does not wait for the open stream: it ends it.
    let started = std::time::Instant::now();
    let summary = tokio::time::timeout(Duration::from_secs(5), running.shutdown())
        .await
        .expect("the drain is not held up by the stream")
        .expect("shutdown");
    assert!(started.elapsed() < Duration::from_secs(5));
    let _ = summary;
    let rest = read_until(&mut client, Duration::from_secs(5), |s| {
        s.ends_with("0\r\n\r\n")
    })
    .await;
    assert!(rest.ends_with("0\r\n\r\n") || rest.is_empty(), "{rest}");
}

/// A readiness check that counts its runs.
struct Counted(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl cortex_core::health::HealthCheck for Counted {
    const NAME: &'static str = "counted";
    async fn check(&self) -> cortex_core::health::HealthStatus {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        cortex_core::health::HealthStatus::degraded("one replica of two")
    }
}

#[tokio::test]
async fn health_checks_run_at_most_every_few_seconds_not_per_client() {
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = TestApp::new(
        watched(config(Profile::DEV, ""))
            .provide(cortex_di::Provider::value(Counted(runs.clone())))
            .health_check::<Counted>(),
    )
    .await;
    for _ in 0..5 {
        let live: Value = app.get("/_cortex/api/live").send().await.json();
        assert_eq!(live["health"]["status"], "degraded");
        assert_eq!(live["health"]["checks"][0]["name"], "counted");
        assert_eq!(live["health"]["checks"][0]["reason"], "one replica of two");
    }
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
}
