//! Introspection: providers with scope and dependencies, as data, JSON, Mermaid and DOT.

use cortex_di::{ContainerBuilder, Dependency, Provider, ProviderKind, Scope};

struct Config;
struct Repo;
struct Service;

fn app() -> ContainerBuilder {
    let mut b = ContainerBuilder::new();
    b.add(Provider::value(Config));
    b.add(
        Provider::factory(|_| Ok(Repo))
            .scope(Scope::Request)
            .depends_on(Dependency::on::<Config>().field("config")),
    );
    b.add(
        Provider::factory(|_| Ok(Service))
            .scope(Scope::Request)
            .depends_on(Dependency::on::<Repo>().field("repo"))
            .depends_on(Dependency::on::<u8>().optional().field("missing")),
    );
    b
}

#[tokio::test]
async fn the_graph_lists_each_provider_with_scope_kind_location_and_dependencies() {
    let line = 1 + include_str!("introspection.rs")
        .lines()
        .position(|l| l.contains("b.add(Provider::value(Config));"))
        .unwrap();
    let c = app().build().await.unwrap();
    let graph = c.graph();
    assert_eq!(graph.providers.len(), 3);
    let config = &graph.providers[0];
    assert!(config.type_name.ends_with("::Config"));
    assert_eq!(config.scope, Scope::Singleton);
    assert_eq!(config.kind, ProviderKind::Value);
    assert_eq!(
        config.location,
        format!("cortex-di/tests/container/introspection.rs:{line}")
    );
    let service = &graph.providers[2];
    assert_eq!(service.scope, Scope::Request);
    assert_eq!(service.dependencies.len(), 2);
    assert_eq!(service.dependencies[0].provider, Some(1));
    assert_eq!(service.dependencies[0].field.as_deref(), Some("repo"));
    assert!(service.dependencies[1].optional);
    assert_eq!(service.dependencies[1].provider, None);
    assert_eq!(
        app().validate().unwrap(),
        graph,
        "validate describes the same graph without building"
    );
}

#[tokio::test]
async fn the_graph_exports_as_json() {
    let graph = app().validate().unwrap();
    let json: serde_json::Value = serde_json::from_str(&graph.to_json()).unwrap();
    let providers = json["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 3);
    assert_eq!(providers[1]["scope"], "request");
    assert_eq!(providers[1]["kind"], "factory");
    assert_eq!(providers[1]["dependencies"][0]["field"], "config");
    assert_eq!(providers[1]["dependencies"][0]["provider"], 0);
    assert!(providers[1]["type"].as_str().unwrap().ends_with("::Repo"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&graph.to_json_pretty()).unwrap(),
        json
    );
}

#[tokio::test]
async fn the_graph_exports_as_mermaid_and_dot() {
    let graph = app().validate().unwrap();
    let mermaid = graph.to_mermaid();
    assert!(mermaid.starts_with("flowchart LR\n"));
    assert!(
        mermaid.contains("    p0[\"container::introspection::Config<br/>singleton\"]\n"),
        "{mermaid}"
    );
    assert!(mermaid.contains("    p1 -->|config| p0\n"), "{mermaid}");
    assert!(mermaid.contains("    p2 -->|repo| p1\n"), "{mermaid}");
    assert_eq!(
        mermaid.matches("-->").count(),
        2,
        "no edge for the absent optional dependency"
    );
    let dot = graph.to_dot();
    assert!(dot.starts_with("digraph cortex {\n"));
    assert!(
        dot.contains("    p1 [label=\"container::introspection::Repo\\nrequest\"];\n"),
        "{dot}"
    );
    assert!(dot.contains("    p2 -> p1 [label=\"repo\"];\n"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));
}
