//! The `ops/` files of the `full` template: the Grafana dashboard and the Prometheus rules parse,
//! name only metrics (and labels) of the guide's metric table, cover that table, and pass
//! `promtool check rules` and `promtool test rules` (the rules' own unit tests, which fire the
//! burn-rate alerts on synthetic series).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use crate::templates::new_app;

/// The guide's metric table (the "Metrics" chapter): the one list of what Cortex records.
const METRIC_TABLE: &str = "../docs/src/operating-metrics.md";

/// Metrics of the table the dashboard leaves out, and why.
const NOT_ON_THE_DASHBOARD: &[(&str, &str)] = &[
    (
        "cortex_lifecycle_hook_duration_seconds",
        "observed once per start and shutdown, not a time series worth a panel",
    ),
    (
        "cortex_container_providers",
        "set once when the container is built: `cortex graph` shows the providers",
    ),
    (
        "cortex_container_build_seconds",
        "set once when the container is built, not a time series worth a panel",
    ),
];

/// One row of the metric table.
#[derive(Debug)]
struct Documented {
    kind: String,
    labels: BTreeSet<String>,
}

/// `| `name` | type | labels | what |` rows.
fn metric_table() -> BTreeMap<String, Documented> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(METRIC_TABLE);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the metric table {}: {e}", path.display()));
    let mut table = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // ["", "`name`", "type", "labels", "what", ""]
        if cells.len() < 5 {
            continue;
        }
        let Some(name) = cells[1].strip_prefix('`').and_then(|n| n.strip_suffix('`')) else {
            continue;
        };
        let labels = cells[3]
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        let kind = cells[2].split_whitespace().next().unwrap_or("").to_string();
        table.insert(name.to_string(), Documented { kind, labels });
    }
    assert!(
        table.len() > 10,
        "{} has no metric table: {table:?}",
        path.display()
    );
    table
}

/// A PromQL expression and where it comes from (for messages).
#[derive(Debug)]
struct Query {
    origin: String,
    expr: String,
}

/// A metric selector in an expression: the metric's name and the labels its matchers name.
#[derive(Debug, PartialEq)]
struct Selector {
    metric: String,
    labels: Vec<String>,
}

const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];
/// Keywords followed by a parenthesized list of labels.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
const OPERATOR_WORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "atan2"];

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The index after the string literal starting at `i` (its quote).
fn skip_string(chars: &[char], i: usize) -> usize {
    let quote = chars[i];
    let mut j = i + 1;
    while j < chars.len() && chars[j] != quote {
        j += if chars[j] == '\\' { 2 } else { 1 };
    }
    j + 1
}

/// The index after the bracketed group opened at `i` (`(`, `{` or `[`), strings skipped.
fn skip_group(chars: &[char], i: usize) -> usize {
    let (open, close) = match chars[i] {
        '(' => ('(', ')'),
        '{' => ('{', '}'),
        _ => ('[', ']'),
    };
    let mut depth = 0;
    let mut j = i;
    while j < chars.len() {
        match chars[j] {
            '"' | '\'' | '`' => {
                j = skip_string(chars, j);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    j
}

/// The label names of a matcher list (`{job="x",le="0.5"}` at `i`).
fn matcher_labels(chars: &[char], i: usize, end: usize) -> Vec<String> {
    let mut labels = Vec::new();
    let mut j = i + 1;
    while j < end {
        let c = chars[j];
        if c == '"' || c == '\'' || c == '`' {
            j = skip_string(chars, j);
        } else if is_ident_start(c) {
            let start = j;
            while j < end && is_ident(chars[j]) {
                j += 1;
            }
            labels.push(chars[start..j].iter().collect());
        } else {
            j += 1;
        }
    }
    labels
}

/// Every metric selector of a PromQL expression, with Grafana's `$variables` taken out: a small
/// scanner that knows PromQL's functions (an identifier before `(`), aggregations, label lists
/// (`by (…)`, `on (…)`) and operator words; strings, ranges and numbers are skipped.
fn selectors(expr: &str) -> Vec<Selector> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i);
        } else if c == '$' {
            i += 1;
            if chars.get(i) == Some(&'{') {
                i = skip_group(&chars, i);
            } else {
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
            }
        } else if c == '[' || c == '{' {
            i = skip_group(&chars, i);
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            if LABEL_LISTS.contains(&word.as_str()) {
                if chars.get(next) == Some(&'(') {
                    i = skip_group(&chars, next);
                }
            } else if chars.get(next) == Some(&'(')
                || AGGREGATIONS.contains(&word.as_str())
                || OPERATOR_WORDS.contains(&word.as_str())
            {
                // A function, an aggregation (`sum by (…) (…)`) or an operator.
            } else {
                let labels = if chars.get(next) == Some(&'{') {
                    let end = skip_group(&chars, next);
                    let labels = matcher_labels(&chars, next, end);
                    i = end;
                    labels
                } else {
                    Vec::new()
                };
                out.push(Selector {
                    metric: word,
                    labels,
                });
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The dashboard's panels, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("`panels` is a list") {
        out.push(panel);
        if let Some(nested) = panel["panels"].as_array() {
            out.extend(nested);
        }
    }
    out
}

/// Every PromQL expression of the dashboard: panel targets and the template variables' queries
/// (`label_values(<selector>, label)`).
fn dashboard_queries(dashboard: &Value) -> Vec<Query> {
    let mut queries = Vec::new();
    for panel in panels(dashboard) {
        let title = panel["title"].as_str().unwrap_or("?");
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("panel `{title}`: a target without `expr`"));
            queries.push(Query {
                origin: format!("dashboard panel `{title}`"),
                expr: expr.to_string(),
            });
        }
    }
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if variable["type"] != "query" {
            continue;
        }
        let name = variable["name"].as_str().unwrap();
        let query = variable["query"]["query"]
            .as_str()
            .or_else(|| variable["query"].as_str())
            .unwrap_or_else(|| panic!("variable `{name}` has no query"));
        let inner = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .and_then(|q| q.rsplit_once(','))
            .map(|(selector, _label)| selector)
            .unwrap_or_else(|| {
                panic!("variable `{name}`: expected label_values(…, label), got {query}")
            });
        queries.push(Query {
            origin: format!("dashboard variable `{name}`"),
            expr: inner.to_string(),
        });
    }
    queries
}

/// The rule groups' rules.
fn rules(doc: &Yaml) -> Vec<&Yaml> {
    let groups = doc["groups"].as_vec().expect("`groups` is a list");
    assert!(!groups.is_empty());
    groups
        .iter()
        .flat_map(|g| g["rules"].as_vec().expect("each group has `rules`"))
        .collect()
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn dashboard_json(app: &Path) -> Value {
    let path = app.join("ops/grafana/cortex-dashboard.json");
    serde_json::from_str(&text(&path))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn alert_rules(app: &Path) -> Yaml {
    let path = app.join("ops/prometheus/alerts.yml");
    let mut docs = YamlLoader::load_from_str(&text(&path))
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
    assert_eq!(docs.len(), 1, "one YAML document");
    docs.remove(0)
}

#[test]
fn the_scanner_finds_metrics_and_their_matcher_labels() {
    let found = selectors(
        r#"histogram_quantile(0.99, sum by (le, route) (rate(http_server_request_duration_seconds_bucket{instance=~"$instance",le="0.5"}[$__rate_interval])))
          / on (job) group_left up and time() - process_start_time_seconds > 1e3 or vector(0)"#,
    );
    assert_eq!(
        found,
        [
            Selector {
                metric: "http_server_request_duration_seconds_bucket".into(),
                labels: vec!["instance".into(), "le".into()],
            },
            Selector {
                metric: "up".into(),
                labels: vec![],
            },
            Selector {
                metric: "process_start_time_seconds".into(),
                labels: vec![],
            },
        ]
    );
}

#[test]
fn the_dashboard_is_importable_and_its_panels_are_laid_out() {
    let (_dir, app) = new_app("blog", &["--template", "full"]);
    let dashboard = dashboard_json(&app);

    // Import asks for the data source once (`__inputs`); provisioned from a file, the data source
    // variable of the same name answers `${DS_PROMETHEUS}`.
    assert_eq!(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");
    assert_eq!(dashboard["__inputs"][0]["pluginId"], "prometheus");
    assert_eq!(dashboard["title"], "blog (Cortex)");
    assert_eq!(dashboard["uid"], "cortex-blog");
    let variables: BTreeMap<&str, &str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["type"].as_str().unwrap()))
        .collect();
    for (name, kind) in [
        ("DS_PROMETHEUS", "datasource"),
        ("service", "query"),
        ("instance", "query"),
        ("route", "query"),
    ] {
        assert_eq!(variables.get(name), Some(&kind), "variable `{name}`");
    }

    let mut ids = BTreeSet::new();
    let mut boxes: Vec<(&str, [i64; 4])> = Vec::new();
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().unwrap();
        assert!(
            ids.insert(panel["id"].as_i64().unwrap()),
            "panel id of `{title}` repeated"
        );
        let pos = &panel["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| pos[k].as_i64().unwrap());
        assert!(
            x >= 0 && w > 0 && x + w <= 24 && h > 0,
            "`{title}` is off the grid: {pos}"
        );
        for (other, [ox, oy, ow, oh]) in &boxes {
            let overlap = x < ox + ow && ox < &(x + w) && y < oy + oh && oy < &(y + h);
            assert!(!overlap, "`{title}` overlaps `{other}`");
        }
        boxes.push((title, [x, y, w, h]));
        if panel["type"] == "row" {
            continue;
        }
        assert!(
            !panel["description"].as_str().unwrap_or("").is_empty(),
            "`{title}` has no description"
        );
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "`{title}`");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "`{title}` has no query");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${DS_PROMETHEUS}", "`{title}`");
        }
    }
    let titles: BTreeSet<&str> = boxes.iter().map(|(t, _)| *t).collect();
    for wanted in [
        "Request rate by route",
        "Error ratio by route",
        "Latency p50 by route",
        "Latency p95 by route",
        "Latency p99 by route",
        "Requests in flight",
        "Open connections",
        "Pool connections",
        "Query latency p95 by statement",
        "CPU",
        "Memory",
        "File descriptors",
        "Tokio tasks",
    ] {
        assert!(titles.contains(wanted), "no panel `{wanted}` in {titles:?}");
    }
}

#[test]
fn every_alert_has_a_severity_and_says_what_to_do() {
    let (_dir, app) = new_app("blog", &["--template", "full"]);
    let doc = alert_rules(&app);
    let mut alerts = BTreeSet::new();
    for rule in rules(&doc) {
        assert!(
            rule["expr"].as_str().is_some(),
            "a rule without expr: {rule:?}"
        );
        let Some(name) = rule["alert"].as_str() else {
            assert!(
                rule["record"].as_str().is_some(),
                "neither alert nor record: {rule:?}"
            );
            continue;
        };
        let severity = rule["labels"]["severity"].as_str();
        assert!(
            matches!(severity, Some("page" | "ticket")),
            "`{name}`: severity {severity:?}"
        );
        for key in ["summary", "description", "runbook"] {
            let value = rule["annotations"][key].as_str().unwrap_or("");
            assert!(value.len() > 20, "`{name}` has no useful `{key}`");
        }
        alerts.insert(name.to_string());
    }
    assert_eq!(
        alerts,
        [
            "DbPoolExhausted",
            "DbPoolSaturated",
            "HttpErrorBudgetBurn",
            "HttpLatencyBudgetBurn",
            "ProcessFileDescriptorsExhausted",
            "TargetDown",
        ]
        .map(String::from)
        .into()
    );
    // The job the app is scraped as is the app's name.
    assert!(text(&app.join("ops/prometheus/alerts.yml")).contains(r#"up{job="blog"} == 0"#));
}

#[test]
fn every_metric_and_label_in_the_ops_files_is_in_the_metric_table() {
    let table = metric_table();
    let (_dir, app) = new_app("blog", &["--template", "full"]);
    let dashboard = dashboard_json(&app);
    let doc = alert_rules(&app);

    let mut queries = dashboard_queries(&dashboard);
    let dashboard_count = queries.len();
    let mut recorded = BTreeSet::new();
    for rule in rules(&doc) {
        let name = rule["alert"]
            .as_str()
            .or_else(|| rule["record"].as_str())
            .unwrap();
        if let Some(record) = rule["record"].as_str() {
            recorded.insert(record.to_string());
        }
        queries.push(Query {
            origin: format!("rule `{name}`"),
            expr: rule["expr"].as_str().unwrap().to_string(),
        });
    }

    let mut problems = Vec::new();
    let mut on_dashboard = BTreeSet::new();
    for (index, query) in queries.iter().enumerate() {
        let found = selectors(&query.expr);
        if found.is_empty() {
            problems.push(format!("{}: no metric in `{}`", query.origin, query.expr));
        }
        for Selector { metric, labels } in found {
            // Prometheus' own target labels are on every series.
            let mut allowed: BTreeSet<String> = ["job", "instance"].map(String::from).into();
            let documented = if recorded.contains(&metric) || metric == "up" {
                Some(metric.clone())
            } else if let Some(doc) = table.get(&metric) {
                allowed.extend(doc.labels.iter().cloned());
                Some(metric.clone())
            } else {
                // A histogram's series: `<name>_bucket` (with `le`), `_count`, `_sum`.
                ["_bucket", "_count", "_sum"].iter().find_map(|suffix| {
                    let base = metric.strip_suffix(suffix)?;
                    let doc = table.get(base).filter(|d| d.kind == "histogram")?;
                    allowed.extend(doc.labels.iter().cloned());
                    if *suffix == "_bucket" {
                        allowed.insert("le".into());
                    }
                    Some(base.to_string())
                })
            };
            let Some(base) = documented else {
                problems.push(format!(
                    "{}: `{metric}` is not in the metric table ({METRIC_TABLE})",
                    query.origin
                ));
                continue;
            };
            if recorded.contains(&metric) {
                continue;
            }
            for label in labels {
                if !allowed.contains(&label) {
                    problems.push(format!(
                        "{}: `{metric}` has no label `{label}` (the table lists {allowed:?})",
                        query.origin
                    ));
                }
            }
            if index < dashboard_count {
                on_dashboard.insert(base);
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The dashboard shows every documented metric but those it leaves out on purpose.
    let missing: Vec<&String> = table
        .keys()
        .filter(|name| !on_dashboard.contains(*name))
        .filter(|name| !NOT_ON_THE_DASHBOARD.iter().any(|(n, _)| n == name))
        .collect();
    assert!(missing.is_empty(), "no dashboard panel shows {missing:?}");
}

/// `promtool ARGS` in `dir`; fails the test with its output when it fails, and says how to
/// install it when it is missing.
fn promtool(dir: &Path, args: &[&str]) -> String {
    let output = match Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "promtool (Prometheus' rule checker) is not installed: `apt-get install prometheus` \
             (Debian) brings it, and scripts/test installs it"
        ),
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "`promtool {}` failed:\n{out}",
        args.join(" ")
    );
    out
}

#[test]
fn promtool_checks_the_rules_and_their_unit_tests_pass() {
    let (_dir, app) = new_app("blog", &["--template", "full"]);
    let rules = app.join("ops/prometheus");
    let checked = promtool(&rules, &["check", "rules", "alerts.yml"]);
    assert!(checked.contains("SUCCESS"), "{checked}");
    // The unit tests fire the burn-rate alerts (page and ticket), the target-down and pool
    // alerts on synthetic series, and check that a service within its budgets stays quiet.
    let tested = promtool(&rules, &["test", "rules", "alerts.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");

    // The dashboard's queries are PromQL that Prometheus parses: each one as a recording rule
    // (Grafana's variables replaced by what they stand for), checked by promtool.
    let dashboard = dashboard_json(&app);
    let mut file = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, query) in dashboard_queries(&dashboard).iter().enumerate() {
        let expr = query
            .expr
            .replace("$__rate_interval", "5m")
            .replace("$instance", ".*")
            .replace("$route", ".*")
            .replace("$service", "blog");
        assert!(
            !expr.contains('$'),
            "{}: a variable left in {expr}",
            query.origin
        );
        file.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: '{}'\n",
            expr.replace('\'', "''")
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dashboard.yml"), file).unwrap();
    promtool(dir.path(), &["check", "rules", "dashboard.yml"]);
}
