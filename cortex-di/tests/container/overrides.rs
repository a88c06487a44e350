//! Test overrides and conditional registration (profiles, predicates).

use std::sync::Arc;

use cortex_di::{ContainerBuilder, Dependency, Env, Error, GraphError, Inject, Provider};

trait Mailer: Send + Sync {
    fn name(&self) -> &'static str;
}
struct Smtp;
impl Mailer for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }
}
struct Fake;
impl Mailer for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }
}
struct Signup {
    mailer: Inject<dyn Mailer>,
}
#[derive(Debug, PartialEq)]
struct Port(u16);

fn app() -> ContainerBuilder {
    let mut b = ContainerBuilder::new();
    b.add(Provider::value(Smtp));
    b.add(Provider::<dyn Mailer>::alias::<Smtp>(|s| s));
    b.add(
        Provider::factory(|r| Ok(Signup { mailer: r.get()? }))
            .depends_on(Dependency::on::<dyn Mailer>()),
    );
    b.add(Provider::value(Port(8080)));
    b
}

#[tokio::test]
async fn an_override_replaces_a_binding_for_its_dependents() {
    let c = app()
        .override_arc::<dyn Mailer>(Arc::new(Fake))
        .build()
        .await
        .unwrap();
    assert_eq!(c.get::<Signup>().unwrap().mailer.name(), "fake");
    assert_eq!(
        c.get::<Smtp>().unwrap().name(),
        "smtp",
        "other bindings stay"
    );
}

#[tokio::test]
async fn an_override_value_replaces_a_value() {
    let c = app().override_value(Port(0)).build().await.unwrap();
    assert_eq!(*c.get::<Port>().unwrap(), Port(0));
    let graph = c.graph();
    let port = graph
        .providers
        .iter()
        .find(|p| p.type_name.ends_with("::Port"))
        .unwrap();
    assert_eq!(port.kind, cortex_di::ProviderKind::Override);
}

#[tokio::test]
async fn an_override_of_a_named_binding_replaces_only_that_name() {
    let c = ContainerBuilder::new()
        .add(Provider::value(Port(1)).named("a"))
        .add(Provider::value(Port(2)).named("b"))
        .override_provider(Provider::value(Port(9)).named("b"))
        .build()
        .await
        .unwrap();
    assert_eq!(*c.get_named::<Port>("a").unwrap(), Port(1));
    assert_eq!(*c.get_named::<Port>("b").unwrap(), Port(9));
}

#[tokio::test]
async fn an_override_that_replaces_nothing_is_an_error() {
    let err = ContainerBuilder::new()
        .override_value(Port(1))
        .build()
        .await
        .err()
        .unwrap();
    assert!(matches!(
        err.graph_errors().unwrap()[0],
        GraphError::OverrideWithoutTarget { .. }
    ));
    assert!(
        err.to_string()
            .contains("replaces nothing: no provider is bound to `container::overrides::Port`"),
        "{err}"
    );
}

fn profiled() -> ContainerBuilder {
    let mut b = ContainerBuilder::new();
    b.add(Provider::<dyn Mailer>::arc_value(Arc::new(Smtp)).profile("!test"));
    b.add(
        Provider::<dyn Mailer>::arc_value(Arc::new(Fake))
            .profile("test")
            .profile("dev"),
    );
    b
}

#[tokio::test]
async fn profiles_select_providers() {
    let c = profiled().build().await.unwrap();
    assert_eq!(c.get::<dyn Mailer>().unwrap().name(), "smtp");
    let c = profiled().profile("test").build().await.unwrap();
    assert_eq!(c.get::<dyn Mailer>().unwrap().name(), "fake");
    // In `dev` both match (`!test` and `dev`): two bindings of one key, reported as such.
    let err = profiled().profile("dev").build().await.err().unwrap();
    assert!(
        matches!(err.graph_errors().unwrap()[0], GraphError::Duplicate { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn a_predicate_reads_properties_and_profiles() {
    let driver = |env: &Env| env.property("mail.driver") == Some("fake");
    let mut b = ContainerBuilder::new();
    b.add(Provider::<dyn Mailer>::arc_value(Arc::new(Fake)).when(driver));
    b.add(Provider::<dyn Mailer>::arc_value(Arc::new(Smtp)).when(move |env| !driver(env)));
    b.property("mail.driver", "fake");
    let c = b.build().await.unwrap();
    assert_eq!(c.get::<dyn Mailer>().unwrap().name(), "fake");
    assert_eq!(c.env().property("mail.driver"), Some("fake"));
    let c = ContainerBuilder::new()
        .add(Provider::<dyn Mailer>::arc_value(Arc::new(Fake)).when(driver))
        .build()
        .await
        .unwrap();
    assert!(matches!(
        c.get::<dyn Mailer>(),
        Err(Error::NotRegistered { .. })
    ));
}
