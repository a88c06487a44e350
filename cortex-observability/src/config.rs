//! `[observability]`: the whole section, each area's part defined next to the area.
//!
//! Every key has a default; an unknown key is an error naming it.

use cortex_core::config::{Config, ConfigError};
use serde::Deserialize;

use crate::dashboard::DashboardConfig;
use crate::metrics::MetricsConfig;
use crate::traces::TracingConfig;

/// The `[observability]` section of `cortex.toml`.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_observability::ObservabilityConfig;
///
/// let config = Config::from_toml("[observability]\nservice_name = 'shop'")?;
/// let observability = ObservabilityConfig::from_config(&config)?;
/// assert_eq!(observability.service_name.as_deref(), Some("shop"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ObservabilityConfig {
    /// The service's name in metrics (`service` on `cortex_build_info`) and traces (the
    /// `service.name` resource attribute); the binary's package name when unset.
    pub service_name: Option<String>,
    /// `[observability.metrics]`: the Prometheus endpoint and what is recorded.
    pub metrics: MetricsConfig,
    /// `[observability.tracing]`: OpenTelemetry export (off by default).
    pub tracing: TracingConfig,
    /// `[observability.dashboard]`: the operations page at `/_cortex`.
    pub dashboard: DashboardConfig,
}

impl ObservabilityConfig {
    /// Reads `[observability]` (every key defaulted).
    pub fn from_config(config: &Config) -> Result<ObservabilityConfig, ConfigError> {
        config.get_or_default("observability")
    }
}
