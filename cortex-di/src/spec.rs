//! The plain data a binding is described by: its [`Scope`], where it was declared
//! ([`Location`]), what it needs ([`Dependency`]) and how its instance is made
//! ([`ProviderKind`]). A leaf: it knows keys and nothing else of the crate.

use std::borrow::Cow;
use std::fmt;
use std::panic::Location as StdLocation;

use serde::Serialize;

use crate::key::Key;

/// How long an instance lives.
///
/// ```
/// use cortex_di::Scope;
/// assert_eq!("request".parse::<Scope>().unwrap(), Scope::Request);
/// assert_eq!(Scope::default(), Scope::Singleton);
/// assert!("session".parse::<Scope>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One instance for the whole container, created at build time (or on first use when lazy).
    #[default]
    Singleton,
    /// A new instance on every resolve.
    Transient,
    /// One instance per [`RequestScope`](crate::RequestScope); the HTTP layer opens one per request.
    Request,
}

impl Scope {
    /// The scope's name as written in `#[injectable(scope = "...")]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Singleton => "singleton",
            Scope::Transient => "transient",
            Scope::Request => "request",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "singleton" => Ok(Scope::Singleton),
            "transient" => Ok(Scope::Transient),
            "request" => Ok(Scope::Request),
            other => Err(format!(
                "unknown scope `{other}`: expected `singleton`, `transient` or `request`"
            )),
        }
    }
}

/// Where a provider was declared, for messages: a file and line.
///
/// `#[injectable]` records the annotated item; the builder methods record their caller.
///
/// ```
/// use cortex_di::Location;
/// let here = Location::caller();
/// assert!(here.to_string().ends_with(&format!(":{}", line!() - 1)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The source file.
    pub file: &'static str,
    /// The line, starting at 1.
    pub line: u32,
}

impl Location {
    /// A location given by hand (the macros pass `file!()` and `line!()`).
    pub const fn new(file: &'static str, line: u32) -> Self {
        Location { file, line }
    }

    /// The location of the caller of the function that calls this.
    #[track_caller]
    pub fn caller() -> Self {
        let l = StdLocation::caller();
        Location {
            file: l.file(),
            line: l.line(),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One thing a provider needs: a key, whether it may be absent, and the field it fills.
///
/// ```
/// use cortex_di::Dependency;
/// struct Clock;
/// let dep = Dependency::on::<Clock>().named("utc").optional().field("clock");
/// assert_eq!(dep.key().name(), Some("utc"));
/// assert!(dep.is_optional());
/// ```
#[derive(Debug, Clone)]
pub struct Dependency {
    pub(crate) key: Key,
    pub(crate) optional: bool,
    pub(crate) field: Option<&'static str>,
}

impl Dependency {
    /// A required dependency on the unnamed binding of `T`.
    pub fn on<T: ?Sized + 'static>() -> Self {
        Dependency {
            key: Key::of::<T>(),
            optional: false,
            field: None,
        }
    }

    /// A dependency on an arbitrary key.
    pub fn on_key(key: Key) -> Self {
        Dependency {
            key,
            optional: false,
            field: None,
        }
    }

    /// Asks for the binding named `name` instead.
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.key = self.key.with_name(name);
        self
    }

    /// Makes the dependency optional: a missing provider is not an error.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Records the struct field or argument this dependency fills, for messages.
    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// The key asked for.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// The field or argument this dependency fills, if recorded.
    pub fn field_name(&self) -> Option<&'static str> {
        self.field
    }

    /// Whether a missing provider is allowed.
    pub fn is_optional(&self) -> bool {
        self.optional
    }
}

/// How a provider makes its instance; shown by introspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// A struct built by `#[injectable]` or a synchronous factory.
    Factory,
    /// An `async` factory.
    Async,
    /// A ready-made value.
    Value,
    /// A trait-object binding that forwards to another provider.
    Alias,
    /// A test override.
    Override,
    /// A request-scoped value given to each scope by the code that opens it
    /// ([`Provider::seeded`](crate::Provider::seeded), [`RequestScope::provide`](crate::RequestScope::provide)).
    Seeded,
}
