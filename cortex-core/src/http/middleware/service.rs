//! The stack as one tower service with one future.
//!
//! Each concern is a branch on precomputed state, run in the documented order: on the way in
//! core (proxies, request id, span), CORS, rate limit, body limit; on the way out ETag,
//! compression, rate-limit headers, CORS headers, core (request id, security headers, span). One
//! service instead of a layer per concern saves, per request, a clone and a poll level per layer
//! and the moves of the inner future into each wrapper
//! (docs/src/performance.md#why-the-stack-is-shaped-as-it-is).

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT_ENCODING, IF_MODIFIED_SINCE, IF_NONE_MATCH, VARY};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
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
use crate::http::catch::{self, BoxFuture, Finished};
use crate::http::headers::{SCAN_UP_TO, scan};
use crate::http::observe::{Observers, Observing};
use crate::http::request_context::{Scoped, call_scoped};

/// Everything the stack computed at startup.
pub(crate) struct Shared {
    pub(crate) core: CoreShared,
    pub(crate) cors: Option<CorsShared>,
    pub(crate) guard: GuardShared,
    pub(crate) compression: Option<CompressionShared>,
    pub(crate) etag: EtagSettings,
    /// The request observers, in order (usually none).
    pub(crate) observers: Observers,
    /// An app's own innermost layers, done by the stack (see `Stack::for_app`).
    pub(crate) app: Option<AppLayers>,
}

/// What `Extension(container)` and [`ProblemLayer`](crate::http::ProblemLayer) would do inside
/// the stack, done by the stack itself: one service and one future fewer per request, and the
/// request id taken from the core step rather than looked up again.
pub(crate) struct AppLayers {
    /// Inserted into every request's extensions.
    pub(crate) container: cortex_di::Container,
    /// The header the problem layer reads the request id from.
    pub(crate) request_id_header: HeaderName,
    /// Whether that is the header the core step puts its request id in.
    pub(crate) id_from_core: bool,
    /// Whether a request-scoped provider has an `OnScopeEnd` hook: then the stack opens each
    /// request's scope and finishes it with the response status before answering.
    pub(crate) finish_scopes: bool,
}

/// A request scope's end-of-scope hooks, running.
type Finish = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The request scope the stack finishes with the response status (apps with `OnScopeEnd` hooks).
enum ScopeEnd {
    None,
    Open(cortex_di::RequestScope),
    /// The hooks are running; the response waits for them.
    Finishing(Box<(Response, Finish)>),
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
    /// The route template of the one route this layer wraps, when known at startup (for the
    /// span, the access log and observers).
    route: Option<&'static str>,
}

impl StackLayer {
    pub(crate) fn new(shared: Shared) -> Self {
        StackLayer {
            shared: Arc::new(shared),
            route: None,
        }
    }

    /// This layer, for the one route `template`: the span, the access log and observers get the
    /// template without a lookup, and without a reference count per request.
    pub(crate) fn for_route(&self, template: &str) -> Self {
        StackLayer {
            shared: self.shared.clone(),
            route: Some(intern(template)),
        }
    }
}

/// `template` as a `&'static str`: leaked once per distinct template for the life of the
/// process (an app that is built again, as tests do, reuses it), so that each request copies a
/// reference rather than counting one.
fn intern(template: &str) -> &'static str {
    static TEMPLATES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut templates = TEMPLATES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let templates = templates.get_or_insert_with(HashSet::new);
    if let Some(interned) = templates.get(template) {
        return interned;
    }
    let interned: &'static str = Box::leak(template.into());
    templates.insert(interned);
    interned
}

impl<S> Layer<S> for StackLayer {
    type Service = StackService<S>;

    fn layer(&self, inner: S) -> StackService<S> {
        StackService {
            inner,
            shared: self.shared.clone(),
            route: self.route,
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
    route: Option<&'static str>,
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
        let observed = !shared.observers.is_empty();
        let core = shared.core.on_request(&mut req, self.route, observed);
        let scope_end = match &shared.app {
            Some(app) if app.finish_scopes => {
                // Opened here rather than by the first extractor, so the stack can finish it.
                let scope = app.container.scope();
                req.extensions_mut().insert(scope.clone());
                ScopeEnd::Open(scope)
            }
            _ => ScopeEnd::None,
        };
        let inner = &mut self.inner;
        let (observing, cors, accept, etag, conditions, decision, state) = core.in_trace(|| {
            // A disabled span is not entered: with tracing's `log` feature, entering one still
            // costs.
            let _entered = (!core.span.is_disabled()).then(|| core.span.enter());
            // Before anything can refuse the request: observers see the stack's own answers too.
            let observing = Observing::start(&shared.observers, &req, self.route, &core.span);

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
            let etag = shared.etag.wants(&req);
            let [accept, if_none_match, if_modified_since] = if shared.compression.is_some() || etag
            {
                find_headers(req.headers())
            } else {
                [None; 3]
            };
            let accept = accept.filter(|_| shared.compression.is_some()).cloned();
            let conditions = etag
                .then(|| Conditions::new(if_none_match, if_modified_since))
                .flatten();

            let mut decision = None;
            let state = match answer {
                Some(response) => State::Answered {
                    response: Some(Box::new(response)),
                },
                None => match shared.guard.rate_check(&req) {
                    RateStep::Deny(response) => State::Answered {
                        response: Some(Box::new(response)),
                    },
                    RateStep::Pending(check) => {
                        let clone = (*inner).clone();
                        let readied = std::mem::replace(&mut *inner, clone);
                        State::Checking {
                            check,
                            pending: Some(Box::new((readied, req))),
                        }
                    }
                    RateStep::Pass(d) => {
                        decision = d;
                        match shared.guard.limit_body(&mut req) {
                            Some(response) => State::Answered {
                                response: Some(Box::new(response)),
                            },
                            None => start(shared, inner, req, core.id()),
                        }
                    }
                },
            };
            (observing, cors, accept, etag, conditions, decision, state)
        });

        StackFuture {
            state,
            sleep: None,
            core,
            cors,
            decision,
            accept,
            etag,
            conditions,
            scope_end,
            observing,
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
        scope_end: ScopeEnd,
        observing: Option<Observing>,
        shared: Arc<Shared>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S: Service<Request>> {
        // A networked rate-limit store is deciding; the readied service and the request wait.
        Checking { #[pin] check: DecisionFuture, pending: Option<Box<(S, Request)>> },
        // The inner service is working.
        Running { #[pin] future: Run<S::Future> },
        // The app's problem layer is reading a plain-text error to make it a problem.
        Reading { future: BoxFuture },
        // Answered on the inner service's behalf: the problem for its panic. (This state and the
        // two below are rare: boxed, so that they do not make every request's future larger,
        // which is moved several times per request.)
        Inner { response: Option<Box<Response>> },
        // Reading a small body to hash it.
        Buffering { buffering: Box<(Option<http::response::Parts>, Body, Buffer)> },
        // Answered by the stack itself.
        Answered { response: Option<Box<Response>> },
    }
}

pin_project! {
    /// The inner service's future: as it is, or with the app's problem layer around it.
    #[project = RunProj]
    enum Run<F> {
        Plain { #[pin] future: F },
        Caught { #[pin] future: Scoped<F> },
    }
}

/// Calls the inner service: through the app's layers when the stack does them.
#[inline(always)]
fn start<S>(
    shared: &Shared,
    inner: &mut S,
    mut req: Request,
    core_id: Option<&HeaderValue>,
) -> State<S>
where
    S: Service<Request, Response = Response>,
{
    let Some(app) = &shared.app else {
        return State::Running {
            future: Run::Plain {
                future: shared.guard.call(inner, req),
            },
        };
    };
    req.extensions_mut().insert(app.container.clone());
    let request_id = match core_id {
        Some(id) if app.id_from_core => Some(id.clone()),
        _ => scan(req.headers(), &app.request_id_header).cloned(),
    };
    let mut request_id = request_id;
    match call_scoped(&mut request_id, || shared.guard.call(inner, req)) {
        Ok(future) => State::Running {
            future: Run::Caught {
                future: Scoped::new(request_id, future),
            },
        },
        Err(panic) => State::Inner {
            response: Some(Box::new(catch::panic_response(panic, request_id.as_ref()))),
        },
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
        if let ScopeEnd::Finishing(finishing) = this.scope_end {
            if this
                .core
                .in_trace(|| finishing.1.as_mut().poll(cx))
                .is_pending()
            {
                return Poll::Pending;
            }
            let ScopeEnd::Finishing(finishing) = std::mem::replace(this.scope_end, ScopeEnd::None)
            else {
                unreachable!("checked above")
            };
            if let Some(observing) = this.observing.take() {
                let core = &this.core;
                observing.finish(&this.shared.observers, core.start, &finishing.0, &core.span);
            }
            this.core.end_trace(finishing.0.status());
            return Poll::Ready(Ok(finishing.0));
        }
        let shared = &**this.shared;
        let (response, from_inner) = {
            let core = &*this.core;
            let polled = core.in_trace(|| {
                let _entered = (!core.span.is_disabled()).then(|| core.span.enter());
                drive(
                    this.state.as_mut(),
                    this.sleep,
                    this.decision,
                    *this.etag,
                    shared,
                    cx,
                )
            });
            match polled {
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
        if let ScopeEnd::Open(scope) = std::mem::replace(this.scope_end, ScopeEnd::None)
            && scope.has_scope_end_hooks()
        {
            // The hooks (a commit, a rollback) run before the client hears the answer.
            let outcome = cortex_di::ScopeOutcome::from_status(response.status().as_u16());
            let mut finish: Finish = Box::pin(async move {
                scope.finish(outcome).await;
            });
            if this.core.in_trace(|| finish.as_mut().poll(cx)).is_pending() {
                *this.scope_end = ScopeEnd::Finishing(Box::new((response, finish)));
                return Poll::Pending;
            }
        }
        if let Some(observing) = this.observing.take() {
            let core = &this.core;
            observing.finish(&shared.observers, core.start, &response, &core.span);
        }
        this.core.end_trace(response.status());
        Poll::Ready(Ok(response))
    }
}

/// The request's `Accept-Encoding`, `If-None-Match` and `If-Modified-Since` (the first value of
/// each). A lookup hashes the name and probes; comparing the
/// names of a few headers costs less.
fn find_headers(headers: &HeaderMap) -> [Option<&HeaderValue>; 3] {
    if headers.keys_len() > SCAN_UP_TO {
        return [
            headers.get(ACCEPT_ENCODING),
            headers.get(IF_NONE_MATCH),
            headers.get(IF_MODIFIED_SINCE),
        ];
    }
    let mut found = [None; 3];
    for (name, value) in headers {
        let slot = if *name == ACCEPT_ENCODING {
            &mut found[0]
        } else if *name == IF_NONE_MATCH {
            &mut found[1]
        } else if *name == IF_MODIFIED_SINCE {
            &mut found[2]
        } else {
            continue;
        };
        slot.get_or_insert(value);
    }
    found
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
                    *response.take().expect("polled after completion"),
                    false,
                )));
            }
            StateProj::Checking { check, pending } => {
                if let Poll::Ready(outcome) = check.poll(cx) {
                    let (mut inner, mut req) = *pending.take().expect("polled after completion");
                    let next = match shared.guard.rate_outcome(outcome) {
                        RateStep::Deny(response) => State::Answered {
                            response: Some(Box::new(response)),
                        },
                        RateStep::Pass(d) => {
                            *decision = d;
                            match shared.guard.limit_body(&mut req) {
                                Some(response) => State::Answered {
                                    response: Some(Box::new(response)),
                                },
                                None => start(shared, &mut inner, req, None),
                            }
                        }
                        RateStep::Pending(_) => unreachable!("an outcome is a decision"),
                    };
                    state.set(next);
                    continue;
                }
            }
            StateProj::Running { future } => {
                let finished = match future.project() {
                    RunProj::Plain { future } => match future.poll(cx) {
                        Poll::Ready(result) => Some(Finished::Response(result?)),
                        Poll::Pending => None,
                    },
                    RunProj::Caught { mut future } => match future.as_mut().poll(cx) {
                        Poll::Ready(Ok(result)) => {
                            Some(catch::finish(Ok(result?), future.request_id()))
                        }
                        Poll::Ready(Err(panic)) => {
                            Some(catch::finish(Err(panic), future.request_id()))
                        }
                        Poll::Pending => None,
                    },
                };
                match finished {
                    None => {}
                    Some(Finished::Reading(future)) => {
                        state.set(State::Reading { future });
                        continue;
                    }
                    Some(Finished::Response(response)) => {
                        if hash && shared.etag.should_hash(&response) {
                            let (parts, body) = response.into_parts();
                            state.set(State::Buffering {
                                buffering: Box::new((Some(parts), body, Buffer::default())),
                            });
                            continue;
                        }
                        return Poll::Ready(Ok((response, true)));
                    }
                }
            }
            StateProj::Reading { future } => {
                if let Poll::Ready(response) = future.as_mut().poll(cx) {
                    return Poll::Ready(Ok((response, true)));
                }
            }
            StateProj::Inner { response } => {
                return Poll::Ready(Ok((
                    *response.take().expect("polled after completion"),
                    true,
                )));
            }
            StateProj::Buffering { buffering } => {
                let (_, body, buffer) = &mut **buffering;
                let filled = buffer.poll_fill(body, cx);
                match filled {
                    Poll::Pending => {}
                    Poll::Ready(Ok(())) => {
                        let (parts, _, buffer) = &mut **buffering;
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
                }
            }
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
