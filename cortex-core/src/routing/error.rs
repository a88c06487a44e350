//! Why routes cannot be served as declared: [`RouteError`], each problem a caller can match, and
//! [`RouteErrors`], all of them at once.

use std::fmt;

/// One problem with the routes, found when the app is built. Each message says what is wrong and
/// how to fix it.
///
/// ```
/// use cortex_core::routing::RouteError;
///
/// let error = RouteError::Duplicate {
///     method: "GET".into(),
///     path: "/users".into(),
///     first: "UserController::list".into(),
///     second: "AdminController::users".into(),
/// };
/// assert_eq!(
///     error.to_string(),
///     "GET /users is served by both `UserController::list` and `AdminController::users`; hint: change one path or method"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// Two handlers serve the same method and path.
    #[error(
        "{method} {path} is served by both `{first}` and `{second}`; hint: change one path or method"
    )]
    Duplicate {
        /// The HTTP method.
        method: String,
        /// The full path.
        path: String,
        /// The handler registered first.
        first: String,
        /// The handler registered second.
        second: String,
    },
    /// A route's path is also one the framework serves (the OpenAPI document or UI).
    #[error(
        "{path} is served by `{handler}` and by {framework}; hint: set `openapi.path` / `openapi.docs_path` in the configuration"
    )]
    ConflictingPath {
        /// The path both serve.
        path: String,
        /// The app's handler.
        handler: String,
        /// What in the framework serves it too (`the OpenAPI document`, `the OpenAPI UI`).
        framework: &'static str,
    },
    /// Two routes' paths overlap: axum's router (matchit) cannot tell which of them a request is
    /// for, and would refuse them at startup. Found before the routes are handed to axum.
    ///
    /// ```
    /// use cortex_core::routing::RouteError;
    ///
    /// let error = RouteError::Overlap {
    ///     path: "/users/{name}".into(),
    ///     handler: "Admin::user".into(),
    ///     other_path: "/users/{id}".into(),
    ///     other_handler: "Users::show".into(),
    ///     hint: "name the parameter the same in both paths, or tell them apart by a static segment",
    /// };
    /// assert!(error.to_string().starts_with(
    ///     "route /users/{name} (`Admin::user`) overlaps /users/{id} (`Users::show`)"
    /// ));
    /// ```
    #[error(
        "route {path} (`{handler}`) overlaps {other_path} (`{other_handler}`): a request could match either; hint: {hint}"
    )]
    Overlap {
        /// The path found to overlap.
        path: String,
        /// A handler at `path` (the first registered there).
        handler: String,
        /// The path it overlaps, registered before it.
        other_path: String,
        /// A handler at `other_path`.
        other_handler: String,
        /// How to fix it, for this pair of paths.
        hint: &'static str,
    },
    /// A route's path is one the framework serves (health, OpenAPI, a static directory), or
    /// overlaps it. (An exact OpenAPI path is [`ConflictingPath`](Self::ConflictingPath), as
    /// before.) The framework's paths are reserved for every method.
    #[error(
        "route {path} (`{handler}`) conflicts with {framework_path}, which Cortex serves ({framework_handler}); hint: {}",
        reserved_hint(*.origin)
    )]
    Reserved {
        /// The app's path.
        path: String,
        /// A handler at `path`.
        handler: String,
        /// The framework route's path, as the route table shows it.
        framework_path: String,
        /// What answers it (`liveness`, `files of public`, ...).
        framework_handler: String,
        /// Which part of Cortex serves it.
        origin: super::FrameworkOrigin,
    },
    /// A route's path is not one axum accepts: it would panic at startup.
    #[error("route {path:?} (`{handler}`): {reason}; hint: {hint}")]
    InvalidPath {
        /// The path.
        path: String,
        /// The handler.
        handler: String,
        /// What is wrong with it.
        reason: &'static str,
        /// How to write it.
        hint: &'static str,
    },
    /// A handler takes an `Inject<T>` argument that nothing provides.
    #[error(
        "handler `{handler}` ({method} {path}) needs `{dependency}` (argument `{argument}`), but nothing provides it; hint: annotate it with #[injectable] or register it"
    )]
    UnknownDependency {
        /// The handler.
        handler: String,
        /// Its HTTP method.
        method: String,
        /// Its path.
        path: String,
        /// The type (and name) it asks for.
        dependency: String,
        /// The argument that asks.
        argument: String,
    },
    /// Two guards declare one OpenAPI security scheme name (see
    /// [`GuardDoc::security_scheme`](crate::openapi::GuardDoc::security_scheme)) with different
    /// definitions: the document could name only one.
    #[error(
        "the OpenAPI security scheme `{scheme}` is declared by {first} as {first_definition} and by {second} as {second_definition}; hint: declare one definition per name (a shared constructor), or give the other scheme another name"
    )]
    ConflictingSecurityScheme {
        /// The scheme's name.
        scheme: String,
        /// The guard and route that declared it first.
        first: String,
        /// The first definition, as JSON.
        first_definition: String,
        /// The guard and route that declared it again.
        second: String,
        /// The second definition, as JSON.
        second_definition: String,
    },
    /// [`App::deny_by_default`](crate::App::deny_by_default) is on and routes have neither a
    /// guard that declares an access policy ([`GuardDoc::access`](crate::openapi::GuardDoc::access))
    /// nor `#[public]` ([`Route::public`](super::Route::public)): one error listing them all.
    ///
    /// ```
    /// use cortex_core::routing::RouteError;
    ///
    /// let error = RouteError::Unguarded {
    ///     routes: vec!["GET /users (UserController::list)".into(), "POST /hooks (hook)".into()],
    /// };
    /// assert!(error.to_string().starts_with(
    ///     "deny-by-default: 2 routes have no access policy: GET /users (UserController::list), POST /hooks (hook); hint: add #[guard(Authenticated)] or #[public]"
    /// ));
    /// ```
    #[error(
        "deny-by-default: {} {} no access policy: {}; hint: add #[guard(Authenticated)] or #[public] to each (a plugin's or the app's route: a guard that declares one, or `Route::public()`); a guard of your own declares what it enforces in `Guard::describe` with `GuardDoc::access`",
        routes.len(),
        if routes.len() == 1 { "route has" } else { "routes have" },
        routes.join(", ")
    )]
    Unguarded {
        /// Each route, as `METHOD path (handler)`, with the guards it has when they declare no
        /// policy.
        routes: Vec<String>,
    },
    /// A route is marked public (`#[public]`, [`Route::public`](super::Route::public)) but its
    /// guards (its controller's, say) declare an access policy: one of the two is a mistake.
    #[error(
        "{method} {path} (`{handler}`) is marked public, but its guards require {policies}; hint: remove #[public] / `Route::public()`, or move the route out of the guarded controller"
    )]
    PublicWithAccessPolicy {
        /// The HTTP method.
        method: String,
        /// The full path.
        path: String,
        /// The handler.
        handler: String,
        /// The policies its guards declare, as `cortex routes --audit` shows them.
        policies: String,
    },
    /// A controller's routes could not be built: resolving the controller, or a guard it injects,
    /// failed.
    #[error("controller `{controller}`: {source}")]
    Controller {
        /// The controller's type.
        controller: String,
        /// What the container said.
        #[source]
        source: cortex_di::Error,
    },
}

fn reserved_hint(origin: super::FrameworkOrigin) -> &'static str {
    use super::FrameworkOrigin;
    match origin {
        FrameworkOrigin::Health => {
            "/health/live and /health/ready are reserved for the probes: move the route"
        }
        FrameworkOrigin::OpenApi => {
            "move the route, or set `openapi.path` / `openapi.docs_path` in the configuration"
        }
        FrameworkOrigin::Static => "move the route, or change that `[[http.static]] path`",
    }
}

/// Every [`RouteError`] found when the app was built (inside
/// [`AppError::Routes`](crate::AppError::Routes)). One problem reads as its own message; several
/// as a list.
///
/// ```
/// use cortex_core::routing::{RouteError, RouteErrors};
///
/// let errors = RouteErrors(vec![RouteError::ConflictingPath {
///     path: "/docs".into(),
///     handler: "Docs::index".into(),
///     framework: "the OpenAPI UI",
/// }]);
/// assert!(matches!(errors.errors(), [RouteError::ConflictingPath { path, .. }] if path == "/docs"));
/// assert!(errors.to_string().starts_with("/docs is served by `Docs::index` and by the OpenAPI UI"));
/// ```
#[derive(Debug)]
pub struct RouteErrors(pub Vec<RouteError>);

impl RouteErrors {
    /// The problems, in the order they were found.
    pub fn errors(&self) -> &[RouteError] {
        &self.0
    }
}

impl fmt::Display for RouteErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} route problems:", many.len())?;
                for problem in many {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for RouteErrors {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.0.as_slice() {
            [one] => std::error::Error::source(one),
            _ => None,
        }
    }
}
