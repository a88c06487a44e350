//! `cortex-visits`: the worked example of the guide's "Writing a plugin" chapter
//! (`docs/src/plugins.md`), built and tested with the workspace.
//!
//! A plugin that counts the requests an app serves, by route, and shows the counts. It has every
//! part a capability's crate has:
//!
//! | part | here |
//! | --- | --- |
//! | a manifest | [`VisitsPlugin::manifest`]: name, version, the `[visits]` section it owns |
//! | configuration | [`VisitsConfig`], read from `[visits]`; an invalid value fails the start |
//! | a provider | [`Visits`], a singleton the app's own code can inject |
//! | a request observer | [`Visits`] counts each response by method and route template |
//! | a route | `GET /visits` (`[visits] path`), the counts as JSON, in the route table and OpenAPI |
//! | a health check | `visits`: degraded when the reporter has fallen behind |
//! | a background task | the reporter: logs the busiest routes every `report_every`, and once more when the app drains |
//!
//! ```toml
//! [visits]
//! path = "/visits"        # where the counts are served
//! report_every = "1m"     # how often the reporter logs them
//! top = 5                 # how many routes a report names
//! ```
//!
//! An app adds it with `App::plugin(VisitsPlugin)`, or links the crate with its `discover`
//! feature and lets `App::discover()` find it; `[plugins] disable = ["visits"]` turns it off.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cortex::config::units;
use cortex::http::observe::{ObservedRequest, ObservedResponse, RequestObserver, request_observer};
use cortex::plugin::PluginManifest;
use cortex::prelude::*;
use cortex::routing::Route;
use serde::{Deserialize, Serialize};

// ANCHOR: config
/// The `[visits]` section. Every key has a default, so an app needs no section at all; a key the
/// plugin does not know, or a value it cannot read, fails the start with the key's name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VisitsConfig {
    /// Where the counts are served (`GET`).
    pub path: String,
    /// How often the reporter logs the busiest routes (`"30s"`, `"5m"`).
    #[serde(deserialize_with = "units::de::duration")]
    pub report_every: Duration,
    /// How many routes a report names.
    pub top: usize,
}

impl Default for VisitsConfig {
    fn default() -> Self {
        VisitsConfig {
            path: "/visits".to_string(),
            report_every: Duration::from_secs(60),
            top: 5,
        }
    }
}
// ANCHOR_END: config

// ANCHOR: provider
/// The counts, by method and route template: a singleton the plugin registers, which the app's
/// own services can inject too (`Inject<Visits>`).
///
/// Kept out of `discover()` (`discover = false`): the plugin registers it, so that an app that
/// links this crate but disables the plugin gets none of it.
#[injectable(discover = false)]
pub struct Visits {
    config: Inject<VisitsConfig>,
    shutdown: Inject<ShutdownSignal>,
    #[inject(default)]
    counts: Arc<Counts>,
}

/// What the observer writes and the route and the reporter read, shared with the reporter task.
#[derive(Default)]
struct Counts {
    by_route: Mutex<BTreeMap<String, u64>>,
    total: AtomicU64,
    /// Reports made so far.
    reports: AtomicU64,
    /// When the reporter last reported (or started), for the health check.
    last_report: Mutex<Option<Instant>>,
    /// Whether the reporter made its report for the drain.
    final_report: std::sync::atomic::AtomicBool,
}

/// What `GET /visits` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VisitsReport {
    /// Every response the app has sent since it started.
    pub total: u64,
    /// The busiest routes first (`GET /users/{id}`), at most `[visits] top` of them; requests
    /// that matched no route are counted as `unmatched`.
    pub routes: Vec<RouteVisits>,
}

/// One route's count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RouteVisits {
    /// The method and route template.
    pub route: String,
    /// Responses sent for it.
    pub count: u64,
}

impl Visits {
    /// The busiest routes, at most `[visits] top` of them.
    pub fn report(&self) -> VisitsReport {
        self.counts.report(self.config.top)
    }

    /// How many reports the reporter has logged.
    pub fn reports(&self) -> u64 {
        self.counts.reports.load(Ordering::Acquire)
    }

    /// Whether the reporter logged its last report when the app drained.
    pub fn reported_on_shutdown(&self) -> bool {
        self.counts.final_report.load(Ordering::Acquire)
    }
}

impl Counts {
    fn record(&self, route: String) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut by_route = self.by_route.lock().unwrap_or_else(PoisonError::into_inner);
        *by_route.entry(route).or_default() += 1;
    }

    fn report(&self, top: usize) -> VisitsReport {
        let by_route = self.by_route.lock().unwrap_or_else(PoisonError::into_inner);
        let mut routes: Vec<RouteVisits> = by_route
            .iter()
            .map(|(route, &count)| RouteVisits {
                route: route.clone(),
                count,
            })
            .collect();
        drop(by_route);
        // Busiest first; ties in route order, so that a report is stable.
        routes.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.route.cmp(&b.route)));
        routes.truncate(top);
        VisitsReport {
            total: self.total.load(Ordering::Relaxed),
            routes,
        }
    }

    fn log_report(&self, top: usize, last: bool) {
        let report = self.report(top);
        let busiest: Vec<String> = report
            .routes
            .iter()
            .map(|r| format!("{} ({})", r.route, r.count))
            .collect();
        cortex::tracing::info!(target: "visits", total = report.total, last, "busiest routes: {}", busiest.join(", "));
        *self
            .last_report
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        self.reports.fetch_add(1, Ordering::AcqRel);
        if last {
            self.final_report.store(true, Ordering::Release);
        }
    }
}
// ANCHOR_END: provider

// ANCHOR: observer
/// Counts every response by method and route template (never the raw path: `/users/{id}`, not
/// `/users/7`, so that the counts stay bounded).
impl RequestObserver for Visits {
    type State = ();

    fn on_request(&self, _request: &ObservedRequest<'_>) {}

    fn on_response(&self, _: (), response: &ObservedResponse<'_>) {
        let route = match response.route() {
            Some(template) => format!("{} {template}", response.method()),
            None => "unmatched".to_string(),
        };
        self.counts.record(route);
    }
}
// ANCHOR_END: observer

// ANCHOR: health
/// `visits` in `/health/ready`: degraded (still ready) when the reporter has not reported for
/// three periods, which means its task has stopped.
impl HealthCheck for Visits {
    const NAME: &'static str = "visits";

    async fn check(&self) -> HealthStatus {
        let last = *self
            .counts
            .last_report
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match last {
            Some(at) if at.elapsed() > self.config.report_every * 3 => {
                HealthStatus::degraded("the visits reporter has fallen behind")
            }
            // Reporting on time, or not started yet (the app is not serving yet either).
            _ => HealthStatus::Healthy,
        }
    }
}
// ANCHOR_END: health

// ANCHOR: task
/// Starts the reporter once the app is serving: a task the drain waits for
/// ([`ShutdownSignal::spawn_tracked`]), which logs a report every `report_every` and a last one
/// when the drain starts.
impl OnReady for Visits {
    async fn on_ready(&self) -> Result<(), BoxError> {
        let counts = self.counts.clone();
        let every = self.config.report_every;
        let top = self.config.top;
        let shutdown = (*self.shutdown).clone();
        *counts
            .last_report
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        self.shutdown.spawn_tracked("visits reporter", async move {
            let mut ticks = cortex::tokio::time::interval_at(
                cortex::tokio::time::Instant::now() + every,
                every,
            );
            loop {
                cortex::tokio::select! {
                    _ = ticks.tick() => counts.log_report(top, false),
                    () = shutdown.tripped() => {
                        counts.log_report(top, true);
                        return;
                    }
                }
            }
        });
        Ok(())
    }
}
// ANCHOR_END: task

// ANCHOR: plugin
/// The plugin: `App::new().plugin(VisitsPlugin)`.
#[derive(Debug, Default, Clone, Copy)]
pub struct VisitsPlugin;

impl Plugin for VisitsPlugin {
    fn manifest(&self) -> PluginManifest {
        PluginManifest::new("visits", env!("CARGO_PKG_VERSION")).config_section("visits")
    }

    fn build(&self, app: App) -> App {
        // The section is read now, because the route's path comes from it; a bad value is
        // reported when the app is built, with the other start-up problems.
        let config: VisitsConfig = match app.config().get_or_default("visits") {
            Ok(config) => config,
            Err(error) => return app.fail(error),
        };
        let route = Route::get(&config.path, "visits::report", report)
            .with_dependency(Dependency::on::<Visits>())
            .with_summary("Responses sent, by route")
            .describe(|op| {
                let schema = op.schema_for::<VisitsReport>();
                op.content_response(
                    "200",
                    "The busiest routes",
                    "application/json",
                    Some(schema),
                );
            });
        app.provide(Provider::value(config))
            .register::<Visits>()
            .provide(request_observer::<Visits>())
            .route(route)
    }
}

/// `GET /visits`.
async fn report(visits: Inject<Visits>) -> Json<VisitsReport> {
    Json(visits.report())
}
// ANCHOR_END: plugin

// ANCHOR: discover
// With the `discover` feature, linking the crate is enough: `App::discover()` applies the plugin.
#[cfg(feature = "discover")]
cortex::plugin::submit!(VisitsPlugin);
// ANCHOR_END: discover
