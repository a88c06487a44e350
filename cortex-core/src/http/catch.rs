//! The safety net: [`ProblemLayer`] (panics and stray plain-text or empty error responses become
//! problem details, and the request id is in scope for logging), [`PanicHandler`] for tower-http's
//! `CatchPanicLayer`, and the 404/405 fallbacks.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::Router;
use axum::body::Body;
use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use http_body::Body as HttpBody;
use http_body_util::{BodyExt, Limited};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use cortex_di::BoxError;

use super::error::{INTERNAL_DETAIL, REQUEST_ID};
use super::problem::{PROBLEM_JSON, Problem};
use super::request_context::{Scoped, call_scoped, current_request_id_value};
use super::validation::{MAX_ECHO, clip};

/// The request header the request id is read from, unless [`ProblemLayer::request_id_header`]
/// says otherwise.
const REQUEST_ID_HEADER: &str = "x-request-id";

/// The largest plain-text error body [`ProblemLayer`] reads to turn into a detail.
const MAX_TEXT_BODY: u64 = 4096;

/// Makes every failure an `application/problem+json` answer and puts the request id in scope.
///
/// - **Panics** in the inner service (while creating or polling its future) answer 500 with a
///   generic detail and `request_id`; the panic message is logged with `tracing::error!` together
///   with the request id, and the service keeps serving.
/// - **Error responses that are not problems** — status 4xx/5xx with an empty body, or a small
///   `text/plain` body, such as axum's own rejections, a bare `StatusCode::NOT_FOUND`, or
///   tower-http's 408 timeout — are rewritten as problems of type `about:blank`, keeping the
///   status and headers (`Allow`, `Retry-After`, …). A 4xx keeps its text as `detail`; a 5xx
///   gets a generic one (and its text is logged), so internals do not leak. Other bodies (JSON,
///   HTML, …) are left alone.
/// - **The request id** (the `x-request-id` request header, as set by the request-id middleware
///   that runs before this layer) is available to the handler through
///   [`current_request_id`](super::current_request_id), and 5xx problems built from
///   [`HttpError`](crate::http::HttpError) carry it.
///
/// Success responses (status < 400) pass through untouched: one status comparison and no body
/// access; the layer adds no allocation per request.
///
/// Put it inside the request-id layer and outside everything that can fail; with axum,
/// `Router::layer(ProblemLayer::new())` covers every route and the fallbacks.
///
/// ```
/// use axum::{Router, routing::get, body::Body};
/// use cortex_core::http::ProblemLayer;
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// async fn boom() -> &'static str {
///     panic!("the database password is hunter2")
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app = Router::new()
///     .route("/boom", get(boom))
///     .route("/teapot", get(|| async { (StatusCode::IM_A_TEAPOT, "short and stout") }))
///     .layer(ProblemLayer::new());
///
/// let response = app.clone().oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
/// let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
/// assert!(!String::from_utf8_lossy(&body).contains("hunter2"));
///
/// let response = app.oneshot(Request::get("/teapot").body(Body::empty()).unwrap()).await.unwrap();
/// let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
/// let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
/// assert_eq!(problem["detail"], "short and stout");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ProblemLayer {
    request_id_header: HeaderName,
}

impl ProblemLayer {
    /// The layer, reading the request id from `x-request-id`.
    pub fn new() -> Self {
        ProblemLayer {
            request_id_header: HeaderName::from_static(REQUEST_ID_HEADER),
        }
    }

    /// Reads the request id from this header instead.
    ///
    /// ```
    /// use cortex_core::http::ProblemLayer;
    /// use http::HeaderName;
    ///
    /// let layer = ProblemLayer::new().request_id_header(HeaderName::from_static("x-correlation-id"));
    /// # let _ = layer;
    /// ```
    pub fn request_id_header(mut self, name: HeaderName) -> Self {
        self.request_id_header = name;
        self
    }

    /// The header the request id is read from.
    pub(crate) fn header(&self) -> &HeaderName {
        &self.request_id_header
    }
}

impl Default for ProblemLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for ProblemLayer {
    type Service = ProblemService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ProblemService {
            inner,
            request_id_header: self.request_id_header.clone(),
        }
    }
}

/// The service of [`ProblemLayer`].
#[derive(Debug, Clone)]
pub struct ProblemService<S> {
    inner: S,
    request_id_header: HeaderName,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ProblemService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ProblemFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let mut request_id = req.headers().get(&self.request_id_header).cloned();
        let inner = &mut self.inner;
        let called = call_scoped(&mut request_id, || inner.call(req));
        let state = match called {
            Ok(future) => State::Running {
                future: Scoped::new(request_id.clone(), future),
            },
            Err(panic) => State::Done {
                response: Some(panic_response(panic, request_id.as_ref())),
            },
        };
        ProblemFuture { state, request_id }
    }
}

pin_project! {
    /// The response future of [`ProblemService`].
    pub struct ProblemFuture<F> {
        #[pin]
        state: State<F>,
        request_id: Option<HeaderValue>,
    }
}

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] future: Scoped<F> },
        Reading { future: BoxFuture },
        Done { response: Option<Response> },
    }
}

impl<F, ResBody, E> Future for ProblemFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let response = match this.state.as_mut().project() {
            StateProj::Running { future } => match ready!(future.poll(cx)) {
                Ok(Ok(response)) => response,
                Ok(Err(error)) => return Poll::Ready(Err(error)),
                Err(panic) => {
                    return Poll::Ready(Ok(panic_response(panic, this.request_id.as_ref())));
                }
            },
            StateProj::Reading { future } => return future.as_mut().poll(cx).map(Ok),
            StateProj::Done { response } => {
                return Poll::Ready(Ok(response
                    .take()
                    .expect("ProblemFuture polled after completion")));
            }
        };
        match needs_problem(&response) {
            None => Poll::Ready(Ok(response.map(Body::new))),
            Some(ErrorBody::Empty) => {
                let (parts, _) = response.into_parts();
                Poll::Ready(Ok(rewrite(parts, None, this.request_id.as_ref())))
            }
            Some(ErrorBody::Text) => {
                this.state.set(State::Reading {
                    future: read_and_rewrite(response, this.request_id.clone()),
                });
                match this.state.project() {
                    StateProj::Reading { future } => future.as_mut().poll(cx).map(Ok),
                    _ => unreachable!("the state was just set"),
                }
            }
        }
    }
}

/// Reads a short plain-text error body and answers the problem built from it.
fn read_and_rewrite<B>(response: Response<B>, request_id: Option<HeaderValue>) -> BoxFuture
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    Box::pin(async move {
        let (parts, body) = response.into_parts();
        let text = match Limited::new(body, MAX_TEXT_BODY as usize).collect().await {
            Ok(collected) => Some(String::from_utf8_lossy(&collected.to_bytes()).into_owned()),
            Err(_) => None,
        };
        rewrite(parts, text, request_id.as_ref())
    })
}

/// What became of an inner service's answer, as [`ProblemLayer`] answers it.
pub(crate) enum Finished {
    /// The response (a problem, if it had to become one).
    Response(Response),
    /// A plain-text error whose body is being read to become a problem's detail.
    Reading(BoxFuture),
}

/// [`ProblemLayer`]'s answer to an inner service's outcome: a panic's problem, an error response
/// made a problem (or being made one), or the response as it is. For the middleware stack, which
/// does the layer's work in its own future.
pub(crate) fn finish(
    outcome: Result<Response, Box<dyn Any + Send>>,
    request_id: Option<&HeaderValue>,
) -> Finished {
    let response = match outcome {
        Ok(response) => response,
        Err(panic) => return Finished::Response(panic_response(panic, request_id)),
    };
    match needs_problem(&response) {
        None => Finished::Response(response),
        Some(ErrorBody::Empty) => {
            let (parts, _) = response.into_parts();
            Finished::Response(rewrite(parts, None, request_id))
        }
        Some(ErrorBody::Text) => Finished::Reading(read_and_rewrite(response, request_id.cloned())),
    }
}

/// What an error response's body is, when it must become a problem.
enum ErrorBody {
    /// Nothing (or nothing worth reading).
    Empty,
    /// Short plain text, to read.
    Text,
}

fn needs_problem<B: HttpBody>(response: &Response<B>) -> Option<ErrorBody> {
    if response.status().as_u16() < 400 {
        return None;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes());
    let size = response.body().size_hint();
    if size.exact() == Some(0) {
        return match content_type {
            Some(ct) if starts_with_ignore_case(ct, PROBLEM_JSON.as_bytes()) => None,
            _ => Some(ErrorBody::Empty),
        };
    }
    match content_type {
        Some(ct) if starts_with_ignore_case(ct, b"text/plain") => {
            if size.upper().is_some_and(|upper| upper <= MAX_TEXT_BODY) {
                Some(ErrorBody::Text)
            } else {
                Some(ErrorBody::Empty)
            }
        }
        _ => None,
    }
}

fn starts_with_ignore_case(value: &[u8], prefix: &[u8]) -> bool {
    value.len() >= prefix.len() && value[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The problem for an error response that was not one, keeping its status, headers and extensions.
fn rewrite(
    mut parts: http::response::Parts,
    text: Option<String>,
    request_id: Option<&HeaderValue>,
) -> Response {
    let status = parts.status;
    let text = text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let mut problem = Problem::new(status);
    if status.is_server_error() {
        if let Some(text) = text {
            tracing::error!(
                request_id = request_id_str(request_id),
                status = status.as_u16(),
                body = text,
                "an inner service answered a plain-text server error"
            );
        }
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            problem = problem.with_detail(INTERNAL_DETAIL);
        }
        if let Some(id) = request_id.and_then(|v| v.to_str().ok()) {
            problem = problem.with_extension(REQUEST_ID, id);
        }
    } else if let Some(text) = text {
        problem = problem.with_detail(clip(text, MAX_ECHO * 4));
    }
    let (problem_parts, body) = problem.into_response().into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(content_type) = problem_parts.headers.get(header::CONTENT_TYPE) {
        parts
            .headers
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    Response::from_parts(parts, body)
}

fn request_id_str(request_id: Option<&HeaderValue>) -> &str {
    request_id.and_then(|v| v.to_str().ok()).unwrap_or("-")
}

/// The 500 problem for a panic, logged with the request id.
pub(crate) fn panic_response(
    panic: Box<dyn Any + Send>,
    request_id: Option<&HeaderValue>,
) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(the panic payload is not a string)");
    tracing::error!(
        request_id = request_id_str(request_id),
        panic = message,
        "a handler panicked"
    );
    let mut problem = Problem::new(StatusCode::INTERNAL_SERVER_ERROR).with_detail(INTERNAL_DETAIL);
    if let Some(id) = request_id.and_then(|v| v.to_str().ok()) {
        problem = problem.with_extension(REQUEST_ID, id);
    }
    problem.into_response()
}

/// The panic response of [`ProblemLayer`], for tower-http's `CatchPanicLayer` when that is the
/// layer you use: a 500 problem with a generic detail, the panic logged with `tracing::error!`.
///
/// The request id is the one in scope ([`current_request_id`](super::current_request_id)), so
/// this works best inside a [`ProblemLayer`] — which catches panics itself; prefer it alone.
///
/// ```
/// use axum::{Router, routing::get};
/// use cortex_core::http::PanicHandler;
/// use tower_http::catch_panic::CatchPanicLayer;
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "ok" }))
///     .layer(CatchPanicLayer::custom(PanicHandler));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PanicHandler;

impl tower_http::catch_panic::ResponseForPanic for PanicHandler {
    type ResponseBody = Body;

    fn response_for_panic(&mut self, panic: Box<dyn Any + Send + 'static>) -> Response {
        panic_response(panic, current_request_id_value().as_ref())
    }
}

/// The 404 problem for a path no route matches: `No route for GET /nope.`
///
/// Installed by [`problem_fallbacks`]; usable as `Router::fallback(not_found)`.
///
/// ```
/// use axum::{Router, body::Body};
/// use cortex_core::http::not_found;
/// use http::Request;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app: Router = Router::new().fallback(not_found);
/// let response = app.oneshot(Request::get("/nope").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), 404);
/// # }
/// ```
pub async fn not_found(method: Method, OriginalUri(uri): OriginalUri) -> Problem {
    Problem::new(StatusCode::NOT_FOUND).with_detail(format!(
        "No route for {method} {}.",
        clip(uri.path(), MAX_ECHO)
    ))
}

/// The 405 problem for a path whose route does not take the method: `POST is not allowed on
/// /users; see the Allow header.` axum adds the `Allow` header.
///
/// Installed by [`problem_fallbacks`]; usable as `Router::method_not_allowed_fallback`.
pub async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> Problem {
    Problem::new(StatusCode::METHOD_NOT_ALLOWED).with_detail(format!(
        "{method} is not allowed on {}; see the `Allow` header.",
        clip(uri.path(), MAX_ECHO)
    ))
}

/// Sets [`not_found`] as the router's fallback and [`method_not_allowed`] as the fallback of
/// every route registered so far: call it after adding the routes.
///
/// ```
/// use axum::{Router, routing::get, body::Body};
/// use cortex_core::http::problem_fallbacks;
/// use http::Request;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app: Router = problem_fallbacks(Router::new().route("/users", get(|| async { "[]" })));
/// let response = app.oneshot(Request::delete("/users").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), 405);
/// assert_eq!(response.headers()["allow"], "GET,HEAD");
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
/// # }
/// ```
pub fn problem_fallbacks<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, content_type: Option<&'static str>, body: &'static str) -> Response {
        let mut builder = Response::builder().status(status);
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        builder.body(Body::from(body)).unwrap()
    }

    #[test]
    fn successes_and_problems_and_rich_bodies_are_left_alone() {
        assert!(needs_problem(&response(200, None, "")).is_none());
        assert!(needs_problem(&response(204, None, "")).is_none());
        assert!(needs_problem(&response(404, Some(PROBLEM_JSON), "{}")).is_none());
        assert!(needs_problem(&response(400, Some("application/json"), "{\"a\":1}")).is_none());
        assert!(needs_problem(&response(500, Some("text/html"), "<h1>x</h1>")).is_none());
    }

    #[test]
    fn empty_and_plain_text_errors_become_problems() {
        assert!(matches!(
            needs_problem(&response(404, None, "")),
            Some(ErrorBody::Empty)
        ));
        assert!(matches!(
            needs_problem(&response(415, Some("application/json"), "")),
            Some(ErrorBody::Empty)
        ));
        assert!(matches!(
            needs_problem(&response(400, Some("Text/Plain; charset=utf-8"), "bad")),
            Some(ErrorBody::Text)
        ));
        let big: &'static str = Box::leak("x".repeat(5000).into_boxed_str());
        assert!(matches!(
            needs_problem(&response(400, Some("text/plain"), big)),
            Some(ErrorBody::Empty)
        ));
    }
}
