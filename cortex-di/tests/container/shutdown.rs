//! Disposal: `OnShutdown` hooks in reverse creation order, bounded by a timeout.

use std::time::Duration;

use cortex_di::{ContainerBuilder, Dependency, Error, OnShutdown, Provider, Scope};
use tokio::sync::mpsc;

use crate::support::Log;

struct Db(Log);
impl OnShutdown for Db {
    async fn on_shutdown(&self) {
        self.0.push("db");
    }
}
struct Cache(Log);
impl OnShutdown for Cache {
    async fn on_shutdown(&self) {
        self.0.push("cache");
    }
}
struct Api(Log);
impl OnShutdown for Api {
    async fn on_shutdown(&self) {
        self.0.push("api");
    }
}
struct Stuck;
impl OnShutdown for Stuck {
    async fn on_shutdown(&self) {
        std::future::pending::<()>().await;
    }
}
struct Lazy;

fn app(log: &Log) -> ContainerBuilder {
    let mut b = ContainerBuilder::new();
    let l = log.clone();
    b.add(
        Provider::factory(move |_| Ok(Api(l.clone())))
            .depends_on(Dependency::on::<Cache>())
            .depends_on(Dependency::on::<Db>())
            .on_shutdown(),
    );
    let l = log.clone();
    b.add(
        Provider::factory(move |_| Ok(Cache(l.clone())))
            .depends_on(Dependency::on::<Db>())
            .on_shutdown(),
    );
    let l = log.clone();
    b.add(Provider::factory(move |_| Ok(Db(l.clone()))).on_shutdown());
    b
}

#[tokio::test]
async fn hooks_run_in_reverse_creation_order() {
    let log = Log::default();
    let c = app(&log).build().await.unwrap();
    let report = c.shutdown().await;
    assert_eq!(log.entries(), ["api", "cache", "db"]);
    assert_eq!(report.completed.len(), 3);
    assert!(report.completed[0].ends_with("::Api"));
    assert!(report.timed_out.is_empty());
}

#[tokio::test]
async fn shutting_down_twice_runs_hooks_once_and_nothing_new_is_created_after() {
    let log = Log::default();
    let mut b = app(&log);
    b.add(Provider::factory(|_| Ok(Lazy)).lazy(true));
    let c = b.build().await.unwrap();
    c.shutdown().await;
    let again = c.shutdown().await;
    assert!(again.completed.is_empty());
    assert_eq!(log.entries().len(), 3);
    let err = c.get::<Lazy>().err().unwrap();
    assert!(matches!(err, Error::ShutDown { .. }), "{err}");
    // what exists stays reachable
    assert!(c.get::<Db>().is_ok());
}

#[tokio::test]
async fn a_hook_that_hangs_is_cut_off_by_the_timeout_and_the_rest_still_run() {
    let log = Log::default();
    let mut b = app(&log);
    b.add(
        Provider::factory(|_| Ok(Stuck))
            .depends_on(Dependency::on::<Db>())
            .on_shutdown(),
    );
    b.shutdown_timeout(Duration::from_millis(50));
    let c = b.build().await.unwrap();
    let report = c.shutdown().await;
    assert_eq!(report.timed_out.len(), 1);
    assert!(report.timed_out[0].ends_with("::Stuck"));
    assert_eq!(
        log.entries().len(),
        3,
        "the others ran: {:?}",
        log.entries()
    );
}

#[tokio::test]
async fn dropping_the_container_inside_a_runtime_runs_its_hooks() {
    let (tx, mut rx) = mpsc::unbounded_channel::<&'static str>();
    struct Notifies(mpsc::UnboundedSender<&'static str>);
    impl OnShutdown for Notifies {
        async fn on_shutdown(&self) {
            let _ = self.0.send("disposed");
        }
    }
    let c = ContainerBuilder::new()
        .add(Provider::value(Notifies(tx)).on_shutdown())
        .build()
        .await
        .unwrap();
    drop(c);
    let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("hook ran within 5s");
    assert_eq!(got, Some("disposed"));
}

#[tokio::test]
async fn a_request_scope_runs_the_hooks_of_its_own_instances_on_close() {
    let log = Log::default();
    let l = log.clone();
    let l2 = log.clone();
    let c = ContainerBuilder::new()
        .add(Provider::factory(move |_| Ok(Db(l.clone()))).on_shutdown())
        .add(
            Provider::factory(move |_| Ok(Cache(l2.clone())))
                .scope(Scope::Request)
                .on_shutdown(),
        )
        .build()
        .await
        .unwrap();
    let scope = c.scope();
    scope.get::<Cache>().unwrap();
    let untouched = c.scope();
    let report = scope.close().await;
    assert_eq!(log.entries(), ["cache"]);
    assert_eq!(report.completed.len(), 1);
    assert!(
        untouched.close().await.completed.is_empty(),
        "nothing was created in it"
    );
    assert!(scope.get::<Cache>().is_ok(), "what exists stays reachable");
}

#[tokio::test]
async fn dropping_a_request_scope_inside_a_runtime_runs_its_hooks() {
    let (tx, mut rx) = mpsc::unbounded_channel::<&'static str>();
    struct Notifies(mpsc::UnboundedSender<&'static str>);
    impl OnShutdown for Notifies {
        async fn on_shutdown(&self) {
            let _ = self.0.send("request disposed");
        }
    }
    let c = ContainerBuilder::new()
        .add(
            Provider::factory(move |_| Ok(Notifies(tx.clone())))
                .scope(Scope::Request)
                .on_shutdown(),
        )
        .build()
        .await
        .unwrap();
    let scope = c.scope();
    scope.get::<Notifies>().unwrap();
    drop(scope);
    let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("hook ran within 5s");
    assert_eq!(got, Some("request disposed"));
}
