//! The container outside HTTP requests: scope factories, seeded scopes and end-of-scope hooks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cortex_di::{
    ContainerBuilder, Dependency, Error, GraphError, Inject, OnScopeEnd, OnShutdown, Provider,
    Scope, ScopeFactory, ScopeOutcome,
};

use crate::support::Log;

/// A singleton that runs units of work, each in a scope of its own.
struct Worker {
    scopes: Inject<ScopeFactory>,
    _dropped: DropCounter,
}

struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct CurrentUser(&'static str);

struct Greeter {
    user: Inject<CurrentUser>,
}

fn worker(drops: &Arc<AtomicUsize>) -> Provider<Worker> {
    let drops = drops.clone();
    Provider::factory(move |r| {
        Ok(Worker {
            scopes: r.get::<ScopeFactory>()?,
            _dropped: DropCounter(drops.clone()),
        })
    })
    .depends_on(Dependency::on::<ScopeFactory>())
}

fn greeter() -> Provider<Greeter> {
    Provider::factory(|r| {
        Ok(Greeter {
            user: r.get::<CurrentUser>()?,
        })
    })
    .depends_on(Dependency::on::<CurrentUser>())
    .scope(Scope::Request)
}

#[tokio::test]
async fn a_singleton_holding_the_scope_factory_opens_scopes_of_its_container() {
    let drops = Arc::new(AtomicUsize::new(0));
    let c = ContainerBuilder::new()
        .add(worker(&drops))
        .add(Provider::<CurrentUser>::seeded())
        .add(greeter())
        .build()
        .await
        .unwrap();
    let worker = c.get::<Worker>().unwrap();
    let first = worker.scopes.open().unwrap();
    first.provide(CurrentUser("ada")).unwrap();
    let second = worker.scopes.open().unwrap();
    second.provide(CurrentUser("grace")).unwrap();
    assert_eq!(first.get::<Greeter>().unwrap().user.0, "ada");
    assert_eq!(second.get::<Greeter>().unwrap().user.0, "grace");
    assert!(worker.scopes.is_open());
}

#[tokio::test]
async fn a_singleton_holding_the_scope_factory_is_dropped_with_its_container() {
    let drops = Arc::new(AtomicUsize::new(0));
    let c = ContainerBuilder::new()
        .add(worker(&drops))
        .build()
        .await
        .unwrap();
    let factory = c.get::<Worker>().unwrap().scopes.clone();
    assert!(factory.open().is_ok());
    drop(c);
    // No reference cycle: the worker went with the container, and its factory knows.
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(!factory.is_open());
    assert!(matches!(factory.open(), Err(Error::ContainerGone)));
}

#[tokio::test]
async fn opening_a_scope_after_shutdown_is_a_typed_error() {
    let c = ContainerBuilder::new().build().await.unwrap();
    let factory = c.scope_factory();
    assert!(factory.open().is_ok());
    c.shutdown().await;
    let err = factory.open().err().unwrap();
    assert!(matches!(err, Error::ContainerGone));
    assert!(err.to_string().contains("shut down or dropped; hint:"));
}

#[tokio::test]
async fn the_scope_factory_is_bound_only_when_something_depends_on_it() {
    let plain = ContainerBuilder::new().build().await.unwrap();
    assert!(plain.get::<ScopeFactory>().is_err());
    let drops = Arc::new(AtomicUsize::new(0));
    let c = ContainerBuilder::new()
        .add(worker(&drops))
        .build()
        .await
        .unwrap();
    assert!(c.get::<ScopeFactory>().unwrap().open().is_ok());
    let graph = c.graph();
    let bound = graph
        .providers
        .iter()
        .find(|p| p.type_name.ends_with("ScopeFactory"))
        .unwrap();
    assert_eq!(bound.declared_by, "cortex_di::ContainerBuilder");
}

#[tokio::test]
async fn a_seeded_value_not_provided_is_a_typed_error_naming_the_fix() {
    let c = ContainerBuilder::new()
        .add(Provider::<CurrentUser>::seeded())
        .add(greeter())
        .build()
        .await
        .unwrap();
    let scope = c.scope();
    let err = scope.get::<CurrentUser>().err().unwrap();
    assert!(matches!(err, Error::NotSeeded { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("CurrentUser"), "{message}");
    assert!(message.contains("scope.provide::<"), "{message}");
    // Through a dependent, the provider that needed it is named too.
    let err = scope.get::<Greeter>().err().unwrap().to_string();
    assert!(
        err.contains("Greeter") && err.contains("is seeded"),
        "{err}"
    );
    // Resolving from the container itself is still a request-scope error.
    assert!(matches!(
        c.get::<CurrentUser>(),
        Err(Error::RequestScopeRequired { .. })
    ));
}

#[tokio::test]
async fn providing_a_type_not_declared_seeded_or_twice_is_an_error() {
    struct Clock;
    let c = ContainerBuilder::new()
        .add(Provider::<CurrentUser>::seeded())
        .add(Provider::value(Clock))
        .build()
        .await
        .unwrap();
    let scope = c.scope();
    assert!(matches!(
        scope.provide(Clock),
        Err(Error::NotSeedable { .. })
    ));
    assert!(matches!(
        scope.provide(42_u8),
        Err(Error::NotSeedable { .. })
    ));
    scope.provide(CurrentUser("ada")).unwrap();
    let err = scope.provide(CurrentUser("eve")).err().unwrap();
    assert!(matches!(err, Error::AlreadyProvided { .. }));
    assert_eq!(scope.get::<CurrentUser>().unwrap().0, "ada");
    scope.close().await;
    assert!(matches!(
        c.scope().provide(CurrentUser("x")).map(|_| ()),
        Ok(())
    ));
}

#[tokio::test]
async fn a_singleton_depending_on_a_seeded_value_is_a_scope_violation_at_startup() {
    struct Audit {
        _user: Inject<CurrentUser>,
    }
    let err = ContainerBuilder::new()
        .add(Provider::<CurrentUser>::seeded())
        .add(
            Provider::factory(|r| {
                Ok(Audit {
                    _user: r.get::<CurrentUser>()?,
                })
            })
            .depends_on(Dependency::on::<CurrentUser>()),
        )
        .build()
        .await
        .err()
        .unwrap();
    let errors = err.graph_errors().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(matches!(
        &errors[0],
        GraphError::ScopeViolation {
            provider_scope: Scope::Singleton,
            dependency_scope: Scope::Request,
            ..
        }
    ));
}

#[tokio::test]
async fn a_seeded_provider_must_stay_request_scoped() {
    let err = ContainerBuilder::new()
        .add(Provider::<CurrentUser>::seeded().scope(Scope::Singleton))
        .build()
        .await
        .err()
        .unwrap();
    let errors = err.graph_errors().unwrap();
    assert!(matches!(
        &errors[0],
        GraphError::SeededOutsideRequest {
            scope: Scope::Singleton,
            ..
        }
    ));
}

#[tokio::test]
async fn a_trait_object_and_a_named_value_can_be_seeded() {
    trait Tenant: Send + Sync {
        fn id(&self) -> u32;
    }
    struct Acme;
    impl Tenant for Acme {
        fn id(&self) -> u32 {
            7
        }
    }
    let c = ContainerBuilder::new()
        .add(Provider::<dyn Tenant>::seeded())
        .add(Provider::<String>::seeded().named("trace"))
        .build()
        .await
        .unwrap();
    let scope = c.scope();
    scope.provide_arc::<dyn Tenant>(Arc::new(Acme)).unwrap();
    scope.provide_named("trace", String::from("abc")).unwrap();
    assert_eq!(scope.get::<dyn Tenant>().unwrap().id(), 7);
    assert_eq!(*scope.get_named::<String>("trace").unwrap(), "abc");
}

struct Transaction {
    log: Log,
    name: &'static str,
}

impl OnScopeEnd for Transaction {
    async fn on_scope_end(&self, outcome: &ScopeOutcome) {
        let verb = if outcome.is_success() {
            "commit"
        } else {
            "rollback"
        };
        self.log
            .push(format!("{verb} {} {:?}", self.name, outcome.status()));
    }
}

impl OnShutdown for Transaction {
    async fn on_shutdown(&self) {
        self.log.push(format!("shutdown {}", self.name));
    }
}

struct Outer {
    _tx: Inject<Transaction>,
    log: Log,
}

impl OnScopeEnd for Outer {
    async fn on_scope_end(&self, outcome: &ScopeOutcome) {
        self.log.push(format!("end outer {}", outcome.is_success()));
    }
}

fn transactional(log: &Log) -> ContainerBuilder {
    let mut b = ContainerBuilder::new();
    let l = log.clone();
    b.add(
        Provider::factory(move |_| {
            Ok(Transaction {
                log: l.clone(),
                name: "tx",
            })
        })
        .scope(Scope::Request)
        .on_scope_end()
        .on_shutdown(),
    );
    let l = log.clone();
    b.add(
        Provider::factory(move |r| {
            Ok(Outer {
                _tx: r.get::<Transaction>()?,
                log: l.clone(),
            })
        })
        .depends_on(Dependency::on::<Transaction>())
        .scope(Scope::Request)
        .on_scope_end(),
    );
    b
}

#[tokio::test]
async fn finish_runs_end_hooks_with_the_outcome_in_reverse_order_before_shutdown_hooks() {
    let log = Log::default();
    let c = transactional(&log).build().await.unwrap();
    let scope = c.scope();
    scope.get::<Outer>().unwrap();
    assert!(scope.has_scope_end_hooks());
    let report = scope.finish(ScopeOutcome::from_status(200)).await;
    assert_eq!(
        log.entries(),
        ["end outer true", "commit tx Some(200)", "shutdown tx"]
    );
    assert_eq!(report.completed.len(), 3);
    // Finishing again does nothing.
    scope.finish(ScopeOutcome::success()).await;
    assert_eq!(log.entries().len(), 3);
}

#[tokio::test]
async fn a_failed_or_unfinished_scope_rolls_back() {
    let log = Log::default();
    let c = transactional(&log).build().await.unwrap();
    let failed = c.scope();
    failed.get::<Transaction>().unwrap();
    failed.finish(ScopeOutcome::from_status(500)).await;
    let closed = c.scope();
    closed.get::<Transaction>().unwrap();
    closed.close().await;
    assert_eq!(
        log.entries(),
        [
            "rollback tx Some(500)",
            "shutdown tx",
            "rollback tx None",
            "shutdown tx"
        ]
    );
}

#[tokio::test]
async fn a_dropped_scope_runs_its_end_hooks_as_a_failure() {
    let log = Log::default();
    let c = transactional(&log).build().await.unwrap();
    let scope = c.scope();
    scope.get::<Transaction>().unwrap();
    drop(scope);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while log.entries().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            log.entries()
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(log.entries(), ["rollback tx None", "shutdown tx"]);
}

#[tokio::test]
async fn a_scope_without_end_hooks_says_so() {
    let log = Log::default();
    let c = transactional(&log).build().await.unwrap();
    let scope = c.scope();
    assert!(!scope.has_scope_end_hooks());
    scope.provide(1_u8).unwrap_err();
}

#[tokio::test]
async fn an_end_hook_outside_a_request_scope_is_a_graph_error() {
    let log = Log::default();
    let l = log.clone();
    let err = ContainerBuilder::new()
        .add(
            Provider::factory(move |_| {
                Ok(Transaction {
                    log: l.clone(),
                    name: "tx",
                })
            })
            .on_scope_end(),
        )
        .build()
        .await
        .err()
        .unwrap();
    let errors = err.graph_errors().unwrap();
    assert!(matches!(
        &errors[0],
        GraphError::ScopeEndHookOutsideRequest {
            scope: Scope::Singleton,
            ..
        }
    ));
    assert!(err.to_string().contains("OnScopeEnd"));
}

#[test]
fn outcomes_follow_statuses_and_results() {
    assert!(ScopeOutcome::from_status(200).is_success());
    assert!(ScopeOutcome::from_status(302).is_success());
    assert!(!ScopeOutcome::from_status(404).is_success());
    assert!(!ScopeOutcome::from_status(500).is_success());
    let ok: Result<u8, &str> = Ok(1);
    assert_eq!(ScopeOutcome::from_result(&ok), ScopeOutcome::success());
    let err: Result<u8, &str> = Err("boom");
    assert_eq!(ScopeOutcome::from_result(&err).error(), Some("boom"));
}
