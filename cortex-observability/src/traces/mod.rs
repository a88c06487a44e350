//! OpenTelemetry traces (feature `otel`): OTLP export, W3C propagation, trace ids in logs.
//!
//! `[observability.tracing]` is read with or without the feature; turning it on without the
//! feature fails the start with a message naming the feature. With the feature:
//!
//! - spans go to an OTLP collector (Jaeger, Tempo, the OpenTelemetry Collector, a vendor) over
//!   HTTP/protobuf (`{endpoint}/v1/traces`), or gRPC with the `otel-grpc` feature, through a
//!   batch processor that is flushed when the app shuts down;
//! - every request gets a server span named after its route template (`GET /users/{id}`), with
//!   the OpenTelemetry HTTP semantic-convention attributes, continuing the caller's trace when
//!   the request carries a W3C `traceparent`;
//! - every JSON log line inside a span carries `trace_id` and `span_id`;
//! - `client::HttpClient` (feature `client`, on with `otel`) propagates the trace to the
//!   services it calls.
//!
//! The guide's "Tracing" chapter (`docs/src/operating-tracing.md`) has the setup.
//!
//! # Precedence
//!
//! The standard OpenTelemetry environment variables win over `cortex.toml`, since platforms
//! (a Kubernetes operator, a collector's sidecar injection) set them:
//!
//! | what | first set of |
//! | --- | --- |
//! | off | `OTEL_SDK_DISABLED=true`, then `enabled` |
//! | endpoint | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL, used as is), `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL), `endpoint` |
//! | service name | `OTEL_SERVICE_NAME`, `[observability] service_name`, the executable's name |
//! | sampling ratio | `OTEL_TRACES_SAMPLER_ARG`, `sampling_ratio`, the profile's default |

#[cfg(feature = "otel")]
mod otel;
#[cfg(feature = "otel")]
pub(crate) use otel::inject;

use std::collections::BTreeMap;
use std::time::Duration;

use cortex_core::App;
use cortex_core::config::{MASK, Profile};
use serde::{Deserialize, Deserializer};

use crate::ObservabilityConfig;

/// The OTLP endpoint when neither the configuration nor the environment names one: a collector
/// (or Jaeger, or Tempo) on this machine, OTLP/HTTP's port.
///
/// ```
/// assert_eq!(cortex_observability::traces::DEFAULT_ENDPOINT, "http://127.0.0.1:4318");
/// ```
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4318";

/// `[observability.tracing]`: OpenTelemetry export, off by default.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_observability::ObservabilityConfig;
/// use cortex_observability::traces::TracingProtocol;
///
/// let config = Config::from_toml(
///     "[observability.tracing]\nenabled = true\nendpoint = 'http://tempo:4318'\nsampling_ratio = 0.25",
/// )?;
/// let tracing = ObservabilityConfig::from_config(&config)?.tracing;
/// assert!(tracing.enabled);
/// assert_eq!(tracing.endpoint.as_deref(), Some("http://tempo:4318"));
/// assert_eq!(tracing.sampling_ratio, Some(0.25));
/// assert_eq!(tracing.protocol, TracingProtocol::HttpProtobuf);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TracingConfig {
    /// Whether spans are exported (`false`). Needs the `otel` feature.
    pub enabled: bool,
    /// The collector's OTLP base URL ([`DEFAULT_ENDPOINT`] when unset); `/v1/traces` is appended
    /// for HTTP.
    pub endpoint: Option<String>,
    /// `http/protobuf` (the default) or `grpc` (needs the `otel-grpc` feature).
    pub protocol: TracingProtocol,
    /// Headers sent with each export (`authorization = "Bearer …"`, a vendor's API key): their
    /// values are never shown (`Debug` masks them all, `cortex config show` masks the ones named
    /// like secrets).
    pub headers: BTreeMap<String, String>,
    /// How long one export may take (`10s`).
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub timeout: Duration,
    /// The share of traces kept, from 0.0 to 1.0, decided where a trace starts (a request
    /// without a sampled `traceparent`): 1.0 in the `dev` and `test` profiles and 0.1 otherwise
    /// when unset (Spring Boot's default for production). A request whose caller sampled its
    /// trace is always kept (parent-based).
    #[serde(deserialize_with = "ratio")]
    pub sampling_ratio: Option<f64>,
    /// The `deployment.environment.name` resource attribute: the profile when unset.
    pub environment: Option<String>,
    /// The `service.version` resource attribute, when set.
    pub service_version: Option<String>,
}

impl Default for TracingConfig {
    fn default() -> Self {
        TracingConfig {
            enabled: false,
            endpoint: None,
            protocol: TracingProtocol::default(),
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(10),
            sampling_ratio: None,
            environment: None,
            service_version: None,
        }
    }
}

impl std::fmt::Debug for TracingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: BTreeMap<&str, &str> =
            self.headers.keys().map(|k| (k.as_str(), MASK)).collect();
        f.debug_struct("TracingConfig")
            .field("enabled", &self.enabled)
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("headers", &headers)
            .field("timeout", &self.timeout)
            .field("sampling_ratio", &self.sampling_ratio)
            .field("environment", &self.environment)
            .field("service_version", &self.service_version)
            .finish()
    }
}

/// How spans are sent to the collector.
///
/// ```
/// use cortex_observability::traces::TracingProtocol;
///
/// assert_eq!(TracingProtocol::default(), TracingProtocol::HttpProtobuf);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub enum TracingProtocol {
    /// OTLP over HTTP with protobuf bodies (`http/protobuf`), port 4318.
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// OTLP over gRPC (`grpc`), port 4317: needs the `otel-grpc` feature.
    #[serde(rename = "grpc")]
    Grpc,
}

/// A sampling ratio: a number from 0.0 to 1.0.
fn ratio<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value = f64::deserialize(d)?;
    if (0.0..=1.0).contains(&value) {
        Ok(Some(value))
    } else {
        Err(serde::de::Error::invalid_value(
            serde::de::Unexpected::Float(value),
            &"a number from 0.0 to 1.0",
        ))
    }
}

/// Why tracing cannot start: the app's start fails with it.
///
/// ```
/// use cortex_observability::traces::TracingError;
///
/// let error = TracingError::FeatureOff.to_string();
/// assert!(error.contains("`otel` feature"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TracingError {
    /// `enabled = true` in a build without the `otel` feature.
    #[error(
        "`observability.tracing.enabled` is true, but this build has no OpenTelemetry exporter; hint: turn on the `otel` feature of the `cortex` crate (`cortex = {{ version = \"…\", features = [\"otel\"] }}`), or set `enabled = false`"
    )]
    FeatureOff,
    /// `protocol = "grpc"` without the `otel-grpc` feature.
    #[error(
        "`observability.tracing.protocol` is \"grpc\", but this build has no gRPC exporter; hint: turn on the `otel-grpc` feature of the `cortex` crate, or use `protocol = \"http/protobuf\"` (port 4318)"
    )]
    GrpcFeatureOff,
    /// An environment variable has a value that cannot be used.
    #[error("environment variable {var} {problem}")]
    BadEnv {
        /// The variable.
        var: &'static str,
        /// What is wrong, and a hint.
        problem: String,
    },
    /// The exporter could not be built.
    #[error("the OTLP exporter for {endpoint} cannot be built: {message}")]
    Exporter {
        /// Where it was to send spans.
        endpoint: String,
        /// What the exporter said.
        message: String,
    },
}

/// What the configuration and the environment resolve to.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "otel"), allow(dead_code))]
pub(crate) struct Settings {
    pub(crate) enabled: bool,
    /// The full URL spans are sent to (`…/v1/traces` for HTTP).
    pub(crate) endpoint: String,
    pub(crate) protocol: TracingProtocol,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) timeout: Duration,
    pub(crate) ratio: f64,
    pub(crate) service_name: String,
    pub(crate) service_version: Option<String>,
    pub(crate) environment: String,
}

impl Settings {
    /// Resolves `config` with the environment `env` (a variable's value by name), in the
    /// precedence of the [module docs](self#precedence).
    pub(crate) fn resolve(
        config: &ObservabilityConfig,
        profile: &Profile,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, TracingError> {
        let tracing = &config.tracing;
        let disabled = match env("OTEL_SDK_DISABLED").map(|v| v.trim().to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" || v.is_empty() => false,
            Some(_) => {
                return Err(TracingError::BadEnv {
                    var: "OTEL_SDK_DISABLED",
                    problem: "is neither `true` nor `false`".into(),
                });
            }
        };
        let http = tracing.protocol == TracingProtocol::HttpProtobuf;
        let base = |url: &str| {
            let url = url.trim_end_matches('/');
            if http {
                format!("{url}/v1/traces")
            } else {
                url.to_string()
            }
        };
        let endpoint = match (
            env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").filter(|v| !v.is_empty()),
            env("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|v| !v.is_empty()),
        ) {
            (Some(full), _) => full,
            (None, Some(url)) => base(&url),
            (None, None) => base(tracing.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT)),
        };
        let ratio = match env("OTEL_TRACES_SAMPLER_ARG").filter(|v| !v.is_empty()) {
            Some(arg) => match arg.trim().parse::<f64>() {
                Ok(ratio) if (0.0..=1.0).contains(&ratio) => ratio,
                _ => {
                    return Err(TracingError::BadEnv {
                        var: "OTEL_TRACES_SAMPLER_ARG",
                        problem: "is not a number from 0.0 to 1.0 (the share of traces kept)"
                            .into(),
                    });
                }
            },
            None => tracing.sampling_ratio.unwrap_or_else(|| {
                if *profile == Profile::DEV || *profile == Profile::TEST {
                    1.0
                } else {
                    0.1
                }
            }),
        };
        let service_name = env("OTEL_SERVICE_NAME")
            .filter(|v| !v.is_empty())
            .or_else(|| config.service_name.clone())
            .unwrap_or_else(executable_name);
        Ok(Settings {
            enabled: tracing.enabled && !disabled,
            endpoint,
            protocol: tracing.protocol,
            headers: tracing.headers.clone(),
            timeout: tracing.timeout,
            ratio,
            service_name,
            service_version: tracing.service_version.clone(),
            environment: tracing
                .environment
                .clone()
                .unwrap_or_else(|| profile.as_str().to_string()),
        })
    }
}

/// The running executable's name, else `cortex-app`.
fn executable_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| path.file_stem()?.to_str().map(str::to_owned))
        .unwrap_or_else(|| "cortex-app".to_string())
}

/// Adds this area's providers, routes and hooks to `app`, as `config` says.
pub(crate) fn install(app: App, config: &ObservabilityConfig) -> App {
    let settings = match Settings::resolve(config, app.config().profile(), |var| {
        std::env::var(var).ok()
    }) {
        Ok(settings) => settings,
        Err(error) => return app.fail(error),
    };
    if !settings.enabled {
        return app;
    }
    start(app, settings)
}

#[cfg(feature = "otel")]
fn start(app: App, settings: Settings) -> App {
    otel::install(app, settings)
}

#[cfg(not(feature = "otel"))]
fn start(app: App, _settings: Settings) -> App {
    app.fail(TracingError::FeatureOff)
}

/// Reads `[observability.tracing]` from `config`.
#[cfg(test)]
fn settings(toml: &str, env: &[(&str, &str)]) -> Result<Settings, Box<dyn std::error::Error>> {
    let config = cortex_core::config::Config::from_toml(toml)?;
    let observability = ObservabilityConfig::from_config(&config)?;
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Ok(Settings::resolve(
        &observability,
        config.profile(),
        |var| env.get(var).cloned(),
    )?)
}

#[cfg(test)]
mod tests {
    use cortex_core::config::Config;

    use super::*;

    #[test]
    fn the_defaults_send_every_trace_to_the_local_collector_over_http() {
        let s = settings("", &[]).unwrap();
        assert!(!s.enabled);
        assert_eq!(s.endpoint, "http://127.0.0.1:4318/v1/traces");
        assert_eq!(s.protocol, TracingProtocol::HttpProtobuf);
        assert_eq!(s.ratio, 1.0, "dev keeps every trace");
        assert_eq!(s.environment, "dev");
        assert_eq!(s.timeout, Duration::from_secs(10));
    }

    #[test]
    fn prod_keeps_a_tenth_of_the_traces_unless_told() {
        let config = Config::builder()
            .profile(Profile::PROD)
            .defaults("[observability.tracing]\nenabled = true")
            .load()
            .unwrap();
        let observability = ObservabilityConfig::from_config(&config).unwrap();
        let s = Settings::resolve(&observability, config.profile(), |_| None).unwrap();
        assert_eq!((s.ratio, s.environment.as_str()), (0.1, "prod"));
    }

    #[test]
    fn the_otel_variables_win_over_the_config() {
        let toml = "[observability]\nservice_name = 'shop'\n[observability.tracing]\nenabled = true\nendpoint = 'http://tempo:4318/'\nsampling_ratio = 0.5";
        let s = settings(toml, &[]).unwrap();
        assert_eq!(
            (s.endpoint.as_str(), s.ratio, s.service_name.as_str()),
            ("http://tempo:4318/v1/traces", 0.5, "shop")
        );
        let s = settings(
            toml,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_SERVICE_NAME", "shop-eu"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.05"),
            ],
        )
        .unwrap();
        assert_eq!(
            (s.endpoint.as_str(), s.ratio, s.service_name.as_str()),
            ("http://collector:4318/v1/traces", 0.05, "shop-eu")
        );
        let s = settings(
            toml,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://traces:9999/in",
                ),
            ],
        )
        .unwrap();
        assert_eq!(s.endpoint, "http://traces:9999/in", "used as is");
        let s = settings(toml, &[("OTEL_SDK_DISABLED", "true")]).unwrap();
        assert!(!s.enabled);
    }

    #[test]
    fn a_grpc_endpoint_gets_no_path() {
        let s = settings(
            "[observability.tracing]\nprotocol = 'grpc'\nendpoint = 'http://c:4317'",
            &[],
        )
        .unwrap();
        assert_eq!(s.endpoint, "http://c:4317");
    }

    #[test]
    fn malformed_values_are_errors_naming_the_key_or_variable() {
        for (toml, key) in [
            (
                "[observability.tracing]\nsampling_ratio = 1.5",
                "observability.tracing.sampling_ratio",
            ),
            (
                "[observability.tracing]\nprotocol = 'udp'",
                "observability.tracing.protocol",
            ),
            (
                "[observability.tracing]\ntimeout = '0s'",
                "observability.tracing.timeout",
            ),
            (
                "[observability.tracing]\nendpont = 'x'",
                "observability.tracing.endpont",
            ),
        ] {
            let error = settings(toml, &[]).unwrap_err().to_string();
            assert!(error.contains(&format!("`{key}`")), "{key}: {error}");
        }
        for (var, value) in [
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ("OTEL_SDK_DISABLED", "maybe"),
        ] {
            let error = settings("", &[(var, value)]).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("environment variable {var} ")),
                "{error}"
            );
        }
    }

    #[test]
    fn the_feature_errors_name_the_feature_to_turn_on() {
        let off = TracingError::FeatureOff.to_string();
        assert!(
            off.contains("`observability.tracing.enabled`") && off.contains("`otel` feature"),
            "{off}"
        );
        let grpc = TracingError::GrpcFeatureOff.to_string();
        assert!(
            grpc.contains("`observability.tracing.protocol`")
                && grpc.contains("`otel-grpc` feature"),
            "{grpc}"
        );
    }

    #[test]
    fn header_values_are_secret() {
        let config = Config::from_toml(
            "[observability.tracing.headers]\nauthorization = 'Bearer abc'\nx-team = 'xyz'",
        )
        .unwrap();
        assert!(cortex_core::config::is_secret_key(
            "observability.tracing.headers.authorization"
        ));
        let tracing = ObservabilityConfig::from_config(&config).unwrap().tracing;
        let shown = format!("{tracing:?}");
        assert!(!shown.contains("abc") && !shown.contains("xyz"), "{shown}");
    }
}
