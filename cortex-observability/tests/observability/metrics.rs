//! Prometheus metrics: the recorder, `/metrics`, and what Cortex records.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use cortex_core::App;
use cortex_core::config::Config;
use cortex_core::routing::Route;
use cortex_core::testing::TestApp;
use cortex_observability::ObservabilityPlugin;
use cortex_observability::metrics::{HttpMetrics, Metrics};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An app with the plugin, `toml` as its configuration and `metrics` (a local registry) in
/// place of the process-wide one.
fn app(toml: &str, metrics: &Metrics) -> App {
    let config = Config::from_toml(toml).expect("the test's configuration parses");
    let metrics = metrics.clone();
    App::with_config(config)
        .plugin(ObservabilityPlugin)
        .container(move |c| {
            c.override_value(metrics);
        })
        .routes([
            Route::get("/users/{id}", "user", || async { "someone" }),
            Route::get("/boom", "boom", || async {
                (StatusCode::INTERNAL_SERVER_ERROR, "broken")
            }),
            Route::post("/echo", "echo", |body: String| async move { body }),
        ])
}

/// The value of the sample `series` (name and labels exactly as rendered) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

/// The series (sample lines) of the metric `name`, any labels.
fn series<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .collect()
}

/// Polls `condition` every 10 ms until it holds, failing after 10 s.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A minimal HTTP/1.1 GET over a fresh connection: the status, the headers and the body.
async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// A port nothing listens on now (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn requests_are_counted_by_route_template_method_and_status_class() {
    let metrics = Metrics::local();
    let app = TestApp::new(app("", &metrics)).await;
    for id in 0..5 {
        app.get(format!("/users/{id}"))
            .send()
            .await
            .assert_status(200);
    }
    for path in ["/nowhere", "/users", "/users/1/posts"] {
        app.get(path).send().await.assert_status(404);
    }
    app.get("/boom").send().await.assert_status(500);
    // TestApp sends no Content-Length of its own; a client on a socket does.
    app.post("/echo")
        .header("content-length", "11")
        .body("hello world")
        .send()
        .await
        .assert_status(200);

    let response = app.get("/metrics").send().await;
    response.assert_status(200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = response.text();
    let count = |labels: &str| {
        sample(
            &text,
            &format!("http_server_request_duration_seconds_count{{{labels}}}"),
        )
    };
    assert_eq!(
        count(r#"method="GET",route="/users/{id}",status_class="2xx""#),
        Some(5.0),
        "{text}"
    );
    assert_eq!(
        count(r#"method="GET",route="unmatched",status_class="4xx""#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        count(r#"method="GET",route="/boom",status_class="5xx""#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        count(r#"method="POST",route="/echo",status_class="2xx""#),
        Some(1.0),
        "{text}"
    );
    // Nothing else: one series per route template, never a raw path.
    assert_eq!(
        series(&text, "http_server_request_duration_seconds_count").len(),
        4,
        "{text}"
    );
    assert!(!text.contains("/users/1\""), "{text}");
    // The latency histogram has the documented buckets, and every request fell in one.
    assert_eq!(
        sample(
            &text,
            r#"http_server_request_duration_seconds_bucket{method="GET",route="/users/{id}",status_class="2xx",le="+Inf"}"#
        ),
        Some(5.0),
        "{text}"
    );
    // Body sizes: the request's Content-Length, the response's known length.
    assert_eq!(
        sample(
            &text,
            r#"http_server_request_body_size_bytes_sum{method="POST",route="/echo"}"#
        ),
        Some(11.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"http_server_response_body_size_bytes_sum{method="GET",route="/users/{id}",status_class="2xx"}"#
        ),
        Some(5.0 * "someone".len() as f64),
        "{text}"
    );
    // The scrape itself is the one request in flight.
    assert_eq!(
        sample(&text, r#"http_server_active_requests{method="GET"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"http_server_active_requests{method="POST"}"#),
        Some(0.0),
        "{text}"
    );
}

#[tokio::test]
async fn cardinality_stays_bounded_under_ten_thousand_distinct_raw_paths() {
    let metrics = Metrics::local();
    let app = TestApp::new(app("", &metrics)).await;
    for n in 0..5_000 {
        app.get(format!("/users/{n}"))
            .send()
            .await
            .assert_status(200);
        app.get(format!("/random/{n}/path"))
            .send()
            .await
            .assert_status(404);
    }
    let text = app.get("/metrics").send().await.text();
    let durations = series(&text, "http_server_request_duration_seconds_count");
    // 10,000 raw paths, two series: the template and `unmatched`.
    assert_eq!(durations.len(), 2, "{durations:?}");
    assert!(durations.contains(
        &r#"http_server_request_duration_seconds_count{method="GET",route="/users/{id}",status_class="2xx"} 5000"#
    ), "{durations:?}");
    // Every series of the output, whatever the metric: a few hundred at most.
    let samples = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count();
    assert!(samples < 200, "{samples} series:\n{text}");
    assert_eq!(
        sample(
            &text,
            r#"http_server_request_duration_seconds_count{method="GET",route="unmatched",status_class="4xx"}"#
        ),
        Some(5000.0)
    );
    // The observer's cache of metric handles is bounded the same way: per route template, not
    // per raw path (and its handles are registered once, not per request).
    let observer = app.container().get::<HttpMetrics>().unwrap();
    assert_eq!(
        observer.route_count(),
        3,
        "/users/{{id}}, unmatched, /metrics"
    );
}

#[tokio::test]
async fn openmetrics_is_served_when_the_accept_header_asks_for_it() {
    let metrics = Metrics::local();
    metrics
        .counter("jobs_run", &[("queue", "mail")])
        .increment(3);
    let app = TestApp::new(app("", &metrics)).await;
    app.get("/users/7").send().await.assert_status(200);

    let response = app
        .get("/metrics")
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        )
        .send()
        .await;
    response.assert_status(200);
    assert_eq!(
        response.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let text = response.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(!text.lines().any(str::is_empty), "no blank lines: {text}");
    assert!(text.contains("# TYPE jobs_run counter\n"), "{text}");
    assert!(
        text.contains("jobs_run_total{queue=\"mail\"} 3\n"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE process_cpu_seconds counter\nprocess_cpu_seconds_total "),
        "{text}"
    );
    assert!(
        text.contains("# TYPE http_server_request_duration_seconds histogram\n"),
        "{text}"
    );

    // Prometheus text when the client prefers it, or says nothing.
    for accept in [
        None,
        Some("text/plain;q=0.9,application/openmetrics-text;q=0.1"),
    ] {
        let mut request = app.get("/metrics");
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await;
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8"),
            "{accept:?}"
        );
        assert!(!response.text().contains("# EOF"));
        assert!(response.text().contains("jobs_run{queue=\"mail\"} 3"));
    }
}

#[tokio::test]
async fn a_token_guards_the_endpoint() {
    let metrics = Metrics::local();
    let toml = "[observability.metrics.access]\ntoken = 'scrape-token-0123456789'";
    let app = TestApp::new(app(toml, &metrics)).await;
    let refused = app.get("/metrics").send().await;
    refused.assert_status(401);
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    assert!(
        !refused.text().contains("http_server"),
        "{}",
        refused.text()
    );
    app.get("/metrics")
        .bearer("wrong-token-0123456789")
        .send()
        .await
        .assert_status(401);
    let allowed = app
        .get("/metrics")
        .bearer("scrape-token-0123456789")
        .send()
        .await;
    allowed.assert_status(200);
    assert!(
        allowed
            .text()
            .contains("http_server_request_duration_seconds")
    );
}

#[tokio::test]
async fn scrapes_collect_process_runtime_and_build_gauges() {
    let metrics = Metrics::local();
    let app = TestApp::new(app("[observability]\nservice_name = 'shop'", &metrics)).await;
    let text = app.get("/metrics").send().await.text();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        sample(
            &text,
            &format!(r#"cortex_build_info{{service="shop",version="{version}",profile="dev"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, "tokio_workers_count").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(sample(&text, "tokio_alive_tasks").is_some(), "{text}");
    assert!(
        sample(&text, "tokio_global_queue_depth").is_some(),
        "{text}"
    );
    if cfg!(target_os = "linux") {
        assert!(
            text.contains("# TYPE process_cpu_seconds_total counter\n"),
            "{text}"
        );
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_virtual_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        ] {
            assert!(
                sample(&text, name).is_some_and(|v| v >= 0.0),
                "{name}: {text}"
            );
        }
        assert!(sample(&text, "process_resident_memory_bytes").unwrap() > 1e6);
    }
}

#[tokio::test]
async fn the_path_http_metrics_and_the_endpoint_can_be_configured() {
    let metrics = Metrics::local();
    let app = TestApp::new(app(
        "[observability.metrics]\npath = '/ops/prometheus'\nhttp = false",
        &metrics,
    ))
    .await;
    app.get("/users/1").send().await.assert_status(200);
    app.get("/metrics").send().await.assert_status(404);
    let response = app.get("/ops/prometheus").send().await;
    response.assert_status(200);
    assert!(
        !response.text().contains("http_server_request"),
        "{}",
        response.text()
    );
    assert!(response.text().contains("cortex_build_info"));

    let metrics = Metrics::local();
    let off = TestApp::new(self::app(
        "[observability.metrics]\nenabled = false",
        &metrics,
    ))
    .await;
    off.get("/users/1").send().await.assert_status(200);
    off.get("/metrics").send().await.assert_status(404);
    // Still recorded, for whatever else reads the registry.
    assert!(metrics.render().contains("route=\"/users/{id}\""));
}

#[tokio::test]
async fn the_endpoint_is_operational_under_deny_by_default() {
    let metrics = Metrics::local();
    let app = TestApp::new(
        App::new()
            .plugin(ObservabilityPlugin)
            .container({
                let metrics = metrics.clone();
                move |c| {
                    c.override_value(metrics);
                }
            })
            .deny_by_default(),
    )
    .await;
    app.get("/metrics").send().await.assert_status(200);
}

#[tokio::test]
async fn config_errors_name_the_key() {
    for (toml, key) in [
        (
            "[observability.metrics]\npth = '/m'",
            "observability.metrics.pth",
        ),
        (
            "[observability.metrics]\nlisten = 'localhost:abc'",
            "observability.metrics.listen",
        ),
        (
            "[observability.metrics]\npath = 'metrics'",
            "observability.metrics.path",
        ),
        (
            "[observability.metrics]\npath = '/m/{id}'",
            "observability.metrics.path",
        ),
        (
            "[observability.metrics.access]\ntokn = 'x'",
            "observability.metrics.access.tokn",
        ),
    ] {
        let error = TestApp::try_new(app(toml, &Metrics::local()))
            .await
            .expect_err(toml)
            .to_string();
        assert!(error.contains(key), "{toml}: {error}");
    }
}

#[tokio::test]
async fn the_admin_port_serves_metrics_and_the_main_port_does_not() {
    let metrics = Metrics::local();
    let port = free_port();
    let toml = format!("[observability.metrics]\nlisten = '127.0.0.1:{port}'");
    let running = TestApp::new(app(&toml, &metrics))
        .await
        .serve()
        .await
        .unwrap();
    let main = running.local_addr();
    let admin = SocketAddr::from(([127, 0, 0, 1], port));

    let (status, _, _) = http_get(main, "/users/3", &[]).await;
    assert_eq!(status, 200);
    let (status, _, _) = http_get(main, "/metrics", &[]).await;
    assert_eq!(status, 404);
    let (status, head, body) = http_get(admin, "/metrics", &[]).await;
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    assert!(
        body.contains(r#"http_server_request_duration_seconds_count{method="GET",route="/users/{id}",status_class="2xx"} 1"#),
        "{body}"
    );
    // The admin server serves nothing else.
    let (status, _, _) = http_get(admin, "/users/3", &[]).await;
    assert_eq!(status, 404);

    // It stops with the app.
    running.shutdown().await.unwrap();
    eventually("the admin port to close", || {
        std::net::TcpStream::connect(admin).is_err()
    })
    .await;
}

#[tokio::test]
async fn the_admin_port_is_guarded_by_the_token_too() {
    let metrics = Metrics::local();
    let port = free_port();
    let toml = format!(
        "[observability.metrics]\nlisten = '127.0.0.1:{port}'\n[observability.metrics.access]\ntoken = 'scrape-token-0123456789'"
    );
    let running = TestApp::new(app(&toml, &metrics))
        .await
        .serve()
        .await
        .unwrap();
    let admin = SocketAddr::from(([127, 0, 0, 1], port));
    let (status, _, _) = http_get(admin, "/metrics", &[]).await;
    assert_eq!(status, 401);
    let (status, _, _) = http_get(
        admin,
        "/metrics",
        &[("authorization", "Bearer scrape-token-0123456789")],
    )
    .await;
    assert_eq!(status, 200);
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_admin_port_in_use_fails_the_start_naming_the_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let toml = format!("[observability.metrics]\nlisten = '127.0.0.1:{port}'");
    let error = TestApp::try_new(app(&toml, &Metrics::local()))
        .await
        .expect_err("the port is taken")
        .to_string();
    assert!(error.contains("observability.metrics.listen"), "{error}");
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
}

#[tokio::test]
async fn the_in_flight_gauge_returns_to_zero_after_requests_and_disconnects() {
    let metrics = Metrics::local();
    let started = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let app = {
        let (started, release) = (started.clone(), release.clone());
        app("", &metrics).route(Route::get("/slow", "slow", move || {
            let (started, release) = (started.clone(), release.clone());
            async move {
                started.notify_one();
                // Each release lets one request finish.
                release.acquire().await.expect("never closed").forget();
                "done"
            }
        }))
    };
    let running = TestApp::new(app).await.serve().await.unwrap();
    let addr = running.local_addr();
    let in_flight = |metrics: &Metrics| {
        sample(
            &metrics.render(),
            r#"http_server_active_requests{method="GET"}"#,
        )
    };

    // A request that completes.
    let request = tokio::spawn(async move { http_get(addr, "/slow", &[]).await });
    started.notified().await;
    assert_eq!(in_flight(&metrics), Some(1.0));
    release.add_permits(1);
    assert_eq!(request.await.unwrap().0, 200);
    eventually("the gauge to return to 0", || {
        in_flight(&metrics) == Some(0.0)
    })
    .await;

    // A client that goes away mid-request.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    started.notified().await;
    assert_eq!(in_flight(&metrics), Some(1.0));
    drop(stream);
    eventually("the gauge to return to 0 after the disconnect", || {
        in_flight(&metrics) == Some(0.0)
    })
    .await;
    running.shutdown().await.unwrap();
}

/// The process-wide registry: business metrics from user code and the server's connection
/// metrics land in it and `/metrics` serves them. (Each test has a process of its own under
/// nextest; under `cargo test` the other tests use local registries, so the values here are
/// this test's own.)
#[tokio::test]
async fn business_and_server_metrics_are_served_from_the_global_registry() {
    let app = App::new().plugin(ObservabilityPlugin).route(Route::post(
        "/orders",
        "place_order",
        || async {
            cortex_observability::facade::counter!("shop_orders_placed_total", "channel" => "web")
                .increment(1);
            cortex_observability::facade::histogram!("shop_order_value_euros").record(42.5);
            StatusCode::CREATED
        },
    ));
    let running = TestApp::new(app).await.serve().await.unwrap();
    let addr = running.local_addr();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /orders HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    }
    let (status, _, text) = http_get(addr, "/metrics", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        sample(&text, r#"shop_orders_placed_total{channel="web"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "shop_order_value_euros_count"),
        Some(3.0),
        "{text}"
    );
    // Four connections so far, the scrape's still open.
    assert!(
        sample(&text, "http_server_connections_accepted_total").is_some_and(|n| n >= 4.0),
        "{text}"
    );
    assert!(
        sample(&text, "http_server_open_connections").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    running.shutdown().await.unwrap();
    let text = Metrics::global().render();
    assert!(
        sample(
            &text,
            r#"http_server_drain_connections_total{outcome="closed"}"#
        )
        .is_some(),
        "{text}"
    );
    assert!(
        sample(
            &text,
            r#"http_server_drain_connections_total{outcome="aborted"}"#
        ) == Some(0.0),
        "{text}"
    );
}

/// Runs the test `name` of this binary in a process of its own (its global recorder is not the
/// other tests'), whatever the runner; true in that process.
fn in_own_process(name: &str) -> bool {
    const CHILD: &str = "CORTEX_OBSERVABILITY_TEST_CHILD";
    if std::env::var(CHILD).as_deref() == Ok(name) {
        return true;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{name} in its own process:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    false
}

#[tokio::test]
async fn another_global_recorder_does_not_stop_the_app() {
    if !in_own_process("metrics::another_global_recorder_does_not_stop_the_app") {
        return;
    }
    // Someone else's recorder, installed first.
    cortex_observability::facade::set_global_recorder(cortex_observability::facade::NoopRecorder)
        .expect("the first recorder of this process");
    let app = TestApp::new(App::new().plugin(ObservabilityPlugin).route(Route::get(
        "/work",
        "work",
        || async {
            cortex_observability::facade::counter!("work_done_total").increment(1);
            "done"
        },
    )))
    .await;
    assert!(!Metrics::global().is_global());
    app.get("/work").send().await.assert_status(200);
    let response = app.get("/metrics").send().await;
    response.assert_status(200);
    let text = response.text();
    // What Cortex records directly is served; the macros went to the other recorder.
    assert!(
        text.contains(r#"http_server_request_duration_seconds_count{method="GET",route="/work",status_class="2xx"} 1"#),
        "{text}"
    );
    assert!(text.contains("cortex_build_info"), "{text}");
    assert!(!text.contains("work_done_total"), "{text}");
}

#[tokio::test]
async fn failed_tls_handshakes_are_counted_as_rejected_connections() {
    if !in_own_process("metrics::failed_tls_handshakes_are_counted_as_rejected_connections") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("cortex-metrics-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let toml = format!(
        "[server]\ntls = {{ cert = '{}', key = '{}' }}",
        cert.display(),
        key.display()
    );
    let config = Config::from_toml(&toml).unwrap();
    let running = TestApp::new(App::with_config(config).plugin(ObservabilityPlugin))
        .await
        .serve()
        .await
        .unwrap();
    // Plain HTTP to the TLS port: the handshake fails.
    let mut stream = TcpStream::connect(running.local_addr()).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // Closed (or reset) without an HTTP answer.
    let _ = stream.read_to_end(&mut answer).await;
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
    let rejected = r#"http_server_connections_rejected_total{reason="tls"}"#;
    eventually("the rejection to be counted", || {
        sample(&Metrics::global().render(), rejected) == Some(1.0)
    })
    .await;
    let text = Metrics::global().render();
    assert_eq!(
        sample(&text, "http_server_connections_accepted_total"),
        Some(1.0),
        "{text}"
    );
    running.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_global_registry_is_installed_at_build_even_without_http_metrics() {
    if !in_own_process(
        "metrics::the_global_registry_is_installed_at_build_even_without_http_metrics",
    ) {
        return;
    }
    let config = Config::from_toml("[observability.metrics]\nhttp = false").unwrap();
    let running = TestApp::new(App::with_config(config).plugin(ObservabilityPlugin))
        .await
        .serve()
        .await
        .unwrap();
    // The server registered its metrics when it started: with the recorder already installed.
    let (status, _, text) = http_get(running.local_addr(), "/metrics", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        sample(&text, "http_server_connections_accepted_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "http_server_open_connections"),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("http_server_request_duration"), "{text}");
    running.shutdown().await.unwrap();
}

/// A readiness check the test turns down.
struct Switch;

static SWITCH_UP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

impl cortex_core::health::HealthCheck for Switch {
    const NAME: &'static str = "switch";
    async fn check(&self) -> cortex_core::health::HealthStatus {
        if SWITCH_UP.load(std::sync::atomic::Ordering::SeqCst) {
            cortex_core::health::HealthStatus::Healthy
        } else {
            cortex_core::health::HealthStatus::unhealthy("switched off")
        }
    }
}

/// `cortex_health_check_status` follows the last readiness probe: 1 while the check is up, 0
/// once it is down. Recorded by core into the process-wide registry (its own process).
#[tokio::test]
async fn health_checks_are_gauges_as_of_the_last_readiness_probe() {
    if !in_own_process("metrics::health_checks_are_gauges_as_of_the_last_readiness_probe") {
        return;
    }
    let app = App::new()
        .plugin(ObservabilityPlugin)
        .provide(cortex_di::Provider::value(Switch))
        .health_check::<Switch>();
    let running = TestApp::new(app).await.serve().await.unwrap();
    let addr = running.local_addr();
    let series = r#"cortex_health_check_status{check="switch",kind="ready"}"#;

    let (status, _, _) = http_get(addr, "/health/ready", &[]).await;
    assert_eq!(status, 200);
    let (_, _, text) = http_get(addr, "/metrics", &[]).await;
    assert_eq!(sample(&text, series), Some(1.0), "{text}");

    SWITCH_UP.store(false, std::sync::atomic::Ordering::SeqCst);
    let (status, _, _) = http_get(addr, "/health/ready", &[]).await;
    assert_eq!(status, 503);
    let (_, _, text) = http_get(addr, "/metrics", &[]).await;
    assert_eq!(sample(&text, series), Some(0.0), "{text}");
    running.shutdown().await.unwrap();
}
