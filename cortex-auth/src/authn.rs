//! Authentication: the [`Authenticator`] trait every mechanism implements (bearer JWT, API keys,
//! session cookies, an app's own), and what a request ends up with ([`AuthOutcome`]).
//!
//! The [`AuthPlugin`](struct@crate::AuthPlugin)'s layer asks the app's authenticators in order
//! (`[auth] order`, by default bearer, API key, session); the first that finds its kind of
//! credential decides. The outcome goes into the request's extensions (for guards and
//! extractors) and, as an [`Identity`](crate::Identity), into the request scope.

use std::future::Future;
use std::pin::Pin;

use cortex_core::openapi::GuardDoc;
use http::Extensions;
use http::request::Parts;

use crate::error::AuthFailure;
use crate::user::CurrentUser;

/// A way to authenticate a request: reads its kind of credential from the request head and says
/// who it belongs to.
///
/// - `Ok(None)`: the request carries no credential of this kind (the next authenticator is
///   asked);
/// - `Ok(Some(user))`: authenticated;
/// - `Err(failure)`: a credential of this kind is there and does not hold (the request is
///   anonymous-with-a-failure: a guard answers `401` and logs the reason).
///
/// `state` is the request's authentication state, kept by the layer until the response: an
/// authenticator that needs to act on the response (a session cookie to set) puts what it needs
/// there and reads it back in [`finish`](Self::finish).
///
/// ```
/// use cortex_auth::{AuthFailure, AuthMethod, Authenticator, CurrentUser};
/// use http::Extensions;
/// use http::request::Parts;
///
/// /// Trusts a header set by a gateway in front of the app (an example only!).
/// struct GatewayHeader;
///
/// impl Authenticator for GatewayHeader {
///     fn name(&self) -> &'static str {
///         "gateway"
///     }
///
///     async fn authenticate(
///         &self,
///         request: &mut Parts,
///         _state: &mut Extensions,
///     ) -> Result<Option<CurrentUser>, AuthFailure> {
///         let Some(value) = request.headers.get("x-gateway-user") else { return Ok(None) };
///         let id = value.to_str().map_err(|_| AuthFailure::Malformed("x-gateway-user"))?;
///         Ok(Some(CurrentUser::builder(id).method(AuthMethod::Other("gateway")).build()))
///     }
/// }
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// A short name (`bearer`, `api_key`, `session`): logs, metrics, `[auth] order`.
    fn name(&self) -> &'static str;

    /// Authenticates the request from its head (see the trait's docs).
    fn authenticate(
        &self,
        request: &mut Parts,
        state: &mut Extensions,
    ) -> impl Future<Output = Result<Option<CurrentUser>, AuthFailure>> + Send;

    /// Runs once the handler has answered, with the state `authenticate` left: sets or clears a
    /// cookie, saves a touched session. The default does nothing.
    fn finish(
        &self,
        state: &mut Extensions,
        response: &mut http::Response<axum::body::Body>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (state, response);
        std::future::ready(())
    }

    /// Declares the mechanism's security scheme to the OpenAPI document and the requirement
    /// alternative it offers (`bearer`, `api_key`, `session`): the auth guards call it for every
    /// configured authenticator. The default declares nothing.
    fn describe(&self, doc: &mut GuardDoc) {
        let _ = doc;
    }
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe form of [`Authenticator`] the plugin keeps: implemented for every
/// `Authenticator`, never by hand.
pub trait ErasedAuthenticator: Send + Sync + 'static {
    /// [`Authenticator::name`].
    fn name(&self) -> &'static str;
    /// [`Authenticator::authenticate`], boxed.
    fn authenticate_boxed<'a>(
        &'a self,
        request: &'a mut Parts,
        state: &'a mut Extensions,
    ) -> Boxed<'a, Result<Option<CurrentUser>, AuthFailure>>;
    /// [`Authenticator::finish`], boxed.
    fn finish_boxed<'a>(
        &'a self,
        state: &'a mut Extensions,
        response: &'a mut http::Response<axum::body::Body>,
    ) -> Boxed<'a, ()>;
    /// [`Authenticator::describe`].
    fn describe_erased(&self, doc: &mut GuardDoc);
}

impl<A: Authenticator> ErasedAuthenticator for A {
    fn name(&self) -> &'static str {
        Authenticator::name(self)
    }

    fn authenticate_boxed<'a>(
        &'a self,
        request: &'a mut Parts,
        state: &'a mut Extensions,
    ) -> Boxed<'a, Result<Option<CurrentUser>, AuthFailure>> {
        Box::pin(self.authenticate(request, state))
    }

    fn finish_boxed<'a>(
        &'a self,
        state: &'a mut Extensions,
        response: &'a mut http::Response<axum::body::Body>,
    ) -> Boxed<'a, ()> {
        Box::pin(self.finish(state, response))
    }

    fn describe_erased(&self, doc: &mut GuardDoc) {
        self.describe(doc)
    }
}

/// What authentication made of a request, in its extensions once the layer has run: guards and
/// the [`CurrentUser`] extractor read it.
#[derive(Debug, Clone)]
pub enum AuthOutcome {
    /// No credential at all.
    Anonymous,
    /// Authenticated.
    User(CurrentUser),
    /// A credential was presented and refused; `by` names the authenticator, `code` the reason
    /// ([`AuthFailure::code`]). The full reason was logged when it happened.
    Failed {
        /// The authenticator that refused it.
        by: &'static str,
        /// [`AuthFailure::code`].
        code: &'static str,
        /// Whether the failure is the server's (a store down): answered `503`, not `401`.
        unavailable: bool,
    },
}

impl AuthOutcome {
    /// The user, when authenticated.
    pub fn user(&self) -> Option<&CurrentUser> {
        match self {
            AuthOutcome::User(user) => Some(user),
            _ => None,
        }
    }
}
