//! What `#[routes]` handlers expand to: each argument extracted in order, the method called, its
//! value turned into a response. Not public API.
//!
//! The generated code names each argument's type once, spanned at the argument, so a type that
//! is not an extractor (or a return type that is not a response) is one error at the offending
//! type, worded by the traits below, instead of axum's "the trait `Handler<_, _>` is not
//! implemented for closure" at the attribute.

use std::future::Future;
use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;

/// A handler argument that reads only the request head: any argument but the last.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument here: it is not an extractor that reads only the request head",
    label = "not an extractor of the request head",
    note = "handler arguments are extractors: `Path<T>`, `Query<T>`, `Inject<T>`, `HeaderMap`, `Method`, ... (types that implement `axum::extract::FromRequestParts`)",
    note = "only the last argument may read the body (`Json<T>`, `Form<T>`, `Valid<Json<T>>`, `String`, `Bytes`): move a body extractor to the end"
)]
pub trait HeadArg: Sized + Send {
    /// Extracts the argument, or the response that rejects the request.
    fn extract(parts: &mut Parts) -> impl Future<Output = Result<Self, Response>> + Send;
}

impl<T: FromRequestParts<()> + Send> HeadArg for T {
    async fn extract(parts: &mut Parts) -> Result<Self, Response> {
        T::from_request_parts(parts, &())
            .await
            .map_err(IntoResponse::into_response)
    }
}

/// A handler's last argument: it may read the body.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be extracted from the request, so it cannot be a handler argument",
    label = "not an extractor",
    note = "handler arguments are extractors: `Path<T>`, `Query<T>`, `Json<T>`, `Form<T>`, `Valid<..>`, `Inject<T>`, `HeaderMap`, ... (types that implement `axum::extract::FromRequestParts` or, for the last argument, `FromRequest`)",
    note = "`Json<T>`, `Form<T>`, `Query<T>` and `Path<T>` need `T: serde::Deserialize`, and `Valid<..>` also `T: validator::Validate`; a value from the container is `Inject<T>`"
)]
pub trait LastArg<M>: Sized + Send {
    /// Extracts the argument, or the response that rejects the request.
    fn extract(request: Request) -> impl Future<Output = Result<Self, Response>> + Send;
}

impl<M, T: FromRequest<(), M> + Send> LastArg<M> for T {
    async fn extract(request: Request) -> Result<Self, Response> {
        T::from_request(request, &())
            .await
            .map_err(IntoResponse::into_response)
    }
}

/// Fails to compile, at the argument, when `T` cannot be extracted from the request head.
pub fn check_head_arg<T: HeadArg>() {}

/// Fails to compile, at the argument, when `T` is no extractor at all.
pub fn check_last_arg<T: LastArg<M>, M>() {}

/// The type of one handler argument, to extract.
///
/// `#[routes]` extracts with `(&&Extract::<T>::new()).head(..)` / `.last(..)`: method resolution
/// picks [`ExtractHead`] / [`ExtractLast`] when `T` is an extractor, and otherwise a fallback
/// that still type-checks, so the one error a user sees is the one
/// [`check_head_arg`] / [`check_last_arg`] reports at the argument.
pub struct Extract<T>(PhantomData<fn() -> T>);

impl<T> Extract<T> {
    /// The marker.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Extract(PhantomData)
    }
}

impl<T> Clone for Extract<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Extract<T> {}

/// Extraction of an argument but the last.
pub trait ExtractHead<T> {
    /// Extracts the argument, or the response that rejects the request.
    fn head<'a>(
        self,
        parts: &'a mut Parts,
    ) -> impl Future<Output = Result<T, Response>> + Send + 'a
    where
        T: 'a;
}

impl<T: HeadArg> ExtractHead<T> for &&Extract<T> {
    fn head<'a>(self, parts: &'a mut Parts) -> impl Future<Output = Result<T, Response>> + Send + 'a
    where
        T: 'a,
    {
        T::extract(parts)
    }
}

/// Extraction of the last argument.
pub trait ExtractLast<T, M> {
    /// Extracts the argument, or the response that rejects the request.
    fn last(self, request: Request) -> impl Future<Output = Result<T, Response>> + Send;
}

impl<M, T: LastArg<M>> ExtractLast<T, M> for &&Extract<T> {
    fn last(self, request: Request) -> impl Future<Output = Result<T, Response>> + Send {
        T::extract(request)
    }
}

/// What an argument that is no extractor resolves to: never run, since the check fails to
/// compile.
pub trait ExtractNone<T> {
    /// Never completes.
    fn head(self, parts: &mut Parts) -> std::future::Pending<Result<T, Response>>;
    /// Never completes.
    fn last(self, request: Request) -> std::future::Pending<Result<T, Response>>;
}

impl<T> ExtractNone<T> for &Extract<T> {
    fn head(self, _: &mut Parts) -> std::future::Pending<Result<T, Response>> {
        std::future::pending()
    }

    fn last(self, _: Request) -> std::future::Pending<Result<T, Response>> {
        std::future::pending()
    }
}

/// A handler's return type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a handler: it does not implement `IntoResponse`",
    label = "not a response",
    note = "return `Json<T>` (with `T: Serialize`), `Created<T>`, `NoContent`, `String`, `StatusCode`, `Result<T, HttpError>`, ... or implement `axum::response::IntoResponse` for it"
)]
pub trait Respond {
    /// The response.
    fn respond(self) -> Response;
}

impl<T: IntoResponse> Respond for T {
    fn respond(self) -> Response {
        self.into_response()
    }
}

/// `value` as the response.
pub fn respond<R: Respond>(value: R) -> Response {
    value.respond()
}

/// Requires the future of an `async fn` handler to be `Send`, so a non-`Send` value held across
/// an `.await` is reported at the handler rather than at the route.
pub fn send<F: Future + Send>(future: F) -> F {
    future
}
