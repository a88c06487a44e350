//! Request observers: hooks for metrics and tracing plugins, called by the middleware stack for
//! every request it sees, with no boxing or layer of their own.
//!
//! A [`RequestObserver`] is called twice per request: [`on_request`](RequestObserver::on_request)
//! when the request enters the stack (its head, the matched route template and the request's
//! span), and [`on_response`](RequestObserver::on_response) when the response is ready (method,
//! route template, status, latency, body size when known). What it returns from the first call
//! is handed to the second: per-request state without a map keyed by request.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use cortex_core::http::observe::{ObservedRequest, ObservedResponse, RequestObserver};
//!
//! /// Counts server errors per request, by route.
//! #[derive(Default)]
//! struct ServerErrors(AtomicU64);
//!
//! impl RequestObserver for ServerErrors {
//!     type State = ();
//!
//!     fn on_request(&self, _request: &ObservedRequest<'_>) {}
//!
//!     fn on_response(&self, _: (), response: &ObservedResponse<'_>) {
//!         if response.status().is_server_error() {
//!             self.0.fetch_add(1, Ordering::Relaxed);
//!             tracing::warn!(route = response.route(), "server error");
//!         }
//!     }
//! }
//!
//! let app = cortex_core::App::new().observer(ServerErrors::default());
//! # let _ = app;
//! ```
//!
//! # What is observed
//!
//! Every request that reaches the stack, including the ones the stack answers itself: 404 (no
//! route), 405 (no handler for the method), 408 (timeout), 413 (body too large), 429 (rate
//! limited), CORS preflights, and the 500 for a handler's panic. A metrics user expects them
//! counted, and an observer that does not want them filters on
//! [`status`](ObservedResponse::status) or [`route`](ObservedResponse::route) (`None` for 404).
//!
//! Not observed: a request whose client goes away before the response is ready (its future is
//! dropped: [`on_response`](RequestObserver::on_response) is not called, and the observer's
//! state is dropped, which is where an observer that must account for it can do so), and the
//! error of an inner service that can fail (an app's routes never do).
//!
//! # Why the hooks are synchronous
//!
//! Cortex's rule is `async fn` for traits users implement. These two hooks are the exception:
//! they run on every request, inside the stack's one future, and an `async` hook would cost a
//! boxed future (an allocation and a dynamic poll) per observer and per request, twice, or make
//! the stack's future wait on the observer. What an observer does per request — increment a
//! counter, record into a histogram, put a field on the span — is synchronous; anything slower
//! (pushing to a collector) belongs to a background task that the observer feeds, for example
//! through a channel.
//!
//! # Per-request state, and what Cortex measures itself
//!
//! Cortex measures the latency itself, from when the request entered the stack (the start time
//! the span and the access log use too: one clock read for all) to when
//! [`latency`](ObservedResponse::latency) is first called for the request (one more clock read,
//! only for requests whose observers ask; every observer of the request gets the same value).
//! It also hands over the request's tracing span, so most observers need no state: a
//! Prometheus observer uses `type State = ()`, which Cortex does not keep at all and hands back
//! without a type check. An observer that does need some (an OpenTelemetry context, an
//! in-flight gauge guard) returns it from `on_request` and gets it back in `on_response`.
//! Cortex keeps it in the request's future, type-erased in a `Box<dyn Any + Send>`: a state
//! with data costs one small allocation per request (a zero-sized one none). (Keeping small
//! states inline instead would take `unsafe` code, which the crate forbids.) What observing
//! costs per request is measured in the guide's "HTTP performance" chapter
//! (`docs/src/performance.md`, "Request observers").
//!
//! # Timing and sizes
//!
//! [`on_response`](RequestObserver::on_response) runs when the response's head is ready, after
//! the stack's own work on it (compression, ETag, security headers) and after the request
//! scope's end hooks, before the body is written to the client: the latency is the time to the
//! response head, and the body size is the exact size when the body's length is known then (a
//! JSON or text response, a problem, an empty body) and `None` for a streamed body (a
//! compressed one, a file, a server-sent event stream). Counting a streamed body as it is sent
//! would wrap every body of every observed request; Cortex does not, so that observing stays as
//! cheap as the rest of the stack.
//!
//! # Route templates
//!
//! [`route`](ObservedResponse::route) is the template the request matched (`/users/{id}`, never
//! the raw path, so that a metric's label set stays bounded): known without a lookup for
//! controller routes (the stack wrapped the route's handlers at startup, with the template; the
//! request's span and the access log get it too), taken from axum's [`MatchedPath`] for other
//! routes, and `None` when no
//! route matched (the 404 fallback) or when the stack wraps a whole router
//! ([`Stack::layer`](super::middleware::Stack::layer)) rather than each route.
//!
//! # Registering observers
//!
//! - [`App::observer`](crate::App::observer) with a value;
//! - from the container: a `dyn ErasedRequestObserver` binding, which [`request_observer`]
//!   makes for an injectable type (`App::new().register::<Metrics>()
//!   .provide(request_observer::<Metrics>())`, or a plugin through its container access);
//! - [`Stack::with_observer`](super::middleware::Stack::with_observer), for a stack used
//!   without an app.
//!
//! Observers run in registration order: the container's bindings in the order they were added
//! (`App::observer` adds one), after the ones given to `Stack::with_observer`.

use std::any::{Any, TypeId, type_name};
use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use cortex_di::Provider;
use http::{Extensions, HeaderMap, Method, StatusCode, Uri, Version};
use http_body::Body as _;
use tracing::Span;

/// A hook called by the middleware stack for every request: see the [module docs](self) for
/// what is observed, when, and why the hooks are synchronous.
///
/// A Prometheus-style observer needs no per-request state (Cortex measures the latency):
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use cortex_core::http::observe::{ObservedRequest, ObservedResponse, RequestObserver};
///
/// #[derive(Default)]
/// struct Requests { total: AtomicU64, slow: AtomicU64 }
///
/// impl RequestObserver for Requests {
///     type State = ();
///
///     fn on_request(&self, _request: &ObservedRequest<'_>) {}
///
///     fn on_response(&self, _: (), response: &ObservedResponse<'_>) {
///         // A real one records `response.route()`, `response.method()`, `response.status()`
///         // and `response.latency()` into a histogram.
///         self.total.fetch_add(1, Ordering::Relaxed);
///         if response.latency().as_millis() > 500 {
///             self.slow.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// ```
///
/// A tracing-style observer keeps what it starts on the request and finishes it on the
/// response:
///
/// ```
/// use cortex_core::http::observe::{ObservedRequest, ObservedResponse, RequestObserver};
///
/// struct TraceIds;
///
/// impl RequestObserver for TraceIds {
///     /// The trace id the client sent, if any.
///     type State = Option<String>;
///
///     fn on_request(&self, request: &ObservedRequest<'_>) -> Option<String> {
///         let traceparent = request.headers().get("traceparent")?.to_str().ok()?;
///         // An OpenTelemetry observer would set the span's parent context here
///         // (`request.span()`), and keep its own context as the state.
///         Some(traceparent.split('-').nth(1)?.to_owned())
///     }
///
///     fn on_response(&self, trace_id: Option<String>, response: &ObservedResponse<'_>) {
///         if let Some(trace_id) = trace_id {
///             tracing::debug!(trace_id, status = response.status().as_u16(), "traced request");
///         }
///     }
/// }
/// ```
pub trait RequestObserver: Send + Sync + 'static {
    /// What `on_request` hands to `on_response` for the same request; `()` when nothing is
    /// needed (then it costs nothing: see the [module docs](self#per-request-state-and-what-cortex-measures-itself)).
    type State: Send + 'static;

    /// Called when the request enters the stack, before anything can refuse it, inside the
    /// request's span.
    fn on_request(&self, request: &ObservedRequest<'_>) -> Self::State;

    /// Called when the response is ready (see the [module docs](self#timing-and-sizes)), with
    /// what `on_request` returned for the same request.
    fn on_response(&self, state: Self::State, response: &ObservedResponse<'_>);
}

/// The request as an observer sees it on its way in: its head, the route it matched and its
/// span.
pub struct ObservedRequest<'a> {
    request: &'a Request,
    route: Option<&'a str>,
    span: &'a Span,
}

impl<'a> ObservedRequest<'a> {
    /// The request method.
    pub fn method(&self) -> &'a Method {
        self.request.method()
    }

    /// The request URI (the raw path: use [`route`](Self::route) for metric labels).
    pub fn uri(&self) -> &'a Uri {
        self.request.uri()
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.request.version()
    }

    /// The request headers, with the request id the stack assigned (when it assigns one).
    pub fn headers(&self) -> &'a HeaderMap {
        self.request.headers()
    }

    /// The request extensions: the peer address (`ConnectInfo<SocketAddr>`), the
    /// [`ForwardedInfo`](super::middleware::ForwardedInfo) of a trusted proxy, and what the
    /// server put there.
    pub fn extensions(&self) -> &'a Extensions {
        self.request.extensions()
    }

    /// The route template the request matched (`/users/{id}`), `None` when no route matched (see
    /// the [module docs](self#route-templates)).
    pub fn route(&self) -> Option<&'a str> {
        self.route
    }

    /// The request's span (`http.request`), where an observer can record fields or set a
    /// parent context. It is disabled (`Span::is_disabled`) when `[http.trace]` is off or the
    /// subscriber does not want it.
    pub fn span(&self) -> &'a Span {
        self.span
    }
}

impl std::fmt::Debug for ObservedRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservedRequest")
            .field("method", self.method())
            .field("uri", self.uri())
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

/// The response as an observer sees it, with what Cortex measured about the request.
pub struct ObservedResponse<'a> {
    method: &'a Method,
    route: Option<&'a str>,
    response: &'a Response,
    /// When the request entered the stack (always set when observers are called).
    start: Option<Instant>,
    /// The latency, once an observer asked for it: the clock is read on demand, once.
    latency: Cell<Option<Duration>>,
    body_size: Option<u64>,
    span: &'a Span,
}

impl<'a> ObservedResponse<'a> {
    /// The request method.
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The route template the request matched (`/users/{id}`), `None` when no route matched:
    /// bounded, fit for a metric label.
    pub fn route(&self) -> Option<&'a str> {
        self.route
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.response.status()
    }

    /// The response headers, as they will be sent (security headers, request id and
    /// `Content-Length` included).
    pub fn headers(&self) -> &'a HeaderMap {
        self.response.headers()
    }

    /// From when the request entered the stack to when the response's head was ready: measured
    /// when an observer first asks for it (the clock is read then, not for observers that never
    /// ask), and the same value for every observer of the request (see the
    /// [module docs](self#per-request-state-and-what-cortex-measures-itself)).
    pub fn latency(&self) -> Duration {
        if let Some(latency) = self.latency.get() {
            return latency;
        }
        let latency = self.start.map_or(Duration::ZERO, |start| start.elapsed());
        self.latency.set(Some(latency));
        latency
    }

    /// The exact size of the response body in bytes, when it is known before the body is sent;
    /// `None` for a streamed body (see the [module docs](self#timing-and-sizes)).
    pub fn body_size(&self) -> Option<u64> {
        self.body_size
    }

    /// The request's span (see [`ObservedRequest::span`]).
    pub fn span(&self) -> &'a Span {
        self.span
    }
}

impl std::fmt::Debug for ObservedResponse<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservedResponse")
            .field("method", self.method)
            .field("route", &self.route)
            .field("status", &self.status())
            .field("latency", &self.latency())
            .field("body_size", &self.body_size)
            .finish_non_exhaustive()
    }
}

/// An observer's per-request state, type-erased: what
/// [`ErasedRequestObserver::on_request_erased`] returns. The state `()` is not kept at all
/// (`None`), and handed back without a type check; any other state is boxed (a zero-sized one
/// is not allocated).
pub struct ObserverState(Option<Box<dyn Any + Send>>);

impl std::fmt::Debug for ObserverState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserverState").finish_non_exhaustive()
    }
}

/// The object-safe form of [`RequestObserver`] that the container binds
/// (`dyn ErasedRequestObserver`) and the stack calls: implemented for every `RequestObserver`,
/// never by hand.
///
/// ```
/// use std::sync::Arc;
/// use cortex_core::http::observe::{
///     ErasedRequestObserver, ObservedRequest, ObservedResponse, RequestObserver,
/// };
///
/// struct Quiet;
/// impl RequestObserver for Quiet {
///     type State = ();
///     fn on_request(&self, _: &ObservedRequest<'_>) {}
///     fn on_response(&self, _: (), _: &ObservedResponse<'_>) {}
/// }
///
/// let observer: Arc<dyn ErasedRequestObserver> = Arc::new(Quiet);
/// assert!(observer.type_name().ends_with("Quiet"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a request observer",
    note = "implement `RequestObserver` for it: `impl RequestObserver for {Self} {{ type State = (); fn on_request(&self, _: &ObservedRequest<'_>) {{}} fn on_response(&self, _: (), response: &ObservedResponse<'_>) {{ .. }} }}`"
)]
pub trait ErasedRequestObserver: Send + Sync + 'static {
    /// The observer's type name, for logs.
    fn type_name(&self) -> &'static str;
    /// [`RequestObserver::on_request`], its state erased.
    fn on_request_erased(&self, request: &ObservedRequest<'_>) -> ObserverState;
    /// [`RequestObserver::on_response`], with the state `on_request_erased` returned.
    fn on_response_erased(&self, state: ObserverState, response: &ObservedResponse<'_>);
}

impl<T: RequestObserver> ErasedRequestObserver for T {
    fn type_name(&self) -> &'static str {
        type_name::<T>()
    }

    #[inline]
    fn on_request_erased(&self, request: &ObservedRequest<'_>) -> ObserverState {
        let state = self.on_request(request);
        if is_unit::<T::State>() {
            // `()`: nothing to keep (the check is a constant, folded at compile time).
            ObserverState(None)
        } else {
            ObserverState(Some(Box::new(state)))
        }
    }

    #[inline]
    fn on_response_erased(&self, state: ObserverState, response: &ObservedResponse<'_>) {
        // The stack hands each observer the state it returned: neither branch can fail.
        let state = match state.0 {
            None => unit::<T::State>(),
            Some(state) => state.downcast::<T::State>().ok().map(|state| *state),
        };
        if let Some(state) = state {
            self.on_response(state, response);
        }
    }
}

/// Whether `S` is `()`.
#[inline(always)]
fn is_unit<S: 'static>() -> bool {
    TypeId::of::<S>() == TypeId::of::<()>()
}

/// `()` as an `S`, when `S` is `()`: the check is on a concrete type with a known vtable, which
/// the compiler folds, so that handing a `()` state back costs nothing (and takes no `unsafe`).
#[inline(always)]
fn unit<S: 'static>() -> Option<S> {
    let mut unit = Some(());
    (&mut unit as &mut dyn Any)
        .downcast_mut::<Option<S>>()
        .and_then(Option::take)
}

/// The container binding that makes `T` (provided on its own, e.g. an `#[injectable]`) a
/// request observer: a `dyn ErasedRequestObserver` named after the type, aliasing `T`'s
/// instance. The app collects every such binding when it builds its stack.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use cortex_core::App;
/// use cortex_core::http::observe::{ObservedRequest, ObservedResponse, RequestObserver, request_observer};
/// use cortex_di::Provider;
///
/// #[derive(Default)]
/// struct Metrics(AtomicU64);
/// impl RequestObserver for Metrics {
///     type State = ();
///     fn on_request(&self, _: &ObservedRequest<'_>) {}
///     fn on_response(&self, _: (), _: &ObservedResponse<'_>) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// // The same instance serves `/metrics` (injected as `Metrics`) and observes requests.
/// let app = App::new()
///     .provide(Provider::value(Metrics::default()))
///     .provide(request_observer::<Metrics>());
/// # let _ = app;
/// ```
#[track_caller]
pub fn request_observer<T: RequestObserver>() -> Provider<dyn ErasedRequestObserver> {
    Provider::<dyn ErasedRequestObserver>::alias::<T>(|observer| observer).named(type_name::<T>())
}

/// The observers a stack calls, in order.
pub(crate) type Observers = Box<[Arc<dyn ErasedRequestObserver>]>;

/// The route template of a request: fixed when the handler was wrapped, or axum's.
pub(crate) enum Template {
    Fixed(&'static str),
    Matched(MatchedPath),
}

impl Template {
    /// The template `fixed` when the stack wraps one route, else axum's [`MatchedPath`].
    #[inline]
    pub(crate) fn of(fixed: Option<&'static str>, request: &Request) -> Option<Template> {
        match fixed {
            Some(route) => Some(Template::Fixed(route)),
            None => request
                .extensions()
                .get::<MatchedPath>()
                .cloned()
                .map(Template::Matched),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Template::Fixed(route) => route,
            Template::Matched(route) => route.as_str(),
        }
    }
}

/// The observers' states for one request: one observer (the usual case) needs no allocation.
enum States {
    One(ObserverState),
    Many(Box<[ObserverState]>),
}

/// One request being observed: what the response side needs (the start time is the core
/// step's, shared with the span and the access log). Kept in the stack's future, not boxed: an
/// allocation and its release cost more per request than moving these bytes.
pub(crate) struct Observing {
    method: Method,
    route: Option<Template>,
    states: States,
}

impl Observing {
    /// Calls every observer's `on_request`; `None` (and nothing done) without observers.
    #[inline(always)]
    pub(crate) fn start(
        observers: &Observers,
        request: &Request,
        route: Option<&'static str>,
        span: &Span,
    ) -> Option<Observing> {
        if observers.is_empty() {
            return None;
        }
        Some(Self::start_observed(observers, request, route, span))
    }

    #[inline(never)]
    fn start_observed(
        observers: &Observers,
        request: &Request,
        route: Option<&'static str>,
        span: &Span,
    ) -> Observing {
        let route = Template::of(route, request);
        let view = ObservedRequest {
            request,
            route: route.as_ref().map(Template::as_str),
            span,
        };
        let states = match &observers[..] {
            [one] => States::One(one.on_request_erased(&view)),
            many => States::Many(many.iter().map(|o| o.on_request_erased(&view)).collect()),
        };
        Observing {
            method: request.method().clone(),
            route,
            states,
        }
    }

    /// Calls every observer's `on_response`, in the same order; `start` is when the request
    /// entered the stack.
    #[inline(never)]
    pub(crate) fn finish(
        self,
        observers: &Observers,
        start: Option<Instant>,
        response: &Response,
        span: &Span,
    ) {
        let Observing {
            method,
            route,
            states,
        } = self;
        let view = ObservedResponse {
            method: &method,
            route: route.as_ref().map(Template::as_str),
            response,
            start,
            latency: Cell::new(None),
            body_size: response.body().size_hint().exact(),
            span,
        };
        match states {
            States::One(state) => {
                if let Some(observer) = observers.first() {
                    observer.on_response_erased(state, &view);
                }
            }
            States::Many(states) => {
                for (observer, state) in observers.iter().zip(states.into_vec()) {
                    observer.on_response_erased(state, &view);
                }
            }
        }
    }
}
