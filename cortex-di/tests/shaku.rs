//! The `shaku` bridge: a shaku module's components and providers imported into a Cortex container.
//!
//! Run with `cargo test -p cortex-di --features shaku --test shaku`.
#![cfg(feature = "shaku")]

use std::sync::Arc;

use cortex_di::{ContainerBuilder, Dependency, Error, GraphError, Inject, Key, Provider, Scope};
use shaku::{Component, HasComponent, Interface, Module, module};

// --- the shaku side, as an existing shaku code base would have it -------------------------------

trait Greeter: Interface {
    fn greet(&self, name: &str) -> String;
}

#[derive(Component)]
#[shaku(interface = Greeter)]
struct English {
    #[shaku(default = "Hello".to_string())]
    word: String,
}

impl Greeter for English {
    fn greet(&self, name: &str) -> String {
        format!("{}, {name}!", self.word)
    }
}

/// Made fresh by the module on every `provide()`.
trait Letter: Send + Sync {
    fn text(&self) -> String;
}

#[derive(shaku::Provider)]
#[shaku(interface = Letter)]
struct Welcome {
    #[shaku(inject)]
    greeter: Arc<dyn Greeter>,
}

impl Letter for Welcome {
    fn text(&self) -> String {
        self.greeter.greet("new user")
    }
}

/// A shaku provider that fails, as a database connection provider would when the database is down.
trait Connection: Send + Sync {}

struct Unreachable;

impl Connection for Unreachable {}

impl<M: Module> shaku::Provider<M> for Unreachable {
    type Interface = dyn Connection;

    fn provide(_: &M) -> Result<Box<dyn Connection>, Box<dyn std::error::Error>> {
        Err("database is unreachable".into())
    }
}

module! {
    Greetings {
        components = [English],
        providers = [Welcome, Unreachable]
    }
}

fn greetings() -> Arc<Greetings> {
    Arc::new(Greetings::builder().build())
}

// --- the Cortex side ----------------------------------------------------------------------------

/// A Cortex singleton that depends on a shaku component.
struct Onboarding {
    greeter: Inject<dyn Greeter>,
}

/// A Cortex request-scoped service that depends on a shaku provider.
struct Mail {
    letter: Inject<dyn Letter>,
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn imported_components_are_the_modules_singletons() {
    let module = greetings();
    let mut builder = ContainerBuilder::new();
    builder
        .shaku_module(module.clone())
        .component::<dyn Greeter>();
    let c = block_on(builder.build()).unwrap();

    let greeter = c.get::<dyn Greeter>().unwrap();
    assert_eq!(greeter.greet("Ada"), "Hello, Ada!");
    let from_shaku: Arc<dyn Greeter> = HasComponent::<dyn Greeter>::resolve(&*module);
    assert!(
        Arc::ptr_eq(greeter.as_arc(), &from_shaku),
        "the container hands out the module's component"
    );
    assert!(Inject::ptr_eq(&greeter, &c.get::<dyn Greeter>().unwrap()));

    // The module itself is bound too.
    let bound = c.get::<Greetings>().unwrap();
    assert!(Arc::ptr_eq(bound.as_arc(), &module));
}

#[test]
fn imported_providers_make_a_new_instance_per_resolve() {
    let mut builder = ContainerBuilder::new();
    builder
        .shaku_module(greetings())
        .component::<dyn Greeter>()
        .provider::<dyn Letter>();
    let c = block_on(builder.build()).unwrap();

    let a = c.get::<dyn Letter>().unwrap();
    let b = c.get::<dyn Letter>().unwrap();
    assert!(
        !Inject::ptr_eq(&a, &b),
        "a shaku provider is a Cortex transient"
    );
    assert_eq!(a.text(), "Hello, new user!");
}

#[test]
fn shaku_bindings_are_dependencies_of_cortex_providers() {
    let mut builder = ContainerBuilder::new();
    builder
        .shaku_module(greetings())
        .component::<dyn Greeter>()
        .provider::<dyn Letter>();
    builder
        .add(
            Provider::factory(|r| {
                Ok(Onboarding {
                    greeter: r.get::<dyn Greeter>()?,
                })
            })
            .depends_on(Dependency::on::<dyn Greeter>().field("greeter")),
        )
        .add(
            Provider::factory(|r| {
                Ok(Mail {
                    letter: r.get::<dyn Letter>()?,
                })
            })
            .depends_on(Dependency::on::<dyn Letter>().field("letter"))
            .scope(Scope::Request),
        );
    let c = block_on(builder.build()).unwrap();

    let onboarding = c.get::<Onboarding>().unwrap();
    assert_eq!(onboarding.greeter.greet("Grace"), "Hello, Grace!");
    assert!(Inject::ptr_eq(
        &onboarding.greeter,
        &c.get::<dyn Greeter>().unwrap()
    ));

    // The request scope caches what the shaku provider made, once per request.
    let first = c.scope();
    let second = c.scope();
    let m1 = first.get::<Mail>().unwrap();
    assert!(Inject::ptr_eq(
        &m1.letter,
        &first.get::<Mail>().unwrap().letter
    ));
    assert!(!Inject::ptr_eq(
        &m1.letter,
        &second.get::<Mail>().unwrap().letter
    ));
    assert_eq!(m1.letter.text(), "Hello, new user!");

    // Introspection shows where the imported bindings come from.
    let graph = c.graph();
    let greeter = graph
        .providers
        .iter()
        .find(|p| p.type_name.contains("Greeter"))
        .unwrap();
    assert!(
        greeter.declared_by.ends_with("Greetings"),
        "{}",
        greeter.declared_by
    );
    assert!(greeter.dependencies[0].type_name.ends_with("Greetings"));
}

#[test]
fn a_shaku_interface_that_was_not_imported_is_a_graph_error() {
    let mut builder = ContainerBuilder::new();
    // The module has a `Letter` provider, but only the greeter is imported.
    builder.shaku_module(greetings()).component::<dyn Greeter>();
    builder.add(
        Provider::factory(|r| {
            Ok(Mail {
                letter: r.get::<dyn Letter>()?,
            })
        })
        .depends_on(Dependency::on::<dyn Letter>().field("letter"))
        .scope(Scope::Request),
    );
    let err = block_on(builder.build())
        .err()
        .expect("the graph is invalid");

    let problems = err.graph_errors().expect("a graph error");
    assert_eq!(problems.len(), 1, "{err}");
    match &problems[0] {
        GraphError::MissingProvider {
            dependency,
            required_by,
            field,
            ..
        } => {
            assert_eq!(*dependency, Key::of::<dyn Letter>());
            assert_eq!(required_by.key, Key::of::<Mail>());
            assert_eq!(*field, Some("letter"));
        }
        other => panic!("expected a missing provider, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("no provider for `dyn ") && message.contains("Letter`"),
        "{message}"
    );
}

#[test]
fn a_singleton_capturing_a_shaku_provider_is_a_scope_violation() {
    let mut builder = ContainerBuilder::new();
    builder.shaku_module(greetings()).provider::<dyn Letter>();
    builder.add(
        Provider::factory(|r| {
            Ok(Mail {
                letter: r.get::<dyn Letter>()?,
            })
        })
        .depends_on(Dependency::on::<dyn Letter>().field("letter")),
    );
    let err = block_on(builder.build())
        .err()
        .expect("the graph is invalid");

    let problems = err.graph_errors().expect("a graph error");
    assert!(
        matches!(problems, [GraphError::ScopeViolation { dependency, .. }] if dependency.key == Key::of::<dyn Letter>()),
        "{err}"
    );
}

#[test]
fn a_failing_shaku_provider_is_a_provider_error() {
    let mut builder = ContainerBuilder::new();
    builder
        .shaku_module(greetings())
        .provider::<dyn Connection>();
    let c = block_on(builder.build()).unwrap();

    let err = c
        .get::<dyn Connection>()
        .err()
        .expect("the shaku provider fails");
    match &err {
        Error::Provider { provider, source } => {
            assert_eq!(provider.key, Key::of::<dyn Connection>());
            assert_eq!(
                source.to_string(),
                "the shaku provider failed: database is unreachable"
            );
        }
        other => panic!("expected a provider error, got {other}"),
    }
}

#[test]
fn named_imports_bind_under_their_names() {
    let mut builder = ContainerBuilder::new();
    builder
        .shaku_module(greetings())
        .component_named::<dyn Greeter>("english")
        .provider_named::<dyn Letter>("welcome");
    let c = block_on(builder.build()).unwrap();

    assert_eq!(
        c.get_named::<dyn Greeter>("english").unwrap().greet("Alan"),
        "Hello, Alan!"
    );
    assert_eq!(
        c.get_named::<dyn Letter>("welcome").unwrap().text(),
        "Hello, new user!"
    );
    assert!(
        c.get::<dyn Greeter>().is_err(),
        "nothing is bound without the name"
    );
}
