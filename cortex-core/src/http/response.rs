//! The small success responses that go with [`HttpError`](super::HttpError): [`Created`] and
//! [`NoContent`].

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use super::extract::Json;

/// 201 Created with a JSON body and, when given, a `Location` header.
///
/// ```
/// use axum::response::IntoResponse;
/// use cortex_core::http::Created;
///
/// let response = Created::at("/users/7", serde_json::json!({ "id": 7 })).into_response();
/// assert_eq!(response.status(), 201);
/// assert_eq!(response.headers()["location"], "/users/7");
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Created<T> {
    /// The created resource, answered as JSON.
    pub body: T,
    /// Where the resource lives, answered as `Location`.
    pub location: Option<String>,
}

impl<T> Created<T> {
    /// 201 with this body and no `Location`.
    pub fn new(body: T) -> Self {
        Created {
            body,
            location: None,
        }
    }

    /// 201 with this body and `Location: location`.
    pub fn at(location: impl Into<String>, body: T) -> Self {
        Created {
            body,
            location: Some(location.into()),
        }
    }
}

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        let mut response = Json(self.body).into_response();
        if response.status() != StatusCode::OK {
            return response; // serialization failed: already a 500 problem
        }
        *response.status_mut() = StatusCode::CREATED;
        if let Some(location) = self.location {
            match HeaderValue::try_from(location) {
                Ok(value) => {
                    response.headers_mut().insert(header::LOCATION, value);
                }
                Err(error) => {
                    tracing::error!(%error, "`Created` location is not a valid header value; answering without it")
                }
            }
        }
        response
    }
}

/// 204 No Content.
///
/// ```
/// use axum::response::IntoResponse;
/// use cortex_core::http::NoContent;
///
/// assert_eq!(NoContent.into_response().status(), 204);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoContent;

impl IntoResponse for NoContent {
    fn into_response(self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }
}
