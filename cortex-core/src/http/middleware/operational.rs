//! Operational endpoints (health probes, metrics), which the rate limiter never refuses.

use super::config::HttpConfigError;

/// The paths of operational endpoints: health probes, metrics. The rate limiter never refuses
/// them (nor counts them against a client's quota).
///
/// Why: behind a load balancer or an ingress every request can come from the proxy's address,
/// and a limit per address then caps the whole app; liveness probes refused under load make the
/// orchestrator restart healthy instances. A protection must not become an outage.
///
/// The default set is `/health/*` (every probe, see [`Health`](crate::health::Health)) and
/// `/metrics`. A pattern is a path (`/metrics`) or a prefix ending in `/*` (`/health/*`, which
/// also matches `/health`). A plugin that serves an operational endpoint adds its path with
/// [`App::operational_path`](crate::App::operational_path) (or
/// [`Stack::with_operational_path`](super::Stack::with_operational_path)).
///
/// ```
/// use cortex_core::http::middleware::OperationalPaths;
///
/// let mut paths = OperationalPaths::default();
/// assert!(paths.contains("/health/live") && paths.contains("/metrics"));
/// assert!(!paths.contains("/healthy") && !paths.contains("/metrics/extra"));
/// paths.insert("/internal/status")?;
/// assert!(paths.contains("/internal/status"));
/// assert!(paths.insert("admin/*").is_err());
/// # Ok::<(), cortex_core::http::middleware::HttpConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationalPaths {
    exact: Vec<Box<str>>,
    /// Without the trailing `/*`.
    prefixes: Vec<Box<str>>,
}

impl Default for OperationalPaths {
    fn default() -> Self {
        OperationalPaths {
            exact: vec!["/metrics".into()],
            prefixes: vec!["/health".into()],
        }
    }
}

impl OperationalPaths {
    /// A set without any path.
    pub fn empty() -> Self {
        OperationalPaths {
            exact: Vec::new(),
            prefixes: Vec::new(),
        }
    }

    /// Adds a path (`/metrics`) or a prefix (`/admin/probes/*`). A pattern that is not a path
    /// is an error that says why.
    pub fn insert(&mut self, pattern: &str) -> Result<(), HttpConfigError> {
        let invalid = |message: String, hint: &str| {
            HttpConfigError::single("operational path", message, Some(hint.to_string()))
        };
        if !pattern.starts_with('/') || pattern.chars().any(char::is_whitespace) {
            return Err(invalid(
                format!("`{pattern}` is not a path"),
                "write it as the request path, starting with `/`, such as \"/metrics\" or \"/health/*\"",
            ));
        }
        let (path, prefix) = match pattern.strip_suffix("/*") {
            Some(prefix) => (prefix, true),
            None => (pattern, false),
        };
        if path.contains('*') {
            return Err(invalid(
                format!("`{pattern}` has a `*` other than a final `/*`"),
                "a pattern is a path, or a prefix ending in `/*`",
            ));
        }
        if prefix && path.is_empty() {
            return Err(invalid(
                "`/*` would exempt every path from rate limiting".to_string(),
                "to turn rate limiting off, set `enabled = false` in `[http.rate_limit]`",
            ));
        }
        let list = if prefix {
            &mut self.prefixes
        } else {
            &mut self.exact
        };
        if !list.iter().any(|p| **p == *path) {
            list.push(path.into());
        }
        Ok(())
    }

    /// Whether `path` (a request's, without the query) is operational.
    #[inline]
    pub fn contains(&self, path: &str) -> bool {
        self.exact.iter().any(|p| **p == *path)
            || self.prefixes.iter().any(|p| {
                path.strip_prefix(&**p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
    }

    /// The patterns, as [`insert`](Self::insert) takes them.
    pub fn patterns(&self) -> impl Iterator<Item = String> + '_ {
        self.prefixes
            .iter()
            .map(|p| format!("{p}/*"))
            .chain(self.exact.iter().map(|p| p.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Health;

    #[test]
    fn every_health_probe_and_metrics_are_operational_by_default() {
        let paths = OperationalPaths::default();
        for probe in Health::PATHS {
            assert!(paths.contains(probe), "{probe}");
        }
        assert!(paths.contains("/metrics"));
        assert_eq!(
            paths.patterns().collect::<Vec<_>>(),
            ["/health/*", "/metrics"]
        );
    }

    #[test]
    fn a_prefix_matches_whole_segments_only() {
        let paths = OperationalPaths::default();
        assert!(paths.contains("/health"));
        assert!(paths.contains("/health/deep/check"));
        assert!(!paths.contains("/healthz"));
        assert!(!paths.contains("/api/health/live"));
        assert!(!paths.contains("/metricsx"));
    }

    #[test]
    fn patterns_that_are_not_paths_are_refused_with_a_hint() {
        let mut paths = OperationalPaths::empty();
        for bad in ["metrics", "/a*b", "/*", "/with space", ""] {
            let err = paths.insert(bad).unwrap_err();
            assert!(err.issues()[0].hint.is_some(), "{bad}: {err}");
        }
        assert_eq!(paths, OperationalPaths::empty());
    }
}
