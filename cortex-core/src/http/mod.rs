//! The HTTP layer: errors as RFC 9457 problem details, extractors, middleware.
//!
//! # Layering
//!
//! Imports point one way, from the top of this list to the bottom; nothing imports upwards:
//!
//! - `middleware`: the production stack. It owns the fused service that does every concern in one
//!   future; the rest of the crate reaches it only through [`middleware::Stack`] (and, for an
//!   app, one crate-private handle that says *what* to wrap, never how).
//! - `observe`: the [`observe::RequestObserver`] hook the stack calls per request.
//! - `catch`: [`ProblemLayer`] and the 404/405 fallbacks; the stack reuses its answer to a panic
//!   or to a bare error response.
//! - `response` ([`Created`], [`NoContent`]) and `extract` ([`Json`], [`Valid`], …): built on
//!   the error type.
//! - `error`: [`HttpError`].
//! - `validation` ([`FieldError`]) and `problem` ([`Problem`]): the problem details themselves.
//! - `request_context` ([`current_request_id`]: the request id in scope on this thread) and
//!   `headers` (small-map header lookups for the hot path): leaves.

mod catch;
mod error;
mod extract;
mod headers;
pub mod middleware;
pub mod observe;
mod problem;
mod request_context;
mod response;
mod validation;

pub use catch::{
    PanicHandler, ProblemFuture, ProblemLayer, ProblemService, method_not_allowed, not_found,
    problem_fallbacks,
};
pub use error::{HttpError, HttpOptionExt, HttpResultExt};
pub use extract::{Form, Json, Path, Query, Valid, Validatable};
pub use middleware::LoggedUser;
pub use problem::{PROBLEM_JSON, Problem, problem_types};
pub use request_context::current_request_id;
pub(crate) use request_context::in_request;
pub use response::{Created, NoContent};
pub use validation::FieldError;

/// A boxed error: [`cortex_di::BoxError`] under another name.
#[deprecated(
    note = "use `cortex_di::BoxError` (`cortex::BoxError`, in the prelude): the same type"
)]
pub type BoxError = cortex_di::BoxError;
