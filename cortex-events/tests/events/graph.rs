//! Handlers as nodes of the container's graph: `cortex graph` shows them with their dependencies,
//! and a dependency nothing provides fails the app at startup, naming the handler.

use cortex_core::App;
use cortex_di::{Dependency, Provider};
use cortex_events::{Envelope, Event, EventsPlugin, HandlerDescriptor};

#[derive(serde::Serialize, serde::Deserialize)]
struct UserCreated {
    email: String,
}

impl Event for UserCreated {
    const TOPIC: &'static str = "user.created";
}

struct Mailer;
struct Audit;

fn welcome() -> HandlerDescriptor {
    HandlerDescriptor::new(
        "welcome",
        |scope, _user: Envelope<UserCreated>| async move {
            let _mailer = scope.resolve::<Mailer>().await?;
            Ok::<_, cortex_di::BoxError>(())
        },
    )
    .dependency(Dependency::on::<Mailer>().field("mailer"))
    .dependency(Dependency::on::<Audit>().optional().field("audit"))
    .declared_at_location(concat!(file!(), ":", line!()))
}

#[tokio::test]
async fn a_handler_is_a_node_with_its_dependencies_in_every_format() {
    let app = App::new()
        .provide(Provider::value(Mailer))
        .plugin(EventsPlugin::default().handler(welcome()))
        .build()
        .await
        .unwrap();
    let graph = app.container().graph();
    let (index, node) = graph
        .providers
        .iter()
        .enumerate()
        .find(|(_, p)| p.name.as_deref() == Some("welcome"))
        .expect("the handler's node");
    assert_eq!(node.declared_by, "#[event_handler] welcome");
    assert!(node.location.contains("graph.rs:"), "{}", node.location);
    assert_eq!(node.scope.to_string(), "request");
    let mailer = graph
        .providers
        .iter()
        .position(|p| p.type_name.ends_with("Mailer"))
        .unwrap();
    let edges: Vec<(Option<&str>, Option<usize>, bool)> = node
        .dependencies
        .iter()
        .map(|d| (d.field.as_deref(), d.provider, d.optional))
        .collect();
    assert_eq!(
        edges,
        [
            (Some("mailer"), Some(mailer), false),
            (Some("audit"), None, true)
        ]
    );

    let mermaid = graph.to_mermaid();
    assert!(
        mermaid.contains(&format!(
            "p{index}[\"cortex_events::plugin::EventHandlerNode (welcome)<br/>request\"]"
        )),
        "{mermaid}"
    );
    assert!(
        mermaid.contains(&format!("p{index} -->|mailer| p{mailer}")),
        "{mermaid}"
    );
    let json: serde_json::Value = serde_json::from_str(&graph.to_json()).unwrap();
    let welcome = &json["providers"][index];
    assert_eq!(welcome["name"], "welcome");
    assert_eq!(welcome["declared_by"], "#[event_handler] welcome");
    assert_eq!(welcome["dependencies"][0]["field"], "mailer");
    assert_eq!(welcome["dependencies"][0]["provider"], mailer);
    assert!(
        graph
            .to_dot()
            .contains(&format!("p{index} -> p{mailer} [label=\"mailer\"];"))
    );
}

#[tokio::test]
async fn a_missing_dependency_fails_the_app_naming_the_handler() {
    let err = App::new()
        .plugin(EventsPlugin::default().handler(welcome()))
        .build()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("#[event_handler] welcome"), "{err}");
    assert!(err.contains("Mailer"), "{err}");
    assert!(err.contains("mailer"), "{err}");
}
