//! The operations dashboard at `/_cortex`: a live page (plain HTML, CSS and JavaScript served
//! from the binary, no CDN) with the request rate, latency percentiles and error rate per route,
//! the health checks, the route table, the dependency graph, the plugins, the configuration with
//! secrets masked, and the recent errors, updated over server-sent events.
//!
//! # Configuration
//!
//! ```toml
//! [observability.dashboard]
//! enabled = true          # default: on in `dev`, off in every other profile
//! path = "/_cortex"       # where it is served
//! refresh = "1s"          # how often the page gets a new snapshot
//!
//! [observability.dashboard.access]
//! token = "a-long-random-token"   # required outside `dev` and `test`
//! ```
//!
//! Outside `dev` and `test` the dashboard shows the app's routes, configuration (masked) and
//! errors, so turning it on there without a token stops the start with an error naming the key.
//!
//! # Endpoints
//!
//! | path | what |
//! | --- | --- |
//! | `GET /_cortex` | the page (a sign-in form when a token is needed and none was given) |
//! | `POST /_cortex/login` | the sign-in form's target: `token=…` sets a session cookie |
//! | `GET /_cortex/api/app` | what does not change while the app runs, as JSON: routes, plugins, graph, configuration |
//! | `GET /_cortex/api/live` | the live figures, as JSON: request statistics, health, recent errors |
//! | `GET /_cortex/api/stream` | the live figures as `text/event-stream`, one `snapshot` event per `refresh` |
//!
//! With a token configured, every endpoint but the page's assets wants either
//! `Authorization: Bearer <token>` (scripts, `curl`) or the cookie the sign-in form sets: an
//! opaque, random session id (never the token), `HttpOnly`, `SameSite=Strict`, limited to the
//! dashboard's path, `Secure` unless the page is served to a loopback address, valid for
//! an hour. A browser's `EventSource` cannot send an `Authorization` header; it sends the cookie.
//!
//! ```
//! use cortex_core::config::Config;
//! use cortex_observability::ObservabilityConfig;
//!
//! let config = Config::from_toml("[observability.dashboard]\nrefresh = '2s'")?;
//! let dashboard = ObservabilityConfig::from_config(&config)?.dashboard;
//! assert_eq!(dashboard.path, "/_cortex");
//! assert_eq!(dashboard.refresh, std::time::Duration::from_secs(2));
//! // The profile decides when `enabled` is not set: on in `dev` only.
//! assert!(dashboard.is_enabled(&cortex_core::config::Profile::DEV));
//! assert!(!dashboard.is_enabled(&cortex_core::config::Profile::PROD));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod gate;
mod logs;
mod serve;
mod stats;

use std::sync::Arc;
use std::time::Duration;

use cortex_core::App;
use cortex_core::config::Profile;
use serde::Deserialize;

use crate::ObservabilityConfig;
use crate::access::AccessConfig;

/// `[observability.dashboard]`: the operations page (see the [module docs](self)).
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_observability::ObservabilityConfig;
///
/// let config = Config::from_toml("[observability.dashboard]\npath = 'ops'")?;
/// let err = ObservabilityConfig::from_config(&config)?.dashboard.validate().unwrap_err();
/// assert!(err.to_string().contains("observability.dashboard.path"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DashboardConfig {
    /// Whether the dashboard is served; unset, it is on in the `dev` profile only.
    pub enabled: Option<bool>,
    /// Where the page is served (`/_cortex`): a path starting with `/`, without a trailing `/`.
    pub path: String,
    /// How often a new snapshot is sent to the page (`1s`).
    #[serde(deserialize_with = "cortex_core::config::units::de::positive_duration")]
    pub refresh: Duration,
    /// `[observability.dashboard.access]`: who may read it; a token is required outside `dev`
    /// and `test`.
    pub access: AccessConfig,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            enabled: None,
            path: "/_cortex".into(),
            refresh: Duration::from_secs(1),
            access: AccessConfig::default(),
        }
    }
}

impl DashboardConfig {
    /// Whether the dashboard is served in `profile`: `enabled` when set, else only in `dev`.
    ///
    /// ```
    /// use cortex_core::config::Profile;
    /// use cortex_observability::dashboard::DashboardConfig;
    ///
    /// let config = DashboardConfig::default();
    /// assert!(config.is_enabled(&Profile::DEV));
    /// assert!(!config.is_enabled(&Profile::TEST));
    /// ```
    pub fn is_enabled(&self, profile: &Profile) -> bool {
        self.enabled.unwrap_or_else(|| profile.is_dev())
    }

    /// Checks the path (see [`path`](Self::path)) and that a token, when set, is not empty; the
    /// errors name the key.
    pub fn validate(&self) -> Result<(), DashboardError> {
        let path = &self.path;
        let valid = path.starts_with('/')
            && path.len() > 1
            && !path.ends_with('/')
            && !path.contains([
                '{', '}', '*', '?', '#', ' ', '"', '\'', '<', '>', '&', '%', ';',
            ]);
        if !valid {
            return Err(DashboardError::Path { path: path.clone() });
        }
        if self
            .access
            .token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(DashboardError::EmptyToken);
        }
        Ok(())
    }

    /// The error when the dashboard is on in `profile` without the token it needs there.
    fn check_access(&self, profile: &Profile) -> Result<(), DashboardError> {
        let open_profile = profile.is_dev() || profile.is_test();
        if open_profile || self.access.token.as_deref().is_some_and(|t| !t.is_empty()) {
            return Ok(());
        }
        Err(DashboardError::NoToken {
            profile: profile.to_string(),
        })
    }
}

/// Why the dashboard's configuration cannot be used: each message names the key and the fix.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_observability::ObservabilityConfig;
/// use cortex_observability::dashboard::DashboardError;
///
/// let config = Config::from_toml("[observability.dashboard]\npath = '/ops/'")?;
/// let err = ObservabilityConfig::from_config(&config)?.dashboard.validate().unwrap_err();
/// assert!(matches!(err, DashboardError::Path { ref path } if path == "/ops/"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DashboardError {
    /// `observability.dashboard.path` is not a fixed path.
    #[error(
        "config key `observability.dashboard.path` = {path:?} is not a path the dashboard can be served at; hint: a fixed path starting with `/` and without a trailing `/`, such as \"/_cortex\""
    )]
    Path {
        /// The path as configured.
        path: String,
    },
    /// `observability.dashboard.access.token` is set but empty (it would let an empty bearer
    /// token in).
    #[error(
        "config key `observability.dashboard.access.token` is empty; hint: set a long random token, or remove the key to leave the dashboard open (in `dev` and `test` only)"
    )]
    EmptyToken,
    /// The dashboard is on outside `dev`/`test` without a token.
    #[error(
        "the operations dashboard is enabled in the `{profile}` profile but `observability.dashboard.access.token` is not set, and it shows the app's routes, configuration and errors; hint: set a long random token there (or CORTEX_OBSERVABILITY__DASHBOARD__ACCESS__TOKEN), or remove `observability.dashboard.enabled = true`"
    )]
    NoToken {
        /// The profile the app runs in.
        profile: String,
    },
}

/// Adds the dashboard's observer, log layer and routes to `app`, when it is enabled.
pub(crate) fn install(app: App, config: &ObservabilityConfig) -> App {
    let dashboard = &config.dashboard;
    let profile = app.config().profile().clone();
    if !dashboard.is_enabled(&profile) {
        return app;
    }
    if let Err(error) = dashboard
        .validate()
        .and_then(|()| dashboard.check_access(&profile))
    {
        return app.fail(error);
    }
    let stats = Arc::new(stats::Stats::new());
    let state = Arc::new(serve::Dashboard::new(
        dashboard,
        stats.clone(),
        app.shutdown_signal(),
    ));
    let built = state.clone();
    let app = app
        .observer(stats::StatsObserver {
            stats,
            skip_prefix: dashboard.path.clone(),
        })
        .on_built(move |application| built.set_app(application));
    serve::routes(&state)
        .into_iter()
        .fold(app, |app, route| app.route(route))
}
