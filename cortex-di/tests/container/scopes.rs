//! Singletons, transients, request scopes, lazy creation, names and trait-object bindings.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cortex_di::{
    Container, ContainerBuilder, Dependency, Error, Inject, Provider, RequestScope, Scope,
};

use crate::support::Log;

struct Config;
struct Repo {
    config: Inject<Config>,
}
struct Service {
    repo: Inject<Repo>,
}

trait Greeter: Send + Sync {
    fn greet(&self) -> String;
}
struct English;
impl Greeter for English {
    fn greet(&self) -> String {
        "hello".into()
    }
}
struct French;
impl Greeter for French {
    fn greet(&self) -> String {
        "bonjour".into()
    }
}

fn layered(log: &Log) -> ContainerBuilder {
    let mut b = ContainerBuilder::new();
    // Registered dependents first, to show creation follows dependencies, not registration.
    let l = log.clone();
    b.add(
        Provider::factory(move |r| {
            l.push("service");
            Ok(Service { repo: r.get()? })
        })
        .depends_on(Dependency::on::<Repo>()),
    );
    let l = log.clone();
    b.add(
        Provider::factory(move |r| {
            l.push("repo");
            Ok(Repo { config: r.get()? })
        })
        .depends_on(Dependency::on::<Config>()),
    );
    let l = log.clone();
    b.add(Provider::factory(move |_| {
        l.push("config");
        Ok(Config)
    }));
    b
}

#[test]
fn container_and_handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Container>();
    assert_send_sync::<RequestScope>();
    assert_send_sync::<Inject<dyn Greeter>>();
    assert_send_sync::<ContainerBuilder>();
}

#[tokio::test]
async fn singletons_are_created_once_at_build_in_dependency_order() {
    let log = Log::default();
    let c = layered(&log).build().await.unwrap();
    assert_eq!(log.entries(), ["config", "repo", "service"]);
    let s1 = c.get::<Service>().unwrap();
    let s2 = c.get::<Service>().unwrap();
    assert!(Inject::ptr_eq(&s1, &s2));
    assert!(Inject::ptr_eq(&s1.repo, &c.get::<Repo>().unwrap()));
    assert!(Inject::ptr_eq(&s1.repo.config, &c.get::<Config>().unwrap()));
    assert_eq!(log.entries().len(), 3);
}

#[tokio::test]
async fn a_lazy_singleton_is_created_on_first_use_only() {
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let c = ContainerBuilder::new()
        .add(
            Provider::factory(move |_| {
                m.fetch_add(1, Ordering::SeqCst);
                Ok(Config)
            })
            .lazy(true),
        )
        .build()
        .await
        .unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 0);
    let a = c.get::<Config>().unwrap();
    let b = c.get::<Config>().unwrap();
    assert!(Inject::ptr_eq(&a, &b));
    assert_eq!(made.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_singleton_resolved_from_many_tasks_at_once_is_created_once() {
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let c = ContainerBuilder::new()
        .add(
            Provider::factory(move |_| {
                m.fetch_add(1, Ordering::SeqCst);
                std::thread::yield_now();
                Ok(Config)
            })
            .lazy(true),
        )
        .build()
        .await
        .unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.get::<Config>().unwrap() })
        })
        .collect();
    let mut handles = Vec::new();
    for t in tasks {
        handles.push(t.await.unwrap());
    }
    assert_eq!(made.load(Ordering::SeqCst), 1);
    assert!(handles.windows(2).all(|w| Inject::ptr_eq(&w[0], &w[1])));
}

#[tokio::test]
async fn a_transient_is_new_on_every_resolve() {
    let c = ContainerBuilder::new()
        .add(Provider::value(Config))
        .add(
            Provider::factory(|r| Ok(Repo { config: r.get()? }))
                .scope(Scope::Transient)
                .depends_on(Dependency::on::<Config>()),
        )
        .build()
        .await
        .unwrap();
    let a = c.get::<Repo>().unwrap();
    let b = c.get::<Repo>().unwrap();
    assert!(!Inject::ptr_eq(&a, &b));
    assert!(Inject::ptr_eq(&a.config, &b.config));
}

#[tokio::test]
async fn a_request_scope_holds_one_instance_and_shares_singletons() {
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let c = ContainerBuilder::new()
        .add(Provider::value(Config))
        .add(
            Provider::factory(move |r| {
                m.fetch_add(1, Ordering::SeqCst);
                Ok(Repo { config: r.get()? })
            })
            .scope(Scope::Request)
            .depends_on(Dependency::on::<Config>()),
        )
        .add(
            Provider::factory(|r| Ok(Service { repo: r.get()? }))
                .scope(Scope::Request)
                .depends_on(Dependency::on::<Repo>()),
        )
        .build()
        .await
        .unwrap();
    assert_eq!(
        made.load(Ordering::SeqCst),
        0,
        "request-scoped providers are not created at build"
    );
    let one = c.scope();
    let two = c.scope();
    let s1 = one.get::<Service>().unwrap();
    assert!(Inject::ptr_eq(&s1.repo, &one.get::<Repo>().unwrap()));
    assert!(Inject::ptr_eq(
        &s1,
        &one.resolve::<Service>().await.unwrap()
    ));
    let s2 = two.get::<Service>().unwrap();
    assert!(!Inject::ptr_eq(&s1, &s2));
    assert!(!Inject::ptr_eq(&s1.repo, &s2.repo));
    assert!(Inject::ptr_eq(&s1.repo.config, &s2.repo.config));
    assert_eq!(made.load(Ordering::SeqCst), 2);
    // singletons resolve from a scope too
    assert!(Inject::ptr_eq(
        &one.get::<Config>().unwrap(),
        &c.get::<Config>().unwrap()
    ));
}

#[tokio::test]
async fn a_request_scoped_provider_outside_a_scope_is_an_error_that_says_so() {
    let c = ContainerBuilder::new()
        .add(Provider::factory(|_| Ok(Config)).scope(Scope::Request))
        .build()
        .await
        .unwrap();
    let err = c.get::<Config>().err().unwrap();
    assert!(matches!(err, Error::RequestScopeRequired { .. }));
    assert!(
        err.to_string()
            .contains("is request-scoped; hint: resolve it from a RequestScope"),
        "{err}"
    );
}

#[tokio::test]
async fn a_type_nothing_is_bound_to_is_not_registered() {
    let c = ContainerBuilder::new().build().await.unwrap();
    let err = c.get::<Config>().err().unwrap();
    assert!(matches!(err, Error::NotRegistered { .. }));
    assert!(c.get_optional::<Config>().unwrap().is_none());
    assert!(
        err.to_string()
            .starts_with("no provider for `container::scopes::Config`"),
        "{err}"
    );
}

#[tokio::test]
async fn named_trait_object_bindings_select_an_implementation() {
    let c = ContainerBuilder::new()
        .add(Provider::<dyn Greeter>::arc_value(Arc::new(English)).named("en"))
        .add(Provider::<dyn Greeter>::arc_value(Arc::new(French)).named("fr"))
        .add(
            Provider::factory(|r| Ok(r.get_named::<dyn Greeter>("fr")?.greet()))
                .depends_on(Dependency::on::<dyn Greeter>().named("fr")),
        )
        .build()
        .await
        .unwrap();
    assert_eq!(c.get_named::<dyn Greeter>("en").unwrap().greet(), "hello");
    assert_eq!(*c.get::<String>().unwrap(), "bonjour");
    assert!(c.get::<dyn Greeter>().is_err(), "no unnamed binding");
}

#[tokio::test]
async fn a_trait_binding_shares_the_singleton_of_its_implementation() {
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let c = ContainerBuilder::new()
        .add(Provider::factory(move |_| {
            m.fetch_add(1, Ordering::SeqCst);
            Ok(English)
        }))
        .add(Provider::<dyn Greeter>::alias::<English>(|e| e))
        .build()
        .await
        .unwrap();
    let concrete = c.get::<English>().unwrap();
    let greeter = c.get::<dyn Greeter>().unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 1);
    assert_eq!(
        Arc::as_ptr(concrete.as_arc()) as *const u8,
        Arc::as_ptr(greeter.as_arc()) as *const u8,
        "same allocation"
    );
}

#[tokio::test]
async fn a_trait_binding_to_a_named_implementation() {
    let c = ContainerBuilder::new()
        .add(Provider::value(French).named("fr"))
        .add(Provider::<dyn Greeter>::alias_named::<French>("fr", |f| f))
        .build()
        .await
        .unwrap();
    assert_eq!(c.get::<dyn Greeter>().unwrap().greet(), "bonjour");
}

#[tokio::test]
async fn a_factory_error_names_the_provider_and_its_cause() {
    let c = ContainerBuilder::new()
        .add(Provider::<Config>::factory(|_| Err("disk full".into())).scope(Scope::Transient))
        .build()
        .await
        .unwrap();
    let err = c.get::<Config>().err().unwrap();
    let Error::Provider { provider, source } = &err else {
        panic!("{err}")
    };
    assert!(provider.key.type_name().ends_with("::Config"));
    assert_eq!(source.to_string(), "disk full");
    assert!(
        err.to_string()
            .starts_with("provider `container::scopes::Config` declared at "),
        "{err}"
    );
    assert!(err.to_string().ends_with("failed: disk full"), "{err}");
}
