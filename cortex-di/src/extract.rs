//! `Inject<T>` as an axum extractor.

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

use crate::container::Container;
use crate::error::Error;
use crate::inject::Inject;
use crate::scope::RequestScope;

/// Why an `Inject<T>` handler argument could not be resolved. Answers 500 problem details with a
/// generic message; the cause is logged. Startup validation of the routes' dependencies makes
/// this rare.
#[derive(Debug)]
pub enum InjectRejection {
    /// No container in the request's extensions: the router is not served by a Cortex app.
    NoContainer,
    /// Resolving failed.
    Resolve(Error),
}

impl std::fmt::Display for InjectRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InjectRejection::NoContainer => f.write_str(
                "no Cortex container in the request's extensions; hint: serve the router through `App`, or add `Extension(container)`",
            ),
            InjectRejection::Resolve(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for InjectRejection {}

impl IntoResponse for InjectRejection {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "cannot resolve a handler argument");
        let mut response = (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"The server encountered an unexpected error."}"#,
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// The request's scope: the one already in its extensions, or a new one from the container there
/// (inserted so every later extractor of the request shares it).
fn request_scope(parts: &mut Parts) -> Result<RequestScope, InjectRejection> {
    if let Some(scope) = parts.extensions.get::<RequestScope>() {
        return Ok(scope.clone());
    }
    let container = parts
        .extensions
        .get::<Container>()
        .ok_or(InjectRejection::NoContainer)?;
    let scope = container.scope();
    parts.extensions.insert(scope.clone());
    Ok(scope)
}

/// Resolves `T` from the request's scope: request-scoped values are shared by every extractor and
/// middleware of one request, singletons by all requests.
///
/// ```
/// use axum::{Router, routing::get, Extension};
/// use cortex_di::{ContainerBuilder, Inject, Provider, Scope};
/// use tower::ServiceExt;
///
/// struct Greeting(&'static str);
///
/// async fn hello(greeting: Inject<Greeting>) -> &'static str {
///     greeting.0
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let container = ContainerBuilder::new()
///     .add(Provider::factory(|_| Ok(Greeting("hello"))).scope(Scope::Request))
///     .build()
///     .await
///     .unwrap();
/// let app = Router::new().route("/", get(hello)).layer(Extension(container));
/// let response = app.oneshot(http::Request::get("/").body(axum::body::Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # }
/// ```
impl<S, T> FromRequestParts<S> for Inject<T>
where
    S: Send + Sync,
    T: ?Sized + Send + Sync + 'static,
{
    type Rejection = InjectRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let scope = request_scope(parts)?;
        scope.resolve::<T>().await.map_err(InjectRejection::Resolve)
    }
}

/// The request's [`RequestScope`] itself, for resolving by hand or by name.
impl<S: Send + Sync> FromRequestParts<S> for RequestScope {
    type Rejection = InjectRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        request_scope(parts)
    }
}
