//! Profiles: `dev`, `test`, `prod` or a name of the application's own.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use super::ConfigError;

/// The longest profile name accepted.
const MAX_LEN: usize = 64;

/// The profile the application runs in, chosen by `CORTEX_PROFILE` (default `dev`).
///
/// It selects `cortex.{profile}.toml`, decides whether `.env` is read (only in `dev` by default)
/// and can switch providers on and off in the container. `dev`, `test` and `prod` are built in;
/// any other name made of ASCII letters, digits, `-` and `_` works too, but then its
/// `cortex.{profile}.toml` must exist (so a typo such as `prdo` fails at startup instead of
/// running with no profile settings). Names are lowercased.
///
/// ```
/// use cortex_core::config::Profile;
///
/// assert_eq!(Profile::default(), Profile::DEV);
/// assert_eq!("PROD".parse::<Profile>()?, Profile::PROD);
/// assert_eq!(Profile::new("staging-eu")?.as_str(), "staging-eu");
/// assert!(Profile::new("../etc").is_err());
/// assert!(Profile::new("").is_err());
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Profile(Cow<'static, str>);

impl Profile {
    /// Development: the default; reads `.env`.
    pub const DEV: Profile = Profile(Cow::Borrowed("dev"));
    /// Automated tests.
    pub const TEST: Profile = Profile(Cow::Borrowed("test"));
    /// Production.
    pub const PROD: Profile = Profile(Cow::Borrowed("prod"));

    /// A profile by name; fails with [`ConfigError::BadProfile`] when the name is empty, longer
    /// than 64 characters, or has characters other than ASCII letters, digits, `-` and `_` (it
    /// becomes part of a file name).
    ///
    /// ```
    /// use cortex_core::config::Profile;
    /// let err = Profile::new("prod env").unwrap_err();
    /// assert!(err.to_string().starts_with(r#"invalid profile "prod env": "#));
    /// ```
    pub fn new(name: &str) -> Result<Profile, ConfigError> {
        let bad = |problem: &str| ConfigError::BadProfile {
            name: name.to_string(),
            problem: format!(
                "{problem}; hint: set CORTEX_PROFILE to `dev`, `test`, `prod` or a name made of ASCII letters, digits, `-` and `_`"
            ),
        };
        if name.is_empty() {
            return Err(bad("the name is empty"));
        }
        if name.len() > MAX_LEN {
            return Err(bad("the name is longer than 64 characters"));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(bad(&format!("the name contains {c:?}")));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(bad("the name must start with a letter or a digit"));
        }
        let lower = name.to_ascii_lowercase();
        Ok(match lower.as_str() {
            "dev" => Profile::DEV,
            "test" => Profile::TEST,
            "prod" => Profile::PROD,
            _ => Profile(Cow::Owned(lower)),
        })
    }

    /// The name, lowercase.
    ///
    /// ```
    /// assert_eq!(cortex_core::config::Profile::TEST.as_str(), "test");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `dev`.
    ///
    /// ```
    /// assert!(cortex_core::config::Profile::default().is_dev());
    /// ```
    pub fn is_dev(&self) -> bool {
        self.as_str() == "dev"
    }

    /// Whether this is `test`.
    ///
    /// ```
    /// assert!(cortex_core::config::Profile::TEST.is_test());
    /// ```
    pub fn is_test(&self) -> bool {
        self.as_str() == "test"
    }

    /// Whether this is `prod`.
    ///
    /// ```
    /// assert!(cortex_core::config::Profile::PROD.is_prod());
    /// ```
    pub fn is_prod(&self) -> bool {
        self.as_str() == "prod"
    }

    /// Whether this is one of `dev`, `test` and `prod`.
    pub(super) fn is_builtin(&self) -> bool {
        self.is_dev() || self.is_test() || self.is_prod()
    }

    /// The profile's own file name, `cortex.{profile}.toml`.
    pub(super) fn file_name(&self) -> String {
        format!("cortex.{}.toml", self.as_str())
    }
}

impl Default for Profile {
    fn default() -> Self {
        Profile::DEV
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::new(s)
    }
}

impl PartialEq<str> for Profile {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Profile {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_names_are_recognised_in_any_case() {
        assert_eq!(Profile::new("Dev").unwrap(), Profile::DEV);
        assert_eq!(Profile::new("TEST").unwrap(), Profile::TEST);
        assert!(Profile::new("prod").unwrap().is_builtin());
        assert!(!Profile::new("staging").unwrap().is_builtin());
    }

    #[test]
    fn names_that_are_not_file_safe_are_rejected() {
        for bad in [
            "",
            "a b",
            "../x",
            "x/y",
            "a.b",
            "-x",
            "_x",
            "é",
            &"x".repeat(65),
        ] {
            assert!(
                matches!(Profile::new(bad), Err(ConfigError::BadProfile { .. })),
                "{bad:?}"
            );
        }
        assert!(Profile::new(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn the_file_name_follows_the_profile() {
        assert_eq!(
            Profile::new("Staging").unwrap().file_name(),
            "cortex.staging.toml"
        );
    }
}
