//! `async` providers: awaited at build for singletons, on `resolve` for the rest, and reached
//! through synchronous providers that depend on them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cortex_di::{ContainerBuilder, Dependency, Error, Inject, OnShutdown, Provider, Scope};

use crate::support::Log;

struct Url(&'static str);
struct Pool {
    url: &'static str,
}
struct Tx {
    id: usize,
}
struct UnitOfWork {
    tx: Inject<Tx>,
}
struct Handler {
    uow: Inject<UnitOfWork>,
}

#[tokio::test]
async fn an_async_singleton_is_awaited_at_build_after_its_dependencies() {
    let c = ContainerBuilder::new()
        .add(
            Provider::async_factory(|r| async move {
                let url = r.resolve::<Url>().await?;
                tokio::task::yield_now().await;
                Ok(Pool { url: url.0 })
            })
            .depends_on(Dependency::on::<Url>()),
        )
        .add(Provider::value(Url("postgres://127.0.0.1/test")))
        .build()
        .await
        .unwrap();
    // made at build: a synchronous `get` finds it
    assert_eq!(c.get::<Pool>().unwrap().url, "postgres://127.0.0.1/test");
}

struct Closer(Log, &'static str);
impl OnShutdown for Closer {
    async fn on_shutdown(&self) {
        self.0.push(format!("closed {}", self.1));
    }
}

#[tokio::test]
async fn an_async_provider_error_stops_the_build_naming_the_provider_and_closes_what_was_made() {
    let log = Log::default();
    let l = log.clone();
    let err = ContainerBuilder::new()
        .add(Provider::factory(move |_| Ok(Closer(l.clone(), "first"))).on_shutdown())
        .add(
            Provider::<Pool>::async_factory(|_r| async {
                Err("connection refused (127.0.0.1:1)".into())
            })
            .depends_on(Dependency::on::<Closer>()),
        )
        .build()
        .await
        .err()
        .unwrap();
    let Error::Provider { provider, source } = &err else {
        panic!("{err}")
    };
    assert!(provider.key.type_name().ends_with("::Pool"));
    assert_eq!(source.to_string(), "connection refused (127.0.0.1:1)");
    assert!(err.to_string().contains("async_providers.rs:"), "{err}");
    assert_eq!(log.entries(), ["closed first"]);
}

#[tokio::test]
async fn an_error_deep_in_the_graph_is_reported_through_its_dependents() {
    let err = ContainerBuilder::new()
        .add(Provider::<Url>::async_factory(|_r| async { Err("no such host".into()) }).lazy(true))
        .add(
            Provider::factory(|r| {
                Ok(Pool {
                    url: r.get::<Url>()?.0,
                })
            })
            .depends_on(Dependency::on::<Url>()),
        )
        .build()
        .await
        .err()
        .unwrap();
    let message = err.to_string();
    let pool = message.find("::Pool` declared at").expect(&message);
    let url = message.find("::Url` declared at").expect(&message);
    assert!(pool < url, "the dependent first, then its cause: {message}");
    assert!(err.to_string().ends_with("failed: no such host"), "{err}");
}

#[tokio::test]
async fn an_async_transient_needs_resolve_and_get_says_so() {
    let next = Arc::new(AtomicUsize::new(0));
    let n = next.clone();
    let c = ContainerBuilder::new()
        .add(
            Provider::async_factory(move |_r| {
                let id = n.fetch_add(1, Ordering::SeqCst);
                async move { Ok(Tx { id }) }
            })
            .scope(Scope::Transient),
        )
        .build()
        .await
        .unwrap();
    let err = c.get::<Tx>().err().unwrap();
    assert!(matches!(err, Error::NeedsAsync { .. }));
    assert!(
        err.to_string().contains("hint: use `resolve().await`"),
        "{err}"
    );
    let a = c.resolve::<Tx>().await.unwrap();
    let b = c.resolve::<Tx>().await.unwrap();
    assert_ne!(a.id, b.id);
}

fn unit_of_work_graph(made: Arc<AtomicUsize>) -> ContainerBuilder {
    let mut b = ContainerBuilder::new();
    b.add(
        Provider::async_factory(move |_r| {
            let id = made.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::task::yield_now().await;
                Ok(Tx { id })
            }
        })
        .scope(Scope::Request),
    );
    // synchronous providers over an async one
    b.add(
        Provider::factory(|r| Ok(UnitOfWork { tx: r.get()? }))
            .scope(Scope::Request)
            .depends_on(Dependency::on::<Tx>()),
    );
    b.add(
        Provider::factory(|r| Ok(Handler { uow: r.get()? }))
            .scope(Scope::Transient)
            .depends_on(Dependency::on::<UnitOfWork>()),
    );
    b
}

#[tokio::test]
async fn synchronous_providers_over_an_async_request_scoped_one_resolve_within_a_scope() {
    let made = Arc::new(AtomicUsize::new(0));
    let c = unit_of_work_graph(made.clone()).build().await.unwrap();
    let scope = c.scope();
    assert!(matches!(
        scope.get::<Handler>(),
        Err(Error::NeedsAsync { .. })
    ));
    let h1 = scope.resolve::<Handler>().await.unwrap();
    let h2 = scope.resolve::<Handler>().await.unwrap();
    assert!(!Inject::ptr_eq(&h1, &h2), "handlers are transient");
    assert!(
        Inject::ptr_eq(&h1.uow, &h2.uow),
        "one unit of work per request"
    );
    assert_eq!(h1.uow.tx.id, h2.uow.tx.id);
    // once made, the request-scoped values are reachable without awaiting
    assert!(Inject::ptr_eq(&scope.get::<UnitOfWork>().unwrap(), &h1.uow));
    let other = c.scope().resolve::<Handler>().await.unwrap();
    assert_ne!(other.uow.tx.id, h1.uow.tx.id);
    assert_eq!(made.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_synchronous_transient_over_an_async_transient_gets_a_fresh_one_each_time() {
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let c = ContainerBuilder::new()
        .add(
            Provider::async_factory(move |_r| {
                let id = m.fetch_add(1, Ordering::SeqCst);
                async move { Ok(Tx { id }) }
            })
            .scope(Scope::Transient),
        )
        .add(
            Provider::factory(|r| Ok(UnitOfWork { tx: r.get()? }))
                .scope(Scope::Transient)
                .depends_on(Dependency::on::<Tx>()),
        )
        .build()
        .await
        .unwrap();
    let a = c.resolve::<UnitOfWork>().await.unwrap();
    let b = c.resolve::<UnitOfWork>().await.unwrap();
    assert_ne!(a.tx.id, b.tx.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_async_singleton_resolved_concurrently_is_created_once() {
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let c = ContainerBuilder::new()
        .add(
            Provider::async_factory(move |_r| {
                m.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::task::yield_now().await;
                    Ok(Pool { url: "x" })
                }
            })
            .lazy(true),
        )
        .build()
        .await
        .unwrap();
    assert!(matches!(c.get::<Pool>(), Err(Error::NeedsAsync { .. })));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.resolve::<Pool>().await.unwrap() })
        })
        .collect();
    let mut pools = Vec::new();
    for t in tasks {
        pools.push(t.await.unwrap());
    }
    assert_eq!(made.load(Ordering::SeqCst), 1);
    assert!(pools.windows(2).all(|w| Inject::ptr_eq(&w[0], &w[1])));
    assert!(Inject::ptr_eq(&c.get::<Pool>().unwrap(), &pools[0]));
}
