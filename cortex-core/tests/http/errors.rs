//! Tests for the errors area: problem+json rejections of the extractors, validation, `HttpError`,
//! the 404/405 fallbacks, the `ProblemLayer` safety net and panics.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use cortex_core::http::{
    Created, FieldError, Form, HttpError, HttpOptionExt, HttpResultExt, Json, NoContent, Path,
    ProblemLayer, Query, Valid, current_request_id, problem_fallbacks,
};
use http::{HeaderMap, Request, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower::ServiceExt;
use validator::Validate;

// ---------------------------------------------------------------------------------------------
// helpers

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// Sends and asserts the answer is a problem with this status and body.
async fn problem(app: &Router, request: Request<Body>, status: StatusCode, body: Value) -> Answer {
    let answer = send(app, request).await;
    assert_eq!(answer.status, status, "body: {}", answer.body);
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert_eq!(answer.body, body);
    answer
}

fn get_req(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post_req(uri: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::post(uri);
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    builder.body(body.into()).unwrap()
}

fn json_req(uri: &str, body: &str) -> Request<Body> {
    post_req(uri, Some("application/json"), body.to_string())
}

/// Collects the events logged while it is the default subscriber, with their fields.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<String>>>);

impl Logs {
    /// The binary-wide capture. A global subscriber, not `set_default`: with scoped subscribers
    /// on several test threads, tracing's per-callsite interest cache can be computed while no
    /// scoped subscriber is alive and then skip an event (a flaky miss). Tests find their own
    /// lines by their request ids.
    fn global() -> Logs {
        static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            tracing::subscriber::set_global_default(logs.clone())
                .expect("no other global subscriber in this test binary");
            logs
        })
        .clone()
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Logs {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(format!("{} ", event.metadata().level()));
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

// ---------------------------------------------------------------------------------------------
// the extractors' rejections

#[derive(Debug, Deserialize, Serialize, Validate)]
struct Address {
    #[validate(length(equal = 5))]
    zip: String,
    #[validate(length(min = 1))]
    city: String,
}

#[derive(Debug, Deserialize, Serialize, Validate)]
struct Item {
    #[validate(length(min = 1, max = 20))]
    name: String,
    #[validate(range(min = 1, max = 99))]
    qty: u32,
}

#[derive(Debug, Deserialize, Serialize, Validate)]
struct NewOrder {
    #[validate(email)]
    email: String,
    #[validate(nested)]
    address: Address,
    #[validate(length(min = 1, message = "an order needs at least one item"), nested)]
    items: Vec<Item>,
}

async fn echo_order(Json(order): Json<NewOrder>) -> Json<NewOrder> {
    Json(order)
}

fn json_app() -> Router {
    Router::new().route("/orders", post(echo_order)).route(
        "/small",
        post(|Json(v): Json<Value>| async move { Json(v) }).layer(DefaultBodyLimit::max(16)),
    )
}

const GOOD_ORDER: &str = r#"{"email": "ada@example.com", "address": {"zip": "12345", "city": "Paris"}, "items": [{"name": "tea", "qty": 2}]}"#;

#[tokio::test]
async fn well_formed_json_is_extracted_and_answered_as_json() {
    let answer = send(&json_app(), json_req("/orders", GOOD_ORDER)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(answer.body["address"]["city"], "Paris");
}

#[tokio::test]
async fn malformed_json_answers_400_with_line_and_column() {
    let body = "{\n  \"email\": \"ada@example.com\",\n  \"address\": }";
    problem(
        &json_app(),
        json_req("/orders", body),
        StatusCode::BAD_REQUEST,
        json!({
            "type": "https://cortex.rs/problems/malformed-body",
            "title": "Malformed request body",
            "status": 400,
            "detail": "The request body is not valid JSON: expected value at line 3 column 14.",
            "line": 3,
            "column": 14
        }),
    )
    .await;
}

#[tokio::test]
async fn an_empty_or_truncated_json_body_is_malformed() {
    let app = json_app();
    let answer = send(&app, json_req("/orders", "")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["detail"],
        "The request body is not valid JSON: EOF while parsing a value at line 1 column 0."
    );
    let answer = send(&app, json_req("/orders", r#"{"email": "a"#)).await;
    assert_eq!(
        answer.body["type"],
        "https://cortex.rs/problems/malformed-body"
    );
}

#[tokio::test]
async fn json_without_content_type_answers_415() {
    problem(
        &json_app(),
        post_req("/orders", None, GOOD_ORDER),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        json!({
            "type": "about:blank",
            "title": "Unsupported Media Type",
            "status": 415,
            "detail": "Expected a request with `Content-Type: application/json`; the request has no `Content-Type`."
        }),
    )
    .await;
}

#[tokio::test]
async fn json_with_another_content_type_answers_415() {
    let app = json_app();
    problem(
        &app,
        post_req("/orders", Some("text/plain"), GOOD_ORDER),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        json!({
            "type": "about:blank",
            "title": "Unsupported Media Type",
            "status": 415,
            "detail": "Expected a request with `Content-Type: application/json`, got `text/plain`."
        }),
    )
    .await;
    let answer = send(
        &app,
        post_req("/orders", Some("application/vnd.api+json"), GOOD_ORDER),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "`+json` media types are JSON"
    );
}

#[tokio::test]
async fn an_oversized_body_answers_413() {
    problem(
        &json_app(),
        json_req("/small", r#"{"a": "this is longer than sixteen bytes"}"#),
        StatusCode::PAYLOAD_TOO_LARGE,
        json!({
            "type": "about:blank",
            "title": "Payload Too Large",
            "status": 413,
            "detail": "The request body is larger than this endpoint accepts."
        }),
    )
    .await;
}

#[tokio::test]
async fn json_of_the_wrong_shape_answers_422_naming_the_field() {
    let app = json_app();
    let body =
        r#"{"email": "ada@example.com", "address": {"zip": 12345, "city": "Paris"}, "items": []}"#;
    problem(
        &app,
        json_req("/orders", body),
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({
            "type": "https://cortex.rs/problems/invalid-body",
            "title": "Invalid request body",
            "status": 422,
            "detail": "The request body does not match the expected shape at `address.zip`: invalid type: integer `12345`, expected a string.",
            "errors": [{
                "field": "address.zip",
                "code": "invalid_type",
                "message": "invalid type: integer `12345`, expected a string"
            }],
            "line": 1,
            "column": 53
        }),
    )
    .await;

    let body = r#"{"email": "ada@example.com", "address": {"zip": "12345", "city": "Paris"}, "items": [{"name": "tea"}]}"#;
    let answer = send(&app, json_req("/orders", body)).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer.body["errors"],
        json!([{ "field": "items[0].qty", "code": "missing_field", "message": "missing field `qty`" }])
    );
}

#[derive(Debug, Deserialize, Validate)]
struct UserPath {
    #[validate(range(min = 1))]
    id: u32,
}

fn path_app() -> Router {
    Router::new()
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move { id.to_string() }),
        )
        .route(
            "/orgs/{org}/users/{id}",
            get(|Path((org, id)): Path<(String, u32)>| async move { format!("{org}/{id}") }),
        )
        .route(
            "/by-struct/{id}",
            get(|Valid(Path(p)): Valid<Path<UserPath>>| async move { p.id.to_string() }),
        )
}

#[tokio::test]
async fn a_bad_path_parameter_answers_400_naming_it_and_its_type() {
    let app = path_app();
    problem(
        &app,
        get_req("/users/abc"),
        StatusCode::BAD_REQUEST,
        json!({
            "type": "https://cortex.rs/problems/invalid-path-parameter",
            "title": "Invalid path parameter",
            "status": 400,
            "detail": "Invalid path parameter `id`: expected u32, got `abc`.",
            "errors": [{ "field": "id", "code": "invalid_type", "message": "expected u32, got `abc`" }]
        }),
    )
    .await;
    let answer = send(&app, get_req("/orgs/acme/users/-1")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["detail"],
        "Invalid path parameter `id`: expected u32, got `-1`."
    );
    let answer = send(&app, get_req("/by-struct/x")).await;
    assert_eq!(answer.body["errors"][0]["field"], "id");
    assert_eq!(
        send(&app, get_req("/orgs/acme/users/7")).await.body,
        "acme/7"
    );
}

#[tokio::test]
async fn a_path_struct_is_validated() {
    let app = path_app();
    let answer = send(&app, get_req("/by-struct/0")).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer.body["errors"],
        json!([{ "field": "id", "code": "range", "message": "must be at least 1", "params": { "min": 1 } }])
    );
    assert_eq!(send(&app, get_req("/by-struct/3")).await.body, 3);
}

#[derive(Debug, Deserialize, Validate)]
struct Page {
    #[validate(range(min = 1))]
    page: u32,
    #[validate(range(max = 100))]
    per_page: Option<u32>,
}

fn query_app() -> Router {
    Router::new()
        .route(
            "/plain",
            get(|Query(p): Query<Page>| async move { p.page.to_string() }),
        )
        .route(
            "/valid",
            get(|Valid(Query(p)): Valid<Query<Page>>| async move { p.page.to_string() }),
        )
}

#[tokio::test]
async fn a_bad_query_answers_400_naming_the_parameter() {
    let app = query_app();
    problem(
        &app,
        get_req("/plain?page=two"),
        StatusCode::BAD_REQUEST,
        json!({
            "type": "https://cortex.rs/problems/invalid-query",
            "title": "Invalid query string",
            "status": 400,
            "detail": "The query string is invalid at `page`: invalid digit found in string.",
            "errors": [{ "field": "page", "code": "invalid", "message": "invalid digit found in string" }]
        }),
    )
    .await;
    problem(
        &app,
        get_req("/plain"),
        StatusCode::BAD_REQUEST,
        json!({
            "type": "https://cortex.rs/problems/invalid-query",
            "title": "Invalid query string",
            "status": 400,
            "detail": "The query string is invalid at `page`: missing field `page`.",
            "errors": [{ "field": "page", "code": "missing_field", "message": "missing field `page`" }]
        }),
    )
    .await;
    assert_eq!(send(&app, get_req("/plain?page=2")).await.body, 2);
}

#[tokio::test]
async fn a_query_is_validated() {
    let app = query_app();
    let answer = send(&app, get_req("/valid?page=0&per_page=500")).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer.body["errors"],
        json!([
            { "field": "page", "code": "range", "message": "must be at least 1", "params": { "min": 1 } },
            { "field": "per_page", "code": "range", "message": "must be at most 100", "params": { "max": 100 } }
        ])
    );
}

#[derive(Debug, Deserialize, Validate)]
struct Login {
    #[validate(length(min = 3))]
    user: String,
    remember: bool,
}

fn form_app() -> Router {
    Router::new().route(
        "/login",
        post(|Valid(Form(l)): Valid<Form<Login>>| async move { l.user })
            .get(|Form(l): Form<Login>| async move { format!("{}:{}", l.user, l.remember) }),
    )
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn a_form_needs_its_content_type() {
    problem(
        &form_app(),
        post_req("/login", Some("application/json"), "user=ada&remember=true"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        json!({
            "type": "about:blank",
            "title": "Unsupported Media Type",
            "status": 415,
            "detail": "Expected a request with `Content-Type: application/x-www-form-urlencoded`, got `application/json`."
        }),
    )
    .await;
}

#[tokio::test]
async fn a_form_of_the_wrong_shape_answers_422_and_a_bad_get_form_400() {
    let app = form_app();
    problem(
        &app,
        post_req("/login", Some(FORM), "user=ada&remember=maybe"),
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({
            "type": "https://cortex.rs/problems/invalid-body",
            "title": "Invalid request body",
            "status": 422,
            "detail": "The form does not match the expected shape at `remember`: provided string was not `true` or `false`.",
            "errors": [{ "field": "remember", "code": "invalid", "message": "provided string was not `true` or `false`" }]
        }),
    )
    .await;
    let answer = send(&app, get_req("/login?user=ada")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["type"],
        "https://cortex.rs/problems/invalid-query"
    );
    assert_eq!(answer.body["errors"][0]["field"], "remember");
    assert_eq!(
        send(&app, get_req("/login?user=ada&remember=true"))
            .await
            .body,
        "ada:true"
    );
}

#[tokio::test]
async fn a_form_is_validated() {
    let app = form_app();
    let answer = send(
        &app,
        post_req("/login", Some(FORM), "user=al&remember=true"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.body["errors"][0]["field"], "user");
    let answer = send(
        &app,
        post_req("/login", Some(FORM), "user=ada&remember=true"),
    )
    .await;
    assert_eq!((answer.status, answer.body), (StatusCode::OK, json!("ada")));
}

// ---------------------------------------------------------------------------------------------
// validation

async fn create_order(Valid(Json(order)): Valid<Json<NewOrder>>) -> Created<NewOrder> {
    Created::at("/orders/1", order)
}

async fn create_order_axum(
    Valid(axum::Json(order)): Valid<axum::Json<NewOrder>>,
) -> Created<NewOrder> {
    Created::new(order)
}

fn valid_app() -> Router {
    Router::new()
        .route("/orders", post(create_order))
        .route("/axum", post(create_order_axum))
}

const BAD_ORDER: &str = r#"{
    "email": "not-an-email",
    "address": {"zip": "123", "city": ""},
    "items": [{"name": "tea", "qty": 2}, {"name": "", "qty": 0}, {"name": "cake", "qty": 100}]
}"#;

fn bad_order_problem() -> Value {
    json!({
        "type": "https://cortex.rs/problems/validation",
        "title": "Validation failed",
        "status": 422,
        "detail": "The request has 6 invalid values; see `errors`.",
        "errors": [
            { "field": "address.city", "code": "length", "message": "must have a length of at least 1", "params": { "min": 1 } },
            { "field": "address.zip", "code": "length", "message": "must have a length of 5", "params": { "equal": 5 } },
            { "field": "email", "code": "email", "message": "must be a valid email address" },
            { "field": "items[1].name", "code": "length", "message": "must have a length of at least 1 and at most 20", "params": { "min": 1, "max": 20 } },
            { "field": "items[1].qty", "code": "range", "message": "must be at least 1 and at most 99", "params": { "min": 1, "max": 99 } },
            { "field": "items[2].qty", "code": "range", "message": "must be at least 1 and at most 99", "params": { "min": 1, "max": 99 } }
        ]
    })
}

#[tokio::test]
async fn validation_lists_every_field_error_with_nested_and_list_paths() {
    problem(
        &valid_app(),
        json_req("/orders", BAD_ORDER),
        StatusCode::UNPROCESSABLE_ENTITY,
        bad_order_problem(),
    )
    .await;
}

#[tokio::test]
async fn validation_uses_custom_messages() {
    let body = r#"{"email": "ada@example.com", "address": {"zip": "12345", "city": "Paris"}, "items": []}"#;
    let answer = send(&valid_app(), json_req("/orders", body)).await;
    assert_eq!(
        answer.body["errors"],
        json!([{ "field": "items", "code": "length", "message": "an order needs at least one item", "params": { "min": 1 } }])
    );
}

#[tokio::test]
async fn a_valid_body_passes_and_created_answers_201_with_location() {
    let answer = send(&valid_app(), json_req("/orders", GOOD_ORDER)).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(answer.headers[header::LOCATION], "/orders/1");
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(answer.body["email"], "ada@example.com");
}

#[tokio::test]
async fn valid_works_with_axum_extractors_and_their_rejections_become_problems() {
    let app = valid_app();
    problem(
        &app,
        json_req("/axum", BAD_ORDER),
        StatusCode::UNPROCESSABLE_ENTITY,
        bad_order_problem(),
    )
    .await;
    // axum's own rejections, converted: the same problems as Cortex's `Json`.
    problem(
        &app,
        json_req(
            "/axum",
            "{\n  \"email\": \"ada@example.com\",\n  \"address\": }",
        ),
        StatusCode::BAD_REQUEST,
        json!({
            "type": "https://cortex.rs/problems/malformed-body",
            "title": "Malformed request body",
            "status": 400,
            "detail": "The request body is not valid JSON: expected value at line 3 column 14.",
            "line": 3,
            "column": 14
        }),
    )
    .await;
    let answer = send(&app, json_req("/axum", r#"{"email": 1}"#)).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.body["errors"][0]["field"], "email");
    let answer = send(&app, post_req("/axum", None, GOOD_ORDER)).await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert_eq!(
        send(&app, json_req("/axum", GOOD_ORDER)).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn an_optional_json_body_may_be_absent() {
    let app = Router::new().route(
        "/",
        post(|body: Option<Json<Item>>| async move {
            body.map_or("none".to_string(), |Json(item)| item.name)
        }),
    );
    assert_eq!(send(&app, post_req("/", None, "")).await.body, "none");
    let answer = send(&app, json_req("/", r#"{"name": "tea", "qty": 1}"#)).await;
    assert_eq!(answer.body, "tea");
    let answer = send(&app, post_req("/", Some("text/plain"), "tea")).await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

// ---------------------------------------------------------------------------------------------
// HttpError

async fn fail(Path(kind): Path<String>) -> Result<NoContent, HttpError> {
    match kind.as_str() {
        "ok" => Ok(NoContent),
        "bad_request" => Err(HttpError::bad_request("`from` is after `to`")),
        "unauthorized" => Err(
            HttpError::unauthorized("the token has expired").with_header(
                header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer realm=\"api\""),
            ),
        ),
        "forbidden" => Err(HttpError::forbidden("admins only")),
        "not_found" => Err(None::<()>.or_not_found("no order with id 7").unwrap_err()),
        "conflict" => Err(HttpError::conflict("the email is taken")
            .with_type("https://example.com/problems/email-taken")
            .with_title("Email taken")
            .with_extension("email", "ada@example.com")),
        "unprocessable" => Err(HttpError::unprocessable("the cart is empty")),
        "new" => Err(HttpError::new(StatusCode::IM_A_TEAPOT, "short and stout")),
        "internal" => Err(HttpError::internal(std::io::Error::other(
            "db password hunter2 rejected",
        ))),
        "io" => {
            std::fs::read("/definitely/not/here/secret-path")?;
            Ok(NoContent)
        }
        "http_err" => "abc"
            .parse::<u32>()
            .map(|_| NoContent)
            .http_err(StatusCode::BAD_REQUEST),
        "validation" => Err(HttpError::validation(vec![FieldError::new(
            "slug",
            "taken",
            "is already in use",
        )])),
        _ => Err(HttpError::from(StatusCode::GONE)),
    }
}

fn error_app() -> Router {
    Router::new()
        .route("/fail/{kind}", get(fail))
        .layer(ProblemLayer::new())
}

fn about_blank(status: u16, title: &str, detail: &str) -> Value {
    json!({ "type": "about:blank", "title": title, "status": status, "detail": detail })
}

#[tokio::test]
async fn http_error_constructors_answer_their_status_and_detail() {
    let app = error_app();
    let cases = [
        ("bad_request", 400, "Bad Request", "`from` is after `to`"),
        ("unauthorized", 401, "Unauthorized", "the token has expired"),
        ("forbidden", 403, "Forbidden", "admins only"),
        ("not_found", 404, "Not Found", "no order with id 7"),
        (
            "unprocessable",
            422,
            "Unprocessable Entity",
            "the cart is empty",
        ),
        ("new", 418, "I'm a teapot", "short and stout"),
        (
            "http_err",
            400,
            "Bad Request",
            "invalid digit found in string",
        ),
    ];
    for (kind, status, title, detail) in cases {
        let uri = format!("/fail/{kind}");
        let status = StatusCode::from_u16(status).unwrap();
        problem(
            &app,
            get_req(&uri),
            status,
            about_blank(status.as_u16(), title, detail),
        )
        .await;
    }
    let answer = send(&app, get_req("/fail/unauthorized")).await;
    assert_eq!(
        answer.headers[header::WWW_AUTHENTICATE],
        "Bearer realm=\"api\""
    );
    problem(
        &app,
        get_req("/fail/conflict"),
        StatusCode::CONFLICT,
        json!({
            "type": "https://example.com/problems/email-taken",
            "title": "Email taken",
            "status": 409,
            "detail": "the email is taken",
            "email": "ada@example.com"
        }),
    )
    .await;
    problem(
        &app,
        get_req("/fail/other"),
        StatusCode::GONE,
        json!({ "type": "about:blank", "title": "Gone", "status": 410 }),
    )
    .await;
    let answer = send(&app, get_req("/fail/validation")).await;
    assert_eq!(answer.body["errors"][0]["code"], "taken");
    let answer = send(&app, get_req("/fail/ok")).await;
    assert_eq!(
        (answer.status, answer.body),
        (StatusCode::NO_CONTENT, Value::Null)
    );
}

#[tokio::test]
async fn internal_errors_answer_a_generic_500_and_log_the_cause_with_the_request_id() {
    let logs = Logs::global();
    let app = error_app();
    for kind in ["internal", "io"] {
        let request = Request::get(format!("/fail/{kind}"))
            .header("x-request-id", format!("req-{kind}"))
            .body(Body::empty())
            .unwrap();
        problem(
            &app,
            request,
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({
                "type": "about:blank",
                "title": "Internal Server Error",
                "status": 500,
                "detail": "The server encountered an unexpected error.",
                "request_id": format!("req-{kind}")
            }),
        )
        .await;
    }
    let lines = logs.lines();
    let internal = lines
        .iter()
        .find(|l| l.contains("req-internal"))
        .expect("logged");
    assert!(
        internal.starts_with("ERROR") && internal.contains("hunter2"),
        "{internal}"
    );
    let io = lines.iter().find(|l| l.contains("req-io")).expect("logged");
    assert!(io.contains("No such file or directory"), "{io}");
}

// ---------------------------------------------------------------------------------------------
// 404 and 405

fn routes() -> Router {
    Router::new()
        .route(
            "/users",
            get(|| async { "[]" }).post(|| async { "created" }),
        )
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move { id.to_string() }),
        )
}

#[tokio::test]
async fn unknown_paths_answer_404_problems() {
    let app = problem_fallbacks(routes());
    problem(
        &app,
        get_req("/nope?x=1"),
        StatusCode::NOT_FOUND,
        about_blank(404, "Not Found", "No route for GET /nope."),
    )
    .await;
}

#[tokio::test]
async fn wrong_methods_answer_405_problems_that_keep_the_allow_header() {
    let app = problem_fallbacks(routes());
    let answer = problem(
        &app,
        Request::delete("/users").body(Body::empty()).unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        about_blank(
            405,
            "Method Not Allowed",
            "DELETE is not allowed on /users; see the `Allow` header.",
        ),
    )
    .await;
    assert_eq!(answer.headers[header::ALLOW], "GET,HEAD,POST");
}

#[tokio::test]
async fn the_problem_layer_alone_turns_axums_bare_404_and_405_into_problems() {
    let app = routes().layer(ProblemLayer::new());
    problem(
        &app,
        get_req("/nope"),
        StatusCode::NOT_FOUND,
        json!({ "type": "about:blank", "title": "Not Found", "status": 404 }),
    )
    .await;
    let answer = problem(
        &app,
        Request::put("/users/1").body(Body::empty()).unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        json!({ "type": "about:blank", "title": "Method Not Allowed", "status": 405 }),
    )
    .await;
    assert_eq!(answer.headers[header::ALLOW], "GET,HEAD");
    let answer = send(&app, get_req("/users/5")).await;
    assert_eq!(answer.body, 5);
}

// ---------------------------------------------------------------------------------------------
// the safety net

fn plain_axum_app() -> Router {
    Router::new()
        .route(
            "/json",
            post(|axum::Json(item): axum::Json<Item>| async move { item.name }),
        )
        .route(
            "/teapot",
            get(|| async { (StatusCode::IM_A_TEAPOT, "  short and stout\n") }),
        )
        .route(
            "/secret",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "db password hunter2") }),
        )
        .route(
            "/unavailable",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "30")],
                )
            }),
        )
        .route(
            "/json-error",
            get(|| async { (StatusCode::BAD_REQUEST, axum::Json(json!({ "mine": true }))) }),
        )
        .route("/ok", get(|| async { "fine" }))
        .layer(ProblemLayer::new())
}

#[tokio::test]
async fn the_safety_net_converts_axums_plain_text_rejections() {
    let app = plain_axum_app();
    problem(
        &app,
        post_req("/json", None, "{}"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        about_blank(
            415,
            "Unsupported Media Type",
            "Expected request with `Content-Type: application/json`",
        ),
    )
    .await;
    let answer = send(&app, json_req("/json", r#"{"name": 1, "qty": 1}"#)).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert_eq!(answer.body["type"], "about:blank");
    assert_eq!(
        answer.body["detail"],
        "Failed to deserialize the JSON body into the target type: name: invalid type: integer `1`, expected a string at line 1 column 10"
    );
    problem(
        &app,
        get_req("/teapot"),
        StatusCode::IM_A_TEAPOT,
        about_blank(418, "I'm a teapot", "short and stout"),
    )
    .await;
}

#[tokio::test]
async fn the_safety_net_hides_server_error_text_and_keeps_headers() {
    let logs = Logs::global();
    let app = plain_axum_app();
    let request = Request::get("/secret")
        .header("x-request-id", "r-9")
        .body(Body::empty())
        .unwrap();
    problem(
        &app,
        request,
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "The server encountered an unexpected error.",
            "request_id": "r-9"
        }),
    )
    .await;
    assert!(
        logs.lines()
            .iter()
            .any(|l| l.contains("r-9") && l.contains("hunter2"))
    );
    let answer = problem(
        &app,
        get_req("/unavailable"),
        StatusCode::SERVICE_UNAVAILABLE,
        json!({ "type": "about:blank", "title": "Service Unavailable", "status": 503 }),
    )
    .await;
    assert_eq!(answer.headers[header::RETRY_AFTER], "30");
}

#[tokio::test]
async fn the_safety_net_leaves_successes_and_other_bodies_alone() {
    let app = plain_axum_app();
    let answer = send(&app, get_req("/ok")).await;
    assert_eq!(
        (answer.status, answer.body),
        (StatusCode::OK, json!("fine"))
    );
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    let answer = send(&app, get_req("/json-error")).await;
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(answer.body, json!({ "mine": true }));
}

// ---------------------------------------------------------------------------------------------
// panics

async fn boom() -> &'static str {
    panic!("the database password is hunter2")
}

fn panic_app() -> Router {
    Router::new()
        .route("/boom", get(boom))
        .route(
            "/ok",
            get(|| async { current_request_id().unwrap_or_default() }),
        )
        .layer(ProblemLayer::new())
}

#[tokio::test]
async fn a_panic_answers_500_with_the_request_id_is_logged_and_the_router_keeps_serving() {
    let logs = Logs::global();
    let app = panic_app();
    let request = Request::get("/boom")
        .header("x-request-id", "req-7")
        .body(Body::empty())
        .unwrap();
    problem(
        &app,
        request,
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "The server encountered an unexpected error.",
            "request_id": "req-7"
        }),
    )
    .await;
    let logged = logs
        .lines()
        .into_iter()
        .find(|l| l.contains("panicked") && l.contains("req-7"))
        .expect("the panic is logged");
    assert!(logged.starts_with("ERROR"), "{logged}");
    assert!(logged.contains("request_id=\"req-7\""), "{logged}");
    assert!(
        logged.contains("the database password is hunter2"),
        "{logged}"
    );

    let request = Request::get("/ok")
        .header("x-request-id", "req-8")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(
        (answer.status, answer.body),
        (StatusCode::OK, json!("req-8"))
    );
}

#[tokio::test]
async fn a_panic_without_a_request_id_answers_500_without_one() {
    problem(
        &panic_app(),
        get_req("/boom"),
        StatusCode::INTERNAL_SERVER_ERROR,
        about_blank(
            500,
            "Internal Server Error",
            "The server encountered an unexpected error.",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_real_server_keeps_serving_after_a_panic() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, panic_app()).await });
    let fetch = |path: &'static str| {
        tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\nx-request-id: tcp-1\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        })
    };
    for _ in 0..2 {
        let answer = fetch("/boom").await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
        assert!(
            answer.contains("application/problem+json")
                && answer.contains("\"request_id\":\"tcp-1\"")
        );
        assert!(!answer.contains("hunter2"));
        let answer = fetch("/ok").await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("tcp-1"),
            "{answer}"
        );
    }
    server.abort();
}

// ---------------------------------------------------------------------------------------------
// responses

#[test]
fn created_without_location_and_no_content() {
    let response = Created::new(json!({ "id": 1 })).into_response();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().get(header::LOCATION).is_none());
    assert_eq!(NoContent.into_response().status(), StatusCode::NO_CONTENT);
}

#[test]
fn a_json_response_that_fails_to_serialize_is_a_generic_500_problem() {
    let mut map = std::collections::HashMap::new();
    map.insert(vec![1u8], "keys must be strings");
    let response = Json(map).into_response();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
}

#[tokio::test]
async fn a_tower_http_timeout_becomes_a_408_problem() {
    use tower_http::timeout::TimeoutLayer;
    let app = Router::new()
        .route("/slow", get(std::future::pending::<&'static str>))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_millis(10),
        ))
        .layer(ProblemLayer::new());
    problem(
        &app,
        get_req("/slow"),
        StatusCode::REQUEST_TIMEOUT,
        json!({ "type": "about:blank", "title": "Request Timeout", "status": 408 }),
    )
    .await;
}

#[tokio::test]
async fn the_panic_handler_gives_tower_https_catch_panic_layer_the_same_problem() {
    use cortex_core::http::PanicHandler;
    use tower_http::catch_panic::CatchPanicLayer;
    let app = Router::new()
        .route("/boom", get(boom))
        .layer(CatchPanicLayer::custom(PanicHandler));
    problem(
        &app,
        get_req("/boom"),
        StatusCode::INTERNAL_SERVER_ERROR,
        about_blank(
            500,
            "Internal Server Error",
            "The server encountered an unexpected error.",
        ),
    )
    .await;
}
