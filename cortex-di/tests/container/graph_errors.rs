//! Every graph error: typed, with a message that names the types and where they were declared.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cortex_di::{ContainerBuilder, Dependency, Error, GraphError, Provider, Scope};

use crate::support::here;

struct A;
struct B;
struct C;
struct Db;
trait Mailer: Send + Sync {}
struct Smtp;
impl Mailer for Smtp {}

fn needs<T: ?Sized + 'static>(field: &'static str) -> Dependency {
    Dependency::on::<T>().field(field)
}

async fn graph_errors(builder: &mut ContainerBuilder) -> Vec<GraphError> {
    match builder.build().await {
        Err(Error::Graph(errors)) => errors.0,
        Err(other) => panic!("expected a graph error, got {other}"),
        Ok(_) => panic!("expected a graph error, the container was built"),
    }
}

#[tokio::test]
async fn missing_provider_names_the_dependency_who_needs_it_the_field_and_where() {
    let line = here() + 1;
    let p = Provider::factory(|r| r.get::<Db>().map(|_| A).map_err(Into::into))
        .depends_on(needs::<Db>("db"));
    let mut b = ContainerBuilder::new();
    b.add(p);
    let errors = graph_errors(&mut b).await;
    assert_eq!(errors.len(), 1);
    let GraphError::MissingProvider {
        dependency,
        required_by,
        field,
        candidates,
    } = &errors[0]
    else {
        panic!("expected MissingProvider, got {:?}", errors[0]);
    };
    assert!(dependency.type_name().ends_with("::Db"));
    assert!(required_by.key.type_name().ends_with("::A"));
    assert_eq!(required_by.location.line, line);
    assert!(required_by.location.file.ends_with("graph_errors.rs"));
    assert_eq!(*field, Some("db"));
    assert!(candidates.is_empty());
    let message = errors[0].to_string();
    assert!(
        message.starts_with("no provider for `container::graph_errors::Db`, required by `container::graph_errors::A` declared at "),
        "{message}"
    );
    assert!(
        message.contains(&format!("graph_errors.rs:{line} (field `db`)")),
        "{message}"
    );
    assert!(
        message.contains("hint: annotate `container::graph_errors::Db` with #[injectable]"),
        "{message}"
    );
}

#[tokio::test]
async fn missing_provider_hint_lists_the_bindings_of_that_type_under_other_names() {
    let mut b = ContainerBuilder::new();
    b.add(Provider::value(Db).named("replica"));
    b.add(Provider::factory(|_| Ok(A)).depends_on(needs::<Db>("db")));
    let errors = graph_errors(&mut b).await;
    let GraphError::MissingProvider { candidates, .. } = &errors[0] else {
        panic!("{:?}", errors[0])
    };
    assert_eq!(candidates.len(), 1);
    assert_eq!(candidates[0].name(), Some("replica"));
    assert!(
        errors[0].to_string().contains(
            "hint: these bindings exist: `container::graph_errors::Db (named \"replica\")`"
        )
    );
}

#[tokio::test]
async fn an_optional_dependency_may_be_missing() {
    let c = ContainerBuilder::new()
        .add(
            Provider::factory(|r| {
                assert!(r.get_optional::<Db>()?.is_none());
                Ok(A)
            })
            .depends_on(Dependency::on::<Db>().optional()),
        )
        .build()
        .await
        .unwrap();
    c.get::<A>().unwrap();
}

#[tokio::test]
async fn a_cycle_is_reported_with_its_full_path() {
    let mut b = ContainerBuilder::new();
    b.add(Provider::factory(|_| Ok(A)).depends_on(needs::<B>("b")));
    b.add(Provider::factory(|_| Ok(B)).depends_on(needs::<C>("c")));
    b.add(Provider::factory(|_| Ok(C)).depends_on(needs::<A>("a")));
    let errors = graph_errors(&mut b).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    let GraphError::Cycle { path } = &errors[0] else {
        panic!("{:?}", errors[0])
    };
    let names: Vec<&str> = path
        .iter()
        .map(|p| p.key.type_name().rsplit("::").next().unwrap())
        .collect();
    assert_eq!(names, ["A", "B", "C", "A"]);
    let message = errors[0].to_string();
    assert!(
        message.starts_with(
            "dependency cycle: `container::graph_errors::A` -> `container::graph_errors::B` -> `container::graph_errors::C` -> `container::graph_errors::A` (`container::graph_errors::A` at "
        ),
        "{message}"
    );
}

#[tokio::test]
async fn a_provider_that_needs_itself_is_a_cycle() {
    let mut b = ContainerBuilder::new();
    b.add(Provider::factory(|_| Ok(A)).depends_on(needs::<A>("me")));
    let errors = graph_errors(&mut b).await;
    let GraphError::Cycle { path } = &errors[0] else {
        panic!("{:?}", errors[0])
    };
    assert_eq!(path.len(), 2);
}

#[tokio::test]
async fn a_singleton_that_captures_a_request_scoped_value_is_a_scope_violation() {
    let mut b = ContainerBuilder::new();
    b.add(Provider::factory(|_| Ok(Db)).scope(Scope::Request));
    b.add(Provider::factory(|_| Ok(A)).depends_on(needs::<Db>("db")));
    let errors = graph_errors(&mut b).await;
    let GraphError::ScopeViolation {
        provider,
        provider_scope,
        dependency,
        dependency_scope,
        field,
    } = &errors[0]
    else {
        panic!("{:?}", errors[0])
    };
    assert!(provider.key.type_name().ends_with("::A"));
    assert!(dependency.key.type_name().ends_with("::Db"));
    assert_eq!(
        (*provider_scope, *dependency_scope),
        (Scope::Singleton, Scope::Request)
    );
    assert_eq!(*field, Some("db"));
    let message = errors[0].to_string();
    assert!(
        message.starts_with("scope violation: singleton `container::graph_errors::A` declared at "),
        "{message}"
    );
    assert!(
        message.contains("depends on request `container::graph_errors::Db` declared at"),
        "{message}"
    );
    assert!(
        message.contains("hint: make `container::graph_errors::A` request too"),
        "{message}"
    );
}

#[tokio::test]
async fn a_singleton_that_captures_a_transient_is_a_scope_violation() {
    let mut b = ContainerBuilder::new();
    b.add(Provider::factory(|_| Ok(Db)).scope(Scope::Transient));
    b.add(
        Provider::factory(|_| Ok(A))
            .lazy(true)
            .depends_on(needs::<Db>("db")),
    );
    let errors = graph_errors(&mut b).await;
    assert!(matches!(
        &errors[0],
        GraphError::ScopeViolation {
            dependency_scope: Scope::Transient,
            provider_scope: Scope::Singleton,
            ..
        }
    ));
}

#[tokio::test]
async fn request_and_transient_providers_may_depend_on_anything_longer_lived_or_transient() {
    let c = ContainerBuilder::new()
        .add(Provider::value(Db))
        .add(
            Provider::factory(|_| Ok(B))
                .scope(Scope::Request)
                .depends_on(needs::<Db>("db")),
        )
        .add(
            Provider::factory(|_| Ok(C))
                .scope(Scope::Transient)
                .depends_on(needs::<B>("b")),
        )
        .add(
            Provider::factory(|_| Ok(A))
                .scope(Scope::Request)
                .depends_on(needs::<C>("c")),
        )
        .build()
        .await
        .unwrap();
    let scope = c.scope();
    scope.get::<A>().unwrap();
}

#[tokio::test]
async fn a_trait_object_bound_to_a_request_scoped_impl_is_request_scoped_too() {
    let mut b = ContainerBuilder::new();
    b.add(Provider::factory(|_| Ok(Smtp)).scope(Scope::Request));
    b.add(Provider::<dyn Mailer>::alias::<Smtp>(|s| s));
    b.add(Provider::factory(|_| Ok(A)).depends_on(needs::<dyn Mailer>("mailer")));
    let errors = graph_errors(&mut b).await;
    assert!(
        matches!(
            &errors[0],
            GraphError::ScopeViolation {
                dependency_scope: Scope::Request,
                ..
            }
        ),
        "{errors:?}"
    );
}

#[tokio::test]
async fn two_unnamed_bindings_of_one_type_are_reported_with_both_locations() {
    let first = here() + 2;
    let mut b = ContainerBuilder::new();
    b.add(Provider::<dyn Mailer>::arc_value(Arc::new(Smtp)));
    b.add(Provider::<dyn Mailer>::arc_value(Arc::new(Smtp)));
    let errors = graph_errors(&mut b).await;
    let GraphError::Duplicate {
        first: a,
        second: b,
    } = &errors[0]
    else {
        panic!("{:?}", errors[0])
    };
    assert_eq!((a.location.line, b.location.line), (first, first + 1));
    let message = errors[0].to_string();
    assert!(message.starts_with("`dyn container::graph_errors::Mailer` is bound twice: by `dyn container::graph_errors::Mailer` declared at "), "{message}");
    assert!(
        message.contains("hint: give one of them a name"),
        "{message}"
    );
}

#[tokio::test]
async fn bindings_of_one_type_under_different_names_coexist() {
    let c = ContainerBuilder::new()
        .add(Provider::value(1_u8).named("one"))
        .add(Provider::value(2_u8).named("two"))
        .add(Provider::value(0_u8))
        .build()
        .await
        .unwrap();
    assert_eq!(*c.get_named::<u8>("one").unwrap(), 1);
    assert_eq!(*c.get_named::<u8>("two").unwrap(), 2);
    assert_eq!(*c.get::<u8>().unwrap(), 0);
    assert!(matches!(
        c.get_named::<u8>("three"),
        Err(Error::NotRegistered { .. })
    ));
}

#[tokio::test]
async fn every_problem_is_reported_at_once_and_nothing_is_created() {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let mut b = ContainerBuilder::new();
    b.add(Provider::factory(|_| {
        MADE.fetch_add(1, Ordering::SeqCst);
        Ok(Db)
    }));
    b.add(Provider::factory(|_| Ok(A)).depends_on(needs::<B>("b")));
    b.add(Provider::factory(|_| Ok(B)).depends_on(needs::<A>("a")));
    b.add(Provider::factory(|_| Ok(C)).depends_on(needs::<Smtp>("smtp")));
    b.add(Provider::value(1_u32));
    b.add(Provider::value(2_u32));
    let errors = graph_errors(&mut b).await;
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().any(|e| matches!(e, GraphError::Cycle { .. })));
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, GraphError::MissingProvider { .. }))
    );
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, GraphError::Duplicate { .. }))
    );
    assert_eq!(MADE.load(Ordering::SeqCst), 0);
    let mut b = ContainerBuilder::new();
    b.add(Provider::value(1_u32));
    b.add(Provider::value(2_u32));
    b.add(Provider::factory(|_| Ok(C)).depends_on(needs::<Smtp>("smtp")));
    let message = b.build().await.err().unwrap().to_string();
    assert!(
        message.starts_with("invalid dependency graph (2 problems):\n  1. "),
        "{message}"
    );
    assert!(message.contains("\n  2. "), "{message}");
}

#[tokio::test]
async fn validate_reports_the_same_errors_without_building() {
    let mut b = ContainerBuilder::new();
    b.add(Provider::factory(|_| Ok(A)).depends_on(needs::<B>("b")));
    let errors = b.validate().unwrap_err();
    assert!(matches!(
        errors.errors()[0],
        GraphError::MissingProvider { .. }
    ));
}
