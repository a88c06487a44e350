//! A factory resolves only what its provider declares with `depends_on`: anything else is an
//! error naming the provider, the type asked for and the declaration to add, because the startup
//! validation never saw that dependency.

use cortex_di::{
    ContainerBuilder, Dependency, Error, Inject, Key, Provider, Scope, injectable, provider,
};
use serde_json::json;

use crate::support::here;

struct Db;
struct Repo;
struct Cache;
struct Service;

/// The message for a factory of `Repo` declared at `line` of this file that resolved `asked`
/// (a key as displayed) without declaring it, with `declaration` the fix.
fn undeclared_message(line: u32, asked: &str, declaration: &str) -> String {
    format!(
        "the factory of `container::undeclared::Repo` declared at {}:{line} resolved `{asked}`, which it does not declare, so the startup checks (missing provider, cycle, scope) never saw that dependency; hint: add `.depends_on({declaration})` to that provider",
        file!()
    )
}

async fn build_error(builder: &mut ContainerBuilder) -> Error {
    match builder.build().await {
        Err(e) => e,
        Ok(_) => panic!("expected the build to fail"),
    }
}

#[tokio::test]
async fn a_get_the_provider_did_not_declare_fails_naming_the_depends_on_to_add() {
    let line = here() + 1;
    let repo = Provider::factory(|r| {
        r.get::<Db>()?;
        Ok(Repo)
    });
    let err = build_error(ContainerBuilder::new().add(Provider::value(Db)).add(repo)).await;
    let Error::UndeclaredDependency {
        provider,
        dependency,
        optional,
    } = &err
    else {
        panic!("expected UndeclaredDependency, got {err}");
    };
    assert_eq!(provider.key, Key::of::<Repo>());
    assert_eq!(provider.location.line, line);
    assert_eq!(*dependency, Key::of::<Db>());
    assert!(!optional);
    assert_eq!(
        err.to_string(),
        undeclared_message(
            line,
            "container::undeclared::Db",
            "Dependency::on::<container::undeclared::Db>()"
        )
    );
}

#[tokio::test]
async fn the_declared_get_resolves() {
    let c = ContainerBuilder::new()
        .add(Provider::value(Db))
        .add(
            Provider::factory(|r| {
                r.get::<Db>()?;
                Ok(Repo)
            })
            .depends_on(Dependency::on::<Db>()),
        )
        .build()
        .await
        .unwrap();
    assert!(c.get::<Repo>().is_ok());
}

#[tokio::test]
async fn a_named_get_needs_the_named_declaration() {
    // Declared unnamed, asked for by name: a different binding, so still undeclared.
    let line = here() + 1;
    let repo = Provider::factory(|r| {
        r.get_named::<Db>("main")?;
        Ok(Repo)
    })
    .depends_on(Dependency::on::<Db>());
    let err = build_error(
        ContainerBuilder::new()
            .add(Provider::value(Db))
            .add(Provider::value(Db).named("main"))
            .add(repo),
    )
    .await;
    assert_eq!(
        err.to_string(),
        undeclared_message(
            line,
            "container::undeclared::Db (named \"main\")",
            "Dependency::on::<container::undeclared::Db>().named(\"main\")"
        )
    );

    let c = ContainerBuilder::new()
        .add(Provider::value(Db).named("main"))
        .add(
            Provider::factory(|r| {
                r.get_named::<Db>("main")?;
                Ok(Repo)
            })
            .depends_on(Dependency::on::<Db>().named("main")),
        )
        .build()
        .await
        .unwrap();
    assert!(c.get::<Repo>().is_ok());
}

#[tokio::test]
async fn an_optional_get_needs_a_declaration_even_when_nothing_is_bound() {
    let line = here() + 1;
    let repo = Provider::factory(|r| {
        r.get_optional::<Cache>()?;
        Ok(Repo)
    });
    let err = build_error(ContainerBuilder::new().add(repo)).await;
    assert_eq!(
        err.to_string(),
        undeclared_message(
            line,
            "container::undeclared::Cache",
            "Dependency::on::<container::undeclared::Cache>().optional()"
        )
    );

    let c = ContainerBuilder::new()
        .add(
            Provider::factory(|r| {
                assert!(r.get_optional::<Cache>()?.is_none());
                assert!(r.get_named_optional::<Cache>("warm")?.is_none());
                Ok(Repo)
            })
            .depends_on(Dependency::on::<Cache>().optional())
            .depends_on(Dependency::on::<Cache>().named("warm").optional()),
        )
        .build()
        .await
        .unwrap();
    assert!(c.get::<Repo>().is_ok());
}

#[tokio::test]
async fn reading_config_needs_the_config_source_declared() {
    let line = here() + 1;
    let repo = Provider::factory(|r| {
        r.config::<u16>("port")?;
        Ok(Repo)
    });
    let err = build_error(
        ContainerBuilder::new()
            .config(json!({ "port": 1 }))
            .add(repo),
    )
    .await;
    assert_eq!(
        err.to_string(),
        undeclared_message(
            line,
            "dyn cortex_di::ConfigSource",
            "Dependency::on::<dyn cortex_di::ConfigSource>()"
        )
    );
}

#[tokio::test]
async fn a_request_scoped_factory_fails_at_resolve_time_the_same_way() {
    let line = here() + 1;
    let repo = Provider::factory(|r| {
        r.get::<Db>()?;
        Ok(Repo)
    })
    .scope(Scope::Request);
    let c = ContainerBuilder::new()
        .add(Provider::value(Db))
        .add(repo)
        .build()
        .await
        .unwrap();
    let err = c.scope().get::<Repo>().err().unwrap();
    assert!(matches!(err, Error::UndeclaredDependency { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        undeclared_message(
            line,
            "container::undeclared::Db",
            "Dependency::on::<container::undeclared::Db>()"
        )
    );
}

#[tokio::test]
async fn an_async_factory_resolves_only_what_it_declares() {
    let line = here() + 1;
    let repo = Provider::async_factory(|r| async move {
        r.resolve::<Db>().await?;
        Ok(Repo)
    });
    let err = build_error(ContainerBuilder::new().add(Provider::value(Db)).add(repo)).await;
    assert_eq!(
        err.to_string(),
        undeclared_message(
            line,
            "container::undeclared::Db",
            "Dependency::on::<container::undeclared::Db>()"
        )
    );

    let c = ContainerBuilder::new()
        .add(Provider::value(Db))
        .add(
            Provider::async_factory(|r| async move {
                r.resolve::<Db>().await?;
                assert!(r.resolve_optional::<Cache>().await?.is_none());
                Ok(Repo)
            })
            .depends_on(Dependency::on::<Db>())
            .depends_on(Dependency::on::<Cache>().optional()),
        )
        .build()
        .await
        .unwrap();
    assert!(c.get::<Repo>().is_ok());
    // The container's own resolver belongs to no provider: it resolves anything bound.
    assert!(c.resolve::<Db>().await.is_ok());
}

#[tokio::test]
async fn a_dependency_whose_factory_is_at_fault_is_named_as_the_one_to_fix() {
    // `Service` declares `Repo` correctly; `Repo` (lazy, so made while `Service` is) does not
    // declare `Db`. The error blames `Repo`, inside the failure of `Service`.
    let line = here() + 1;
    let repo = Provider::factory(|r| {
        r.get::<Db>()?;
        Ok(Repo)
    })
    .lazy(true);
    let service = Provider::factory(|r| {
        r.get::<Repo>()?;
        Ok(Service)
    })
    .depends_on(Dependency::on::<Repo>());
    let err = build_error(
        ContainerBuilder::new()
            .add(Provider::value(Db))
            .add(repo)
            .add(service),
    )
    .await;
    let Error::Provider { provider, source } = &err else {
        panic!("expected a provider error, got {err}");
    };
    assert_eq!(provider.key, Key::of::<Service>());
    assert_eq!(
        source.to_string(),
        undeclared_message(
            line,
            "container::undeclared::Db",
            "Dependency::on::<container::undeclared::Db>()"
        )
    );
}

// Generated providers declare every field and argument they resolve, so they are unaffected.

#[injectable(profile = "undeclared")]
struct GenClock;

#[injectable(profile = "undeclared", name = "backup")]
struct GenStore;

#[injectable(profile = "undeclared", scope = "request")]
struct GenHandler {
    clock: Inject<GenClock>,
    #[inject(name = "backup")]
    store: Inject<GenStore>,
    missing: Option<Inject<Cache>>,
    #[inject(config = "handler.limit")]
    limit: u32,
}

struct GenPool {
    limit: u32,
}

#[provider(profile = "undeclared")]
async fn gen_pool(
    clock: Inject<GenClock>,
    #[inject(config = "handler.limit")] limit: u32,
) -> GenPool {
    let _ = clock;
    GenPool { limit }
}

#[tokio::test]
async fn generated_providers_declare_what_they_resolve() {
    let c = ContainerBuilder::new()
        .profile("undeclared")
        .config(json!({ "handler": { "limit": 7 } }))
        .discover()
        .build()
        .await
        .unwrap();
    let handler = c.scope().get::<GenHandler>().unwrap();
    assert!(Inject::ptr_eq(
        &handler.clock,
        &c.get::<GenClock>().unwrap()
    ));
    assert!(Inject::ptr_eq(
        &handler.store,
        &c.get_named::<GenStore>("backup").unwrap()
    ));
    assert!(handler.missing.is_none());
    assert_eq!(handler.limit, 7);
    assert_eq!(c.get::<GenPool>().unwrap().limit, 7);
}
