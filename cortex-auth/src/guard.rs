//! The auth guards: [`Authenticated`], [`Role`], [`AnyRole`], [`Permission`]; the
//! [`CurrentUser`] and [`Identity`] extractors; resource [`Policy`]s.
//!
//! Every refusal is a problem+json response and, when it is the client's, says nothing about
//! why: `401` with `WWW-Authenticate: Bearer` without a valid credential (`error="invalid_token"`
//! when one was presented and refused), `403` for a user without the role or permission, `503`
//! when a credential store failed, `500` when the [`AuthPlugin`](struct@crate::AuthPlugin)'s layer did
//! not run. The reasons are logged on target `cortex::auth`.

use std::future::Future;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use cortex_core::http::HttpError;
use cortex_core::openapi::{AccessPolicy, GuardDoc};
use cortex_core::routing::Guard;
use cortex_di::BoxError;
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

use crate::authn::AuthOutcome;
use crate::layer::GUARD_SCHEME;
use crate::user::{AuthMethod, CurrentUser, Identity};

const UNAUTHORIZED: &str = "The request lacks valid credentials.";
const FORBIDDEN: &str = "The authenticated user is not allowed to do this.";

/// The request's outcome, or the `500` to answer when the layer did not run.
fn outcome(parts: &Parts) -> Result<&AuthOutcome, HttpError> {
    parts.extensions.get::<AuthOutcome>().ok_or_else(|| {
        tracing::error!(
            target: "cortex::auth",
            path = %parts.uri.path(),
            "no authentication outcome in the request: add the `AuthPlugin` (`App::new().plugin(AuthPlugin)`, or the `auth` feature and `App::discover()`) and configure an authenticator (`[auth.jwt]`, `[auth.api_keys]`, `[auth.sessions]` or `AuthPlugin::authenticator`)"
        );
        HttpError::from_status(StatusCode::INTERNAL_SERVER_ERROR)
    })
}

/// The `401` for a request without a valid credential (RFC 6750's challenge).
fn unauthorized(failed: bool) -> HttpError {
    let challenge = if failed {
        HeaderValue::from_static("Bearer error=\"invalid_token\"")
    } else {
        HeaderValue::from_static("Bearer")
    };
    HttpError::unauthorized(UNAUTHORIZED).with_header(header::WWW_AUTHENTICATE, challenge)
}

fn unavailable() -> HttpError {
    HttpError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Authentication is temporarily unavailable.",
    )
}

/// The user, or the refusal of a request that needs one.
fn require_user(parts: &Parts) -> Result<&CurrentUser, HttpError> {
    match outcome(parts)? {
        AuthOutcome::User(user) => Ok(user),
        AuthOutcome::Anonymous => Err(unauthorized(false)),
        AuthOutcome::Failed {
            unavailable: true, ..
        } => Err(unavailable()),
        AuthOutcome::Failed { .. } => Err(unauthorized(true)),
    }
}

/// The `403` for `user`, logged with what was missing.
fn forbidden(user: &CurrentUser, missing: &str, what: &str, parts: &Parts) -> HttpError {
    tracing::info!(
        target: "cortex::auth",
        user = user.id(),
        missing,
        path = %parts.uri.path(),
        "access refused: the user lacks the {what}"
    );
    let error = HttpError::forbidden(FORBIDDEN);
    if user.method() == AuthMethod::Bearer {
        error.with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"insufficient_scope\""),
        )
    } else {
        error
    }
}

/// Lets authenticated requests through: `401` otherwise.
///
/// ```
/// use cortex_auth::Authenticated;
/// use cortex_core::routing::Guard;
/// use cortex_core::openapi::GuardDoc;
///
/// let mut doc = GuardDoc::new();
/// Authenticated.describe(&mut doc);
/// let security = serde_json::to_value(doc.security().unwrap()).unwrap();
/// assert_eq!(security, serde_json::json!([{ "cortex_auth": [] }]));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Authenticated;

impl Guard for Authenticated {
    async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {
        require_user(request).map(|_| ())
    }

    fn describe(&self, doc: &mut GuardDoc) {
        doc.require(GUARD_SCHEME, &[])
            .access(AccessPolicy::Authenticated)
            .problem_response(StatusCode::UNAUTHORIZED, "No valid credentials");
    }
}

/// Lets through users with the role (directly or through `[auth.roles]`' hierarchy): `401`
/// without a user, `403` without the role.
///
/// ```
/// use cortex_auth::Role;
/// use cortex_core::routing::Guard;
/// use cortex_core::openapi::GuardDoc;
///
/// let mut doc = GuardDoc::new();
/// Role("admin").describe(&mut doc);
/// let security = serde_json::to_value(doc.security().unwrap()).unwrap();
/// assert_eq!(security, serde_json::json!([{ "cortex_auth": ["admin"] }]));
/// assert_eq!(doc.problem_responses().count(), 2);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Role(pub &'static str);

impl Guard for Role {
    async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {
        let user = require_user(request)?;
        if user.has_role(self.0) {
            Ok(())
        } else {
            Err(forbidden(user, self.0, "role", request))
        }
    }

    fn describe(&self, doc: &mut GuardDoc) {
        doc.require(GUARD_SCHEME, &[self.0])
            .access(AccessPolicy::Roles(vec![self.0.to_string()]))
            .problem_response(StatusCode::UNAUTHORIZED, "No valid credentials")
            .problem_response(
                StatusCode::FORBIDDEN,
                format!("The user lacks the role `{}`", self.0),
            );
    }
}

/// Lets through users with any one of the roles: `401` without a user, `403` with none of them.
///
/// ```
/// use cortex_auth::AnyRole;
/// # use cortex_core::routing::Guard;
/// # let mut doc = cortex_core::openapi::GuardDoc::new();
/// AnyRole(&["admin", "editor"]).describe(&mut doc);
/// # assert_eq!(doc.problem_responses().count(), 2);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AnyRole(pub &'static [&'static str]);

impl Guard for AnyRole {
    async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {
        let user = require_user(request)?;
        if self.0.iter().any(|role| user.has_role(role)) {
            Ok(())
        } else {
            Err(forbidden(user, &self.0.join(" | "), "roles", request))
        }
    }

    fn describe(&self, doc: &mut GuardDoc) {
        doc.require(GUARD_SCHEME, self.0)
            .access(AccessPolicy::Roles(
                self.0.iter().map(|role| role.to_string()).collect(),
            ))
            .problem_response(StatusCode::UNAUTHORIZED, "No valid credentials")
            .problem_response(
                StatusCode::FORBIDDEN,
                format!("The user has none of the roles {}", self.0.join(", ")),
            );
    }
}

/// Lets through users holding the permission (granted directly, by an API key's scopes, by a
/// role, or by a wildcard: `posts:*`, `*`): `401` without a user, `403` without it.
///
/// ```
/// use cortex_auth::Permission;
/// # use cortex_core::routing::Guard;
/// # let mut doc = cortex_core::openapi::GuardDoc::new();
/// Permission("posts:delete").describe(&mut doc);
/// # let security = serde_json::to_value(doc.security().unwrap()).unwrap();
/// # assert_eq!(security, serde_json::json!([{ "cortex_auth": ["posts:delete"] }]));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Permission(pub &'static str);

impl Guard for Permission {
    async fn check(&self, request: &mut Parts) -> Result<(), HttpError> {
        let user = require_user(request)?;
        if user.has_permission(self.0) {
            Ok(())
        } else {
            Err(forbidden(user, self.0, "permission", request))
        }
    }

    fn describe(&self, doc: &mut GuardDoc) {
        doc.require(GUARD_SCHEME, &[self.0])
            .access(AccessPolicy::Permissions(vec![self.0.to_string()]))
            .problem_response(StatusCode::UNAUTHORIZED, "No valid credentials")
            .problem_response(
                StatusCode::FORBIDDEN,
                format!("The user lacks the permission `{}`", self.0),
            );
    }
}

/// `user: CurrentUser` as a handler argument: the authenticated user, or the `401` (`503` when
/// a credential store failed, `500` without the [`AuthPlugin`](struct@crate::AuthPlugin)).
impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        require_user(parts).cloned()
    }
}

/// `user: Option<CurrentUser>`: `None` for an anonymous request, and for one whose credential
/// was refused (a stale session cookie must not break a public page; the refusal was logged).
/// A failed credential store is still a `503`, a missing plugin a `500`.
impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match outcome(parts)? {
            AuthOutcome::User(user) => Ok(Some(user.clone())),
            AuthOutcome::Failed {
                unavailable: true, ..
            } => Err(unavailable()),
            _ => Ok(None),
        }
    }
}

/// `identity: Identity` as a handler argument: the user or anonymous (a `500` without the
/// [`AuthPlugin`](struct@crate::AuthPlugin)).
impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Identity::from(outcome(parts)?.user().cloned()))
    }
}

/// A resource policy: may this user do `action` on this resource? Implement it on an injectable
/// service (it may hold repositories), inject it into the handler, and call
/// [`authorize`](Self::authorize), which answers `403` problem details (and logs the refusal)
/// when it does not allow.
///
/// ```
/// use cortex_auth::{CurrentUser, Policy};
/// use cortex_di::BoxError;
///
/// struct Post { author: String }
///
/// struct PostPolicy;
///
/// impl Policy<Post> for PostPolicy {
///     async fn allows(&self, user: &CurrentUser, action: &str, post: &Post) -> Result<bool, BoxError> {
///         Ok(match action {
///             "read" => true,
///             "edit" => post.author == user.id() || user.has_role("editor"),
///             _ => user.has_role("admin"),
///         })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let ada = CurrentUser::builder("ada").build();
/// let post = Post { author: "bob".into() };
/// assert!(PostPolicy.authorize(&ada, "read", &post).await.is_ok());
/// assert_eq!(PostPolicy.authorize(&ada, "edit", &post).await.unwrap_err().status(), 403);
/// # }
/// ```
pub trait Policy<R: ?Sized + Sync>: Send + Sync + 'static {
    /// Whether `user` may do `action` on `resource`. An `Err` (a store down) answers `500` from
    /// [`authorize`](Self::authorize).
    fn allows(
        &self,
        user: &CurrentUser,
        action: &str,
        resource: &R,
    ) -> impl Future<Output = Result<bool, BoxError>> + Send;

    /// `Ok(())` when [`allows`](Self::allows); otherwise the `403` to answer (logged on target
    /// `cortex::auth` with the user, the action and the policy), or a `500` when the policy
    /// failed (logged at `error`). Use it with `?` in a handler.
    fn authorize(
        &self,
        user: &CurrentUser,
        action: &str,
        resource: &R,
    ) -> impl Future<Output = Result<(), HttpError>> + Send {
        async move {
            let policy = std::any::type_name::<Self>();
            match self.allows(user, action, resource).await {
                Ok(true) => Ok(()),
                Ok(false) => {
                    tracing::info!(
                        target: "cortex::auth",
                        user = user.id(),
                        action,
                        policy,
                        "access refused by a policy"
                    );
                    Err(HttpError::forbidden(FORBIDDEN))
                }
                Err(error) => {
                    tracing::error!(
                        target: "cortex::auth",
                        user = user.id(),
                        action,
                        policy,
                        %error,
                        "a policy failed"
                    );
                    Err(HttpError::internal(error))
                }
            }
        }
    }
}
