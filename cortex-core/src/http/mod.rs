//! The HTTP layer: errors as RFC 9457 problem details, extractors, middleware.

mod catch;
mod error;
mod extract;
pub mod middleware;
mod problem;
mod validation;

pub use catch::{
    PanicHandler, ProblemFuture, ProblemLayer, ProblemService, current_request_id,
    method_not_allowed, not_found, problem_fallbacks,
};
pub use error::{Created, HttpError, HttpOptionExt, HttpResultExt, NoContent};

pub use extract::{Form, Json, Path, Query, Valid, Validatable};
pub use problem::{PROBLEM_JSON, Problem, problem_types};
pub use validation::FieldError;

/// A boxed error: [`cortex_di::BoxError`] under another name.
#[deprecated(
    note = "use `cortex_di::BoxError` (`cortex::BoxError`, in the prelude): the same type"
)]
pub type BoxError = cortex_di::BoxError;
