//! The Prometheus text format (0.0.4), as the exporter renders it, converted to OpenMetrics text
//! 1.0.0 (the exporter has no OpenMetrics renderer).
//!
//! What changes:
//! - a counter's family is named without `_total` (`# TYPE http_requests counter`) and its
//!   samples with it (`http_requests_total 3`), adding the suffix where the name lacks it;
//! - `# HELP` text escapes `"` as well as `\` and newlines;
//! - no blank lines (the exporter separates families with one; OpenMetrics forbids them);
//! - the exposition ends with `# EOF`.
//!
//! Samples, labels, label escaping, histogram and summary series are the same in both formats.

/// The `Content-Type` of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The `Content-Type` of OpenMetrics text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether a request's `Accept` header asks for OpenMetrics: it lists
/// `application/openmetrics-text` with a quality above zero, and at least as high as the
/// Prometheus text format's (what Prometheus sends: OpenMetrics preferred, text accepted).
///
/// ```
/// use cortex_observability::metrics::wants_openmetrics;
///
/// assert!(wants_openmetrics(Some(
///     "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
/// )));
/// assert!(!wants_openmetrics(Some("text/plain")));
/// assert!(!wants_openmetrics(None));
/// ```
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let mut openmetrics: Option<f32> = None;
    let mut text: Option<f32> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                (k.trim().eq_ignore_ascii_case("q")).then(|| v.trim().parse::<f32>().ok())?
            })
            .next()
            .unwrap_or(1.0);
        let slot = match media.as_str() {
            "application/openmetrics-text" => &mut openmetrics,
            "text/plain" => &mut text,
            _ => continue,
        };
        *slot = Some(slot.map_or(q, |old| old.max(q)));
    }
    match openmetrics {
        Some(q) if q > 0.0 => q >= text.unwrap_or(0.0),
        _ => false,
    }
}

/// Converts the Prometheus text `prometheus` (as the exporter renders it: each family's `# HELP`
/// and `# TYPE` before its samples) to OpenMetrics text, `# EOF` included.
///
/// ```
/// use cortex_observability::metrics::to_openmetrics;
///
/// let text = [
///     "# HELP jobs_total Jobs \"run\".",
///     "# TYPE jobs_total counter",
///     "jobs_total{queue=\"a\"} 2",
///     "",
///     "# TYPE workers gauge",
///     "workers 3",
///     "",
/// ];
/// let converted = to_openmetrics(&text.join("\n"));
/// assert_eq!(
///     converted.lines().collect::<Vec<_>>(),
///     [
///         "# HELP jobs Jobs \\\"run\\\".",
///         "# TYPE jobs counter",
///         "jobs_total{queue=\"a\"} 2",
///         "# TYPE workers gauge",
///         "workers 3",
///         "# EOF",
///     ]
/// );
/// ```
pub fn to_openmetrics(prometheus: &str) -> String {
    let mut out = String::with_capacity(prometheus.len() + 64);
    // The families, each its comment lines then its samples.
    let mut lines = prometheus
        .lines()
        .filter(|l| !l.trim().is_empty())
        .peekable();
    while lines.peek().is_some() {
        let mut help: Option<(&str, &str)> = None;
        let mut kind: Option<(&str, &str)> = None;
        while let Some(line) = lines.peek() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                if help.is_some() || kind.is_some() {
                    break;
                }
                help = Some(rest.split_once(' ').unwrap_or((rest, "")));
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                if kind.is_some() {
                    break;
                }
                kind = Some(rest.split_once(' ').unwrap_or((rest, "untyped")));
            } else if line.starts_with('#') {
                // Another comment: not part of OpenMetrics; dropped.
            } else {
                break;
            }
            lines.next();
        }
        let counter = matches!(kind, Some((_, "counter")));
        let name = kind.or(help).map(|(name, _)| name);
        let family = match name {
            Some(name) if counter => name.strip_suffix("_total").unwrap_or(name),
            Some(name) => name,
            None => "",
        };
        if let Some((_, text)) = help {
            out.push_str("# HELP ");
            out.push_str(family);
            out.push(' ');
            push_help(&mut out, text);
            out.push('\n');
        }
        if let Some((_, kind)) = kind {
            out.push_str("# TYPE ");
            out.push_str(family);
            out.push(' ');
            out.push_str(if kind == "untyped" { "unknown" } else { kind });
            out.push('\n');
        }
        while let Some(line) = lines.peek() {
            if line.starts_with('#') {
                break;
            }
            if counter {
                let split = line.find(['{', ' ']).unwrap_or(line.len());
                // `family_total` whether the sample was named `family` or `family_total`.
                out.push_str(family);
                out.push_str("_total");
                out.push_str(&line[split..]);
            } else {
                out.push_str(line);
            }
            out.push('\n');
            lines.next();
        }
    }
    out.push_str("# EOF\n");
    out
}

/// Writes `help` (Prometheus-escaped: `\\` and `\n`) escaped for OpenMetrics (`"` too).
fn push_help(out: &mut String, help: &str) {
    let mut chars = help.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the OpenMetrics rules this module implements, line by line.
    fn assert_valid_openmetrics(text: &str) {
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
        let mut types: std::collections::HashMap<&str, &str> = Default::default();
        let mut current: Option<(&str, &str)> = None;
        for line in text.lines() {
            assert!(!line.is_empty(), "a blank line: {text}");
            if line == "# EOF" {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(types.insert(name, kind).is_none(), "family {name} twice");
                if kind == "counter" {
                    assert!(!name.ends_with("_total"), "{line}");
                }
                current = Some((name, kind));
            } else if line.starts_with("# HELP ") {
                let help = line.splitn(4, ' ').nth(3).unwrap_or("");
                let unescaped_quote = help
                    .char_indices()
                    .any(|(i, c)| c == '"' && !help[..i].ends_with('\\'));
                assert!(!unescaped_quote, "{line}");
            } else {
                let (family, kind) = current.expect("a sample before its TYPE");
                let name = &line[..line.find(['{', ' ']).unwrap()];
                let allowed: &[&str] = match kind {
                    "counter" => &["_total", "_created"],
                    "histogram" => &["_bucket", "_sum", "_count", "_created"],
                    "summary" => &["", "_sum", "_count", "_created"],
                    _ => &[""],
                };
                assert!(
                    allowed.iter().any(|s| name == format!("{family}{s}")),
                    "{line} is not a sample of {kind} {family}"
                );
            }
        }
    }

    const EXPORTED: &str = "\
# HELP orders_total Orders placed.
# TYPE orders_total counter
orders_total{channel=\"web\"} 3
orders_total{channel=\"app\"} 1

# TYPE logins counter
logins 7

# HELP queue_depth The \"mail\" queue\\n(depth).
# TYPE queue_depth gauge
queue_depth 2

# TYPE latency_seconds histogram
latency_seconds_bucket{le=\"0.1\"} 1
latency_seconds_bucket{le=\"+Inf\"} 2
latency_seconds_sum 0.35
latency_seconds_count 2

# TYPE size summary
size{quantile=\"0.5\"} 3
size_sum 9
size_count 3

";

    #[test]
    fn counters_lose_total_in_the_family_and_keep_it_on_samples() {
        let text = to_openmetrics(EXPORTED);
        assert_valid_openmetrics(&text);
        assert!(
            text.contains("# HELP orders Orders placed.\n# TYPE orders counter\n"),
            "{text}"
        );
        assert!(text.contains("orders_total{channel=\"web\"} 3\n"), "{text}");
        assert!(
            text.contains("# TYPE logins counter\nlogins_total 7\n"),
            "{text}"
        );
    }

    #[test]
    fn help_quotes_are_escaped_and_other_escapes_kept() {
        let text = to_openmetrics(EXPORTED);
        assert!(
            text.contains("# HELP queue_depth The \\\"mail\\\" queue\\n(depth).\n"),
            "{text}"
        );
    }

    #[test]
    fn histograms_summaries_and_gauges_are_unchanged() {
        let text = to_openmetrics(EXPORTED);
        for line in [
            "queue_depth 2",
            "latency_seconds_bucket{le=\"+Inf\"} 2",
            "latency_seconds_count 2",
            "size{quantile=\"0.5\"} 3",
            "size_sum 9",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
    }

    #[test]
    fn a_family_with_help_and_no_type_keeps_its_help() {
        let text = to_openmetrics("# HELP a A's help.\n# HELP b B's help.\n# TYPE b gauge\nb 1\n");
        assert_eq!(
            text,
            "# HELP a A's help.\n# HELP b B's help.\n# TYPE b gauge\nb 1\n# EOF\n"
        );
    }

    #[test]
    fn only_counters_lose_the_total_suffix() {
        let text = to_openmetrics("# HELP up_total Up.\n# TYPE up_total gauge\nup_total 1\n");
        assert_eq!(
            text,
            "# HELP up_total Up.\n# TYPE up_total gauge\nup_total 1\n# EOF\n"
        );
    }

    #[test]
    fn empty_input_is_just_eof() {
        assert_eq!(to_openmetrics(""), "# EOF\n");
        assert_eq!(to_openmetrics("\n\n"), "# EOF\n");
    }

    #[test]
    fn what_the_exporter_renders_converts_validly() {
        let metrics = super::super::Metrics::local();
        metrics.counter("a_total", &[("x", "1")]).increment(1);
        metrics.counter("b", &[]).increment(1);
        metrics.gauge("c", &[]).set(1.0);
        metrics.histogram("d_duration_seconds", &[]).record(0.1);
        metrics.histogram("e", &[]).record(1.0);
        let text = to_openmetrics(&metrics.render());
        assert_valid_openmetrics(&text);
        assert!(text.contains("b_total 1"), "{text}");
    }

    #[test]
    fn negotiation_follows_the_qualities() {
        assert!(wants_openmetrics(Some("application/openmetrics-text")));
        assert!(wants_openmetrics(Some(
            "application/openmetrics-text; version=0.0.1; q=0.75, text/plain; q=0.5"
        )));
        assert!(!wants_openmetrics(Some(
            "application/openmetrics-text;q=0.2,text/plain;q=0.9"
        )));
        assert!(!wants_openmetrics(Some("application/openmetrics-text;q=0")));
        assert!(!wants_openmetrics(Some("*/*")));
        assert!(!wants_openmetrics(Some("application/json")));
    }
}
