//! Prometheus metrics: the recorder, `/metrics`, and what Cortex records.

use cortex_core::App;
use serde::Deserialize;

use crate::ObservabilityConfig;

/// `[observability.metrics]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// `[observability.metrics.access]`: who may read it.
    pub access: crate::access::AccessConfig,
}

/// Adds this area's providers, routes and hooks to `app`, as `config` says.
pub(crate) fn install(app: App, _config: &ObservabilityConfig) -> App {
    app
}
