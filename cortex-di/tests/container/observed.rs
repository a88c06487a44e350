//! What a built container records (read back through a local `DebuggingRecorder`): the number
//! of providers by scope and how long the build took, once per build.

use std::time::Duration;

use cortex_di::{ContainerBuilder, Provider, Scope};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

struct Config;
struct Pool;
struct Clock;
struct Session;

fn gauges(recorder: &DebuggingRecorder) -> Vec<(String, Option<String>, f64)> {
    let mut gauges: Vec<(String, Option<String>, f64)> = recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let (_, key) = key.into_parts();
            let DebugValue::Gauge(value) = value else {
                return None;
            };
            let scope = key
                .labels()
                .find(|l| l.key() == "scope")
                .map(|l| l.value().to_string());
            Some((key.name().to_string(), scope, value.into_inner()))
        })
        .collect();
    gauges.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    gauges
}

#[tokio::test]
async fn a_build_records_its_providers_by_scope_and_its_duration() {
    let recorder = DebuggingRecorder::new();
    let _local = metrics::set_default_local_recorder(&recorder);
    let mut builder = ContainerBuilder::new();
    builder
        .add(Provider::value(Config))
        .add(Provider::async_factory(|_| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Pool)
        }))
        .add(Provider::factory(|_| Ok(Clock)).scope(Scope::Transient))
        .add(Provider::factory(|_| Ok(Session)).scope(Scope::Request));
    let container = builder.build().await.unwrap();
    let gauges = gauges(&recorder);
    let providers: Vec<(Option<&str>, f64)> = gauges
        .iter()
        .filter(|(name, ..)| name == "cortex_container_providers")
        .map(|(_, scope, value)| (scope.as_deref(), *value))
        .collect();
    assert_eq!(
        providers,
        [
            (Some("request"), 1.0),
            (Some("singleton"), 2.0),
            (Some("transient"), 1.0)
        ]
    );
    let build = gauges
        .iter()
        .find(|(name, ..)| name == "cortex_container_build_seconds")
        .map(|(.., value)| *value)
        .expect("the build's duration");
    assert!(
        (0.02..10.0).contains(&build),
        "the eager async singleton's 20 ms, in seconds: {build}"
    );
    // Resolving records nothing more.
    let _ = container.get::<Clock>().unwrap();
    assert_eq!(
        recorder.snapshotter().snapshot().into_vec().len(),
        4,
        "no metric per resolve"
    );
}
