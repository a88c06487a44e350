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

/// A check that runs before a handler, with the request's head (headers, extensions — where the
/// request scope, the client address and, with auth, the current user are), and may refuse it.
///
/// Implement it with an `async fn`; the future must be `Send` (the compiler says so at the impl
/// when it is not). `#[guard(expr)]` on a route or controller applies a guard value;
/// `#[guard(inject = Type)]` resolves one from the container. A refusal answers with the
/// `HttpError`'s problem details (typically 401 or 403); the handler never runs.
///
/// ```
/// use cortex_core::http::HttpError;
/// use cortex_core::routing::Guard;
/// use http::request::Parts;
///
/// /// Lets a request through only with the given header.
/// struct RequireHeader(&'static str);
///
/// impl Guard for RequireHeader {
///     async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {
///         if request.headers.contains_key(self.0) {
///             Ok(())
///         } else {
///             Err(HttpError::unauthorized(format!("the `{}` header is required", self.0)))
///         }
///     }
/// }
/// ```
///
/// Cortex keeps guards as [`ErasedGuard`] trait objects, which every `Guard` is.
pub trait Guard: Send + Sync + 'static {
    /// `Ok(())` lets the request through; `Err` answers with that error.
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<(), HttpError>> + Send;
}

impl<G: Guard> Guard for Arc<G> {
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<(), HttpError>> + Send {
        (**self).check(request)
    }
}

impl<G: Guard> Guard for cortex_di::Inject<G> {
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<(), HttpError>> + Send {
        (**self).check(request)
    }
}

/// The boxed future of an [`ErasedGuard`].
type BoxedCheck<'a> = Pin<Box<dyn Future<Output = Result<(), HttpError>> + Send + 'a>>;

/// The object-safe form of [`Guard`] that routes hold (`Arc<dyn ErasedGuard>`): implemented for
/// every `Guard`, never by hand. It boxes the guard's future, as [`cortex_di::OnStart`]'s adapter
/// does for start hooks.
///
/// ```
/// use std::sync::Arc;
/// use cortex_core::routing::{ErasedGuard, guard_fn};
///
/// let guards: Vec<Arc<dyn ErasedGuard>> = vec![Arc::new(guard_fn(|_| Ok(())))];
/// # let _ = guards;
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard",
    label = "not a guard",
    note = "implement `Guard` for it: `impl Guard for {Self} {{ async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {{ .. }} }}`, or use `guard_fn(|parts| ..)`"
)]
pub trait ErasedGuard: Send + Sync + 'static {
    /// [`Guard::check`], boxed.
    fn check_boxed<'a>(&'a self, request: &'a mut Parts) -> BoxedCheck<'a>;
}

impl<G: Guard> ErasedGuard for G {
    fn check_boxed<'a>(&'a self, request: &'a mut Parts) -> BoxedCheck<'a> {
        Box::pin(self.check(request))
    }
}

struct FnGuard<F>(F);

impl<F> Guard for FnGuard<F>
where
    F: Fn(&Parts) -> Result<(), HttpError> + Send + Sync + 'static,
{
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<(), HttpError>> + Send {
        std::future::ready((self.0)(request))
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
pub fn apply_guards(route: MethodRouter, guards: Vec<Arc<dyn ErasedGuard>>) -> MethodRouter {
    if guards.is_empty() {
        return route;
    }
    let guards: Arc<[Arc<dyn ErasedGuard>]> = guards.into();
    route.route_layer(axum::middleware::from_fn_with_state(guards, run_guards))
}

async fn run_guards(
    axum::extract::State(guards): axum::extract::State<Arc<[Arc<dyn ErasedGuard>]>>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    for guard in guards.iter() {
        if let Err(refusal) = guard.check_boxed(&mut parts).await {
            return refusal.into_response();
        }
    }
    next.run(Request::from_parts(parts, body)).await
}
