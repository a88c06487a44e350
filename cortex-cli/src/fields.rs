//! Fields for `cortex generate controller|model|resource NAME field:type ...`: parsing and
//! checking them, and the Rust type, validation, test values and SQL column each one gets.

use heck::ToSnakeCase;
use serde::Serialize;

use crate::error::{CliError, Result};
use crate::names::is_keyword;

/// The field types, as written on the command line, with the Rust type each becomes. The last
/// two (`uuid`, `datetime`) come from the data layer (`cortex::data::uuid`, `cortex::data::chrono`),
/// so only models and resources take them.
pub const TYPES: &[(&str, &str)] = &[
    ("string", "String"),
    ("text", "String"),
    ("int", "i32"),
    ("bigint", "i64"),
    ("float", "f64"),
    ("bool", "bool"),
    ("json", "serde_json::Value"),
    ("uuid", "Uuid"),
    ("datetime", "DateTime<Utc>"),
];

/// The types that need the data layer's dependencies.
const DATA_TYPES: &[&str] = &["uuid", "datetime"];

/// What the fields are for: an in-memory CRUD controller, or a database model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `cortex g controller NAME field:type ...` (no database).
    Memory,
    /// `cortex g model|resource NAME field:type ...`.
    Model,
}

/// Field names the generated code uses itself.
const RESERVED: &[&str] = &["id"];
/// Columns every generated model has.
const MODEL_COLUMNS: &[&str] = &["id", "created_at", "updated_at"];
/// Query-string parameters of the list route (`Filters`), which a column cannot be named.
const QUERY_PARAMS: &[&str] = &["sort", "limit", "offset", "after"];
/// SQL keywords that PostgreSQL or MySQL refuse as a bare column name.
const SQL_KEYWORDS: &[&str] = &[
    "all",
    "alter",
    "and",
    "any",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "check",
    "column",
    "constraint",
    "create",
    "cross",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "end",
    "except",
    "exists",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "in",
    "index",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "left",
    "like",
    "not",
    "null",
    "on",
    "or",
    "order",
    "outer",
    "primary",
    "references",
    "right",
    "select",
    "set",
    "table",
    "then",
    "to",
    "true",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "when",
    "where",
    "with",
];

/// The valid types, for messages: `string, text, int, ...`.
pub fn type_list() -> String {
    TYPES.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
}

fn memory_type_list() -> String {
    TYPES
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| !DATA_TYPES.contains(t))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SQL type of a column on each database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SqlTypes {
    /// On SQLite.
    pub sqlite: &'static str,
    /// On PostgreSQL.
    pub postgres: &'static str,
    /// On MySQL and MariaDB.
    pub mysql: &'static str,
}

/// One field of a generated resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// The field's name, snake_case.
    pub name: String,
    /// The type as given (`string`, `int`, ...).
    pub kind: String,
    /// The Rust type, without `Option` (`String`, `i32`, ...).
    pub rust_type: String,
    /// Whether it was given with a `?` (`Option<T>` in the model, may be left out of a request).
    pub optional: bool,
    /// The `#[validate(...)]` arguments of the request field, if any.
    pub validate: Option<String>,
    /// The `#[schema(...)]` arguments of a field whose type utoipa needs told (`uuid`,
    /// `datetime`), if any.
    pub schema: Option<String>,
    /// A valid value in JSON, for the generated test.
    pub sample: String,
    /// Another valid value, different from `sample` (an update in the generated test).
    pub other: String,
    /// The column's SQL type per database.
    pub sql: SqlTypes,
}

/// Parses `name:type` arguments: the types of [`TYPES`], `?` for optional. Malformed fields,
/// unknown types, reserved or duplicate names are errors naming the field (exit code 2).
///
/// ```
/// use cortex_cli::fields::{parse, Target};
///
/// let fields = parse(&["title:string".into(), "views:int?".into()], Target::Memory).unwrap();
/// assert_eq!((fields[0].rust_type.as_str(), fields[0].optional), ("String", false));
/// assert_eq!((fields[1].rust_type.as_str(), fields[1].optional), ("i32", true));
/// assert!(parse(&["title:varchar".into()], Target::Memory).is_err());
/// assert_eq!(parse(&["at:datetime".into()], Target::Model).unwrap()[0].sql.postgres, "TIMESTAMPTZ");
/// ```
pub fn parse(raw: &[String], target: Target) -> Result<Vec<Field>> {
    let mut fields: Vec<Field> = Vec::new();
    for arg in raw {
        let field = parse_one(arg, target)?;
        if fields.iter().any(|f| f.name == field.name) {
            return Err(
                CliError::new(format!("the field `{}` is given twice", field.name))
                    .hint("give each field once")
                    .with_code(2),
            );
        }
        fields.push(field);
    }
    Ok(fields)
}

fn reserved(arg: &str, name: &str, why: &str) -> CliError {
    CliError::new(format!(
        "the field `{arg}` has a reserved name: `{name}` is {why}"
    ))
    .hint(format!("choose another name, e.g. `{name}_value`"))
    .with_code(2)
}

fn parse_one(arg: &str, target: Target) -> Result<Field> {
    let types = match target {
        Target::Memory => memory_type_list(),
        Target::Model => type_list(),
    };
    let Some((name, kind)) = arg.split_once(':') else {
        return Err(CliError::new(format!(
            "the field `{arg}` has no type: fields are `name:type`"
        ))
        .hint(format!("e.g. `{arg}:string`; the types are {types}"))
        .with_code(2));
    };
    let valid_name = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(CliError::new(format!(
            "the field `{arg}` has an invalid name `{name}`"
        ))
        .hint("field names start with a letter and hold letters, digits and `_` (`title`, `published_at`)")
        .with_code(2));
    }
    let name = name.to_snake_case();
    if is_keyword(&name) {
        return Err(reserved(arg, &name, "a Rust keyword"));
    }
    match target {
        Target::Memory if RESERVED.contains(&name.as_str()) => {
            return Err(reserved(arg, &name, "assigned by the generated store"));
        }
        Target::Model if MODEL_COLUMNS.contains(&name.as_str()) => {
            return Err(reserved(
                arg,
                &name,
                "a column every generated model has (`id`, `created_at`, `updated_at`)",
            ));
        }
        Target::Model if QUERY_PARAMS.contains(&name.as_str()) => {
            return Err(reserved(
                arg,
                &name,
                "a query-string parameter of the list route (`sort`, `limit`, `offset`, `after`)",
            ));
        }
        Target::Model if SQL_KEYWORDS.contains(&name.as_str()) => {
            return Err(reserved(arg, &name, "an SQL keyword"));
        }
        _ => {}
    }
    let (kind, optional) = match kind.strip_suffix('?') {
        Some(kind) => (kind, true),
        None => (kind, false),
    };
    let known = TYPES.iter().find(|(t, _)| *t == kind);
    let Some((_, rust_type)) =
        known.filter(|(t, _)| target == Target::Model || !DATA_TYPES.contains(t))
    else {
        let hint = if known.is_some() {
            format!(
                "`{kind}` comes with the data layer: generate a model or resource (`cortex g resource NAME {arg}`) in an app with cortex's `data` feature, or use `string`. The types here are {types}"
            )
        } else {
            format!("the types are {types}; add `?` for an optional field")
        };
        return Err(
            CliError::new(format!("the field `{arg}` has an unknown type `{kind}`"))
                .hint(hint)
                .with_code(2),
        );
    };
    let types = |sqlite, postgres, mysql| SqlTypes {
        sqlite,
        postgres,
        mysql,
    };
    let (validate, schema, sample, other, sql) = match kind {
        "string" => (
            Some("length(min = 1, max = 255)"),
            None,
            "\"a string\"",
            "\"another string\"",
            types("VARCHAR(255)", "VARCHAR(255)", "VARCHAR(255)"),
        ),
        "text" => (
            Some("length(max = 65535)"),
            None,
            "\"some text\"",
            "\"other text\"",
            types("TEXT", "TEXT", "TEXT"),
        ),
        "int" => (
            None,
            None,
            "42",
            "7",
            types("INTEGER", "INTEGER", "INTEGER"),
        ),
        "bigint" => (
            None,
            None,
            "4_200_000_000_i64",
            "7",
            types("BIGINT", "BIGINT", "BIGINT"),
        ),
        "float" => (
            None,
            None,
            "1.5",
            "2.25",
            types("DOUBLE PRECISION", "DOUBLE PRECISION", "DOUBLE"),
        ),
        "bool" => (
            None,
            None,
            "true",
            "false",
            types("BOOLEAN", "BOOLEAN", "BOOLEAN"),
        ),
        "uuid" => (
            None,
            Some("format = \"uuid\""),
            "\"0190f0c4-5f3a-7b9e-8c1d-2e3f4a5b6c7d\"",
            "\"0190f0c4-5f3a-7b9e-8c1d-000000000001\"",
            types("BLOB", "UUID", "BINARY(16)"),
        ),
        "datetime" => (
            None,
            Some("format = DateTime"),
            "\"2026-01-02T03:04:05Z\"",
            "\"2027-06-07T08:09:10Z\"",
            types("TEXT", "TIMESTAMPTZ", "DATETIME(6)"),
        ),
        _ => (
            None,
            None,
            "{\"key\": \"value\"}",
            "{\"other\": [1, 2]}",
            types("TEXT", "JSONB", "JSON"),
        ),
    };
    let schema = schema.map(|format| {
        let value_type = if optional { "Option<String>" } else { "String" };
        format!("value_type = {value_type}, {format}")
    });
    Ok(Field {
        name,
        kind: kind.to_string(),
        rust_type: rust_type.to_string(),
        optional,
        validate: validate.map(str::to_string),
        schema,
        sample: sample.to_string(),
        other: other.to_string(),
        sql,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(args: &[&str]) -> (String, String) {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let e = parse(&args, Target::Memory).unwrap_err();
        (e.to_string(), e.hint_text().unwrap_or_default().to_string())
    }

    #[test]
    fn every_type_parses() {
        let args: Vec<String> = TYPES.iter().map(|(t, _)| format!("f_{t}:{t}?")).collect();
        let fields = parse(&args, Target::Model).unwrap();
        assert_eq!(fields.len(), TYPES.len());
        assert!(fields.iter().all(|f| f.optional));
        assert_eq!(fields[6].rust_type, "serde_json::Value");
    }

    #[test]
    fn bad_fields_are_errors_naming_the_field() {
        assert_eq!(
            error(&["title"]).0,
            "the field `title` has no type: fields are `name:type`"
        );
        let (message, hint) = error(&["title:varchar"]);
        assert_eq!(
            message,
            "the field `title:varchar` has an unknown type `varchar`"
        );
        assert!(
            hint.ends_with("the types are string, text, int, bigint, float, bool, json; add `?` for an optional field"),
            "{hint}"
        );
        assert!(
            error(&["uid:uuid"])
                .1
                .starts_with("`uuid` comes with the data layer")
        );
        assert_eq!(
            error(&["a:string", "a:int"]).0,
            "the field `a` is given twice"
        );
        assert_eq!(
            error(&["id:int"]).0,
            "the field `id:int` has a reserved name: `id` is assigned by the generated store"
        );
        assert_eq!(
            error(&["type:string"]).0,
            "the field `type:string` has a reserved name: `type` is a Rust keyword"
        );
        assert_eq!(
            error(&["9a:string"]).0,
            "the field `9a:string` has an invalid name `9a`"
        );
        assert_eq!(
            error(&[":string"]).0,
            "the field `:string` has an invalid name ``"
        );
    }

    #[test]
    fn models_take_the_data_types_and_reserve_their_columns() {
        let model = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            parse(&args, Target::Model)
        };
        let fields = model(&["key_id:uuid", "at:datetime?", "doc:json"]).unwrap();
        assert_eq!(fields[0].sql.mysql, "BINARY(16)");
        assert_eq!(
            fields[1].schema.as_deref(),
            Some("value_type = Option<String>, format = DateTime")
        );
        assert_eq!(fields[2].sql.postgres, "JSONB");
        let message = |args: &[&str]| model(args).unwrap_err().to_string();
        assert_eq!(
            message(&["created_at:datetime"]),
            "the field `created_at:datetime` has a reserved name: `created_at` is a column every generated model has (`id`, `created_at`, `updated_at`)"
        );
        assert_eq!(
            message(&["limit:int"]),
            "the field `limit:int` has a reserved name: `limit` is a query-string parameter of the list route (`sort`, `limit`, `offset`, `after`)"
        );
        assert_eq!(
            message(&["order:int"]),
            "the field `order:int` has a reserved name: `order` is an SQL keyword"
        );
        assert_eq!(
            message(&["title:strin"]),
            "the field `title:strin` has an unknown type `strin`"
        );
        let hint = model(&["title:strin"]).unwrap_err();
        assert!(
            hint.hint_text().unwrap().contains("uuid, datetime"),
            "{:?}",
            hint.hint_text()
        );
    }
}
