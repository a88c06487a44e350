//! Typed queries: [`Filter`]s and [`Order`]s made from a model's [`Column`] constants, put
//! together in a [`Query`] (with offset or keyset pagination); [`Query::from_params`] and the
//! [`Filters`] extractor read them from a query string, refusing what the model does not have with
//! a [`QueryError`] (400).

use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use cortex_core::axum::extract::FromRequestParts;
use cortex_core::axum::response::{IntoResponse, Response};
use cortex_core::http::HttpError;
use http::request::Parts;

use crate::backend::Backend;
use crate::model::{Column, Model, ModelMeta};
use crate::value::{ToValue, Value};

/// A comparison operator of a [`Filter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
}

impl Op {
    fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Like => "LIKE",
        }
    }
}

/// The untyped tree a [`Filter`] holds: columns by index, values bound.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Cmp(usize, Op, Value),
    In(usize, Vec<Value>),
    Null(usize, bool),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

/// A condition on the rows of model `M`: made from its columns (`Post::TITLE.eq("x")`) and
/// combined with [`and`](Filter::and), [`or`](Filter::or) and [`not`](Filter::not).
///
/// ```
/// # use cortex_data::Model;
/// # #[derive(Model)] struct Post { id: i64, title: String, views: i32, body: Option<String> }
/// let popular = Post::VIEWS.ge(100).or(Post::TITLE.like("%rust%"));
/// let drafts = Post::BODY.is_null().and(Post::ID.is_in([1, 2, 3]));
/// # let _ = (popular, drafts);
/// ```
pub struct Filter<M> {
    pub(crate) node: Node,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for Filter<M> {
    fn clone(&self) -> Self {
        Filter::from_node(self.node.clone())
    }
}

impl<M> fmt::Debug for Filter<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.node.fmt(f)
    }
}

impl<M> Filter<M> {
    pub(crate) fn from_node(node: Node) -> Self {
        Filter {
            node,
            _model: PhantomData,
        }
    }

    /// Both this and `other`.
    #[must_use]
    pub fn and(self, other: Filter<M>) -> Filter<M> {
        Filter::from_node(match self.node {
            Node::And(mut all) => {
                all.push(other.node);
                Node::And(all)
            }
            node => Node::And(vec![node, other.node]),
        })
    }

    /// This or `other`.
    #[must_use]
    pub fn or(self, other: Filter<M>) -> Filter<M> {
        Filter::from_node(match self.node {
            Node::Or(mut any) => {
                any.push(other.node);
                Node::Or(any)
            }
            node => Node::Or(vec![node, other.node]),
        })
    }

    /// Not this.
    #[must_use]
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Filter<M> {
        Filter::from_node(Node::Not(Box::new(self.node)))
    }

    /// Every one of `filters` (true when there are none).
    pub fn all(filters: impl IntoIterator<Item = Filter<M>>) -> Filter<M> {
        Filter::from_node(Node::And(filters.into_iter().map(|f| f.node).collect()))
    }

    /// Any one of `filters` (false when there are none).
    pub fn any(filters: impl IntoIterator<Item = Filter<M>>) -> Filter<M> {
        Filter::from_node(Node::Or(filters.into_iter().map(|f| f.node).collect()))
    }
}

impl<M: Model, T: ToValue> Column<M, T> {
    fn cmp(self, op: Op, value: impl ColumnValue<T>) -> Filter<M> {
        Filter::from_node(Node::Cmp(self.index(), op, value.into_value()))
    }

    /// `column = value`.
    pub fn eq(self, value: impl ColumnValue<T>) -> Filter<M> {
        self.cmp(Op::Eq, value)
    }

    /// `column <> value`.
    pub fn ne(self, value: impl ColumnValue<T>) -> Filter<M> {
        self.cmp(Op::Ne, value)
    }

    /// `column < value`.
    pub fn lt(self, value: impl ColumnValue<T>) -> Filter<M> {
        self.cmp(Op::Lt, value)
    }

    /// `column <= value`.
    pub fn le(self, value: impl ColumnValue<T>) -> Filter<M> {
        self.cmp(Op::Le, value)
    }

    /// `column > value`.
    pub fn gt(self, value: impl ColumnValue<T>) -> Filter<M> {
        self.cmp(Op::Gt, value)
    }

    /// `column >= value`.
    pub fn ge(self, value: impl ColumnValue<T>) -> Filter<M> {
        self.cmp(Op::Ge, value)
    }

    /// `column IN (values…)` (false for no values).
    pub fn is_in<V: ColumnValue<T>>(self, values: impl IntoIterator<Item = V>) -> Filter<M> {
        let values = values.into_iter().map(ColumnValue::into_value).collect();
        Filter::from_node(Node::In(self.index(), values))
    }

    /// `column IS NULL`.
    pub fn is_null(self) -> Filter<M> {
        Filter::from_node(Node::Null(self.index(), true))
    }

    /// `column IS NOT NULL`.
    pub fn is_not_null(self) -> Filter<M> {
        Filter::from_node(Node::Null(self.index(), false))
    }

    /// Ascending order by this column.
    pub fn asc(self) -> Order<M> {
        Order::new(self.index(), false)
    }

    /// Descending order by this column.
    pub fn desc(self) -> Order<M> {
        Order::new(self.index(), true)
    }
}

impl<M: Model> Column<M, String> {
    /// `column LIKE pattern` (`%` any text, `_` one character; case sensitivity is the
    /// database's: insensitive on MySQL and for ASCII on SQLite, sensitive on PostgreSQL).
    pub fn like(self, pattern: impl ColumnValue<String>) -> Filter<M> {
        self.cmp(Op::Like, pattern)
    }
}

/// A value that can be compared with (or written to) a column holding `T`: a `T`, a `&T`, a
/// `&str` for text, a narrower integer for a wider one.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` cannot be compared with or written to a column of `{T}`",
    label = "expected a `{T}` (the column's type)",
    note = "a column takes values of its field's type (text columns take `&str` too, wider integer columns narrower integers)"
)]
pub trait ColumnValue<T> {
    /// The value, ready to bind.
    fn into_value(self) -> Value;
}

impl<T: ToValue> ColumnValue<T> for T {
    fn into_value(self) -> Value {
        self.to_value()
    }
}

impl<T: ToValue> ColumnValue<T> for &T {
    fn into_value(self) -> Value {
        self.to_value()
    }
}

impl ColumnValue<String> for &str {
    fn into_value(self) -> Value {
        Value::Text(self.to_string())
    }
}

macro_rules! widen {
    ($($from:ty => $to:ident),*) => {$(
        impl ColumnValue<$to> for $from {
            fn into_value(self) -> Value {
                $to::from(self).to_value()
            }
        }
    )*};
}

widen!(i16 => i32, i16 => i64, i32 => i64, f32 => f64);

/// An ordering by one column of `M`: `Post::CREATED_AT.desc()`.
pub struct Order<M> {
    pub(crate) column: usize,
    pub(crate) desc: bool,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for Order<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for Order<M> {}

impl<M> fmt::Debug for Order<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Order({}{})",
            if self.desc { "-" } else { "" },
            self.column
        )
    }
}

impl<M> Order<M> {
    fn new(column: usize, desc: bool) -> Self {
        Order {
            column,
            desc,
            _model: PhantomData,
        }
    }
}

/// What to read from a model's table: a filter, an ordering, a page (offset, or keyset with
/// [`after`](Query::after)), and whether soft-deleted rows count.
///
/// ```
/// # use cortex_data::{Model, Query};
/// # #[derive(Model)] struct Post { id: i64, title: String, views: i32 }
/// let query = Query::new()
///     .filter(Post::VIEWS.gt(10))
///     .order_by(Post::VIEWS.desc())
///     .limit(20)
///     .offset(40);
/// # let _: Query<Post> = query;
/// ```
pub struct Query<M> {
    pub(crate) filter: Option<Node>,
    pub(crate) order: Vec<Order<M>>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<u64>,
    pub(crate) after: Option<Cursor>,
    pub(crate) with_deleted: bool,
}

impl<M> Clone for Query<M> {
    fn clone(&self) -> Self {
        Query {
            filter: self.filter.clone(),
            order: self.order.clone(),
            limit: self.limit,
            offset: self.offset,
            after: self.after.clone(),
            with_deleted: self.with_deleted,
        }
    }
}

impl<M> fmt::Debug for Query<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("filter", &self.filter)
            .field("order", &self.order)
            .field("limit", &self.limit)
            .field("offset", &self.offset)
            .field("after", &self.after)
            .field("with_deleted", &self.with_deleted)
            .finish()
    }
}

impl<M> Default for Query<M> {
    fn default() -> Self {
        Query {
            filter: None,
            order: Vec::new(),
            limit: None,
            offset: None,
            after: None,
            with_deleted: false,
        }
    }
}

impl<M> From<Filter<M>> for Query<M> {
    fn from(filter: Filter<M>) -> Self {
        Query::new().filter(filter)
    }
}

/// The page size [`Query::from_params`] uses when `limit` is absent, and
/// [`Repo::find_page`](crate::Repo::find_page) when the query has none.
pub const DEFAULT_LIMIT: u64 = 50;
/// The largest `limit` [`Query::from_params`] accepts.
pub const MAX_LIMIT: u64 = 1000;

impl<M> Query<M> {
    /// Every row (soft-deleted ones excepted), in no particular order.
    pub fn new() -> Self {
        Query::default()
    }

    /// Adds a condition (combined with the ones already there by AND).
    #[must_use]
    pub fn filter(mut self, filter: Filter<M>) -> Self {
        self.filter = Some(match self.filter.take() {
            None => filter.node,
            Some(Node::And(mut all)) => {
                all.push(filter.node);
                Node::And(all)
            }
            Some(node) => Node::And(vec![node, filter.node]),
        });
        self
    }

    /// Adds an ordering (after the ones already there).
    #[must_use]
    pub fn order_by(mut self, order: Order<M>) -> Self {
        self.order.push(order);
        self
    }

    /// At most `limit` rows.
    #[must_use]
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skips the first `offset` rows (offset pagination).
    #[must_use]
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Includes soft-deleted rows.
    #[must_use]
    pub fn with_deleted(mut self) -> Self {
        self.with_deleted = true;
        self
    }
}

impl<M: Model> Query<M> {
    /// Keyset pagination: the rows after `cursor` (the `next_cursor` of the previous
    /// [`Page`](crate::Page)) in this query's ordering. Set the ordering first.
    ///
    /// # Errors
    /// [`QueryError::Cursor`] when the cursor was made for another ordering (or model).
    pub fn after(mut self, cursor: Cursor) -> Result<Self, QueryError> {
        cursor.values_for::<M>(&self.keyset_order())?;
        self.after = Some(cursor);
        Ok(self)
    }

    /// The ordering keyset pagination uses: this query's, then the primary key ascending if it is
    /// not there already (so that ties are broken).
    pub(crate) fn keyset_order(&self) -> Vec<Order<M>> {
        let mut order = self.order.clone();
        let key = M::META.primary_key;
        if !order.iter().any(|o| o.column == key) {
            order.push(Order::new(key, false));
        }
        order
    }

    /// Reads a query from query-string parameters:
    ///
    /// - `column=value` (equal), `column[op]=value` with `op` one of `eq`, `ne`, `lt`, `le`, `gt`,
    ///   `ge`, `like`, `in` (comma-separated values) and `null` (`true` or `false`);
    /// - `sort=-created_at,title` (`-` for descending);
    /// - `limit` (default [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]), `offset`, and `after` (a
    ///   keyset cursor).
    ///
    /// Columns are named as in the table; those marked `#[model(no_query)]` are refused.
    ///
    /// ```
    /// # use cortex_data::{Model, Query, QueryError};
    /// # #[derive(Model)] struct Post { id: i64, title: String, views: i32 }
    /// let query = Query::<Post>::from_params([("views[gt]", "10"), ("sort", "-views")])?;
    /// # let _ = query;
    /// let error = Query::<Post>::from_params([("titel", "x")]).unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "`titel`: Post has no column `titel`; hint: did you mean `title`?"
    /// );
    /// # Ok::<(), QueryError>(())
    /// ```
    ///
    /// # Errors
    /// A [`QueryError`] naming the parameter: an unknown column, operator or parameter, a value
    /// that is not of the column's type, a limit out of range, a malformed cursor.
    pub fn from_params<K, V>(params: impl IntoIterator<Item = (K, V)>) -> Result<Self, QueryError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let meta = &M::META;
        let mut query = Query::new().limit(DEFAULT_LIMIT);
        let mut cursor = None;
        for (key, value) in params {
            let (key, value) = (key.as_ref(), value.as_ref());
            match key {
                "sort" => {
                    for part in value.split(',').filter(|p| !p.is_empty()) {
                        let (desc, name) = match part.strip_prefix('-') {
                            Some(name) => (true, name),
                            None => (false, part.strip_prefix('+').unwrap_or(part)),
                        };
                        let index = queryable(meta, key, name)?;
                        query.order.push(Order::new(index, desc));
                    }
                }
                "limit" => {
                    let limit = value
                        .parse::<u64>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n));
                    query.limit = Some(limit.ok_or_else(|| QueryError::Param {
                        param: key.to_string(),
                        message: format!("`{value}` is not a limit; hint: use a whole number from 1 to {MAX_LIMIT}"),
                    })?);
                }
                "offset" => {
                    query.offset = Some(value.parse::<u64>().map_err(|_| QueryError::Param {
                        param: key.to_string(),
                        message: format!(
                            "`{value}` is not an offset; hint: use a whole number from 0"
                        ),
                    })?);
                }
                "after" => cursor = Some(Cursor::parse(value)?),
                _ => {
                    let node = filter_param(meta, key, value)?;
                    query = query.filter(Filter::from_node(node));
                }
            }
        }
        if let Some(cursor) = cursor {
            query = query.after(cursor)?;
        }
        Ok(query)
    }
}

fn queryable(meta: &ModelMeta, param: &str, name: &str) -> Result<usize, QueryError> {
    match meta.column(name) {
        Some((index, column)) if column.queryable => Ok(index),
        _ => {
            let names = meta.columns.iter().filter(|c| c.queryable).map(|c| c.name);
            let nearest = names
                .clone()
                .map(|n| (strsim::jaro_winkler(n, name), n))
                .filter(|(score, _)| *score > 0.8)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, n)| n);
            let hint = match nearest {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!(
                    "filter and sort by one of: {}",
                    names.collect::<Vec<_>>().join(", ")
                ),
            };
            Err(QueryError::UnknownColumn {
                param: param.to_string(),
                model: meta.name,
                column: name.to_string(),
                hint,
            })
        }
    }
}

fn filter_param(meta: &ModelMeta, key: &str, value: &str) -> Result<Node, QueryError> {
    let (name, op) = match key.split_once('[') {
        Some((name, rest)) => match rest.strip_suffix(']') {
            Some(op) => (name, op),
            None => {
                return Err(QueryError::Param {
                    param: key.to_string(),
                    message: "an operator is written `column[op]`; hint: close the bracket"
                        .to_string(),
                });
            }
        },
        None => (key, "eq"),
    };
    let index = queryable(meta, key, name)?;
    let column = &meta.columns[index];
    let parse = |text: &str| {
        Value::parse(column.kind, text).ok_or_else(|| QueryError::Value {
            param: key.to_string(),
            value: text.to_string(),
            expected: column.kind.name(),
        })
    };
    Ok(match op {
        "eq" => Node::Cmp(index, Op::Eq, parse(value)?),
        "ne" => Node::Cmp(index, Op::Ne, parse(value)?),
        "lt" => Node::Cmp(index, Op::Lt, parse(value)?),
        "le" => Node::Cmp(index, Op::Le, parse(value)?),
        "gt" => Node::Cmp(index, Op::Gt, parse(value)?),
        "ge" => Node::Cmp(index, Op::Ge, parse(value)?),
        "like" if column.kind == crate::ValueKind::Text => {
            Node::Cmp(index, Op::Like, Value::Text(value.to_string()))
        }
        "like" => {
            return Err(QueryError::Param {
                param: key.to_string(),
                message: format!(
                    "`like` compares text, and `{name}` holds {}; hint: use eq, lt or gt",
                    column.kind.name()
                ),
            });
        }
        "in" => Node::In(
            index,
            value.split(',').map(parse).collect::<Result<Vec<_>, _>>()?,
        ),
        "null" => match value {
            "true" | "1" => Node::Null(index, true),
            "false" | "0" => Node::Null(index, false),
            _ => {
                return Err(QueryError::Value {
                    param: key.to_string(),
                    value: value.to_string(),
                    expected: crate::ValueKind::Bool.name(),
                });
            }
        },
        _ => {
            return Err(QueryError::Operator {
                param: key.to_string(),
                operator: op.to_string(),
            });
        }
    })
}

/// An opaque keyset-pagination cursor: the ordering's values in the last row of a page, encoded
/// as URL-safe base64. Serialized as its text.
#[derive(Clone, PartialEq)]
pub struct Cursor {
    text: String,
    order: String,
    values: Vec<serde_json::Value>,
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({})", self.text)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CursorBody {
    o: String,
    v: Vec<serde_json::Value>,
}

/// The signature of an ordering a cursor belongs to: `-created_at,id`.
fn signature<M: Model>(order: &[Order<M>]) -> String {
    let names: Vec<String> = order
        .iter()
        .map(|o| {
            let name = M::META.columns[o.column].name;
            if o.desc {
                format!("-{name}")
            } else {
                name.to_string()
            }
        })
        .collect();
    format!("{}:{}", M::META.table, names.join(","))
}

impl Cursor {
    /// Reads a cursor a client sent back.
    ///
    /// # Errors
    /// [`QueryError::Cursor`] when the text is not one.
    pub fn parse(text: &str) -> Result<Cursor, QueryError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| QueryError::Cursor)?;
        let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| QueryError::Cursor)?;
        Ok(Cursor {
            text: text.to_string(),
            order: body.o,
            values: body.v,
        })
    }

    pub(crate) fn new<M: Model>(order: &[Order<M>], values: &[Value]) -> Cursor {
        let body = CursorBody {
            o: signature(order),
            v: values.iter().map(Value::to_json).collect(),
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        Cursor {
            text: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json),
            order: body.o,
            values: body.v,
        }
    }

    /// The cursor's text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The cursor's values, typed by `order`'s columns.
    pub(crate) fn values_for<M: Model>(
        &self,
        order: &[Order<M>],
    ) -> Result<Vec<Value>, QueryError> {
        if self.order != signature(order) || self.values.len() != order.len() {
            return Err(QueryError::Cursor);
        }
        order
            .iter()
            .zip(&self.values)
            .map(|(o, json)| {
                let kind = M::META.columns[o.column].kind;
                match Value::from_json(kind, json) {
                    Some(value) if !value.is_null() => Ok(value),
                    _ => Err(QueryError::Cursor),
                }
            })
            .collect()
    }
}

impl serde::Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Cursor::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A query string (or cursor) that does not fit the model: answered 400 with problem details
/// naming the parameter (`param`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A column the model does not have (or that is `#[model(no_query)]`).
    #[error("`{param}`: {model} has no column `{column}`; hint: {hint}")]
    UnknownColumn {
        /// The parameter.
        param: String,
        /// The model.
        model: &'static str,
        /// The name given.
        column: String,
        /// The nearest name, or the names there are.
        hint: String,
    },
    /// An operator that does not exist: `title[contains]=`.
    #[error(
        "`{param}`: unknown operator `{operator}`; hint: use one of eq, ne, lt, le, gt, ge, like, in, null"
    )]
    Operator {
        /// The parameter.
        param: String,
        /// The operator given.
        operator: String,
    },
    /// A value that is not of the column's type.
    #[error("`{param}`: `{value}` is not a valid {expected}")]
    Value {
        /// The parameter.
        param: String,
        /// The value given.
        value: String,
        /// What the column holds.
        expected: &'static str,
    },
    /// A parameter that is wrong in another way (a limit out of range).
    #[error("`{param}`: {message}")]
    Param {
        /// The parameter.
        param: String,
        /// What is wrong, and the fix.
        message: String,
    },
    /// A cursor that is not one, or was made for another ordering.
    #[error(
        "`after`: the cursor is malformed or belongs to another ordering; hint: send the `next_cursor` of the previous page unchanged, with the same `sort`"
    )]
    Cursor,
}

impl QueryError {
    /// The query-string parameter at fault.
    pub fn param(&self) -> &str {
        match self {
            QueryError::UnknownColumn { param, .. }
            | QueryError::Operator { param, .. }
            | QueryError::Value { param, .. }
            | QueryError::Param { param, .. } => param,
            QueryError::Cursor => "after",
        }
    }
}

impl From<QueryError> for HttpError {
    fn from(error: QueryError) -> Self {
        let param = error.param().to_string();
        HttpError::bad_request(error.to_string()).with_extension("param", param)
    }
}

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}

/// An extractor: the request's query string read by [`Query::from_params`]; a bad one is
/// answered 400 with problem details before the handler runs.
///
/// ```
/// use cortex_data::{Filters, Model, Page, Repo};
/// # #[derive(Model, serde::Serialize)] struct Post { id: i64, title: String }
///
/// async fn list(repo: Repo<Post>, Filters(query): Filters<Post>) -> Result<Vec<Post>, cortex_core::http::HttpError> {
///     Ok(repo.find_many(query).await?)
/// }
/// ```
#[derive(Debug)]
pub struct Filters<M>(pub Query<M>);

impl<M: Model, S: Send + Sync> FromRequestParts<S> for Filters<M> {
    type Rejection = QueryError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs = parts
            .uri
            .query()
            .map(|q| {
                cortex_core::axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
                    .map(|cortex_core::axum::extract::Query(pairs)| pairs)
                    .map_err(|_| QueryError::Param {
                        param: q.chars().take(40).collect(),
                        message: "the query string is not URL-encoded; hint: encode it as a form"
                            .to_string(),
                    })
            })
            .transpose()?
            .unwrap_or_default();
        Query::from_params(pairs).map(Filters)
    }
}

/// Writes SQL for a [`Node`] and collects its values (used by the repository).
pub(crate) struct SqlWriter {
    pub(crate) backend: Backend,
    pub(crate) sql: String,
    pub(crate) args: Vec<Value>,
}

impl SqlWriter {
    pub(crate) fn new(backend: Backend, sql: impl Into<String>) -> Self {
        SqlWriter {
            backend,
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// Appends a placeholder for `value`.
    pub(crate) fn arg(&mut self, value: Value) {
        self.args.push(value);
        let placeholder = self.backend.placeholder(self.args.len());
        self.sql.push_str(&placeholder);
    }

    pub(crate) fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    pub(crate) fn column(&mut self, meta: &ModelMeta, index: usize) {
        let quoted = self.backend.quote(meta.columns[index].name);
        self.sql.push_str(&quoted);
    }

    pub(crate) fn node(&mut self, meta: &ModelMeta, node: &Node) {
        match node {
            Node::Cmp(column, op, value) => {
                self.column(meta, *column);
                self.push(" ");
                self.push(op.sql());
                self.push(" ");
                self.arg(value.clone());
            }
            Node::In(_, values) if values.is_empty() => self.push("1 = 0"),
            Node::In(column, values) => {
                self.column(meta, *column);
                self.push(" IN (");
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.arg(value.clone());
                }
                self.push(")");
            }
            Node::Null(column, is_null) => {
                self.column(meta, *column);
                self.push(if *is_null { " IS NULL" } else { " IS NOT NULL" });
            }
            Node::And(all) if all.is_empty() => self.push("1 = 1"),
            Node::Or(any) if any.is_empty() => self.push("1 = 0"),
            Node::And(nodes) | Node::Or(nodes) => {
                let joiner = if matches!(node, Node::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                self.push("(");
                for (i, node) in nodes.iter().enumerate() {
                    if i > 0 {
                        self.push(joiner);
                    }
                    self.node(meta, node);
                }
                self.push(")");
            }
            Node::Not(node) => {
                self.push("NOT (");
                self.node(meta, node);
                self.push(")");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ValueKind;

    #[derive(crate::Model)]
    struct Post {
        id: i64,
        title: String,
        body: Option<String>,
        views: i32,
        #[model(no_query)]
        secret: String,
    }

    fn sql(backend: Backend, filter: Filter<Post>) -> (String, Vec<Value>) {
        let mut w = SqlWriter::new(backend, "");
        w.node(&Post::META, &filter.node);
        (w.sql, w.args)
    }

    #[test]
    fn filters_write_quoted_columns_and_numbered_placeholders() {
        let filter = Post::TITLE
            .eq("a")
            .and(Post::VIEWS.gt(1).or(Post::VIEWS.le(0)))
            .and(Post::ID.is_in([1, 2]).not())
            .and(Post::BODY.is_null());
        let (text, args) = sql(Backend::Postgres, filter);
        assert_eq!(
            text,
            r#"("title" = $1 AND ("views" > $2 OR "views" <= $3) AND NOT ("id" IN ($4, $5)) AND "body" IS NULL)"#
        );
        assert_eq!(
            args,
            [
                Value::Text("a".into()),
                Value::I32(1),
                Value::I32(0),
                Value::I64(1),
                Value::I64(2)
            ]
        );
        let (text, _) = sql(
            Backend::MySql,
            Post::TITLE.ne("a").or(Post::TITLE.like("%b")),
        );
        assert_eq!(text, "(`title` <> ? OR `title` LIKE ?)");
        let (text, _) = sql(
            Backend::Sqlite,
            Post::BODY
                .is_not_null()
                .and(Post::VIEWS.lt(3))
                .and(Post::VIEWS.ge(2)),
        );
        assert_eq!(
            text,
            r#"("body" IS NOT NULL AND "views" < ? AND "views" >= ?)"#
        );
    }

    #[test]
    fn empty_lists_are_true_or_false() {
        assert_eq!(
            sql(Backend::Sqlite, Post::ID.is_in(Vec::<i64>::new())).0,
            "1 = 0"
        );
        assert_eq!(sql(Backend::Sqlite, Filter::all([])).0, "1 = 1");
        assert_eq!(sql(Backend::Sqlite, Filter::any([])).0, "1 = 0");
        assert_eq!(
            sql(
                Backend::Sqlite,
                Filter::any([Post::ID.eq(1), Post::ID.eq(2)])
            )
            .0,
            r#"("id" = ? OR "id" = ?)"#
        );
    }

    #[test]
    fn query_strings_become_the_same_filters_as_the_typed_api() {
        let query = Query::<Post>::from_params([
            ("title", "a"),
            ("views[ne]", "1"),
            ("views[lt]", "9"),
            ("id[in]", "1,2"),
            ("body[null]", "false"),
            ("title[like]", "a%"),
            ("sort", "-views,+title,id"),
            ("limit", "10"),
            ("offset", "20"),
        ])
        .unwrap();
        let typed = Query::new()
            .filter(Post::TITLE.eq("a"))
            .filter(Post::VIEWS.ne(1))
            .filter(Post::VIEWS.lt(9))
            .filter(Post::ID.is_in([1, 2]))
            .filter(Post::BODY.is_not_null())
            .filter(Post::TITLE.like("a%"));
        assert_eq!(query.filter, typed.filter);
        let order: Vec<(usize, bool)> = query.order.iter().map(|o| (o.column, o.desc)).collect();
        assert_eq!(order, [(3, true), (1, false), (0, false)]);
        assert_eq!((query.limit, query.offset), (Some(10), Some(20)));
        let defaults = Query::<Post>::from_params(Vec::<(String, String)>::new()).unwrap();
        assert_eq!(
            (defaults.limit, defaults.offset, defaults.filter),
            (Some(DEFAULT_LIMIT), None, None)
        );
        let le_ge = Query::<Post>::from_params([
            ("views[le]", "1"),
            ("views[ge]", "0"),
            ("views[eq]", "0"),
            ("views[gt]", "-1"),
        ])
        .unwrap();
        assert_eq!(
            le_ge.filter,
            Query::new()
                .filter(Post::VIEWS.le(1))
                .filter(Post::VIEWS.ge(0))
                .filter(Post::VIEWS.eq(0))
                .filter(Post::VIEWS.gt(-1))
                .filter
        );
    }

    #[test]
    fn hidden_columns_and_bad_values_are_refused_with_the_parameter() {
        let hidden = Query::<Post>::from_params([("secret", "x")]).unwrap_err();
        assert_eq!(hidden.param(), "secret");
        assert_eq!(
            hidden.to_string(),
            "`secret`: Post has no column `secret`; hint: filter and sort by one of: id, title, body, views"
        );
        let null = Query::<Post>::from_params([("body[null]", "maybe")]).unwrap_err();
        assert_eq!(
            null.to_string(),
            "`body[null]`: `maybe` is not a valid boolean (true or false)"
        );
        let offset = Query::<Post>::from_params([("offset", "-1")]).unwrap_err();
        assert_eq!(
            offset.to_string(),
            "`offset`: `-1` is not an offset; hint: use a whole number from 0"
        );
        let within = Query::<Post>::from_params([("limit", "1000")]).unwrap();
        assert_eq!(within.limit, Some(MAX_LIMIT));
        let http = HttpError::from(QueryError::Cursor);
        assert_eq!(http.status(), 400);
    }

    #[test]
    fn cursors_round_trip_and_belong_to_their_ordering() {
        let order = Query::<Post>::new()
            .order_by(Post::VIEWS.desc())
            .keyset_order();
        assert_eq!(
            order.iter().map(|o| (o.column, o.desc)).collect::<Vec<_>>(),
            [(3, true), (0, false)]
        );
        let cursor = Cursor::new(&order, &[Value::I32(5), Value::I64(7)]);
        let parsed = Cursor::parse(cursor.as_str()).unwrap();
        assert_eq!(parsed, cursor);
        assert_eq!(
            parsed.values_for::<Post>(&order).unwrap(),
            [Value::I32(5), Value::I64(7)]
        );
        let other = Query::<Post>::new()
            .order_by(Post::VIEWS.asc())
            .keyset_order();
        assert_eq!(parsed.values_for::<Post>(&other), Err(QueryError::Cursor));
        let by_key = Query::<Post>::new()
            .order_by(Post::ID.desc())
            .keyset_order();
        assert_eq!(by_key.len(), 1, "the key is not added twice");
        let json = serde_json::to_string(&cursor).unwrap();
        assert_eq!(json, format!("\"{cursor}\""));
        assert_eq!(serde_json::from_str::<Cursor>(&json).unwrap(), cursor);
        // a cursor whose values are not of the columns' kinds
        let forged = Cursor::new(&order, &[Value::Text("x".into()), Value::I64(7)]);
        assert_eq!(forged.values_for::<Post>(&order), Err(QueryError::Cursor));
        let null = Cursor::new(&order, &[Value::Null(ValueKind::I32), Value::I64(7)]);
        assert_eq!(null.values_for::<Post>(&order), Err(QueryError::Cursor));
    }
}
