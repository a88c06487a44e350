//! RFC 9457 problem details (`application/problem+json`), the body of every error response.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The problem type URIs Cortex answers with, stable across releases so clients can match on them.
///
/// Each is `https://cortex.rs/problems/<name>`. Problems that the status code fully describes
/// (404, 405, 413, 415, 500, …) use `about:blank` instead, as RFC 9457 recommends, with the
/// status's reason phrase as `title`.
///
/// | constant | status | title | extension members |
/// | --- | --- | --- | --- |
/// | [`VALIDATION`] | 422 | `Validation failed` | `errors` |
/// | [`MALFORMED_BODY`] | 400 | `Malformed request body` | `line`, `column` (JSON) |
/// | [`INVALID_BODY`] | 422 | `Invalid request body` | `errors`, and `line`, `column` (JSON) |
/// | [`INVALID_PATH`] | 400 | `Invalid path parameter` | `errors` |
/// | [`INVALID_QUERY`] | 400 | `Invalid query string` | `errors` |
///
/// `errors` is a list of [`FieldError`](crate::http::FieldError)s: `{ "field", "code", "message" }`.
///
/// ```
/// use cortex_core::http::problem_types;
///
/// assert_eq!(problem_types::VALIDATION, "https://cortex.rs/problems/validation");
/// ```
///
/// [`VALIDATION`]: problem_types::VALIDATION
/// [`MALFORMED_BODY`]: problem_types::MALFORMED_BODY
/// [`INVALID_BODY`]: problem_types::INVALID_BODY
/// [`INVALID_PATH`]: problem_types::INVALID_PATH
/// [`INVALID_QUERY`]: problem_types::INVALID_QUERY
pub mod problem_types {
    /// A request value parsed but broke its validation rules (`Valid<…>`); 422.
    pub const VALIDATION: &str = "https://cortex.rs/problems/validation";
    /// The request body is not syntactically valid (for example malformed JSON); 400.
    pub const MALFORMED_BODY: &str = "https://cortex.rs/problems/malformed-body";
    /// The request body is well-formed but does not match the expected shape (a missing field, a
    /// string where a number belongs); 422.
    pub const INVALID_BODY: &str = "https://cortex.rs/problems/invalid-body";
    /// A path parameter could not be parsed into its type; 400.
    pub const INVALID_PATH: &str = "https://cortex.rs/problems/invalid-path-parameter";
    /// The query string could not be parsed into its type; 400.
    pub const INVALID_QUERY: &str = "https://cortex.rs/problems/invalid-query";

    /// The title that goes with a Cortex problem type (`None` for any other type).
    pub(crate) fn title(type_uri: &str) -> Option<&'static str> {
        Some(match type_uri {
            VALIDATION => "Validation failed",
            MALFORMED_BODY => "Malformed request body",
            INVALID_BODY => "Invalid request body",
            INVALID_PATH => "Invalid path parameter",
            INVALID_QUERY => "Invalid query string",
            _ => return None,
        })
    }
}

/// An RFC 9457 problem details object.
///
/// Every error Cortex answers with — validation failures, malformed bodies, unknown routes, panics
/// — is one of these, so clients parse one shape.
///
/// ```
/// use cortex_core::http::Problem;
/// use http::StatusCode;
///
/// let problem = Problem::new(StatusCode::NOT_FOUND).with_detail("no user with id 7");
/// assert_eq!(problem.title, "Not Found");
/// let json = serde_json::to_value(&problem).unwrap();
/// assert_eq!(json["type"], "about:blank");
/// assert_eq!(json["status"], 404);
/// assert_eq!(json["detail"], "no user with id 7");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI reference identifying the problem type; `about:blank` when the status says it all.
    #[serde(rename = "type", default = "about_blank")]
    pub type_uri: String,
    /// A short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// An explanation specific to this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A URI reference identifying this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Extension members (for example `errors` for validation failures).
    #[serde(flatten)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

fn about_blank() -> String {
    "about:blank".to_string()
}

impl Problem {
    /// A problem of type `about:blank` whose title is the status's reason phrase.
    pub fn new(status: StatusCode) -> Self {
        Problem {
            type_uri: about_blank(),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: None,
            instance: None,
            extensions: serde_json::Map::new(),
        }
    }

    /// A problem of one of Cortex's [`problem_types`], with that type's title.
    ///
    /// ```
    /// use cortex_core::http::{Problem, problem_types};
    /// use http::StatusCode;
    ///
    /// let p = Problem::typed(StatusCode::BAD_REQUEST, problem_types::INVALID_QUERY);
    /// assert_eq!(p.title, "Invalid query string");
    /// ```
    pub fn typed(status: StatusCode, type_uri: &str) -> Self {
        let problem = Problem::new(status).with_type(type_uri);
        match problem_types::title(type_uri) {
            Some(title) => problem.with_title(title),
            None => problem,
        }
    }

    /// Sets the occurrence-specific explanation.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Sets the problem type URI (and keeps the title unless changed with [`with_title`](Self::with_title)).
    pub fn with_type(mut self, type_uri: impl Into<String>) -> Self {
        self.type_uri = type_uri.into();
        self
    }

    /// Sets the title.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Sets the instance URI.
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// Adds an extension member.
    pub fn with_extension(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.extensions.insert(key.into(), value);
        self
    }

    /// The extension member `key`, if set.
    ///
    /// ```
    /// use cortex_core::http::Problem;
    /// use http::StatusCode;
    ///
    /// let p = Problem::new(StatusCode::BAD_REQUEST).with_extension("line", 3);
    /// assert_eq!(p.extension("line"), Some(&serde_json::json!(3)));
    /// ```
    pub fn extension(&self, key: &str) -> Option<&serde_json::Value> {
        self.extensions.get(key)
    }

    /// The status as a [`StatusCode`] (500 if the stored number is not a valid status).
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self)
            .unwrap_or_else(|_| b"{\"title\":\"Internal Server Error\",\"status\":500}".to_vec());
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_answers_with_its_status_and_media_type() {
        let response = Problem::new(StatusCode::UNPROCESSABLE_ENTITY).into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }

    #[test]
    fn extensions_are_flattened_into_the_object() {
        let p = Problem::new(StatusCode::BAD_REQUEST).with_extension("errors", vec!["a"]);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["errors"][0], "a");
        let back: Problem = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
    }
}
