//! [`OpenApiBuilder`] collects the operations of every route; [`Spec`] is the finished document,
//! serialized once.

use std::collections::{BTreeMap, HashSet};

use bytes::Bytes;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{Components, InfoBuilder, OpenApi, Paths, RefOr};

use super::security::SchemeRegistry;
use super::{GuardDoc, OpenApiConfig, OperationDoc};
use crate::routing::{RouteError, RouteInfo};

/// Builds the OpenAPI document of an app: one operation per route, the schemas they refer to in
/// `components.schemas`, one tag per controller.
///
/// `App::build` uses one with every route of every controller; use it directly to build a
/// document without serving it.
///
/// ```
/// use cortex_core::openapi::{OpenApiBuilder, OperationDoc};
/// use http::Method;
///
/// let mut builder = OpenApiBuilder::new("Pets", "1.0.0");
/// let mut op = OperationDoc::new(&Method::GET, "/pets/{id}");
/// op.set_summary("Show a pet");
/// builder.add_operation(Some("PetController"), "PetController_show", op);
/// let spec = builder.build();
/// let json: serde_json::Value = serde_json::from_slice(spec.json()).unwrap();
/// assert_eq!(json["openapi"], "3.1.0");
/// assert_eq!(json["paths"]["/pets/{id}"]["get"]["operationId"], "PetController_show");
/// assert_eq!(json["tags"][0]["name"], "PetController");
/// ```
pub struct OpenApiBuilder {
    document: OpenApi,
    schemas: BTreeMap<String, RefOr<Schema>>,
    tags: Vec<String>,
    operation_ids: HashSet<String>,
    security_schemes: SchemeRegistry,
}

impl std::fmt::Debug for OpenApiBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenApiBuilder")
            .field(
                "paths",
                &self.document.paths.paths.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl OpenApiBuilder {
    /// An empty OpenAPI 3.1 document with this title and version.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Self {
        let info = InfoBuilder::new().title(title).version(version).build();
        OpenApiBuilder {
            document: OpenApi::new(info, Paths::new()),
            schemas: BTreeMap::new(),
            tags: Vec::new(),
            operation_ids: HashSet::new(),
            security_schemes: SchemeRegistry::default(),
        }
    }

    /// An empty document with the title, version and description of `[openapi]`.
    pub fn from_config(config: &OpenApiConfig) -> Self {
        let mut builder = Self::new(config.title.clone(), config.version.clone());
        builder.document.info.description = config.description.clone();
        builder
    }

    /// The document so far, to change anything (servers, security schemes, tag descriptions).
    pub fn document_mut(&mut self) -> &mut OpenApi {
        &mut self.document
    }

    /// Adds the operation of a route from the route table, described by `describe` (what
    /// `#[routes]` generates from the handler's arguments, return type and doc comment). The
    /// tag is the controller's name and the operation id `Controller_method`, both from
    /// [`RouteInfo::handler`].
    pub fn add_route(&mut self, info: &RouteInfo, describe: Option<fn(&mut OperationDoc)>) {
        // Without guards there is no scheme to conflict.
        let _ = self.add_guarded_route(info, describe, &GuardDoc::new());
    }

    /// [`add_route`](Self::add_route), with what the route's guards declare
    /// ([`Route::guard_doc`](crate::routing::Route::guard_doc)): their security schemes go to
    /// `components.securitySchemes` (once each), their requirement and problem responses to the
    /// operation. Returns the problems found: a scheme name declared before with another
    /// definition is a [`RouteError::ConflictingSecurityScheme`] (the operation is added all the
    /// same).
    ///
    /// ```
    /// use cortex_core::openapi::{GuardDoc, OpenApiBuilder};
    /// use cortex_core::openapi::utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
    /// use cortex_core::routing::RouteInfo;
    /// use http::StatusCode;
    ///
    /// let info = RouteInfo::new("GET", "/orders", "Orders::list");
    /// let mut guards = GuardDoc::new();
    /// guards.security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))))
    ///     .require("api_key", &[])
    ///     .problem_response(StatusCode::UNAUTHORIZED, "No valid API key");
    /// let mut builder = OpenApiBuilder::new("Shop", "1.0.0");
    /// assert!(builder.add_guarded_route(&info, None, &guards).is_empty());
    /// let json: serde_json::Value = serde_json::from_slice(builder.build().json()).unwrap();
    /// assert_eq!(json["components"]["securitySchemes"]["api_key"]["name"], "x-api-key");
    /// assert_eq!(json["paths"]["/orders"]["get"]["security"], serde_json::json!([{ "api_key": [] }]));
    /// assert!(json["paths"]["/orders"]["get"]["responses"]["401"].is_object());
    /// ```
    #[must_use = "the problems say why the app cannot start"]
    pub fn add_guarded_route(
        &mut self,
        info: &RouteInfo,
        describe: Option<fn(&mut OperationDoc)>,
        guards: &GuardDoc,
    ) -> Vec<RouteError> {
        let problems = self.declare_security(info, guards);
        self.add_described_route(info, describe, guards);
        problems
    }

    /// Puts the security schemes `guards` declare in `components.securitySchemes` (once each);
    /// returns the conflicts with schemes declared before.
    pub(crate) fn declare_security(
        &mut self,
        info: &RouteInfo,
        guards: &GuardDoc,
    ) -> Vec<RouteError> {
        let mut problems = Vec::new();
        let new = self.security_schemes.declare(info, guards, &mut problems);
        if !new.is_empty() {
            let components = self.document.components.get_or_insert_with(Components::new);
            for (name, scheme) in new {
                components
                    .security_schemes
                    .insert(name.to_string(), RefOr::T(scheme.clone()));
            }
        }
        problems
    }

    fn add_described_route(
        &mut self,
        info: &RouteInfo,
        describe: Option<fn(&mut OperationDoc)>,
        guards: &GuardDoc,
    ) {
        let Ok(method) = info.method.parse::<http::Method>() else {
            return;
        };
        let mut op = OperationDoc::new(&method, &info.path);
        if let Some(describe) = describe {
            describe(&mut op);
        }
        guards.apply(&mut op);
        let (tag, id) = tag_and_operation_id(info);
        self.add_operation(tag, &id, op);
    }

    /// Adds an operation under `tag` with `operation_id` (made unique with a `_2`, `_3`, ...
    /// suffix when taken).
    pub fn add_operation(&mut self, tag: Option<&str>, operation_id: &str, mut op: OperationDoc) {
        if let Some(tag) = tag {
            op.add_tag(tag);
            if !self.tags.iter().any(|t| t == tag) {
                self.tags.push(tag.to_string());
            }
        }
        let mut id = operation_id.to_string();
        let mut n = 1;
        while !self.operation_ids.insert(id.clone()) {
            n += 1;
            id = format!("{operation_id}_{n}");
        }
        op.operation_mut().operation_id = Some(id);
        op.finish();
        let Some(method) = http_method(op.method()) else {
            return;
        };
        let path = op.path().to_string();
        let (operation, schemas) = op.into_parts();
        for (name, schema) in schemas {
            self.add_schema(name, schema);
        }
        self.insert(&path, method, operation);
    }

    fn insert(&mut self, path: &str, method: HttpMethod, operation: Operation) {
        self.document
            .paths
            .add_path_operation(path, vec![method], operation);
    }

    /// Registers a schema in `components.schemas`. The first schema under a name wins; a
    /// different one under the same name (two types named `User` in different modules) is
    /// logged, since references to it would be ambiguous.
    pub fn add_schema(&mut self, name: String, schema: RefOr<Schema>) {
        match self.schemas.get(&name) {
            Some(existing) if *existing != schema => {
                tracing::warn!(
                    schema = %name,
                    "two different types are named `{name}` in the OpenAPI document; the first one is kept. \
                     hint: rename one, or give it another name with #[schema(as = other::Name)]"
                );
            }
            Some(_) => {}
            None => {
                self.schemas.insert(name, schema);
            }
        }
    }

    /// The finished document, serialized once.
    pub fn build(mut self) -> Spec {
        if !self.schemas.is_empty() {
            let components = self.document.components.get_or_insert_with(Components::new);
            components.schemas.append(&mut self.schemas);
        }
        if !self.tags.is_empty() {
            let tags = self.document.tags.get_or_insert_with(Vec::new);
            for name in &self.tags {
                if !tags.iter().any(|t| &t.name == name) {
                    tags.push(TagBuilder::new().name(name).build());
                }
            }
        }
        Spec::new(self.document)
    }
}

fn http_method(method: &http::Method) -> Option<HttpMethod> {
    Some(match *method {
        http::Method::GET => HttpMethod::Get,
        http::Method::POST => HttpMethod::Post,
        http::Method::PUT => HttpMethod::Put,
        http::Method::DELETE => HttpMethod::Delete,
        http::Method::OPTIONS => HttpMethod::Options,
        http::Method::HEAD => HttpMethod::Head,
        http::Method::PATCH => HttpMethod::Patch,
        http::Method::TRACE => HttpMethod::Trace,
        _ => return None,
    })
}

/// A finished OpenAPI document and its JSON, serialized once at startup and served as is.
///
/// ```
/// use cortex_core::openapi::OpenApiBuilder;
///
/// let spec = OpenApiBuilder::new("Pets", "1.0.0").build();
/// assert_eq!(spec.document().info.title, "Pets");
/// assert!(spec.to_pretty_json().contains("\"openapi\": \"3.1.0\""));
/// ```
#[derive(Clone)]
pub struct Spec {
    document: OpenApi,
    json: Bytes,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("title", &self.document.info.title)
            .field("paths", &self.document.paths.paths.len())
            .finish_non_exhaustive()
    }
}

impl Spec {
    /// Wraps a document, serializing it.
    pub fn new(document: OpenApi) -> Self {
        // The document is plain data: serializing it cannot fail.
        let json = serde_json::to_vec(&document).unwrap_or_default();
        Spec {
            document,
            json: Bytes::from(json),
        }
    }

    /// The document.
    pub fn document(&self) -> &OpenApi {
        &self.document
    }

    /// The document as compact JSON: what `/openapi.json` serves.
    pub fn json(&self) -> &Bytes {
        &self.json
    }

    /// The document as indented JSON, for files and people.
    pub fn to_pretty_json(&self) -> String {
        self.document.to_pretty_json().unwrap_or_default()
    }
}

/// A route's default tag and operation id: its controller's name and `Controller_method` for a
/// controller route (`UserController::show`), else its plugin's name (if any) and its handler's.
pub(crate) fn tag_and_operation_id(info: &RouteInfo) -> (Option<&str>, String) {
    match info.handler.rsplit_once("::") {
        Some((controller, method)) => {
            let controller = controller.rsplit("::").next().unwrap_or(controller);
            (Some(controller), format!("{controller}_{method}"))
        }
        None => (info.plugin.as_deref(), info.handler.clone()),
    }
}
