//! Operating a Cortex app: Prometheus metrics, OpenTelemetry traces, and a live operations
//! dashboard.
//!
//! - **Metrics** ([`metrics`](mod@crate::metrics)): the `metrics` facade with a Prometheus
//!   recorder, `/metrics` in the Prometheus text format (OpenMetrics when asked), RED metrics per
//!   route template, server, database, process and runtime metrics; business metrics through the
//!   re-exported `metrics` macros.
//! - **Traces** ([`traces`], feature `otel`): spans exported over OTLP, W3C `traceparent`
//!   propagation in and out, `trace_id`/`span_id` on every log line inside a span.
//! - **Dashboard** ([`dashboard`]): `/_cortex`, a live operations page served from the binary.
//!
//! Add the [`ObservabilityPlugin`](struct@ObservabilityPlugin) (or turn on the `cortex` facade's
//! `observability` feature and call `App::discover()`) and configure `[observability]`.

pub mod access;
#[cfg(feature = "client")]
pub mod client;
mod config;
pub mod dashboard;
pub mod metrics;
mod plugin;
pub mod traces;

pub use config::ObservabilityConfig;
pub use plugin::ObservabilityPlugin;

/// The `metrics` facade, at the version Cortex records: `counter!`, `gauge!`, `histogram!` in
/// an app's own code land in the same registry as Cortex's metrics.
pub use ::metrics as facade;
