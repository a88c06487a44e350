//! Which database a [`Db`](crate::Db) talks to, and the few ways their SQL differs.

use std::fmt;

/// The database behind a [`Db`](crate::Db), chosen by the URL's scheme (`sqlite:`, `postgres:` /
/// `postgresql:`, `mysql:` / `mariadb:`).
///
/// ```
/// use cortex_data::Backend;
///
/// assert_eq!(Backend::from_url("postgres://localhost/app"), Some(Backend::Postgres));
/// assert_eq!(Backend::from_url("sqlite://app.db"), Some(Backend::Sqlite));
/// assert_eq!(Backend::from_url("mariadb://localhost/app"), Some(Backend::MySql));
/// assert_eq!(Backend::from_url("oracle://x"), None);
/// assert_eq!(Backend::Postgres.placeholder(2), "$2");
/// assert_eq!(Backend::MySql.quote("order"), "`order`");
/// assert_eq!(Backend::MySql.feature(), "mysql");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite (the embedded default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Backend {
    /// The backend a URL names by its scheme, `None` for any other scheme.
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split(':').next()?.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::MySql),
            _ => None,
        }
    }

    /// The backend's name as users write it: `sqlite`, `postgres`, `mysql`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    /// The cargo feature of `cortex` (and `cortex-data`) that compiles this backend in.
    pub fn feature(self) -> &'static str {
        self.name()
    }

    /// The `n`th bind placeholder (from 1): `$n` on PostgreSQL, `?` elsewhere.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Backend::Postgres => format!("${n}"),
            Backend::Sqlite | Backend::MySql => "?".to_string(),
        }
    }

    /// An identifier quoted for this backend: `"name"`, or `` `name` `` on MySQL (a quote inside
    /// is doubled).
    pub fn quote(self, ident: &str) -> String {
        match self {
            Backend::MySql => format!("`{}`", ident.replace('`', "``")),
            Backend::Sqlite | Backend::Postgres => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// Whether DDL runs inside a transaction (a failed migration leaves nothing half-applied):
    /// true on SQLite and PostgreSQL, false on MySQL, where DDL commits implicitly.
    pub fn transactional_ddl(self) -> bool {
        !matches!(self, Backend::MySql)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
