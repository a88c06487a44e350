//! [`Metrics`]: the Prometheus recorder Cortex records into and `/metrics` renders.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// The latency buckets (seconds) of every `*_duration_seconds` histogram: OpenTelemetry's
/// recommended HTTP server buckets.
pub const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The buckets (bytes) of every `*_size_bytes` histogram: 100 B to 100 MB, by factors of 10.
pub const SIZE_BUCKETS: &[f64] = &[
    100.0,
    1_000.0,
    10_000.0,
    100_000.0,
    1_000_000.0,
    10_000_000.0,
    100_000_000.0,
];

/// How often the process-wide recorder folds recorded histogram samples into its buckets when
/// nothing scrapes (a scrape does it too), so that an unscraped app does not keep every sample.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The metadata Cortex's own metrics are registered with.
pub(crate) static METADATA: Metadata<'static> =
    Metadata::new("cortex_observability", Level::INFO, Some(module_path!()));

/// The Prometheus registry Cortex's metrics are recorded into and `/metrics` renders: a cheap
/// handle (clone it freely), in the container as a singleton (`Inject<Metrics>`).
///
/// An app uses the process-wide one ([`Metrics::global`]), installed as the `metrics` facade's
/// global recorder, so that `metrics::counter!` and the like in the app's code land in it too.
/// A test that wants metrics of its own uses [`Metrics::local`] and puts it in the container in
/// place of the global one:
///
/// ```
/// use cortex_core::App;
/// use cortex_core::testing::TestApp;
/// use cortex_observability::ObservabilityPlugin;
/// use cortex_observability::metrics::Metrics;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let metrics = Metrics::local();
/// let app = TestApp::new(
///     App::new()
///         .plugin(ObservabilityPlugin)
///         .container(|c| { c.override_value(metrics.clone()); }),
/// )
/// .await;
/// app.get("/nowhere").send().await;
/// let text = metrics.render();
/// assert!(text.contains(r#"http_server_request_duration_seconds_count{method="GET",route="unmatched",status_class="4xx"} 1"#), "{text}");
/// # }
/// ```
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    /// Whether this is the facade's global recorder.
    global: bool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("global", &self.inner.global)
            .finish_non_exhaustive()
    }
}

static GLOBAL: OnceLock<Metrics> = OnceLock::new();

impl Metrics {
    /// The process-wide registry, created and installed as the `metrics` facade's global
    /// recorder on first use; every app in the process (tests!) shares it.
    ///
    /// When another global recorder is installed already, Cortex cannot install its own: it
    /// logs a warning once and keeps a registry of its own, which `/metrics` serves with what
    /// Cortex records directly (HTTP, process and runtime metrics); what code records through
    /// the facade's macros (the server's connection metrics, business metrics) then goes to the
    /// other recorder.
    ///
    /// ```
    /// use cortex_observability::metrics::Metrics;
    ///
    /// let metrics = Metrics::global();
    /// metrics::counter!("orders_placed_total", "channel" => "web").increment(1);
    /// assert!(metrics.render().contains(r#"orders_placed_total{channel="web"} 1"#));
    /// ```
    pub fn global() -> Metrics {
        GLOBAL
            .get_or_init(|| {
                let recorder = Arc::new(builder().build_recorder());
                let installed = metrics::set_global_recorder(recorder.clone()).is_ok();
                if !installed {
                    tracing::warn!(
                        "another `metrics` recorder is installed: /metrics serves Cortex's own \
                         HTTP, process and runtime metrics, and what is recorded through the \
                         `metrics` macros goes to the other recorder"
                    );
                }
                let handle = recorder.handle();
                let upkeep = handle.clone();
                // Folds samples into buckets when nothing scrapes; the recorder lives as long
                // as the process, and so does this thread.
                let spawned = std::thread::Builder::new()
                    .name("cortex-metrics-upkeep".into())
                    .spawn(move || {
                        loop {
                            std::thread::sleep(UPKEEP_EVERY);
                            upkeep.run_upkeep();
                        }
                    });
                if let Err(error) = spawned {
                    tracing::warn!(%error, "metrics upkeep thread not started: histograms are folded at scrape time only");
                }
                Metrics::from_recorder(recorder, installed)
            })
            .clone()
    }

    /// A registry of its own, not installed anywhere: what a test gives the container (see
    /// the [type docs](Self)) so that it sees only its own requests. Nothing folds its histogram
    /// samples but [`render`](Self::render).
    ///
    /// ```
    /// use cortex_observability::metrics::Metrics;
    ///
    /// let metrics = Metrics::local();
    /// metrics.counter("jobs_total", &[("queue", "mail")]).increment(2);
    /// assert!(metrics.render().contains(r#"jobs_total{queue="mail"} 2"#));
    /// assert!(!Metrics::global().render().contains("jobs_total"));
    /// ```
    pub fn local() -> Metrics {
        Metrics::from_recorder(Arc::new(builder().build_recorder()), false)
    }

    fn from_recorder(recorder: Arc<PrometheusRecorder>, global: bool) -> Metrics {
        Metrics {
            inner: Arc::new(Inner {
                handle: recorder.handle(),
                recorder,
                global,
            }),
        }
    }

    /// Whether this is the registry the `metrics` macros record into.
    pub fn is_global(&self) -> bool {
        self.inner.global
    }

    /// The recorder itself, to record into with `metrics::with_local_recorder` (a
    /// [`local`](Self::local) registry in a test).
    ///
    /// ```
    /// use cortex_observability::metrics::Metrics;
    ///
    /// let metrics = Metrics::local();
    /// metrics::with_local_recorder(metrics.recorder(), || {
    ///     metrics::gauge!("queue_depth").set(3.0);
    /// });
    /// assert!(metrics.render().contains("queue_depth 3"));
    /// ```
    pub fn recorder(&self) -> &dyn Recorder {
        &*self.inner.recorder
    }

    /// The Prometheus handle: [`render`](PrometheusHandle::render) and upkeep.
    pub fn handle(&self) -> &PrometheusHandle {
        &self.inner.handle
    }

    /// Everything recorded, in the Prometheus text format (what `/metrics` serves, without the
    /// collectors it runs first; see [`scrape`](super::scrape)).
    pub fn render(&self) -> String {
        self.inner.handle.render()
    }

    /// The counter `name` with `labels`, registered directly in this registry (no facade
    /// lookup): keep the handle to record into it cheaply.
    ///
    /// ```
    /// use cortex_observability::metrics::Metrics;
    ///
    /// let metrics = Metrics::local();
    /// let sent = metrics.counter("mails_sent_total", &[]);
    /// sent.increment(1);
    /// sent.increment(1);
    /// assert!(metrics.render().contains("mails_sent_total 2"));
    /// ```
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Counter {
        self.inner
            .recorder
            .register_counter(&key(name, labels), &METADATA)
    }

    /// The gauge `name` with `labels` (see [`counter`](Self::counter)).
    ///
    /// ```
    /// use cortex_observability::metrics::Metrics;
    ///
    /// let metrics = Metrics::local();
    /// metrics.gauge("workers", &[("pool", "mail")]).set(4.0);
    /// assert!(metrics.render().contains(r#"workers{pool="mail"} 4"#));
    /// ```
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Gauge {
        self.inner
            .recorder
            .register_gauge(&key(name, labels), &METADATA)
    }

    /// The histogram `name` with `labels` (see [`counter`](Self::counter)); `*_duration_seconds`
    /// and `*_size_bytes` histograms have Cortex's buckets ([`DURATION_BUCKETS`],
    /// [`SIZE_BUCKETS`]), others are summaries.
    ///
    /// ```
    /// use cortex_observability::metrics::Metrics;
    ///
    /// let metrics = Metrics::local();
    /// metrics.histogram("job_duration_seconds", &[]).record(0.02);
    /// assert!(metrics.render().contains(r#"job_duration_seconds_bucket{le="0.025"} 1"#));
    /// ```
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Histogram {
        self.inner
            .recorder
            .register_histogram(&key(name, labels), &METADATA)
    }
}

fn key(name: &str, labels: &[(&str, &str)]) -> Key {
    Key::from_parts(
        name.to_owned(),
        labels
            .iter()
            .map(|(k, v)| metrics::Label::new(k.to_string(), v.to_string()))
            .collect::<Vec<_>>(),
    )
}

/// The exporter's configuration: histograms with buckets per METRICS.md, no listener.
fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_duration_seconds".into()),
            DURATION_BUCKETS,
        )
        .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_size_bytes".into()), SIZE_BUCKETS))
        .expect("the bucket lists are not empty")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_histograms_have_the_documented_buckets() {
        let metrics = Metrics::local();
        metrics
            .histogram("http_server_request_duration_seconds", &[])
            .record(0.3);
        let text = metrics.render();
        let les: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split("le=\"").nth(1)?.split('"').next())
            .collect();
        assert_eq!(
            les,
            [
                "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1",
                "2.5", "5", "7.5", "10", "+Inf"
            ],
            "{text}"
        );
        assert!(text.contains("le=\"0.25\"} 0"), "{text}");
        assert!(text.contains("le=\"0.5\"} 1"), "{text}");
    }

    #[test]
    fn size_histograms_have_byte_buckets_and_others_are_summaries() {
        let metrics = Metrics::local();
        metrics
            .histogram("http_server_response_body_size_bytes", &[])
            .record(512.0);
        metrics.histogram("order_value", &[]).record(3.0);
        let text = metrics.render();
        assert!(
            text.contains("http_server_response_body_size_bytes_bucket{le=\"1000\"} 1"),
            "{text}"
        );
        assert!(text.contains("# TYPE order_value summary"), "{text}");
    }

    #[test]
    fn the_global_registry_is_created_once() {
        let a = Metrics::global();
        let b = Metrics::global();
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
        assert!(!Metrics::local().is_global());
    }
}
