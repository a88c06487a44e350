//! The dashboard's request statistics: a sliding window of one-second buckets per route, each
//! with a fixed-bucket latency histogram, and a ring of the last server errors — bounded memory,
//! independent of the Prometheus recorder.
//!
//! Time is passed in (`record_at`, `snapshot_at`, in whole seconds since the stats were made) so
//! the window's arithmetic is exact in tests; the [`RequestObserver`] reads the clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cortex_core::http::observe::{ObservedRequest, ObservedResponse, RequestObserver};
use serde::Serialize;

/// How many one-second buckets the window keeps.
pub(crate) const WINDOW_SECS: usize = 60;

/// The latency histogram's upper bounds, in microseconds (about 1.5x apart, so that a
/// percentile interpolated inside a bucket is off by at most a third of it); one more bucket
/// counts the rest.
pub(crate) const BOUNDS_US: [u64; 27] = [
    250, 500, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 50_000, 75_000,
    100_000, 150_000, 200_000, 300_000, 500_000, 750_000, 1_000_000, 1_500_000, 2_000_000,
    3_000_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000,
];
const BUCKETS: usize = BOUNDS_US.len() + 1;

/// At most this many routes get a row of their own; the rest are counted under [`OTHER`].
pub(crate) const MAX_ROUTES: usize = 200;
/// The row of requests that matched no route (404s from the fallback).
pub(crate) const UNMATCHED: &str = "(no route)";
/// The row of routes beyond [`MAX_ROUTES`].
pub(crate) const OTHER: &str = "(other routes)";
/// How many recent server errors are kept.
pub(crate) const RECENT_ERRORS: usize = 50;

/// One second of one route.
#[derive(Clone, Copy)]
struct Second {
    /// Which second this is (since the stats were made); a stale one counts as empty.
    at: u64,
    requests: u32,
    errors: u32,
    latency: [u32; BUCKETS],
    /// The fastest and slowest request, in microseconds: a percentile is kept between them.
    min_us: u64,
    max_us: u64,
}

impl Second {
    const EMPTY: Second = Second {
        at: u64::MAX,
        requests: 0,
        errors: 0,
        latency: [0; BUCKETS],
        min_us: u64::MAX,
        max_us: 0,
    };
}

/// A route's window: [`WINDOW_SECS`] seconds, indexed by the second modulo the window.
struct Window {
    seconds: Box<[Second; WINDOW_SECS]>,
}

impl Window {
    fn new() -> Self {
        Window {
            seconds: Box::new([Second::EMPTY; WINDOW_SECS]),
        }
    }

    fn record(&mut self, now: u64, latency: Duration, error: bool) {
        let slot = &mut self.seconds[(now % WINDOW_SECS as u64) as usize];
        if slot.at != now {
            *slot = Second {
                at: now,
                ..Second::EMPTY
            };
        }
        slot.requests = slot.requests.saturating_add(1);
        slot.errors = slot.errors.saturating_add(u32::from(error));
        let us = micros(latency);
        let bucket = bucket_of(latency);
        slot.latency[bucket] = slot.latency[bucket].saturating_add(1);
        slot.min_us = slot.min_us.min(us);
        slot.max_us = slot.max_us.max(us);
    }

    /// The seconds of the window ending at `now` (included), oldest first.
    fn live(&self, now: u64) -> impl Iterator<Item = (u64, &Second)> {
        let first = now.saturating_sub(WINDOW_SECS as u64 - 1);
        (first..=now).map(move |at| {
            let slot = &self.seconds[(at % WINDOW_SECS as u64) as usize];
            (at, slot)
        })
    }

    fn sum(&self, now: u64) -> Totals {
        let mut totals = Totals::default();
        for (at, second) in self.live(now) {
            if second.at == at {
                totals.add(second);
            }
        }
        totals
    }
}

/// What a window adds up to.
#[derive(Clone, Copy)]
struct Totals {
    requests: u64,
    errors: u64,
    latency: [u64; BUCKETS],
    min_us: u64,
    max_us: u64,
}

impl Default for Totals {
    fn default() -> Self {
        Totals {
            requests: 0,
            errors: 0,
            latency: [0; BUCKETS],
            min_us: u64::MAX,
            max_us: 0,
        }
    }
}

impl Totals {
    fn add(&mut self, second: &Second) {
        self.requests += u64::from(second.requests);
        self.errors += u64::from(second.errors);
        for (total, n) in self.latency.iter_mut().zip(second.latency) {
            *total += u64::from(n);
        }
        self.min_us = self.min_us.min(second.min_us);
        self.max_us = self.max_us.max(second.max_us);
    }

    fn merge(&mut self, other: &Totals) {
        self.requests += other.requests;
        self.errors += other.errors;
        for (total, n) in self.latency.iter_mut().zip(other.latency) {
            *total += n;
        }
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
    }

    /// The `q` quantile in milliseconds, interpolated in its bucket and kept between the
    /// fastest and the slowest request seen (a bucket's width is no error when every request
    /// in it took the same time).
    fn quantile(&self, q: f64) -> Option<f64> {
        let estimate = percentile(&self.latency, q)?;
        let (min, max) = (self.min_us as f64 / 1000.0, self.max_us as f64 / 1000.0);
        Some(if min <= max {
            estimate.clamp(min, max)
        } else {
            estimate
        })
    }

    fn summary(&self, route: String, secs: u64) -> RouteStats {
        RouteStats {
            route,
            requests: self.requests,
            rate: self.requests as f64 / secs.max(1) as f64,
            error_rate: if self.requests == 0 {
                0.0
            } else {
                self.errors as f64 / self.requests as f64
            },
            errors: self.errors,
            p50_ms: self.quantile(0.50),
            p95_ms: self.quantile(0.95),
            p99_ms: self.quantile(0.99),
        }
    }
}

fn micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)
}

/// The histogram bucket of `latency`.
fn bucket_of(latency: Duration) -> usize {
    let us = micros(latency);
    BOUNDS_US.partition_point(|&bound| bound < us)
}

/// The `q` quantile of a histogram, in milliseconds, interpolated linearly inside its bucket
/// (the last, unbounded bucket reports its lower bound); `None` when it is empty.
pub(crate) fn percentile(histogram: &[u64; BUCKETS], q: f64) -> Option<f64> {
    let count: u64 = histogram.iter().sum();
    if count == 0 {
        return None;
    }
    // The rank of the observation sought, 1-based.
    let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
    let mut seen = 0;
    for (i, &n) in histogram.iter().enumerate() {
        if n == 0 || seen + n < rank {
            seen += n;
            continue;
        }
        let lower = if i == 0 { 0 } else { BOUNDS_US[i - 1] };
        let Some(&upper) = BOUNDS_US.get(i) else {
            return Some(lower as f64 / 1000.0);
        };
        let within = (rank - seen) as f64 / n as f64;
        return Some((lower as f64 + within * (upper - lower) as f64) / 1000.0);
    }
    None
}

/// One route's figures over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RouteStats {
    /// `GET /users/{id}`: the method and route template (or `(no route)`, `(other routes)`).
    pub route: String,
    /// Requests in the window.
    pub requests: u64,
    /// Requests per second over the window.
    pub rate: f64,
    /// Responses with a 5xx status in the window.
    pub errors: u64,
    /// `errors / requests` (0 without requests).
    pub error_rate: f64,
    /// The latency's median, in milliseconds (`null` without requests).
    pub p50_ms: Option<f64>,
    /// The 95th percentile, in milliseconds.
    pub p95_ms: Option<f64>,
    /// The 99th percentile, in milliseconds.
    pub p99_ms: Option<f64>,
}

/// A server error response, as the recent-errors panel lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ServerError {
    /// When the response was ready, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// `GET /users/{id}`.
    pub route: String,
    /// The status code.
    pub status: u16,
    /// The request id (`x-request-id`), when the stack assigned one.
    pub request_id: Option<String>,
    /// How long the request took, in milliseconds.
    pub latency_ms: f64,
}

/// The statistics at one moment: what the dashboard sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StatsSnapshot {
    /// How many seconds the figures cover (the window, or the time since start if shorter).
    pub window_secs: u64,
    /// Every route, summed.
    pub overall: RouteStats,
    /// Per route, the busiest first.
    pub routes: Vec<RouteStats>,
    /// Requests per second over the window, oldest first ([`WINDOW_SECS`] values).
    pub requests_per_second: Vec<u32>,
    /// 5xx responses per second, oldest first.
    pub errors_per_second: Vec<u32>,
    /// The last server errors, newest first.
    pub recent_errors: Vec<ServerError>,
}

#[derive(Default)]
struct Inner {
    routes: HashMap<Box<str>, Window>,
    /// The buffer a request's row key is written into.
    key: String,
    errors: VecDeque<ServerError>,
}

/// Windowed request statistics per route, with bounded memory: at most [`MAX_ROUTES`] rows of
/// [`WINDOW_SECS`] one-second histograms, and the last [`RECENT_ERRORS`] server errors.
pub(crate) struct Stats {
    started: Instant,
    inner: Mutex<Inner>,
}

impl Stats {
    pub(crate) fn new() -> Self {
        Stats {
            started: Instant::now(),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Seconds since the stats were made.
    pub(crate) fn now(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Counts one response at second `now`.
    pub(crate) fn record_at(
        &self,
        now: u64,
        method: &str,
        route: Option<&str>,
        status: u16,
        latency: Duration,
        request_id: Option<&str>,
    ) {
        let error = status >= 500;
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let inner = &mut *guard;
        // The key is written into a kept buffer: no allocation unless the route is new.
        let mut key = std::mem::take(&mut inner.key);
        key.clear();
        match route {
            None => key.push_str(UNMATCHED),
            Some(route) => {
                key.push_str(method);
                key.push(' ');
                key.push_str(route);
            }
        }
        if !inner.routes.contains_key(key.as_str())
            && inner.routes.len() >= MAX_ROUTES - 1
            && key != UNMATCHED
        {
            key.clear();
            key.push_str(OTHER);
        }
        if error {
            if inner.errors.len() == RECENT_ERRORS {
                inner.errors.pop_back();
            }
            inner.errors.push_front(ServerError {
                time_ms: unix_ms(),
                route: key.clone(),
                status,
                request_id: request_id.map(str::to_string),
                latency_ms: latency.as_secs_f64() * 1000.0,
            });
        }
        match inner.routes.get_mut(key.as_str()) {
            Some(window) => window.record(now, latency, error),
            None => {
                let mut window = Window::new();
                window.record(now, latency, error);
                inner.routes.insert(key.as_str().into(), window);
            }
        }
        inner.key = key;
    }

    /// The figures of the window ending at second `now`.
    pub(crate) fn snapshot_at(&self, now: u64) -> StatsSnapshot {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let secs = (now + 1).min(WINDOW_SECS as u64);
        let mut overall = Totals::default();
        let mut per_second = vec![0u32; WINDOW_SECS];
        let mut errors_per_second = vec![0u32; WINDOW_SECS];
        let mut routes = Vec::with_capacity(inner.routes.len());
        for (route, window) in &inner.routes {
            let totals = window.sum(now);
            if totals.requests == 0 {
                continue;
            }
            overall.merge(&totals);
            for (at, second) in window.live(now) {
                if second.at == at {
                    // The series ends at `now`, whatever the uptime.
                    let i = WINDOW_SECS - 1 - (now - at) as usize;
                    per_second[i] += second.requests;
                    errors_per_second[i] += second.errors;
                }
            }
            routes.push(totals.summary(route.to_string(), secs));
        }
        routes.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.route.cmp(&b.route)));
        StatsSnapshot {
            window_secs: secs,
            overall: overall.summary("overall".into(), secs),
            routes,
            requests_per_second: per_second,
            errors_per_second,
            recent_errors: inner.errors.iter().cloned().collect(),
        }
    }

    /// The figures now.
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        self.snapshot_at(self.now())
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The dashboard's request observer: feeds [`Stats`], leaving out the dashboard's own requests
/// (its stream and API would otherwise show up in what it shows).
pub(crate) struct StatsObserver {
    pub(crate) stats: std::sync::Arc<Stats>,
    /// The dashboard's path: routes under it are not counted.
    pub(crate) skip_prefix: String,
}

impl StatsObserver {
    fn is_own(&self, route: &str) -> bool {
        route
            .strip_prefix(self.skip_prefix.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

impl RequestObserver for StatsObserver {
    type State = ();

    fn on_request(&self, _request: &ObservedRequest<'_>) {}

    fn on_response(&self, _: (), response: &ObservedResponse<'_>) {
        let route = response.route();
        if route.is_some_and(|route| self.is_own(route)) {
            return;
        }
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok());
        self.stats.record_at(
            self.stats.now(),
            response.method().as_str(),
            route,
            response.status().as_u16(),
            response.latency(),
            request_id,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn latencies_land_in_the_bucket_whose_upper_bound_covers_them() {
        assert_eq!(bucket_of(Duration::from_micros(0)), 0);
        assert_eq!(bucket_of(Duration::from_micros(250)), 0);
        assert_eq!(bucket_of(Duration::from_micros(251)), 1);
        assert_eq!(bucket_of(ms(10)), 7);
        assert_eq!(bucket_of(ms(11)), 8);
        assert_eq!(bucket_of(Duration::from_secs(3600)), BUCKETS - 1);
    }

    #[test]
    fn percentiles_interpolate_inside_the_bucket() {
        let mut histogram = [0u64; BUCKETS];
        assert_eq!(percentile(&histogram, 0.5), None);
        // 100 observations in (20 ms, 30 ms]: the median is half way.
        histogram[10] = 100;
        assert_eq!(percentile(&histogram, 0.5), Some(25.0));
        assert_eq!(percentile(&histogram, 0.99), Some(29.9));
        // 900 fast ones (<= 0.25 ms) and 100 slow ones in (1 s, 1.5 s].
        let mut histogram = [0u64; BUCKETS];
        histogram[0] = 900;
        histogram[20] = 100;
        let median = percentile(&histogram, 0.5).unwrap();
        assert!((median - 0.25 * 500.0 / 900.0).abs() < 1e-9, "{median}");
        assert_eq!(percentile(&histogram, 0.95), Some(1250.0));
        assert_eq!(percentile(&histogram, 0.99), Some(1450.0));
        // The unbounded bucket reports its lower bound.
        let mut histogram = [0u64; BUCKETS];
        histogram[BUCKETS - 1] = 3;
        assert_eq!(percentile(&histogram, 0.5), Some(60_000.0));
    }

    #[test]
    fn percentiles_stay_between_the_fastest_and_the_slowest_request() {
        let stats = Stats::new();
        // Three requests of 31-32 ms: their bucket is (30, 50] ms, the answer is not 43 ms.
        for us in [31_000, 31_500, 32_000] {
            stats.record_at(
                3,
                "GET",
                Some("/slow"),
                200,
                Duration::from_micros(us),
                None,
            );
        }
        let slow = stats.snapshot_at(3).overall;
        let (p50, p99) = (slow.p50_ms.unwrap(), slow.p99_ms.unwrap());
        assert!((31.0..=32.0).contains(&p50), "{p50}");
        assert_eq!(p99, 32.0);
    }

    #[test]
    fn the_window_counts_the_last_sixty_seconds_only() {
        let stats = Stats::new();
        for _ in 0..30 {
            stats.record_at(0, "GET", Some("/a"), 200, ms(1), None);
        }
        for _ in 0..60 {
            stats.record_at(59, "GET", Some("/a"), 200, ms(1), None);
        }
        let at_59 = stats.snapshot_at(59);
        assert_eq!(at_59.window_secs, 60);
        assert_eq!(at_59.overall.requests, 90);
        assert_eq!(at_59.overall.rate, 1.5);
        assert_eq!(at_59.requests_per_second[0], 30);
        assert_eq!(at_59.requests_per_second[59], 60);
        // One second later, second 0 has left the window.
        let at_60 = stats.snapshot_at(60);
        assert_eq!(at_60.overall.requests, 60);
        assert_eq!(at_60.requests_per_second[58], 60);
        assert_eq!(at_60.requests_per_second[59], 0);
        // A slot reused by a later second starts from zero.
        stats.record_at(60, "GET", Some("/a"), 200, ms(1), None);
        assert_eq!(stats.snapshot_at(60).overall.requests, 61);
        // Two minutes on, nothing is left and the route is not listed.
        let later = stats.snapshot_at(200);
        assert_eq!(later.overall.requests, 0);
        assert!(later.routes.is_empty());
        assert_eq!(later.overall.p50_ms, None);
    }

    #[test]
    fn the_rate_is_over_the_time_since_start_while_it_is_shorter_than_the_window() {
        let stats = Stats::new();
        for now in 0..10 {
            stats.record_at(now, "GET", Some("/a"), 200, ms(1), None);
            stats.record_at(now, "GET", Some("/a"), 200, ms(1), None);
        }
        let snapshot = stats.snapshot_at(9);
        assert_eq!(snapshot.window_secs, 10);
        assert_eq!(snapshot.overall.rate, 2.0);
    }

    #[test]
    fn routes_are_kept_apart_and_errors_counted_per_route() {
        let stats = Stats::new();
        for i in 0..10 {
            stats.record_at(5, "GET", Some("/users/{id}"), 200, ms(i + 1), None);
        }
        stats.record_at(5, "POST", Some("/users"), 201, ms(3), None);
        stats.record_at(5, "POST", Some("/users"), 500, ms(40), Some("req-1"));
        stats.record_at(5, "POST", Some("/users"), 503, ms(40), None);
        stats.record_at(5, "GET", None, 404, ms(1), None);
        let snapshot = stats.snapshot_at(5);
        let names: Vec<&str> = snapshot.routes.iter().map(|r| r.route.as_str()).collect();
        assert_eq!(names, ["GET /users/{id}", "POST /users", UNMATCHED]);
        let users = &snapshot.routes[1];
        assert_eq!((users.requests, users.errors), (3, 2));
        assert!((users.error_rate - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(snapshot.overall.requests, 14);
        assert_eq!(snapshot.overall.errors, 2);
        assert_eq!(snapshot.errors_per_second[59], 2);
        // 10 latencies of 1..=10 ms: the median is in (3, 5] ms, the p99 in (7.5, 10].
        let show = &snapshot.routes[0];
        let p50 = show.p50_ms.unwrap();
        assert!(p50 > 3.0 && p50 <= 5.0, "{p50}");
        let p99 = show.p99_ms.unwrap();
        assert!(p99 > 7.5 && p99 <= 10.0, "{p99}");
        // Newest error first, with its request id.
        assert_eq!(snapshot.recent_errors.len(), 2);
        assert_eq!(snapshot.recent_errors[0].status, 503);
        assert_eq!(snapshot.recent_errors[1].status, 500);
        assert_eq!(snapshot.recent_errors[1].route, "POST /users");
        assert_eq!(
            snapshot.recent_errors[1].request_id.as_deref(),
            Some("req-1")
        );
    }

    #[test]
    fn the_route_table_and_the_error_ring_stay_bounded() {
        let stats = Stats::new();
        for i in 0..10_000 {
            stats.record_at(1, "GET", Some(&format!("/r{i}")), 500, ms(1), None);
        }
        let snapshot = stats.snapshot_at(1);
        assert_eq!(snapshot.routes.len(), MAX_ROUTES);
        assert_eq!(snapshot.routes[0].route, OTHER);
        assert_eq!(
            snapshot.routes[0].requests,
            10_000 - (MAX_ROUTES as u64 - 1)
        );
        assert_eq!(snapshot.overall.requests, 10_000);
        assert_eq!(snapshot.recent_errors.len(), RECENT_ERRORS);
        // The unmatched row always gets its own row.
        stats.record_at(1, "GET", None, 404, ms(1), None);
        assert!(
            stats
                .snapshot_at(1)
                .routes
                .iter()
                .any(|r| r.route == UNMATCHED)
        );
    }

    #[test]
    fn a_known_route_keeps_its_row_once_the_table_is_full() {
        let stats = Stats::new();
        for i in 0..MAX_ROUTES {
            stats.record_at(1, "GET", Some(&format!("/r{i}")), 200, ms(1), None);
        }
        // `/r0` had its row before the table filled up: it keeps counting there.
        stats.record_at(1, "GET", Some("/r0"), 200, ms(1), None);
        let snapshot = stats.snapshot_at(1);
        let row = |name: &str| {
            snapshot
                .routes
                .iter()
                .find(|r| r.route == name)
                .map(|r| r.requests)
        };
        assert_eq!(row("GET /r0"), Some(2));
        assert_eq!(row(OTHER), Some(1));
    }

    #[test]
    fn a_server_error_is_listed_with_its_time_and_latency() {
        let stats = Stats::new();
        let clock = || {
            let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            u64::try_from(since_epoch.as_millis()).unwrap()
        };
        let before = clock();
        stats.record_at(
            2,
            "GET",
            Some("/boom"),
            500,
            Duration::from_micros(12_500),
            None,
        );
        let after = clock();
        let error = &stats.snapshot_at(2).recent_errors[0];
        assert!(
            (before..=after).contains(&error.time_ms),
            "{} not in {before}..={after}",
            error.time_ms
        );
        assert_eq!(error.latency_ms, 12.5);
        assert_eq!(error.request_id, None);
    }

    #[test]
    fn the_clock_counts_whole_seconds_since_the_stats_were_made() {
        let started = Instant::now()
            .checked_sub(Duration::from_millis(5_500))
            .expect("the monotonic clock is past 5.5 s");
        let stats = Stats {
            started,
            inner: Mutex::new(Inner::default()),
        };
        let now = stats.now();
        assert!((5..=6).contains(&now), "{now}");
        // `snapshot` reads the clock: a request recorded at that second is in it.
        stats.record_at(now, "GET", Some("/a"), 200, ms(1), None);
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.overall.requests, 1);
        assert!(
            (now + 1..=now + 2).contains(&snapshot.window_secs),
            "{snapshot:?}"
        );
    }

    #[test]
    fn the_dashboards_own_routes_are_recognised_by_their_prefix() {
        let observer = StatsObserver {
            stats: std::sync::Arc::new(Stats::new()),
            skip_prefix: "/_cortex".into(),
        };
        assert!(observer.is_own("/_cortex"));
        assert!(observer.is_own("/_cortex/api/live"));
        assert!(!observer.is_own("/_cortexual"));
        assert!(!observer.is_own("/users"));
        assert!(!observer.is_own("/"));
    }

    #[test]
    fn percentiles_are_raised_to_the_fastest_request() {
        let stats = Stats::new();
        // Three requests of 28-29 ms: their bucket is (20, 30] ms, where interpolation alone puts
        // the median at 26.7 ms, faster than any of them.
        for us in [28_000, 28_500, 29_000] {
            stats.record_at(3, "GET", Some("/a"), 200, Duration::from_micros(us), None);
        }
        let p50 = stats.snapshot_at(3).overall.p50_ms.unwrap();
        assert!((28.0..=29.0).contains(&p50), "{p50}");
    }
}
