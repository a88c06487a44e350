//! Relations loaded for a page of rows in one statement per relation (`WHERE fk IN (…)`): the
//! engine of [`Repo::has_many`](crate::Repo::has_many) and
//! [`Repo::belongs_to`](crate::Repo::belongs_to).

use std::borrow::Cow;
use std::collections::HashSet;

use crate::error::DataError;
use crate::exec::Conn;
use crate::model::Model;
use crate::query::SqlWriter;
use crate::value::{Field, Value};

/// The rows of `C` whose column `column` is one of `keys` (not soft-deleted), ordered by key,
/// each with that column's value read as `K`. One statement per [`MAX_KEYS`] keys.
pub(crate) async fn load_by<C: Model, K: Field>(
    mut conn: Conn<'_>,
    column: usize,
    keys: Vec<Value>,
) -> Result<Vec<(K, C)>, DataError> {
    let meta = &C::META;
    // the same key once: dedupe by kind and text (values of one column share a kind)
    let mut seen = HashSet::new();
    let keys: Vec<Value> = keys
        .into_iter()
        .filter(|k| seen.insert(k.to_string()))
        .collect();
    let mut loaded = Vec::new();
    if keys.is_empty() {
        return Ok(loaded);
    }
    let statements = C::statements().get(meta, conn.backend());
    let name = meta.columns[column].name;
    for batch in keys.chunks(MAX_KEYS) {
        let mut w = SqlWriter::new(conn.backend(), statements.select.as_str());
        w.push(" WHERE ");
        w.column(meta, column);
        w.push(" IN (");
        for (n, key) in batch.iter().enumerate() {
            if n > 0 {
                w.push(", ");
            }
            w.arg(key.clone());
        }
        w.push(")");
        w.push(&statements.not_deleted);
        w.push(" ORDER BY ");
        w.column(meta, meta.primary_key);
        conn.fetch_each(
            (C::META.name, C::META.table, "load"),
            Cow::Owned(w.sql),
            w.args,
            |row| {
                let key: Option<K> = row.get(name)?;
                if let Some(key) = key {
                    loaded.push((key, C::decode(&row)?));
                }
                Ok(())
            },
        )
        .await?;
    }
    Ok(loaded)
}

/// The most keys one relation statement binds: a page is far smaller, so a page's relation is
/// one statement.
pub(crate) const MAX_KEYS: usize = 10_000;
