//! Fields for `cortex generate controller NAME field:type ...`: parsing and checking them, and
//! the Rust type, validation and test value each one gets.

use heck::ToSnakeCase;
use serde::Serialize;

use crate::error::{CliError, Result};
use crate::names::is_keyword;

/// The field types, as written on the command line, with the Rust type each becomes. Only types
/// a new app compiles with the dependencies `cortex new` gives it.
pub const TYPES: &[(&str, &str)] = &[
    ("string", "String"),
    ("text", "String"),
    ("int", "i32"),
    ("bigint", "i64"),
    ("float", "f64"),
    ("bool", "bool"),
    ("json", "serde_json::Value"),
];

/// Field names the generated code uses itself.
const RESERVED: &[&str] = &["id"];

/// The valid types, for messages: `string, text, int, ...`.
pub fn type_list() -> String {
    TYPES.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
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
    /// A valid value in JSON, for the generated test.
    pub sample: String,
}

/// Parses `name:type` arguments: the types of [`TYPES`], `?` for optional. Malformed fields,
/// unknown types, reserved or duplicate names are errors naming the field.
///
/// ```
/// let fields = cortex_cli::fields::parse(&["title:string".into(), "views:int?".into()]).unwrap();
/// assert_eq!((fields[0].rust_type.as_str(), fields[0].optional), ("String", false));
/// assert_eq!((fields[1].rust_type.as_str(), fields[1].optional), ("i32", true));
/// assert!(cortex_cli::fields::parse(&["title:varchar".into()]).is_err());
/// ```
pub fn parse(raw: &[String]) -> Result<Vec<Field>> {
    let mut fields: Vec<Field> = Vec::new();
    for arg in raw {
        let field = parse_one(arg)?;
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

fn parse_one(arg: &str) -> Result<Field> {
    let Some((name, kind)) = arg.split_once(':') else {
        return Err(CliError::new(format!(
            "the field `{arg}` has no type: fields are `name:type`"
        ))
        .hint(format!(
            "e.g. `{arg}:string`; the types are {}",
            type_list()
        ))
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
    if is_keyword(&name) || RESERVED.contains(&name.as_str()) {
        return Err(CliError::new(format!(
            "the field `{arg}` has a reserved name: `{name}` is {}",
            if is_keyword(&name) {
                "a Rust keyword"
            } else {
                "assigned by the generated store"
            }
        ))
        .hint(format!("choose another name, e.g. `{name}_value`"))
        .with_code(2));
    }
    let (kind, optional) = match kind.strip_suffix('?') {
        Some(kind) => (kind, true),
        None => (kind, false),
    };
    let Some((_, rust_type)) = TYPES.iter().find(|(t, _)| *t == kind) else {
        let hint = if kind == "uuid" {
            format!(
                "`uuid` needs a dependency new apps do not have yet; use `string`. The types are {}",
                type_list()
            )
        } else {
            format!(
                "the types are {}; add `?` for an optional field",
                type_list()
            )
        };
        return Err(
            CliError::new(format!("the field `{arg}` has an unknown type `{kind}`"))
                .hint(hint)
                .with_code(2),
        );
    };
    let (validate, sample) = match kind {
        "string" => (Some("length(min = 1, max = 255)"), "\"a string\""),
        "text" => (Some("length(max = 65535)"), "\"some text\""),
        "int" => (None, "42"),
        "bigint" => (None, "4_200_000_000_i64"),
        "float" => (None, "1.5"),
        "bool" => (None, "true"),
        _ => (None, "{\"key\": \"value\"}"),
    };
    Ok(Field {
        name,
        kind: kind.to_string(),
        rust_type: rust_type.to_string(),
        optional,
        validate: validate.map(str::to_string),
        sample: sample.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(args: &[&str]) -> (String, String) {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let e = parse(&args).unwrap_err();
        (e.to_string(), e.hint_text().unwrap_or_default().to_string())
    }

    #[test]
    fn every_type_parses() {
        let args: Vec<String> = TYPES.iter().map(|(t, _)| format!("f_{t}:{t}?")).collect();
        let fields = parse(&args).unwrap();
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
            hint.contains("string, text, int, bigint, float, bool, json"),
            "{hint}"
        );
        assert!(
            error(&["uid:uuid"])
                .1
                .starts_with("`uuid` needs a dependency")
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
}
