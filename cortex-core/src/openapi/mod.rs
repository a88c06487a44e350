//! OpenAPI 3.1, generated from the controllers: every route is an operation, described by its
//! handler's doc comment, extractors and return type; served at `/openapi.json` with an
//! interactive UI at `/docs`.
//!
//! | in the handler | in the document |
//! | --- | --- |
//! | the doc comment | `summary` (first paragraph) and `description` (the rest) |
//! | the controller, the method | the tag (`UserController`), `operationId` (`UserController_show`) |
//! | the path template | path parameters, as strings |
//! | `Path<T>` | their schemas: `T` a primitive, a tuple, or a struct that derives [`IntoParams`] |
//! | `Query<T>`, `T:` [`IntoParams`] | query parameters |
//! | `Json<T>` / `Form<T>`, `T:` [`ToSchema`] | the request body (a `$ref` to `components.schemas`); 400/415/422 problems |
//! | `Valid<..>` | a 422 `ValidationProblem` with field errors |
//! | `Json<T>`, `Created<T>`, `NoContent`, strings, `()` | the 200 / 201 (with `Location`) / 204 response |
//! | `Result<_, HttpError>` | a `default` response, `application/problem+json` |
//!
//! Types that do not derive `ToSchema`/`IntoParams` still compile; they just say less (a body
//! without a schema, a generic `2XX` response). Your own extractors and responses describe
//! themselves by implementing [`OperationInput`] and [`OperationOutput`].
//!
//! The document is built once, by `App::build`, and served from memory; see [`OpenApiConfig`]
//! for the `[openapi]` section (title, version, paths, which UI) and
//! [`App::openapi_with`](crate::App::openapi_with) to add servers or security schemes.
//!
//! ```
//! use cortex_core::App;
//! use cortex_core::http::{HttpError, Json, Path};
//! use cortex_macros::{controller, routes};
//! use serde::Serialize;
//! use utoipa::ToSchema;
//!
//! #[derive(Serialize, ToSchema)]
//! struct Pet {
//!     id: u64,
//!     name: String,
//! }
//!
//! #[controller("/pets")]
//! struct PetController;
//!
//! #[routes]
//! impl PetController {
//!     /// Show a pet
//!     ///
//!     /// Answers 404 when there is no such pet.
//!     #[get("/{id}")]
//!     async fn show(&self, Path(id): Path<u64>) -> Result<Json<Pet>, HttpError> {
//!         Ok(Json(Pet { id, name: "Rex".into() }))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = App::new().controller::<PetController>().build().await.unwrap();
//! let spec = serde_json::to_value(app.openapi().unwrap().document()).unwrap();
//! let show = &spec["paths"]["/pets/{id}"]["get"];
//! assert_eq!(show["summary"], "Show a pet");
//! assert_eq!(show["operationId"], "PetController_show");
//! assert_eq!(show["parameters"][0]["schema"]["format"], "int64");
//! assert_eq!(
//!     show["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
//!     "#/components/schemas/Pet"
//! );
//! assert!(spec["components"]["schemas"]["Problem"].is_object());
//! # }
//! ```

mod config;
mod describe;
mod operation;
mod security;
mod spec;
mod ui;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use http::{HeaderValue, header};

pub use config::{DocsUi, OpenApiConfig};
pub use describe::{OperationInput, OperationOutput, PathParams};
pub use operation::{FIELD_ERROR_SCHEMA, OperationDoc, PROBLEM_SCHEMA, VALIDATION_PROBLEM_SCHEMA};
pub(crate) use security::SchemeRegistry;
pub use security::{AccessPolicy, GuardDoc};
pub(crate) use spec::tag_and_operation_id;
pub use spec::{OpenApiBuilder, Spec};
/// The utoipa version Cortex builds documents with: derive [`ToSchema`] and [`IntoParams`] from
/// it. Apps get both, and `utoipa` itself (the derives' code names it), from `cortex::prelude`;
/// `use cortex::openapi::utoipa::{self, ToSchema};` does the same without the prelude.
pub use utoipa;
pub use utoipa::{IntoParams, ToSchema};

/// Items `#[routes]` expands to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use super::describe::autoref::*;
}

/// The routes that serve the document (and the UI, unless `docs_path` is empty).
pub(crate) fn router(spec: &Spec, config: &OpenApiConfig) -> Router {
    let json = spec.json().clone();
    let document = move || {
        let json = json.clone();
        async move {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                json,
            )
                .into_response()
        }
    };
    let mut router = Router::new().route(&config.path, get(document));
    if !config.docs_path.is_empty() {
        let page = ui::docs_page(config);
        let html = bytes::Bytes::from(page.html);
        let csp = HeaderValue::from_str(&page.csp)
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
        let docs = move || {
            let (html, csp) = (html.clone(), csp.clone());
            async move {
                (
                    [
                        (
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("text/html; charset=utf-8"),
                        ),
                        (header::CONTENT_SECURITY_POLICY, csp),
                    ],
                    html,
                )
                    .into_response()
            }
        };
        router = router.route(&config.docs_path, get(docs));
    }
    router
}
