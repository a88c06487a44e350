//! What handler arguments and return types say about an operation: [`OperationInput`],
//! [`OperationOutput`], [`PathParams`], and the autoref levels `#[routes]` uses so that types
//! without a schema still compile (they just say less).

use std::borrow::Cow;
use std::convert::Infallible;

use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{HeaderBuilder, RefOr, Response, ResponseBuilder};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::OperationDoc;
use crate::http::{Created, Form, HttpError, Json, NoContent, Path, Problem, Query, Valid};

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";
const TEXT: &str = "text/plain; charset=utf-8";

/// A handler argument (an extractor) that describes what it reads from the request: a body,
/// parameters, and the errors it answers when the request does not fit.
///
/// Implemented for Cortex's and axum's `Json<T>` and `Form<T>` when `T: ToSchema`, `Query<T>`
/// when `T: IntoParams`, `Path<T>` when `T: PathParams`, and `Valid<E>` when `E` is one of these.
/// Extractors that do not implement it (or whose payload has no schema) still work in handlers;
/// they say less in the document.
///
/// Implement it for your own extractors:
///
/// ```
/// use cortex_core::openapi::{OperationDoc, OperationInput};
/// use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
/// use utoipa::openapi::Required;
///
/// /// Reads the `x-tenant` header.
/// struct Tenant(String);
///
/// impl OperationInput for Tenant {
///     fn describe(op: &mut OperationDoc) {
///         op.add_parameter(
///             ParameterBuilder::new()
///                 .name("x-tenant")
///                 .parameter_in(ParameterIn::Header)
///                 .required(Required::True)
///                 .build(),
///         );
///         op.problem_response("400", "The `x-tenant` header is missing");
///     }
/// }
/// ```
pub trait OperationInput {
    /// Adds what this extractor reads to `op`.
    fn describe(op: &mut OperationDoc);
}

/// A handler's return type that describes its responses.
///
/// Implemented for `Json<T>` (200) and `Created<T>` (201) when `T: ToSchema`, `NoContent` (204),
/// strings (200, `text/plain`), `Html<T>`, `()`, [`HttpError`] and [`Problem`] (the `default`
/// response, as `application/problem+json`), and `Result<T, E>` of two such types.
///
/// ```
/// use cortex_core::openapi::{OperationDoc, OperationOutput};
/// use utoipa::openapi::Response;
///
/// /// Answers 202 Accepted.
/// struct Accepted;
///
/// impl OperationOutput for Accepted {
///     fn describe(op: &mut OperationDoc) {
///         op.add_response("202", Response::new("Accepted: the job is queued"));
///     }
/// }
/// ```
pub trait OperationOutput {
    /// Adds this type's responses to `op`.
    fn describe(op: &mut OperationDoc);
}

/// A type `Path<T>` extracts whose path parameters have known schemas, one per parameter in the
/// order they appear in the path: the primitives and `String`, and tuples of types with a
/// schema (`(u32, String)`, `(u64, Status)` for an enum that derives `ToSchema`).
///
/// ```
/// use cortex_core::openapi::PathParams;
///
/// assert_eq!(<(u32, String)>::schemas().len(), 2);
/// ```
pub trait PathParams {
    /// One schema per path parameter.
    fn schemas() -> Vec<RefOr<Schema>>;
}

macro_rules! path_params_primitive {
    ($($ty:ty),*) => {$(
        impl PathParams for $ty {
            fn schemas() -> Vec<RefOr<Schema>> {
                vec![<$ty as PartialSchema>::schema()]
            }
        }
    )*};
}

path_params_primitive!(i128, u128, f32, f64, bool, char, String);

/// Integers get the exact bounds of their type, so a client never sends a number that does not
/// parse (utoipa gives unsigned types `minimum: 0` only, and `u32` the `int32` format).
macro_rules! path_params_integer {
    ($($ty:ty => $format:ident),*) => {$(
        impl PathParams for $ty {
            fn schemas() -> Vec<RefOr<Schema>> {
                vec![integer_schema(
                    <$ty>::MIN as i64,
                    <$ty>::MAX as u64,
                    KnownFormat::$format,
                )]
            }
        }
    )*};
}

path_params_integer!(
    i8 => Int32, i16 => Int32, i32 => Int32, i64 => Int64, isize => Int64,
    u8 => Int32, u16 => Int32, u32 => Int64, u64 => Int64, usize => Int64
);

fn integer_schema(min: i64, max: u64, format: KnownFormat) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(format)))
        .minimum(Some(min))
        .maximum(Some(max))
        .into()
}

macro_rules! path_params_tuple {
    ($($name:ident),+) => {
        impl<$($name: PartialSchema),+> PathParams for ($($name,)+) {
            fn schemas() -> Vec<RefOr<Schema>> {
                vec![$(<$name as PartialSchema>::schema()),+]
            }
        }
    };
}

path_params_tuple!(A);
path_params_tuple!(A, B);
path_params_tuple!(A, B, C);
path_params_tuple!(A, B, C, D);
path_params_tuple!(A, B, C, D, E);
path_params_tuple!(A, B, C, D, E, F);

// ---------------------------------------------------------------------------------------------
// What each extractor adds

fn json_body(op: &mut OperationDoc, schema: Option<RefOr<Schema>>) {
    op.set_request_body(JSON, schema);
    op.problem_response("400", "The body is not valid JSON");
    op.problem_response("415", "The body is not `application/json`");
    op.validation_response("The body does not fit the expected shape");
}

fn form_body(op: &mut OperationDoc, schema: Option<RefOr<Schema>>) {
    op.set_request_body(FORM, schema);
    op.problem_response("415", "The body is not `application/x-www-form-urlencoded`");
    op.validation_response("The form does not fit the expected shape");
}

fn query(op: &mut OperationDoc) {
    op.problem_response(
        "400",
        "The query string does not fit the expected parameters",
    );
}

fn path(op: &mut OperationDoc) {
    op.problem_response("400", "A path parameter does not parse");
}

fn validated(op: &mut OperationDoc) {
    op.validation_response("The request has invalid values; `errors` lists each one");
}

fn path_into_params<T: IntoParams>(op: &mut OperationDoc) {
    for parameter in T::into_params(|| Some(ParameterIn::Path)) {
        op.add_parameter(parameter);
    }
    path(op);
}

macro_rules! rich_inputs {
    ($json:ty, $form:ty, $query:ty, $path:ty) => {
        impl<T: ToSchema> OperationInput for $json {
            fn describe(op: &mut OperationDoc) {
                let schema = op.schema_for::<T>();
                json_body(op, Some(schema));
            }
        }

        impl<T: ToSchema> OperationInput for $form {
            fn describe(op: &mut OperationDoc) {
                let schema = op.schema_for::<T>();
                form_body(op, Some(schema));
            }
        }

        impl<T: IntoParams> OperationInput for $query {
            fn describe(op: &mut OperationDoc) {
                for parameter in T::into_params(|| Some(ParameterIn::Query)) {
                    op.add_parameter(parameter);
                }
                query(op);
            }
        }

        impl<T: PathParams> OperationInput for $path {
            fn describe(op: &mut OperationDoc) {
                op.set_path_parameter_schemas(T::schemas());
                path(op);
            }
        }
    };
}

rich_inputs!(Json<T>, Form<T>, Query<T>, Path<T>);
rich_inputs!(
    axum::Json<T>,
    axum::Form<T>,
    axum::extract::Query<T>,
    axum::extract::Path<T>
);

impl<E: OperationInput> OperationInput for Valid<E> {
    fn describe(op: &mut OperationDoc) {
        E::describe(op);
        validated(op);
    }
}

// ---------------------------------------------------------------------------------------------
// What each return type adds

fn created(op: &mut OperationDoc, schema: Option<RefOr<Schema>>) {
    let header = HeaderBuilder::new()
        .schema(Some(String::schema()))
        .description(Some("Where the created resource lives"))
        .build();
    let response = ResponseBuilder::new()
        .description("Created")
        .content(
            JSON,
            utoipa::openapi::ContentBuilder::new()
                .schema(schema)
                .build(),
        )
        .header("Location", header)
        .build();
    op.add_response("201", response);
}

fn error(op: &mut OperationDoc) {
    op.problem_response("default", "An error, as problem details");
}

impl<T: ToSchema> OperationOutput for Json<T> {
    fn describe(op: &mut OperationDoc) {
        let schema = op.schema_for::<T>();
        op.content_response("200", "OK", JSON, Some(schema));
    }
}

impl<T: ToSchema> OperationOutput for axum::Json<T> {
    fn describe(op: &mut OperationDoc) {
        let schema = op.schema_for::<T>();
        op.content_response("200", "OK", JSON, Some(schema));
    }
}

impl<T: ToSchema> OperationOutput for Created<T> {
    fn describe(op: &mut OperationDoc) {
        let schema = op.schema_for::<T>();
        created(op, Some(schema));
    }
}

impl OperationOutput for NoContent {
    fn describe(op: &mut OperationDoc) {
        op.add_response("204", Response::new("No Content"));
    }
}

impl OperationOutput for () {
    fn describe(op: &mut OperationDoc) {
        op.add_response("200", Response::new("OK"));
    }
}

macro_rules! text_outputs {
    ($($ty:ty),*) => {$(
        impl OperationOutput for $ty {
            fn describe(op: &mut OperationDoc) {
                op.content_response("200", "OK", TEXT, Some(String::schema()));
            }
        }
    )*};
}

text_outputs!(String, &'static str, Cow<'static, str>);

impl<T> OperationOutput for axum::response::Html<T> {
    fn describe(op: &mut OperationDoc) {
        op.content_response(
            "200",
            "OK",
            "text/html; charset=utf-8",
            Some(String::schema()),
        );
    }
}

impl OperationOutput for HttpError {
    fn describe(op: &mut OperationDoc) {
        error(op);
    }
}

impl OperationOutput for Problem {
    fn describe(op: &mut OperationDoc) {
        error(op);
    }
}

impl OperationOutput for Infallible {
    fn describe(_: &mut OperationDoc) {}
}

impl<T: OperationOutput, E: OperationOutput> OperationOutput for Result<T, E> {
    fn describe(op: &mut OperationDoc) {
        T::describe(op);
        E::describe(op);
    }
}

/// The autoref levels `#[routes]` expands to. Not public API.
///
/// For each argument type `A` the macro emits `(&&&&Arg::<A>::new()).describe_arg(op)`; method
/// resolution picks the impl with the most references whose bounds hold, so the richest
/// description applies and a type with no schema falls through to a plainer one instead of
/// failing to compile:
///
/// | receiver | applies to |
/// | --- | --- |
/// | `&&&&Arg<A>` | `Json<Vec<T>>` with `T: ToSchema` (an array of `$ref`s) |
/// | `&&&Arg<A>` | `A: OperationInput` |
/// | `&&Arg<A>` | `Path<T>` (and `Valid<Path<T>>`) with `T: IntoParams` |
/// | `&Arg<A>` | `Path<T>` with `T: PartialSchema` (one parameter); `Json`, `Form`, `Query`, `Valid<..>` of any `T` (no schema) |
/// | `Arg<A>` | anything else: nothing |
///
/// Return types go the same way through `Ret<R>`: `Json<Vec<T>>`/`Created<Vec<T>>`, then
/// `R: OperationOutput`, then `Json<T>` and `Created<T>` of any `T`, then nothing.
#[doc(hidden)]
pub(crate) mod autoref {
    use std::marker::PhantomData;

    use utoipa::{IntoParams, PartialSchema, ToSchema};

    use super::{
        FORM, JSON, OperationDoc, OperationInput, OperationOutput, created, form_body, json_body,
        path, path_into_params, query, validated,
    };
    use crate::http::{Created, Form, Json, Path, Query, Valid};
    use axum::Form as AxumForm;
    use axum::Json as AxumJson;
    use axum::extract::{Path as AxumPath, Query as AxumQuery};

    /// A handler argument's type, to describe.
    pub struct Arg<T: ?Sized>(PhantomData<fn() -> *const T>);

    /// A handler's return type (or one side of its `Result`), to describe.
    pub struct Ret<T: ?Sized>(PhantomData<fn() -> *const T>);

    macro_rules! marker {
        ($name:ident) => {
            impl<T: ?Sized> $name<T> {
                /// The marker.
                #[allow(clippy::new_without_default)]
                pub const fn new() -> Self {
                    $name(PhantomData)
                }
            }
            impl<T: ?Sized> Clone for $name<T> {
                fn clone(&self) -> Self {
                    *self
                }
            }
            impl<T: ?Sized> Copy for $name<T> {}
        };
    }

    marker!(Arg);
    marker!(Ret);

    /// Level 4: a JSON list of named types, as an array of references (`Vec<T>` inlines `T`).
    pub trait ArgList {
        /// Describes the argument.
        fn describe_arg(self, op: &mut OperationDoc);
    }

    impl<T: ToSchema> ArgList for &&&&Arg<Json<Vec<T>>> {
        fn describe_arg(self, op: &mut OperationDoc) {
            let schema = op.array_schema_for::<T>();
            json_body(op, Some(schema));
        }
    }

    impl<T: ToSchema> ArgList for &&&&Arg<AxumJson<Vec<T>>> {
        fn describe_arg(self, op: &mut OperationDoc) {
            let schema = op.array_schema_for::<T>();
            json_body(op, Some(schema));
        }
    }

    /// Level 3: the argument describes itself.
    pub trait ArgRich {
        /// Describes the argument.
        fn describe_arg(self, op: &mut OperationDoc);
    }

    impl<T: OperationInput + ?Sized> ArgRich for &&&Arg<T> {
        fn describe_arg(self, op: &mut OperationDoc) {
            T::describe(op);
        }
    }

    /// Level 2: path parameters from a struct that derives `IntoParams`.
    pub trait ArgParams {
        /// Describes the argument.
        fn describe_arg(self, op: &mut OperationDoc);
    }

    impl<T: IntoParams> ArgParams for &&Arg<Path<T>> {
        fn describe_arg(self, op: &mut OperationDoc) {
            path_into_params::<T>(op);
        }
    }

    impl<T: IntoParams> ArgParams for &&Arg<axum::extract::Path<T>> {
        fn describe_arg(self, op: &mut OperationDoc) {
            path_into_params::<T>(op);
        }
    }

    impl<T: IntoParams> ArgParams for &&Arg<Valid<Path<T>>> {
        fn describe_arg(self, op: &mut OperationDoc) {
            path_into_params::<T>(op);
            validated(op);
        }
    }

    impl<T: IntoParams> ArgParams for &&Arg<Valid<axum::extract::Path<T>>> {
        fn describe_arg(self, op: &mut OperationDoc) {
            path_into_params::<T>(op);
            validated(op);
        }
    }

    /// Level 1: known extractors whose payload has no schema.
    pub trait ArgPlain {
        /// Describes the argument.
        fn describe_arg(self, op: &mut OperationDoc);
    }

    macro_rules! plain_inputs {
        ($json:ident, $form:ident, $query:ident, $path:ident) => {
            impl<T: PartialSchema> ArgPlain for &Arg<$path<T>> {
                fn describe_arg(self, op: &mut OperationDoc) {
                    op.set_path_parameter_schemas(vec![T::schema()]);
                    path(op);
                }
            }
            impl<T> ArgPlain for &Arg<$json<T>> {
                fn describe_arg(self, op: &mut OperationDoc) {
                    json_body(op, None);
                }
            }
            impl<T> ArgPlain for &Arg<$form<T>> {
                fn describe_arg(self, op: &mut OperationDoc) {
                    form_body(op, None);
                }
            }
            impl<T> ArgPlain for &Arg<$query<T>> {
                fn describe_arg(self, op: &mut OperationDoc) {
                    query(op);
                }
            }
            impl<T> ArgPlain for &Arg<Valid<$json<T>>> {
                fn describe_arg(self, op: &mut OperationDoc) {
                    json_body(op, None);
                    validated(op);
                }
            }
            impl<T> ArgPlain for &Arg<Valid<$form<T>>> {
                fn describe_arg(self, op: &mut OperationDoc) {
                    form_body(op, None);
                    validated(op);
                }
            }
            impl<T> ArgPlain for &Arg<Valid<$query<T>>> {
                fn describe_arg(self, op: &mut OperationDoc) {
                    query(op);
                    validated(op);
                }
            }
            impl<T> ArgPlain for &Arg<Valid<$path<T>>> {
                fn describe_arg(self, op: &mut OperationDoc) {
                    path(op);
                    validated(op);
                }
            }
        };
    }

    plain_inputs!(Json, Form, Query, Path);

    plain_inputs!(AxumJson, AxumForm, AxumQuery, AxumPath);

    /// Level 0: anything else (`Inject<T>`, headers, state, ...) adds nothing.
    pub trait ArgNone {
        /// Adds nothing.
        fn describe_arg(self, op: &mut OperationDoc);
    }

    impl<T: ?Sized> ArgNone for Arg<T> {
        fn describe_arg(self, _: &mut OperationDoc) {}
    }

    /// Level 4: a JSON list of named types, as an array of references.
    pub trait RetList {
        /// Describes the responses.
        fn describe_output(self, op: &mut OperationDoc);
    }

    impl<T: ToSchema> RetList for &&&&Ret<Json<Vec<T>>> {
        fn describe_output(self, op: &mut OperationDoc) {
            let schema = op.array_schema_for::<T>();
            op.content_response("200", "OK", JSON, Some(schema));
        }
    }

    impl<T: ToSchema> RetList for &&&&Ret<AxumJson<Vec<T>>> {
        fn describe_output(self, op: &mut OperationDoc) {
            let schema = op.array_schema_for::<T>();
            op.content_response("200", "OK", JSON, Some(schema));
        }
    }

    impl<T: ToSchema> RetList for &&&&Ret<Created<Vec<T>>> {
        fn describe_output(self, op: &mut OperationDoc) {
            let schema = op.array_schema_for::<T>();
            created(op, Some(schema));
        }
    }

    /// Level 3: the return type describes itself.
    pub trait RetRich {
        /// Describes the responses.
        fn describe_output(self, op: &mut OperationDoc);
    }

    impl<T: OperationOutput + ?Sized> RetRich for &&&Ret<T> {
        fn describe_output(self, op: &mut OperationDoc) {
            T::describe(op);
        }
    }

    /// Level 1: JSON responses whose payload has no schema.
    pub trait RetPlain {
        /// Describes the responses.
        fn describe_output(self, op: &mut OperationDoc);
    }

    impl<T> RetPlain for &Ret<Json<T>> {
        fn describe_output(self, op: &mut OperationDoc) {
            op.content_response("200", "OK", JSON, None);
        }
    }

    impl<T> RetPlain for &Ret<AxumJson<T>> {
        fn describe_output(self, op: &mut OperationDoc) {
            op.content_response("200", "OK", JSON, None);
        }
    }

    impl<T> RetPlain for &Ret<AxumForm<T>> {
        fn describe_output(self, op: &mut OperationDoc) {
            op.content_response("200", "OK", FORM, None);
        }
    }

    impl<T> RetPlain for &Ret<Created<T>> {
        fn describe_output(self, op: &mut OperationDoc) {
            created(op, None);
        }
    }

    /// Level 0: anything else adds nothing (the operation gets a generic `2XX`).
    pub trait RetNone {
        /// Adds nothing.
        fn describe_output(self, op: &mut OperationDoc);
    }

    impl<T: ?Sized> RetNone for Ret<T> {
        fn describe_output(self, _: &mut OperationDoc) {}
    }
}

// The references are the point: they pick the autoref level, as in the generated code.
#[allow(clippy::needless_borrow)]
#[cfg(test)]
mod tests {
    use super::autoref::*;
    use super::*;
    use serde_json::Value;

    #[derive(utoipa::ToSchema, serde::Deserialize)]
    #[allow(dead_code)]
    struct Pet {
        name: String,
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Opaque {
        name: String,
    }

    #[derive(utoipa::IntoParams, serde::Deserialize)]
    #[allow(dead_code)]
    struct Page {
        page: u32,
    }

    fn new_op() -> OperationDoc {
        OperationDoc::new(&http::Method::POST, "/pets/{id}")
    }

    fn json(op: &OperationDoc) -> Value {
        serde_json::to_value(op.operation()).unwrap()
    }

    #[test]
    fn a_schema_body_is_a_reference() {
        let mut op = new_op();
        (&&&&Arg::<Json<Pet>>::new()).describe_arg(&mut op);
        let json = json(&op);
        assert_eq!(
            json["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Pet"
        );
        assert_eq!(
            json["responses"]["422"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/ValidationProblem"
        );
    }

    #[test]
    fn a_body_without_schema_still_compiles_and_says_less() {
        let mut op = new_op();
        (&&&&Arg::<Valid<Json<Opaque>>>::new()).describe_arg(&mut op);
        let json = json(&op);
        assert!(json["requestBody"]["content"]["application/json"].is_object());
        assert!(json["requestBody"]["content"]["application/json"]["schema"].is_null());
        assert!(json["responses"]["422"].is_object());
    }

    #[test]
    fn path_parameters_take_their_types_from_the_extractor() {
        let mut op = OperationDoc::new(&http::Method::GET, "/a/{x}/b/{y}");
        (&&&&Arg::<Path<(u32, String)>>::new()).describe_arg(&mut op);
        let json = json(&op);
        assert_eq!(json["parameters"][0]["schema"]["type"], "integer");
        assert_eq!(json["parameters"][1]["schema"]["type"], "string");
        let mut op = OperationDoc::new(&http::Method::GET, "/a/{x}");
        (&&&&Arg::<axum::extract::Path<i64>>::new()).describe_arg(&mut op);
        assert_eq!(
            serde_json::to_value(op.operation()).unwrap()["parameters"][0]["schema"]["format"],
            "int64"
        );
    }

    #[test]
    fn integer_path_parameters_have_the_bounds_of_their_type() {
        let bounds = |schemas: Vec<RefOr<Schema>>| {
            let json = serde_json::to_value(&schemas[0]).unwrap();
            (
                json["minimum"].clone(),
                json["maximum"].clone(),
                json["format"].clone(),
            )
        };
        assert_eq!(
            bounds(<u32 as PathParams>::schemas()),
            (
                serde_json::json!(0),
                serde_json::json!(4294967295u64),
                serde_json::json!("int64")
            )
        );
        assert_eq!(
            bounds(<i8 as PathParams>::schemas()),
            (
                serde_json::json!(-128),
                serde_json::json!(127),
                serde_json::json!("int32")
            )
        );
        assert_eq!(
            bounds(<u64 as PathParams>::schemas()).1,
            serde_json::json!(u64::MAX)
        );
    }

    #[test]
    fn query_parameters_come_from_into_params() {
        let mut op = new_op();
        (&&&&Arg::<Query<Page>>::new()).describe_arg(&mut op);
        (&&&&Arg::<Query<Opaque>>::new()).describe_arg(&mut op);
        let json = json(&op);
        assert_eq!(json["parameters"][1]["name"], "page");
        assert_eq!(json["parameters"][1]["in"], "query");
    }

    #[test]
    fn other_arguments_add_nothing() {
        let mut op = new_op();
        (&&&&Arg::<http::HeaderMap>::new()).describe_arg(&mut op);
        let before = json(&OperationDoc::new(&http::Method::POST, "/pets/{id}"));
        assert_eq!(json(&op), before);
    }

    #[test]
    fn results_describe_both_sides() {
        let mut op = new_op();
        (&&&&Ret::<Result<Created<Pet>, HttpError>>::new()).describe_output(&mut op);
        let json = json(&op);
        assert_eq!(
            json["responses"]["201"]["headers"]["Location"]["schema"]["type"],
            "string"
        );
        assert!(json["responses"]["default"].is_object());
        let mut op = new_op();
        (&&&&Ret::<Json<Opaque>>::new()).describe_output(&mut op);
        (&&&&Ret::<axum::response::Response>::new()).describe_output(&mut op);
        assert!(serde_json::to_value(op.operation()).unwrap()["responses"]["200"].is_object());
    }
}
