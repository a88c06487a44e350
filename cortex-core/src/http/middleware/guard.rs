//! Rate limit, body limit and request timeout.
//!
//! tower-http's `TimeoutLayer` answers with an empty body and arms a timer for every request;
//! `RequestBodyLimitLayer` answers `413` in plain text and wraps every body. Here the timer is
//! armed only when the inner service does not answer on its first poll (most handlers do), the
//! body is wrapped only when its length is unknown (hyper enforces `Content-Length` itself), and
//! every error is problem details. The timeout also bounds a slow rate-limit store.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderName, HeaderValue, StatusCode};
use http_body::Body as _;
use tower::{Layer, Service};

use super::config::{HttpConfig, RateLimitKeyKind, timeout_status};
use super::forwarded::ClientIp;
use super::operational::OperationalPaths;
use super::rate_limit::{
    Decision, DecisionFuture, Principal, PrincipalResolver, RateLimitKey, StoreHandle,
};
use crate::http::{PROBLEM_JSON, Problem};

/// axum's default limit for body extractors.
const AXUM_DEFAULT_BODY_LIMIT: u64 = 2 * 1024 * 1024;

static RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
static RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
static RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

pub(crate) struct RateLimiting {
    pub(crate) store: StoreHandle,
    pub(crate) key: RateLimitKeyKind,
    pub(crate) headers: bool,
    pub(crate) resolver: Option<Arc<dyn PrincipalResolver>>,
    /// Operational endpoints: never limited.
    pub(crate) exempt: OperationalPaths,
}

impl RateLimiting {
    fn key_for(&self, req: &Request) -> Option<RateLimitKey> {
        let by_ip =
            || ClientIp::from_extensions(req.extensions()).map(|ClientIp(ip)| RateLimitKey::ip(ip));
        match &self.key {
            RateLimitKeyKind::Ip => by_ip(),
            RateLimitKeyKind::User => req
                .extensions()
                .get::<Principal>()
                .map(Principal::key)
                .or_else(|| {
                    self.resolver
                        .as_ref()
                        .and_then(|r| r.resolve(req.headers(), req.extensions()))
                        .map(|p| p.key())
                })
                .or_else(by_ip),
            RateLimitKeyKind::Header(name) => match req.headers().get(name) {
                Some(value) if value.len() <= 256 => Some(RateLimitKey::Header(value.clone())),
                _ => by_ip(),
            },
        }
    }
}

/// What the rate limiter makes of a request.
pub(crate) enum RateStep {
    /// Go on (with the decision, for the `RateLimit-*` headers).
    Pass(Option<Decision>),
    /// Over the limit.
    Deny(Response),
    /// The store is deciding.
    Pending(DecisionFuture),
}

pub(crate) struct GuardShared {
    pub(crate) timeout: Option<Duration>,
    timeout_status: StatusCode,
    body_limit: Option<u64>,
    /// Whether axum's 2 MiB extractor default must be lifted (our limit is off or larger).
    lift_axum_limit: bool,
    rate: Option<RateLimiting>,
}

impl GuardShared {
    pub(crate) fn new(config: &HttpConfig, rate: Option<RateLimiting>) -> Self {
        GuardShared {
            timeout: config.request_timeout,
            timeout_status: timeout_status(config),
            body_limit: config.body_limit,
            lift_axum_limit: config
                .body_limit
                .is_none_or(|limit| limit > AXUM_DEFAULT_BODY_LIMIT),
            rate,
        }
    }

    pub(crate) fn rate_check(&self, req: &Request) -> RateStep {
        let Some(rate) = &self.rate else {
            return RateStep::Pass(None);
        };
        if rate.exempt.contains(req.uri().path()) {
            return RateStep::Pass(None);
        }
        let Some(key) = rate.key_for(req) else {
            return RateStep::Pass(None);
        };
        match rate.store.check(key) {
            DecisionFuture::Ready(ready) => self.rate_outcome(ready.expect("a fresh decision")),
            pending => RateStep::Pending(pending),
        }
    }

    pub(crate) fn rate_outcome(&self, outcome: Result<Decision, cortex_di::BoxError>) -> RateStep {
        let headers = self.rate.as_ref().is_some_and(|r| r.headers);
        match outcome {
            Ok(decision) if !decision.allowed => {
                RateStep::Deny(too_many_requests(&decision, headers))
            }
            Ok(decision) => RateStep::Pass(Some(decision)),
            Err(error) => {
                tracing::warn!(%error, "rate limit store failed; letting the request through");
                RateStep::Pass(None)
            }
        }
    }

    /// Refuses a body declared longer than the limit; limits a body of unknown length. hyper
    /// derives the body's size hint from `Content-Length` and enforces it, so no header is parsed.
    pub(crate) fn limit_body(&self, req: &mut Request) -> Option<Response> {
        let limit = self.body_limit?;
        let hint = req.body().size_hint();
        if hint.lower() > limit {
            return Some(payload_too_large(limit, Some(hint.lower())));
        }
        if hint.upper().is_some_and(|upper| upper <= limit) {
            return None;
        }
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let body = std::mem::take(req.body_mut());
        *req.body_mut() = Body::new(http_body_util::Limited::new(body, limit));
        None
    }

    /// Calls the inner service, lifting axum's extractor limit when ours is larger.
    pub(crate) fn call<S: Service<Request>>(&self, inner: &mut S, req: Request) -> S::Future {
        if self.lift_axum_limit {
            // `DefaultBodyLimit` only exposes its setting as a layer; `&mut S` is a service too.
            DefaultBodyLimit::disable().layer(inner).call(req)
        } else {
            inner.call(req)
        }
    }

    /// Rate-limit headers; plain-text `413`s from below (axum's extractors meeting a limited
    /// body) become problem details.
    pub(crate) fn on_response(
        &self,
        mut response: Response,
        decision: Option<Decision>,
    ) -> Response {
        if response.status() == StatusCode::PAYLOAD_TOO_LARGE
            && response
                .headers()
                .get(CONTENT_TYPE)
                .is_none_or(|ct| ct != PROBLEM_JSON)
        {
            let (mut parts, _) = response.into_parts();
            parts.headers.remove(CONTENT_LENGTH);
            let problem =
                payload_too_large(self.body_limit.unwrap_or(AXUM_DEFAULT_BODY_LIMIT), None);
            let (problem_parts, body) = problem.into_parts();
            parts.headers.extend(problem_parts.headers);
            response = Response::from_parts(parts, body);
        }
        if let Some(decision) = decision
            && self.rate.as_ref().is_some_and(|r| r.headers)
        {
            let headers = response.headers_mut();
            headers.insert(&RATELIMIT_LIMIT, decision.limit.into());
            headers.insert(&RATELIMIT_REMAINING, decision.remaining.into());
        }
        response
    }

    pub(crate) fn timeout_response(&self) -> Response {
        let timeout = self.timeout.unwrap_or_default();
        tracing::debug!(?timeout, "request timed out");
        Problem::new(self.timeout_status)
            .with_detail(format!("the request did not complete within {timeout:?}"))
            .into_response()
    }
}

fn payload_too_large(limit: u64, length: Option<u64>) -> Response {
    let detail = match length {
        Some(length) => format!("the request body is {length} bytes; the limit is {limit} bytes"),
        None => format!("the request body exceeds the limit of {limit} bytes"),
    };
    Problem::new(StatusCode::PAYLOAD_TOO_LARGE)
        .with_detail(detail)
        .with_extension("limit", limit)
        .into_response()
}

fn too_many_requests(decision: &Decision, rate_headers: bool) -> Response {
    let secs = decision.retry_after_secs();
    let mut response = Problem::new(StatusCode::TOO_MANY_REQUESTS)
        .with_detail(format!("too many requests; retry in {secs} s"))
        .with_extension("retry_after", secs)
        .into_response();
    let headers = response.headers_mut();
    headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    if rate_headers {
        headers.insert(&RATELIMIT_LIMIT, decision.limit.into());
        headers.insert(&RATELIMIT_REMAINING, HeaderValue::from_static("0"));
        headers.insert(&RATELIMIT_RESET, secs.into());
    }
    response
}
