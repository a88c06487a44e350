//! [`Model`]: a struct that is a table's row, implemented by `#[derive(Model)]`; [`Column`]: its
//! typed column constants (`Post::TITLE`), which filters and orderings are made of.

use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;

use crate::sql::StatementCache;
use crate::value::{Field, Row, ToValue, Value, ValueKind};

/// How a model's primary key gets its value on insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStrategy {
    /// The database assigns it (an integer key: `INTEGER PRIMARY KEY` on SQLite, `BIGSERIAL` /
    /// `GENERATED … AS IDENTITY` on PostgreSQL, `AUTO_INCREMENT` on MySQL); the field's value is
    /// not inserted.
    AutoIncrement,
    /// A UUID key: `insert` generates a version 7 UUID (time-ordered) when the field is nil.
    Uuid,
    /// Any other key type: inserted as the field holds it.
    Manual,
}

/// One column of a model, as the derive describes it.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    /// The Rust field.
    pub field: &'static str,
    /// The column's name in the table.
    pub name: &'static str,
    /// The kind of value it holds.
    pub kind: ValueKind,
    /// Whether the field is an `Option` (the column is nullable).
    pub nullable: bool,
    /// Whether query strings may filter and sort by it (`#[model(no_query)]` turns it off).
    pub queryable: bool,
}

/// What `#[derive(Model)]` knows about a model: its table, columns and the columns with a role.
#[derive(Debug)]
pub struct ModelMeta {
    /// The struct's name, for messages: `Post`.
    pub name: &'static str,
    /// The table: by default the struct's name in snake case, pluralised (`Post` → `posts`).
    pub table: &'static str,
    /// Every column, in field order.
    pub columns: &'static [ColumnDef],
    /// The primary key's index in `columns`.
    pub primary_key: usize,
    /// How the key is assigned on insert.
    pub key_strategy: KeyStrategy,
    /// `created_at`, set on insert.
    pub created_at: Option<usize>,
    /// `updated_at`, set on insert and every update.
    pub updated_at: Option<usize>,
    /// `deleted_at`: soft delete.
    pub deleted_at: Option<usize>,
    /// `#[model(version)]`: optimistic locking.
    pub version: Option<usize>,
}

impl ModelMeta {
    /// The primary key's column.
    pub fn key_column(&self) -> &'static ColumnDef {
        &self.columns[self.primary_key]
    }

    /// The column named `name` (its database name), with its index.
    pub fn column(&self, name: &str) -> Option<(usize, &'static ColumnDef)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }
}

/// A struct that is a table's row. Implemented by `#[derive(Model)]`; read by
/// [`Repo`](crate::Repo).
///
/// ```
/// use chrono::{DateTime, Utc};
/// use cortex_data::Model;
///
/// #[derive(Model, Debug, Clone)]
/// struct Post {
///     id: i64,
///     title: String,
///     body: Option<String>,
///     created_at: DateTime<Utc>,
///     updated_at: DateTime<Utc>,
/// }
///
/// assert_eq!(Post::META.table, "posts");
/// assert_eq!(Post::TITLE.name(), "title");
/// ```
pub trait Model: Sized + Send + Sync + Unpin + 'static {
    /// The primary key's type (`i64`, `i32`, `Uuid`, …).
    type Key: Field + Clone + Eq + Hash + fmt::Debug + Send + Sync;

    /// The table, columns and roles.
    const META: ModelMeta;

    /// The primary key's value.
    fn key(&self) -> Self::Key;

    /// The value of column `index` (in [`ModelMeta::columns`] order).
    fn value(&self, index: usize) -> Value;

    /// Reads a model from a row that has every column.
    ///
    /// # Errors
    /// sqlx's error when a column is missing or of another type.
    fn decode(row: &Row) -> Result<Self, sqlx::Error>;

    /// The model's SQL, generated once per backend.
    #[doc(hidden)]
    fn statements() -> &'static StatementCache;
}

/// A typed column of model `M` holding values of `T` (for a nullable `Option<T>` field, `T`):
/// the derive makes one constant per field, `Post::TITLE`. Filters and orderings are made from
/// it, so a column that does not exist is a compile error.
///
/// ```
/// # use cortex_data::Model;
/// # #[derive(Model)] struct Post { id: i64, title: String, views: i32 }
/// let filter = Post::TITLE.eq("Hello").and(Post::VIEWS.gt(10));
/// let order = Post::VIEWS.desc();
/// # let _ = (filter, order);
/// ```
pub struct Column<M, T> {
    index: usize,
    name: &'static str,
    nullable: bool,
    _model: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Column<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, T> Copy for Column<M, T> {}

impl<M, T> fmt::Debug for Column<M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Column({})", self.name)
    }
}

impl<M: Model, T: ToValue> Column<M, T> {
    /// The column at `index` of `M`. Used by the derive.
    #[doc(hidden)]
    pub const fn new(index: usize, name: &'static str, nullable: bool) -> Self {
        Column {
            index,
            name,
            nullable,
            _model: PhantomData,
        }
    }

    /// The column's name in the table.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The column's index in [`ModelMeta::columns`].
    pub fn index(self) -> usize {
        self.index
    }

    /// Whether the column is nullable (its field is an `Option`).
    ///
    /// ```
    /// use cortex_data::Model;
    ///
    /// #[derive(Model)]
    /// struct Post { id: i64, title: String, summary: Option<String> }
    ///
    /// assert!(!Post::TITLE.is_nullable());
    /// assert!(Post::SUMMARY.is_nullable());
    /// assert_eq!(format!("{:?}", Post::TITLE), "Column(title)");
    /// ```
    pub fn is_nullable(self) -> bool {
        self.nullable
    }
}
