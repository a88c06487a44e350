//! Rate limit, body limit and request timeout, fused into one layer.
//!
//! tower-http's `TimeoutLayer` answers with an empty body and arms a timer for every request;
//! `RequestBodyLimitLayer` answers `413` in plain text and wraps every body. Here the timer is
//! armed only when the inner service does not answer on its first poll (most handlers do), the
//! body is wrapped only when its length is unknown (hyper enforces `Content-Length` itself), and
//! every error is problem details. The three share one future so the timeout also bounds a slow
//! rate-limit store.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{Extensions, HeaderMap, HeaderName, HeaderValue, StatusCode};
use http_body::Body as _;
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower::{Layer, Service};

use super::config::{HttpConfig, RateLimitKeyKind, timeout_status};
use super::forwarded::ClientIp;
use super::rate_limit::{Decision, DecisionFuture, Principal, RateLimitKey, RateLimitStore};
use crate::http::{PROBLEM_JSON, Problem};

/// axum's default limit for body extractors.
const AXUM_DEFAULT_BODY_LIMIT: u64 = 2 * 1024 * 1024;

static RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
static RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
static RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Derives the principal of a request for `key = "user"` when no middleware inserted one.
pub(crate) type PrincipalResolver =
    dyn Fn(&HeaderMap, &Extensions) -> Option<Principal> + Send + Sync;

pub(crate) struct RateLimiting {
    pub(crate) store: Arc<dyn RateLimitStore>,
    pub(crate) key: RateLimitKeyKind,
    pub(crate) headers: bool,
    pub(crate) resolver: Option<Arc<PrincipalResolver>>,
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
                        .and_then(|r| r(req.headers(), req.extensions()))
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

pub(crate) struct GuardShared {
    timeout: Option<Duration>,
    timeout_status: StatusCode,
    body_limit: Option<u64>,
    /// Whether axum's 2 MiB extractor default must be lifted (our limit is off or larger).
    lift_axum_limit: bool,
    pub(crate) rate: Option<RateLimiting>,
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

    fn timeout_response(&self) -> Response {
        let timeout = self.timeout.unwrap_or_default();
        Problem::new(self.timeout_status)
            .with_detail(format!("the request did not complete within {timeout:?}"))
            .into_response()
    }
}

#[derive(Clone)]
pub(crate) struct GuardLayer(pub(crate) Arc<GuardShared>);

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            shared: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Guard<S> {
    inner: S,
    shared: Arc<GuardShared>,
}

impl<S> Guard<S>
where
    S: Service<Request, Response = Response>,
{
    /// Applies the body limit and calls the inner service, or answers `413`.
    fn limit_and_call(shared: &GuardShared, inner: &mut S, mut req: Request) -> State<S> {
        if let Some(limit) = shared.body_limit {
            let length = req
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            match length {
                Some(length) if length > limit => {
                    return State::Answered {
                        response: Some(payload_too_large(limit, Some(length))),
                    };
                }
                Some(_) => {}
                None if req.body().is_end_stream() => {}
                None => {
                    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
                    req = req.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
                }
            }
        }
        if shared.lift_axum_limit {
            // `DefaultBodyLimit` only exposes its setting as a layer; `&mut S` is a service too.
            State::Running {
                future: DefaultBodyLimit::disable().layer(inner).call(req),
            }
        } else {
            State::Running {
                future: inner.call(req),
            }
        }
    }
}

impl<S> Service<Request> for Guard<S>
where
    S: Service<Request, Response = Response> + Clone,
{
    type Response = Response;
    type Error = S::Error;
    type Future = GuardFuture<S>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let shared = &self.shared;
        let mut decision = None;
        if let Some(rate) = &shared.rate
            && let Some(key) = rate.key_for(&req)
        {
            match rate.store.check(&key) {
                DecisionFuture::Ready(ready) => match ready.expect("fresh decision") {
                    Ok(d) if !d.allowed => {
                        return GuardFuture::answer(
                            shared.clone(),
                            too_many_requests(&d, rate.headers),
                        );
                    }
                    Ok(d) => decision = Some(d),
                    Err(error) => {
                        tracing::warn!(%error, %key, "rate limit store failed; letting the request through")
                    }
                },
                pending @ DecisionFuture::Pending(_) => {
                    let clone = self.inner.clone();
                    let inner = std::mem::replace(&mut self.inner, clone);
                    return GuardFuture {
                        state: State::Checking {
                            check: pending,
                            pending: Some((inner, req)),
                        },
                        sleep: None,
                        decision: None,
                        shared: shared.clone(),
                    };
                }
            }
        }
        GuardFuture {
            state: Self::limit_and_call(shared, &mut self.inner, req),
            sleep: None,
            decision,
            shared: shared.clone(),
        }
    }
}

pin_project! {
    pub(crate) struct GuardFuture<S: Service<Request>> {
        #[pin]
        state: State<S>,
        #[pin]
        sleep: Option<Sleep>,
        decision: Option<Decision>,
        shared: Arc<GuardShared>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S: Service<Request>> {
        Checking { #[pin] check: DecisionFuture, pending: Option<(S, Request)> },
        Running { #[pin] future: S::Future },
        Answered { response: Option<Response> },
    }
}

impl<S: Service<Request>> GuardFuture<S> {
    fn answer(shared: Arc<GuardShared>, response: Response) -> Self {
        GuardFuture {
            state: State::Answered {
                response: Some(response),
            },
            sleep: None,
            decision: None,
            shared,
        }
    }
}

impl<S> Future for GuardFuture<S>
where
    S: Service<Request, Response = Response>,
{
    type Output = Result<Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Answered { response } => {
                    return Poll::Ready(Ok(response.take().expect("polled after completion")));
                }
                StateProj::Checking { check, pending } => {
                    if let Poll::Ready(result) = check.poll(cx) {
                        let (mut inner, req) = pending.take().expect("polled after completion");
                        let rate = this
                            .shared
                            .rate
                            .as_ref()
                            .expect("checking implies rate limiting");
                        let next = match result {
                            Ok(d) if !d.allowed => State::Answered {
                                response: Some(too_many_requests(&d, rate.headers)),
                            },
                            result => {
                                match result {
                                    Ok(d) => *this.decision = Some(d),
                                    Err(error) => {
                                        tracing::warn!(%error, "rate limit store failed; letting the request through")
                                    }
                                }
                                Guard::<S>::limit_and_call(this.shared, &mut inner, req)
                            }
                        };
                        this.state.set(next);
                        continue;
                    }
                }
                StateProj::Running { future } => {
                    if let Poll::Ready(result) = future.poll(cx) {
                        return Poll::Ready(
                            result.map(|response| finish(response, *this.decision, this.shared)),
                        );
                    }
                }
            }
            // Not answered on this poll: make sure the timer runs (armed once, on first need).
            let Some(timeout) = this.shared.timeout else {
                return Poll::Pending;
            };
            if this.sleep.is_none() {
                this.sleep.set(Some(tokio::time::sleep(timeout)));
            }
            if let Some(sleep) = this.sleep.as_mut().as_pin_mut()
                && sleep.poll(cx).is_ready()
            {
                tracing::debug!(?timeout, "request timed out");
                this.state.set(State::Answered { response: None });
                return Poll::Ready(Ok(this.shared.timeout_response()));
            }
            return Poll::Pending;
        }
    }
}

/// Adds rate-limit headers and turns plain-text `413`s from below (axum's extractors meeting a
/// limited body) into problem details.
fn finish(mut response: Response, decision: Option<Decision>, shared: &GuardShared) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response
            .headers()
            .get(CONTENT_TYPE)
            .is_none_or(|ct| ct != PROBLEM_JSON)
    {
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(CONTENT_LENGTH);
        let problem = payload_too_large(shared.body_limit.unwrap_or(AXUM_DEFAULT_BODY_LIMIT), None);
        let (problem_parts, body) = problem.into_parts();
        parts.headers.extend(problem_parts.headers);
        response = Response::from_parts(parts, body);
    }
    if let (Some(decision), Some(rate)) = (decision, &shared.rate)
        && rate.headers
    {
        let headers = response.headers_mut();
        headers.insert(&RATELIMIT_LIMIT, decision.limit.into());
        headers.insert(&RATELIMIT_REMAINING, decision.remaining.into());
    }
    response
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
