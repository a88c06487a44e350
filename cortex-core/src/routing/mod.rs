//! Controllers and their routes: what `#[controller]` and `#[routes]` expand to, guards, and the
//! route table.
//!
//! A controller is an injectable struct with a path prefix; its `#[routes]` impl turns each
//! annotated method into an axum handler that calls the method on the controller's singleton.
//! Handler arguments are any axum extractors, plus [`Inject<T>`](cortex_di::Inject), which resolves
//! from the request's scope.

mod error;
mod guard;
mod handler;
mod layer;
mod paths;

use std::fmt;
use std::sync::Arc;

use axum::routing::{MethodFilter, MethodRouter};
use cortex_di::{Container, ContainerBuilder, Dependency, Error, Inject};
use http::Method;
use serde::Serialize;

use crate::http::middleware::AppStack;
use crate::openapi::{AccessPolicy, GuardDoc, OpenApiBuilder, OperationDoc};

pub use error::{RouteError, RouteErrors};
pub use guard::{ErasedGuard, Guard, guard_fn};
pub(crate) use layer::{AppLayer, erase_layer};
pub(crate) use paths::check_paths;

/// Items `#[routes]` expands to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use super::handler::{
        Extract, ExtractHead, ExtractLast, ExtractNone, HeadArg, LastArg, Respond, check_head_arg,
        check_last_arg, respond, send,
    };
}
#[doc(hidden)]
pub use guard::{apply_described_guards, apply_guards};

/// A controller: an injectable struct serving routes under a path prefix.
///
/// `#[controller("/users")]` implements it; controller-wide guards and middleware given on the
/// struct are applied by [`decorate`](Self::decorate).
pub trait Controller: Send + Sync + 'static {
    /// The path prefix of every route (`""` for the root).
    const PREFIX: &'static str;

    /// Applies the controller's own guards and middleware to one of its routes.
    fn decorate(route: MethodRouter, container: &Container) -> Result<MethodRouter, Error> {
        let _ = container;
        Ok(route)
    }

    /// [`decorate`](Self::decorate), also describing the controller's guards in `doc` (see
    /// [`Guard::describe`]): what `#[routes]` calls, so that each route's OpenAPI operation
    /// states what its controller's guards enforce. The default describes nothing and calls
    /// `decorate`; `#[controller]` implements both.
    fn decorate_documented(
        route: MethodRouter,
        container: &Container,
        doc: &mut GuardDoc,
    ) -> Result<MethodRouter, Error> {
        let _ = doc;
        Self::decorate(route, container)
    }

    /// The controller's guards, by name, for the route table.
    fn guard_names() -> &'static [&'static str] {
        &[]
    }

    /// Whether [`decorate`](Self::decorate) changes routes (the controller has guards or
    /// middleware of its own). When it does not, `#[routes]` hands the app its handlers unboxed
    /// (see [`Route::from_handler`]).
    const DECORATES: bool = false;

    /// Whether every route of the controller is public (`#[public]` on the struct; see
    /// [`Route::public`]).
    const PUBLIC: bool = false;
}

/// The routes of a controller: what `#[routes]` implements.
pub trait Routes: Controller + cortex_di::Injectable {
    /// Builds the routes, resolving the controller (and anything its guards need) from `container`.
    fn routes(container: &Container) -> Result<Vec<Route>, Error>;
}

/// One route: its place in the route table and the axum handler that serves it.
///
/// `#[routes]` makes them for controllers; a plugin (or the app) adds its own with
/// [`App::route`](crate::App::route). A route made from a handler
/// ([`get`](Self::get), [`post`](Self::post), ..., [`from_handler`](Self::from_handler)) is
/// served on the same fast path as a controller's handler: wrapped in the app's middleware
/// stack before axum boxes it.
///
/// ```
/// use cortex_core::App;
/// use cortex_core::routing::Route;
/// use cortex_di::Inject;
/// use http::StatusCode;
///
/// struct Version(&'static str);
///
/// async fn version(v: Inject<Version>) -> &'static str { v.0 }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let app = App::new()
///     .provide(cortex_di::Provider::value(Version("1.2.3")))
///     .route(
///         Route::get("/version", "version", version)
///             .with_dependency(cortex_di::Dependency::on::<Version>().field("v"))
///             .with_summary("The running version")
///             .with_response(StatusCode::OK, "The version, as text"),
///     )
///     .build()
///     .await?;
/// assert_eq!(app.routes()[0].path, "/version");
/// # Ok::<_, cortex_core::AppError>(())
/// # }).unwrap();
/// ```
pub struct Route {
    info: RouteInfo,
    serve: Serve,
    dependencies: Vec<Dependency>,
    openapi: Option<fn(&mut OperationDoc)>,
    guard_doc: GuardDoc,
    /// What [`describe`](Self::describe) and its shorthands add to the operation.
    doc: Vec<DocEdit>,
}

/// A change to a route's OpenAPI operation, run once when the document is built.
pub(crate) type DocEdit = Box<dyn FnOnce(&mut OperationDoc) + Send>;

/// A [`Route`] taken apart by the app.
pub(crate) struct RouteParts {
    pub(crate) info: RouteInfo,
    pub(crate) serve: Serve,
    pub(crate) dependencies: Vec<Dependency>,
    pub(crate) openapi: Option<fn(&mut OperationDoc)>,
    pub(crate) doc: Vec<DocEdit>,
    pub(crate) guard_doc: GuardDoc,
}

/// Adds a handler's route to a path's `MethodRouter`, wrapped in the app's middleware stack when
/// one is given.
pub(crate) type AddHandler =
    Box<dyn FnOnce(MethodRouter, Option<&AppStack>) -> MethodRouter + Send>;

/// How a route is served.
// Made once per route at startup and moved a few times: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Serve {
    /// A ready `MethodRouter` (with its handler boxed); the app's stack goes around it.
    Router(MethodRouter),
    /// A handler not boxed yet: the app wraps it in its stack first, so that a request goes
    /// through one boxed service instead of two
    /// (docs/src/performance.md#changes-made-for-the-targets).
    Handler(AddHandler),
}

/// A route as the route table shows it (`cortex routes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RouteInfo {
    /// The HTTP method.
    pub method: String,
    /// The full path, prefix included, in axum's syntax (`/users/{id}`).
    pub path: String,
    /// The handler (`UserController::show`).
    pub handler: String,
    /// The guards that run before it, controller-wide first.
    pub guards: Vec<String>,
    /// Who added it: a controller, the app, or a plugin.
    pub origin: RouteOrigin,
    /// The plugin that added it (with [`App::route`](crate::App::route) from its
    /// [`build`](crate::plugin::Plugin::build)), by its manifest's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// What its guards enforce, as they declared it in [`Guard::describe`] with
    /// [`GuardDoc::access`] (controller-wide first): empty when it has no guard, or only guards
    /// that declare no policy. What `cortex routes --audit` shows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<AccessPolicy>,
    /// Whether it is marked public (`#[public]`, [`Route::public`]): open to anyone on purpose,
    /// which [`App::deny_by_default`](crate::App::deny_by_default) accepts.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
    /// The types its handler takes from the request, as written (`Path<i64>`,
    /// `Valid<Json<NewUser>>`; `Inject<T>` arguments, which come from the container, are left
    /// out): `#[routes]` fills it in, a hand-made route with [`Route::with_inputs`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
}

impl RouteInfo {
    /// A route's entry, without guards, added by the app's own code
    /// ([`RouteOrigin::App`]): for code that builds route tables or documents by hand (tests,
    /// tools).
    ///
    /// ```
    /// use cortex_core::routing::{RouteInfo, RouteOrigin};
    ///
    /// let info = RouteInfo::new("GET", "/orders", "Orders::list");
    /// assert_eq!(info.origin, RouteOrigin::App);
    /// assert!(info.guards.is_empty() && info.plugin.is_none());
    /// assert!(info.access.is_empty() && !info.public && info.inputs.is_empty());
    /// ```
    pub fn new(
        method: impl Into<String>,
        path: impl Into<String>,
        handler: impl Into<String>,
    ) -> Self {
        RouteInfo {
            method: method.into(),
            path: path.into(),
            handler: handler.into(),
            guards: Vec::new(),
            origin: RouteOrigin::default(),
            plugin: None,
            access: Vec::new(),
            public: false,
            inputs: Vec::new(),
        }
    }
}

/// Who added a route to the app: see [`RouteInfo::origin`].
///
/// ```
/// use cortex_core::routing::RouteOrigin;
/// assert_eq!(RouteOrigin::Plugin.as_str(), "plugin");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RouteOrigin {
    /// A `#[controller]`'s `#[routes]` (discovered, or added with
    /// [`App::controller`](crate::App::controller)).
    Controller,
    /// [`App::route`](crate::App::route), called by the app's own code.
    #[default]
    App,
    /// [`App::route`](crate::App::route), called from a plugin's
    /// [`build`](crate::plugin::Plugin::build) ([`RouteInfo::plugin`] names it).
    Plugin,
}

impl RouteOrigin {
    /// `controller`, `app` or `plugin`.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteOrigin::Controller => "controller",
            RouteOrigin::App => "app",
            RouteOrigin::Plugin => "plugin",
        }
    }
}

impl fmt::Display for RouteInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<7} {:<30} {}", self.method, self.path, self.handler)?;
        if !self.guards.is_empty() {
            write!(f, "  [{}]", self.guards.join(", "))?;
        }
        Ok(())
    }
}

/// Which part of Cortex serves a [`FrameworkRoute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FrameworkOrigin {
    /// `/health/live` and `/health/ready` ([`Health`](crate::health::Health)).
    Health,
    /// The OpenAPI document and its docs page (`[openapi] path` and `docs_path`).
    OpenApi,
    /// A `[[http.static]]` directory.
    Static,
}

impl FrameworkOrigin {
    /// `health`, `openapi` or `static`, as `CORTEX_INSPECT=routes` writes it.
    ///
    /// ```
    /// assert_eq!(cortex_core::routing::FrameworkOrigin::OpenApi.as_str(), "openapi");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FrameworkOrigin::Health => "health",
            FrameworkOrigin::OpenApi => "openapi",
            FrameworkOrigin::Static => "static",
        }
    }
}

/// A route the framework adds next to the controllers' (which are
/// [`Application::routes`](crate::Application::routes)): health, OpenAPI, static files. Listed by
/// [`Application::framework_routes`](crate::Application::framework_routes) and `cortex routes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FrameworkRoute {
    /// The HTTP method (`GET`; `HEAD` is answered too).
    pub method: String,
    /// The path, in axum's syntax (`/assets/{*path}` for a static directory).
    pub path: String,
    /// What answers it, for people: `liveness`, `OpenAPI document`, `files of public`, ...
    pub handler: String,
    /// Which part of Cortex serves it.
    pub origin: FrameworkOrigin,
}

impl FrameworkRoute {
    pub(crate) fn get(
        path: impl Into<String>,
        handler: impl Into<String>,
        origin: FrameworkOrigin,
    ) -> Self {
        FrameworkRoute {
            method: "GET".to_string(),
            path: path.into(),
            handler: handler.into(),
            origin,
        }
    }
}

impl Route {
    /// A route for `method` at `path` (already joined with the prefix) served by `router`.
    pub fn new(
        method: Method,
        path: impl Into<String>,
        handler: impl Into<String>,
        router: MethodRouter,
    ) -> Self {
        Route {
            info: RouteInfo::new(method.to_string(), path, handler),
            serve: Serve::Router(router),
            dependencies: Vec::new(),
            openapi: None,
            guard_doc: GuardDoc::new(),
            doc: Vec::new(),
        }
    }

    /// `GET` (and `HEAD`) `path`, served by `handler` on the fast path (see
    /// [`from_handler`](Self::from_handler)); `handler_name` is what the route table and the
    /// OpenAPI operation id show.
    ///
    /// ```
    /// use cortex_core::routing::Route;
    ///
    /// let route = Route::get("/metrics", "metrics", || async { "up 1" });
    /// assert_eq!((route.info().method.as_str(), route.info().path.as_str()), ("GET", "/metrics"));
    /// ```
    pub fn get<H, T>(path: impl Into<String>, handler_name: impl Into<String>, handler: H) -> Self
    where
        H: axum::handler::Handler<T, ()>,
        T: 'static,
    {
        Self::from_handler(Method::GET, MethodFilter::GET, path, handler_name, handler)
    }

    /// `POST` `path`, served by `handler` (see [`get`](Self::get)).
    ///
    /// ```
    /// let route = cortex_core::routing::Route::post("/hooks", "hook", || async { "ok" });
    /// assert_eq!(route.info().method, "POST");
    /// ```
    pub fn post<H, T>(path: impl Into<String>, handler_name: impl Into<String>, handler: H) -> Self
    where
        H: axum::handler::Handler<T, ()>,
        T: 'static,
    {
        Self::from_handler(
            Method::POST,
            MethodFilter::POST,
            path,
            handler_name,
            handler,
        )
    }

    /// `PUT` `path`, served by `handler` (see [`get`](Self::get)).
    ///
    /// ```
    /// let route = cortex_core::routing::Route::put("/flags/{name}", "set_flag", || async { "ok" });
    /// assert_eq!(route.info().method, "PUT");
    /// ```
    pub fn put<H, T>(path: impl Into<String>, handler_name: impl Into<String>, handler: H) -> Self
    where
        H: axum::handler::Handler<T, ()>,
        T: 'static,
    {
        Self::from_handler(Method::PUT, MethodFilter::PUT, path, handler_name, handler)
    }

    /// `PATCH` `path`, served by `handler` (see [`get`](Self::get)).
    ///
    /// ```
    /// let route = cortex_core::routing::Route::patch("/flags/{name}", "edit_flag", || async { "ok" });
    /// assert_eq!(route.info().method, "PATCH");
    /// ```
    pub fn patch<H, T>(path: impl Into<String>, handler_name: impl Into<String>, handler: H) -> Self
    where
        H: axum::handler::Handler<T, ()>,
        T: 'static,
    {
        Self::from_handler(
            Method::PATCH,
            MethodFilter::PATCH,
            path,
            handler_name,
            handler,
        )
    }

    /// `DELETE` `path`, served by `handler` (see [`get`](Self::get)).
    ///
    /// ```
    /// let route = cortex_core::routing::Route::delete("/flags/{name}", "drop_flag", || async { "ok" });
    /// assert_eq!(route.info().method, "DELETE");
    /// ```
    pub fn delete<H, T>(
        path: impl Into<String>,
        handler_name: impl Into<String>,
        handler: H,
    ) -> Self
    where
        H: axum::handler::Handler<T, ()>,
        T: 'static,
    {
        Self::from_handler(
            Method::DELETE,
            MethodFilter::DELETE,
            path,
            handler_name,
            handler,
        )
    }

    /// A route for `method` at `path` served by `handler`, which the app wraps in its middleware
    /// stack before axum boxes it. What `#[routes]` generates for a route without guards or
    /// middleware of its own (or its controller's); [`Route::new`] takes a finished
    /// `MethodRouter` instead.
    ///
    /// ```
    /// use axum::routing::MethodFilter;
    /// use cortex_core::routing::Route;
    /// use http::Method;
    ///
    /// let route = Route::from_handler(Method::GET, MethodFilter::GET, "/ping", "ping", || async { "pong" });
    /// assert_eq!(route.info().path, "/ping");
    /// ```
    pub fn from_handler<H, T>(
        method: Method,
        filter: MethodFilter,
        path: impl Into<String>,
        handler_name: impl Into<String>,
        handler: H,
    ) -> Self
    where
        H: axum::handler::Handler<T, ()>,
        T: 'static,
    {
        let mut route = Route::new(method, path, handler_name, MethodRouter::new());
        route.serve = Serve::Handler(Box::new(move |router, stack| match stack {
            Some(stack) => stack.route_handler(router, filter, handler),
            None => router.on(filter, handler),
        }));
        route
    }

    /// Records guards for the route table.
    pub fn with_guards(mut self, guards: &[&str]) -> Self {
        self.info
            .guards
            .extend(guards.iter().map(|g| g.to_string()));
        self
    }

    /// Declares something the handler resolves per request (an `Inject<T>` argument), checked at
    /// startup.
    pub fn with_dependency(mut self, dependency: Dependency) -> Self {
        self.dependencies.push(dependency);
        self
    }

    /// Describes the route's OpenAPI operation (what `#[routes]` generates from the handler's doc
    /// comment, arguments and return type); called once, when the document is built.
    pub fn with_openapi(mut self, describe: fn(&mut OperationDoc)) -> Self {
        self.openapi = Some(describe);
        self
    }

    /// Adds what the route's guards declare to the OpenAPI document (security schemes, the
    /// requirement, 401/403 responses): what `#[routes]` generates from
    /// [`Guard::describe`]. For a route built by hand around guards of its own:
    ///
    /// ```
    /// use axum::routing::get;
    /// use cortex_core::openapi::GuardDoc;
    /// use cortex_core::routing::Route;
    /// use http::{Method, StatusCode};
    ///
    /// let mut doc = GuardDoc::new();
    /// doc.problem_response(StatusCode::FORBIDDEN, "Admins only");
    /// let route = Route::new(Method::GET, "/admin", "admin", get(|| async { "hi" })).with_guard_doc(doc);
    /// assert!(!route.guard_doc().is_empty());
    /// ```
    ///
    /// The access policies `doc` declares ([`GuardDoc::access`]) go to the route table
    /// ([`RouteInfo::access`]), after those of the docs given before.
    pub fn with_guard_doc(mut self, doc: GuardDoc) -> Self {
        for policy in doc.access_policies() {
            if !self.info.access.contains(policy) {
                self.info.access.push(policy.clone());
            }
        }
        self.guard_doc.extend(doc);
        self
    }

    /// Marks the route public: open to anyone on purpose (a login form, a JWKS document, a
    /// webhook that checks its own signature). What `#[public]` generates; the route table shows
    /// it (`cortex routes --audit`) and [`App::deny_by_default`](crate::App::deny_by_default)
    /// accepts it without a guard. A public route whose guards declare an access policy is a
    /// contradiction: the app does not start ([`RouteError::PublicWithAccessPolicy`]).
    ///
    /// ```
    /// use cortex_core::routing::Route;
    ///
    /// let jwks = Route::get("/.well-known/jwks.json", "jwks", || async { "{\"keys\":[]}" }).public();
    /// assert!(jwks.info().public);
    /// ```
    pub fn public(mut self) -> Self {
        self.info.public = true;
        self
    }

    /// Records the types the handler takes from the request, for the route table
    /// (`cortex routes --audit`); `#[routes]` does it for controllers.
    ///
    /// ```
    /// use axum::extract::Path;
    /// use cortex_core::routing::Route;
    ///
    /// let route = Route::get("/flags/{name}", "flag", |Path(name): Path<String>| async move { name })
    ///     .with_inputs(&["Path<String>"]);
    /// assert_eq!(route.info().inputs, ["Path<String>"]);
    /// ```
    pub fn with_inputs(mut self, inputs: &[&str]) -> Self {
        self.info
            .inputs
            .extend(inputs.iter().map(|i| i.to_string()));
        self
    }

    /// What the route's guards declare to the OpenAPI document.
    pub fn guard_doc(&self) -> &GuardDoc {
        &self.guard_doc
    }

    /// Changes the route's OpenAPI operation with a closure, once the document is built (after
    /// [`with_openapi`](Self::with_openapi)'s function, in the order called). What
    /// [`with_summary`](Self::with_summary), [`with_tag`](Self::with_tag) and
    /// [`with_response`](Self::with_response) do; a closure may capture what a plugin knows
    /// (its configuration, a schema).
    ///
    /// ```
    /// use cortex_core::routing::Route;
    ///
    /// let unit = String::from("seconds");
    /// let route = Route::get("/uptime", "uptime", || async { "42" })
    ///     .describe(move |op| op.set_description(format!("Time since start, in {unit}")));
    /// # let _ = route;
    /// ```
    pub fn describe(mut self, edit: impl FnOnce(&mut OperationDoc) + Send + 'static) -> Self {
        self.doc.push(Box::new(edit));
        self
    }

    /// Sets the OpenAPI operation's summary.
    ///
    /// ```
    /// let route = cortex_core::routing::Route::get("/metrics", "metrics", || async { "" })
    ///     .with_summary("Prometheus metrics");
    /// # let _ = route;
    /// ```
    pub fn with_summary(self, summary: impl Into<String>) -> Self {
        let summary = summary.into();
        self.describe(move |op| op.set_summary(summary))
    }

    /// Adds a tag to the OpenAPI operation. A route with a tag of its own is not also tagged by
    /// its controller or plugin (which it is otherwise).
    ///
    /// ```
    /// let route = cortex_core::routing::Route::get("/metrics", "metrics", || async { "" })
    ///     .with_tag("operations");
    /// # let _ = route;
    /// ```
    pub fn with_tag(self, tag: impl Into<String>) -> Self {
        let tag = tag.into();
        self.describe(move |op| op.add_tag(tag))
    }

    /// Documents a response of the OpenAPI operation (without a body schema; use
    /// [`describe`](Self::describe) with
    /// [`OperationDoc::content_response`] for one).
    ///
    /// ```
    /// use http::StatusCode;
    ///
    /// let route = cortex_core::routing::Route::get("/metrics", "metrics", || async { "" })
    ///     .with_response(StatusCode::OK, "The metrics, in Prometheus' text format");
    /// # let _ = route;
    /// ```
    pub fn with_response(self, status: http::StatusCode, description: impl Into<String>) -> Self {
        let description = description.into();
        self.describe(move |op| {
            op.set_response(
                status.as_str(),
                utoipa::openapi::Response::new(description.as_str()),
            )
        })
    }

    /// What describes the route's OpenAPI operation, if anything.
    pub fn openapi(&self) -> Option<fn(&mut OperationDoc)> {
        self.openapi
    }

    /// The route's table entry.
    pub fn info(&self) -> &RouteInfo {
        &self.info
    }

    /// What the handler resolves per request.
    pub fn dependencies(&self) -> &[Dependency] {
        &self.dependencies
    }

    pub(crate) fn into_parts(self) -> RouteParts {
        RouteParts {
            info: self.info,
            serve: self.serve,
            dependencies: self.dependencies,
            openapi: self.openapi,
            doc: self.doc,
            guard_doc: self.guard_doc,
        }
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("info", &self.info)
            .field("dependencies", &self.dependencies)
            .finish()
    }
}

/// Adds the operation of `info` to the document: `describe`, then `doc`, then what its guards
/// declare (`guards`: security requirement and responses; their schemes go to the document's
/// components). A route described only by `#[routes]` goes through
/// [`OpenApiBuilder::add_guarded_route`] unchanged; the others are tagged with their own tags,
/// else their controller's (from the handler's name) or plugin's. Returns the security schemes
/// that conflict with ones declared before.
pub(crate) fn add_operation(
    builder: &mut OpenApiBuilder,
    info: &RouteInfo,
    describe: Option<fn(&mut OperationDoc)>,
    doc: Vec<DocEdit>,
    guards: &GuardDoc,
) -> Vec<RouteError> {
    if doc.is_empty() && info.plugin.is_none() {
        return builder.add_guarded_route(info, describe, guards);
    }
    let problems = builder.declare_security(info, guards);
    let Ok(method) = info.method.parse::<Method>() else {
        return problems;
    };
    let mut op = OperationDoc::new(&method, &info.path);
    if let Some(describe) = describe {
        describe(&mut op);
    }
    for edit in doc {
        edit(&mut op);
    }
    guards.apply(&mut op);
    let (tag, id) = crate::openapi::tag_and_operation_id(info);
    let tagged = op.operation().tags.as_ref().is_some_and(|t| !t.is_empty());
    builder.add_operation(if tagged { None } else { tag }, &id, op);
    problems
}

/// The access problems of the route table: a public route whose guards declare a policy, and,
/// with deny-by-default, every route with neither a policy nor `#[public]` (operational paths
/// exempt), as one [`RouteError::Unguarded`].
pub(crate) fn check_access(
    table: &[RouteInfo],
    deny_by_default: bool,
    operational: &crate::http::middleware::OperationalPaths,
) -> Vec<RouteError> {
    let mut problems = Vec::new();
    let mut unguarded = Vec::new();
    for info in table {
        if info.public && !info.access.is_empty() {
            problems.push(RouteError::PublicWithAccessPolicy {
                method: info.method.clone(),
                path: info.path.clone(),
                handler: info.handler.clone(),
                policies: info
                    .access
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        if deny_by_default
            && !info.public
            && info.access.is_empty()
            && !operational.contains(&info.path)
        {
            let mut entry = format!("{} {} ({})", info.method, info.path, info.handler);
            if !info.guards.is_empty() {
                entry.push_str(&format!(
                    " [guarded by {}, which declare no policy]",
                    info.guards.join(", ")
                ));
            }
            unguarded.push(entry);
        }
    }
    if !unguarded.is_empty() {
        problems.push(RouteError::Unguarded { routes: unguarded });
    }
    problems
}

/// Joins a controller prefix and a route path: `("/users", "/{id}")` → `/users/{id}`,
/// `("/users", "/")` → `/users`, `("", "/")` → `/`.
///
/// ```
/// use cortex_core::routing::join_path;
/// assert_eq!(join_path("/users", "/{id}"), "/users/{id}");
/// assert_eq!(join_path("/users/", "/"), "/users");
/// assert_eq!(join_path("", "/"), "/");
/// assert_eq!(join_path("/", "/health"), "/health");
/// ```
pub fn join_path(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    match (prefix.is_empty(), path.is_empty()) {
        (true, true) => "/".to_string(),
        (true, false) => format!("/{path}"),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}/{path}"),
    }
}

/// The link-time registration `#[routes]` submits, collected by `App::discover`.
pub struct RoutesRegistration {
    /// The controller's type name.
    pub controller: &'static str,
    /// Registers the controller's providers.
    pub register: fn(&mut ContainerBuilder),
    /// The controller's key: when a profile or condition leaves it out of the container, its
    /// routes are left out too.
    pub key: fn() -> cortex_di::Key,
    /// Builds its routes.
    pub routes: fn(&Container) -> Result<Vec<Route>, Error>,
}

impl fmt::Debug for RoutesRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutesRegistration")
            .field("controller", &self.controller)
            .finish()
    }
}

inventory::collect!(RoutesRegistration);

/// Every `#[routes]` impl linked into the binary.
pub fn registrations() -> impl Iterator<Item = &'static RoutesRegistration> {
    inventory::iter::<RoutesRegistration>.into_iter()
}

impl RoutesRegistration {
    /// The registration of `C`.
    pub const fn of<C: Routes>(controller: &'static str) -> Self {
        RoutesRegistration {
            controller,
            register: <C as cortex_di::Injectable>::register,
            key: cortex_di::Key::of::<C>,
            routes: C::routes,
        }
    }
}

/// Resolves the controller singleton for `#[routes]`: the handle its handlers hold. In a container
/// built for inspection ([`Container::is_inspection`]: `cortex routes`, `cortex graph`), nothing
/// is created and the handle is empty; the handlers are never called there.
///
/// ```
/// use cortex_di::{ContainerBuilder, Provider};
///
/// struct Hello(&'static str);
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut builder = ContainerBuilder::new();
/// builder.add(Provider::value(Hello("hi")));
/// let this = cortex_core::routing::controller::<Hello>(&builder.build().await?)?;
/// assert_eq!(this.0, "hi");
///
/// let mut builder = ContainerBuilder::new();
/// builder.add(Provider::value(Hello("hi")));
/// let inspected = cortex_core::routing::controller::<Hello>(&builder.build_for_inspection()?)?;
/// assert!(!inspected.is_created());
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
#[doc(hidden)]
pub fn controller<C: Send + Sync + 'static>(
    container: &Container,
) -> Result<ControllerHandle<C>, Error> {
    resolve_or_inspect::<C>(container).map(ControllerHandle)
}

/// What `#[guard(inject = G)]` expands to: the guard `G` resolved from `container`, or, in a
/// container built for inspection, a stand-in that is never run (nothing is created there).
///
/// ```
/// use cortex_core::http::HttpError;
/// use cortex_core::routing::{Guard, injected_guard};
/// use cortex_di::{ContainerBuilder, Provider};
/// use http::request::Parts;
///
/// struct Open;
/// impl Guard for Open {
///     async fn check(&self, _: &mut Parts) -> Result<(), HttpError> { Ok(()) }
/// }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut builder = ContainerBuilder::new();
/// builder.add(Provider::value(Open));
/// let guard = injected_guard::<Open>(&builder.build().await?)?;
/// # let _ = guard;
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
#[doc(hidden)]
pub fn injected_guard<G>(container: &Container) -> Result<Arc<dyn ErasedGuard>, Error>
where
    G: Send + Sync + 'static,
    Inject<G>: ErasedGuard,
{
    Ok(match resolve_or_inspect::<G>(container)? {
        Some(guard) => Arc::new(guard),
        None => Arc::new(NotCreatedGuard(std::any::type_name::<G>())),
    })
}

/// `T` from `container`; `None` in a container built for inspection, where it would have been
/// created (its other errors — not registered, request-scoped — are reported as at start-up).
fn resolve_or_inspect<T: Send + Sync + 'static>(
    container: &Container,
) -> Result<Option<Inject<T>>, Error> {
    match container.get::<T>() {
        Ok(value) => Ok(Some(value)),
        Err(Error::Inspection { .. } | Error::NeedsAsync { .. }) if container.is_inspection() => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The controller singleton a `#[routes]` handler calls its method on: the instance in a built
/// app, nothing in an app built for inspection (`cortex routes`), whose handlers are never
/// called. Dereferencing costs one null check (the `Option` has the `Arc`'s niche).
#[doc(hidden)]
pub struct ControllerHandle<C>(Option<Inject<C>>);

impl<C> ControllerHandle<C> {
    /// Whether the controller was created (`false` only in inspection mode).
    pub fn is_created(&self) -> bool {
        self.0.is_some()
    }
}

impl<C> Clone for ControllerHandle<C> {
    #[inline]
    fn clone(&self) -> Self {
        ControllerHandle(self.0.clone())
    }
}

impl<C> std::ops::Deref for ControllerHandle<C> {
    type Target = C;

    #[inline]
    fn deref(&self) -> &C {
        match &self.0 {
            Some(controller) => controller,
            None => not_created(std::any::type_name::<C>()),
        }
    }
}

#[cold]
#[inline(never)]
fn not_created(what: &str) -> ! {
    panic!(
        "`{what}` was not created: the app was built for inspection (`cortex routes`, `cortex graph`, CORTEX_INSPECT), which creates nothing, and its handlers and guards are never called; this is a bug in whatever served a request from it"
    )
}

/// What an injected guard is in an app built for inspection: its routes are listed, never served.
struct NotCreatedGuard(&'static str);

impl Guard for NotCreatedGuard {
    async fn check(
        &self,
        _request: &mut http::request::Parts,
    ) -> Result<(), crate::http::HttpError> {
        not_created(self.0)
    }

    /// The guard is not created, so what it would declare is unknown: the route table says so
    /// rather than showing the route without a policy.
    fn describe(&self, doc: &mut GuardDoc) {
        let name = self.0.split('<').next().unwrap_or(self.0);
        let name = name.rsplit("::").next().unwrap_or(name);
        doc.access(AccessPolicy::Custom(format!(
            "{name} (injected: not created for inspection)"
        )));
    }
}
