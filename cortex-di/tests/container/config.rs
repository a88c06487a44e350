//! Configuration values read by providers through the bound `ConfigSource`.

use cortex_di::{ContainerBuilder, Dependency, Error, Provider};
use serde_json::json;

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Server {
    host: String,
    port: u16,
}
struct App {
    port: u16,
}

fn with_port() -> Provider<App> {
    Provider::factory(|r| {
        Ok(App {
            port: r.config("server.port")?,
        })
    })
    .depends_on(Dependency::on::<dyn cortex_di::ConfigSource>())
}

#[tokio::test]
async fn a_provider_reads_typed_values_by_dotted_key() {
    let c = ContainerBuilder::new()
        .config(json!({ "server": { "host": "127.0.0.1", "port": 8080 } }))
        .add(with_port())
        .add(
            Provider::factory(|r| r.config::<Server>("server").map_err(Into::into))
                .depends_on(Dependency::on::<dyn cortex_di::ConfigSource>()),
        )
        .build()
        .await
        .unwrap();
    assert_eq!(c.get::<App>().unwrap().port, 8080);
    assert_eq!(
        *c.get::<Server>().unwrap(),
        Server {
            host: "127.0.0.1".into(),
            port: 8080
        }
    );
}

#[tokio::test]
async fn a_missing_key_fails_at_startup_naming_the_key_and_the_type() {
    let err = ContainerBuilder::new()
        .config(json!({ "server": {} }))
        .add(with_port())
        .build()
        .await
        .err()
        .unwrap();
    let message = err.to_string();
    assert!(
        message.contains(
            "failed: config key `server.port` is missing, required by `container::config::App`"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_reported_without_printing_the_value() {
    let err = ContainerBuilder::new()
        .config(json!({ "server": { "port": "hunter2" } }))
        .add(with_port())
        .build()
        .await
        .err()
        .unwrap();
    let message = err.to_string();
    assert!(
        message.contains("config key `server.port` cannot be read as `u16` (found a string)"),
        "{message}"
    );
    assert!(
        !message.contains("hunter2"),
        "values may be secrets: {message}"
    );
    assert!(matches!(err, Error::Provider { .. }));
}

#[tokio::test]
async fn no_config_source_is_a_graph_error() {
    let err = ContainerBuilder::new()
        .add(with_port())
        .build()
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("no provider for `dyn cortex_di::ConfigSource`"),
        "{err}"
    );
}
