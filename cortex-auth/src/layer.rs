//! The authentication layer: asks the authenticators, records the [`AuthOutcome`](crate::AuthOutcome)
//! in the request's extensions and seeds the request scope's [`Identity`](crate::Identity).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use axum::extract::Request;
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use cortex_core::App;
use cortex_core::http::middleware::Principal;
use cortex_core::http::{HttpError, LoggedUser};
use cortex_core::openapi::GuardDoc;
use cortex_core::openapi::utoipa::openapi::security::{SecurityRequirement, SecurityScheme};
use cortex_core::openapi::utoipa::openapi::{OpenApi, PathItem};
use cortex_di::{BoxError, Container, Provider, RequestScope};
use http::Extensions;
use http::request::Parts;

use tracing::Instrument as _;

use crate::authn::{AuthOutcome, ErasedAuthenticator};
use crate::config::AuthConfig;
use crate::error::{AuthError, AuthFailure};
use crate::observe::Attempts;
use crate::plugin::{ResolveFn, Setup};
use crate::roles::RoleHierarchy;
use crate::user::Identity;

/// The scheme name auth guards require in the OpenAPI document; the plugin rewrites it into the
/// configured authenticators' schemes.
pub(crate) const GUARD_SCHEME: &str = "cortex_auth";

/// The app's authenticators, in the order they are asked (`[auth] order`), and the role
/// hierarchy applied to the users they find: a singleton the [`AuthPlugin`](struct@crate::AuthPlugin)
/// binds when at least one authenticator is configured, which its layer asks on every request.
///
/// Resolve it to authenticate something that is not an HTTP route (a WebSocket upgrade already
/// past the layer, a GraphQL subscription's init payload turned into a request head).
///
/// ```
/// use cortex_auth::{AuthFailure, AuthMethod, AuthOutcome, AuthPlugin, Authentication, Authenticator, CurrentUser};
/// use cortex_core::App;
/// use http::Extensions;
/// use http::request::Parts;
///
/// struct Header;
///
/// impl Authenticator for Header {
///     fn name(&self) -> &'static str { "header" }
///     async fn authenticate(&self, request: &mut Parts, _: &mut Extensions)
///         -> Result<Option<CurrentUser>, AuthFailure> {
///         Ok(request.headers.get("x-user").map(|_| CurrentUser::builder("ada").build()))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::new().plugin(AuthPlugin::default().authenticator(Header)).build().await?;
/// let authentication = app.container().get::<Authentication>()?;
/// assert_eq!(authentication.names().collect::<Vec<_>>(), ["header"]);
/// let (mut parts, ()) = http::Request::get("/").header("x-user", "1").body(())?.into_parts();
/// let outcome = authentication.authenticate(&mut parts, &mut Extensions::new()).await;
/// assert_eq!(outcome.user().map(|u| u.id()), Some("ada"));
/// # Ok(()) }
/// ```
pub struct Authentication {
    authenticators: Vec<Arc<dyn ErasedAuthenticator>>,
    /// Each authenticator's attempt counters, in the same order.
    attempts: Vec<Attempts>,
    roles: Arc<RoleHierarchy>,
}

impl fmt::Debug for Authentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authentication")
            .field("authenticators", &self.names().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Authentication {
    /// The authenticators' names, in the order they are asked.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.authenticators.iter().map(|a| a.name())
    }

    /// The authenticators, in the order they are asked.
    pub fn authenticators(&self) -> &[Arc<dyn ErasedAuthenticator>] {
        &self.authenticators
    }

    /// Asks each authenticator in order (the first answering `Some` or `Err` decides), logs a
    /// failure (target `cortex::auth`: the authenticator, the code and the reason, never the
    /// credential), and applies the role hierarchy to the user found. `state` is what
    /// [`Authenticator::finish`](crate::Authenticator::finish) gets back after the handler.
    ///
    /// The authenticator that decides counts the attempt in
    /// `cortex_auth_attempts_total{mechanism, outcome}` (`outcome` = `ok`, `refused`, or `error`
    /// when its store failed; a request without a credential is not an attempt). When spans
    /// are exported, the attempt is an `auth.authenticate` span (`auth.mechanism`,
    /// `enduser.id` once known, `error.type` = the failure's code; never the credential).
    pub async fn authenticate(&self, request: &mut Parts, state: &mut Extensions) -> AuthOutcome {
        let span = crate::observe::span();
        if span.is_disabled() {
            return self.decide(request, state, &span).await;
        }
        let outcome = self
            .decide(request, state, &span)
            .instrument(span.clone())
            .await;
        crate::observe::record(&span, &outcome);
        outcome
    }

    /// [`authenticate`](Self::authenticate) without its span.
    async fn decide(
        &self,
        request: &mut Parts,
        state: &mut Extensions,
        span: &tracing::Span,
    ) -> AuthOutcome {
        for (authenticator, attempts) in self.authenticators.iter().zip(&self.attempts) {
            match authenticator.authenticate_boxed(request, state).await {
                Ok(None) => continue,
                Ok(Some(user)) => {
                    attempts.ok();
                    span.record("auth.mechanism", authenticator.name());
                    return AuthOutcome::User(self.roles.apply(user));
                }
                Err(failure) => {
                    let by = authenticator.name();
                    span.record("auth.mechanism", by);
                    let code = failure.code();
                    let unavailable = matches!(failure, AuthFailure::Store(_));
                    if unavailable {
                        attempts.error();
                    } else {
                        attempts.refused();
                    }
                    if unavailable {
                        tracing::warn!(
                            target: "cortex::auth",
                            authenticator = by,
                            code,
                            reason = %failure,
                            "authentication unavailable: the credential store failed"
                        );
                    } else {
                        tracing::info!(
                            target: "cortex::auth",
                            authenticator = by,
                            code,
                            reason = %failure,
                            "authentication failed"
                        );
                    }
                    return AuthOutcome::Failed {
                        by,
                        code,
                        unavailable,
                    };
                }
            }
        }
        AuthOutcome::Anonymous
    }

    /// Runs every authenticator's `finish` with the request's state.
    async fn finish(&self, state: &mut Extensions, response: &mut Response) {
        for authenticator in &self.authenticators {
            authenticator.finish_boxed(state, response).await;
        }
    }
}

/// The OpenAPI schemes and requirement alternatives of the configured authenticators, known once
/// the `Authentication` singleton is built (before the routes and the document are).
#[derive(Default)]
struct Described {
    schemes: Vec<(String, SecurityScheme)>,
    /// One entry per alternative: scheme name → scopes (usually none).
    alternatives: Vec<BTreeMap<String, Vec<String>>>,
}

fn describe(authenticators: &[Arc<dyn ErasedAuthenticator>]) -> Described {
    let mut described = Described::default();
    for authenticator in authenticators {
        let mut doc = GuardDoc::new();
        authenticator.describe_erased(&mut doc);
        for (name, scheme) in doc.security_schemes() {
            if !described.schemes.iter().any(|(n, _)| n == name) {
                described.schemes.push((name.to_string(), scheme.clone()));
            }
        }
        for requirement in doc.security().unwrap_or_default() {
            if let Some(alternative) = to_map(&requirement)
                && !described.alternatives.contains(&alternative)
            {
                described.alternatives.push(alternative);
            }
        }
    }
    described
}

fn to_map(requirement: &SecurityRequirement) -> Option<BTreeMap<String, Vec<String>>> {
    serde_json::to_value(requirement)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
}

fn from_map(map: BTreeMap<String, Vec<String>>) -> SecurityRequirement {
    map.into_iter()
        .fold(SecurityRequirement::default(), |r, (name, scopes)| {
            r.add(name, scopes)
        })
}

/// Rewrites every operation's `cortex_auth` requirement (what the auth guards state) into the
/// configured authenticators' alternatives, and adds their schemes to the components.
fn rewrite_document(doc: &mut OpenApi, described: &Described) {
    if described.alternatives.is_empty() {
        return;
    }
    let mut used = false;
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            let Some(security) = operation.security.take() else {
                continue;
            };
            let mut rewritten = Vec::with_capacity(security.len());
            for requirement in security {
                let Some(mut map) = to_map(&requirement) else {
                    rewritten.push(requirement);
                    continue;
                };
                let Some(scopes) = map.remove(GUARD_SCHEME) else {
                    rewritten.push(requirement);
                    continue;
                };
                used = true;
                for alternative in &described.alternatives {
                    let mut combined = map.clone();
                    for (scheme, own) in alternative {
                        let merged = combined.entry(scheme.clone()).or_default();
                        for scope in own.iter().chain(&scopes) {
                            if !merged.contains(scope) {
                                merged.push(scope.clone());
                            }
                        }
                    }
                    let requirement = from_map(combined);
                    if !rewritten.contains(&requirement) {
                        rewritten.push(requirement);
                    }
                }
            }
            operation.security = Some(rewritten);
        }
    }
    if used {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, scheme) in &described.schemes {
            components
                .security_schemes
                .entry(name.clone())
                .or_insert_with(|| scheme.clone().into());
        }
    }
}

fn operations(
    item: &mut PathItem,
) -> impl Iterator<Item = &mut cortex_core::openapi::utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
        item.query.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The authenticators by name, before they are resolved: the modules' registrations and the
/// app's own.
enum Source {
    Registered(crate::plugin::Registration),
    Custom(Arc<dyn ErasedAuthenticator>),
}

impl Source {
    fn name(&self) -> &'static str {
        match self {
            Source::Registered(registration) => registration.name,
            Source::Custom(authenticator) => authenticator.name(),
        }
    }
}

/// Orders `sources` by `[auth] order`: the names it lists first, in its order, the others after,
/// in the default order (bearer, API key, session, then the app's own).
fn order(sources: Vec<Source>, config: &AuthConfig) -> Result<Vec<Source>, AuthError> {
    let known: Vec<&'static str> = sources.iter().map(Source::name).collect();
    for (i, name) in known.iter().enumerate() {
        if known[..i].contains(name) {
            return Err(AuthError::Config {
                key: "auth".into(),
                reason: format!(
                    "has two authenticators named `{name}`; hint: give a custom authenticator another `name()`"
                ),
            });
        }
    }
    let Some(order) = &config.order else {
        return Ok(sources);
    };
    for (i, name) in order.iter().enumerate() {
        if !known.contains(&name.as_str()) {
            return Err(AuthError::Config {
                key: "auth.order".into(),
                reason: format!(
                    "names `{name}`, which is not a configured authenticator; the configured ones are: {}; hint: configure it (`[auth.jwt]`, `[auth.api_keys]`, `[auth.sessions]`, or `AuthPlugin::authenticator`) or remove it",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        crate::error::list(&known)
                    }
                ),
            });
        }
        if order[..i].contains(name) {
            return Err(AuthError::Config {
                key: "auth.order".into(),
                reason: format!("names `{name}` twice; hint: list each authenticator once"),
            });
        }
    }
    let mut sources = sources;
    let position = |name: &str| order.iter().position(|o| o == name).unwrap_or(usize::MAX);
    // Stable: the unlisted keep the default order, after the listed ones.
    sources.sort_by_key(|s| position(s.name()));
    Ok(sources)
}

/// Binds the `Authentication` singleton and adds the layer (nothing when no authenticator is
/// configured).
pub(crate) fn install(app: App, config: &AuthConfig, setup: Setup) -> App {
    let roles = match RoleHierarchy::new(&config.roles) {
        Ok(roles) => Arc::new(roles),
        Err(error) => return app.fail(error),
    };
    let mut sources: Vec<Source> = setup
        .authenticators
        .into_iter()
        .map(Source::Registered)
        .collect();
    sources.extend(setup.custom.into_iter().map(Source::Custom));
    let sources = match order(sources, config) {
        Ok(sources) => sources,
        Err(error) => return app.fail(error),
    };
    if sources.is_empty() {
        return app;
    }
    let described: Arc<OnceLock<Described>> = Arc::default();
    let mut dependencies = Vec::new();
    let mut resolvers = Vec::new();
    for source in sources {
        match source {
            Source::Registered(registration) => {
                dependencies.push(registration.dependency);
                resolvers.push(Resolve::Registered(registration.resolve));
            }
            Source::Custom(authenticator) => resolvers.push(Resolve::Custom(authenticator)),
        }
    }
    let filled = described.clone();
    let mut provider = Provider::factory(move |r| {
        let authenticators = resolvers
            .iter()
            .map(|resolve| match resolve {
                Resolve::Registered(resolve) => resolve(r),
                Resolve::Custom(authenticator) => Ok(authenticator.clone()),
            })
            .collect::<Result<Vec<_>, BoxError>>()?;
        let _ = filled.set(describe(&authenticators));
        Ok(Authentication {
            attempts: authenticators
                .iter()
                .map(|a| Attempts::new(a.name()))
                .collect(),
            authenticators,
            roles: roles.clone(),
        })
    });
    for dependency in dependencies {
        provider = provider.depends_on(dependency);
    }
    app.provide(provider.declared_by("AuthPlugin"))
        .provide(Provider::<Identity>::seeded().declared_by("AuthPlugin"))
        .openapi_with(move |doc| {
            if let Some(described) = described.get() {
                rewrite_document(doc, described);
            }
        })
        .layer(from_fn(authenticate))
}

enum Resolve {
    Registered(ResolveFn),
    Custom(Arc<dyn ErasedAuthenticator>),
}

/// The layer's function: authenticates, records the outcome, seeds the scope, runs the handler,
/// then the authenticators' `finish`.
async fn authenticate(request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Some(container) = parts.extensions.get::<Container>().cloned() else {
        tracing::error!(
            target: "cortex::auth",
            "no container in the request's extensions: the auth layer runs only inside a Cortex app"
        );
        return HttpError::from_status(http::StatusCode::INTERNAL_SERVER_ERROR).into_response();
    };
    let authentication = match container.get::<Authentication>() {
        Ok(authentication) => authentication,
        Err(error) => {
            tracing::error!(target: "cortex::auth", %error, "cannot resolve the authenticators");
            return HttpError::from_status(http::StatusCode::INTERNAL_SERVER_ERROR).into_response();
        }
    };
    let mut state = Extensions::new();
    let outcome = authentication.authenticate(&mut parts, &mut state).await;
    if let AuthOutcome::Failed { code: "csrf", .. } = &outcome {
        // A cookie-borne unsafe request that failed the CSRF checks (logged with the reason by
        // `authenticate`): refused before the handler, whatever the route's guards.
        let mut response = HttpError::forbidden(
            "the request was refused by the cross-site request forgery checks",
        )
        .into_response();
        authentication.finish(&mut state, &mut response).await;
        return response;
    }
    let user = outcome.user().cloned();
    // One allocation for the id, shared by the principal and the access log's user (set only
    // when the access log writes this request's line).
    let user_id: Option<Arc<str>> = user.as_ref().map(|user| user.id().into());
    let logged = user_id
        .clone()
        .filter(|_| LoggedUser::wanted(&parts.extensions));
    if let Some(id) = user_id {
        // Keys `key = "user"` rate limiting in middleware after this layer.
        parts.extensions.insert(Principal::new(id));
    }
    let scope = match parts.extensions.get::<RequestScope>() {
        Some(scope) => scope.clone(),
        None => {
            let scope = container.scope();
            parts.extensions.insert(scope.clone());
            scope
        }
    };
    if let Err(error) = scope.provide(Identity::from(user)) {
        tracing::debug!(target: "cortex::auth", %error, "the request scope has an identity already");
    }
    parts.extensions.insert(outcome);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    authentication.finish(&mut state, &mut response).await;
    if let Some(id) = logged {
        // The access log line's `user_id` (`[http.trace] access_log`).
        response.extensions_mut().insert(LoggedUser::new(id));
    }
    response
}
