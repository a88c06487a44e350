//! What the lifecycle records: each hook (a provider's `OnStart`/`OnReady`/`OnShutdown`, the
//! app's `on_start`/`on_ready`/`on_shutdown` closures) timed in
//! `cortex_lifecycle_hook_duration_seconds{hook, phase}` (read back through a local
//! `DebuggingRecorder`) and made a `lifecycle.hook` span (through a capturing layer).

use std::collections::BTreeMap;

use cortex_core::App;
use cortex_core::testing::{CapturedSpan, CapturedSpans, TestApp};
use cortex_di::{BoxError, OnReady, OnShutdown, OnStart, Provider};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

struct Warmup;

impl OnStart for Warmup {
    async fn on_start(&self) -> Result<(), BoxError> {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        Ok(())
    }
}

impl OnReady for Warmup {
    async fn on_ready(&self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl OnShutdown for Warmup {
    async fn on_shutdown(&self) {}
}

const WARMUP: &str = "http::hooks::Warmup";

fn app() -> App {
    App::new()
        .container(|b| {
            b.add(Provider::value(Warmup).on_start().on_ready().on_shutdown());
        })
        .on_start(|_| async { Ok(()) })
        .on_ready(|_| async { Ok(()) })
        .on_shutdown(|_| async { Ok(()) })
}

/// The hook histograms' samples, by `(hook, phase)`.
fn hook_samples(recorder: &DebuggingRecorder) -> BTreeMap<(String, String), Vec<f64>> {
    recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let (_, key) = key.into_parts();
            if key.name() != "cortex_lifecycle_hook_duration_seconds" {
                return None;
            }
            let label = |name: &str| {
                key.labels()
                    .find(|l| l.key() == name)
                    .map(|l| l.value().to_string())
                    .unwrap_or_default()
            };
            let DebugValue::Histogram(samples) = value else {
                return None;
            };
            Some((
                (label("hook"), label("phase")),
                samples.iter().map(|s| s.into_inner()).collect(),
            ))
        })
        .collect()
}

#[tokio::test]
async fn each_hook_is_timed_by_provider_or_closure_and_phase() {
    let recorder = DebuggingRecorder::new();
    let _local = metrics::set_default_local_recorder(&recorder);
    let app = TestApp::new(app()).await;
    app.shutdown().await;
    let samples = hook_samples(&recorder);
    let phases: Vec<(&str, &str)> = samples
        .keys()
        .map(|(hook, phase)| (hook.as_str(), phase.as_str()))
        .collect();
    assert_eq!(
        phases,
        [
            ("App::on_ready", "ready"),
            ("App::on_shutdown", "shutdown"),
            ("App::on_start", "start"),
            (WARMUP, "ready"),
            (WARMUP, "shutdown"),
            (WARMUP, "start"),
        ],
        "{samples:?}"
    );
    assert!(
        samples.values().all(|s| s.len() == 1),
        "once each: {samples:?}"
    );
    let start = samples[&(WARMUP.to_string(), "start".to_string())][0];
    assert!(
        (0.005..10.0).contains(&start),
        "the start hook's 5 ms sleep, in seconds: {start}"
    );
}

/// One test flips the global `export_spans` flag both ways (tests share it under `cargo test`).
#[tokio::test]
async fn each_hook_is_an_info_span_when_spans_are_exported_with_its_error_and_none_otherwise() {
    let spans = CapturedSpans::only("lifecycle.hook");
    let _guard = tracing::dispatcher::set_default(&spans.dispatch_at(tracing::Level::INFO));
    tracing::callsite::rebuild_interest_cache();

    // Not exported: nothing at the default `info` level.
    cortex_core::logging::export_spans(false);
    TestApp::new(app()).await.shutdown().await;
    assert!(spans.spans().is_empty());

    cortex_core::logging::export_spans(true);
    TestApp::new(app()).await.shutdown().await;
    let failed = TestApp::try_new(app().on_start(|_| async { Err("the cache is cold".into()) }))
        .await
        .unwrap_err();
    cortex_core::logging::export_spans(false);
    assert!(failed.to_string().contains("the cache is cold"), "{failed}");

    let seen = spans.spans();
    let hooks: Vec<(&str, &str)> = seen
        .iter()
        .map(|s| (s.fields["hook"].as_str(), s.fields["phase"].as_str()))
        .collect();
    assert_eq!(
        hooks,
        [
            (WARMUP, "start"),
            ("App::on_start", "start"),
            (WARMUP, "ready"),
            ("App::on_ready", "ready"),
            ("App::on_shutdown", "shutdown"),
            (WARMUP, "shutdown"),
            // the failing app: its provider started, its first closure ran, the second failed,
            // and the container shut down
            (WARMUP, "start"),
            ("App::on_start", "start"),
            ("App::on_start", "start"),
            (WARMUP, "shutdown"),
        ],
        "{seen:?}"
    );
    assert!(seen.iter().all(|s| s.level == tracing::Level::INFO));
    let errors: Vec<&CapturedSpan> = seen
        .iter()
        .filter(|s| s.fields.contains_key("otel.status_code"))
        .collect();
    assert_eq!(errors.len(), 1, "{seen:?}");
    assert_eq!(errors[0].fields["otel.status_code"], "ERROR");
    assert_eq!(
        errors[0].fields["otel.status_description"],
        "the cache is cold"
    );
    assert_eq!(errors[0].fields["error.type"], "hook_failed");
}
