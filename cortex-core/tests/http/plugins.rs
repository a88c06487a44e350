//! Plugins: applied in dependency order at build, every problem reported at once, turned off by
//! `[plugins] disable`, discovered when a crate submits one, listed by `CORTEX_INSPECT=plugins`.

use std::sync::{Arc, Mutex};

use cortex_core::config::Config;
use cortex_core::inspect::inspect_app;
use cortex_core::plugin::{Plugin, PluginError, PluginManifest, PluginState};
use cortex_core::{App, AppError};
use cortex_di::Provider;

/// A plugin that records when it is applied.
struct Recorder {
    manifest: PluginManifest,
    log: Arc<Mutex<Vec<String>>>,
}

impl Plugin for Recorder {
    fn manifest(&self) -> PluginManifest {
        self.manifest.clone()
    }

    fn build(&self, app: App) -> App {
        self.log.lock().unwrap().push(self.manifest.name.clone());
        app
    }
}

fn recorder(log: &Arc<Mutex<Vec<String>>>, manifest: PluginManifest) -> Recorder {
    Recorder {
        manifest,
        log: log.clone(),
    }
}

/// What the discovered plugin provides: the test checks it reached the container.
struct FromDiscovered(&'static str);

/// A plugin made discoverable the way a crate does it; harmless for the other tests in this
/// binary that call `discover()`.
struct Discoverable;

impl Plugin for Discoverable {
    fn manifest(&self) -> PluginManifest {
        PluginManifest::new("test-discoverable", "2.1.0").config_section("discoverable")
    }

    fn build(&self, app: App) -> App {
        app.provide(Provider::value(FromDiscovered("discovered")))
    }
}

cortex_core::plugin::submit!(Discoverable);

#[tokio::test]
async fn plugins_are_applied_after_their_dependencies_whatever_order_they_were_added_in() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let app = App::new()
        .plugin(recorder(
            &log,
            PluginManifest::new("auth", "1.0.0").depends_on("data", "^0.3"),
        ))
        .plugin(recorder(
            &log,
            PluginManifest::new("data", "0.3.2")
                .depends_on("metrics", ">=1")
                .config_section("database"),
        ))
        .plugin(recorder(&log, PluginManifest::new("metrics", "1.0.0")))
        .build()
        .await
        .unwrap();
    assert_eq!(*log.lock().unwrap(), ["metrics", "data", "auth"]);
    let listed: Vec<(&str, Option<usize>)> = app
        .plugins()
        .iter()
        .map(|p| (p.name.as_str(), p.order))
        .collect();
    assert_eq!(
        listed,
        [("metrics", Some(0)), ("data", Some(1)), ("auth", Some(2))]
    );
}

#[tokio::test]
async fn a_missing_dependency_a_version_mismatch_and_a_cycle_are_reported_together() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let err = App::new()
        .plugin(recorder(
            &log,
            PluginManifest::new("auth", "1.0.0").depends_on("sessions", "^1"),
        ))
        .plugin(recorder(
            &log,
            PluginManifest::new("data", "0.3.2").depends_on("metrics", "^2"),
        ))
        .plugin(recorder(&log, PluginManifest::new("metrics", "1.0.0")))
        .plugin(recorder(
            &log,
            PluginManifest::new("queue", "1.0.0").depends_on("events", "*"),
        ))
        .plugin(recorder(
            &log,
            PluginManifest::new("events", "1.0.0").depends_on("queue", "*"),
        ))
        .build()
        .await
        .expect_err("the plugins cannot be applied");
    let AppError::Plugins(errors) = &err else {
        panic!("expected plugin errors, got {err}");
    };
    assert!(
        matches!(
            errors.errors(),
            [
                PluginError::Missing { .. },
                PluginError::VersionMismatch { .. },
                PluginError::Cycle { .. }
            ]
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "3 plugin problems:\n  \
         - plugin `auth` depends on `sessions` (^1), which the app does not have; hint: add it with `.plugin(..)`, or enable the cargo feature of the crate that provides it\n  \
         - plugin `data` needs `metrics` ^2, but the app has version 1.0.0; hint: use a version of `metrics` that matches, or a version of `data` made for it\n  \
         - plugins depend on each other in a cycle: queue -> events -> queue; hint: break the cycle by moving what they share into a plugin both depend on"
    );
    assert!(log.lock().unwrap().is_empty(), "no plugin is applied");
}

#[tokio::test]
async fn a_plugin_named_in_plugins_disable_is_not_applied_and_is_listed_as_disabled() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let config = Config::from_toml("[plugins]\ndisable = ['metrics']").unwrap();
    let app = App::with_config(config)
        .plugin(recorder(&log, PluginManifest::new("metrics", "1.0.0")))
        .plugin(recorder(&log, PluginManifest::new("mail", "1.0.0")))
        .build()
        .await
        .unwrap();
    assert_eq!(*log.lock().unwrap(), ["mail"]);
    let states: Vec<(&str, PluginState)> = app
        .plugins()
        .iter()
        .map(|p| (p.name.as_str(), p.state))
        .collect();
    assert_eq!(
        states,
        [
            ("mail", PluginState::Enabled),
            ("metrics", PluginState::Disabled)
        ]
    );
}

#[tokio::test]
async fn an_unknown_name_in_plugins_disable_names_the_known_plugins_and_the_nearest() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let config = Config::from_toml("[plugins]\ndisable = ['metric']").unwrap();
    let err = App::with_config(config)
        .plugin(recorder(&log, PluginManifest::new("metrics", "1.0.0")))
        .plugin(recorder(&log, PluginManifest::new("mail", "1.0.0")))
        .build()
        .await
        .expect_err("an unknown plugin name");
    assert_eq!(
        err.to_string(),
        "`[plugins] disable` names `metric`, which is not a plugin of this app; the app's plugins: metrics, mail; hint: did you mean \"metrics\"?"
    );
}

#[tokio::test]
async fn a_submitted_plugin_is_applied_by_discover_and_can_be_disabled() {
    let app = App::new().discover().build().await.unwrap();
    let found = app.container().get::<FromDiscovered>().unwrap();
    assert_eq!(found.0, "discovered");
    let info = app
        .plugins()
        .iter()
        .find(|p| p.name == "test-discoverable")
        .unwrap();
    assert_eq!(
        (info.origin, info.state, info.version.as_deref()),
        ("discovered", PluginState::Enabled, Some("2.1.0"))
    );

    let config = Config::from_toml("[plugins]\ndisable = ['test-discoverable']").unwrap();
    let app = App::with_config(config).discover().build().await.unwrap();
    assert!(app.container().get::<FromDiscovered>().is_err());

    // Without discover(), nothing is found.
    let app = App::new().build().await.unwrap();
    assert!(app.plugins().is_empty());
}

#[tokio::test]
async fn a_plugin_added_by_another_plugin_is_applied_too() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let inner = log.clone();
    let app = App::new()
        .plugin(move |app: App| {
            app.plugin(recorder(&inner, PluginManifest::new("nested", "1.0.0")))
        })
        .build()
        .await
        .unwrap();
    assert_eq!(*log.lock().unwrap(), ["nested"]);
    assert_eq!(app.plugins().len(), 2);
}

#[tokio::test]
async fn plugins_are_printed_as_json_by_inspection() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let config = Config::from_toml("[plugins]\ndisable = ['mail']").unwrap();
    let app = App::with_config(config)
        .plugin(recorder(
            &log,
            PluginManifest::new("data", "0.3.2")
                .depends_on("metrics", ">=1")
                .config_section("database"),
        ))
        .plugin(recorder(&log, PluginManifest::new("metrics", "1.0.0")))
        .plugin(recorder(&log, PluginManifest::new("mail", "1.0.0")));
    let out = inspect_app(app, "plugins").await.unwrap();
    let plugins: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        plugins,
        serde_json::json!([
            {"name": "metrics", "version": "1.0.0", "order": 0, "state": "enabled", "config_section": null, "dependencies": [], "origin": "app"},
            {"name": "data", "version": "0.3.2", "order": 1, "state": "enabled", "config_section": "database", "dependencies": [{"name": "metrics", "requirement": ">=1"}], "origin": "app"},
            {"name": "mail", "version": "1.0.0", "order": null, "state": "disabled", "config_section": null, "dependencies": [], "origin": "app"},
        ])
    );
}

/// A plugin that reads its section in `build` and reports a bad one with `App::fail`.
struct Sized;

#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct SizedConfig {
    capacity: usize,
}

impl Plugin for Sized {
    fn manifest(&self) -> PluginManifest {
        PluginManifest::new("sized", "1.0.0").config_section("sized")
    }

    fn build(&self, app: App) -> App {
        match app.config().get_or_default::<SizedConfig>("sized") {
            Ok(config) => app.provide(Provider::value(config)),
            Err(error) => app.fail(error),
        }
    }
}

#[tokio::test]
async fn failures_reported_by_plugins_are_listed_with_the_other_plugin_problems() {
    let config =
        Config::from_toml("[sized]\ncapacity = \"lots\"\n\n[plugins]\ndisable = [\"sizd\"]")
            .unwrap();
    let queue = |app: App| app.fail(std::io::Error::other("the queue `orders` is not declared"));
    let err = App::with_config(config)
        .plugin(Sized)
        .plugin(queue)
        .build()
        .await
        .expect_err("two plugins failed");
    let AppError::Plugins(errors) = &err else {
        panic!("expected plugin errors, got {err}");
    };
    let [
        PluginError::Build {
            plugin: first,
            source,
        },
        PluginError::Build {
            plugin: second,
            source: io,
        },
        PluginError::UnknownDisabled { name, .. },
    ] = errors.errors()
    else {
        panic!("{err}");
    };
    assert_eq!(first, "sized");
    assert!(source.to_string().contains("sized.capacity"), "{source}");
    assert!(
        second.contains("failures_reported_by_plugins"),
        "a closure is named after its function: {second}"
    );
    assert_eq!(io.to_string(), "the queue `orders` is not declared");
    assert!(io.error().downcast_ref::<std::io::Error>().is_some());
    assert_eq!(name, "sizd");

    // A good section: the plugin sets itself up.
    let config = Config::from_toml("[sized]\ncapacity = 3").unwrap();
    let app = App::with_config(config)
        .plugin(Sized)
        .build()
        .await
        .unwrap();
    assert_eq!(app.container().get::<SizedConfig>().unwrap().capacity, 3);
}

#[tokio::test]
async fn the_app_itself_can_fail_its_build_outside_any_plugin() {
    let err = App::new()
        .fail(std::io::Error::other("no tenant configured"))
        .build()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `app` cannot be set up: no tenant configured"
    );
}
