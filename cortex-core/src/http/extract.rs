//! Extractors whose rejections are problem details: [`Json`], [`Query`], [`Form`], [`Path`], and
//! [`Valid`], which runs `validator` on what they extracted.
//!
//! Each rejection says what is wrong and where (the line and column of a JSON syntax error, the
//! path of a field of the wrong type, the name of a path parameter) without echoing more than a
//! short excerpt of the input. axum's own rejections convert into the same problems
//! (`From<JsonRejection> for HttpError`, …), so `Valid<axum::Json<T>>` answers alike.

use std::ops::{Deref, DerefMut};

use axum::extract::rejection::{
    BytesRejection, FailedToDeserializePathParams, FormRejection, JsonRejection, PathRejection,
    QueryRejection,
};
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, RawPathParams, Request};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use validator::Validate;

use super::error::HttpError;
use super::problem::{Problem, problem_types};
use super::validation::{ERRORS, FieldError, MAX_ECHO, clip, join_field};

/// JSON extractor and response.
///
/// As an extractor it reads a body with `Content-Type: application/json` (or any `…+json` type)
/// into `T`. Rejections, all `application/problem+json`:
///
/// | input | status | `type` |
/// | --- | --- | --- |
/// | no or another `Content-Type` | 415 | `about:blank` |
/// | body over the limit (`DefaultBodyLimit`, 2 MiB by default) | 413 | `about:blank` |
/// | not JSON (syntax error, truncated, trailing data) | 400 | [`MALFORMED_BODY`](problem_types::MALFORMED_BODY), with `line` and `column` |
/// | JSON of the wrong shape (missing field, wrong type) | 422 | [`INVALID_BODY`](problem_types::INVALID_BODY), with `errors` naming the field (`address.zip`) |
///
/// As a response it answers `200` with `Content-Type: application/json`; if `T` fails to
/// serialize, a logged, generic 500 problem.
///
/// ```
/// use axum::{Router, routing::post, body::Body};
/// use cortex_core::http::Json;
/// use http::{Request, StatusCode};
/// use serde::{Deserialize, Serialize};
/// use tower::ServiceExt;
///
/// #[derive(Deserialize, Serialize)]
/// struct NewUser { name: String }
///
/// async fn create(Json(user): Json<NewUser>) -> Json<NewUser> {
///     Json(user)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app = Router::new().route("/users", post(create));
/// let request = Request::post("/users")
///     .header("content-type", "application/json")
///     .body(Body::from(r#"{"name": 7}"#))
///     .unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct Json<T>(pub T);

/// Query-string extractor: `?page=2&tags=a` into `T` (with `serde_urlencoded`).
///
/// A query that does not fit `T` answers 400 of type
/// [`INVALID_QUERY`](problem_types::INVALID_QUERY) with `errors` naming the parameter.
///
/// ```
/// use cortex_core::http::Query;
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize)]
/// struct Page { page: u32 }
///
/// let Query(p) = Query::<Page>::try_from_uri(&"/users?page=2".parse().unwrap()).unwrap();
/// assert_eq!(p.page, 2);
///
/// let err = Query::<Page>::try_from_uri(&"/users?page=two".parse().unwrap()).unwrap_err();
/// assert_eq!(err.status(), 400);
/// assert_eq!(err.problem().extension("errors").unwrap()[0]["field"], "page");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

/// URL-encoded form extractor and response.
///
/// For `GET` and `HEAD` it reads the query string (rejections as [`Query`]); otherwise a body with
/// `Content-Type: application/x-www-form-urlencoded`. Rejections: another content type → 415; body
/// over the limit → 413; a form that does not fit `T` → 422 of type
/// [`INVALID_BODY`](problem_types::INVALID_BODY) with `errors` naming the field (like JSON of the
/// wrong shape: a urlencoded body has no syntax errors, only shape errors).
///
/// ```
/// use axum::{Router, routing::post, body::Body};
/// use cortex_core::http::Form;
/// use http::Request;
/// use serde::Deserialize;
/// use tower::ServiceExt;
///
/// #[derive(Deserialize)]
/// struct Login { user: String }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app = Router::new().route("/login", post(|Form(login): Form<Login>| async move { login.user }));
/// let request = Request::post("/login").body(Body::from("user=ada")).unwrap(); // no content type
/// assert_eq!(app.oneshot(request).await.unwrap().status(), 415);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct Form<T>(pub T);

/// Path-parameter extractor: `/users/{id}` into `T` (a value, a tuple, or a struct).
///
/// A parameter that does not parse answers 400 of type
/// [`INVALID_PATH`](problem_types::INVALID_PATH) naming the parameter and the expected type
/// (``Invalid path parameter `id`: expected u32, got `abc`.``). A route whose parameters cannot fit `T`
/// at all (a programming error) is a logged, generic 500.
///
/// ```
/// use axum::{Router, routing::get, body::Body};
/// use cortex_core::http::Path;
/// use http::Request;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app = Router::new().route("/users/{id}", get(|Path(id): Path<u32>| async move { id.to_string() }));
/// let response = app.oneshot(Request::get("/users/abc").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), 400);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Path<T>(pub T);

macro_rules! newtype_impls {
    ($($name:ident),*) => {$(
        impl<T> Deref for $name<T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.0
            }
        }

        impl<T> DerefMut for $name<T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.0
            }
        }

        impl<T> From<T> for $name<T> {
            fn from(value: T) -> Self {
                $name(value)
            }
        }
    )*};
}

newtype_impls!(Json, Query, Form, Path);

// ---------------------------------------------------------------------------------------------
// Json

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_content_type(req.headers(), is_json, "application/json")?;
        let bytes = Bytes::from_request(req, state).await?;
        Self::from_bytes(&bytes)
    }
}

/// `Option<Json<T>>`: `None` without a `Content-Type`; otherwise as `Json<T>`.
impl<T, S> OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if !req.headers().contains_key(header::CONTENT_TYPE) {
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

impl<T: DeserializeOwned> Json<T> {
    /// Parses a JSON document, with the same rejections as the extractor.
    ///
    /// ```
    /// use cortex_core::http::Json;
    ///
    /// let err = Json::<Vec<u8>>::from_bytes(b"[1, 2,").unwrap_err();
    /// assert_eq!(err.status(), 400);
    /// assert_eq!(err.problem().extension("line").unwrap(), 1);
    /// assert_eq!(err.problem().extension("column").unwrap(), 6);
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, HttpError> {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        match serde_path_to_error::deserialize(ObjectsOnly(&mut deserializer)) {
            Ok(value) => match deserializer.end() {
                Ok(()) => Ok(Json(value)),
                Err(error) => Err(json_error(&error, None)),
            },
            Err(error) => Err(json_error(error.inner(), Some(error.path()))),
        }
    }
}

/// A body whose type is a struct must be a JSON object. serde's derive also reads a struct from
/// an array of its fields in order (`["Ada", 36]`), which no API document describes and which
/// turns an invalid body into a valid one (`[null, null]` for a struct of options). Applies to
/// the body's top level; a nested struct still reads an array.
struct ObjectsOnly<D>(D);

macro_rules! forward {
    ($($method:ident),*) => {$(
        fn $method<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.0.$method(visitor)
        }
    )*};
}

impl<'de, D: serde::Deserializer<'de>> serde::Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(visitor)
    }

    forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any
    );

    fn deserialize_unit_struct<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: serde::de::Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut buf = BytesMut::with_capacity(128).writer();
        match serde_json::to_writer(&mut buf, &self.0) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(mime::APPLICATION_JSON.as_ref()),
                )],
                buf.into_inner().freeze(),
            )
                .into_response(),
            Err(error) => HttpError::internal(error).into_response(),
        }
    }
}

fn is_json(mime: &mime::Mime) -> bool {
    mime.type_() == mime::APPLICATION
        && (mime.subtype() == mime::JSON
            || mime.suffix().is_some_and(|suffix| suffix == mime::JSON))
}

fn is_form(mime: &mime::Mime) -> bool {
    mime.type_() == mime::APPLICATION && mime.subtype() == mime::WWW_FORM_URLENCODED
}

/// 415 unless the request's `Content-Type` passes `accept`.
fn check_content_type(
    headers: &HeaderMap,
    accept: fn(&mime::Mime) -> bool,
    expected: &str,
) -> Result<(), HttpError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Expected a request with `Content-Type: {expected}`; the request has no `Content-Type`."
            ),
        ));
    };
    let text = value.to_str().unwrap_or("");
    if text.parse::<mime::Mime>().is_ok_and(|mime| accept(&mime)) {
        return Ok(());
    }
    Err(HttpError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "Expected a request with `Content-Type: {expected}`, got `{}`.",
            clip(text, MAX_ECHO)
        ),
    ))
}

/// The problem for a JSON document that failed to parse (`path` when known).
fn json_error(error: &serde_json::Error, path: Option<&serde_path_to_error::Path>) -> HttpError {
    let message = json_message(error);
    let (line, column) = (error.line(), error.column());
    match error.classify() {
        serde_json::error::Category::Data => {
            let field_error = deserialize_field_error(path, &message);
            let detail = shape_detail(
                "The request body does not match the expected shape",
                &field_error,
            );
            HttpError::from_problem(
                Problem::typed(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    problem_types::INVALID_BODY,
                )
                .with_detail(detail)
                .with_extension(ERRORS, [field_error])
                .with_extension("line", line)
                .with_extension("column", column),
            )
        }
        serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof
        | serde_json::error::Category::Io => HttpError::from_problem(
            Problem::typed(StatusCode::BAD_REQUEST, problem_types::MALFORMED_BODY)
                .with_detail(format!(
                    "The request body is not valid JSON: {message} at line {line} column {column}."
                ))
                .with_extension("line", line)
                .with_extension("column", column),
        ),
    }
}

/// serde_json's message without its ` at line L column C` suffix, clipped.
fn json_message(error: &serde_json::Error) -> String {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    clip(message, MAX_ECHO).into_owned()
}

/// A field error from a serde message and the path where it happened. `missing field `x``-style
/// messages, reported by serde at the parent, get the named field appended to the path.
fn deserialize_field_error(path: Option<&serde_path_to_error::Path>, message: &str) -> FieldError {
    let mut field = path.map(path_to_string).unwrap_or_default();
    const NAMED: [(&str, &str); 3] = [
        ("missing field `", "missing_field"),
        ("unknown field `", "unknown_field"),
        ("duplicate field `", "duplicate_field"),
    ];
    for (prefix, code) in NAMED {
        if let Some(rest) = message.strip_prefix(prefix) {
            // serde_path_to_error's path already ends with the key for unknown and duplicate
            // fields (the error happens while reading it), not for missing ones.
            if let Some((name, _)) = rest.split_once('`')
                && !(field == name || field.ends_with(&format!(".{name}")))
            {
                field = join_field(&field, name);
            }
            return FieldError::new(field, code, message);
        }
    }
    let code = [
        ("invalid type", "invalid_type"),
        ("invalid value", "invalid_value"),
        ("invalid length", "invalid_length"),
        ("unknown variant", "unknown_variant"),
    ]
    .into_iter()
    .find(|(prefix, _)| message.starts_with(prefix))
    .map_or("invalid", |(_, code)| code);
    FieldError::new(field, code, message)
}

/// `address.zip`, `items[2].name`; empty at the top.
fn path_to_string(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => out = join_field(&out, &clip(key, MAX_ECHO)),
            Segment::Enum { variant } => out = join_field(&out, variant),
            Segment::Unknown => out = join_field(&out, "?"),
        }
    }
    out
}

fn shape_detail(what: &str, error: &FieldError) -> String {
    if error.field.is_empty() {
        format!("{what}: {}.", error.message)
    } else {
        format!("{what} at `{}`: {}.", error.field, error.message)
    }
}

// ---------------------------------------------------------------------------------------------
// Query and Form

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::try_from_uri(&parts.uri)
    }
}

impl<T: DeserializeOwned> Query<T> {
    /// Parses the query string of `uri`, with the same rejections as the extractor.
    pub fn try_from_uri(uri: &Uri) -> Result<Self, HttpError> {
        parse_urlencoded(uri.query().unwrap_or_default().as_bytes())
            .map(Query)
            .map_err(|e| query_error(&e))
    }
}

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.method() == Method::GET || req.method() == Method::HEAD {
            return Query::try_from_uri(req.uri()).map(|Query(value)| Form(value));
        }
        check_content_type(req.headers(), is_form, "application/x-www-form-urlencoded")?;
        let bytes = Bytes::from_request(req, state).await?;
        parse_urlencoded(&bytes)
            .map(Form)
            .map_err(|e| form_body_error(&e))
    }
}

/// Answers `application/x-www-form-urlencoded`; if `T` cannot be encoded, a logged, generic 500.
impl<T: Serialize> IntoResponse for Form<T> {
    fn into_response(self) -> Response {
        match serde_urlencoded::to_string(&self.0) {
            Ok(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(mime::APPLICATION_WWW_FORM_URLENCODED.as_ref()),
                )],
                body,
            )
                .into_response(),
            Err(error) => HttpError::internal(error).into_response(),
        }
    }
}

type UrlencodedError = serde_path_to_error::Error<serde::de::value::Error>;

fn parse_urlencoded<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, UrlencodedError> {
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(form_urlencoded::parse(
        bytes,
    )))
}

fn query_error(error: &UrlencodedError) -> HttpError {
    let message = clip(&error.inner().to_string(), MAX_ECHO).into_owned();
    let field_error = deserialize_field_error(Some(error.path()), &message);
    HttpError::from_problem(
        Problem::typed(StatusCode::BAD_REQUEST, problem_types::INVALID_QUERY)
            .with_detail(shape_detail("The query string is invalid", &field_error))
            .with_extension(ERRORS, [field_error]),
    )
}

fn form_body_error(error: &UrlencodedError) -> HttpError {
    let message = clip(&error.inner().to_string(), MAX_ECHO).into_owned();
    let field_error = deserialize_field_error(Some(error.path()), &message);
    HttpError::from_problem(
        Problem::typed(
            StatusCode::UNPROCESSABLE_ENTITY,
            problem_types::INVALID_BODY,
        )
        .with_detail(shape_detail(
            "The form does not match the expected shape",
            &field_error,
        ))
        .with_extension(ERRORS, [field_error]),
    )
}

// ---------------------------------------------------------------------------------------------
// Path

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => {
                // Only on failure: the parameter names, to say which one is wrong.
                let params = RawPathParams::from_request_parts(parts, state).await.ok();
                Err(path_error(rejection, params.as_ref()))
            }
        }
    }
}

fn path_error(rejection: PathRejection, params: Option<&RawPathParams>) -> HttpError {
    match rejection {
        PathRejection::FailedToDeserializePathParams(error) => path_params_error(error, params),
        other => HttpError::internal(other.body_text()),
    }
}

fn path_params_error(
    error: FailedToDeserializePathParams,
    params: Option<&RawPathParams>,
) -> HttpError {
    use axum::extract::path::ErrorKind;
    let name_at = |index: usize| {
        params
            .and_then(|p| p.iter().nth(index))
            .map(|(name, _)| name.to_string())
    };
    let only_name = || {
        params
            .filter(|p| p.iter().count() == 1)
            .and_then(|_| name_at(0))
    };
    let expected =
        |ty: &str, value: &str| format!("expected {ty}, got `{}`", clip(value, MAX_ECHO));
    let field_error = match error.kind() {
        ErrorKind::ParseErrorAtKey {
            key,
            value,
            expected_type,
        } => FieldError::new(key.as_str(), "invalid_type", expected(expected_type, value)),
        ErrorKind::ParseErrorAtIndex {
            index,
            value,
            expected_type,
        } => FieldError::new(
            name_at(*index).unwrap_or_else(|| index.to_string()),
            "invalid_type",
            expected(expected_type, value),
        ),
        ErrorKind::ParseError {
            value,
            expected_type,
        } => FieldError::new(
            only_name().unwrap_or_default(),
            "invalid_type",
            expected(expected_type, value),
        ),
        ErrorKind::InvalidUtf8InPathParam { key } => {
            FieldError::new(key.as_str(), "invalid_utf8", "is not valid UTF-8")
        }
        ErrorKind::DeserializeError { key, message, .. } => {
            let mut field_error = deserialize_field_error(None, &clip(message, MAX_ECHO));
            field_error.field = key.clone();
            field_error
        }
        ErrorKind::WrongNumberOfParameters { .. } | ErrorKind::UnsupportedType { .. } => {
            // The route and the extractor's type disagree: the server's bug, not the client's.
            return HttpError::internal(error.body_text());
        }
        other => deserialize_field_error(None, &clip(&other.to_string(), MAX_ECHO)),
    };
    let detail = if field_error.field.is_empty() {
        format!("Invalid path parameter: {}.", field_error.message)
    } else {
        format!(
            "Invalid path parameter `{}`: {}.",
            field_error.field, field_error.message
        )
    };
    HttpError::from_problem(
        Problem::typed(StatusCode::BAD_REQUEST, problem_types::INVALID_PATH)
            .with_detail(detail)
            .with_extension(ERRORS, [field_error]),
    )
}

// ---------------------------------------------------------------------------------------------
// axum's rejections as problems

/// 413 for a body over the limit, 400 for a body that could not be read.
impl From<BytesRejection> for HttpError {
    fn from(rejection: BytesRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => HttpError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is larger than this endpoint accepts.",
            ),
            status if status.is_client_error() => {
                HttpError::new(status, "The request body could not be read.")
            }
            _ => HttpError::internal(rejection.body_text()),
        }
    }
}

/// The same problems as [`Json`]'s rejections, so `axum::Json` answers alike.
impl From<JsonRejection> for HttpError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::BytesRejection(inner) => inner.into(),
            JsonRejection::MissingJsonContentType(_) => HttpError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Expected a request with `Content-Type: application/json`.",
            ),
            rejection => {
                // axum keeps serde's error in the source chain; use it for line, column and path.
                if let Some(error) =
                    find_cause::<serde_path_to_error::Error<serde_json::Error>>(&rejection)
                {
                    json_error(error.inner(), Some(error.path()))
                } else if let Some(error) = find_cause::<serde_json::Error>(&rejection) {
                    json_error(error, None)
                } else {
                    generic_rejection(rejection.status(), rejection.body_text())
                }
            }
        }
    }
}

/// The same problems as [`Query`]'s rejections.
impl From<QueryRejection> for HttpError {
    fn from(rejection: QueryRejection) -> Self {
        match find_cause::<UrlencodedError>(&rejection) {
            Some(error) => query_error(error),
            None => generic_rejection(rejection.status(), rejection.body_text()),
        }
    }
}

/// The same problems as [`Form`]'s rejections.
impl From<FormRejection> for HttpError {
    fn from(rejection: FormRejection) -> Self {
        match rejection {
            FormRejection::BytesRejection(inner) => inner.into(),
            FormRejection::InvalidFormContentType(_) => HttpError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Expected a request with `Content-Type: application/x-www-form-urlencoded`.",
            ),
            FormRejection::FailedToDeserializeForm(ref inner) => {
                match find_cause::<UrlencodedError>(inner) {
                    Some(error) => query_error(error),
                    None => generic_rejection(rejection.status(), rejection.body_text()),
                }
            }
            FormRejection::FailedToDeserializeFormBody(ref inner) => {
                match find_cause::<UrlencodedError>(inner) {
                    Some(error) => form_body_error(error),
                    None => generic_rejection(rejection.status(), rejection.body_text()),
                }
            }
            rejection => generic_rejection(rejection.status(), rejection.body_text()),
        }
    }
}

/// The same problems as [`Path`]'s rejections, minus the parameter name when axum does not give it.
impl From<PathRejection> for HttpError {
    fn from(rejection: PathRejection) -> Self {
        path_error(rejection, None)
    }
}

/// The first error of type `T` in the chain of `error`'s sources.
fn find_cause<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = error.source();
    while let Some(cause) = next {
        if let Some(found) = cause.downcast_ref::<T>() {
            return Some(found);
        }
        next = cause.source();
    }
    None
}

/// Any other rejection: its status, and its text as the detail when it is the client's fault.
fn generic_rejection(status: StatusCode, text: String) -> HttpError {
    if status.is_server_error() {
        HttpError::internal(text)
    } else {
        HttpError::new(status, clip(&text, MAX_ECHO))
    }
}

// ---------------------------------------------------------------------------------------------
// Valid

/// Validates what an extractor produced with [`validator::Validate`]; a failure answers 422 of
/// type [`VALIDATION`](problem_types::VALIDATION) listing every field error (see
/// [`FieldError::from_validation`]).
///
/// `Valid` wraps [`Json`], [`Query`], [`Form`] and [`Path`], and axum's extractors of the same
/// names: any extractor that implements [`Validatable`] and whose rejection converts into
/// [`HttpError`]. The inner extractor's own rejections (415, 400, …) pass through.
///
/// ```
/// use axum::{Router, routing::post, body::Body};
/// use cortex_core::http::{Json, Valid};
/// use http::Request;
/// use serde::Deserialize;
/// use tower::ServiceExt;
/// use validator::Validate;
///
/// #[derive(Deserialize, Validate)]
/// struct NewUser {
///     #[validate(email)]
///     email: String,
///     #[validate(length(min = 8))]
///     password: String,
/// }
///
/// async fn create(Valid(Json(user)): Valid<Json<NewUser>>) -> String {
///     user.email
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app = Router::new().route("/users", post(create));
/// let request = Request::post("/users")
///     .header("content-type", "application/json")
///     .body(Body::from(r#"{"email": "nope", "password": "short"}"#))
///     .unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 422);
/// let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
/// let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
/// assert_eq!(problem["errors"][0]["field"], "email");
/// assert_eq!(problem["errors"][1]["message"], "must have a length of at least 8");
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Valid<E>(pub E);

impl<E> Deref for Valid<E> {
    type Target = E;
    fn deref(&self) -> &E {
        &self.0
    }
}

impl<E> DerefMut for Valid<E> {
    fn deref_mut(&mut self) -> &mut E {
        &mut self.0
    }
}

/// An extractor whose payload [`Valid`] can validate.
///
/// Implemented for Cortex's and axum's `Json`, `Query`, `Form` and `Path` over a `T: Validate`.
/// Implement it for your own extractor to use it inside `Valid` (its rejection must convert into
/// [`HttpError`]).
///
/// ```
/// use cortex_core::http::Validatable;
/// use validator::Validate;
///
/// struct Signed<T>(T);
///
/// impl<T: Validate> Validatable for Signed<T> {
///     type Payload = T;
///     fn payload(&self) -> &T {
///         &self.0
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be checked by `Valid`",
    note = "`Valid<E>` works with `Json<T>`, `Query<T>`, `Form<T>` and `Path<T>` (Cortex's or axum's) whose `T` derives `validator::Validate`"
)]
pub trait Validatable {
    /// What gets validated.
    type Payload: Validate;

    /// The value to validate.
    fn payload(&self) -> &Self::Payload;
}

macro_rules! validatable {
    ($($ty:ident)::+) => {
        impl<T: Validate> Validatable for $($ty)::+<T> {
            type Payload = T;
            fn payload(&self) -> &T {
                &self.0
            }
        }
    };
}

validatable!(Json);
validatable!(Query);
validatable!(Form);
validatable!(Path);
validatable!(axum::Json);
validatable!(axum::Form);
validatable!(axum::extract::Query);
validatable!(axum::extract::Path);

fn validate<E: Validatable>(extracted: E) -> Result<Valid<E>, HttpError> {
    match extracted.payload().validate() {
        Ok(()) => Ok(Valid(extracted)),
        Err(errors) => Err(errors.into()),
    }
}

impl<E, S> FromRequest<S> for Valid<E>
where
    E: FromRequest<S> + Validatable,
    E::Rejection: Into<HttpError>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        validate(E::from_request(req, state).await.map_err(Into::into)?)
    }
}

impl<E, S> FromRequestParts<S> for Valid<E>
where
    E: FromRequestParts<S> + Validatable,
    E::Rejection: Into<HttpError>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        validate(
            E::from_request_parts(parts, state)
                .await
                .map_err(Into::into)?,
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_struct_body_must_be_an_object_not_an_array_of_its_fields() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Patch {
            title: Option<String>,
            done: Option<bool>,
        }
        let err = Json::<Patch>::from_bytes(b"[null, null]").unwrap_err();
        assert_eq!(err.status(), 422);
        let problem = serde_json::to_value(err.problem()).unwrap();
        assert_eq!(problem["errors"][0]["code"], "invalid_type", "{problem}");
        assert!(Json::<Patch>::from_bytes(br#"{"done": true}"#).is_ok());
        assert_eq!(Json::<Vec<u8>>::from_bytes(b"[1, 2]").unwrap().0, [1, 2]);
        assert_eq!(
            Json::<(u8, bool)>::from_bytes(b"[1, true]").unwrap().0,
            (1, true)
        );
    }

    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Address {
        zip: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct User {
        name: String,
        address: Address,
        tags: Vec<u8>,
    }

    fn errors(err: &HttpError) -> serde_json::Value {
        err.problem().extension(ERRORS).cloned().unwrap_or_default()
    }

    #[test]
    fn a_wrong_type_deep_inside_names_its_path() {
        let err =
            Json::<User>::from_bytes(br#"{"name": "a", "address": {"zip": "x"}, "tags": []}"#)
                .unwrap_err();
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(errors(&err)[0]["field"], "address.zip");
        assert_eq!(errors(&err)[0]["code"], "invalid_type");
        let err =
            Json::<User>::from_bytes(br#"{"name": "a", "address": {"zip": 1}, "tags": [1, 300]}"#)
                .unwrap_err();
        assert_eq!(errors(&err)[0]["field"], "tags[1]");
        assert_eq!(errors(&err)[0]["code"], "invalid_value");
    }

    #[test]
    fn a_missing_field_is_named_in_the_path() {
        let err =
            Json::<User>::from_bytes(br#"{"name": "a", "address": {}, "tags": []}"#).unwrap_err();
        assert_eq!(
            errors(&err),
            json!([{ "field": "address.zip", "code": "missing_field", "message": "missing field `zip`" }])
        );
    }

    #[test]
    fn trailing_data_is_a_syntax_error() {
        let err = Json::<u8>::from_bytes(b"1 2").unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            err.problem().detail.as_deref(),
            Some("The request body is not valid JSON: trailing characters at line 1 column 3.")
        );
    }

    #[test]
    fn long_values_are_not_echoed_in_full() {
        let long = "x".repeat(10_000);
        let err =
            Json::<User>::from_bytes(format!(r#"{{"name": 1, "address": "{long}"}}"#).as_bytes())
                .unwrap_err();
        let err2 = Json::<u8>::from_bytes(format!(r#""{long}""#).as_bytes()).unwrap_err();
        for err in [err, err2] {
            assert!(
                serde_json::to_string(err.problem()).unwrap().len() < 1_000,
                "{err}"
            );
        }
    }

    #[test]
    fn content_type_checks_accept_json_suffixes_and_parameters() {
        let headers = |ct: &'static str| {
            HeaderMap::from_iter([(header::CONTENT_TYPE, HeaderValue::from_static(ct))])
        };
        assert!(
            check_content_type(&headers("application/json; charset=utf-8"), is_json, "").is_ok()
        );
        assert!(check_content_type(&headers("application/merge-patch+json"), is_json, "").is_ok());
        assert!(check_content_type(&headers("text/json"), is_json, "").is_err());
        assert!(check_content_type(&HeaderMap::new(), is_json, "").is_err());
    }
}
