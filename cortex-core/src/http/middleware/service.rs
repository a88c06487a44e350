//! The stack as one tower service with one future.
//!
//! Each concern is a branch on precomputed state, run in the documented order: on the way in
//! core (proxies, request id, span), CORS, rate limit, body limit; on the way out ETag,
//! compression, rate-limit headers, CORS headers, core (request id, security headers, span). One
//! service instead of a layer per concern saves, per request, a clone and a poll level per layer
//! and the moves of the inner future into each wrapper: on our measurements, five separate layers
//! that had nothing to do cost about 1,900 instructions per request, this about 300.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::VARY;
use http::{HeaderValue, StatusCode};
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower::{Layer, Service};

use super::compression::CompressionShared;
use super::core::{CoreShared, CoreState};
use super::cors::{CorsShared, CorsStep, VARY_ORIGIN};
use super::etag::{self, Buffer, Conditions, EtagSettings};
use super::guard::{GuardShared, RateStep};
use super::rate_limit::{Decision, DecisionFuture};
use crate::http::Problem;

/// Everything the stack computed at startup.
pub(crate) struct Shared {
    pub(crate) core: CoreShared,
    pub(crate) cors: Option<CorsShared>,
    pub(crate) guard: GuardShared,
    pub(crate) compression: Option<CompressionShared>,
    pub(crate) etag: EtagSettings,
}

/// The middleware stack as one tower [`Layer`], from [`Stack::layer`](super::Stack::layer).
///
/// [`Stack::apply`](super::Stack::apply) puts it on every route of a router (the span then knows
/// the matched route). Wrapping the whole router instead saves axum's second boxing of each
/// route, at the price of spans without `route`:
///
/// ```
/// use axum::{Router, routing::get};
/// use cortex_core::http::middleware::{HttpConfig, Stack};
/// use tower::Layer;
///
/// let stack = Stack::new(&HttpConfig::default()).unwrap();
/// let router: Router = Router::new().route("/", get(|| async { "hi" }));
/// let service = stack.layer().layer(router);
/// // axum::serve(listener, axum::ServiceExt::into_make_service_with_connect_info::<std::net::SocketAddr>(service))
/// # let _ = service;
/// ```
#[derive(Clone)]
pub struct StackLayer {
    shared: Arc<Shared>,
}

impl StackLayer {
    pub(crate) fn new(shared: Shared) -> Self {
        StackLayer {
            shared: Arc::new(shared),
        }
    }
}

impl<S> Layer<S> for StackLayer {
    type Service = StackService<S>;

    fn layer(&self, inner: S) -> StackService<S> {
        StackService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

impl std::fmt::Debug for StackLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackLayer").finish_non_exhaustive()
    }
}

/// The middleware stack around a service (a router, or one route): see [`StackLayer`].
#[derive(Clone)]
pub struct StackService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for StackService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackService").finish_non_exhaustive()
    }
}

/// What CORS still has to do on the response.
enum CorsPost {
    Nothing,
    VaryOrigin,
    Decorate(HeaderValue),
}

impl<S> Service<Request> for StackService<S>
where
    S: Service<Request, Response = Response> + Clone,
{
    type Response = Response;
    type Error = S::Error;
    type Future = StackFuture<S>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let shared = &*self.shared;
        let core = shared.core.on_request(&mut req);
        // A disabled span is not entered: with tracing's `log` feature, entering one still costs.
        let entered = (!core.span.is_disabled()).then(|| core.span.enter());

        let mut answer = None;
        let cors = match &shared.cors {
            None => CorsPost::Nothing,
            Some(cors) => match cors.on_request(&req) {
                CorsStep::NoOrigin => CorsPost::VaryOrigin,
                CorsStep::Simple(origin) => CorsPost::Decorate(origin),
                CorsStep::Answer(response) => {
                    answer = Some(response);
                    CorsPost::Nothing
                }
            },
        };
        let accept = match &shared.compression {
            Some(_) => req.headers().get(http::header::ACCEPT_ENCODING).cloned(),
            None => None,
        };
        let (etag, conditions) = shared.etag.on_request(&req);

        let mut decision = None;
        let state = match answer {
            Some(response) => State::Answered {
                response: Some(response),
            },
            None => match shared.guard.rate_check(&req) {
                RateStep::Deny(response) => State::Answered {
                    response: Some(response),
                },
                RateStep::Pending(check) => {
                    let clone = self.inner.clone();
                    let inner = std::mem::replace(&mut self.inner, clone);
                    State::Checking {
                        check,
                        pending: Some(Box::new((inner, req))),
                    }
                }
                RateStep::Pass(d) => {
                    decision = d;
                    match shared.guard.limit_body(&mut req) {
                        Some(response) => State::Answered {
                            response: Some(response),
                        },
                        None => State::Running {
                            future: shared.guard.call(&mut self.inner, req),
                        },
                    }
                }
            },
        };
        drop(entered);

        StackFuture {
            state,
            sleep: None,
            core,
            cors,
            decision,
            accept,
            etag,
            conditions,
            shared: self.shared.clone(),
        }
    }
}

pin_project! {
    /// The future of [`StackService`].
    pub struct StackFuture<S: Service<Request>> {
        #[pin]
        state: State<S>,
        sleep: Option<Pin<Box<Sleep>>>,
        core: CoreState,
        cors: CorsPost,
        decision: Option<Decision>,
        accept: Option<HeaderValue>,
        etag: bool,
        conditions: Option<Box<Conditions>>,
        shared: Arc<Shared>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S: Service<Request>> {
        // A networked rate-limit store is deciding; the readied service and the request wait.
        Checking { #[pin] check: DecisionFuture, pending: Option<Box<(S, Request)>> },
        // The inner service is working.
        Running { #[pin] future: S::Future },
        // Reading a small body to hash it.
        Buffering { parts: Option<http::response::Parts>, body: Body, buffer: Buffer },
        // Answered by the stack itself.
        Answered { response: Option<Response> },
    }
}

impl<S> std::fmt::Debug for StackFuture<S>
where
    S: Service<Request>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackFuture").finish_non_exhaustive()
    }
}

impl<S> Future for StackFuture<S>
where
    S: Service<Request, Response = Response>,
{
    type Output = Result<Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let shared = &**this.shared;
        let (response, from_inner) = {
            let _entered = (!this.core.span.is_disabled()).then(|| this.core.span.enter());
            match drive(
                this.state.as_mut(),
                this.sleep,
                this.decision,
                *this.etag,
                shared,
                cx,
            ) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Ready(Ok(answer)) => answer,
            }
        };

        let mut response = response;
        if from_inner {
            if let Some(conditions) = this.conditions.take() {
                response = etag::evaluate(response, &conditions);
            }
            if let Some(compression) = &shared.compression {
                response = compression.on_response(this.accept.take(), response);
            }
            response = shared.guard.on_response(response, this.decision.take());
        }
        match std::mem::replace(this.cors, CorsPost::Nothing) {
            CorsPost::Nothing => {}
            CorsPost::VaryOrigin => {
                response.headers_mut().append(VARY, VARY_ORIGIN.clone());
            }
            CorsPost::Decorate(origin) => {
                if let Some(cors) = &shared.cors {
                    cors.decorate(&origin, &mut response);
                }
            }
        }
        shared.core.on_response(this.core, &mut response);
        Poll::Ready(Ok(response))
    }
}

/// Runs the state machine to a response; `true` when it came from the inner service.
fn drive<S>(
    mut state: Pin<&mut State<S>>,
    sleep: &mut Option<Pin<Box<Sleep>>>,
    decision: &mut Option<Decision>,
    hash: bool,
    shared: &Shared,
    cx: &mut Context<'_>,
) -> Poll<Result<(Response, bool), S::Error>>
where
    S: Service<Request, Response = Response>,
{
    loop {
        match state.as_mut().project() {
            StateProj::Answered { response } => {
                return Poll::Ready(Ok((
                    response.take().expect("polled after completion"),
                    false,
                )));
            }
            StateProj::Checking { check, pending } => {
                if let Poll::Ready(outcome) = check.poll(cx) {
                    let (mut inner, mut req) = *pending.take().expect("polled after completion");
                    let next = match shared.guard.rate_outcome(outcome) {
                        RateStep::Deny(response) => State::Answered {
                            response: Some(response),
                        },
                        RateStep::Pass(d) => {
                            *decision = d;
                            match shared.guard.limit_body(&mut req) {
                                Some(response) => State::Answered {
                                    response: Some(response),
                                },
                                None => State::Running {
                                    future: shared.guard.call(&mut inner, req),
                                },
                            }
                        }
                        RateStep::Pending(_) => unreachable!("an outcome is a decision"),
                    };
                    state.set(next);
                    continue;
                }
            }
            StateProj::Running { future } => {
                if let Poll::Ready(result) = future.poll(cx) {
                    let response = result?;
                    if hash && shared.etag.should_hash(&response) {
                        let (parts, body) = response.into_parts();
                        state.set(State::Buffering {
                            parts: Some(parts),
                            body,
                            buffer: Buffer::default(),
                        });
                        continue;
                    }
                    return Poll::Ready(Ok((response, true)));
                }
            }
            StateProj::Buffering {
                parts,
                body,
                buffer,
            } => match buffer.poll_fill(body, cx) {
                Poll::Pending => {}
                Poll::Ready(Ok(())) => {
                    let parts = parts.take().expect("polled after completion");
                    let bytes = std::mem::take(buffer).into_bytes();
                    return Poll::Ready(Ok((etag::tagged(parts, bytes), true)));
                }
                Poll::Ready(Err(error)) => {
                    tracing::warn!(%error, "failed to read a response body");
                    state.set(State::Answered { response: None });
                    return Poll::Ready(Ok((
                        Problem::new(StatusCode::INTERNAL_SERVER_ERROR).into_response(),
                        false,
                    )));
                }
            },
        }
        // Not answered on this poll: make sure the timer runs (armed once, on first need).
        let Some(timeout) = shared.guard.timeout else {
            return Poll::Pending;
        };
        let sleep = sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if sleep.as_mut().poll(cx).is_ready() {
            state.set(State::Answered { response: None });
            return Poll::Ready(Ok((shared.guard.timeout_response(), false)));
        }
        return Poll::Pending;
    }
}
