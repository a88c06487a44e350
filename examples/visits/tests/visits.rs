//! The visits plugin in an app: configuration, the provider, the observer, the route, the health
//! check and the reporter task, through `TestApp` (the app in-process, as it serves).
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use cortex::config::Config;
use cortex::prelude::*;
use cortex::routing::RouteOrigin;
use cortex::testing::TestApp;
use cortex_visits::{RouteVisits, Visits, VisitsConfig, VisitsPlugin, VisitsReport};
use serde_json::Value;

#[controller("/users")]
struct Users;

#[routes]
impl Users {
    #[get("/{id}")]
    async fn show(&self, Path(id): Path<u32>) -> String {
        format!("user {id}")
    }
}

fn app(toml: &str) -> App {
    let config = Config::from_toml(toml).expect("the test's configuration parses");
    App::with_config(config)
        .controller::<Users>()
        .plugin(VisitsPlugin)
}

/// The `visits` check in a readiness report, if it is there.
fn visits_check(ready: &Value) -> Option<&Value> {
    ready["checks"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == "visits")
}

/// Waits up to five seconds for `done`.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        cortex::tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn counts_responses_by_route_template_and_serves_them() {
    let app = TestApp::new(app("")).await;
    app.get("/users/1").await.assert_status(200);
    app.get("/users/2").await.assert_status(200);
    app.get("/nowhere").await.assert_status(404);

    let report: VisitsReport = app.get("/visits").await.assert_status(200).json();
    // The request for the report is counted once its response is sent: not in it.
    assert_eq!(report.total, 3);
    assert_eq!(
        report.routes,
        [
            RouteVisits {
                route: "GET /users/{id}".into(),
                count: 2
            },
            RouteVisits {
                route: "unmatched".into(),
                count: 1
            },
        ]
    );
    // The app's own code sees the same counts.
    let visits: Inject<Visits> = app.container().get().unwrap();
    assert_eq!(visits.report().total, 4);
    app.shutdown().await;
}

#[tokio::test]
async fn the_section_moves_the_route_and_limits_the_report() {
    let app = TestApp::new(app("[visits]\npath = \"/stats\"\ntop = 1")).await;
    for id in 1..=3 {
        app.get(format!("/users/{id}")).await.assert_status(200);
    }
    app.get("/visits").await.assert_status(404);
    let report: VisitsReport = app.get("/stats").await.json();
    assert_eq!(report.routes.len(), 1);
    assert_eq!(report.routes[0].route, "GET /users/{id}");

    let route = app
        .application()
        .routes()
        .iter()
        .find(|r| r.path == "/stats")
        .expect("the plugin's route is in the route table");
    assert_eq!(route.origin, RouteOrigin::Plugin);
    let spec: Value = serde_json::from_slice(app.application().openapi().unwrap().json()).unwrap();
    let op = &spec["paths"]["/stats"]["get"];
    assert_eq!(op["summary"], "Responses sent, by route");
    assert!(
        op["responses"]["200"]["content"]["application/json"].is_object(),
        "{op}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_bad_section_fails_the_start_naming_the_key() {
    let err = TestApp::try_new(app("[visits]\nreport_every = \"soon\""))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("visits"), "{message}");
    assert!(message.contains("report_every"), "{message}");

    let err = TestApp::try_new(app("[visits]\npaht = \"/x\""))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("paht"), "{err}");
}

#[tokio::test]
async fn the_defaults_need_no_section() {
    assert_eq!(
        VisitsConfig::default(),
        VisitsConfig {
            path: "/visits".into(),
            report_every: Duration::from_secs(60),
            top: 5
        }
    );
}

// ANCHOR: reporter_test
#[tokio::test]
async fn the_reporter_reports_on_time_and_once_more_on_shutdown() {
    let app = TestApp::new(app("[visits]\nreport_every = \"20ms\"")).await;
    let visits: Inject<Visits> = app.container().get().unwrap();
    until("two periodic reports", || visits.reports() >= 2).await;
    assert!(!visits.reported_on_shutdown());

    let ready: Value = app.get("/health/ready").await.assert_status(200).json();
    assert_eq!(visits_check(&ready).unwrap()["status"], "up", "{ready}");

    app.shutdown().await;
    // The drain waited for the tracked reporter, which reported once more.
    assert!(visits.reported_on_shutdown());
}
// ANCHOR_END: reporter_test

#[tokio::test]
async fn a_stopped_reporter_degrades_the_health_check() {
    let app = TestApp::new(app("[visits]\nreport_every = \"10ms\"")).await;
    let visits: Inject<Visits> = app.container().get().unwrap();
    // Stop the reporter the way the drain does, while the app still answers.
    app.application().shutdown_signal().trip();
    until("the last report", || visits.reported_on_shutdown()).await;
    // Three periods without a report: degraded, and still ready.
    let deadline = Instant::now() + Duration::from_secs(5);
    let ready = loop {
        let ready: Value = app.get("/health/ready").await.assert_status(200).json();
        if visits_check(&ready).unwrap()["status"] == "degraded" {
            break ready;
        }
        assert_eq!(visits_check(&ready).unwrap()["status"], "up", "{ready}");
        assert!(Instant::now() < deadline, "never degraded: {ready}");
        cortex::tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(
        visits_check(&ready).unwrap()["reason"],
        "the visits reporter has fallen behind"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn disabling_the_plugin_removes_all_of_it() {
    let app = TestApp::new(app("[plugins]\ndisable = [\"visits\"]")).await;
    app.get("/users/1").await.assert_status(200);
    app.get("/visits").await.assert_status(404);
    assert!(app.container().get::<Visits>().is_err());
    let ready: Value = app.get("/health/ready").await.json();
    assert!(visits_check(&ready).is_none(), "{ready}");
    let plugin = app
        .application()
        .plugins()
        .iter()
        .find(|p| p.name == "visits")
        .unwrap();
    assert_eq!(plugin.order, None);
    app.shutdown().await;
}

/// With the `discover` feature (on in the workspace's test run), linking the crate is enough.
#[cfg(feature = "discover")]
#[tokio::test]
async fn the_discover_feature_applies_the_plugin_when_linked() {
    let config = Config::from_toml("").unwrap();
    let app = TestApp::new(App::with_config(config).discover()).await;
    let plugin = app
        .application()
        .plugins()
        .iter()
        .find(|p| p.name == "visits")
        .unwrap();
    assert_eq!(plugin.origin, "discovered");
    app.get("/users/7").await.assert_status(200);
    let report: VisitsReport = app.get("/visits").await.assert_status(200).json();
    assert_eq!(report.routes[0].route, "GET /users/{id}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_first_report_waits_a_period_and_a_reporter_on_time_is_healthy() {
    let app = TestApp::new(app("[visits]\nreport_every = \"1s\"")).await;
    let visits: Inject<Visits> = app.container().get().unwrap();
    // A third of a period and more: no report yet, and not behind (three periods allowed).
    cortex::tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        visits.reports(),
        0,
        "the first report comes after one period"
    );
    let ready: Value = app.get("/health/ready").await.assert_status(200).json();
    assert_eq!(visits_check(&ready).unwrap()["status"], "up", "{ready}");
    app.shutdown().await;
    assert_eq!(visits.reports(), 1, "the last report, on shutdown");
}
