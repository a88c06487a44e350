//! CORS: tower-http's `Cors`, behind a gate that skips it for requests without `Origin`.
//!
//! tower-http's service builds a header map and the `Vary` value on every request, `Origin` or
//! not, and its service (with its lists) would be cloned per request by the router. The gate
//! keeps the configured layer behind an `Arc`, builds the `Cors` service only for cross-origin
//! requests, answers preflights from origins not on the list with `403` problem details (tower-http
//! answers `200` without CORS headers, which browsers report as an opaque network error), and
//! adds `Vary: Origin` to the other responses so shared caches keep the variants apart.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};

use super::config::CorsConfig;
use crate::http::Problem;

pub(crate) struct CorsShared {
    layer: CorsLayer,
    /// `None` allows any origin.
    origins: Option<Arc<[HeaderValue]>>,
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

        let origins: Option<Arc<[HeaderValue]>> = (!any(&config.allow_origins)).then(|| {
            config
                .allow_origins
                .iter()
                .map(|o| HeaderValue::from_str(o).expect("validated"))
                .collect()
        });
        let allow_origin = match &origins {
            None => AllowOrigin::any(),
            Some(list) => {
                let list = list.clone();
                AllowOrigin::predicate(move |origin, _| list.contains(origin))
            }
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
        let expose_headers = if any(&config.expose_headers) {
            ExposeHeaders::any()
        } else {
            ExposeHeaders::list(names(&config.expose_headers))
        };

        let layer = CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods(allow_methods)
            .allow_headers(allow_headers)
            .expose_headers(expose_headers)
            .allow_credentials(config.allow_credentials)
            .max_age(config.max_age);
        Some(CorsShared { layer, origins })
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        self.origins
            .as_ref()
            .is_none_or(|list| list.contains(origin))
    }
}

#[derive(Clone)]
pub(crate) struct CorsGateLayer(pub(crate) Option<Arc<CorsShared>>);

impl<S> Layer<S> for CorsGateLayer {
    type Service = CorsGate<S>;

    fn layer(&self, inner: S) -> CorsGate<S> {
        CorsGate {
            inner,
            shared: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct CorsGate<S> {
    inner: S,
    shared: Option<Arc<CorsShared>>,
}

impl<S> Service<Request> for CorsGate<S>
where
    S: Service<Request, Response = Response> + Clone,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CorsFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let Some(shared) = &self.shared else {
            return CorsFuture::Plain {
                future: self.inner.call(req),
                vary: false,
            };
        };
        let Some(origin) = req.headers().get(ORIGIN) else {
            return CorsFuture::Plain {
                future: self.inner.call(req),
                vary: true,
            };
        };
        if req.method() == Method::OPTIONS
            && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD)
            && !shared.allows(origin)
        {
            let detail = format!(
                "origin {} is not allowed to call this API",
                String::from_utf8_lossy(origin.as_bytes())
            );
            let mut response = Problem::new(StatusCode::FORBIDDEN)
                .with_detail(detail)
                .into_response();
            response
                .headers_mut()
                .append(VARY, HeaderValue::from_static("origin"));
            return CorsFuture::Rejected {
                response: Some(response),
            };
        }
        // The readied service goes into `Cors`; a clone stays for the next call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let mut cors = shared.layer.layer(inner);
        CorsFuture::Cors {
            future: cors.call(req),
        }
    }
}

pin_project! {
    #[project = CorsFutureProj]
    pub(crate) enum CorsFuture<F> {
        Plain { #[pin] future: F, vary: bool },
        Cors { #[pin] future: tower_http::cors::ResponseFuture<F> },
        Rejected { response: Option<Response> },
    }
}

impl<F, E> Future for CorsFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            CorsFutureProj::Plain { future, vary } => {
                let mut response = ready!(future.poll(cx))?;
                if *vary {
                    response
                        .headers_mut()
                        .append(VARY, HeaderValue::from_static("origin"));
                }
                Poll::Ready(Ok(response))
            }
            CorsFutureProj::Cors { future } => future.poll(cx),
            CorsFutureProj::Rejected { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
        }
    }
}
