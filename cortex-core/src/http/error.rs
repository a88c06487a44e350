//! [`HttpError`], the one error type for handlers.

use std::convert::Infallible;
use std::fmt;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Serialize;
use validator::ValidationErrors;

use super::problem::Problem;
use super::request_context::current_request_id;
use super::validation::{FieldError, validation_problem};
use cortex_di::BoxError;

/// The detail of every 500 that hides its cause.
pub(crate) const INTERNAL_DETAIL: &str = "The server encountered an unexpected error.";

/// The key of the request id in the extension members of 5xx problems.
pub(crate) const REQUEST_ID: &str = "request_id";

/// The error type for handlers: a status and an RFC 9457 [`Problem`], answered as
/// `application/problem+json`.
///
/// Build one with a constructor named after its status ([`not_found`](Self::not_found),
/// [`bad_request`](Self::bad_request), …) or [`new`](Self::new); hide a server-side failure behind
/// [`internal`](Self::internal), which logs the cause and answers a generic 500; or convert with `?`
/// from the errors that have a `From` impl (`validator::ValidationErrors` → 422,
/// `cortex_di::Error`, `std::io::Error` and `serde_json::Error` → 500, axum's rejections → their
/// 4xx). For any other error, [`HttpResultExt`] picks the status at the call site.
///
/// A 5xx answer carries the request id (`request_id`, from the `x-request-id` header seen by
/// [`ProblemLayer`](crate::http::ProblemLayer)) and is logged with it, together with the cause.
///
/// ```
/// use axum::{Router, routing::get, body::Body};
/// use cortex_core::http::{HttpError, Json};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// async fn show(axum::extract::Path(id): axum::extract::Path<u32>) -> Result<Json<String>, HttpError> {
///     if id == 7 {
///         return Ok(Json("seven".into()));
///     }
///     Err(HttpError::not_found(format!("no user with id {id}")))
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app = Router::new().route("/users/{id}", get(show));
/// let response = app.oneshot(Request::get("/users/8").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), StatusCode::NOT_FOUND);
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
/// # }
/// ```
#[must_use]
pub struct HttpError {
    inner: Box<Inner>,
}

struct Inner {
    problem: Problem,
    headers: HeaderMap,
    source: Option<BoxError>,
}

impl HttpError {
    /// An error with this status and detail, of type `about:blank` (the title is the reason
    /// phrase). The detail is shown to the client as is, whatever the status.
    ///
    /// ```
    /// use cortex_core::http::HttpError;
    /// use http::StatusCode;
    ///
    /// let err = HttpError::new(StatusCode::PAYMENT_REQUIRED, "the trial has ended");
    /// assert_eq!(err.status(), StatusCode::PAYMENT_REQUIRED);
    /// assert_eq!(err.problem().title, "Payment Required");
    /// assert_eq!(err.problem().detail.as_deref(), Some("the trial has ended"));
    /// ```
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self::from_problem(Problem::new(status).with_detail(detail))
    }

    /// An error with this status and no detail.
    ///
    /// ```
    /// use cortex_core::http::HttpError;
    /// use http::StatusCode;
    ///
    /// let err = HttpError::from_status(StatusCode::GONE);
    /// assert_eq!(err.problem().detail, None);
    /// ```
    pub fn from_status(status: StatusCode) -> Self {
        Self::from_problem(Problem::new(status))
    }

    /// An error answering this problem (its status is the problem's).
    ///
    /// ```
    /// use cortex_core::http::{HttpError, Problem};
    /// use http::StatusCode;
    ///
    /// let err = HttpError::from_problem(Problem::new(StatusCode::CONFLICT).with_detail("taken"));
    /// assert_eq!(err.status(), StatusCode::CONFLICT);
    /// ```
    pub fn from_problem(problem: Problem) -> Self {
        HttpError {
            inner: Box::new(Inner {
                problem,
                headers: HeaderMap::new(),
                source: None,
            }),
        }
    }

    /// 400 Bad Request.
    ///
    /// ```
    /// # use cortex_core::http::HttpError;
    /// assert_eq!(HttpError::bad_request("`from` is after `to`").status(), 400);
    /// ```
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 401 Unauthorized. Add a `WWW-Authenticate` header with [`with_header`](Self::with_header).
    ///
    /// ```
    /// # use cortex_core::http::HttpError;
    /// use http::{HeaderValue, header};
    ///
    /// let err = HttpError::unauthorized("the token has expired")
    ///     .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    /// assert_eq!(err.status(), 401);
    /// ```
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 403 Forbidden.
    ///
    /// ```
    /// # use cortex_core::http::HttpError;
    /// assert_eq!(HttpError::forbidden("admins only").status(), 403);
    /// ```
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// 404 Not Found.
    ///
    /// ```
    /// # use cortex_core::http::HttpError;
    /// assert_eq!(HttpError::not_found("no user with id 7").status(), 404);
    /// ```
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 409 Conflict.
    ///
    /// ```
    /// # use cortex_core::http::HttpError;
    /// assert_eq!(HttpError::conflict("the email is taken").status(), 409);
    /// ```
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    /// 422 Unprocessable Content, for input that is well-formed but cannot be acted on. For
    /// field-level failures prefer [`validation`](Self::validation).
    ///
    /// ```
    /// # use cortex_core::http::HttpError;
    /// assert_eq!(HttpError::unprocessable("the cart is empty").status(), 422);
    /// ```
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    /// 422 with type [`problem_types::VALIDATION`](crate::http::problem_types::VALIDATION) and
    /// every field error under `errors`: what `Valid<…>` answers. Use it for checks a handler makes
    /// itself.
    ///
    /// ```
    /// use cortex_core::http::{FieldError, HttpError};
    ///
    /// let err = HttpError::validation(vec![FieldError::new("slug", "taken", "is already in use")]);
    /// assert_eq!(err.status(), 422);
    /// assert_eq!(err.problem().type_uri, "https://cortex.rs/problems/validation");
    /// assert_eq!(err.problem().extension("errors").unwrap()[0]["field"], "slug");
    /// ```
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::from_problem(validation_problem(errors))
    }

    /// 500 Internal Server Error that hides its cause: the client reads a generic detail and the
    /// request id; the cause is logged (with `tracing::error!`, with the request id) when the
    /// response is built, and stays available as [`source`](std::error::Error::source).
    ///
    /// ```
    /// use cortex_core::http::HttpError;
    ///
    /// let err = HttpError::internal(std::io::Error::other("disk /dev/sda1 is full"));
    /// assert_eq!(err.status(), 500);
    /// assert_eq!(err.problem().detail.as_deref(), Some("The server encountered an unexpected error."));
    /// assert!(std::error::Error::source(&err).unwrap().to_string().contains("sda1"));
    /// ```
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_DETAIL).with_source(cause)
    }

    /// Sets the problem type URI (keep the title in line with [`with_title`](Self::with_title)).
    ///
    /// ```
    /// # use cortex_core::http::HttpError;
    /// let err = HttpError::conflict("the email is taken")
    ///     .with_type("https://example.com/problems/email-taken")
    ///     .with_title("Email taken");
    /// assert_eq!(err.problem().title, "Email taken");
    /// ```
    pub fn with_type(mut self, type_uri: impl Into<String>) -> Self {
        self.inner.problem.type_uri = type_uri.into();
        self
    }

    /// Sets the title.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.inner.problem.title = title.into();
        self
    }

    /// Replaces the detail.
    ///
    /// ```
    /// # use cortex_core::http::HttpError;
    /// use http::StatusCode;
    ///
    /// let err = HttpError::from(StatusCode::NOT_FOUND).with_detail("no such order");
    /// assert_eq!(err.problem().detail.as_deref(), Some("no such order"));
    /// ```
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.inner.problem.detail = Some(detail.into());
        self
    }

    /// Adds an extension member to the problem.
    ///
    /// ```
    /// # use cortex_core::http::HttpError;
    /// let err = HttpError::conflict("out of stock").with_extension("sku", "A-113");
    /// assert_eq!(err.problem().extension("sku").unwrap(), "A-113");
    /// ```
    pub fn with_extension(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.inner.problem = self.inner.problem.with_extension(key, value);
        self
    }

    /// Adds a response header (`WWW-Authenticate`, `Retry-After`, …).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.inner.headers.append(name, value);
        self
    }

    /// Attaches the underlying error: logged when the response is built (at `error` level for a
    /// 5xx, `debug` otherwise), never shown to the client.
    ///
    /// ```
    /// # use cortex_core::http::HttpError;
    /// let cause = std::io::Error::other("connection reset");
    /// let err = HttpError::new(http::StatusCode::BAD_GATEWAY, "the payment provider is unavailable").with_source(cause);
    /// assert!(std::error::Error::source(&err).is_some());
    /// ```
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.inner.problem.status_code()
    }

    /// The problem answered.
    pub fn problem(&self) -> &Problem {
        &self.inner.problem
    }

    /// The problem answered, to change it in place.
    pub fn problem_mut(&mut self) -> &mut Problem {
        &mut self.inner.problem
    }

    /// The extra response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// The problem, dropping headers and cause.
    pub fn into_problem(self) -> Problem {
        self.inner.problem
    }
}

impl fmt::Debug for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpError")
            .field("problem", &self.inner.problem)
            .field("headers", &self.inner.headers)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = &self.inner.problem;
        write!(f, "{} {}", problem.status, problem.title)?;
        if let Some(detail) = &problem.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let Inner {
            mut problem,
            headers,
            source,
        } = *self.inner;
        if problem.status_code().is_server_error() {
            let request_id = current_request_id();
            match &source {
                Some(cause) => tracing::error!(
                    request_id = request_id.as_deref().unwrap_or("-"),
                    status = problem.status,
                    error = %cause,
                    "request failed"
                ),
                None => tracing::error!(
                    request_id = request_id.as_deref().unwrap_or("-"),
                    status = problem.status,
                    detail = problem.detail.as_deref().unwrap_or(""),
                    "request failed"
                ),
            }
            if let Some(id) = request_id {
                problem.extensions.entry(REQUEST_ID).or_insert(id.into());
            }
        } else if let Some(cause) = &source {
            tracing::debug!(status = problem.status, error = %cause, "request rejected");
        }
        let mut response = problem.into_response();
        for (name, value) in &headers {
            response.headers_mut().append(name, value.clone());
        }
        response
    }
}

impl From<Problem> for HttpError {
    fn from(problem: Problem) -> Self {
        HttpError::from_problem(problem)
    }
}

impl From<StatusCode> for HttpError {
    fn from(status: StatusCode) -> Self {
        HttpError::from_status(status)
    }
}

/// 422 validation problem listing every field error (see [`FieldError::from_validation`]).
impl From<ValidationErrors> for HttpError {
    fn from(errors: ValidationErrors) -> Self {
        HttpError::validation(FieldError::from_validation(&errors))
    }
}

/// A container failure at request time is a server bug: 500, cause logged.
impl From<cortex_di::Error> for HttpError {
    fn from(error: cortex_di::Error) -> Self {
        HttpError::internal(error)
    }
}

/// 500, cause logged. Map client-caused I/O failures explicitly with [`HttpResultExt::http_err`].
impl From<std::io::Error> for HttpError {
    fn from(error: std::io::Error) -> Self {
        HttpError::internal(error)
    }
}

/// 500, cause logged: JSON handled inside a handler is the server's. For JSON from the client, use
/// the [`Json`](crate::http::Json) extractor or [`HttpResultExt::http_err`] with a 4xx.
impl From<serde_json::Error> for HttpError {
    fn from(error: serde_json::Error) -> Self {
        HttpError::internal(error)
    }
}

impl From<Infallible> for HttpError {
    fn from(never: Infallible) -> Self {
        match never {}
    }
}

/// Turns any `Result` into a `Result<T, HttpError>` with the status chosen at the call site.
///
/// ```
/// use cortex_core::http::{HttpError, HttpResultExt};
/// use http::StatusCode;
///
/// fn parse_page(raw: &str) -> Result<u32, HttpError> {
///     raw.parse::<u32>().http_err(StatusCode::BAD_REQUEST)
/// }
///
/// let err = parse_page("two").unwrap_err();
/// assert_eq!(err.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(err.problem().detail.as_deref(), Some("invalid digit found in string"));
/// ```
pub trait HttpResultExt<T> {
    /// Maps the error to `status`. For a 4xx the error's message becomes the detail; for a 5xx
    /// the detail is generic and the error is only logged.
    fn http_err(self, status: StatusCode) -> Result<T, HttpError>;

    /// Maps the error to `status` with this detail; the error is kept as the (logged) cause.
    ///
    /// ```
    /// use cortex_core::http::HttpResultExt;
    /// use http::StatusCode;
    ///
    /// let err = "x".parse::<u8>().http_err_with(StatusCode::BAD_REQUEST, "`limit` must be a number").unwrap_err();
    /// assert_eq!(err.problem().detail.as_deref(), Some("`limit` must be a number"));
    /// ```
    fn http_err_with(self, status: StatusCode, detail: impl Into<String>) -> Result<T, HttpError>;

    /// Maps the error to [`HttpError::internal`]: a generic 500, cause logged.
    ///
    /// ```
    /// use cortex_core::http::HttpResultExt;
    ///
    /// let err = std::fs::read("/definitely/not/here").internal_err().unwrap_err();
    /// assert_eq!(err.status(), 500);
    /// ```
    fn internal_err(self) -> Result<T, HttpError>;
}

impl<T, E> HttpResultExt<T> for Result<T, E>
where
    E: Into<BoxError>,
{
    fn http_err(self, status: StatusCode) -> Result<T, HttpError> {
        self.map_err(|error| {
            let error = error.into();
            if status.is_server_error() {
                HttpError::new(status, INTERNAL_DETAIL).with_source(error)
            } else {
                HttpError::new(status, error.to_string()).with_source(error)
            }
        })
    }

    fn http_err_with(self, status: StatusCode, detail: impl Into<String>) -> Result<T, HttpError> {
        self.map_err(|error| HttpError::new(status, detail).with_source(error))
    }

    fn internal_err(self) -> Result<T, HttpError> {
        self.map_err(HttpError::internal)
    }
}

/// Turns a missing value into a 404.
///
/// ```
/// use cortex_core::http::HttpOptionExt;
///
/// let users = ["ada", "grace"];
/// let err = users.get(7).or_not_found("no user with id 7").unwrap_err();
/// assert_eq!(err.status(), 404);
/// ```
pub trait HttpOptionExt<T> {
    /// `Some(value)` → `Ok(value)`, `None` → [`HttpError::not_found`] with this detail.
    fn or_not_found(self, detail: impl Into<String>) -> Result<T, HttpError>;
}

impl<T> HttpOptionExt<T> for Option<T> {
    fn or_not_found(self, detail: impl Into<String>) -> Result<T, HttpError> {
        self.ok_or_else(|| HttpError::not_found(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_status_title_and_detail() {
        assert_eq!(
            HttpError::not_found("no user 7").to_string(),
            "404 Not Found: no user 7"
        );
        assert_eq!(
            HttpError::from_status(StatusCode::GONE).to_string(),
            "410 Gone"
        );
    }

    #[test]
    fn an_http_error_is_one_pointer_wide() {
        assert_eq!(
            std::mem::size_of::<HttpError>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn five_hundreds_from_http_err_hide_the_message() {
        let err = Err::<(), _>("db password is hunter2")
            .http_err(StatusCode::SERVICE_UNAVAILABLE)
            .unwrap_err();
        assert_eq!(err.problem().detail.as_deref(), Some(INTERNAL_DETAIL));
        let err = Err::<(), _>("name is taken")
            .http_err(StatusCode::CONFLICT)
            .unwrap_err();
        assert_eq!(err.problem().detail.as_deref(), Some("name is taken"));
    }
}
