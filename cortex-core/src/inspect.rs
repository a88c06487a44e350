//! Inspection mode: what `cortex routes`, `cortex graph` and `cortex plugins` ask an app's binary
//! for.
//!
//! When the environment variable [`CORTEX_INSPECT`](ENV_VAR) is set, [`App::run`] and
//! [`Application::run`](crate::Application::run) print a document about the app on stdout and
//! return `Ok(())` — without binding a socket and without running the `OnStart`/`OnReady` hooks or
//! the `on_start`/`on_ready` closures, so an app whose start-up connects to a database can be
//! inspected where the database is not running. The container is built with
//! [`ContainerBuilder::build_for_inspection`](cortex_di::ContainerBuilder::build_for_inspection):
//! the graph is validated, so a graph error is reported as it would be at start-up, and nothing is
//! created — no singleton, controller, injected guard or health check — so inspecting an app
//! whose providers connect connects to nothing.
//!
//! | `CORTEX_INSPECT` | prints |
//! | --- | --- |
//! | `routes` | every route as JSON: `[{"method", "path", "handler", "guards", "controller", "origin", "plugin", "access", "public", "inputs"}]`, the app's then the framework's. `access` lists the guards' [`AccessPolicy`](crate::openapi::AccessPolicy)s (`"authenticated"`, `{"roles": ["admin"]}`, ...), `public` is `true` for a `#[public]` route, `inputs` the handler's request types; each is left out when empty or false. `origin` is `app` for the controllers' routes (`controller` names the controller) and those the app added with [`App::route`](crate::App::route), `plugin` for those a plugin added (`plugin` names it), else the part of Cortex that serves it (`health`, `openapi`, `static`) |
//! | `graph` | the dependency-injection graph as JSON ([`cortex_di::Graph::to_json_pretty`]) |
//! | `graph:mermaid` | the graph as a Mermaid flowchart |
//! | `graph:dot` | the graph in Graphviz DOT |
//! | `openapi` | the OpenAPI document the app serves, as JSON |
//! | `plugins` | the app's plugins as JSON: `[{"name", "version", "order", "state", "config_section", "dependencies", "origin"}]`, in application order, the disabled ones last ([`PluginInfo`](crate::plugin::PluginInfo)) |
//! | `tasks` | the names of the app's tasks ([`App::task`](crate::App::task)) as a JSON array |
//!
//! Any other value is an [`AppError::Inspect`] naming the valid ones; an empty value counts as
//! unset. Logs go to stderr as usual, so stdout holds only the document.
//!
//! ```
//! use cortex_core::inspect::Inspect;
//!
//! assert_eq!("graph:mermaid".parse::<Inspect>()?, Inspect::GraphMermaid);
//! assert_eq!(Inspect::Routes.as_str(), "routes");
//! let err = "route".parse::<Inspect>().unwrap_err();
//! assert!(err.to_string().contains("routes, graph, graph:mermaid, graph:dot, openapi, plugins, tasks"));
//! # Ok::<_, cortex_core::AppError>(())
//! ```

use std::fmt;
use std::io::Write;
use std::str::FromStr;

use serde::Serialize;

use crate::routing::RouteOrigin;
use crate::{App, AppError, Application};

/// The environment variable that switches an app into inspection mode.
pub const ENV_VAR: &str = "CORTEX_INSPECT";

/// What to print in inspection mode (the value of [`CORTEX_INSPECT`](ENV_VAR)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Inspect {
    /// `routes`: the route table as JSON.
    Routes,
    /// `graph`: the dependency-injection graph as JSON.
    Graph,
    /// `graph:mermaid`: the graph as a Mermaid flowchart.
    GraphMermaid,
    /// `graph:dot`: the graph in Graphviz DOT.
    GraphDot,
    /// `openapi`: the OpenAPI document as JSON.
    OpenApi,
    /// `plugins`: the app's plugins as JSON.
    Plugins,
    /// `tasks`: the names of the app's tasks as a JSON array.
    Tasks,
}

impl Inspect {
    /// Every value, as written in `CORTEX_INSPECT`.
    pub const VALUES: [&'static str; 7] = [
        "routes",
        "graph",
        "graph:mermaid",
        "graph:dot",
        "openapi",
        "plugins",
        "tasks",
    ];

    /// The value as written in `CORTEX_INSPECT`.
    ///
    /// ```
    /// assert_eq!(cortex_core::inspect::Inspect::GraphDot.as_str(), "graph:dot");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Inspect::Routes => "routes",
            Inspect::Graph => "graph",
            Inspect::GraphMermaid => "graph:mermaid",
            Inspect::GraphDot => "graph:dot",
            Inspect::OpenApi => "openapi",
            Inspect::Plugins => "plugins",
            Inspect::Tasks => "tasks",
        }
    }

    /// What `CORTEX_INSPECT` asks for: `None` when it is unset or empty, an error when it is
    /// not one of [`VALUES`](Self::VALUES).
    ///
    /// ```
    /// // Unset in doc tests: the app runs normally.
    /// assert_eq!(cortex_core::inspect::Inspect::from_env()?, None);
    /// # Ok::<_, cortex_core::AppError>(())
    /// ```
    pub fn from_env() -> Result<Option<Inspect>, AppError> {
        match std::env::var(ENV_VAR) {
            Ok(value) if value.trim().is_empty() => Ok(None),
            Ok(value) => value.parse().map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(unknown("(not UTF-8)")),
        }
    }

    /// The document for a built application, ending with a newline.
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::inspect::Inspect;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let app = App::new().build().await?;
    /// let routes: serde_json::Value = serde_json::from_str(&Inspect::Routes.render(&app)?).unwrap();
    /// assert_eq!(routes[0]["path"], "/health/live");
    /// assert_eq!(routes[0]["origin"], "health");
    /// assert!(Inspect::GraphDot.render(&app)?.starts_with("digraph cortex {"));
    /// # Ok::<_, cortex_core::AppError>(())
    /// # }).unwrap();
    /// ```
    pub fn render(self, app: &Application) -> Result<String, AppError> {
        let mut out = match self {
            Inspect::Routes => {
                let own = app.routes().iter().map(|r| RouteRow {
                    method: &r.method,
                    path: &r.path,
                    handler: &r.handler,
                    guards: &r.guards,
                    controller: (r.origin == RouteOrigin::Controller)
                        .then(|| {
                            r.handler
                                .rsplit_once("::")
                                .map(|(controller, _)| controller)
                        })
                        .flatten(),
                    origin: match r.origin {
                        RouteOrigin::Plugin => "plugin",
                        _ => "app",
                    },
                    plugin: r.plugin.as_deref(),
                    access: &r.access,
                    public: r.public,
                    inputs: &r.inputs,
                });
                let framework = app.framework_routes().iter().map(|r| RouteRow {
                    method: &r.method,
                    path: &r.path,
                    handler: &r.handler,
                    guards: &[],
                    controller: None,
                    origin: r.origin.as_str(),
                    plugin: None,
                    access: &[],
                    public: false,
                    inputs: &[],
                });
                let rows: Vec<RouteRow<'_>> = own.chain(framework).collect();
                serde_json::to_string_pretty(&rows)
                    .map_err(|e| AppError::Inspect(format!("cannot write the route table: {e}")))?
            }
            Inspect::Graph => app.container().graph().to_json_pretty(),
            Inspect::GraphMermaid => app.container().graph().to_mermaid(),
            Inspect::GraphDot => app.container().graph().to_dot(),
            Inspect::Plugins => serde_json::to_string_pretty(app.plugins())
                .map_err(|e| AppError::Inspect(format!("cannot write the plugin list: {e}")))?,
            Inspect::Tasks => serde_json::to_string_pretty(&app.task_names())
                .map_err(|e| AppError::Inspect(format!("cannot write the task list: {e}")))?,
            Inspect::OpenApi => match app.openapi() {
                Some(spec) => spec.to_pretty_json(),
                None => {
                    return Err(AppError::Inspect(
                        "CORTEX_INSPECT=openapi: the app has no OpenAPI document (`openapi.enabled = false`); hint: enable it in the configuration".into(),
                    ));
                }
            },
        };
        if !out.ends_with('\n') {
            out.push('\n');
        }
        Ok(out)
    }
}

impl fmt::Display for Inspect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Inspect {
    type Err = AppError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "routes" => Ok(Inspect::Routes),
            "graph" | "graph:json" => Ok(Inspect::Graph),
            "graph:mermaid" => Ok(Inspect::GraphMermaid),
            "graph:dot" => Ok(Inspect::GraphDot),
            "openapi" => Ok(Inspect::OpenApi),
            "plugins" => Ok(Inspect::Plugins),
            "tasks" => Ok(Inspect::Tasks),
            other => Err(unknown(other)),
        }
    }
}

fn unknown(value: &str) -> AppError {
    AppError::Inspect(format!(
        "{ENV_VAR}={value:?} is not a known inspection: expected one of {}; hint: unset {ENV_VAR} to run the app",
        Inspect::VALUES.join(", ")
    ))
}

/// One row of `CORTEX_INSPECT=routes`.
#[derive(Serialize)]
struct RouteRow<'a> {
    method: &'a str,
    path: &'a str,
    handler: &'a str,
    guards: &'a [String],
    /// The controller type, as the handler names it.
    controller: Option<&'a str>,
    /// `app` for the controllers' routes and the app's own `App::route`s, `plugin` for a
    /// plugin's, else the part of Cortex that serves it.
    origin: &'a str,
    /// The plugin that added the route.
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin: Option<&'a str>,
    /// What the guards enforce.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    access: &'a [crate::openapi::AccessPolicy],
    /// Marked `#[public]`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    public: bool,
    /// The handler's request types.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    inputs: &'a [String],
}

/// Prints `request`'s document for `app` on stdout.
pub(crate) fn print(app: &Application, request: Inspect) -> Result<(), AppError> {
    let document = request.render(app)?;
    let mut out = std::io::stdout().lock();
    out.write_all(document.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// What `App::run` does in inspection mode: builds the app without its start hooks and prints the
/// document.
pub(crate) async fn run(app: App, request: Inspect) -> Result<(), AppError> {
    let application = app.build_for_inspection().await?;
    print(&application, request)
}

/// Builds `app` as inspection mode does — container and routes, no `OnStart` hooks and no
/// `on_start` closures — and returns the document `request` (a `CORTEX_INSPECT` value) asks for,
/// instead of printing it. For tests: the environment variable is process-global.
#[doc(hidden)]
pub async fn inspect_app(app: App, request: &str) -> Result<String, AppError> {
    let request: Inspect = request.parse()?;
    request.render(&app.build_for_inspection().await?)
}
