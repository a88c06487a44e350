//! CORS: preflights answered by tower-http's `Cors`, simple cross-origin responses decorated with
//! precomputed headers, nothing at all for requests without `Origin`.
//!
//! tower-http's service builds a header map and the `Vary` value for every request, `Origin` or
//! not (its cost: docs/src/performance.md#why-the-stack-is-shaped-as-it-is), and answers
//! preflights from origins not on the list with `200` and no CORS headers, which browsers report
//! as an opaque network error. Here preflights from listed origins go through tower-http (rare:
//! browsers cache them for `max_age`), preflights from other origins get `403` problem details,
//! and the headers of a simple cross-origin response (the same ones tower-http would send) are
//! computed once at startup.

use std::convert::Infallible;
use std::future::Ready;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use tower::{Layer, Service, ServiceExt};
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};

use super::config::{CorsConfig, static_value};
use crate::http::Problem;

/// The `Vary` value of CORS responses (tower-http's).
static VARY_CORS: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);
/// The `Vary` value added to responses to requests without `Origin` while CORS is on.
pub(crate) static VARY_ORIGIN: HeaderValue = HeaderValue::from_static("origin");

pub(crate) struct CorsShared {
    /// Answers preflights.
    layer: CorsLayer,
    /// `None` allows any origin.
    origins: Option<Box<[HeaderValue]>>,
    credentials: bool,
    expose: Option<HeaderValue>,
}

/// What CORS makes of a request.
pub(crate) enum CorsStep {
    /// Not a cross-origin request: add `Vary: Origin`.
    NoOrigin,
    /// A simple (or actual) cross-origin request from this origin: decorate the response.
    Simple(HeaderValue),
    /// A preflight, answered here.
    Answer(Response),
}

impl CorsShared {
    /// Built from a validated configuration; `None` when CORS is off.
    pub(crate) fn new(config: &CorsConfig) -> Option<Self> {
        if !config.is_enabled() {
            return None;
        }
        let any = |list: &[String]| list.iter().any(|v| v == "*");
        let names = |list: &[String]| -> Vec<HeaderName> {
            list.iter()
                .map(|h| HeaderName::from_bytes(h.as_bytes()).expect("validated"))
                .collect()
        };

        let origins: Option<Box<[HeaderValue]>> = (!any(&config.allow_origins)).then(|| {
            config
                .allow_origins
                .iter()
                .map(|o| HeaderValue::from_str(o).expect("validated"))
                .collect()
        });
        let allow_origin = match &origins {
            None => AllowOrigin::any(),
            Some(list) => AllowOrigin::list(list.iter().cloned()),
        };
        let allow_methods = if any(&config.allow_methods) {
            AllowMethods::any()
        } else {
            AllowMethods::list(
                config
                    .allow_methods
                    .iter()
                    .map(|m| Method::from_bytes(m.as_bytes()).expect("validated")),
            )
        };
        let allow_headers = if any(&config.allow_headers) {
            AllowHeaders::any()
        } else {
            AllowHeaders::list(names(&config.allow_headers))
        };
        let (expose_headers, expose) = if any(&config.expose_headers) {
            (ExposeHeaders::any(), Some(HeaderValue::from_static("*")))
        } else {
            let list = names(&config.expose_headers);
            let joined = list
                .iter()
                .map(HeaderName::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            (
                ExposeHeaders::list(list),
                (!joined.is_empty()).then(|| static_value(&joined)),
            )
        };

        let layer = CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods(allow_methods)
            .allow_headers(allow_headers)
            .expose_headers(expose_headers)
            .allow_credentials(config.allow_credentials)
            .max_age(config.max_age);
        Some(CorsShared {
            layer,
            origins,
            credentials: config.allow_credentials,
            expose,
        })
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        self.origins
            .as_ref()
            .is_none_or(|list| list.contains(origin))
    }

    pub(crate) fn on_request(&self, req: &Request) -> CorsStep {
        let Some(origin) = req.headers().get(ORIGIN) else {
            return CorsStep::NoOrigin;
        };
        if req.method() != Method::OPTIONS
            || !req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD)
        {
            return CorsStep::Simple(origin.clone());
        }
        if !self.allows(origin) {
            let detail = format!(
                "origin {} is not allowed to call this API",
                String::from_utf8_lossy(origin.as_bytes())
            );
            let mut response = Problem::new(StatusCode::FORBIDDEN)
                .with_detail(detail)
                .into_response();
            response.headers_mut().append(VARY, VARY_CORS.clone());
            return CorsStep::Answer(response);
        }
        // tower-http answers preflights without calling the inner service.
        let mut preflight = http::Request::new(axum::body::Body::empty());
        *preflight.method_mut() = Method::OPTIONS;
        *preflight.uri_mut() = req.uri().clone();
        for name in [
            ORIGIN,
            ACCESS_CONTROL_REQUEST_METHOD,
            ACCESS_CONTROL_REQUEST_HEADERS,
        ] {
            for value in req.headers().get_all(&name) {
                preflight.headers_mut().append(name.clone(), value.clone());
            }
        }
        let answer = self
            .layer
            .layer(NotCalled)
            .oneshot(preflight)
            .now_or_never();
        match answer {
            Some(Ok(response)) => CorsStep::Answer(response),
            Some(Err(never)) => match never {},
            None => unreachable!("tower-http answers preflights at once"),
        }
    }

    /// The headers of a simple cross-origin response, as tower-http sends them.
    pub(crate) fn decorate(&self, origin: &HeaderValue, response: &mut Response) {
        let headers = response.headers_mut();
        headers.append(VARY, VARY_CORS.clone());
        if !self.allows(origin) {
            return;
        }
        let allow_origin = if self.origins.is_some() {
            origin.clone()
        } else {
            HeaderValue::from_static("*")
        };
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        if self.credentials {
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(expose) = &self.expose {
            headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
        }
    }
}

/// The inner service of preflight answers; tower-http never calls it.
#[derive(Clone, Copy)]
struct NotCalled;

impl Service<Request> for NotCalled {
    type Response = Response;
    type Error = Infallible;
    type Future = Ready<Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request) -> Self::Future {
        std::future::ready(Ok(StatusCode::NO_CONTENT.into_response()))
    }
}
