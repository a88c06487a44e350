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
use crate::openapi::GuardDoc;

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
///
/// A guard that enforces authentication or authorization says so to the OpenAPI document with
/// [`describe`](Self::describe): the security scheme it needs, the requirement it puts on the
/// operation, the 401/403 it answers. Guards on a controller describe every route of it.
///
/// ```
/// use cortex_core::http::HttpError;
/// use cortex_core::openapi::GuardDoc;
/// use cortex_core::openapi::utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
/// use cortex_core::routing::Guard;
/// use http::StatusCode;
/// use http::request::Parts;
///
/// /// Requires `Authorization: Bearer <token>` (checking the token is left out here).
/// struct BearerAuth;
///
/// impl Guard for BearerAuth {
///     async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {
///         match request.headers.get("authorization") {
///             Some(value) if value.as_bytes().starts_with(b"Bearer ") => Ok(()),
///             _ => Err(HttpError::unauthorized("a bearer token is required")),
///         }
///     }
///
///     fn describe(&self, doc: &mut GuardDoc) {
///         doc.security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)))
///             .require("bearer", &[])
///             .problem_response(StatusCode::UNAUTHORIZED, "No valid bearer token");
///     }
/// }
/// ```
pub trait Guard: Send + Sync + 'static {
    /// `Ok(())` lets the request through; `Err` answers with that error.
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<(), HttpError>> + Send;

    /// Declares what the guard enforces to the OpenAPI document (see [`GuardDoc`]). Called once
    /// per route the guard is on, when the routes are built (the guard's value, injected ones
    /// included, is at hand). The default declares nothing.
    fn describe(&self, doc: &mut GuardDoc) {
        let _ = doc;
    }
}

impl<G: Guard> Guard for Arc<G> {
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<(), HttpError>> + Send {
        (**self).check(request)
    }

    fn describe(&self, doc: &mut GuardDoc) {
        (**self).describe(doc)
    }
}

impl<G: Guard> Guard for cortex_di::Inject<G> {
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<(), HttpError>> + Send {
        (**self).check(request)
    }

    fn describe(&self, doc: &mut GuardDoc) {
        (**self).describe(doc)
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
    /// [`Guard::describe`].
    fn describe_erased(&self, doc: &mut GuardDoc);
    /// The guard's type name, for startup messages.
    fn guard_name(&self) -> &'static str;
}

impl<G: Guard> ErasedGuard for G {
    fn check_boxed<'a>(&'a self, request: &'a mut Parts) -> BoxedCheck<'a> {
        Box::pin(self.check(request))
    }

    fn describe_erased(&self, doc: &mut GuardDoc) {
        self.describe(doc)
    }

    fn guard_name(&self) -> &'static str {
        std::any::type_name::<G>()
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

/// Describes `guards` in `doc`, then runs them in order before the route's handler: what
/// `#[guard]` expands to.
#[doc(hidden)]
pub fn apply_described_guards(
    route: MethodRouter,
    guards: Vec<Arc<dyn ErasedGuard>>,
    doc: &mut GuardDoc,
) -> MethodRouter {
    for guard in &guards {
        doc.describe_guard(&**guard);
    }
    apply_guards(route, guards)
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
