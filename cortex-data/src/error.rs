//! [`DataError`]: what a database call can fail with, and the HTTP answer for each.

use std::time::Duration;

use cortex_core::http::HttpError;
use http::StatusCode;
use http::header::{HeaderValue, RETRY_AFTER};

/// What a database call can fail with. Each kind has its HTTP answer (problem details): a
/// handler returns `Result<_, HttpError>` and `?` converts. The SQL and its parameters are
/// logged, never put in a response.
///
/// | error | status |
/// | --- | --- |
/// | [`NotFound`](DataError::NotFound) | 404 |
/// | [`Conflict`](DataError::Conflict) (unique violation, stale version) | 409 |
/// | [`Constraint`](DataError::Constraint) (check, foreign key, not null) | 422 |
/// | [`Unavailable`](DataError::Unavailable) (pool timeout, connection lost, closed) | 503 with `Retry-After` |
/// | anything else | 500 |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// No row matched.
    #[error("{entity} {key} was not found")]
    NotFound {
        /// The model (or table), for the message: `Post`.
        entity: &'static str,
        /// The key looked up, as text.
        key: String,
    },

    /// The row conflicts with another: a unique constraint (naming the field when known) or an
    /// optimistic-lock version that has moved on.
    #[error("{message}")]
    Conflict {
        /// For the response: what conflicts.
        message: String,
        /// The column, when the database named it.
        field: Option<String>,
    },

    /// A check, foreign-key or not-null constraint refused the row.
    #[error("{message}")]
    Constraint {
        /// For the response.
        message: String,
        /// The column or constraint, when the database named it.
        field: Option<String>,
    },

    /// The database cannot be reached now: pool timeout, connection refused or lost, pool
    /// closed. Answered 503 with `Retry-After`.
    #[error("the database at {url} is unavailable: {reason}")]
    Unavailable {
        /// The URL, password masked.
        url: String,
        /// What happened.
        reason: String,
    },

    /// The `[database]` settings are wrong (a URL for a backend not compiled in, an unreadable
    /// URL). Reported at start.
    #[error("{message}")]
    Config {
        /// What is wrong, and the fix.
        message: String,
    },

    /// A migration could not be applied or reverted, or the migrations and the database
    /// disagree (a changed or missing migration, one left failed by an earlier run). The message
    /// names the migration (`<version>_<name>`) and what to do. Answered 500.
    #[error("{message}")]
    Migration {
        /// The migration's version, when one migration is at fault.
        version: Option<i64>,
        /// What happened, the migration, and the fix.
        message: String,
    },

    /// Any other error from sqlx (a syntax error, a type mismatch). Answered 500; the detail is
    /// logged.
    #[error(transparent)]
    Sqlx(sqlx::Error),
}

impl DataError {
    /// An [`Unavailable`](DataError::Unavailable) for `url` (already masked).
    pub fn unavailable(url: &str, reason: impl std::fmt::Display) -> DataError {
        DataError::Unavailable {
            url: url.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            DataError::NotFound { .. } => StatusCode::NOT_FOUND,
            DataError::Conflict { .. } => StatusCode::CONFLICT,
            DataError::Constraint { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            DataError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            DataError::Config { .. } | DataError::Migration { .. } | DataError::Sqlx(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// How long a client is told to wait after a 503.
pub(crate) const RETRY_AFTER_SECS: Duration = Duration::from_secs(5);

impl From<sqlx::Error> for DataError {
    fn from(error: sqlx::Error) -> Self {
        crate::classify::classify(error)
    }
}

impl From<DataError> for HttpError {
    fn from(error: DataError) -> Self {
        match &error {
            DataError::NotFound { .. } => HttpError::not_found(error.to_string()),
            DataError::Conflict { field, .. } => {
                let http = HttpError::conflict(error.to_string());
                match field {
                    Some(field) => http.with_extension("field", field),
                    None => http,
                }
            }
            DataError::Constraint { field, .. } => {
                let http = HttpError::unprocessable(error.to_string());
                match field {
                    Some(field) => http.with_extension("field", field),
                    None => http,
                }
            }
            DataError::Unavailable { .. } => {
                tracing::warn!(target: "cortex::data", error = %error, "database unavailable");
                HttpError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable; try again shortly",
                )
                .with_header(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS.as_secs()))
            }
            DataError::Config { .. } | DataError::Migration { .. } | DataError::Sqlx(_) => {
                HttpError::internal(error)
            }
        }
    }
}
