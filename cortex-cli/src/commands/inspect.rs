//! `cortex routes`, `cortex graph` and `cortex plugins`: build the app, run its binary in
//! inspection mode (`CORTEX_INSPECT=routes|graph|graph:mermaid|graph:dot|plugins`, see
//! `cortex_core::inspect`), and print what it reports. `cortex routes` lists every route the app answers, its controllers' (`app`)
//! and the framework's (`cortex (health)`, `cortex (openapi)`, `cortex (static)`); with `--audit`,
//! each route's access policy and input types, the routes without a policy flagged (and, with
//! `--deny-unguarded`, an exit status of 1 when there are any).
//!
//! The binary runs in the app's folder (so it reads the same `cortex*.toml` as `cortex serve`)
//! with `CORTEX_PORT=0` and `CORTEX_HOST=127.0.0.1`, so that an app too old to know inspection
//! mode, which starts serving instead, takes no real port; such an app is stopped as soon as it
//! logs that it is listening. The run is bounded by `CORTEX_INSPECT_TIMEOUT` seconds (30 by
//! default). Its stderr (logs) is shown only when it fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::cargo::{self, BuildOptions};
use crate::cli::{GraphArgs, GraphFormat, PluginsArgs, RoutesArgs, RoutesFormat};
use crate::error::{CliError, Context, Result};
use crate::project::Project;
use crate::ui::Ui;

/// How long the app may take to print its document, unless `CORTEX_INSPECT_TIMEOUT` says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `cortex routes`.
pub fn routes(args: RoutesArgs, ui: &Ui) -> Result<()> {
    let project = Project::find(args.path.as_deref())?;
    let binary = cargo::build(&project, BuildOptions::default(), ui)?;
    let out = inspect(&project, &binary, "routes", "its routes")?;
    let routes: Vec<Route> = serde_json::from_str(&out).map_err(|_| not_cortex(&project))?;
    if args.audit || args.deny_unguarded {
        return audit(&routes, args.format, args.deny_unguarded, ui);
    }
    let text = match args.format {
        RoutesFormat::Json => {
            let mut json =
                serde_json::to_string_pretty(&routes).context("cannot write the routes")?;
            json.push('\n');
            json
        }
        RoutesFormat::Table => {
            if !routes.iter().any(Route::is_app) {
                ui.note(format!("`{}` has no controller routes", project.name()));
            }
            routes_table(&routes)
        }
    };
    print_stdout(&text)
}

/// `cortex routes --audit`: each route's access policy and inputs, the routes without a policy
/// flagged and summed up; with `deny_unguarded`, an error (status 1) when there are any.
fn audit(routes: &[Route], format: RoutesFormat, deny_unguarded: bool, ui: &Ui) -> Result<()> {
    let rows: Vec<AuditRow<'_>> = routes.iter().map(AuditRow::of).collect();
    let unguarded: Vec<String> = rows
        .iter()
        .filter(|r| r.flagged)
        .map(|r| format!("{} {} ({})", r.method, r.path, r.handler))
        .collect();
    let summary = match unguarded.len() {
        0 => None,
        1 => Some(format!("1 route has no access policy: {}", unguarded[0])),
        n => Some(format!(
            "{n} routes have no access policy: {}",
            unguarded.join(", ")
        )),
    };
    let text = match format {
        RoutesFormat::Json => {
            let mut json =
                serde_json::to_string_pretty(&rows).context("cannot write the routes")?;
            json.push('\n');
            json
        }
        RoutesFormat::Table => {
            let mut text = audit_table(&rows);
            match &summary {
                Some(summary) => text.push_str(&format!("\n{summary}\n")),
                None => text.push_str("\nevery route has an access policy or is public\n"),
            }
            text
        }
    };
    print_stdout(&text)?;
    match summary {
        Some(summary) if deny_unguarded => Err(CliError::new(summary).hint(
            "add #[guard(Authenticated)] (or another guard that declares an access policy) or #[public] to each; see the guide's \"Auditing routes\" chapter",
        )),
        Some(summary) if format == RoutesFormat::Json => {
            ui.warn(summary);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// One route as `cortex routes --audit` shows it.
#[derive(Debug, serde::Serialize)]
struct AuditRow<'a> {
    method: &'a str,
    path: &'a str,
    handler: &'a str,
    /// The ORIGIN column of `cortex routes`.
    origin: String,
    /// The ACCESS column: `public`, `authenticated`, `roles: admin`, ..., or `NONE`.
    access: String,
    inputs: &'a [String],
    /// Whether the route has no access policy (and is not public).
    flagged: bool,
}

impl<'a> AuditRow<'a> {
    fn of(route: &'a Route) -> Self {
        let policies: Vec<String> = route.access.iter().map(policy_text).collect();
        let framework = !route.is_app() && route.origin.as_deref() != Some("plugin");
        let (access, flagged) = if framework {
            // Health, OpenAPI, static files: open by design, exempt from deny-by-default.
            ("public (cortex)".to_string(), false)
        } else if route.public && policies.is_empty() {
            ("public".to_string(), false)
        } else if route.public {
            // A contradiction the app refuses at start.
            (format!("public, yet {}", policies.join("; ")), true)
        } else if !policies.is_empty() {
            (policies.join("; "), false)
        } else if route.guards.is_empty() {
            ("NONE".to_string(), true)
        } else {
            (
                format!(
                    "NONE (guards declare no policy: {})",
                    route.guards.join(", ")
                ),
                true,
            )
        };
        AuditRow {
            method: &route.method,
            path: &route.path,
            handler: &route.handler,
            origin: route.origin_column(),
            access,
            inputs: &route.inputs,
            flagged,
        }
    }
}

/// A policy as `CORTEX_INSPECT=routes` writes it (`"authenticated"`, `{"roles": ["admin"]}`), in
/// words: `authenticated`, `roles: admin or owner`, `permissions: a and b`, `custom: ..`.
fn policy_text(policy: &serde_json::Value) -> String {
    let list = |values: &serde_json::Value, joint: &str| match values {
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(joint),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match policy {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(map) if map.len() == 1 => {
            let (kind, values) = map.iter().next().expect("one entry");
            let joint = if kind == "permissions" {
                " and "
            } else {
                " or "
            };
            format!("{kind}: {}", list(values, joint))
        }
        other => other.to_string(),
    }
}

/// `! METHOD PATH ACCESS INPUTS ORIGIN`, the flag `!` on the routes without an access policy.
fn audit_table(rows: &[AuditRow<'_>]) -> String {
    let header = ["", "METHOD", "PATH", "ACCESS", "INPUTS", "ORIGIN"].map(String::from);
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                if r.flagged { "!" } else { "" }.to_string(),
                r.method.to_string(),
                r.path.to_string(),
                r.access.clone(),
                if r.inputs.is_empty() {
                    "-".to_string()
                } else {
                    r.inputs.join(", ")
                },
                r.origin.clone(),
            ]
        })
        .collect();
    table(&header, &rows)
}

/// Runs `cortex graph`.
pub fn graph(args: GraphArgs, ui: &Ui) -> Result<()> {
    let project = Project::find(args.path.as_deref())?;
    let binary = cargo::build(&project, BuildOptions::default(), ui)?;
    let (request, looks_right): (&str, fn(&str) -> bool) = match args.format {
        GraphFormat::Text | GraphFormat::Json => {
            ("graph", |s| serde_json::from_str::<Graph>(s).is_ok())
        }
        GraphFormat::Mermaid => ("graph:mermaid", |s| s.starts_with("flowchart")),
        GraphFormat::Dot => ("graph:dot", |s| s.starts_with("digraph")),
    };
    let out = inspect(&project, &binary, request, "its dependency graph")?;
    if !looks_right(&out) {
        return Err(not_cortex(&project));
    }
    let text = match args.format {
        GraphFormat::Text => {
            let graph: Graph = serde_json::from_str(&out).map_err(|_| not_cortex(&project))?;
            graph_text(&graph)
        }
        _ => out,
    };
    print_stdout(&text)
}

/// Runs `cortex plugins`.
pub fn plugins(args: PluginsArgs, ui: &Ui) -> Result<()> {
    let project = Project::find(args.path.as_deref())?;
    let binary = cargo::build(&project, BuildOptions::default(), ui)?;
    let out = inspect(&project, &binary, "plugins", "its plugins")?;
    let plugins: Vec<PluginRow> = serde_json::from_str(&out).map_err(|_| not_cortex(&project))?;
    let text = match args.format {
        RoutesFormat::Json => {
            let mut json =
                serde_json::to_string_pretty(&plugins).context("cannot write the plugins")?;
            json.push('\n');
            json
        }
        RoutesFormat::Table => {
            if plugins.is_empty() {
                ui.note(format!(
                    "`{}` has no plugins (add one with `.plugin(..)`, or enable a crate's plugin feature)",
                    project.name()
                ));
            }
            plugins_table(&plugins)
        }
    };
    print_stdout(&text)
}

/// A plugin as `CORTEX_INSPECT=plugins` reports it.
#[derive(Debug, Deserialize, serde::Serialize)]
struct PluginRow {
    name: String,
    version: Option<String>,
    order: Option<usize>,
    state: String,
    config_section: Option<String>,
    #[serde(default)]
    dependencies: Vec<PluginDependency>,
    origin: String,
}

#[derive(Debug, Deserialize, serde::Serialize)]
struct PluginDependency {
    name: String,
    requirement: String,
}

/// `ORDER NAME VERSION STATE CONFIG DEPENDS ON ORIGIN`, aligned, without trailing spaces.
fn plugins_table(plugins: &[PluginRow]) -> String {
    let dash = || "-".to_string();
    let rows: Vec<Vec<String>> = plugins
        .iter()
        .map(|p| {
            vec![
                p.order.map_or_else(dash, |o| (o + 1).to_string()),
                p.name.clone(),
                p.version.clone().unwrap_or_else(dash),
                p.state.clone(),
                p.config_section
                    .as_ref()
                    .map_or_else(dash, |s| format!("[{s}]")),
                if p.dependencies.is_empty() {
                    dash()
                } else {
                    p.dependencies
                        .iter()
                        .map(|d| format!("{} {}", d.name, d.requirement))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                p.origin.clone(),
            ]
        })
        .collect();
    let header = [
        "ORDER",
        "NAME",
        "VERSION",
        "STATE",
        "CONFIG",
        "DEPENDS ON",
        "ORIGIN",
    ]
    .map(String::from)
    .to_vec();
    table(&header, &rows)
}

/// Rows aligned in columns two spaces apart, without trailing spaces.
fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut widths = vec![0; header.len()];
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A route as `CORTEX_INSPECT=routes` reports it.
#[derive(Debug, Deserialize, serde::Serialize)]
struct Route {
    method: String,
    path: String,
    handler: String,
    #[serde(default)]
    guards: Vec<String>,
    #[serde(default)]
    controller: Option<String>,
    /// `app`, `plugin`, or the part of Cortex that serves it (`health`, `openapi`, `static`);
    /// absent from apps on a Cortex that listed only the controllers' routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    /// The plugin that added it, when `origin` is `plugin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plugin: Option<String>,
    /// The access policies its guards declare (`"authenticated"`, `{"roles": ["admin"]}`, ...),
    /// kept as JSON so that a newer Cortex's kinds still show.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    access: Vec<serde_json::Value>,
    /// Marked `#[public]`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    public: bool,
    /// The handler's request types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    inputs: Vec<String>,
}

impl Route {
    /// Whether the app's own code serves it (not the framework).
    fn is_app(&self) -> bool {
        self.origin.as_deref().is_none_or(|o| o == "app")
    }

    /// The ORIGIN column: `app`, `plugin (metrics)`, or `cortex (health)`.
    fn origin_column(&self) -> String {
        match self.origin.as_deref() {
            None | Some("app") => "app".to_string(),
            Some("plugin") => match &self.plugin {
                Some(name) => format!("plugin ({name})"),
                None => "plugin".to_string(),
            },
            Some(part) => format!("cortex ({part})"),
        }
    }
}

/// The dependency graph as `CORTEX_INSPECT=graph` reports it (the fields the text form shows).
#[derive(Debug, Deserialize)]
struct Graph {
    providers: Vec<Provider>,
}

#[derive(Debug, Deserialize)]
struct Provider {
    #[serde(rename = "type")]
    type_name: String,
    name: Option<String>,
    scope: String,
    #[serde(default)]
    lazy: bool,
    #[serde(default)]
    dependencies: Vec<Dependency>,
}

#[derive(Debug, Deserialize)]
struct Dependency {
    #[serde(rename = "type")]
    type_name: String,
    name: Option<String>,
    #[serde(default)]
    optional: bool,
    field: Option<String>,
    provider: Option<usize>,
}

/// `METHOD PATH HANDLER GUARDS ORIGIN`, aligned, without trailing spaces.
fn routes_table(routes: &[Route]) -> String {
    let rows: Vec<[String; 5]> = routes
        .iter()
        .map(|r| {
            [
                r.method.clone(),
                r.path.clone(),
                r.handler.clone(),
                if r.guards.is_empty() {
                    "-".to_string()
                } else {
                    r.guards.join(", ")
                },
                r.origin_column(),
            ]
        })
        .collect();
    let header = ["METHOD", "PATH", "HANDLER", "GUARDS", "ORIGIN"].map(String::from);
    let rows: Vec<Vec<String>> = rows.into_iter().map(Vec::from).collect();
    table(&header, &rows)
}

/// Each provider with its scope, then one indented line per dependency:
///
/// ```text
/// todo::todos::TodoService (singleton)
///     store: todo::todos::Store
///     clock: todo::Clock (optional)
/// ```
fn graph_text(graph: &Graph) -> String {
    let mut out = String::new();
    for provider in &graph.providers {
        out.push_str(&provider.type_name);
        if let Some(name) = &provider.name {
            out.push_str(&format!(" named {name:?}"));
        }
        out.push_str(&format!(" ({}", provider.scope));
        if provider.lazy {
            out.push_str(", lazy");
        }
        out.push_str(")\n");
        for dep in &provider.dependencies {
            out.push_str("    ");
            if let Some(field) = &dep.field {
                out.push_str(&format!("{field}: "));
            }
            out.push_str(&dep.type_name);
            if let Some(name) = &dep.name {
                out.push_str(&format!(" named {name:?}"));
            }
            match (dep.optional, dep.provider) {
                (true, None) => out.push_str(" (optional, absent)"),
                (true, Some(_)) => out.push_str(" (optional)"),
                _ => {}
            }
            out.push('\n');
        }
    }
    out
}

pub(crate) fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `cortex routes | head`: the reader is gone, which is fine.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::new(format!("cannot write to stdout: {e}"))),
    }
}

pub(crate) fn not_cortex(project: &Project) -> CliError {
    CliError::new(format!(
        "`{}` did not answer CORTEX_INSPECT: it is not a Cortex app, or its Cortex is too old for inspection",
        project.bin()
    ))
    .hint("the binary must run `App::run` (as `#[cortex::main]` apps do) on a Cortex with inspection mode; update its `cortex` dependency")
}

/// What the reader threads report.
enum Event {
    Stderr(String),
    StderrDone,
    Stdout(std::io::Result<Vec<u8>>),
}

/// Runs `binary` with `CORTEX_INSPECT=request` in the app's folder and returns what it printed on
/// stdout. Fails, showing its stderr, when it exits unsuccessfully, starts serving instead, or
/// takes longer than the timeout.
pub(crate) fn inspect(
    project: &Project,
    binary: &Path,
    request: &str,
    what: &str,
) -> Result<String> {
    let timeout = timeout()?;
    let mut child = Command::new(binary)
        .current_dir(project.dir())
        .env("CORTEX_INSPECT", request)
        .env("CORTEX_PORT", "0")
        .env("CORTEX_HOST", "127.0.0.1")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDNAMES")
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", binary.display()))?;

    let (tx, rx) = mpsc::channel();
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let stdout_tx = tx.clone();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let read = stdout.read_to_end(&mut buf).map(|_| buf);
        let _ = stdout_tx.send(Event::Stdout(read));
    });
    let stderr = child.stderr.take().expect("stderr is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
            if tx.send(Event::Stderr(line)).is_err() {
                return;
            }
        }
        let _ = tx.send(Event::StderrDone);
    });

    let deadline = Instant::now() + timeout;
    let mut log = Vec::new();
    let mut stdout = None;
    let mut stderr_done = false;
    let mut problem = None;
    while stdout.is_none() || !stderr_done {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Event::Stderr(line)) => {
                let serving = cargo::strip_ansi(&line).contains("listening on http");
                log.push(line);
                if serving {
                    problem = Some(
                        CliError::new(format!(
                            "`{}` started serving instead of printing {what}: its Cortex is too old for inspection",
                            project.bin()
                        ))
                        .hint("update the app's `cortex` dependency"),
                    );
                    break;
                }
            }
            Ok(Event::StderrDone) => stderr_done = true,
            Ok(Event::Stdout(read)) => {
                stdout = Some(read.context("cannot read the app's output")?);
            }
            Err(_) => {
                problem = Some(
                    CliError::new(format!(
                        "`{}` did not print {what} within {}s",
                        project.bin(),
                        timeout.as_secs_f64()
                    ))
                    .hint("is it a Cortex app whose `main` runs `App::run`? a slow start-up may need CORTEX_INSPECT_TIMEOUT=SECONDS"),
                );
                break;
            }
        }
    }
    if let Some(problem) = problem {
        let _ = child.kill();
        let _ = child.wait();
        show_log(&log);
        return Err(problem);
    }
    let status = child.wait().context("the app did not finish")?;
    if !status.success() {
        show_log(&log);
        let status = match status.code() {
            Some(code) => format!("status {code}"),
            None => "a signal".to_string(),
        };
        return Err(CliError::new(format!(
            "`{}` exited with {status} instead of printing {what}; its output is above",
            project.bin()
        ))
        .hint("fix what it reports (`cortex doctor` checks the configuration), then run the command again"));
    }
    String::from_utf8(stdout.unwrap_or_default()).map_err(|_| not_cortex(project))
}

/// The app's stderr, as it printed it.
fn show_log(log: &[String]) {
    let mut err = std::io::stderr().lock();
    for line in log {
        let _ = writeln!(err, "{line}");
    }
}

/// `CORTEX_INSPECT_TIMEOUT` (seconds), else 30 s.
fn timeout() -> Result<Duration> {
    match std::env::var("CORTEX_INSPECT_TIMEOUT") {
        Err(_) => Ok(DEFAULT_TIMEOUT),
        Ok(value) => value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 86_400.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| {
                CliError::new(format!(
                    "CORTEX_INSPECT_TIMEOUT={value:?} is not a number of seconds"
                ))
                .hint("set it to a positive number such as 60, or unset it for 30 seconds")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str, handler: &str, guards: &[&str]) -> Route {
        Route {
            method: method.into(),
            path: path.into(),
            handler: handler.into(),
            guards: guards.iter().map(|g| g.to_string()).collect(),
            controller: None,
            origin: Some("app".into()),
            plugin: None,
            access: Vec::new(),
            public: false,
            inputs: Vec::new(),
        }
    }

    #[test]
    fn the_plugin_table_lists_order_versions_sections_and_dependencies() {
        let rows: Vec<PluginRow> = serde_json::from_value(serde_json::json!([
            {"name": "metrics", "version": "1.0.0", "order": 0, "state": "enabled", "config_section": null, "dependencies": [], "origin": "discovered"},
            {"name": "data", "version": "0.3.2", "order": 1, "state": "enabled", "config_section": "database", "dependencies": [{"name": "metrics", "requirement": ">=1"}], "origin": "app"},
            {"name": "mail", "version": null, "order": null, "state": "disabled", "config_section": null, "dependencies": [], "origin": "app"},
        ]))
        .unwrap();
        assert_eq!(
            plugins_table(&rows),
            "ORDER  NAME     VERSION  STATE     CONFIG      DEPENDS ON   ORIGIN\n\
             1      metrics  1.0.0    enabled   -           -            discovered\n\
             2      data     0.3.2    enabled   [database]  metrics >=1  app\n\
             -      mail     -        disabled  -           -            app\n"
        );
    }

    #[test]
    fn the_table_is_aligned_without_trailing_spaces() {
        let mut health = route("GET", "/health/live", "liveness", &[]);
        health.origin = Some("health".into());
        let mut old = route("GET", "/old", "OldController::list", &[]);
        old.origin = None;
        let mut metrics = route("GET", "/metrics", "metrics", &[]);
        metrics.origin = Some("plugin".into());
        metrics.plugin = Some("prometheus".into());
        let table = routes_table(&[
            route("GET", "/todos", "TodoController::list", &[]),
            route(
                "DELETE",
                "/todos/{id}",
                "TodoController::delete",
                &["ApiKey", "Admin"],
            ),
            old,
            metrics,
            health,
        ]);
        assert_eq!(
            table,
            "METHOD  PATH          HANDLER                 GUARDS         ORIGIN\n\
             GET     /todos        TodoController::list    -              app\n\
             DELETE  /todos/{id}   TodoController::delete  ApiKey, Admin  app\n\
             GET     /old          OldController::list     -              app\n\
             GET     /metrics      metrics                 -              plugin (prometheus)\n\
             GET     /health/live  liveness                -              cortex (health)\n"
        );
    }

    #[test]
    fn the_audit_shows_each_policy_and_flags_the_routes_without_one() {
        let mut list = route("GET", "/posts", "Posts::list", &[]);
        list.public = true;
        let mut show = route("GET", "/posts/{id}", "Posts::show", &["Authenticated"]);
        show.access = vec![serde_json::json!("authenticated")];
        show.inputs = vec!["Path<i64>".into()];
        let mut remove = route(
            "DELETE",
            "/posts/{id}",
            "Posts::remove",
            &["Role(\"admin\")"],
        );
        remove.access = vec![
            serde_json::json!({ "roles": ["admin", "owner"] }),
            serde_json::json!({ "permissions": ["posts:delete", "posts:read"] }),
            serde_json::json!({ "custom": "MyGuard" }),
        ];
        let mut create = route("POST", "/posts", "Posts::create", &[]);
        create.inputs = vec!["Path<i64>".into(), "Valid<Json<NewPost>>".into()];
        let json_only = route("GET", "/feed", "Posts::feed", &["guard_fn(json)"]);
        let mut contradiction = route("GET", "/open", "Posts::open", &["Authenticated"]);
        contradiction.public = true;
        contradiction.access = vec![serde_json::json!("authenticated")];
        let mut jwks = route("GET", "/.well-known/jwks.json", "jwks", &[]);
        (jwks.origin, jwks.plugin, jwks.public) =
            (Some("plugin".into()), Some("auth".into()), true);
        let mut health = route("GET", "/health/live", "liveness", &[]);
        health.origin = Some("health".into());
        let routes = [
            list,
            show,
            remove,
            create,
            json_only,
            contradiction,
            jwks,
            health,
        ];
        let rows: Vec<AuditRow<'_>> = routes.iter().map(AuditRow::of).collect();
        assert_eq!(
            audit_table(&rows),
            [
                "   METHOD  PATH                    ACCESS                                                                            INPUTS                           ORIGIN",
                "   GET     /posts                  public                                                                            -                                app",
                "   GET     /posts/{id}             authenticated                                                                     Path<i64>                        app",
                "   DELETE  /posts/{id}             roles: admin or owner; permissions: posts:delete and posts:read; custom: MyGuard  -                                app",
                "!  POST    /posts                  NONE                                                                              Path<i64>, Valid<Json<NewPost>>  app",
                "!  GET     /feed                   NONE (guards declare no policy: guard_fn(json))                                   -                                app",
                "!  GET     /open                   public, yet authenticated                                                         -                                app",
                "   GET     /.well-known/jwks.json  public                                                                            -                                plugin (auth)",
                "   GET     /health/live            public (cortex)                                                                   -                                cortex (health)",
            ]
            .map(|line| format!("{line}\n"))
            .concat()
        );
        let json = serde_json::to_value(&rows[3]).unwrap();
        assert_eq!(json["access"], "NONE");
        assert_eq!(json["flagged"], true);
        assert_eq!(
            json["inputs"],
            serde_json::json!(["Path<i64>", "Valid<Json<NewPost>>"])
        );
    }

    #[test]
    fn framework_routes_are_not_the_apps() {
        let mut health = route("GET", "/health/live", "liveness", &[]);
        health.origin = Some("health".into());
        assert!(!health.is_app());
        assert!(route("GET", "/", "Home::index", &[]).is_app());
    }

    #[test]
    fn the_graph_text_lists_each_provider_and_its_dependencies() {
        let graph: Graph = serde_json::from_str(
            r#"{"providers": [
                {"type": "app::Repo", "name": null, "scope": "singleton", "lazy": false, "dependencies": [
                    {"type": "app::Db", "name": "main", "optional": false, "field": "db", "provider": 1},
                    {"type": "app::Cache", "name": null, "optional": true, "field": "cache", "provider": null}
                ]},
                {"type": "app::Db", "name": "main", "scope": "singleton", "lazy": true, "dependencies": []}
            ]}"#,
        )
        .unwrap();
        assert_eq!(
            graph_text(&graph),
            "app::Repo (singleton)\n    db: app::Db named \"main\"\n    cache: app::Cache (optional, absent)\napp::Db named \"main\" (singleton, lazy)\n"
        );
    }
}
