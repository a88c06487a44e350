//! Who a request is: [`CurrentUser`], how it proved it ([`AuthMethod`]), and the request-scoped
//! [`Identity`] that services inject.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

/// How a request proved who it is.
///
/// ```
/// use cortex_auth::AuthMethod;
/// assert_eq!(AuthMethod::Bearer.as_str(), "bearer");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// A JWT access token in `Authorization: Bearer`.
    Bearer,
    /// An API key.
    ApiKey,
    /// A session cookie.
    Session,
    /// An [`Authenticator`](crate::Authenticator) of the app's own, by its name.
    Other(&'static str),
}

impl AuthMethod {
    /// A short lowercase name, for logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthMethod::Bearer => "bearer",
            AuthMethod::ApiKey => "api_key",
            AuthMethod::Session => "session",
            AuthMethod::Other(name) => name,
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

struct Inner {
    id: String,
    roles: BTreeSet<String>,
    permissions: BTreeSet<String>,
    method: AuthMethod,
    claims: Map<String, Value>,
    credential: Option<String>,
}

/// The authenticated user of a request: an id, roles and permissions (with the role hierarchy of
/// `[auth.roles]` already applied), how it authenticated, and the claims that came with it.
///
/// Cheap to clone (one `Arc`). Take it as a handler argument (`user: CurrentUser` answers `401`
/// without one; `user: Option<CurrentUser>` lets anonymous requests through), or inject
/// [`Identity`] into a request-scoped service.
///
/// ```
/// use cortex_auth::{AuthMethod, CurrentUser};
///
/// let user = CurrentUser::builder("42")
///     .roles(["editor"])
///     .permissions(["posts:write"])
///     .method(AuthMethod::Bearer)
///     .claim("name", "Ada")
///     .build();
/// assert_eq!(user.id(), "42");
/// assert!(user.has_role("editor") && !user.has_role("admin"));
/// assert!(user.has_permission("posts:write"));
/// assert_eq!(user.claim("name").and_then(|v| v.as_str()), Some("Ada"));
/// ```
#[derive(Clone)]
pub struct CurrentUser(Arc<Inner>);

impl CurrentUser {
    /// Starts a user with the id `id` (the JWT `sub`, the API key's owner, the session's user).
    pub fn builder(id: impl Into<String>) -> CurrentUserBuilder {
        CurrentUserBuilder {
            inner: Inner {
                id: id.into(),
                roles: BTreeSet::new(),
                permissions: BTreeSet::new(),
                method: AuthMethod::Other("unknown"),
                claims: Map::new(),
                credential: None,
            },
        }
    }

    /// The user's id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The user's roles, those the hierarchy implies included, in order.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.0.roles.iter().map(String::as_str)
    }

    /// Whether the user has `role` (directly or through the hierarchy).
    pub fn has_role(&self, role: &str) -> bool {
        self.0.roles.contains(role)
    }

    /// The user's permissions (granted directly, by an API key's scopes or by its roles).
    pub fn permissions(&self) -> impl Iterator<Item = &str> {
        self.0.permissions.iter().map(String::as_str)
    }

    /// Whether the user holds `permission`: exactly, or through a wildcard (`posts:*` holds
    /// `posts:delete`, `*` holds everything).
    ///
    /// ```
    /// use cortex_auth::CurrentUser;
    /// let user = CurrentUser::builder("1").permissions(["posts:*"]).build();
    /// assert!(user.has_permission("posts:delete"));
    /// assert!(!user.has_permission("users:delete"));
    /// assert!(!user.has_permission("posts"));
    /// ```
    pub fn has_permission(&self, permission: &str) -> bool {
        let held = &self.0.permissions;
        if held.contains(permission) || held.contains("*") {
            return true;
        }
        // `a:b:*` holds `a:b:c` and `a:b:c:d`.
        let mut end = permission.len();
        while let Some(colon) = permission[..end].rfind(':') {
            if held.contains(&format!("{}:*", &permission[..colon])) {
                return true;
            }
            end = colon;
        }
        false
    }

    /// How the request authenticated.
    pub fn method(&self) -> AuthMethod {
        self.0.method
    }

    /// A claim that came with the credential (a JWT claim, a session value), by name.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.0.claims.get(name)
    }

    /// Every claim.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.0.claims
    }

    /// The id of the credential that authenticated the request (a JWT's `jti`, an API key's
    /// prefix, a session's id hashed), for audit logs; never the secret itself.
    pub fn credential_id(&self) -> Option<&str> {
        self.0.credential.as_deref()
    }

    /// A copy with `roles` (and the permissions they imply) added: what the role hierarchy does
    /// once per request.
    pub(crate) fn with_effective(
        &self,
        roles: impl IntoIterator<Item = String>,
        permissions: impl IntoIterator<Item = String>,
    ) -> CurrentUser {
        let mut roles_all = self.0.roles.clone();
        roles_all.extend(roles);
        let mut permissions_all = self.0.permissions.clone();
        permissions_all.extend(permissions);
        CurrentUser(Arc::new(Inner {
            id: self.0.id.clone(),
            roles: roles_all,
            permissions: permissions_all,
            method: self.0.method,
            claims: self.0.claims.clone(),
            credential: self.0.credential.clone(),
        }))
    }
}

impl fmt::Debug for CurrentUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Claims may carry personal data: not printed.
        f.debug_struct("CurrentUser")
            .field("id", &self.0.id)
            .field("roles", &self.0.roles)
            .field("permissions", &self.0.permissions)
            .field("method", &self.0.method)
            .finish_non_exhaustive()
    }
}

/// Builds a [`CurrentUser`] (see [`CurrentUser::builder`]): what an
/// [`Authenticator`](crate::Authenticator) returns.
#[derive(Debug)]
#[must_use]
pub struct CurrentUserBuilder {
    inner: Inner,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl CurrentUserBuilder {
    /// Grants roles.
    pub fn roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.roles.extend(roles.into_iter().map(Into::into));
        self
    }

    /// Grants permissions (`posts:delete`, `posts:*`).
    pub fn permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner
            .permissions
            .extend(permissions.into_iter().map(Into::into));
        self
    }

    /// Says how the user authenticated.
    pub fn method(mut self, method: AuthMethod) -> Self {
        self.inner.method = method;
        self
    }

    /// Adds a claim.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.inner.claims.insert(name.into(), value.into());
        self
    }

    /// Adds every claim of `claims`.
    pub fn claims(mut self, claims: Map<String, Value>) -> Self {
        self.inner.claims.extend(claims);
        self
    }

    /// Records the id of the credential (never the secret).
    pub fn credential_id(mut self, id: impl Into<String>) -> Self {
        self.inner.credential = Some(id.into());
        self
    }

    /// The user.
    pub fn build(self) -> CurrentUser {
        CurrentUser(Arc::new(self.inner))
    }
}

/// The request's identity, seeded into every request scope by the [`AuthPlugin`](struct@crate::AuthPlugin)'s
/// layer: inject it (`Inject<Identity>`) into request-scoped services that need to know who asks.
///
/// ```
/// use cortex_auth::{CurrentUser, Identity};
///
/// let anonymous = Identity::anonymous();
/// assert!(anonymous.user().is_none());
/// let ada = Identity::from(CurrentUser::builder("ada").build());
/// assert_eq!(ada.user().map(CurrentUser::id), Some("ada"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Identity(Option<CurrentUser>);

impl Identity {
    /// No authenticated user.
    pub fn anonymous() -> Self {
        Identity(None)
    }

    /// The user, if the request authenticated.
    pub fn user(&self) -> Option<&CurrentUser> {
        self.0.as_ref()
    }

    /// The user, or the `401` to answer without one.
    pub fn require(&self) -> Result<&CurrentUser, cortex_core::http::HttpError> {
        self.0
            .as_ref()
            .ok_or_else(|| cortex_core::http::HttpError::unauthorized("authentication is required"))
    }
}

impl From<CurrentUser> for Identity {
    fn from(user: CurrentUser) -> Self {
        Identity(Some(user))
    }
}

impl From<Option<CurrentUser>> for Identity {
    fn from(user: Option<CurrentUser>) -> Self {
        Identity(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(permission: &str) -> CurrentUser {
        CurrentUser::builder("1").permissions([permission]).build()
    }

    #[test]
    fn each_method_has_its_short_name() {
        assert_eq!(AuthMethod::Bearer.as_str(), "bearer");
        assert_eq!(AuthMethod::ApiKey.as_str(), "api_key");
        assert_eq!(AuthMethod::Session.as_str(), "session");
        assert_eq!(AuthMethod::Other("ldap").as_str(), "ldap");
        assert_eq!(AuthMethod::ApiKey.to_string(), "api_key");
        assert_eq!(format!("{}", AuthMethod::Other("ldap")), "ldap");
    }

    #[test]
    fn a_wildcard_holds_every_level_below_it_and_nothing_else() {
        assert!(holding("a:b:*").has_permission("a:b:c"));
        assert!(holding("a:b:*").has_permission("a:b:c:d"));
        assert!(holding("a:*").has_permission("a:b:c:d"));
        assert!(holding("*").has_permission("anything:at:all"));
        assert!(holding("a:b").has_permission("a:b"));
        assert!(!holding("a:b:*").has_permission("a:b"));
        assert!(!holding("a:b:*").has_permission("a:c:d"));
        assert!(!holding("a:*").has_permission("a"));
        assert!(!holding("a:*").has_permission("ab:c"));
        assert!(!holding("a:b").has_permission("a:*"));
        assert!(!holding("a:b").has_permission("a:b:c"));
        assert!(!CurrentUser::builder("1").build().has_permission(""));
    }

    #[test]
    fn the_builder_sets_what_the_accessors_read() {
        let mut more = Map::new();
        more.insert("tenant".into(), "acme".into());
        let user = CurrentUser::builder("42")
            .roles(["b", "a"])
            .permissions(["p:2", "p:1"])
            .method(AuthMethod::Session)
            .claim("name", "Ada")
            .claims(more)
            .credential_id("jti-1")
            .build();
        assert_eq!(user.id(), "42");
        assert_eq!(user.roles().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(user.permissions().collect::<Vec<_>>(), ["p:1", "p:2"]);
        assert_eq!(user.method(), AuthMethod::Session);
        assert_eq!(user.claim("name"), Some(&Value::from("Ada")));
        assert_eq!(user.claim("tenant"), Some(&Value::from("acme")));
        assert_eq!(user.claim("missing"), None);
        assert_eq!(user.claims().len(), 2);
        assert_eq!(user.credential_id(), Some("jti-1"));
        let bare = CurrentUser::builder("7").build();
        assert_eq!(bare.method(), AuthMethod::Other("unknown"));
        assert_eq!(bare.credential_id(), None);
        assert!(bare.claims().is_empty() && bare.permissions().next().is_none());
    }

    #[test]
    fn with_effective_adds_roles_and_permissions_and_keeps_the_rest() {
        let user = CurrentUser::builder("42")
            .roles(["admin"])
            .permissions(["own"])
            .method(AuthMethod::Bearer)
            .claim("name", "Ada")
            .credential_id("jti-1")
            .build();
        let effective = user.with_effective(["editor".to_string()], ["posts:*".to_string()]);
        assert_eq!(effective.roles().collect::<Vec<_>>(), ["admin", "editor"]);
        assert!(effective.has_permission("posts:delete") && effective.has_permission("own"));
        assert_eq!(effective.id(), "42");
        assert_eq!(effective.method(), AuthMethod::Bearer);
        assert_eq!(effective.claim("name"), Some(&Value::from("Ada")));
        assert_eq!(effective.credential_id(), Some("jti-1"));
        assert!(!user.has_role("editor"), "the original is unchanged");
    }

    #[test]
    fn debug_prints_no_claim() {
        let user = CurrentUser::builder("42")
            .roles(["admin"])
            .claim("email", "ada@example.com")
            .build();
        let printed = format!("{user:?}");
        assert!(
            printed.contains("\"42\"") && printed.contains("admin"),
            "{printed}"
        );
        assert!(!printed.contains("ada@example.com"), "{printed}");
        let builder = format!(
            "{:?}",
            CurrentUser::builder("42").claim("email", "ada@example.com")
        );
        assert!(
            builder.contains("\"42\"") && !builder.contains("ada@example.com"),
            "{builder}"
        );
    }

    #[test]
    fn identity_requires_a_user_or_answers_401() {
        let anonymous = Identity::from(None);
        assert_eq!(anonymous.require().unwrap_err().status(), 401);
        assert!(Identity::anonymous().user().is_none());
        assert_eq!(
            Identity::from(CurrentUser::builder("bob").build())
                .user()
                .map(CurrentUser::id),
            Some("bob")
        );
        let ada = Identity::from(Some(CurrentUser::builder("ada").build()));
        assert_eq!(ada.require().map(CurrentUser::id).ok(), Some("ada"));
    }
}
