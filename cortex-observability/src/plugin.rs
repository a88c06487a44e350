//! [`ObservabilityPlugin`](struct@ObservabilityPlugin): reads `[observability]`, wires metrics,
//! traces and the dashboard.

use cortex_core::App;
use cortex_core::plugin::{Plugin, PluginManifest};

use crate::config::ObservabilityConfig;

/// Metrics, traces and the operations dashboard as a plugin:
/// `App::new().plugin(ObservabilityPlugin)`, or the `cortex` facade's `observability` feature and
/// `App::discover()`.
///
/// ```
/// use cortex_core::App;
/// use cortex_observability::ObservabilityPlugin;
///
/// let app = App::new().plugin(ObservabilityPlugin);
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ObservabilityPlugin;

impl Plugin for ObservabilityPlugin {
    fn manifest(&self) -> PluginManifest {
        PluginManifest::new("observability", env!("CARGO_PKG_VERSION"))
            .config_section("observability")
    }

    fn build(&self, app: App) -> App {
        let config = match ObservabilityConfig::from_config(app.config()) {
            Ok(config) => config,
            Err(error) => return app.fail(error),
        };
        let app = crate::traces::install(app, &config);
        #[cfg(feature = "client")]
        let app = crate::client::install(app);
        let app = crate::metrics::install(app, &config);
        crate::dashboard::install(app, &config)
    }
}

#[cfg(feature = "discover")]
cortex_core::plugin::submit!(ObservabilityPlugin);
