//! Guards: checks that run before a handler and may refuse the request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use http::request::Parts;

use crate::http::HttpError;

/// The future a [`Guard`] returns.
pub type GuardFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HttpError>> + Send + 'a>>;

/// A check that runs before a handler, with the request's head (headers, extensions — where the
/// request scope, the client address and, with auth, the current user are), and may refuse it.
///
/// `#[guard(expr)]` on a route or controller applies a guard value; `#[guard(inject = Type)]`
/// resolves one from the container. A refusal answers with the `HttpError`'s problem details
/// (typically 401 or 403); the handler never runs.
///
/// ```
/// use cortex_core::http::HttpError;
/// use cortex_core::routing::{Guard, GuardFuture};
/// use http::request::Parts;
///
/// /// Lets a request through only with the given header.
/// struct RequireHeader(&'static str);
///
/// impl Guard for RequireHeader {
///     fn check<'a>(&'a self, request: &'a mut Parts) -> GuardFuture<'a> {
///         Box::pin(async move {
///             if request.headers.contains_key(self.0) {
///                 Ok(())
///             } else {
///                 Err(HttpError::unauthorized(format!("the `{}` header is required", self.0)))
///             }
///         })
///     }
/// }
/// ```
pub trait Guard: Send + Sync + 'static {
    /// `Ok(())` lets the request through; `Err` answers with that error.
    fn check<'a>(&'a self, request: &'a mut Parts) -> GuardFuture<'a>;
}

impl<G: Guard + ?Sized> Guard for Arc<G> {
    fn check<'a>(&'a self, request: &'a mut Parts) -> GuardFuture<'a> {
        (**self).check(request)
    }
}

impl<G: Guard + ?Sized> Guard for cortex_di::Inject<G> {
    fn check<'a>(&'a self, request: &'a mut Parts) -> GuardFuture<'a> {
        (**self).check(request)
    }
}

struct FnGuard<F>(F);

impl<F> Guard for FnGuard<F>
where
    F: Fn(&Parts) -> Result<(), HttpError> + Send + Sync + 'static,
{
    fn check<'a>(&'a self, request: &'a mut Parts) -> GuardFuture<'a> {
        let outcome = (self.0)(request);
        Box::pin(std::future::ready(outcome))
    }
}

/// A guard from a synchronous function of the request head.
///
/// ```
/// use cortex_core::http::HttpError;
/// use cortex_core::routing::guard_fn;
/// let json_only = guard_fn(|parts| match parts.headers.get("accept") {
///     Some(v) if v == "application/json" => Ok(()),
///     _ => Err(HttpError::new(http::StatusCode::NOT_ACCEPTABLE, "this endpoint only answers JSON")),
/// });
/// # let _ = json_only;
/// ```
pub fn guard_fn<F>(check: F) -> impl Guard
where
    F: Fn(&Parts) -> Result<(), HttpError> + Send + Sync + 'static,
{
    FnGuard(check)
}

/// Runs `guards` in order before the route's handler.
#[doc(hidden)]
pub fn apply_guards(route: MethodRouter, guards: Vec<Arc<dyn Guard>>) -> MethodRouter {
    if guards.is_empty() {
        return route;
    }
    let guards: Arc<[Arc<dyn Guard>]> = guards.into();
    route.route_layer(axum::middleware::from_fn_with_state(guards, run_guards))
}

async fn run_guards(
    axum::extract::State(guards): axum::extract::State<Arc<[Arc<dyn Guard>]>>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    for guard in guards.iter() {
        if let Err(refusal) = guard.check(&mut parts).await {
            return refusal.into_response();
        }
    }
    next.run(Request::from_parts(parts, body)).await
}
