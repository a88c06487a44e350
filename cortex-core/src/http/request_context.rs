//! The request id of the request being handled on this thread, for [`current_request_id`]:
//! put in scope while the request's service is called and its future polled, by [`Scoped`] and
//! [`call_scoped`]. A leaf: the error type reads it, the problem layer and the middleware stack
//! set it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::CatchUnwind;
use http::HeaderValue;
use pin_project_lite::pin_project;

std::thread_local! {
    /// The request id of the request whose handler runs on this thread right now: set by
    /// [`InScope`] while a [`Scoped`] future is polled (or a service called), for
    /// [`current_request_id`]. A `Cell` swapped in and out, not tokio's `task_local!`, whose
    /// future borrows a `RefCell` and moves its value twice on every poll
    /// (docs/src/performance.md#changes-made-for-the-targets).
    static CURRENT_REQUEST_ID: std::cell::Cell<Option<HeaderValue>> =
        const { std::cell::Cell::new(None) };
    /// Whether [`CURRENT_REQUEST_ID`] holds an id: entering a scope without one where there is
    /// none (no request-id middleware, no header) then moves nothing.
    static HAS_REQUEST_ID: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While alive, the request id in `slot` is [`current_request_id`]'s answer on this thread; the
/// slot holds the one it replaced, put back on drop (also when unwinding from a panic).
struct InScope<'a> {
    /// `None` when there was nothing to swap.
    slot: Option<&'a mut Option<HeaderValue>>,
}

impl<'a> InScope<'a> {
    #[inline]
    fn enter(slot: &'a mut Option<HeaderValue>) -> Self {
        if slot.is_none() && !HAS_REQUEST_ID.get() {
            return InScope { slot: None };
        }
        HAS_REQUEST_ID.set(slot.is_some());
        let outer = CURRENT_REQUEST_ID.replace(slot.take());
        *slot = outer;
        InScope { slot: Some(slot) }
    }
}

impl Drop for InScope<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            HAS_REQUEST_ID.set(slot.is_some());
            let ours = CURRENT_REQUEST_ID.replace(slot.take());
            *slot = ours;
        }
    }
}

/// Calls `f` with `request_id` in scope, catching a panic.
#[inline(always)]
pub(crate) fn call_scoped<R>(
    request_id: &mut Option<HeaderValue>,
    f: impl FnOnce() -> R,
) -> std::thread::Result<R> {
    let _in = InScope::enter(request_id);
    std::panic::catch_unwind(AssertUnwindSafe(f))
}

pin_project! {
    /// A future polled with its request id in scope (see [`current_request_id`]) and its panics
    /// caught.
    pub(crate) struct Scoped<F> {
        request_id: Option<HeaderValue>,
        #[pin]
        future: CatchUnwind<AssertUnwindSafe<F>>,
    }
}

impl<F: Future> Scoped<F> {
    pub(crate) fn new(request_id: Option<HeaderValue>, future: F) -> Self {
        Scoped {
            request_id,
            future: AssertUnwindSafe(future).catch_unwind(),
        }
    }

    /// The request id it runs under.
    pub(crate) fn request_id(self: Pin<&mut Self>) -> Option<&HeaderValue> {
        self.project().request_id.as_ref()
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = std::thread::Result<F::Output>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _in = InScope::enter(this.request_id);
        this.future.poll(cx)
    }
}

/// The id of the request being handled, as read by [`ProblemLayer`](super::ProblemLayer) from its
/// `x-request-id` header; `None` outside a `ProblemLayer` or when the request has none (or it is
/// not text).
///
/// Handlers and the code they call see it; tasks they spawn do not.
///
/// ```
/// use axum::{Router, routing::get, body::Body};
/// use cortex_core::http::{ProblemLayer, current_request_id};
/// use http::Request;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app = Router::new()
///     .route("/", get(|| async { current_request_id().unwrap_or_default() }))
///     .layer(ProblemLayer::new());
/// let request = Request::get("/").header("x-request-id", "req-42").body(Body::empty()).unwrap();
/// let body = app.oneshot(request).await.unwrap().into_body();
/// assert_eq!(axum::body::to_bytes(body, 64).await.unwrap(), "req-42");
/// assert_eq!(current_request_id(), None);
/// # }
/// ```
pub fn current_request_id() -> Option<String> {
    let id = CURRENT_REQUEST_ID.take();
    let text = id.as_ref().and_then(|v| v.to_str().ok()).map(str::to_owned);
    CURRENT_REQUEST_ID.set(id);
    text
}

/// The request id in scope, as the header value it came from.
pub(crate) fn current_request_id_value() -> Option<HeaderValue> {
    let id = CURRENT_REQUEST_ID.take();
    let value = id.clone();
    CURRENT_REQUEST_ID.set(id);
    value
}

/// Whether a request's handler is running on this thread (a request id is in scope): one
/// thread-local read, for [`span_wanted`](crate::logging::span_wanted).
pub(crate) fn in_request() -> bool {
    HAS_REQUEST_ID.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &'static str) -> Option<HeaderValue> {
        Some(HeaderValue::from_static(text))
    }

    #[test]
    fn scopes_nest_and_restore_the_outer_id_also_after_a_panic() {
        use std::task::Waker;
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(current_request_id(), None);
        let mut outer = id("outer");
        let seen = call_scoped(&mut outer, || {
            let before = current_request_id();
            let mut inner = Box::pin(Scoped::new(id("inner"), async { current_request_id() }));
            let polled = inner.as_mut().poll(&mut cx);
            let panicked = Box::pin(Scoped::new(id("panics"), async {
                panic!("boom");
            }))
            .as_mut()
            .poll(&mut cx);
            (
                before,
                polled,
                panicked.map(|r| r.is_err()),
                current_request_id(),
            )
        })
        .unwrap();
        assert_eq!(seen.0.as_deref(), Some("outer"));
        assert!(matches!(seen.1, Poll::Ready(Ok(Some(ref id))) if id == "inner"));
        assert_eq!(seen.2, Poll::Ready(true), "the panic is caught");
        assert_eq!(seen.3.as_deref(), Some("outer"), "the outer id is back");
        assert_eq!(outer, id("outer"), "the slot holds its id again");
        assert_eq!(current_request_id(), None, "nothing is left in scope");
    }
}
