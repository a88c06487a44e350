//! Conditional registration: profiles and properties that decide which providers take part.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// What conditional providers are checked against: the active profiles and a set of properties.
///
/// The app runtime fills it from `CORTEX_PROFILE` and the configuration; tests set it on the
/// [`ContainerBuilder`](crate::ContainerBuilder).
///
/// ```
/// use cortex_di::Env;
/// let env = Env::default().with_profile("test").with_property("mail.driver", "fake");
/// assert!(env.is_active("test"));
/// assert!(env.matches_profiles(&["!prod".into()]));
/// assert!(!env.matches_profiles(&["prod".into(), "dev".into()]));
/// assert_eq!(env.property("mail.driver"), Some("fake"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Env {
    profiles: Vec<String>,
    properties: BTreeMap<String, String>,
}

impl Env {
    /// Adds an active profile.
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.add_profile(profile);
        self
    }

    /// Sets a property.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    pub(crate) fn add_profile(&mut self, profile: impl Into<String>) {
        let profile = profile.into();
        if !self.profiles.contains(&profile) {
            self.profiles.push(profile);
        }
    }

    pub(crate) fn set_property(&mut self, key: String, value: String) {
        self.properties.insert(key, value);
    }

    /// The active profiles, in the order they were added.
    pub fn profiles(&self) -> &[String] {
        &self.profiles
    }

    /// Whether `profile` is active.
    pub fn is_active(&self, profile: &str) -> bool {
        self.profiles.iter().any(|p| p == profile)
    }

    /// A property's value.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }

    /// Whether a provider restricted to `profiles` takes part: no restriction matches always;
    /// otherwise any entry matches, where `name` needs the profile active and `!name` needs it
    /// inactive.
    pub fn matches_profiles(&self, profiles: &[Cow<'static, str>]) -> bool {
        profiles.is_empty()
            || profiles.iter().any(|p| match p.strip_prefix('!') {
                Some(negated) => !self.is_active(negated.trim()),
                None => self.is_active(p.trim()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_restriction_always_matches() {
        assert!(Env::default().matches_profiles(&[]));
    }

    #[test]
    fn profiles_combine_with_or() {
        let env = Env::default().with_profile("dev");
        assert!(env.matches_profiles(&["test".into(), "dev".into()]));
        assert!(!env.matches_profiles(&["test".into()]));
    }

    #[test]
    fn negated_profile_matches_when_inactive() {
        let env = Env::default().with_profile("dev");
        assert!(env.matches_profiles(&["!prod".into()]));
        assert!(!env.matches_profiles(&["!dev".into()]));
    }

    #[test]
    fn a_profile_added_twice_is_listed_once() {
        let env = Env::default().with_profile("a").with_profile("a");
        assert_eq!(env.profiles(), ["a".to_string()]);
    }
}
