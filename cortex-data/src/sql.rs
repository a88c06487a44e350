//! The SQL of a model, generated once per backend and cached in a `static` the derive declares.

use std::sync::OnceLock;

use crate::backend::Backend;
use crate::model::{KeyStrategy, ModelMeta};

/// A model's statements for each backend, built on first use. The derive declares one per model
/// in a `static`.
#[doc(hidden)]
#[derive(Debug)]
pub struct StatementCache {
    backends: [OnceLock<Statements>; 3],
}

impl StatementCache {
    /// An empty cache.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        StatementCache {
            backends: [OnceLock::new(), OnceLock::new(), OnceLock::new()],
        }
    }

    pub(crate) fn get(&'static self, meta: &ModelMeta, backend: Backend) -> &'static Statements {
        let slot = match backend {
            Backend::Sqlite => 0,
            Backend::Postgres => 1,
            Backend::MySql => 2,
        };
        self.backends[slot].get_or_init(|| Statements::build(meta, backend))
    }
}

/// One model's statements on one backend. Placeholders are numbered in the order the repository
/// binds.
#[derive(Debug)]
pub(crate) struct Statements {
    /// The quoted table.
    pub(crate) table: String,
    /// `SELECT <every column> FROM <table>`.
    pub(crate) select: String,
    /// `… WHERE <key> = ?` (and not soft-deleted).
    pub(crate) by_key: String,
    /// `… WHERE <key> = ?`, soft-deleted rows too.
    pub(crate) by_key_with_deleted: String,
    /// `SELECT 1 FROM <table> WHERE <key> = ?` (and not soft-deleted).
    pub(crate) key_exists: String,
    /// `SELECT COUNT(*) AS n FROM <table>`.
    pub(crate) count: String,
    /// `SELECT 1 FROM <table>`.
    pub(crate) exists: String,
    /// ` RETURNING <every column>` where the backend has it (not MySQL).
    pub(crate) returning: String,
    /// The columns an insert writes, in order (every column but an auto-increment key).
    pub(crate) insert_columns: Vec<usize>,
    /// `INSERT INTO <table> (<insert columns>) VALUES` (the rows follow).
    pub(crate) insert_head: String,
    /// A single-row insert, with `returning`.
    pub(crate) insert: String,
    /// The columns a full update (`save`) writes, in order: every column but the key,
    /// `created_at`, `deleted_at` and the version (bumped in SQL).
    pub(crate) update_columns: Vec<usize>,
    /// `UPDATE … SET <update columns> [, version = version + 1] WHERE key = ? [AND version = ?]
    /// [AND deleted_at IS NULL]`, with `returning`.
    pub(crate) update: String,
    /// `UPDATE … SET deleted_at = ? [, updated_at = ?] WHERE key = ? AND deleted_at IS NULL`.
    pub(crate) soft_delete: Option<String>,
    /// `UPDATE … SET deleted_at = NULL WHERE key = ?`.
    pub(crate) restore: Option<String>,
    /// `DELETE FROM … WHERE key = ?`.
    pub(crate) hard_delete: String,
    /// ` AND <deleted_at> IS NULL`, or empty.
    pub(crate) not_deleted: String,
}

impl Statements {
    fn build(meta: &ModelMeta, backend: Backend) -> Statements {
        let q = |i: usize| backend.quote(meta.columns[i].name);
        let table = backend.quote(meta.table);
        let all: Vec<String> = (0..meta.columns.len()).map(q).collect();
        let list = all.join(", ");
        let key = q(meta.primary_key);
        let select = format!("SELECT {list} FROM {table}");
        let not_deleted = meta
            .deleted_at
            .map(|d| format!(" AND {} IS NULL", q(d)))
            .unwrap_or_default();
        let returning = match backend {
            Backend::MySql => String::new(),
            Backend::Sqlite | Backend::Postgres => format!(" RETURNING {list}"),
        };
        let p1 = backend.placeholder(1);

        let insert_columns: Vec<usize> = (0..meta.columns.len())
            .filter(|&i| {
                !(i == meta.primary_key && meta.key_strategy == KeyStrategy::AutoIncrement)
            })
            .collect();
        let insert_head = format!(
            "INSERT INTO {table} ({}) VALUES ",
            insert_columns
                .iter()
                .map(|&i| q(i))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row: Vec<String> = (1..=insert_columns.len())
            .map(|n| backend.placeholder(n))
            .collect();
        let insert = match (insert_columns.is_empty(), backend) {
            (true, Backend::MySql) => format!("INSERT INTO {table} () VALUES ()"),
            (true, _) => format!("INSERT INTO {table} DEFAULT VALUES{returning}"),
            (false, _) => format!("{insert_head}({}){returning}", row.join(", ")),
        };

        let update_columns: Vec<usize> = (0..meta.columns.len())
            .filter(|&i| {
                i != meta.primary_key
                    && Some(i) != meta.created_at
                    && Some(i) != meta.deleted_at
                    && Some(i) != meta.version
            })
            .collect();
        let mut sets: Vec<String> = update_columns
            .iter()
            .enumerate()
            .map(|(n, &i)| format!("{} = {}", q(i), backend.placeholder(n + 1)))
            .collect();
        if let Some(v) = meta.version {
            sets.push(format!("{0} = {0} + 1", q(v)));
        }
        let mut n = update_columns.len() + 1;
        let mut update = format!(
            "UPDATE {table} SET {} WHERE {key} = {}",
            sets.join(", "),
            backend.placeholder(n)
        );
        if let Some(v) = meta.version {
            n += 1;
            update.push_str(&format!(" AND {} = {}", q(v), backend.placeholder(n)));
        }
        update.push_str(&not_deleted);
        update.push_str(&returning);

        // every placeholder is bound once, in order: `?` is positional on SQLite and MySQL
        let soft_delete = meta.deleted_at.map(|d| {
            let mut sql = format!("UPDATE {table} SET {} = {p1}", q(d));
            let mut n = 1;
            if let Some(u) = meta.updated_at {
                n += 1;
                sql.push_str(&format!(", {} = {}", q(u), backend.placeholder(n)));
            }
            sql.push_str(&format!(
                " WHERE {key} = {}{not_deleted}",
                backend.placeholder(n + 1)
            ));
            sql
        });
        let restore = meta.deleted_at.map(|d| {
            format!(
                "UPDATE {table} SET {} = NULL WHERE {key} = {p1} AND {} IS NOT NULL",
                q(d),
                q(d)
            )
        });

        Statements {
            by_key: format!("{select} WHERE {key} = {p1}{not_deleted}"),
            by_key_with_deleted: format!("{select} WHERE {key} = {p1}"),
            key_exists: format!("SELECT 1 FROM {table} WHERE {key} = {p1}{not_deleted}"),
            count: format!("SELECT COUNT(*) AS n FROM {table}"),
            exists: format!("SELECT 1 FROM {table}"),
            hard_delete: format!("DELETE FROM {table} WHERE {key} = {p1}"),
            table,
            select,
            returning,
            insert_columns,
            insert_head,
            insert,
            update_columns,
            update,
            soft_delete,
            restore,
            not_deleted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ColumnDef;
    use crate::value::ValueKind;

    const fn col(name: &'static str, kind: ValueKind, nullable: bool) -> ColumnDef {
        ColumnDef {
            field: name,
            name,
            kind,
            nullable,
            queryable: true,
        }
    }

    static COLUMNS: [ColumnDef; 6] = [
        col("id", ValueKind::I64, false),
        col("title", ValueKind::Text, false),
        col("created_at", ValueKind::Timestamp, false),
        col("updated_at", ValueKind::Timestamp, false),
        col("deleted_at", ValueKind::Timestamp, true),
        col("version", ValueKind::I32, false),
    ];

    const META: ModelMeta = ModelMeta {
        name: "Post",
        table: "posts",
        columns: &COLUMNS,
        primary_key: 0,
        key_strategy: KeyStrategy::AutoIncrement,
        created_at: Some(2),
        updated_at: Some(3),
        deleted_at: Some(4),
        version: Some(5),
    };

    #[test]
    fn postgres_statements_number_their_placeholders_and_return_the_row() {
        let s = Statements::build(&META, Backend::Postgres);
        assert_eq!(
            s.insert,
            r#"INSERT INTO "posts" ("title", "created_at", "updated_at", "deleted_at", "version") VALUES ($1, $2, $3, $4, $5) RETURNING "id", "title", "created_at", "updated_at", "deleted_at", "version""#
        );
        assert_eq!(
            s.update,
            r#"UPDATE "posts" SET "title" = $1, "updated_at" = $2, "version" = "version" + 1 WHERE "id" = $3 AND "version" = $4 AND "deleted_at" IS NULL RETURNING "id", "title", "created_at", "updated_at", "deleted_at", "version""#
        );
        assert_eq!(
            s.by_key,
            r#"SELECT "id", "title", "created_at", "updated_at", "deleted_at", "version" FROM "posts" WHERE "id" = $1 AND "deleted_at" IS NULL"#
        );
        assert_eq!(
            s.soft_delete.as_deref(),
            Some(
                r#"UPDATE "posts" SET "deleted_at" = $1, "updated_at" = $2 WHERE "id" = $3 AND "deleted_at" IS NULL"#
            )
        );
    }

    #[test]
    fn mysql_statements_quote_with_backticks_and_return_nothing() {
        let s = Statements::build(&META, Backend::MySql);
        assert!(
            s.insert.starts_with("INSERT INTO `posts` (`title`, "),
            "{}",
            s.insert
        );
        assert!(s.insert.ends_with("VALUES (?, ?, ?, ?, ?)"), "{}", s.insert);
        assert_eq!(s.returning, "");
        assert_eq!(s.hard_delete, "DELETE FROM `posts` WHERE `id` = ?");
    }
}
