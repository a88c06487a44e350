//! [`Value`]: a value bound to a statement, whichever backend runs it; [`ToValue`] makes one from
//! a Rust value, and [`Field`] is what a model's field must be (bindable and decodable on every
//! backend compiled in).

use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use uuid::Uuid;

/// The type of a [`Value`], also carried by a `NULL` so that PostgreSQL, which types its
/// parameters strictly, gets a typed `NULL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueKind {
    /// `bool`.
    Bool,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `String`.
    Text,
    /// `Vec<u8>`.
    Bytes,
    /// `uuid::Uuid`.
    Uuid,
    /// `chrono::DateTime<Utc>`.
    Timestamp,
    /// `chrono::NaiveDateTime`.
    DateTime,
    /// `chrono::NaiveDate`.
    Date,
    /// `serde_json::Value` (JSON columns).
    Json,
}

impl ValueKind {
    /// The kind's name in error messages: `integer`, `text`, `timestamp`, …
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::Bool => "boolean (true or false)",
            ValueKind::I16 | ValueKind::I32 | ValueKind::I64 => "integer",
            ValueKind::F32 | ValueKind::F64 => "number",
            ValueKind::Text => "text",
            ValueKind::Bytes => "bytes (base64)",
            ValueKind::Uuid => "UUID",
            ValueKind::Timestamp => "timestamp (RFC 3339, e.g. 2026-01-31T12:00:00Z)",
            ValueKind::DateTime => "date and time (e.g. 2026-01-31T12:00:00)",
            ValueKind::Date => "date (e.g. 2026-01-31)",
            ValueKind::Json => "JSON",
        }
    }

    /// Whether the kind is an integer (what `#[model(version)]` needs).
    pub fn is_integer(self) -> bool {
        matches!(self, ValueKind::I16 | ValueKind::I32 | ValueKind::I64)
    }
}

/// A value bound to a statement. Values are always bound, never written into SQL.
///
/// ```
/// use cortex_data::{ToValue, Value, ValueKind};
///
/// assert_eq!("hi".to_value(), Value::Text("hi".into()));
/// assert_eq!(Some(3_i64).to_value(), Value::I64(3));
/// assert_eq!(None::<i64>.to_value(), Value::Null(ValueKind::I64));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// `NULL`, typed.
    Null(ValueKind),
    /// A boolean.
    Bool(bool),
    /// A 16-bit integer.
    I16(i16),
    /// A 32-bit integer.
    I32(i32),
    /// A 64-bit integer.
    I64(i64),
    /// A 32-bit float.
    F32(f32),
    /// A 64-bit float.
    F64(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// A UUID.
    Uuid(Uuid),
    /// A point in time, UTC.
    Timestamp(DateTime<Utc>),
    /// A date and time without a zone.
    DateTime(NaiveDateTime),
    /// A date.
    Date(NaiveDate),
    /// JSON.
    Json(serde_json::Value),
}

impl Value {
    /// The value's kind.
    pub fn kind(&self) -> ValueKind {
        match self {
            Value::Null(kind) => *kind,
            Value::Bool(_) => ValueKind::Bool,
            Value::I16(_) => ValueKind::I16,
            Value::I32(_) => ValueKind::I32,
            Value::I64(_) => ValueKind::I64,
            Value::F32(_) => ValueKind::F32,
            Value::F64(_) => ValueKind::F64,
            Value::Text(_) => ValueKind::Text,
            Value::Bytes(_) => ValueKind::Bytes,
            Value::Uuid(_) => ValueKind::Uuid,
            Value::Timestamp(_) => ValueKind::Timestamp,
            Value::DateTime(_) => ValueKind::DateTime,
            Value::Date(_) => ValueKind::Date,
            Value::Json(_) => ValueKind::Json,
        }
    }

    /// Whether this is a `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null(_))
    }

    /// Parses text (a query-string value) as a value of `kind`; `None` when it is not one.
    ///
    /// ```
    /// use cortex_data::{Value, ValueKind};
    ///
    /// assert_eq!(Value::parse(ValueKind::I64, "42"), Some(Value::I64(42)));
    /// assert_eq!(Value::parse(ValueKind::Bool, "true"), Some(Value::Bool(true)));
    /// assert_eq!(Value::parse(ValueKind::I32, "forty"), None);
    /// ```
    pub fn parse(kind: ValueKind, text: &str) -> Option<Value> {
        Some(match kind {
            ValueKind::Bool => match text {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => return None,
            },
            ValueKind::I16 => Value::I16(text.parse().ok()?),
            ValueKind::I32 => Value::I32(text.parse().ok()?),
            ValueKind::I64 => Value::I64(text.parse().ok()?),
            ValueKind::F32 => Value::F32(text.parse().ok().filter(|f: &f32| f.is_finite())?),
            ValueKind::F64 => Value::F64(text.parse().ok().filter(|f: &f64| f.is_finite())?),
            ValueKind::Text => Value::Text(text.to_string()),
            ValueKind::Bytes => Value::Bytes(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(text.trim_end_matches('='))
                    .ok()?,
            ),
            ValueKind::Uuid => Value::Uuid(text.parse().ok()?),
            ValueKind::Timestamp => {
                Value::Timestamp(DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc))
            }
            ValueKind::DateTime => Value::DateTime(text.parse().ok()?),
            ValueKind::Date => Value::Date(text.parse().ok()?),
            ValueKind::Json => Value::Json(serde_json::from_str(text).ok()?),
        })
    }

    /// The value as JSON (for cursors): numbers stay numbers, the rest is text.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null(_) => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::I16(n) => J::from(*n),
            Value::I32(n) => J::from(*n),
            Value::I64(n) => J::from(*n),
            Value::F32(n) => J::from(*n),
            Value::F64(n) => J::from(*n),
            Value::Text(s) => J::String(s.clone()),
            Value::Bytes(b) => {
                J::String(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
            }
            Value::Uuid(u) => J::String(u.to_string()),
            Value::Timestamp(t) => J::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Value::DateTime(t) => J::String(t.to_string()),
            Value::Date(d) => J::String(d.to_string()),
            Value::Json(j) => J::String(j.to_string()),
        }
    }

    /// The inverse of [`to_json`](Self::to_json), guided by the kind the value must have.
    pub(crate) fn from_json(kind: ValueKind, json: &serde_json::Value) -> Option<Value> {
        use serde_json::Value as J;
        match (kind, json) {
            (_, J::Null) => Some(Value::Null(kind)),
            (ValueKind::Bool, J::Bool(b)) => Some(Value::Bool(*b)),
            (ValueKind::I16, J::Number(n)) => Some(Value::I16(n.as_i64()?.try_into().ok()?)),
            (ValueKind::I32, J::Number(n)) => Some(Value::I32(n.as_i64()?.try_into().ok()?)),
            (ValueKind::I64, J::Number(n)) => Some(Value::I64(n.as_i64()?)),
            #[allow(clippy::cast_possible_truncation)]
            (ValueKind::F32, J::Number(n)) => Some(Value::F32(n.as_f64()? as f32)),
            (ValueKind::F64, J::Number(n)) => Some(Value::F64(n.as_f64()?)),
            (ValueKind::DateTime, J::String(s)) => Some(Value::DateTime(
                NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok()?,
            )),
            (_, J::String(s)) => Value::parse(kind, s),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_json() {
            serde_json::Value::String(s) => f.write_str(&s),
            other => write!(f, "{other}"),
        }
    }
}

/// A Rust value that can be bound to a statement as a [`Value`].
///
/// Implemented for the integer, float, text, bytes, UUID, `chrono` and JSON types, and for
/// `Option<T>` (`None` is a typed `NULL`). Implement it for your own types to store them in a
/// model; with sqlx's `Type` and `Decode` for the backends you use (`#[derive(sqlx::Type)]
/// #[sqlx(transparent)]` with sqlx's `derive` feature) the type is a [`Field`]:
///
/// ```
/// use cortex_data::{ToValue, Value, ValueKind};
///
/// struct Email(String);
///
/// impl ToValue for Email {
///     const KIND: ValueKind = ValueKind::Text;
///     fn to_value(&self) -> Value {
///         Value::Text(self.0.clone())
///     }
/// }
/// assert_eq!(Email("a@b.c".into()).to_value(), Value::Text("a@b.c".into()));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be bound to a statement",
    note = "implement `cortex_data::ToValue` for `{Self}` (and sqlx's `Type`/`Decode` for it) to use it in a model"
)]
pub trait ToValue {
    /// The kind of value this type becomes (also the kind of its `NULL`).
    const KIND: ValueKind;
    /// This value, ready to bind.
    fn to_value(&self) -> Value;
}

macro_rules! to_value {
    ($($ty:ty => $kind:ident, |$v:ident| $make:expr;)*) => {$(
        impl ToValue for $ty {
            const KIND: ValueKind = ValueKind::$kind;
            fn to_value(&self) -> Value {
                let $v = self;
                $make
            }
        }
    )*};
}

to_value! {
    bool => Bool, |v| Value::Bool(*v);
    i16 => I16, |v| Value::I16(*v);
    i32 => I32, |v| Value::I32(*v);
    i64 => I64, |v| Value::I64(*v);
    f32 => F32, |v| Value::F32(*v);
    f64 => F64, |v| Value::F64(*v);
    String => Text, |v| Value::Text(v.clone());
    str => Text, |v| Value::Text(v.to_string());
    Vec<u8> => Bytes, |v| Value::Bytes(v.clone());
    [u8] => Bytes, |v| Value::Bytes(v.to_vec());
    Uuid => Uuid, |v| Value::Uuid(*v);
    DateTime<Utc> => Timestamp, |v| Value::Timestamp(*v);
    NaiveDateTime => DateTime, |v| Value::DateTime(*v);
    NaiveDate => Date, |v| Value::Date(*v);
    serde_json::Value => Json, |v| Value::Json(v.clone());
}

impl<T: ToValue + ?Sized> ToValue for &T {
    const KIND: ValueKind = T::KIND;
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    const KIND: ValueKind = T::KIND;
    fn to_value(&self) -> Value {
        match self {
            Some(value) => value.to_value(),
            None => Value::Null(T::KIND),
        }
    }
}

impl<T: serde::Serialize> ToValue for sqlx::types::Json<T> {
    const KIND: ValueKind = ValueKind::Json;
    fn to_value(&self) -> Value {
        // a value that cannot be JSON (a map with non-text keys) is stored as null
        Value::Json(serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null))
    }
}

/// Decoding bounds per backend: a [`Field`] decodes on each backend compiled in (each trait is
/// empty, and implemented for every type, when its backend is not compiled in).
pub mod decode {
    /// Decodes from a SQLite column.
    #[cfg(feature = "sqlite")]
    pub trait DecodeSqlite:
        for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>
    {
    }
    #[cfg(feature = "sqlite")]
    impl<T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>> DecodeSqlite for T {}
    /// Decodes from a SQLite column (SQLite is not compiled in: every type does).
    #[cfg(not(feature = "sqlite"))]
    pub trait DecodeSqlite {}
    #[cfg(not(feature = "sqlite"))]
    impl<T: ?Sized> DecodeSqlite for T {}

    /// Decodes from a PostgreSQL column.
    #[cfg(feature = "postgres")]
    pub trait DecodePostgres:
        for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>
    {
    }
    #[cfg(feature = "postgres")]
    impl<T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>> DecodePostgres
        for T
    {
    }
    /// Decodes from a PostgreSQL column (PostgreSQL is not compiled in: every type does).
    #[cfg(not(feature = "postgres"))]
    pub trait DecodePostgres {}
    #[cfg(not(feature = "postgres"))]
    impl<T: ?Sized> DecodePostgres for T {}

    /// Decodes from a MySQL/MariaDB column.
    #[cfg(feature = "mysql")]
    pub trait DecodeMySql: for<'r> sqlx::Decode<'r, sqlx::MySql> + sqlx::Type<sqlx::MySql> {}
    #[cfg(feature = "mysql")]
    impl<T: for<'r> sqlx::Decode<'r, sqlx::MySql> + sqlx::Type<sqlx::MySql>> DecodeMySql for T {}
    /// Decodes from a MySQL/MariaDB column (MySQL is not compiled in: every type does).
    #[cfg(not(feature = "mysql"))]
    pub trait DecodeMySql {}
    #[cfg(not(feature = "mysql"))]
    impl<T: ?Sized> DecodeMySql for T {}
}

/// What a model's field must be: bindable ([`ToValue`]) and decodable on every backend this build
/// compiles in. Implemented for every such type; a field of another type is a compile error at
/// the field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a model field",
    note = "a field must implement `cortex_data::ToValue` and sqlx's `Type` + `Decode` for every database compiled in (derive `sqlx::Type` for your own types)"
)]
pub trait Field:
    ToValue
    + decode::DecodeSqlite
    + decode::DecodePostgres
    + decode::DecodeMySql
    + Send
    + Sync
    + 'static
{
}

impl<T> Field for T where
    T: ToValue
        + decode::DecodeSqlite
        + decode::DecodePostgres
        + decode::DecodeMySql
        + Send
        + Sync
        + 'static
{
}

/// One row of a result, from whichever backend ran the statement; a model's generated
/// `decode` reads its fields by position, checked by name (the same as [`get`](Row::get)).
pub struct Row {
    inner: RowInner,
}

pub(crate) enum RowInner {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteRow),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgRow),
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlRow),
}

impl Row {
    pub(crate) fn new(inner: RowInner) -> Row {
        Row { inner }
    }

    /// The column named `column`, decoded as `T`.
    ///
    /// # Errors
    /// sqlx's error when the column is missing or holds another type.
    pub fn get<T: Field>(&self, column: &str) -> Result<T, sqlx::Error> {
        use sqlx::Row as _;
        match &self.inner {
            #[cfg(feature = "sqlite")]
            RowInner::Sqlite(row) => row.try_get::<T, _>(column),
            #[cfg(feature = "postgres")]
            RowInner::Postgres(row) => row.try_get::<T, _>(column),
            #[cfg(feature = "mysql")]
            RowInner::MySql(row) => row.try_get::<T, _>(column),
        }
    }

    /// The column named `column`, expected at position `index`: read by position when the
    /// row's column there has that name (the repository's own statements list a model's columns
    /// in order), by name otherwise. Same result as [`get`](Row::get), without the lookup of
    /// the name in the row's column map (a hash per column per row); the derived `decode`
    /// calls it.
    ///
    /// # Errors
    /// sqlx's error when the column is missing or holds another type.
    #[doc(hidden)]
    pub fn get_at<T: Field>(&self, index: usize, column: &str) -> Result<T, sqlx::Error> {
        use sqlx::{Column as _, Row as _};
        match &self.inner {
            #[cfg(feature = "sqlite")]
            RowInner::Sqlite(row) => match row.columns().get(index) {
                Some(c) if c.name() == column => row.try_get::<T, _>(index),
                _ => row.try_get::<T, _>(column),
            },
            #[cfg(feature = "postgres")]
            RowInner::Postgres(row) => match row.columns().get(index) {
                Some(c) if c.name() == column => row.try_get::<T, _>(index),
                _ => row.try_get::<T, _>(column),
            },
            #[cfg(feature = "mysql")]
            RowInner::MySql(row) => match row.columns().get(index) {
                Some(c) if c.name() == column => row.try_get::<T, _>(index),
                _ => row.try_get::<T, _>(column),
            },
        }
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Row").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn a_column_is_read_by_position_when_its_name_matches_and_by_name_otherwise() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let row = sqlx::query("SELECT 2 AS b, 1 AS a")
            .fetch_one(&pool)
            .await
            .unwrap();
        let row = Row::new(RowInner::Sqlite(row));
        assert_read_by_position_or_name(&row);
        assert_eq!(format!("{row:?}"), "Row { .. }");
    }

    /// The same on the servers (127.0.0.1; `scripts/services` starts them).
    #[cfg(all(feature = "postgres", feature = "mysql"))]
    #[tokio::test]
    async fn a_column_is_read_by_position_or_by_name_on_the_servers_too() {
        let pg = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/test")
            .await
            .expect("PostgreSQL on 127.0.0.1:5432; hint: run scripts/services");
        let row = sqlx::query("SELECT 2::int8 AS b, 1::int8 AS a")
            .fetch_one(&pg)
            .await
            .unwrap();
        assert_read_by_position_or_name(&Row::new(RowInner::Postgres(row)));
        let my = sqlx::MySqlPool::connect("mysql://root@127.0.0.1:3306/test")
            .await
            .expect("MariaDB on 127.0.0.1:3306; hint: run scripts/services");
        let row = sqlx::query("SELECT CAST(2 AS SIGNED) AS b, CAST(1 AS SIGNED) AS a")
            .fetch_one(&my)
            .await
            .unwrap();
        assert_read_by_position_or_name(&Row::new(RowInner::MySql(row)));
    }

    /// `row` is `b = 2, a = 1`, in that order.
    fn assert_read_by_position_or_name(row: &Row) {
        assert_eq!(row.get_at::<i64>(0, "b").unwrap(), 2);
        assert_eq!(row.get_at::<i64>(1, "a").unwrap(), 1);
        // not where the model expects it: found by its name
        assert_eq!(row.get_at::<i64>(0, "a").unwrap(), 1);
        assert_eq!(row.get_at::<i64>(7, "b").unwrap(), 2);
        assert!(matches!(
            row.get_at::<i64>(0, "c"),
            Err(sqlx::Error::ColumnNotFound(name)) if name == "c"
        ));
    }

    #[test]
    fn every_kind_round_trips_through_json() {
        let values = [
            Value::Bool(true),
            Value::I16(-3),
            Value::I32(7),
            Value::I64(1 << 40),
            Value::F32(0.25),
            Value::F64(1.5),
            Value::Text("a,b".into()),
            Value::Bytes(vec![0, 255]),
            Value::Uuid(Uuid::now_v7()),
            Value::Timestamp("2026-01-31T12:00:00.123456Z".parse().unwrap()),
            Value::DateTime("2026-01-31T12:00:00.5".parse().unwrap()),
            Value::Date("2026-01-31".parse().unwrap()),
            Value::Json(serde_json::json!({"a": [1]})),
            Value::Null(ValueKind::Text),
        ];
        for value in values {
            let json = value.to_json();
            assert_eq!(Value::from_json(value.kind(), &json), Some(value));
        }
    }

    #[test]
    fn text_that_is_not_of_the_kind_does_not_parse() {
        assert_eq!(Value::parse(ValueKind::I16, "70000"), None);
        assert_eq!(Value::parse(ValueKind::F64, "NaN"), None);
        assert_eq!(Value::parse(ValueKind::Uuid, "nope"), None);
        assert_eq!(Value::parse(ValueKind::Timestamp, "2026-01-31"), None);
        assert_eq!(Value::parse(ValueKind::Bool, "yes"), None);
        assert_eq!(
            Value::parse(ValueKind::Bool, "false"),
            Some(Value::Bool(false))
        );
        assert_eq!(Value::parse(ValueKind::Bool, "0"), Some(Value::Bool(false)));
        assert_eq!(
            Value::parse(ValueKind::Timestamp, "2026-01-31T12:00:00+02:00"),
            Some(Value::Timestamp("2026-01-31T10:00:00Z".parse().unwrap()))
        );
    }

    #[test]
    fn options_bind_as_typed_nulls() {
        assert_eq!(None::<Uuid>.to_value(), Value::Null(ValueKind::Uuid));
        assert_eq!(<Option<String> as ToValue>::KIND, ValueKind::Text);
        assert!(ValueKind::I32.is_integer());
        assert!(!ValueKind::Text.is_integer());
    }
}
