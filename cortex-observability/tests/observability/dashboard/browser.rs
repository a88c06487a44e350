//! The dashboard in a real headless Chromium (Debian's `chromium` package), driven by
//! `playwright-core` from the test kit in `cortex-observability/tests/browser/` (installed by
//! `scripts/browser`): sign in, panels render, numbers move after scripted requests, and a
//! screenshot is kept under `target/test-artifacts/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use cortex_core::config::Profile;
use cortex_core::testing::TestApp;
use serde_json::Value;

use super::{config, watched};

const TOKEN: &str = "browser-test-token-5f1c2a";

/// A readiness check for the health panel.
struct Database;

impl cortex_core::health::HealthCheck for Database {
    const NAME: &'static str = "database";
    async fn check(&self) -> cortex_core::health::HealthStatus {
        cortex_core::health::HealthStatus::Healthy
    }
}

fn kit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Chromium, node and the kit's packages, or a message saying what is missing and how to get it.
fn prerequisites() -> Result<(), String> {
    let chromium =
        std::env::var("CORTEX_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    let mut missing = Vec::new();
    if !Path::new(&chromium).exists() {
        missing.push(format!(
            "Chromium at {chromium} (Debian's `chromium` package)"
        ));
    }
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !node {
        missing.push("node (Node.js 18 or later) on the PATH".to_string());
    }
    if !kit()
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        missing.push(format!(
            "the test kit's packages ({}/node_modules)",
            kit().display()
        ));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the dashboard's browser test cannot run: missing {}; hint: run `bash scripts/browser` (it installs them)",
            missing.join(", ")
        ))
    }
}

/// `target/test-artifacts/`, next to the workspace's target directory.
fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("target/test-artifacts");
    dir.canonicalize().unwrap_or(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_renders_in_chromium_and_its_numbers_move() {
    if let Err(message) = prerequisites() {
        panic!("{message}");
    }
    // Errors logged by handlers reach the page through Cortex's subscriber.
    cortex_core::logging::init();
    let toml = format!(
        "[observability]\nservice_name = 'browser-shop'\n[database]\npassword = 'hunter2'\n[observability.dashboard]\nrefresh = '250ms'\n[observability.dashboard.access]\ntoken = '{TOKEN}'"
    );
    let app = watched(config(Profile::DEV, &toml))
        .provide(cortex_di::Provider::value(Database))
        .health_check::<Database>();
    let running = TestApp::new(app).await.serve().await.expect("serve");
    let base = format!("http://{}", running.local_addr());
    let screenshot = artifacts().join("dashboard.png");

    let child = tokio::process::Command::new("node")
        .arg(kit().join("dashboard.mjs"))
        .args([base.as_str(), TOKEN])
        .arg(&screenshot)
        .current_dir(kit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the browser script finishes within 2 minutes")
        .expect("node ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("screenshot: {}", screenshot.display());
    assert!(
        output.status.success(),
        "the browser script failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));

    assert_eq!(seen["statuses"].as_array().unwrap().len(), 25);
    assert!(
        seen["total"].as_u64().unwrap() >= seen["before"].as_u64().unwrap() + 25,
        "{seen:#}"
    );
    let routes = seen["routeStats"].to_string();
    for route in ["GET /users/{id}", "GET /slow", "GET /boom", "(no route)"] {
        assert!(routes.contains(route), "{route} in {routes}");
    }
    assert!(seen["serverErrors"].as_u64().unwrap() >= 1);
    assert!(
        seen["bars"].as_u64().unwrap() >= 1,
        "the traffic chart has bars"
    );
    assert!(seen["routeTable"].as_u64().unwrap() > 3);
    assert!(seen["plugins"].to_string().contains("observability"));
    assert!(seen["providers"].as_u64().unwrap() >= 1);
    assert!(seen["mermaid"].as_str().unwrap().starts_with("flowchart"));
    let config = seen["config"].as_str().unwrap();
    assert!(config.contains("********") && !config.contains("hunter2") && !config.contains(TOKEN));
    assert_eq!(seen["health"], "health up");
    assert_eq!(seen["connection"], "live");
    assert!(
        seen["logErrors"]
            .to_string()
            .contains("postgres://app:********@db/app"),
        "{seen:#}"
    );
    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{}",
        png.len()
    );

    tokio::time::timeout(Duration::from_secs(10), running.shutdown())
        .await
        .expect("drained")
        .expect("shutdown");
}
