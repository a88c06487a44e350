//! Running a statement with bound [`Value`]s on the pool or in a transaction, whichever backend:
//! the one place the repository meets sqlx.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(unused_imports, unused_macros)
)]

use std::borrow::Cow;

use sqlx::AssertSqlSafe;

use crate::backend::Backend;
use crate::db::{Db, Pool};
use crate::error::DataError;
use crate::tx::{Tx, TxInner};
use crate::value::{Row, RowInner, Value};

/// SQL text: a cached statement (`&'static`) or one built for this call.
pub(crate) type Sql = Cow<'static, str>;

/// A statement's name: the model, its table and the operation. [`Db::stats`](crate::Db::stats)
/// counts `("Post", "posts", "find")` as `Post::find`; the metric
/// `db_client_operation_duration_seconds` and the `db.query` span name it `posts.find`.
pub(crate) type Name = (&'static str, &'static str, &'static str);

/// Where statements run.
pub(crate) enum Conn<'c> {
    Pool(&'c Db),
    Tx(&'c mut Tx),
}

/// What an `INSERT`/`UPDATE`/`DELETE` did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done {
    pub(crate) rows: u64,
    /// MySQL's `LAST_INSERT_ID()` (the first id of a multi-row insert).
    pub(crate) last_insert_id: Option<u64>,
}

macro_rules! bind_values {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for value in $args {
            query = match value {
                Value::Null(kind) => match kind {
                    crate::ValueKind::Bool => query.bind(None::<bool>),
                    crate::ValueKind::I16 => query.bind(None::<i16>),
                    crate::ValueKind::I32 => query.bind(None::<i32>),
                    crate::ValueKind::I64 => query.bind(None::<i64>),
                    crate::ValueKind::F32 => query.bind(None::<f32>),
                    crate::ValueKind::F64 => query.bind(None::<f64>),
                    crate::ValueKind::Text => query.bind(None::<String>),
                    crate::ValueKind::Bytes => query.bind(None::<Vec<u8>>),
                    crate::ValueKind::Uuid => query.bind(None::<uuid::Uuid>),
                    crate::ValueKind::Timestamp => {
                        query.bind(None::<chrono::DateTime<chrono::Utc>>)
                    }
                    crate::ValueKind::DateTime => query.bind(None::<chrono::NaiveDateTime>),
                    crate::ValueKind::Date => query.bind(None::<chrono::NaiveDate>),
                    crate::ValueKind::Json => {
                        query.bind(None::<sqlx::types::Json<serde_json::Value>>)
                    }
                },
                Value::Bool(v) => query.bind(v),
                Value::I16(v) => query.bind(v),
                Value::I32(v) => query.bind(v),
                Value::I64(v) => query.bind(v),
                Value::F32(v) => query.bind(v),
                Value::F64(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
                Value::Bytes(v) => query.bind(v),
                Value::Uuid(v) => query.bind(v),
                Value::Timestamp(v) => query.bind(v),
                Value::DateTime(v) => query.bind(v),
                Value::Date(v) => query.bind(v),
                Value::Json(v) => query.bind(sqlx::types::Json(v)),
            };
        }
        query
    }};
}

/// Runs `$body` with `$query` (the statement, values bound) and `$exec` (the executor) on
/// whichever backend `$conn` is; errors become [`DataError`]s.
macro_rules! dispatch {
    ($conn:expr, $name:expr, $sql:expr, $args:expr, |$query:ident, $exec:ident| $body:expr) => {{
        let sql: Sql = $sql;
        let name: Name = $name;
        tracing::trace!(target: "cortex_data::sql", sql = %sql, "statement");
        let span = crate::metrics::statement_span($conn.backend(), name);
        let started = std::time::Instant::now();
        // The span is not entered (an `Instrument` wrapper would move the statement's whole
        // future into it: ~40,000 instructions of copying per call, measured): made here and
        // closed below, it has the statement's duration and the caller's span as its parent.
        let result = match &mut *$conn {
            // The connection is taken here rather than by sqlx (the pool as the executor does
            // the same), so that the wait is counted (`pending_requests`).
            Conn::Pool(db) => match db.pool() {
                #[cfg(feature = "sqlite")]
                Pool::Sqlite(pool) => match db.waiting(Box::pin(pool.acquire())).await {
                    Ok(mut conn) => {
                        let $query = bind_values!(sqlx::query::<sqlx::Sqlite>(AssertSqlSafe(sql)), $args);
                        let $exec = &mut *conn;
                        $body.map_err(|e| refine(db.error(e)))
                    }
                    Err(e) => Err(refine(db.error(e))),
                },
                #[cfg(feature = "postgres")]
                Pool::Postgres(pool) => match db.waiting(Box::pin(pool.acquire())).await {
                    Ok(mut conn) => {
                        let $query = bind_values!(sqlx::query::<sqlx::Postgres>(AssertSqlSafe(sql)), $args);
                        let $exec = &mut *conn;
                        $body.map_err(|e| refine(db.error(e)))
                    }
                    Err(e) => Err(refine(db.error(e))),
                },
                #[cfg(feature = "mysql")]
                Pool::MySql(pool) => match db.waiting(Box::pin(pool.acquire())).await {
                    Ok(mut conn) => {
                        let $query = bind_values!(sqlx::query::<sqlx::MySql>(AssertSqlSafe(sql)), $args);
                        let $exec = &mut *conn;
                        $body.map_err(|e| refine(db.error(e)))
                    }
                    Err(e) => Err(refine(db.error(e))),
                },
            },
            Conn::Tx(tx) => match &mut tx.inner {
                #[cfg(feature = "sqlite")]
                TxInner::Sqlite(tx) => {
                    let $query = bind_values!(sqlx::query::<sqlx::Sqlite>(AssertSqlSafe(sql)), $args);
                    let $exec = &mut **tx;
                    $body.map_err(|e| refine(DataError::from(e)))
                }
                #[cfg(feature = "postgres")]
                TxInner::Postgres(tx) => {
                    let $query = bind_values!(sqlx::query::<sqlx::Postgres>(AssertSqlSafe(sql)), $args);
                    let $exec = &mut **tx;
                    $body.map_err(|e| refine(DataError::from(e)))
                }
                #[cfg(feature = "mysql")]
                TxInner::MySql(tx) => {
                    let $query = bind_values!(sqlx::query::<sqlx::MySql>(AssertSqlSafe(sql)), $args);
                    let $exec = &mut **tx;
                    $body.map_err(|e| refine(DataError::from(e)))
                }
            },
        };
        $conn.db().record_query(name, started.elapsed(), result.as_ref().err(), &span);
        result
    }};
}

/// A backend's row, wrapped.
trait IntoRow {
    fn into_row(self) -> Row;
}

#[cfg(feature = "sqlite")]
impl IntoRow for sqlx::sqlite::SqliteRow {
    fn into_row(self) -> Row {
        Row::new(RowInner::Sqlite(self))
    }
}

#[cfg(feature = "postgres")]
impl IntoRow for sqlx::postgres::PgRow {
    fn into_row(self) -> Row {
        Row::new(RowInner::Postgres(self))
    }
}

#[cfg(feature = "mysql")]
impl IntoRow for sqlx::mysql::MySqlRow {
    fn into_row(self) -> Row {
        Row::new(RowInner::MySql(self))
    }
}

/// A backend's result of an `execute`.
trait Outcome {
    fn done(&self) -> Done;
}

#[cfg(feature = "sqlite")]
impl Outcome for sqlx::sqlite::SqliteQueryResult {
    fn done(&self) -> Done {
        Done {
            rows: self.rows_affected(),
            last_insert_id: None,
        }
    }
}

#[cfg(feature = "postgres")]
impl Outcome for sqlx::postgres::PgQueryResult {
    fn done(&self) -> Done {
        Done {
            rows: self.rows_affected(),
            last_insert_id: None,
        }
    }
}

#[cfg(feature = "mysql")]
impl Outcome for sqlx::mysql::MySqlQueryResult {
    fn done(&self) -> Done {
        Done {
            rows: self.rows_affected(),
            last_insert_id: Some(self.last_insert_id()),
        }
    }
}

impl Conn<'_> {
    /// The backend statements run on.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Conn::Pool(db) => db.backend(),
            Conn::Tx(tx) => match &tx.inner {
                #[cfg(feature = "sqlite")]
                TxInner::Sqlite(_) => Backend::Sqlite,
                #[cfg(feature = "postgres")]
                TxInner::Postgres(_) => Backend::Postgres,
                #[cfg(feature = "mysql")]
                TxInner::MySql(_) => Backend::MySql,
            },
        }
    }

    /// The database statements run on (a transaction's: the one it was begun on).
    pub(crate) fn db(&self) -> &Db {
        match self {
            Conn::Pool(db) => db,
            Conn::Tx(tx) => &tx.db,
        }
    }

    /// A shorter borrow of the same connection.
    pub(crate) fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Pool(db) => Conn::Pool(db),
            Conn::Tx(tx) => Conn::Tx(tx),
        }
    }

    /// Runs a query and hands each row to `each` as it arrives: no row outlives its turn, so the
    /// allocator reuses one row's memory for the next (collecting them all first, then decoding,
    /// cost `find_many` of 50 rows 8% more instructions on PostgreSQL, `docs/src/performance.md`).
    pub(crate) async fn fetch_each(
        &mut self,
        name: Name,
        sql: Sql,
        args: Vec<Value>,
        mut each: impl FnMut(Row) -> Result<(), sqlx::Error>,
    ) -> Result<(), DataError> {
        use futures_util::TryStreamExt as _;
        dispatch!(self, name, sql, args, |query, exec| async {
            let mut rows = query.fetch(exec);
            while let Some(row) = rows.try_next().await? {
                each(row.into_row())?;
            }
            Ok::<(), sqlx::Error>(())
        }
        .await)
    }

    pub(crate) async fn fetch_optional(
        &mut self,
        name: Name,
        sql: Sql,
        args: Vec<Value>,
    ) -> Result<Option<Row>, DataError> {
        dispatch!(self, name, sql, args, |query, exec| query
            .fetch_optional(exec)
            .await
            .map(|row| row.map(IntoRow::into_row)))
    }

    pub(crate) async fn execute(
        &mut self,
        name: Name,
        sql: Sql,
        args: Vec<Value>,
    ) -> Result<Done, DataError> {
        dispatch!(self, name, sql, args, |query, exec| query
            .execute(exec)
            .await
            .map(|done| done.done()))
    }
}

/// Refines what the shared classification leaves as a plain database error: a value too long or
/// out of range for its column (SQLSTATE `22001`/`22003`: PostgreSQL, and MySQL/MariaDB in
/// strict mode) is the row's fault, a [`DataError::Constraint`] (422) naming the column when the
/// database did.
pub(crate) fn refine(error: DataError) -> DataError {
    let DataError::Sqlx(sqlx::Error::Database(db)) = &error else {
        return error;
    };
    let message = match db.code().as_deref() {
        Some("22001") => "a value is too long for its column",
        Some("22003") => "a value is out of range for its column",
        _ => return error,
    };
    // MySQL: "Data too long for column 'title' at row 1"
    let field = db
        .message()
        .split_once("column '")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(column, _)| column.to_string());
    DataError::Constraint {
        message: match &field {
            Some(field) => format!("{message} (`{field}`); hint: shorten it or widen the column"),
            None => format!("{message}; hint: shorten it or widen the column"),
        },
        field,
    }
}
