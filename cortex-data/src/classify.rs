//! Turning sqlx's errors into [`DataError`]s by what they mean for the caller, naming the column
//! where the database says it (in a message or a detail, depending on the database).

use sqlx::error::{DatabaseError, ErrorKind};

use crate::error::DataError;

/// Classifies a sqlx error: constraint violations by kind (with the column when the database
/// names it), connection trouble as unavailable, the rest as [`DataError::Sqlx`]. The
/// database's own message (which may hold the values) goes to the log at debug, never into the
/// [`DataError`]'s message.
pub(crate) fn classify(error: sqlx::Error) -> DataError {
    match &error {
        sqlx::Error::RowNotFound => DataError::NotFound {
            entity: "row",
            key: String::new(),
        },
        sqlx::Error::PoolTimedOut => DataError::unavailable(
            "the pool",
            "no connection within `[database] acquire_timeout` (every connection is in use, or the database does not accept new ones)",
        ),
        sqlx::Error::PoolClosed => {
            DataError::unavailable("the pool", "the pool is closed (the app is shutting down)")
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            DataError::unavailable("the pool", &error)
        }
        sqlx::Error::Database(db) => {
            tracing::debug!(target: "cortex::data", code = ?db.code(), message = db.message(), "database error");
            classify_database(db.as_ref()).unwrap_or(DataError::Sqlx(error))
        }
        _ => DataError::Sqlx(error),
    }
}

fn classify_database(db: &dyn DatabaseError) -> Option<DataError> {
    let error = match db.kind() {
        ErrorKind::UniqueViolation => {
            let field = unique_field(db);
            DataError::Conflict {
                message: match &field {
                    Some(field) => format!("a row with this {field} exists already"),
                    None => "a row with these values exists already".to_string(),
                },
                field,
            }
        }
        ErrorKind::ForeignKeyViolation => {
            let field = foreign_key_field(db);
            DataError::Constraint {
                message: match &field {
                    Some(field) => format!(
                        "{field} refers to a row that does not exist, or the row is still referred to"
                    ),
                    None => "the row refers to a row that does not exist, or is still referred to"
                        .to_string(),
                },
                field,
            }
        }
        ErrorKind::NotNullViolation => {
            let field = not_null_field(db);
            DataError::Constraint {
                message: match &field {
                    Some(field) => format!("{field} must have a value"),
                    None => "a required column has no value".to_string(),
                },
                field,
            }
        }
        ErrorKind::CheckViolation => {
            let field = check_field(db);
            DataError::Constraint {
                message: match &field {
                    Some(field) => format!("the row breaks the check {field}"),
                    None => "the row breaks a check of its table".to_string(),
                },
                field,
            }
        }
        _ if is_unavailable(db) => {
            DataError::unavailable("the pool", "the database dropped or refused the connection")
        }
        _ => return None,
    };
    Some(error)
}

/// Server-side errors that mean "not now": SQLSTATE class 08 (connection exception), PostgreSQL's
/// 57P01–57P03 (shutting down, cannot connect now), SQLite's busy/locked (the busy timeout ran
/// out).
fn is_unavailable(db: &dyn DatabaseError) -> bool {
    let Some(code) = db.code() else { return false };
    if code.starts_with("08") || code.starts_with("57P") {
        return true;
    }
    // SQLite's codes are numbers: the primary code is the low byte.
    #[cfg(feature = "sqlite")]
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && let Ok(number) = code.parse::<u32>()
    {
        return matches!(number & 0xff, 5 | 6);
    }
    false
}

/// The detail of a PostgreSQL error (`Key (slug)=(x) already exists.`).
fn pg_detail(db: &dyn DatabaseError) -> Option<&str> {
    #[cfg(feature = "postgres")]
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        return pg.detail();
    }
    let _ = db;
    None
}

/// The column a PostgreSQL error names (a not-null violation's).
fn pg_column(db: &dyn DatabaseError) -> Option<String> {
    #[cfg(feature = "postgres")]
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        return pg.column().map(str::to_string);
    }
    let _ = db;
    None
}

/// The columns of PostgreSQL's `Key (a, b)=(…)` detail.
fn pg_key_columns(db: &dyn DatabaseError) -> Option<String> {
    let detail = pg_detail(db)?;
    let rest = detail.strip_prefix("Key (")?;
    let end = rest.find(")=(")?;
    Some(rest[..end].replace('"', ""))
}

/// The columns SQLite lists after `…constraint failed: `: `posts.slug, posts.blog_id` becomes
/// `slug, blog_id`.
fn sqlite_columns(message: &str, prefix: &str) -> Option<String> {
    let list = message.strip_prefix(prefix)?;
    let columns: Vec<&str> = list
        .split(", ")
        .map(|c| c.rsplit_once('.').map_or(c, |(_, column)| column).trim())
        .collect();
    (!columns.is_empty() && columns.iter().all(|c| !c.is_empty())).then(|| columns.join(", "))
}

/// The last backquoted or single-quoted name after `marker` in a MySQL/MariaDB message, its
/// table prefix (`posts.slug`) dropped.
fn quoted_after(message: &str, marker: &str, quote: char) -> Option<String> {
    let at = message.rfind(marker)? + marker.len();
    let rest = &message[at..];
    let end = rest.find(quote)?;
    let name = &rest[..end];
    let name = name.rsplit_once('.').map_or(name, |(_, column)| column);
    (!name.is_empty()).then(|| name.to_string())
}

fn unique_field(db: &dyn DatabaseError) -> Option<String> {
    let message = db.message();
    sqlite_columns(message, "UNIQUE constraint failed: ")
        .or_else(|| pg_key_columns(db))
        // MySQL/MariaDB: Duplicate entry 'x' for key 'slug' (MySQL 8: 'posts.slug').
        .or_else(|| quoted_after(message, " for key '", '\''))
        .or_else(|| db.constraint().map(str::to_string))
}

fn foreign_key_field(db: &dyn DatabaseError) -> Option<String> {
    pg_key_columns(db)
        // MySQL/MariaDB: … CONSTRAINT `fk` FOREIGN KEY (`post_id`) REFERENCES …
        .or_else(|| quoted_after(db.message(), "FOREIGN KEY (`", '`'))
        // SQLite says only "FOREIGN KEY constraint failed".
        .or_else(|| db.constraint().map(str::to_string))
}

fn not_null_field(db: &dyn DatabaseError) -> Option<String> {
    let message = db.message();
    sqlite_columns(message, "NOT NULL constraint failed: ")
        .or_else(|| pg_column(db))
        // MySQL/MariaDB: Column 'title' cannot be null; Field 'title' doesn't have a default value.
        .or_else(|| quoted_after(message, "Column '", '\''))
        .or_else(|| quoted_after(message, "Field '", '\''))
}

fn check_field(db: &dyn DatabaseError) -> Option<String> {
    let message = db.message();
    // SQLite: CHECK constraint failed: <name or expression>.
    if let Some(check) = message.strip_prefix("CHECK constraint failed: ") {
        return Some(check.trim().to_string());
    }
    // MariaDB: CONSTRAINT `accounts.balance` failed for `db`.`accounts`; MySQL: Check constraint
    // 'accounts_chk_1' is violated.
    db.constraint()
        .map(str::to_string)
        .or_else(|| quoted_after(message, "CONSTRAINT `", '`'))
        .or_else(|| quoted_after(message, "constraint '", '\''))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::error::Error as StdError;
    use std::fmt;

    use super::*;

    /// A database error as a server would report it: a SQLSTATE and a message (the errors of the
    /// real databases are covered by the data test binary; these are the codes a test cannot
    /// make a server send on demand).
    #[derive(Debug)]
    struct ServerError {
        code: &'static str,
        message: &'static str,
    }

    impl fmt::Display for ServerError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.message)
        }
    }

    impl StdError for ServerError {}

    impl DatabaseError for ServerError {
        fn message(&self) -> &str {
            self.message
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.code))
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn classified(code: &'static str) -> DataError {
        classify(sqlx::Error::Database(Box::new(ServerError {
            code,
            message: "the server said no",
        })))
    }

    #[test]
    fn connection_exceptions_and_shutdowns_are_unavailable() {
        // SQLSTATE class 08 (connection exception) and PostgreSQL's 57P01-57P03.
        for code in ["08006", "08001", "57P01", "57P03"] {
            assert!(
                matches!(classified(code), DataError::Unavailable { .. }),
                "{code}"
            );
        }
        // Anything else is the statement's fault, not the connection's.
        for code in ["42601", "22012", "57014"] {
            assert!(matches!(classified(code), DataError::Sqlx(_)), "{code}");
        }
    }

    #[test]
    fn a_missing_row_is_not_found() {
        assert!(matches!(
            classify(sqlx::Error::RowNotFound),
            DataError::NotFound { .. }
        ));
    }

    #[test]
    fn sqlite_column_lists_are_read_without_their_tables() {
        let prefix = "UNIQUE constraint failed: ";
        assert_eq!(
            sqlite_columns(
                "UNIQUE constraint failed: posts.slug, posts.blog_id",
                prefix
            )
            .as_deref(),
            Some("slug, blog_id")
        );
        // Nothing after the prefix, or an empty name in the list: no column to name.
        assert_eq!(sqlite_columns("UNIQUE constraint failed: ", prefix), None);
        assert_eq!(
            sqlite_columns("UNIQUE constraint failed: posts.a, ", prefix),
            None
        );
        assert_eq!(sqlite_columns("another message", prefix), None);
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn a_sqlite_writer_that_waits_out_its_busy_timeout_is_unavailable() {
        use crate::{DatabaseConfig, Db};
        let dir = tempfile::tempdir().unwrap();
        let config = DatabaseConfig {
            url: format!("sqlite://{}", dir.path().join("busy.db").display()),
            busy_timeout: std::time::Duration::from_millis(50),
            ..DatabaseConfig::default()
        };
        let (holder, waiter) = (
            Db::connect_lazy(&config).unwrap(),
            Db::connect_lazy(&config).unwrap(),
        );
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(holder.sqlite().unwrap())
            .await
            .unwrap();
        // The holder's transaction keeps the write lock; the waiter's insert gives up after
        // its busy timeout with SQLITE_BUSY.
        let mut tx = holder.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut **tx.sqlite().unwrap())
            .await
            .unwrap();
        let error = sqlx::query("INSERT INTO t VALUES (2)")
            .execute(waiter.sqlite().unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(classify(error), DataError::Unavailable { .. }),
            "SQLITE_BUSY is a 503"
        );
        tx.rollback().await.unwrap();
    }
}
