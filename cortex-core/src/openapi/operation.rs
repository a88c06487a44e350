//! [`OperationDoc`]: one route's OpenAPI operation, filled in by what its handler takes and
//! returns.

use std::borrow::Cow;

use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Response, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

use crate::http::PROBLEM_JSON;

/// The name of the problem-details schema in `components.schemas`.
pub const PROBLEM_SCHEMA: &str = "Problem";
/// The name of the validation-problem schema (a [`PROBLEM_SCHEMA`] with `errors`).
pub const VALIDATION_PROBLEM_SCHEMA: &str = "ValidationProblem";
/// The name of the field-error schema (an item of `errors`).
pub const FIELD_ERROR_SCHEMA: &str = "FieldError";

/// One operation of the OpenAPI document while it is being described: the route's method and
/// path, and what its extractors ([`OperationInput`](super::OperationInput)) and return type
/// ([`OperationOutput`](super::OperationOutput)) add to it, with the schemas they refer to.
///
/// A new one already has the route's path parameters (named from the path template, typed as
/// strings until a `Path<T>` extractor says more).
///
/// ```
/// use cortex_core::openapi::OperationDoc;
/// use http::Method;
///
/// let mut op = OperationDoc::new(&Method::GET, "/users/{id}/files/{*rest}");
/// assert_eq!(op.path(), "/users/{id}/files/{rest}");
/// assert_eq!(op.path_parameter_names(), ["id", "rest"]);
/// op.set_summary("Show a file");
/// op.problem_response("404", "No such file");
/// let json = serde_json::to_value(op.operation()).unwrap();
/// assert_eq!(json["summary"], "Show a file");
/// assert_eq!(json["parameters"][0]["in"], "path");
/// assert_eq!(
///     json["responses"]["404"]["content"]["application/problem+json"]["schema"]["$ref"],
///     "#/components/schemas/Problem"
/// );
/// ```
pub struct OperationDoc {
    method: http::Method,
    path: String,
    operation: Operation,
    schemas: Vec<(String, RefOr<Schema>)>,
    /// The 422 response is the one [`validation_response`](Self::validation_response) set.
    validation_422: bool,
    /// A `default` problem response: the handler may answer any status with a plain problem.
    default_problem: bool,
}

impl std::fmt::Debug for OperationDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperationDoc")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl OperationDoc {
    /// An operation for `method` at `path`, in axum's syntax (`/users/{id}`, `/files/{*rest}`).
    pub fn new(method: &http::Method, path: &str) -> Self {
        let (path, names) = openapi_path(path);
        let mut operation = Operation::new();
        let parameters = names
            .into_iter()
            .map(|name| {
                RefOr::T(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(String::schema()))
                        .build(),
                )
            })
            .collect::<Vec<_>>();
        if !parameters.is_empty() {
            operation.parameters = Some(parameters);
        }
        OperationDoc {
            method: method.clone(),
            path,
            operation,
            schemas: Vec::new(),
            validation_422: false,
            default_problem: false,
        }
    }

    /// The HTTP method.
    pub fn method(&self) -> &http::Method {
        &self.method
    }

    /// The path in OpenAPI's syntax (`/files/{rest}` for axum's `/files/{*rest}`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The operation so far.
    pub fn operation(&self) -> &Operation {
        &self.operation
    }

    /// The operation, to change anything the helpers below do not cover (security, deprecation,
    /// external docs, ...).
    pub fn operation_mut(&mut self) -> &mut Operation {
        &mut self.operation
    }

    /// Sets the one-line summary.
    pub fn set_summary(&mut self, summary: impl Into<String>) {
        self.operation.summary = Some(summary.into());
    }

    /// Sets the longer description (Markdown).
    pub fn set_description(&mut self, description: impl Into<String>) {
        self.operation.description = Some(description.into());
    }

    /// Adds a tag (the first one groups the operation in documentation UIs).
    pub fn add_tag(&mut self, tag: impl Into<String>) {
        let tag = tag.into();
        let tags = self.operation.tags.get_or_insert_with(Vec::new);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }

    /// The names of the path parameters, in the order they appear in the path.
    pub fn path_parameter_names(&self) -> Vec<&str> {
        self.parameters_in(ParameterIn::Path)
            .map(|p| p.name.as_str())
            .collect()
    }

    fn parameters_in(&self, location: ParameterIn) -> impl Iterator<Item = &Parameter> {
        self.operation
            .parameters
            .iter()
            .flatten()
            .filter_map(|p| match p {
                RefOr::T(p) => Some(p),
                RefOr::Ref(_) => None,
            })
            .filter(move |p| p.parameter_in == location)
    }

    /// Adds a parameter, replacing one with the same name and location. A path parameter is only
    /// replaced (the path template says which exist), never added.
    pub fn add_parameter(&mut self, parameter: Parameter) {
        let parameters = self.operation.parameters.get_or_insert_with(Vec::new);
        let existing = parameters.iter_mut().find(|p| {
            matches!(p, RefOr::T(p) if p.name == parameter.name && p.parameter_in == parameter.parameter_in)
        });
        match existing {
            Some(slot) => *slot = RefOr::T(parameter),
            None if parameter.parameter_in == ParameterIn::Path => {}
            None => parameters.push(RefOr::T(parameter)),
        }
    }

    /// Gives the path parameters these schemas, in order (what `Path<(u32, String)>` knows).
    pub fn set_path_parameter_schemas(&mut self, schemas: Vec<RefOr<Schema>>) {
        let parameters = self.operation.parameters.iter_mut().flatten();
        let path_parameters = parameters.filter_map(|p| match p {
            RefOr::T(p) if p.parameter_in == ParameterIn::Path => Some(p),
            _ => None,
        });
        for (parameter, schema) in path_parameters.zip(schemas) {
            parameter.schema = Some(schema);
        }
    }

    /// The schema of `T`: a `$ref` to `components.schemas` for a named type (a struct or enum that
    /// derives `ToSchema`), which is registered with everything it refers to; the schema itself,
    /// inline, for primitives, containers (`Vec<T>`, `Option<T>`, maps) and generic types.
    ///
    /// ```
    /// use cortex_core::openapi::OperationDoc;
    /// use utoipa::ToSchema;
    ///
    /// #[derive(ToSchema)]
    /// struct User { id: u64 }
    ///
    /// let mut op = OperationDoc::new(&http::Method::GET, "/users");
    /// let schema = serde_json::to_value(op.schema_for::<User>()).unwrap();
    /// assert_eq!(schema["$ref"], "#/components/schemas/User");
    /// let schema = serde_json::to_value(op.schema_for::<Vec<u64>>()).unwrap();
    /// assert_eq!(schema["type"], "array");
    /// assert_eq!(op.schemas()[0].0, "User");
    /// ```
    pub fn schema_for<T: ToSchema + ?Sized>(&mut self) -> RefOr<Schema> {
        T::schemas(&mut self.schemas);
        let schema = T::schema();
        match component_name::<T>() {
            Some(name) => {
                self.schemas.push((name.clone(), schema));
                RefOr::Ref(Ref::from_schema_name(name))
            }
            None => schema,
        }
    }

    /// The schema of a `Vec<T>`: an array whose items are [`schema_for::<T>`](Self::schema_for)
    /// (a `$ref` for a named type, where `Vec::<T>::schema()` would inline `T`).
    pub fn array_schema_for<T: ToSchema>(&mut self) -> RefOr<Schema> {
        let items = self.schema_for::<T>();
        ArrayBuilder::new().items(items).into()
    }

    /// Registers a schema under `name` in `components.schemas`.
    pub fn add_schema(&mut self, name: impl Into<String>, schema: impl Into<RefOr<Schema>>) {
        self.schemas.push((name.into(), schema.into()));
    }

    /// The schemas registered so far, for `components.schemas`.
    pub fn schemas(&self) -> &[(String, RefOr<Schema>)] {
        &self.schemas
    }

    /// Sets the request body: required, of this media type, with this schema when known.
    pub fn set_request_body(&mut self, media_type: &str, schema: Option<RefOr<Schema>>) {
        let body = RequestBodyBuilder::new()
            .content(media_type, ContentBuilder::new().schema(schema).build())
            .required(Some(Required::True))
            .build();
        self.operation.request_body = Some(body.into());
    }

    /// Whether a response is described for `status` (`"200"`, `"4XX"`, `"default"`).
    pub fn has_response(&self, status: &str) -> bool {
        self.operation.responses.responses.contains_key(status)
    }

    /// Adds a response for `status` unless one is described already.
    pub fn add_response(&mut self, status: &str, response: impl Into<RefOr<Response>>) {
        self.operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| response.into());
    }

    /// Adds or replaces the response for `status`.
    pub fn set_response(&mut self, status: &str, response: impl Into<RefOr<Response>>) {
        self.operation
            .responses
            .responses
            .insert(status.to_string(), response.into());
    }

    /// Adds a response of `media_type` with this schema (when known).
    pub fn content_response(
        &mut self,
        status: &str,
        description: &str,
        media_type: &str,
        schema: Option<RefOr<Schema>>,
    ) {
        let response = ResponseBuilder::new()
            .description(description)
            .content(media_type, ContentBuilder::new().schema(schema).build())
            .build();
        self.add_response(status, response);
    }

    /// Adds an `application/problem+json` response (see [`Problem`](crate::http::Problem)) for
    /// `status`, unless one is described already.
    pub fn problem_response(&mut self, status: &str, description: &str) {
        self.register_problem_schemas();
        if status == "default" && !self.has_response(status) {
            self.default_problem = true;
        }
        self.add_response(status, problem(description, PROBLEM_SCHEMA));
    }

    /// Sets the `422` response to a problem whose `errors` lists field errors: what `Valid<..>`
    /// and a body of the wrong shape answer.
    pub fn validation_response(&mut self, description: &str) {
        self.register_problem_schemas();
        self.validation_422 = true;
        self.set_response("422", problem(description, VALIDATION_PROBLEM_SCHEMA));
    }

    fn register_problem_schemas(&mut self) {
        if self.schemas.iter().any(|(n, _)| n == PROBLEM_SCHEMA) {
            return;
        }
        self.schemas.extend(problem_schemas());
    }

    /// Ensures the operation describes a success: when nothing did, a `2XX` response without a
    /// known body. When the handler answers errors of its own (a `default` problem), its 422
    /// may be a plain problem too (`HttpError::unprocessable`): the 422 then admits both.
    pub(crate) fn finish(&mut self) {
        if self.validation_422
            && self.default_problem
            && let Some(RefOr::T(response)) = self.operation.responses.responses.get_mut("422")
            && let Some(RefOr::T(content)) = response.content.get_mut(PROBLEM_JSON)
        {
            let either = AnyOfBuilder::new()
                .item(Ref::from_schema_name(VALIDATION_PROBLEM_SCHEMA))
                .item(Ref::from_schema_name(PROBLEM_SCHEMA));
            content.schema = Some(either.into());
            response.description.push_str(
                "; or the handler's own problem, without `errors`, when it refuses valid values",
            );
        }
        let responses = &self.operation.responses.responses;
        let success = responses
            .keys()
            .any(|k| k.starts_with('2') || k.starts_with('3'));
        if !success {
            self.add_response("2XX", Response::new("Success"));
        }
    }

    pub(crate) fn into_parts(self) -> (Operation, Vec<(String, RefOr<Schema>)>) {
        (self.operation, self.schemas)
    }
}

fn problem(description: &str, schema: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        )
        .build()
}

/// `Problem`, `FieldError` and `ValidationProblem`: the shapes of Cortex's error bodies.
pub(crate) fn problem_schemas() -> Vec<(String, RefOr<Schema>)> {
    let string = |description: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
    };
    let uri_reference = |description: &str| {
        string(description).format(Some(SchemaFormat::Custom("uri-reference".into())))
    };
    let problem = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "An RFC 9457 problem details object: the body of every error response.",
        ))
        .property(
            "type",
            uri_reference(
                "A URI identifying the problem type; `about:blank` when the status says it all.",
            )
            .default(Some("about:blank".into())),
        )
        .property("title", string("A short summary of the problem type."))
        .property(
            "status",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .description(Some("The HTTP status code."))
                .minimum(Some(100))
                .maximum(Some(599)),
        )
        .property("detail", string("What went wrong this time, for people."))
        .property(
            "instance",
            uri_reference("A URI identifying this occurrence."),
        )
        .property(
            "request_id",
            string("On 5xx answers: the request's id, to quote when reporting the failure."),
        )
        .required("type")
        .required("title")
        .required("status");
    let field_error = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("One invalid value in the request."))
        .property(
            "field",
            string("The path of the field (`address.zip`, `items[2].name`); empty for the whole value."),
        )
        .property("code", string("A machine-readable code (`email`, `length`, `missing_field`, ...)."))
        .property("message", string("A human-readable explanation."))
        .property(
            "params",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some("The rule's bounds (`min`, `max`, ...), when it has any.")),
        )
        .required("field")
        .required("code")
        .required("message");
    let validation = AllOfBuilder::new()
        .description(Some(
            "A problem listing every invalid value under `errors`.",
        ))
        .item(Ref::from_schema_name(PROBLEM_SCHEMA))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(
                    "errors",
                    ArrayBuilder::new().items(Ref::from_schema_name(FIELD_ERROR_SCHEMA)),
                )
                .required("errors"),
        );
    vec![
        (PROBLEM_SCHEMA.to_string(), problem.into()),
        (FIELD_ERROR_SCHEMA.to_string(), field_error.into()),
        (VALIDATION_PROBLEM_SCHEMA.to_string(), validation.into()),
    ]
}

/// Axum's path syntax to OpenAPI's (`{*rest}` → `{rest}`), and the parameter names in order.
pub(crate) fn openapi_path(path: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(path.len());
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        // `{{` is a literal brace in axum's syntax.
        if let Some(stripped) = after.strip_prefix('{') {
            out.push_str("{{");
            rest = stripped;
            continue;
        }
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = after[..end].trim_start_matches('*');
        out.push('{');
        out.push_str(name);
        out.push('}');
        names.push(name.to_string());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    (out, names)
}

/// The component name of `T` when it should be referenced rather than inlined: a named,
/// non-generic type outside the standard library.
fn component_name<T: ToSchema + ?Sized>() -> Option<String> {
    let full = std::any::type_name::<T>();
    let std_lib = ["std::", "core::", "alloc::", "serde_json::"];
    if !full.contains("::")
        || full.contains('<')
        || full.starts_with(['&', '[', '('])
        || std_lib.iter().any(|p| full.starts_with(p))
    {
        return None;
    }
    let name: Cow<'static, str> = T::name();
    (!name.is_empty()).then(|| name.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axum_paths_become_openapi_templates() {
        assert_eq!(openapi_path("/users"), ("/users".into(), vec![]));
        assert_eq!(
            openapi_path("/users/{id}/posts/{post_id}"),
            (
                "/users/{id}/posts/{post_id}".into(),
                vec!["id".into(), "post_id".into()]
            )
        );
        assert_eq!(
            openapi_path("/files/{*path}"),
            ("/files/{path}".into(), vec!["path".into()])
        );
    }

    #[test]
    fn path_parameters_start_as_required_strings() {
        let op = OperationDoc::new(&http::Method::GET, "/a/{x}");
        let json = serde_json::to_value(op.operation()).unwrap();
        assert_eq!(json["parameters"][0]["name"], "x");
        assert_eq!(json["parameters"][0]["required"], true);
        assert_eq!(json["parameters"][0]["schema"]["type"], "string");
    }

    #[test]
    fn primitives_and_containers_are_inlined() {
        assert_eq!(component_name::<u32>(), None);
        assert_eq!(component_name::<String>(), None);
        assert_eq!(component_name::<Vec<String>>(), None);
        assert_eq!(component_name::<serde_json::Value>(), None);
    }

    #[test]
    fn a_handler_with_its_own_errors_may_answer_422_without_field_errors() {
        let mut op = OperationDoc::new(&http::Method::POST, "/");
        op.validation_response("Invalid values");
        op.finish();
        let json = serde_json::to_value(op.operation()).unwrap();
        let schema = &json["responses"]["422"]["content"]["application/problem+json"]["schema"];
        assert_eq!(schema["$ref"], "#/components/schemas/ValidationProblem");

        op.problem_response("default", "An error");
        op.finish();
        let json = serde_json::to_value(op.operation()).unwrap();
        let schema = &json["responses"]["422"]["content"]["application/problem+json"]["schema"];
        assert_eq!(
            schema["anyOf"],
            serde_json::json!([
                { "$ref": "#/components/schemas/ValidationProblem" },
                { "$ref": "#/components/schemas/Problem" }
            ])
        );
    }

    #[test]
    fn a_missing_success_response_is_filled_in() {
        let mut op = OperationDoc::new(&http::Method::GET, "/");
        op.problem_response("default", "An error");
        op.finish();
        assert!(op.has_response("2XX"));
        let mut op = OperationDoc::new(&http::Method::GET, "/");
        op.add_response("204", Response::new("No Content"));
        op.finish();
        assert!(!op.has_response("2XX"));
    }
}
