//! [`Repo<M>`]: a model's repository — find, page, insert, update, delete, count — on the pool,
//! or in a transaction with [`Repo::on`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, SubsecRound, Utc};
use cortex_di::{Dependency, Provider};

use crate::db::Db;
use crate::error::DataError;
use crate::exec::Conn;
use crate::model::{KeyStrategy, Model};
use crate::query::{ColumnValue, Cursor, DEFAULT_LIMIT, Query, SqlWriter};
use crate::sql::Statements;
use crate::tx::Tx;
use crate::value::{ToValue, Value};
use crate::{Column, Row};

/// How many values one statement binds at most (SQLite allows 32766, PostgreSQL 65535): bulk
/// inserts and relation loads are split into statements of at most this many.
const MAX_BINDS: usize = 30_000;

/// A page of a keyset-paginated query: the rows, and the cursor of the next page (`None` on the
/// last page). Serializes as `{"items": […], "next_cursor": "…"}`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Page<M> {
    /// The rows of this page.
    pub items: Vec<M>,
    /// Pass it to [`Query::after`] (or as `?after=`) for the next page.
    pub next_cursor: Option<Cursor>,
}

/// The repository of model `M`: its rows, read and written through typed queries.
///
/// Injectable: `#[derive(Model)]` registers a `Repo<M>` provider (over the app's [`Db`]) that the
/// data plugin adds; [`Repo::provider`] registers one explicitly. Every method runs on the pool;
/// [`on`](Repo::on) runs the same methods inside a transaction.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use cortex_data::{DatabaseConfig, Db, Model, Query, Repo};
///
/// #[derive(Model, Debug, Clone, Default)]
/// struct Post {
///     id: i64,
///     title: String,
///     created_at: DateTime<Utc>,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_data::DataError> {
/// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
/// sqlx::query("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL, created_at TEXT NOT NULL)")
///     .execute(db.sqlite().unwrap()).await?;
///
/// let posts = Repo::<Post>::new(db);
/// let post = posts.insert(&Post { title: "Hello".into(), ..Default::default() }).await?;
/// assert_eq!(post.id, 1); // the key and `created_at` are filled in
/// assert_eq!(posts.get(post.id).await?.title, "Hello");
///
/// let updated = posts.update(post.id).set(Post::TITLE, "Hello, world").exec().await?;
/// assert_eq!(updated.title, "Hello, world");
/// assert_eq!(posts.count(Post::TITLE.like("Hello%")).await?, 1);
///
/// posts.delete(post.id).await?;
/// assert!(posts.find(post.id).await?.is_none());
/// # Ok(()) }
/// ```
pub struct Repo<M> {
    db: Db,
    with_deleted: bool,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for Repo<M> {
    fn clone(&self) -> Self {
        Repo {
            db: self.db.clone(),
            with_deleted: self.with_deleted,
            _model: PhantomData,
        }
    }
}

impl<M: Model> fmt::Debug for Repo<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repo")
            .field("model", &M::META.name)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// A repository whose statements run inside a transaction: made by [`Repo::on`]; it has the
/// repository's methods.
pub struct RepoOn<'t, M> {
    tx: &'t mut Tx,
    with_deleted: bool,
    _model: PhantomData<fn() -> M>,
}

impl<M: Model> Repo<M> {
    /// A repository on `db`.
    pub fn new(db: Db) -> Self {
        Repo {
            db,
            with_deleted: false,
            _model: PhantomData,
        }
    }

    /// A provider of `Repo<M>` over the container's [`Db`], for explicit registration in an app
    /// without the data plugin (`app.provide(Repo::<Post>::provider())`); with the plugin, the
    /// one the derive submits is added already.
    #[track_caller]
    pub fn provider() -> Provider<Repo<M>> {
        Provider::factory(|r| Ok(Repo::new((*r.get::<Db>()?).clone())))
            .depends_on(Dependency::on::<Db>())
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The same repository, seeing soft-deleted rows too (in `find`, `get`, `find_many`, `count`,
    /// …).
    #[must_use]
    pub fn with_deleted(&self) -> Self {
        Repo {
            with_deleted: true,
            ..self.clone()
        }
    }

    /// The repository's methods, run inside `tx`.
    ///
    /// ```
    /// # use cortex_data::{DatabaseConfig, Db, Model, Repo};
    /// # #[derive(Model, Default)] struct Tag { id: i64, name: String }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cortex_data::DataError> {
    /// # let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
    /// # sqlx::query("CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT)").execute(db.sqlite().unwrap()).await?;
    /// let tags = Repo::<Tag>::new(db.clone());
    /// let mut tx = db.begin().await?;
    /// tags.on(&mut tx).insert(&Tag { name: "rust".into(), ..Default::default() }).await?;
    /// tx.rollback().await?;
    /// assert_eq!(tags.count(cortex_data::Query::new()).await?, 0);
    /// # Ok(()) }
    /// ```
    pub fn on<'t>(&self, tx: &'t mut Tx) -> RepoOn<'t, M> {
        RepoOn {
            tx,
            with_deleted: self.with_deleted,
            _model: PhantomData,
        }
    }

    fn ops(&self) -> Ops<'_, M> {
        Ops::new(Conn::Pool(&self.db), self.with_deleted)
    }
}

impl<'t, M: Model> RepoOn<'t, M> {
    /// The same, seeing soft-deleted rows too.
    #[must_use]
    pub fn with_deleted(self) -> Self {
        RepoOn {
            with_deleted: true,
            ..self
        }
    }

    fn ops(&mut self) -> Ops<'_, M> {
        Ops::new(Conn::Tx(self.tx), self.with_deleted)
    }
}

/// Writes the public methods twice: on [`Repo`] (the pool) and on [`RepoOn`] (a transaction).
macro_rules! repo_methods {
    ($(
        $(#[$doc:meta])*
        fn $name:ident $(<$g:ident: Model>)? (&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;
    )*) => {
        impl<M: Model> Repo<M> {$(
            $(#[$doc])*
            pub async fn $name $(<$g: Model>)? (&self $(, $arg: $ty)*) -> $ret {
                self.ops().$name($($arg),*).await
            }
        )*}

        impl<M: Model> RepoOn<'_, M> {$(
            #[doc = concat!("[`Repo::", stringify!($name), "`], in the transaction.")]
            pub async fn $name $(<$g: Model>)? (&mut self $(, $arg: $ty)*) -> $ret {
                self.ops().$name($($arg),*).await
            }
        )*}
    };
}

repo_methods! {
    /// The row with this key, if there is one (not soft-deleted).
    ///
    /// # Errors
    /// The database's.
    fn find(&self, key: M::Key) -> Result<Option<M>, DataError>;

    /// The row with this key.
    ///
    /// # Errors
    /// [`DataError::NotFound`] naming the model and key (404) when there is none; the database's.
    fn get(&self, key: M::Key) -> Result<M, DataError>;

    /// The rows the query selects, in its order, with its limit and offset (offset pagination).
    ///
    /// # Errors
    /// The database's.
    fn find_many(&self, query: impl Into<Query<M>>) -> Result<Vec<M>, DataError>;

    /// The first row the query selects.
    ///
    /// # Errors
    /// The database's.
    fn find_one(&self, query: impl Into<Query<M>>) -> Result<Option<M>, DataError>;

    /// Offset pagination with a total: the rows the query selects, and how many rows its filter
    /// matches in all (two statements).
    ///
    /// # Errors
    /// The database's.
    fn find_and_count(&self, query: impl Into<Query<M>>) -> Result<(Vec<M>, u64), DataError>;

    /// Keyset pagination: one page of the query's rows in its order (then by key), at most its
    /// limit ([`DEFAULT_LIMIT`] without one), starting after its cursor ([`Query::after`]); the
    /// page carries the cursor of the next one. Stable under inserts, and as fast on page 1000 as
    /// on page 1. The ordering's columns must be `NOT NULL`.
    ///
    /// # Errors
    /// [`DataError::Config`] when an ordering column is nullable or the cursor was made for
    /// another ordering (a programming error: cursors from query strings are checked by
    /// [`Query::from_params`]); the database's.
    fn find_page(&self, query: impl Into<Query<M>>) -> Result<Page<M>, DataError>;

    /// How many rows the query's filter matches.
    ///
    /// # Errors
    /// The database's.
    fn count(&self, query: impl Into<Query<M>>) -> Result<u64, DataError>;

    /// Whether the query's filter matches a row.
    ///
    /// # Errors
    /// The database's.
    fn exists(&self, query: impl Into<Query<M>>) -> Result<bool, DataError>;

    /// Inserts a row and returns it as stored: an auto-increment key assigned by the database, a
    /// nil UUID key replaced by a new version 7 UUID, `created_at`/`updated_at` set to now, the
    /// version set to 1.
    ///
    /// # Errors
    /// [`DataError::Conflict`] on a unique violation, [`DataError::Constraint`] on a check,
    /// foreign-key or not-null one, the database's (a value too long on MySQL in strict mode is
    /// a [`DataError::Constraint`]).
    fn insert(&self, model: &M) -> Result<M, DataError>;

    /// Inserts rows (as [`insert`](Repo::insert) does each) atomically: in one statement per
    /// batch on SQLite and PostgreSQL, one per row on MySQL, all in one transaction.
    ///
    /// # Errors
    /// As [`insert`](Repo::insert); nothing is inserted then.
    fn insert_many(&self, models: &[M]) -> Result<Vec<M>, DataError>;

    /// Writes every column of `model` to its row (not the key, `created_at` or `deleted_at`),
    /// sets `updated_at` to now and, with a version column, bumps it — refusing when the row's
    /// version is no longer `model`'s (someone else saved in between).
    ///
    /// # Errors
    /// [`DataError::Conflict`] (409) on a stale version; [`DataError::NotFound`] when the row is
    /// gone (or soft-deleted); as [`insert`](Repo::insert).
    fn save(&self, model: &M) -> Result<M, DataError>;

    /// Deletes the row: soft (sets `deleted_at`) when the model has `deleted_at`, for good
    /// otherwise.
    ///
    /// # Errors
    /// [`DataError::NotFound`] when there is no such row (or it is soft-deleted already).
    fn delete(&self, key: M::Key) -> Result<(), DataError>;

    /// Deletes the row for good, soft-deleted or not.
    ///
    /// # Errors
    /// [`DataError::NotFound`] when there is no such row.
    fn force_delete(&self, key: M::Key) -> Result<(), DataError>;

    /// Brings a soft-deleted row back and returns it.
    ///
    /// # Errors
    /// [`DataError::NotFound`] when there is no soft-deleted row with this key;
    /// [`DataError::Config`] when the model has no `deleted_at`.
    fn restore(&self, key: M::Key) -> Result<M, DataError>;

    /// `has_many`: the children (`C`) of each of `parents`, by the children's foreign-key column,
    /// in one statement (`WHERE fk IN (…)`) — no N+1. Every parent has an entry (empty when it
    /// has no children); children are in key order.
    ///
    /// ```
    /// # use cortex_data::{DatabaseConfig, Db, Model, Repo};
    /// # #[derive(Model, Default)] struct Post { id: i64 }
    /// # #[derive(Model, Default)] struct Comment { id: i64, post_id: i64, body: String }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cortex_data::DataError> {
    /// # let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
    /// # sqlx::query("CREATE TABLE posts (id INTEGER PRIMARY KEY)").execute(db.sqlite().unwrap()).await?;
    /// # sqlx::query("CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER, body TEXT)").execute(db.sqlite().unwrap()).await?;
    /// let (posts, comments) = (Repo::<Post>::new(db.clone()), Repo::<Comment>::new(db));
    /// let post = posts.insert(&Post::default()).await?;
    /// comments.insert(&Comment { post_id: post.id, body: "first".into(), ..Default::default() }).await?;
    ///
    /// let page = posts.find_many(cortex_data::Query::new()).await?;
    /// let by_post = posts.has_many(&page, Comment::POST_ID).await?;
    /// assert_eq!(by_post[&post.id][0].body, "first");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The database's.
    fn has_many<C: Model>(&self, parents: &[M], foreign_key: Column<C, M::Key>) -> Result<std::collections::HashMap<M::Key, Vec<C>>, DataError>;

    /// `belongs_to`: the parent (`P`) each of `children` refers to by its foreign-key column, in
    /// one statement, keyed by the parent's key (a child whose key is `NULL`, or whose parent
    /// is gone, has none).
    ///
    /// # Errors
    /// The database's.
    fn belongs_to<P: Model>(&self, children: &[M], foreign_key: Column<M, P::Key>) -> Result<std::collections::HashMap<P::Key, P>, DataError>;
}

impl<M: Model> Repo<M> {
    /// A partial update of the row with this key: only the columns [`set`](Update::set) are
    /// written (and `updated_at`, and the version bumped).
    ///
    /// ```
    /// # use cortex_data::{DatabaseConfig, Db, Model, Repo};
    /// # #[derive(Model, Default)] struct Post { id: i64, title: String, views: i32 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cortex_data::DataError> {
    /// # let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
    /// # sqlx::query("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, views INTEGER)").execute(db.sqlite().unwrap()).await?;
    /// let posts = Repo::<Post>::new(db);
    /// let post = posts.insert(&Post { title: "Draft".into(), ..Default::default() }).await?;
    /// let post = posts.update(post.id).set(Post::VIEWS, 10).exec().await?;
    /// assert_eq!((post.title.as_str(), post.views), ("Draft", 10));
    /// # Ok(()) }
    /// ```
    pub fn update(&self, key: M::Key) -> Update<'_, M> {
        Update::new(self.ops(), key)
    }
}

impl<M: Model> RepoOn<'_, M> {
    /// [`Repo::update`], in the transaction.
    pub fn update(&mut self, key: M::Key) -> Update<'_, M> {
        Update::new(self.ops(), key)
    }
}

/// A partial update being built: [`Repo::update`]`(key).set(…).exec()`.
#[must_use = "an update does nothing until `exec` is awaited"]
pub struct Update<'c, M: Model> {
    ops: Ops<'c, M>,
    key: M::Key,
    sets: Vec<(usize, Value)>,
    version: Option<Value>,
}

impl<'c, M: Model> Update<'c, M> {
    fn new(ops: Ops<'c, M>, key: M::Key) -> Self {
        Update {
            ops,
            key,
            sets: Vec::new(),
            version: None,
        }
    }

    /// Writes `value` to `column`.
    pub fn set<T: ToValue>(mut self, column: Column<M, T>, value: impl ColumnValue<T>) -> Self {
        self.sets.push((column.index(), value.into_value()));
        self
    }

    /// Writes `NULL` to a nullable `column`.
    pub fn set_null<T: ToValue>(mut self, column: Column<M, T>) -> Self {
        self.sets.push((column.index(), Value::Null(T::KIND)));
        self
    }

    /// Optimistic locking: applies only while the row's version is still `version`.
    pub fn if_version(mut self, version: impl ToValue) -> Self {
        self.version = Some(version.to_value());
        self
    }

    /// Runs the update and returns the row as it is now.
    ///
    /// # Errors
    /// [`DataError::NotFound`] when there is no such row (or it is soft-deleted);
    /// [`DataError::Conflict`] when [`if_version`](Self::if_version) no longer holds; as
    /// [`Repo::insert`].
    pub async fn exec(mut self) -> Result<M, DataError> {
        let meta = &M::META;
        let now = now();
        if let Some(u) = meta.updated_at
            && !self.sets.iter().any(|(i, _)| *i == u)
        {
            self.sets.push((u, Value::Timestamp(now)));
        }
        let backend = self.ops.conn.backend();
        let statements = self.ops.statements();
        if self.sets.is_empty() && meta.version.is_none() {
            return self.ops.get(self.key).await;
        }
        let mut w = SqlWriter::new(backend, format!("UPDATE {} SET ", statements.table));
        for (n, (index, value)) in self.sets.into_iter().enumerate() {
            if n > 0 {
                w.push(", ");
            }
            w.column(meta, index);
            w.push(" = ");
            w.arg(value);
        }
        if let Some(v) = meta.version {
            let quoted = backend.quote(meta.columns[v].name);
            if w.args.is_empty() {
                w.push(&format!("{quoted} = {quoted} + 1"));
            } else {
                w.push(&format!(", {quoted} = {quoted} + 1"));
            }
        }
        w.push(" WHERE ");
        w.column(meta, meta.primary_key);
        w.push(" = ");
        w.arg(self.key.to_value());
        let checked = self.version.is_some();
        if let (Some(v), Some(version)) = (meta.version, self.version) {
            w.push(" AND ");
            w.column(meta, v);
            w.push(" = ");
            w.arg(version);
        }
        w.push(&statements.not_deleted);
        self.ops.update_returning(w, self.key, checked).await
    }
}

/// The current time, to the microsecond (what PostgreSQL and MySQL keep).
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The repository's operations on one connection; [`Repo`], [`RepoOn`] and [`Update`] call them.
pub(crate) struct Ops<'c, M> {
    pub(crate) conn: Conn<'c>,
    with_deleted: bool,
    _model: PhantomData<fn() -> M>,
}

impl<'c, M: Model> Ops<'c, M> {
    pub(crate) fn new(conn: Conn<'c>, with_deleted: bool) -> Self {
        Ops {
            conn,
            with_deleted,
            _model: PhantomData,
        }
    }

    fn statements(&self) -> &'static Statements {
        M::statements().get(&M::META, self.conn.backend())
    }

    fn not_found(key: &M::Key) -> DataError {
        DataError::NotFound {
            entity: M::META.name,
            key: format!("{key:?}"),
        }
    }

    fn decode(row: &Row) -> Result<M, DataError> {
        M::decode(row).map_err(DataError::from)
    }

    async fn find(&mut self, key: M::Key) -> Result<Option<M>, DataError> {
        let s = self.statements();
        let sql = if self.with_deleted {
            &s.by_key_with_deleted
        } else {
            &s.by_key
        };
        let row = self
            .conn
            .fetch_optional(
                (M::META.name, M::META.table, "find"),
                Cow::Borrowed(sql.as_str()),
                vec![key.to_value()],
            )
            .await?;
        row.as_ref().map(Self::decode).transpose()
    }

    async fn get(&mut self, key: M::Key) -> Result<M, DataError> {
        match self.find(key.clone()).await? {
            Some(model) => Ok(model),
            None => Err(Self::not_found(&key)),
        }
    }

    /// `SELECT … FROM … WHERE <filter> [AND not deleted]` for `query`.
    fn select(&self, query: &Query<M>, head: &str) -> SqlWriter {
        let mut w = SqlWriter::new(self.conn.backend(), head);
        self.where_clause(&mut w, query);
        w
    }

    fn where_clause(&self, w: &mut SqlWriter, query: &Query<M>) {
        let s = self.statements();
        w.push(" WHERE ");
        match &query.filter {
            Some(node) => w.node(&M::META, node),
            None => w.push("1 = 1"),
        }
        if !(self.with_deleted || query.with_deleted) {
            w.push(&s.not_deleted);
        }
    }

    fn order_and_limit(
        w: &mut SqlWriter,
        query: &Query<M>,
        order: &[crate::Order<M>],
        limit: Option<u64>,
    ) {
        if !order.is_empty() {
            w.push(" ORDER BY ");
            for (n, o) in order.iter().enumerate() {
                if n > 0 {
                    w.push(", ");
                }
                w.column(&M::META, o.column);
                w.push(if o.desc { " DESC" } else { " ASC" });
            }
        }
        // bound, not written in: one prepared statement serves every page. MySQL and SQLite
        // need a LIMIT for an OFFSET: the largest signed 64-bit integer
        let bound = |n: u64| Value::I64(i64::try_from(n).unwrap_or(i64::MAX));
        let limit = match (limit, query.offset) {
            (Some(limit), _) => Some(limit),
            (None, Some(_)) => Some(u64::MAX),
            (None, None) => None,
        };
        if let Some(limit) = limit {
            w.push(" LIMIT ");
            w.arg(bound(limit));
        }
        if let Some(offset) = query.offset {
            w.push(" OFFSET ");
            w.arg(bound(offset));
        }
    }

    async fn run(&mut self, w: SqlWriter) -> Result<Vec<M>, DataError> {
        let mut models = Vec::new();
        self.conn
            .fetch_each(
                (M::META.name, M::META.table, "select"),
                Cow::Owned(w.sql),
                w.args,
                |row| {
                    models.push(M::decode(&row)?);
                    Ok(())
                },
            )
            .await?;
        Ok(models)
    }

    async fn find_many(&mut self, query: impl Into<Query<M>>) -> Result<Vec<M>, DataError> {
        let query = query.into();
        let mut w = self.select(&query, &self.statements().select);
        Self::order_and_limit(&mut w, &query, &query.order, query.limit);
        self.run(w).await
    }

    async fn find_one(&mut self, query: impl Into<Query<M>>) -> Result<Option<M>, DataError> {
        let query = query.into().limit(1);
        Ok(self.find_many(query).await?.pop())
    }

    async fn find_and_count(
        &mut self,
        query: impl Into<Query<M>>,
    ) -> Result<(Vec<M>, u64), DataError> {
        let query = query.into();
        let total = self.count(query.clone()).await?;
        Ok((self.find_many(query).await?, total))
    }

    async fn find_page(&mut self, query: impl Into<Query<M>>) -> Result<Page<M>, DataError> {
        let query = query.into();
        let meta = &M::META;
        let order = query.keyset_order();
        if let Some(o) = order.iter().find(|o| meta.columns[o.column].nullable) {
            return Err(DataError::Config {
                message: format!(
                    "keyset pagination of {} orders by `{}`, which is nullable; hint: order by NOT NULL columns, or use offset pagination (find_many with offset)",
                    meta.name, meta.columns[o.column].name
                ),
            });
        }
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT).max(1);
        let mut w = self.select(&query, &self.statements().select);
        if let Some(cursor) = &query.after {
            let values = cursor.values_for::<M>(&order).map_err(|_| DataError::Config {
                message: format!(
                    "the cursor given to {}'s find_page was made for another ordering; hint: keep the query's order_by the same from page to page",
                    meta.name
                ),
            })?;
            // (a > x) OR (a = x AND b > y) OR …, each comparison in its column's direction
            w.push(" AND (");
            for i in 0..order.len() {
                if i > 0 {
                    w.push(" OR ");
                }
                w.push("(");
                for j in 0..i {
                    w.column(meta, order[j].column);
                    w.push(" = ");
                    w.arg(values[j].clone());
                    w.push(" AND ");
                }
                w.column(meta, order[i].column);
                w.push(if order[i].desc { " < " } else { " > " });
                w.arg(values[i].clone());
                w.push(")");
            }
            w.push(")");
        }
        let unlimited = Query {
            offset: None,
            ..query.clone()
        };
        Self::order_and_limit(&mut w, &unlimited, &order, Some(limit + 1));
        let mut items = self.run(w).await?;
        let next_cursor = if items.len() as u64 > limit {
            items.truncate(limit as usize);
            items.last().map(|last| {
                let values: Vec<Value> = order.iter().map(|o| last.value(o.column)).collect();
                Cursor::new(&order, &values)
            })
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    async fn count(&mut self, query: impl Into<Query<M>>) -> Result<u64, DataError> {
        let query = query.into();
        let w = self.select(&query, &self.statements().count);
        let row = self
            .conn
            .fetch_optional(
                (M::META.name, M::META.table, "count"),
                Cow::Owned(w.sql),
                w.args,
            )
            .await?;
        let count: i64 = match row {
            Some(row) => row.get("n")?,
            None => 0,
        };
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn exists(&mut self, query: impl Into<Query<M>>) -> Result<bool, DataError> {
        let query = query.into();
        let mut w = self.select(&query, &self.statements().exists);
        w.push(" LIMIT 1");
        Ok(self
            .conn
            .fetch_optional(
                (M::META.name, M::META.table, "exists"),
                Cow::Owned(w.sql),
                w.args,
            )
            .await?
            .is_some())
    }

    /// The values an insert binds for `model`, in `insert_columns` order.
    fn insert_values(model: &M, columns: &[usize], now: DateTime<Utc>) -> Vec<Value> {
        let meta = &M::META;
        columns
            .iter()
            .map(|&i| {
                if Some(i) == meta.created_at || Some(i) == meta.updated_at {
                    Value::Timestamp(now)
                } else if Some(i) == meta.version {
                    match meta.columns[i].kind {
                        crate::ValueKind::I16 => Value::I16(1),
                        crate::ValueKind::I32 => Value::I32(1),
                        _ => Value::I64(1),
                    }
                } else if i == meta.primary_key && meta.key_strategy == KeyStrategy::Uuid {
                    match model.value(i) {
                        Value::Uuid(u) if u.is_nil() => Value::Uuid(uuid::Uuid::now_v7()),
                        other => other,
                    }
                } else {
                    model.value(i)
                }
            })
            .collect()
    }

    async fn insert(&mut self, model: &M) -> Result<M, DataError> {
        let s = self.statements();
        let values = Self::insert_values(model, &s.insert_columns, now());
        Ok(self.insert_rows(s, vec![values]).await?.remove(0))
    }

    /// Inserts `rows` (each in `insert_columns` order) and returns them as stored.
    async fn insert_rows(
        &mut self,
        s: &'static Statements,
        rows: Vec<Vec<Value>>,
    ) -> Result<Vec<M>, DataError> {
        let meta = &M::META;
        let backend = self.conn.backend();
        if backend == crate::Backend::MySql {
            // no RETURNING: one insert per row, then read it back by its key
            let key_at = s.insert_columns.iter().position(|&i| i == meta.primary_key);
            let mut stored = Vec::with_capacity(rows.len());
            for values in rows {
                let given_key = key_at.map(|at| values[at].clone());
                let done = self
                    .conn
                    .execute(
                        (M::META.name, M::META.table, "insert"),
                        Cow::Borrowed(s.insert.as_str()),
                        values,
                    )
                    .await?;
                let key = match given_key {
                    Some(key) => key,
                    None => {
                        let id = done.last_insert_id.unwrap_or_default();
                        match meta.key_column().kind {
                            crate::ValueKind::I32 => {
                                Value::I32(i32::try_from(id).unwrap_or(i32::MAX))
                            }
                            crate::ValueKind::I16 => {
                                Value::I16(i16::try_from(id).unwrap_or(i16::MAX))
                            }
                            _ => Value::I64(i64::try_from(id).unwrap_or(i64::MAX)),
                        }
                    }
                };
                let row = self
                    .conn
                    .fetch_optional(
                        (M::META.name, M::META.table, "insert"),
                        Cow::Borrowed(s.by_key_with_deleted.as_str()),
                        vec![key],
                    )
                    .await?
                    .ok_or_else(|| DataError::NotFound {
                        entity: meta.name,
                        key: "just inserted".to_string(),
                    })?;
                stored.push(Self::decode(&row)?);
            }
            return Ok(stored);
        }
        if rows.len() == 1 || s.insert_columns.is_empty() {
            // one row, or rows of defaults only (`DEFAULT VALUES` inserts one row)
            // each statement inserts and returns one row: read as one (cheaper than a stream)
            let mut stored = Vec::with_capacity(rows.len());
            for values in rows {
                let row = self
                    .conn
                    .fetch_optional(
                        (M::META.name, M::META.table, "insert"),
                        Cow::Borrowed(s.insert.as_str()),
                        values,
                    )
                    .await?;
                if let Some(row) = row {
                    stored.push(Self::decode(&row)?);
                }
            }
            return Ok(stored);
        }
        let per_row = s.insert_columns.len().max(1);
        let mut stored = Vec::with_capacity(rows.len());
        for batch in rows.chunks((MAX_BINDS / per_row).max(1)) {
            let mut w = SqlWriter::new(backend, s.insert_head.as_str());
            for (n, values) in batch.iter().enumerate() {
                w.push(if n == 0 { "(" } else { ", (" });
                for (m, value) in values.iter().enumerate() {
                    if m > 0 {
                        w.push(", ");
                    }
                    w.arg(value.clone());
                }
                w.push(")");
            }
            w.push(&s.returning);
            stored.extend(self.run(w).await?);
        }
        Ok(stored)
    }

    async fn insert_many(&mut self, models: &[M]) -> Result<Vec<M>, DataError> {
        if models.is_empty() {
            return Ok(Vec::new());
        }
        let s = self.statements();
        let now = now();
        let rows = models
            .iter()
            .map(|m| Self::insert_values(m, &s.insert_columns, now))
            .collect();
        match &mut self.conn {
            Conn::Pool(db) => {
                let mut tx = db.begin().await?;
                let stored = Ops::<M>::new(Conn::Tx(&mut tx), self.with_deleted)
                    .insert_rows(s, rows)
                    .await?;
                tx.commit().await?;
                Ok(stored)
            }
            Conn::Tx(_) => self.insert_rows(s, rows).await,
        }
    }

    async fn save(&mut self, model: &M) -> Result<M, DataError> {
        let meta = &M::META;
        let s = self.statements();
        let now = now();
        let mut values: Vec<Value> = s
            .update_columns
            .iter()
            .map(|&i| {
                if Some(i) == meta.updated_at {
                    Value::Timestamp(now)
                } else {
                    model.value(i)
                }
            })
            .collect();
        let key = model.key();
        values.push(key.to_value());
        if let Some(v) = meta.version {
            values.push(model.value(v));
        }
        let w = SqlWriter {
            backend: self.conn.backend(),
            sql: s.update.clone(),
            args: values,
        };
        self.update_returning(w, key, meta.version.is_some()).await
    }

    /// Runs an `UPDATE … WHERE key = ? [AND version = ?]` (with RETURNING where the backend has
    /// it) and returns the row; nothing updated is a conflict when a version was checked and the
    /// row exists, not found otherwise.
    async fn update_returning(
        &mut self,
        mut w: SqlWriter,
        key: M::Key,
        version_checked: bool,
    ) -> Result<M, DataError> {
        let s = self.statements();
        let updated = if self.conn.backend() == crate::Backend::MySql {
            let done = self
                .conn
                .execute(
                    (M::META.name, M::META.table, "update"),
                    Cow::Owned(w.sql),
                    w.args,
                )
                .await?;
            if done.rows == 0 {
                None
            } else {
                let row = self
                    .conn
                    .fetch_optional(
                        (M::META.name, M::META.table, "update"),
                        Cow::Borrowed(s.by_key_with_deleted.as_str()),
                        vec![key.to_value()],
                    )
                    .await?;
                row.as_ref().map(Self::decode).transpose()?
            }
        } else {
            if !w.sql.contains(" RETURNING ") {
                w.push(&s.returning);
            }
            let row = self
                .conn
                .fetch_optional(
                    (M::META.name, M::META.table, "update"),
                    Cow::Owned(w.sql),
                    w.args,
                )
                .await?;
            row.as_ref().map(Self::decode).transpose()?
        };
        match updated {
            Some(model) => Ok(model),
            None if version_checked && self.key_exists(&key).await? => Err(DataError::Conflict {
                message: format!(
                    "{} {key:?} was changed by someone else since it was read; hint: read it again and reapply the change",
                    M::META.name
                ),
                field: M::META.version.map(|v| M::META.columns[v].name.to_string()),
            }),
            None => Err(Self::not_found(&key)),
        }
    }

    async fn key_exists(&mut self, key: &M::Key) -> Result<bool, DataError> {
        let sql = self.statements().key_exists.as_str();
        Ok(self
            .conn
            .fetch_optional(
                (M::META.name, M::META.table, "exists"),
                Cow::Borrowed(sql),
                vec![key.to_value()],
            )
            .await?
            .is_some())
    }

    async fn delete(&mut self, key: M::Key) -> Result<(), DataError> {
        let s = self.statements();
        let done = match &s.soft_delete {
            Some(sql) => {
                let now = Value::Timestamp(now());
                let mut args = vec![now.clone()];
                if M::META.updated_at.is_some() {
                    args.push(now);
                }
                args.push(key.to_value());
                self.conn
                    .execute(
                        (M::META.name, M::META.table, "delete"),
                        Cow::Borrowed(sql.as_str()),
                        args,
                    )
                    .await?
            }
            None => {
                self.conn
                    .execute(
                        (M::META.name, M::META.table, "delete"),
                        Cow::Borrowed(s.hard_delete.as_str()),
                        vec![key.to_value()],
                    )
                    .await?
            }
        };
        if done.rows == 0 {
            return Err(Self::not_found(&key));
        }
        Ok(())
    }

    async fn force_delete(&mut self, key: M::Key) -> Result<(), DataError> {
        let s = self.statements();
        let done = self
            .conn
            .execute(
                (M::META.name, M::META.table, "force_delete"),
                Cow::Borrowed(s.hard_delete.as_str()),
                vec![key.to_value()],
            )
            .await?;
        if done.rows == 0 {
            return Err(Self::not_found(&key));
        }
        Ok(())
    }

    async fn restore(&mut self, key: M::Key) -> Result<M, DataError> {
        let s = self.statements();
        let Some(sql) = &s.restore else {
            return Err(DataError::Config {
                message: format!(
                    "{} has no soft delete to restore from; hint: add a `deleted_at: Option<DateTime<Utc>>` field",
                    M::META.name
                ),
            });
        };
        let done = self
            .conn
            .execute(
                (M::META.name, M::META.table, "restore"),
                Cow::Borrowed(sql.as_str()),
                vec![key.to_value()],
            )
            .await?;
        if done.rows == 0 {
            return Err(Self::not_found(&key));
        }
        self.get(key).await
    }

    async fn has_many<C: Model>(
        &mut self,
        parents: &[M],
        foreign_key: Column<C, M::Key>,
    ) -> Result<std::collections::HashMap<M::Key, Vec<C>>, DataError> {
        let keys: Vec<M::Key> = parents.iter().map(Model::key).collect();
        let mut by_parent: std::collections::HashMap<M::Key, Vec<C>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        let values = by_parent.keys().map(ToValue::to_value).collect();
        let children = crate::relation::load_by::<C, M::Key>(
            self.conn.reborrow(),
            foreign_key.index(),
            values,
        )
        .await?;
        for (key, child) in children {
            if let Some(list) = by_parent.get_mut(&key) {
                list.push(child);
            }
        }
        Ok(by_parent)
    }

    async fn belongs_to<P: Model>(
        &mut self,
        children: &[M],
        foreign_key: Column<M, P::Key>,
    ) -> Result<std::collections::HashMap<P::Key, P>, DataError> {
        let values = children
            .iter()
            .map(|c| c.value(foreign_key.index()))
            .filter(|v| !v.is_null())
            .collect();
        let parents = crate::relation::load_by::<P, P::Key>(
            self.conn.reborrow(),
            P::META.primary_key,
            values,
        )
        .await?;
        Ok(parents.into_iter().collect())
    }
}

/// One model's entry in the link-time registry: `#[derive(Model)]` submits it so that the data
/// plugin can add a `Repo<M>` provider per model.
#[doc(hidden)]
#[derive(Debug)]
pub struct ModelRegistration {
    name: &'static str,
    provide: fn(cortex_core::App) -> cortex_core::App,
}

impl ModelRegistration {
    /// The entry of model `M`.
    pub const fn of<M: Model>() -> Self {
        ModelRegistration {
            name: M::META.name,
            provide: provide_repo::<M>,
        }
    }

    /// The model's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

fn provide_repo<M: Model>(app: cortex_core::App) -> cortex_core::App {
    app.provide(Repo::<M>::provider())
}

inventory::collect!(ModelRegistration);

/// Adds a `Repo<M>` provider for every model linked into the binary: the data plugin calls it,
/// so that only an app with the plugin (and so a [`Db`]) gets them.
pub(crate) fn register_models(mut app: cortex_core::App) -> cortex_core::App {
    for registration in inventory::iter::<ModelRegistration> {
        app = (registration.provide)(app);
    }
    app
}

#[cfg(test)]
mod tests {
    use cortex_core::App;
    use cortex_di::Provider;

    use super::*;
    use crate::DatabaseConfig;

    #[derive(crate::Model, Debug, Clone, Default, PartialEq)]
    struct Widget {
        id: i64,
        name: String,
    }

    fn memory() -> Db {
        Db::connect_lazy(&DatabaseConfig {
            url: "sqlite::memory:".into(),
            max_connections: 1,
            ..DatabaseConfig::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn the_derive_registers_a_repo_that_an_app_with_a_db_resolves() {
        let registered: Vec<&str> = inventory::iter::<ModelRegistration>
            .into_iter()
            .map(ModelRegistration::name)
            .collect();
        assert!(registered.contains(&"Widget"), "{registered:?}");

        let app = register_models(App::new().provide(Provider::value(memory())));
        let app = app.build().await.unwrap();
        let repo = app.container().get::<Repo<Widget>>().unwrap();
        sqlx::query("CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            .execute(repo.db().sqlite().unwrap())
            .await
            .unwrap();
        let made = repo
            .insert(&Widget {
                id: 0,
                name: "w".into(),
            })
            .await
            .unwrap();
        assert_eq!(repo.get(made.id).await.unwrap(), made);
    }

    #[tokio::test]
    async fn an_app_without_the_data_plugin_has_no_repos() {
        let app = App::new().build().await.unwrap();
        assert!(app.container().get::<Repo<Widget>>().is_err());
        let explicit = App::new()
            .provide(Provider::value(memory()))
            .provide(Repo::<Widget>::provider())
            .build()
            .await
            .unwrap();
        assert!(explicit.container().get::<Repo<Widget>>().is_ok());
    }
}
