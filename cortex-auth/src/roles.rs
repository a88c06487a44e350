//! The role hierarchy (`[auth.roles]`): which roles a role includes and which permissions it
//! grants, applied once per authenticated request.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One role of `[auth.roles]`.
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
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct RolesConfig(pub BTreeMap<String, RoleConfig>);
