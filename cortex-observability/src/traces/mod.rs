//! OpenTelemetry traces (feature `otel`): OTLP export, W3C propagation, trace ids in logs.

use cortex_core::App;
use serde::Deserialize;

use crate::ObservabilityConfig;

/// `[observability.tracing]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TracingConfig {}

/// Adds this area's providers, routes and hooks to `app`, as `config` says.
pub(crate) fn install(app: App, _config: &ObservabilityConfig) -> App {
    app
}
