//! [`GuardDoc`]: what a guard enforces, as the OpenAPI document says it — security schemes in
//! `components.securitySchemes`, a security requirement on the operation, and the problem
//! responses (401, 403) a refusal answers with — and the [`AccessPolicy`] it enforces, for the
//! route table (`cortex routes --audit`) and deny-by-default.

use std::collections::BTreeMap;

use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{SecurityRequirement, SecurityScheme};

use super::OperationDoc;
use crate::routing::{ErasedGuard, RouteError, RouteInfo};

/// What the guards of one route declare to the OpenAPI document: filled in by
/// [`Guard::describe`](crate::routing::Guard::describe), one guard after the other (the
/// controller's and the route's own), when the routes are built.
///
/// - [`security_scheme`](Self::security_scheme) names a scheme (bearer tokens, an API key
///   header, OAuth 2) once for the whole document, in `components.securitySchemes`. Two guards
///   may declare the same name with the same definition; with different ones the app does not
///   start ([`RouteError::ConflictingSecurityScheme`]).
/// - [`require`](Self::require) puts a requirement on the operation. Every requirement a route's
///   guards state must hold at once (each guard runs, and each must pass);
///   [`require_any`](Self::require_any) states one satisfied by any of several schemes.
/// - [`problem_response`](Self::problem_response) documents what a refusal answers
///   (`401 Unauthorized`, `403 Forbidden`, as `application/problem+json`).
/// - [`access`](Self::access) states the [`AccessPolicy`] the guard enforces — who may call the
///   route — for the route table (`cortex routes --audit`) and
///   [`App::deny_by_default`](crate::App::deny_by_default). It adds nothing to the document.
///
/// ```
/// use cortex_core::openapi::GuardDoc;
/// use cortex_core::openapi::utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
/// use http::StatusCode;
///
/// let mut doc = GuardDoc::new();
/// doc.security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)))
///     .require("bearer", &["orders:write"])
///     .problem_response(StatusCode::UNAUTHORIZED, "No valid bearer token")
///     .problem_response(StatusCode::FORBIDDEN, "The token lacks the `orders:write` scope");
/// let security = serde_json::to_value(doc.security().unwrap()).unwrap();
/// assert_eq!(security, serde_json::json!([{ "bearer": ["orders:write"] }]));
/// ```
#[derive(Clone, Default)]
pub struct GuardDoc {
    /// The guard describing itself now (its type), for startup messages.
    guard: &'static str,
    schemes: Vec<Declared>,
    /// Requirements that must all hold; each is a list of alternatives (scheme → scopes).
    requirements: Vec<Vec<BTreeMap<String, Vec<String>>>>,
    responses: Vec<(StatusCode, String)>,
    /// The access policies declared, in the order the guards described themselves.
    access: Vec<AccessPolicy>,
}

/// Who may call a route, as a guard declares it with [`GuardDoc::access`]: what
/// `cortex routes --audit` shows in its ACCESS column, and what
/// [`App::deny_by_default`](crate::App::deny_by_default) asks every route to have (or to be
/// public).
///
/// A guard that declares none is still run, but for the audit and deny-by-default the route has
/// no policy: say what a guard of your own enforces, with [`Custom`](Self::Custom) when none of
/// the other variants fits. Every policy of a route's guards must hold at once (each guard runs,
/// and each must pass).
///
/// ```
/// use cortex_core::openapi::AccessPolicy;
///
/// let admin = AccessPolicy::Roles(vec!["admin".into(), "owner".into()]);
/// assert_eq!(admin.to_string(), "roles: admin or owner");
/// assert_eq!(AccessPolicy::Authenticated.to_string(), "authenticated");
/// assert_eq!(
///     AccessPolicy::Permissions(vec!["posts:read".into(), "posts:delete".into()]).to_string(),
///     "permissions: posts:read and posts:delete"
/// );
/// assert_eq!(AccessPolicy::Custom("office network".into()).to_string(), "custom: office network");
/// // As `CORTEX_INSPECT=routes` writes it.
/// assert_eq!(serde_json::to_value(&admin).unwrap(), serde_json::json!({ "roles": ["admin", "owner"] }));
/// assert_eq!(serde_json::to_value(AccessPolicy::Authenticated).unwrap(), "authenticated");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AccessPolicy {
    /// Any authenticated caller (a user, an API key, a session): `401` otherwise.
    Authenticated,
    /// A caller with any one of these roles (`403` otherwise).
    Roles(Vec<String>),
    /// A caller with every one of these permissions (`403` otherwise).
    Permissions(Vec<String>),
    /// Something else, in words: `office network`, `owner of the post`, `valid webhook signature`.
    Custom(String),
}

impl std::fmt::Display for AccessPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccessPolicy::Authenticated => f.write_str("authenticated"),
            AccessPolicy::Roles(roles) => write!(f, "roles: {}", roles.join(" or ")),
            AccessPolicy::Permissions(permissions) => {
                write!(f, "permissions: {}", permissions.join(" and "))
            }
            AccessPolicy::Custom(what) => write!(f, "custom: {what}"),
        }
    }
}

#[derive(Clone)]
struct Declared {
    name: String,
    scheme: SecurityScheme,
    guard: &'static str,
}

impl std::fmt::Debug for GuardDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardDoc")
            .field(
                "schemes",
                &self.schemes.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .field("requirements", &self.requirements)
            .field("responses", &self.responses)
            .field("access", &self.access)
            .finish()
    }
}

impl GuardDoc {
    /// A description that declares nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares the security scheme `name` for `components.securitySchemes` (once for the whole
    /// document, however many routes declare it).
    pub fn security_scheme(
        &mut self,
        name: impl Into<String>,
        scheme: impl Into<SecurityScheme>,
    ) -> &mut Self {
        let name = name.into();
        let scheme = scheme.into();
        if !self
            .schemes
            .iter()
            .any(|s| s.name == name && s.scheme == scheme)
        {
            self.schemes.push(Declared {
                name,
                scheme,
                guard: self.guard,
            });
        }
        self
    }

    /// Requires the scheme `scheme` (declared with [`security_scheme`](Self::security_scheme),
    /// here or by another guard) with `scopes` (empty for schemes without scopes) on the
    /// operation, in addition to every other requirement of the route's guards.
    pub fn require(&mut self, scheme: impl Into<String>, scopes: &[&str]) -> &mut Self {
        let scopes = scopes.iter().map(|s| s.to_string()).collect();
        self.requirements
            .push(vec![BTreeMap::from([(scheme.into(), scopes)])]);
        self
    }

    /// Requires any one of `alternatives` (each a scheme and its scopes): a guard that accepts a
    /// bearer token or an API key. An empty list requires nothing.
    ///
    /// ```
    /// use cortex_core::openapi::GuardDoc;
    ///
    /// let mut doc = GuardDoc::new();
    /// doc.require_any(&[("bearer", &[]), ("api_key", &[])]);
    /// let security = serde_json::to_value(doc.security().unwrap()).unwrap();
    /// assert_eq!(security, serde_json::json!([{ "bearer": [] }, { "api_key": [] }]));
    /// ```
    pub fn require_any(&mut self, alternatives: &[(&str, &[&str])]) -> &mut Self {
        let alternatives: Vec<_> = alternatives
            .iter()
            .map(|(name, scopes)| {
                BTreeMap::from([(
                    name.to_string(),
                    scopes.iter().map(|s| s.to_string()).collect(),
                )])
            })
            .collect();
        if !alternatives.is_empty() {
            self.requirements.push(alternatives);
        }
        self
    }

    /// Documents a refusal: an `application/problem+json` response for `status` (unless the
    /// handler describes one for that status already).
    pub fn problem_response(
        &mut self,
        status: StatusCode,
        description: impl Into<String>,
    ) -> &mut Self {
        let description = description.into();
        if !self.responses.iter().any(|(s, _)| *s == status) {
            self.responses.push((status, description));
        }
        self
    }

    /// Declares the [`AccessPolicy`] the guard enforces, for the route table
    /// (`cortex routes --audit`) and [`App::deny_by_default`](crate::App::deny_by_default); a
    /// guard enforcing several (a role and a permission) declares each. The OpenAPI document is
    /// unchanged: state the scheme and requirement with
    /// [`security_scheme`](Self::security_scheme) and [`require`](Self::require).
    ///
    /// ```
    /// use cortex_core::openapi::{AccessPolicy, GuardDoc};
    ///
    /// let mut doc = GuardDoc::new();
    /// doc.access(AccessPolicy::Roles(vec!["admin".into()]));
    /// assert_eq!(doc.access_policies(), [AccessPolicy::Roles(vec!["admin".into()])]);
    /// assert!(doc.security().is_none());
    /// ```
    pub fn access(&mut self, policy: AccessPolicy) -> &mut Self {
        if !self.access.contains(&policy) {
            self.access.push(policy);
        }
        self
    }

    /// The access policies declared, in order.
    ///
    /// ```
    /// assert!(cortex_core::openapi::GuardDoc::new().access_policies().is_empty());
    /// ```
    pub fn access_policies(&self) -> &[AccessPolicy] {
        &self.access
    }

    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.schemes.is_empty()
            && self.requirements.is_empty()
            && self.responses.is_empty()
            && self.access.is_empty()
    }

    /// The security schemes declared, by name.
    pub fn security_schemes(&self) -> impl Iterator<Item = (&str, &SecurityScheme)> {
        self.schemes.iter().map(|s| (s.name.as_str(), &s.scheme))
    }

    /// The problem responses declared, by status.
    pub fn problem_responses(&self) -> impl Iterator<Item = (StatusCode, &str)> {
        self.responses.iter().map(|(s, d)| (*s, d.as_str()))
    }

    /// The operation's `security`: the alternatives that satisfy every requirement at once
    /// (each one's schemes together), or `None` when nothing is required.
    ///
    /// ```
    /// use cortex_core::openapi::GuardDoc;
    ///
    /// let mut doc = GuardDoc::new();
    /// doc.require_any(&[("bearer", &["read"]), ("api_key", &[])]); // one guard
    /// doc.require("mtls", &[]);                                      // and another
    /// let security = serde_json::to_value(doc.security().unwrap()).unwrap();
    /// assert_eq!(
    ///     security,
    ///     serde_json::json!([
    ///         { "bearer": ["read"], "mtls": [] },
    ///         { "api_key": [], "mtls": [] },
    ///     ])
    /// );
    /// ```
    pub fn security(&self) -> Option<Vec<SecurityRequirement>> {
        if self.requirements.is_empty() {
            return None;
        }
        let mut combined: Vec<BTreeMap<String, Vec<String>>> = vec![BTreeMap::new()];
        for alternatives in &self.requirements {
            let mut next = Vec::with_capacity(combined.len() * alternatives.len());
            for so_far in &combined {
                for alternative in alternatives {
                    let mut both = so_far.clone();
                    for (scheme, scopes) in alternative {
                        let merged = both.entry(scheme.clone()).or_default();
                        for scope in scopes {
                            if !merged.contains(scope) {
                                merged.push(scope.clone());
                            }
                        }
                    }
                    if !next.contains(&both) {
                        next.push(both);
                    }
                }
            }
            combined = next;
        }
        Some(
            combined
                .into_iter()
                .map(|requirement| {
                    requirement
                        .into_iter()
                        .fold(SecurityRequirement::default(), |r, (name, scopes)| {
                            r.add(name, scopes)
                        })
                })
                .collect(),
        )
    }

    /// Adds what `guard` declares.
    pub(crate) fn describe_guard(&mut self, guard: &dyn ErasedGuard) {
        let previous = std::mem::replace(&mut self.guard, guard.guard_name());
        guard.describe_erased(self);
        self.guard = previous;
    }

    /// Adds what `other` declares.
    pub(crate) fn extend(&mut self, other: GuardDoc) {
        for declared in other.schemes {
            if !self
                .schemes
                .iter()
                .any(|s| s.name == declared.name && s.scheme == declared.scheme)
            {
                self.schemes.push(declared);
            }
        }
        self.requirements.extend(other.requirements);
        for (status, description) in other.responses {
            self.problem_response(status, description);
        }
        for policy in other.access {
            self.access(policy);
        }
    }

    /// Puts the requirement and the responses on `op`.
    pub(crate) fn apply(&self, op: &mut OperationDoc) {
        if let Some(security) = self.security() {
            op.operation_mut()
                .security
                .get_or_insert_with(Vec::new)
                .extend(security);
        }
        for (status, description) in &self.responses {
            op.problem_response(status.as_str(), description);
        }
    }
}

/// The security schemes the guards declared so far, to refuse one name with two definitions.
#[derive(Default)]
pub(crate) struct SchemeRegistry {
    declared: BTreeMap<String, (SecurityScheme, String)>,
}

impl SchemeRegistry {
    /// Records the schemes of `info`'s guards; returns those new to the document, and a problem
    /// for each name declared before with another definition.
    pub(crate) fn declare<'a>(
        &mut self,
        info: &RouteInfo,
        doc: &'a GuardDoc,
        problems: &mut Vec<RouteError>,
    ) -> Vec<(&'a str, &'a SecurityScheme)> {
        let mut new = Vec::new();
        for declared in &doc.schemes {
            let by = format!("guard `{}` of `{}`", declared.guard, info.handler);
            match self.declared.get(&declared.name) {
                Some((scheme, _)) if *scheme == declared.scheme => {}
                Some((scheme, first)) => problems.push(RouteError::ConflictingSecurityScheme {
                    scheme: declared.name.clone(),
                    first: first.clone(),
                    first_definition: json(scheme),
                    second: by,
                    second_definition: json(&declared.scheme),
                }),
                None => {
                    self.declared
                        .insert(declared.name.clone(), (declared.scheme.clone(), by));
                    new.push((declared.name.as_str(), &declared.scheme));
                }
            }
        }
        new
    }
}

fn json(scheme: &SecurityScheme) -> String {
    serde_json::to_string(scheme).unwrap_or_default()
}
