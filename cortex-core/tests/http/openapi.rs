//! The OpenAPI document generated from controllers: operations, parameters, bodies, responses and
//! schemas; `/openapi.json` and `/docs`; configuration; and a validity check of the whole document.

use std::collections::BTreeSet;

use axum::body::Body;
use cortex_core::config::Config;
use cortex_core::http::{Created, HttpError, Json, NoContent, Path, Query, Valid};
use cortex_core::routing::RouteError;
use cortex_core::{App, AppError, Application};
use cortex_macros::{controller, routes};
use http::{Request, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::ServiceExt;
use utoipa::{IntoParams, ToSchema};

#[derive(Clone, Serialize, Deserialize, ToSchema)]
struct Author {
    name: String,
}

/// A book in the catalogue.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
struct Book {
    id: u64,
    title: String,
    author: Author,
    tags: Vec<String>,
}

#[derive(Deserialize, validator::Validate, ToSchema)]
struct NewBook {
    #[validate(length(min = 1, max = 200))]
    title: String,
    author: Author,
}

#[derive(Deserialize, IntoParams)]
#[allow(dead_code)]
struct ListQuery {
    /// The page, from 1.
    page: Option<u32>,
    /// Words in the title.
    q: Option<String>,
}

/// No `ToSchema`: handlers still compile, the document says less.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Opaque {
    x: u32,
}

#[controller("/books", profile = "openapi-tests")]
struct BookController;

#[routes]
impl BookController {
    /// List books
    ///
    /// Pages through the catalogue, newest first.
    /// Filter with `q`.
    #[get("/")]
    async fn list(&self, Query(_query): Query<ListQuery>) -> Json<Vec<Book>> {
        Json(Vec::new())
    }

    /// Show a book
    #[get("/{id}")]
    async fn show(&self, Path(id): Path<u64>) -> Result<Json<Book>, HttpError> {
        Err(HttpError::not_found(format!("no book {id}")))
    }

    /// Add a book
    #[post("/")]
    async fn create(
        &self,
        Valid(Json(book)): Valid<Json<NewBook>>,
    ) -> Result<Created<Book>, HttpError> {
        let book = Book {
            id: 1,
            title: book.title,
            author: book.author,
            tags: Vec::new(),
        };
        Ok(Created::at("/books/1", book))
    }

    #[delete("/{id}")]
    async fn remove(&self, Path(_id): Path<u64>) -> NoContent {
        NoContent
    }

    #[put("/{id}/raw")]
    async fn raw(&self, Path(_id): Path<u64>, Json(_body): Json<Opaque>) -> StatusCode {
        StatusCode::ACCEPTED
    }

    #[get("/shelves/{shelf}/{slot}")]
    async fn slot(&self, Path((shelf, slot)): Path<(String, u32)>) -> String {
        format!("{shelf}/{slot}")
    }

    #[get("/files/{*path}")]
    async fn file(&self, Path(_path): Path<String>, _headers: http::HeaderMap) -> &'static str {
        "file"
    }
}

#[controller("/docs", profile = "openapi-conflict")]
struct DocsController;

#[routes]
impl DocsController {
    #[get("/")]
    async fn mine(&self) -> &'static str {
        "mine"
    }
}

fn app_with(toml: &str) -> App {
    App::with_config(Config::from_toml(toml).unwrap()).container(|b| {
        b.profile("openapi-tests");
    })
}

async fn app() -> Application {
    app_with("").discover().build().await.unwrap()
}

fn document(app: &Application) -> Value {
    serde_json::from_slice(app.openapi().expect("openapi is enabled").json()).unwrap()
}

async fn get(app: &Application, uri: &str) -> (StatusCode, http::HeaderMap, bytes::Bytes) {
    let response = app
        .router()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (
        status,
        headers,
        axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_info_from_the_configuration() {
    let app = app_with(
        "[openapi]\ntitle = 'Library'\nversion = '2.1.0'\ndescription = 'Books and authors.'",
    )
    .discover()
    .build()
    .await
    .unwrap();
    let doc = document(&app);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Library");
    assert_eq!(doc["info"]["version"], "2.1.0");
    assert_eq!(doc["info"]["description"], "Books and authors.");
    assert_eq!(doc["tags"][0]["name"], "BookController");
}

#[tokio::test]
async fn every_route_is_an_operation_with_its_doc_comment_tag_and_id() {
    let doc = document(&app().await);
    let list = &doc["paths"]["/books"]["get"];
    assert_eq!(list["operationId"], "BookController_list");
    assert_eq!(list["tags"], serde_json::json!(["BookController"]));
    assert_eq!(list["summary"], "List books");
    assert_eq!(
        list["description"],
        "Pages through the catalogue, newest first.\nFilter with `q`."
    );
    assert_eq!(doc["paths"]["/books/{id}"]["get"]["summary"], "Show a book");
    assert!(doc["paths"]["/books/{id}"]["get"]["description"].is_null());
    assert_eq!(
        doc["paths"]["/books/{id}"]["delete"]["operationId"],
        "BookController_remove"
    );
    assert!(doc["paths"]["/books/{id}"]["delete"]["summary"].is_null());
    // axum's catch-all `{*path}` is OpenAPI's `{path}`.
    assert!(
        doc["paths"]["/books/files/{path}"]["get"].is_object(),
        "{:#}",
        doc["paths"]
    );
}

#[tokio::test]
async fn parameters_come_from_the_path_template_path_and_query_extractors() {
    let doc = document(&app().await);
    let show = &doc["paths"]["/books/{id}"]["get"]["parameters"][0];
    assert_eq!(
        (&show["name"], &show["in"], &show["required"]),
        (&"id".into(), &"path".into(), &true.into())
    );
    assert_eq!(
        (&show["schema"]["type"], &show["schema"]["format"]),
        (&"integer".into(), &"int64".into())
    );

    let slot = &doc["paths"]["/books/shelves/{shelf}/{slot}"]["get"]["parameters"];
    assert_eq!(
        (&slot[0]["name"], &slot[0]["schema"]["type"]),
        (&"shelf".into(), &"string".into())
    );
    assert_eq!(
        (&slot[1]["name"], &slot[1]["schema"]["type"]),
        (&"slot".into(), &"integer".into())
    );

    let list = &doc["paths"]["/books"]["get"]["parameters"];
    let names: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("page", "query"), ("q", "query")]);
    assert_eq!(list[0]["description"], "The page, from 1.");
    assert_eq!(list[0]["required"], false);
    assert_eq!(
        doc["paths"]["/books"]["get"]["responses"]["400"]["content"]["application/problem+json"]["schema"]
            ["$ref"],
        "#/components/schemas/Problem"
    );
}

#[tokio::test]
async fn bodies_and_responses_refer_to_component_schemas() {
    let doc = document(&app().await);
    let create = &doc["paths"]["/books"]["post"];
    assert_eq!(create["requestBody"]["required"], true);
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NewBook"
    );
    let created = &create["responses"]["201"];
    assert_eq!(
        created["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Book"
    );
    assert_eq!(created["headers"]["Location"]["schema"]["type"], "string");
    // `Valid<..>`: field errors; `HttpError`: any other problem, a 422 of its own included.
    assert_eq!(
        create["responses"]["422"]["content"]["application/problem+json"]["schema"]["anyOf"],
        serde_json::json!([
            { "$ref": "#/components/schemas/ValidationProblem" },
            { "$ref": "#/components/schemas/Problem" }
        ])
    );
    assert_eq!(
        create["responses"]["415"]["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    assert_eq!(
        create["responses"]["default"]["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );

    let show = &doc["paths"]["/books/{id}"]["get"]["responses"];
    assert_eq!(
        show["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Book"
    );
    assert!(show["default"].is_object());
    let list =
        &doc["paths"]["/books"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(list["type"], "array");
    assert_eq!(list["items"]["$ref"], "#/components/schemas/Book");
    assert!(doc["paths"]["/books/{id}"]["delete"]["responses"]["204"].is_object());
    let text = &doc["paths"]["/books/files/{path}"]["get"]["responses"]["200"]["content"];
    assert_eq!(
        text["text/plain; charset=utf-8"]["schema"]["type"],
        "string"
    );

    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "Author",
        "Book",
        "NewBook",
        "Problem",
        "FieldError",
        "ValidationProblem",
    ] {
        assert!(
            schemas.contains_key(name),
            "{name} missing from {:?}",
            schemas.keys().collect::<Vec<_>>()
        );
    }
    assert_eq!(
        schemas["Book"]["properties"]["author"]["$ref"],
        "#/components/schemas/Author"
    );
    assert_eq!(schemas["Book"]["description"], "A book in the catalogue.");
    assert_eq!(
        schemas["Problem"]["properties"]["status"]["type"],
        "integer"
    );
}

#[tokio::test]
async fn types_without_schemas_compile_and_say_less() {
    let doc = document(&app().await);
    let raw = &doc["paths"]["/books/{id}/raw"]["put"];
    let body = &raw["requestBody"]["content"]["application/json"];
    assert!(body.is_object() && body["schema"].is_null(), "{raw:#}");
    // `StatusCode` says nothing about which success: a generic one.
    assert_eq!(raw["responses"]["2XX"]["description"], "Success");
    assert!(raw["responses"]["400"].is_object());
}

#[tokio::test]
async fn the_document_and_the_ui_are_served() {
    let app = app().await;
    let (status, headers, body) = get(&app, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(&body, app.openapi().unwrap().json());

    let (status, headers, body) = get(&app, "/docs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let html = String::from_utf8(body.to_vec()).unwrap();
    // Relative to `/docs`, so the page also works behind a proxy that adds a prefix.
    assert!(
        html.contains(r#"<div id="swagger-ui" data-url="openapi.json">"#),
        "{html}"
    );
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src https://cdn.jsdelivr.net 'sha256-"),
        "{csp}"
    );
    // The other security headers still apply.
    assert_eq!(headers["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn the_paths_and_the_ui_are_configurable() {
    let app =
        app_with("[openapi]\npath = '/api/spec.json'\ndocs_path = '/api/docs'\nui = 'rapidoc'")
            .discover()
            .build()
            .await
            .unwrap();
    assert_eq!(get(&app, "/api/spec.json").await.0, StatusCode::OK);
    assert_eq!(get(&app, "/openapi.json").await.0, StatusCode::NOT_FOUND);
    let html = String::from_utf8(get(&app, "/api/docs").await.2.to_vec()).unwrap();
    assert!(html.contains(r#"<rapi-doc spec-url="spec.json""#), "{html}");

    let app = app_with("[openapi]\ndocs_path = ''")
        .discover()
        .build()
        .await
        .unwrap();
    assert_eq!(get(&app, "/openapi.json").await.0, StatusCode::OK);
    assert_eq!(get(&app, "/docs").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn disabling_removes_the_document_and_the_ui() {
    let app = app_with("[openapi]\nenabled = false")
        .discover()
        .build()
        .await
        .unwrap();
    assert!(app.openapi().is_none());
    assert_eq!(get(&app, "/openapi.json").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/docs").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/books").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_route_on_the_docs_path_fails_the_start_with_a_hint() {
    let err = App::new()
        .container(|b| {
            b.profile("openapi-conflict");
        })
        .controller::<DocsController>()
        .build()
        .await
        .err()
        .unwrap();
    let AppError::Routes(errors) = &err else {
        panic!("{err}")
    };
    assert!(
        matches!(
            errors.errors(),
            [RouteError::ConflictingPath { path, handler, framework: "the OpenAPI UI" }]
                if path == "/docs" && handler == "DocsController::mine"
        ),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("/docs is served by `DocsController::mine` and by the OpenAPI UI"),
        "{message}"
    );
    assert!(message.contains("openapi.docs_path"), "{message}");
}

#[tokio::test]
async fn a_bad_path_in_the_configuration_fails_the_start() {
    let err = app_with("[openapi]\npath = 'openapi.json'")
        .build()
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("openapi.path"), "{err}");
}

#[tokio::test]
async fn the_document_can_be_changed_after_it_is_built() {
    let app = app_with("")
        .discover()
        .openapi_with(|doc| {
            doc.servers = Some(vec![utoipa::openapi::server::Server::new(
                "https://api.example.com",
            )]);
        })
        .build()
        .await
        .unwrap();
    assert_eq!(
        document(&app)["servers"][0]["url"],
        "https://api.example.com"
    );
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_valid() {
    let app = app().await;
    let bytes = app.openapi().unwrap().json().clone();
    // It parses back into the OpenAPI model.
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_slice(&bytes).expect("the document parses as OpenAPI");
    assert_eq!(parsed.info.title, "API");
    let doc: Value = serde_json::from_slice(&bytes).unwrap();

    // Every reference resolves.
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref {r}"
        );
    }

    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for (method, op) in item.as_object().unwrap() {
            // Unique operation ids, at least one response each, descriptions on every response.
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_string()),
                "duplicate id at {method} {path}"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} has no response");
            for (status, response) in responses {
                assert!(
                    response["description"].is_string(),
                    "{method} {path} {status}"
                );
            }
            // Each template parameter is a required path parameter, and no other path parameter exists.
            let params: Vec<&Value> = op["parameters"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            let path_params: BTreeSet<&str> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(path_params, template, "{method} {path}");
            assert!(
                params
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .all(|p| p["required"] == true)
            );
        }
    }
    assert_eq!(
        ids.len(),
        app.routes()
            .iter()
            .filter(|r| r.path.starts_with("/books"))
            .count()
    );
}
