//! The role hierarchy (`[auth.roles]`): which roles a role includes and which permissions it
//! grants, applied once per authenticated request.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::error::AuthError;
use crate::user::CurrentUser;

/// One role of `[auth.roles]`.
///
/// ```
/// use cortex_auth::AuthConfig;
/// use cortex_core::config::Config;
///
/// let config = Config::from_toml(
///     "[auth.roles]\nadmin = { inherits = [\"editor\"], permissions = [\"*\"] }\neditor = {}",
/// )?;
/// let auth = AuthConfig::from_config(&config)?;
/// assert_eq!(auth.roles.0["admin"].inherits, ["editor"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RoleConfig {
    /// Roles this one includes (`admin` includes `editor`).
    pub inherits: Vec<String>,
    /// Permissions this role grants (`posts:delete`, `posts:*`).
    pub permissions: Vec<String>,
}

/// `[auth.roles]`: role name → [`RoleConfig`].
///
/// ```
/// use cortex_auth::RolesConfig;
/// assert!(RolesConfig::default().0.is_empty());
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct RolesConfig(pub BTreeMap<String, RoleConfig>);

/// What one declared role expands to: itself and every role it inherits (transitively), and the
/// permissions all of them grant.
#[derive(Debug, Default)]
struct Expanded {
    roles: BTreeSet<String>,
    permissions: BTreeSet<String>,
}

/// `[auth.roles]` validated and expanded once, at start.
#[derive(Debug, Default)]
pub(crate) struct RoleHierarchy {
    expanded: BTreeMap<String, Expanded>,
}

impl RoleHierarchy {
    /// Validates `config` (every inherited role declared, no cycle) and expands every role.
    pub(crate) fn new(config: &RolesConfig) -> Result<RoleHierarchy, AuthError> {
        let roles = &config.0;
        for (name, role) in roles {
            for parent in &role.inherits {
                if !roles.contains_key(parent) {
                    let known: Vec<&str> = roles.keys().map(String::as_str).collect();
                    return Err(AuthError::Config {
                        key: format!("auth.roles.{name}.inherits"),
                        reason: format!(
                            "names the role `{parent}`, which `[auth.roles]` does not declare (declared: {}); hint: declare it (`{parent} = {{}}`) or remove it",
                            crate::error::list(&known)
                        ),
                    });
                }
            }
        }
        let mut expanded = BTreeMap::new();
        for name in roles.keys() {
            let mut into = Expanded::default();
            let mut path = Vec::new();
            expand(config, name, &mut path, &mut into)?;
            expanded.insert(name.clone(), into);
        }
        Ok(RoleHierarchy { expanded })
    }

    /// `user` with the roles its roles inherit and the permissions they grant; the same user
    /// (no copy) when that adds nothing.
    pub(crate) fn apply(&self, user: CurrentUser) -> CurrentUser {
        let mut roles = Vec::new();
        let mut permissions = Vec::new();
        for role in user.roles() {
            let Some(expanded) = self.expanded.get(role) else {
                continue;
            };
            roles.extend(expanded.roles.iter().filter(|r| !user.has_role(r)).cloned());
            permissions.extend(
                expanded
                    .permissions
                    .iter()
                    .filter(|p| !user.permissions().any(|held| held == p.as_str()))
                    .cloned(),
            );
        }
        if roles.is_empty() && permissions.is_empty() {
            return user;
        }
        user.with_effective(roles, permissions)
    }
}

/// Adds `name`, the roles it inherits and their permissions to `into`; `path` is the chain of
/// inheritance being followed, to name a cycle.
fn expand(
    config: &RolesConfig,
    name: &str,
    path: &mut Vec<String>,
    into: &mut Expanded,
) -> Result<(), AuthError> {
    if let Some(start) = path.iter().position(|p| p == name) {
        let mut cycle: Vec<&str> = path[start..].iter().map(String::as_str).collect();
        cycle.push(name);
        return Err(AuthError::Config {
            key: format!("auth.roles.{}.inherits", path[path.len() - 1]),
            reason: format!(
                "makes a cycle: {}; hint: a role cannot include itself, remove one of these `inherits`",
                cycle.join(" -> ")
            ),
        });
    }
    let role = &config.0[name];
    into.roles.insert(name.to_string());
    into.permissions.extend(role.permissions.iter().cloned());
    path.push(name.to_string());
    for parent in &role.inherits {
        expand(config, parent, path, into)?;
    }
    path.pop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(toml: &[(&str, &[&str], &[&str])]) -> RolesConfig {
        RolesConfig(
            toml.iter()
                .map(|(name, inherits, permissions)| {
                    (
                        name.to_string(),
                        RoleConfig {
                            inherits: inherits.iter().map(|s| s.to_string()).collect(),
                            permissions: permissions.iter().map(|s| s.to_string()).collect(),
                        },
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn expands_transitively() {
        let hierarchy = RoleHierarchy::new(&roles(&[
            ("admin", &["editor"], &["users:*"]),
            ("editor", &["viewer"], &["posts:write"]),
            ("viewer", &[], &["posts:read"]),
        ]))
        .unwrap();
        let user = hierarchy.apply(CurrentUser::builder("1").roles(["admin"]).build());
        assert!(user.has_role("editor") && user.has_role("viewer"));
        assert!(user.has_permission("posts:read") && user.has_permission("users:delete"));
        let viewer = hierarchy.apply(CurrentUser::builder("2").roles(["viewer"]).build());
        assert!(!viewer.has_role("editor") && !viewer.has_permission("posts:write"));
    }

    #[test]
    fn a_cycle_is_named_with_its_path() {
        let err = RoleHierarchy::new(&roles(&[
            ("admin", &["editor"], &[]),
            ("editor", &["admin"], &[]),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`auth.roles.editor.inherits` makes a cycle: admin -> editor -> admin; hint: a role cannot include itself, remove one of these `inherits`"
        );
    }

    #[test]
    fn an_undeclared_parent_is_named() {
        let err = RoleHierarchy::new(&roles(&[("admin", &["editr"], &[])])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`auth.roles.admin.inherits` names the role `editr`"),
            "{err}"
        );
    }

    #[test]
    fn a_user_without_declared_roles_is_not_copied() {
        let hierarchy = RoleHierarchy::new(&roles(&[("admin", &[], &["*"])])).unwrap();
        let user = CurrentUser::builder("1").roles(["guest"]).build();
        let applied = hierarchy.apply(user.clone());
        assert!(!applied.has_permission("x"));
    }
}
