//! `ContainerBuilder::build_for_inspection`: the graph is validated as `build` validates it, and
//! nothing is created — no eager or lazy singleton, no async one, no transient, no hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cortex_di::{
    BoxError, ContainerBuilder, Dependency, Error, Inject, Key, OnStart, Provider, Scope,
};

struct Pool;
struct Repo;
struct Cache;
struct Clock;
struct Session;

impl OnStart for Pool {
    async fn on_start(&self) -> Result<(), BoxError> {
        panic!("the pool's start hook ran in inspection mode")
    }
}

/// Every kind of provider, each counting its creations in `made`.
fn builder(made: &Arc<AtomicUsize>) -> ContainerBuilder {
    let counter = |made: &Arc<AtomicUsize>| {
        let made = made.clone();
        move || {
            made.fetch_add(1, Ordering::SeqCst);
        }
    };
    let (pool, repo, cache, clock, session) = (
        counter(made),
        counter(made),
        counter(made),
        counter(made),
        counter(made),
    );
    let mut b = ContainerBuilder::new();
    b.add(
        Provider::factory(move |_| {
            pool();
            Ok(Pool)
        })
        .on_start(),
    )
    .add(
        Provider::factory(move |r| {
            repo();
            r.get::<Pool>()?;
            Ok(Repo)
        })
        .depends_on(Dependency::on::<Pool>()),
    )
    .add(
        Provider::async_factory(move |_| {
            cache();
            async { Ok(Cache) }
        })
        .lazy(true),
    )
    .add(
        Provider::factory(move |_| {
            clock();
            Ok(Clock)
        })
        .scope(Scope::Transient),
    )
    .add(
        Provider::factory(move |_| {
            session();
            Ok(Session)
        })
        .scope(Scope::Request),
    );
    b
}

#[tokio::test]
async fn an_inspection_container_creates_nothing_and_describes_the_same_graph() {
    let made = Arc::new(AtomicUsize::new(0));
    let container = builder(&made).build_for_inspection().unwrap();
    assert!(container.is_inspection());
    assert_eq!(made.load(Ordering::SeqCst), 0, "a factory ran");

    // The same graph as a built container's.
    let built = builder(&Arc::new(AtomicUsize::new(0)))
        .build()
        .await
        .unwrap();
    assert!(!built.is_inspection());
    assert_eq!(
        container.graph().to_json_pretty(),
        built.graph().to_json_pretty()
    );
    assert!(container.contains(&Key::of::<Repo>()));

    // Nothing can be created from it, and each refusal says why.
    let err = container.get::<Repo>().err().unwrap();
    assert!(matches!(err, Error::Inspection { .. }), "{err}");
    assert!(err.to_string().contains("built for inspection"), "{err}");
    assert!(matches!(
        container.get::<Clock>(),
        Err(Error::Inspection { .. })
    ));
    assert!(matches!(
        container.resolve::<Cache>().await,
        Err(Error::Inspection { .. })
    ));
    assert!(matches!(
        container.get::<Session>(),
        Err(Error::RequestScopeRequired { .. })
    ));
    assert!(matches!(
        container.get::<u64>(),
        Err(Error::NotRegistered { .. })
    ));
    // Starting and shutting it down run no hook.
    container.start().await.unwrap();
    container.ready().await.unwrap();
    container.shutdown().await;
    assert_eq!(made.load(Ordering::SeqCst), 0, "a factory ran");
}

#[tokio::test]
async fn an_inspection_container_reports_every_graph_error() {
    struct Missing;
    let mut b = ContainerBuilder::new();
    b.add(
        Provider::factory(|_| -> Result<Repo, BoxError> { panic!("created in inspection mode") })
            .depends_on(Dependency::on::<Missing>()),
    );
    let err = b.build_for_inspection().err().unwrap();
    assert!(matches!(err, Error::Graph(_)), "{err}");
    assert!(err.to_string().contains("Missing"), "{err}");
}

#[tokio::test]
async fn a_lazy_singleton_is_not_created_by_build_and_is_created_on_first_get() {
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let container = ContainerBuilder::new()
        .add(
            Provider::factory(move |_| {
                m.fetch_add(1, Ordering::SeqCst);
                Ok(Pool)
            })
            .lazy(true),
        )
        .build()
        .await
        .unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 0, "created by build()");
    let first: Inject<Pool> = container.get().unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 1);
    assert!(Inject::ptr_eq(&first, &container.get::<Pool>().unwrap()));
    assert_eq!(made.load(Ordering::SeqCst), 1, "created twice");
}
