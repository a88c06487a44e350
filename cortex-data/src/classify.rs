//! Turning sqlx's errors into [`DataError`]s by what they mean for the caller.

use crate::error::DataError;

/// Classifies a sqlx error: constraint violations by kind, connection trouble as unavailable.
pub(crate) fn classify(error: sqlx::Error) -> DataError {
    match &error {
        sqlx::Error::RowNotFound => DataError::NotFound {
            entity: "row",
            key: String::new(),
        },
        sqlx::Error::PoolTimedOut => DataError::unavailable(
            "the pool",
            "no free connection within `[database] acquire_timeout`",
        ),
        sqlx::Error::PoolClosed => {
            DataError::unavailable("the pool", "the pool is closed (the app is shutting down)")
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            DataError::unavailable("the pool", &error)
        }
        sqlx::Error::Database(db) => {
            use sqlx::error::ErrorKind;
            let field = db.constraint().map(str::to_string);
            match db.kind() {
                ErrorKind::UniqueViolation => DataError::Conflict {
                    message: match &field {
                        Some(field) => format!("a row with this {field} exists already"),
                        None => "a row with these values exists already".to_string(),
                    },
                    field,
                },
                ErrorKind::ForeignKeyViolation => DataError::Constraint {
                    message: "the row refers to a row that does not exist (or is referred to)"
                        .to_string(),
                    field,
                },
                ErrorKind::NotNullViolation | ErrorKind::CheckViolation => DataError::Constraint {
                    message: "the row breaks a constraint of its table".to_string(),
                    field,
                },
                _ => DataError::Sqlx(error),
            }
        }
        _ => DataError::Sqlx(error),
    }
}
