//! Field-level errors: the `errors` member of validation and bad-input problems, and the flattening
//! of `validator`'s nested [`ValidationErrors`] tree into them.

use std::borrow::Cow;

use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use validator::{ValidationError, ValidationErrors, ValidationErrorsKind};

use super::problem::{Problem, problem_types};

/// The key of the list of [`FieldError`]s in a problem's extension members.
pub(crate) const ERRORS: &str = "errors";

/// The longest excerpt of client-controlled text (a value, a key, a serde message) echoed back.
pub(crate) const MAX_ECHO: usize = 200;

/// One field's error, as listed in the `errors` member of a problem.
///
/// `field` is a path into the input: struct fields joined with `.`, list items as `[index]`
/// (`address.zip`, `items[2].name`); it is empty for an error about the whole value. `code` is
/// machine-readable (`email`, `length`, `range`, `missing_field`, `invalid_type`, …) and `message`
/// is for people. `params` carries the rule's bounds (`min`, `max`, `equal`, `exclusive_min`,
/// `exclusive_max`) when there are any; the rejected value is never echoed.
///
/// ```
/// use cortex_core::http::FieldError;
///
/// let error = FieldError::new("email", "email", "must be a valid email address");
/// assert_eq!(
///     serde_json::to_value(&error).unwrap(),
///     serde_json::json!({ "field": "email", "code": "email", "message": "must be a valid email address" })
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The path of the field (`items[2].name`); empty for the whole value.
    pub field: String,
    /// A machine-readable code (`email`, `length`, `missing_field`, …).
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
    /// The rule's bounds (`min`, `max`, …), when it has any.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
}

impl FieldError {
    /// A field error without params.
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            code: code.into(),
            message: message.into(),
            params: Map::new(),
        }
    }

    /// Flattens `validator`'s tree of errors into one list, in a stable order: at each level the
    /// fields sorted by name (struct-level errors first), list items by index.
    ///
    /// Nested structs become dotted paths and list items `[index]`; an error attached to a whole
    /// struct (`#[validate(schema(…))]`) gets the path of that struct (empty at the top). A rule
    /// without a custom `message` gets an English one derived from its code and bounds.
    ///
    /// ```
    /// use cortex_core::http::FieldError;
    /// use validator::Validate;
    ///
    /// #[derive(Validate)]
    /// struct Item {
    ///     #[validate(length(min = 1))]
    ///     name: String,
    /// }
    ///
    /// #[derive(Validate)]
    /// struct Order {
    ///     #[validate(email)]
    ///     email: String,
    ///     #[validate(nested)]
    ///     items: Vec<Item>,
    /// }
    ///
    /// let order = Order {
    ///     email: "nope".into(),
    ///     items: vec![Item { name: "ok".into() }, Item { name: String::new() }],
    /// };
    /// let errors = FieldError::from_validation(&order.validate().unwrap_err());
    /// let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
    /// assert_eq!(fields, [("email", "email"), ("items[1].name", "length")]);
    /// assert_eq!(errors[1].message, "must have a length of at least 1");
    /// ```
    pub fn from_validation(errors: &ValidationErrors) -> Vec<FieldError> {
        let mut out = Vec::new();
        flatten_into(errors, "", &mut out);
        out
    }

    fn from_rule(field: String, error: &ValidationError) -> Self {
        let params: Map<String, Value> = SAFE_PARAMS
            .iter()
            .filter_map(|&name| {
                error
                    .params
                    .get(name)
                    .map(|v| (name.to_string(), v.clone()))
            })
            .collect();
        let message = match &error.message {
            Some(message) => message.to_string(),
            None => default_message(&error.code, &error.params),
        };
        FieldError {
            field,
            code: error.code.to_string(),
            message,
            params,
        }
    }
}

/// Params that describe a rule, not the input (`value`, and `must_match`'s `other`, hold input).
const SAFE_PARAMS: [&str; 5] = ["min", "max", "equal", "exclusive_min", "exclusive_max"];

/// Keys that `validator` uses for errors that are not about a named field.
fn is_whole_value_key(key: &str) -> bool {
    // `__all__`: struct-level (schema) errors; `_tmp_validator`: a list validated at the top.
    key == "__all__" || key == "_tmp_validator"
}

fn flatten_into(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    let mut entries: Vec<(&Cow<'static, str>, &ValidationErrorsKind)> =
        errors.errors().iter().collect();
    entries.sort_by(|(a, _), (b, _)| {
        (!is_whole_value_key(a), a.as_ref()).cmp(&(!is_whole_value_key(b), b.as_ref()))
    });
    for (key, kind) in entries {
        let path = if is_whole_value_key(key) {
            prefix.to_string()
        } else {
            join_field(prefix, key)
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                out.extend(
                    list.iter()
                        .map(|error| FieldError::from_rule(path.clone(), error)),
                );
            }
            ValidationErrorsKind::Struct(inner) => flatten_into(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    flatten_into(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}

/// `prefix.key`, or `key` at the top.
pub(crate) fn join_field(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn default_message(
    code: &str,
    params: &std::collections::HashMap<Cow<'static, str>, Value>,
) -> String {
    let param = |name: &str| params.get(name).map(display_value);
    let bounds = || {
        let parts: Vec<String> = [
            ("min", "at least"),
            ("exclusive_min", "greater than"),
            ("max", "at most"),
            ("exclusive_max", "less than"),
        ]
        .iter()
        .filter_map(|(name, words)| param(name).map(|v| format!("{words} {v}")))
        .collect();
        parts.join(" and ")
    };
    match code {
        "email" => "must be a valid email address".to_string(),
        "url" => "must be a valid URL".to_string(),
        "ip" => "must be a valid IP address".to_string(),
        "credit_card" => "must be a valid credit card number".to_string(),
        "non_control_character" => "must not contain control characters".to_string(),
        "required" => "is required".to_string(),
        "regex" => "has an invalid format".to_string(),
        "must_match" => "does not match the field it must equal".to_string(),
        "contains" => match param("needle") {
            Some(needle) => format!("must contain {needle}"),
            None => "is missing a required part".to_string(),
        },
        "does_not_contain" => match param("needle") {
            Some(needle) => format!("must not contain {needle}"),
            None => "contains a forbidden part".to_string(),
        },
        "length" => match param("equal") {
            Some(equal) => format!("must have a length of {equal}"),
            None => match bounds() {
                b if b.is_empty() => "has an invalid length".to_string(),
                b => format!("must have a length of {b}"),
            },
        },
        "range" => match bounds() {
            b if b.is_empty() => "is out of range".to_string(),
            b => format!("must be {b}"),
        },
        _ => "is invalid".to_string(),
    }
}

fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{}\"", clip(s, MAX_ECHO)),
        other => other.to_string(),
    }
}

/// At most `max` characters of `text`, with `…` when cut.
pub(crate) fn clip(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
    }
}

/// The 422 problem for a list of validation failures.
pub(crate) fn validation_problem(errors: Vec<FieldError>) -> Problem {
    let detail = match errors.len() {
        1 => "The request has 1 invalid value; see `errors`.".to_string(),
        n => format!("The request has {n} invalid values; see `errors`."),
    };
    Problem::typed(StatusCode::UNPROCESSABLE_ENTITY, problem_types::VALIDATION)
        .with_detail(detail)
        .with_extension(ERRORS, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_error(code: &'static str) -> ValidationError {
        ValidationError::new(code)
    }

    fn errors_with(entries: Vec<(&'static str, ValidationErrorsKind)>) -> ValidationErrors {
        let mut errors = ValidationErrors::new();
        for (key, kind) in entries {
            errors.errors_mut().insert(Cow::Borrowed(key), kind);
        }
        errors
    }

    fn fields(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect()
    }

    #[test]
    fn top_level_fields_are_sorted_by_name() {
        let errors = errors_with(vec![
            (
                "name",
                ValidationErrorsKind::Field(vec![field_error("length")]),
            ),
            (
                "email",
                ValidationErrorsKind::Field(vec![field_error("email"), field_error("length")]),
            ),
        ]);
        let flat = FieldError::from_validation(&errors);
        assert_eq!(
            fields(&flat),
            [("email", "email"), ("email", "length"), ("name", "length")]
        );
    }

    #[test]
    fn nested_structs_become_dotted_paths() {
        let address = errors_with(vec![(
            "zip",
            ValidationErrorsKind::Field(vec![field_error("regex")]),
        )]);
        let errors = errors_with(vec![(
            "address",
            ValidationErrorsKind::Struct(Box::new(address)),
        )]);
        let flat = FieldError::from_validation(&errors);
        assert_eq!(fields(&flat), [("address.zip", "regex")]);
        assert_eq!(flat[0].message, "has an invalid format");
    }

    #[test]
    fn list_items_get_their_index_in_order() {
        let item = |code| {
            Box::new(errors_with(vec![(
                "name",
                ValidationErrorsKind::Field(vec![field_error(code)]),
            )]))
        };
        let list = [(10, item("length")), (2, item("required"))]
            .into_iter()
            .collect();
        let errors = errors_with(vec![("items", ValidationErrorsKind::List(list))]);
        let flat = FieldError::from_validation(&errors);
        assert_eq!(
            fields(&flat),
            [("items[2].name", "required"), ("items[10].name", "length")]
        );
    }

    #[test]
    fn struct_level_errors_take_the_path_of_their_struct_and_come_first() {
        let inner = errors_with(vec![
            (
                "zip",
                ValidationErrorsKind::Field(vec![field_error("length")]),
            ),
            (
                "__all__",
                ValidationErrorsKind::Field(vec![field_error("address_mismatch")]),
            ),
        ]);
        let errors = errors_with(vec![
            ("address", ValidationErrorsKind::Struct(Box::new(inner))),
            (
                "__all__",
                ValidationErrorsKind::Field(vec![field_error("passwords")]),
            ),
        ]);
        let flat = FieldError::from_validation(&errors);
        assert_eq!(
            fields(&flat),
            [
                ("", "passwords"),
                ("address", "address_mismatch"),
                ("address.zip", "length")
            ]
        );
        assert_eq!(flat[0].message, "is invalid");
    }

    #[test]
    fn a_list_validated_at_the_top_has_index_only_paths() {
        let item = Box::new(errors_with(vec![(
            "name",
            ValidationErrorsKind::Field(vec![field_error("length")]),
        )]));
        let errors = errors_with(vec![(
            "_tmp_validator",
            ValidationErrorsKind::List([(1, item)].into_iter().collect()),
        )]);
        assert_eq!(
            fields(&FieldError::from_validation(&errors)),
            [("[1].name", "length")]
        );
    }

    #[test]
    fn custom_messages_win_over_defaults() {
        let error = field_error("length").with_message(Cow::Borrowed("too short"));
        let errors = errors_with(vec![("name", ValidationErrorsKind::Field(vec![error]))]);
        assert_eq!(FieldError::from_validation(&errors)[0].message, "too short");
    }

    #[test]
    fn bounds_are_kept_but_values_are_never_echoed() {
        let mut error = field_error("length");
        error.add_param(Cow::Borrowed("min"), &3);
        error.add_param(Cow::Borrowed("max"), &20);
        error.add_param(Cow::Borrowed("value"), &"secret");
        let mut must_match = field_error("must_match");
        must_match.add_param(Cow::Borrowed("other"), &"hunter2");
        let errors = errors_with(vec![
            ("name", ValidationErrorsKind::Field(vec![error])),
            ("password", ValidationErrorsKind::Field(vec![must_match])),
        ]);
        let json = serde_json::to_value(FieldError::from_validation(&errors)).unwrap();
        assert_eq!(
            json,
            json!([
                {
                    "field": "name",
                    "code": "length",
                    "message": "must have a length of at least 3 and at most 20",
                    "params": { "min": 3, "max": 20 }
                },
                { "field": "password", "code": "must_match", "message": "does not match the field it must equal" }
            ])
        );
        assert!(!json.to_string().contains("secret") && !json.to_string().contains("hunter2"));
    }

    #[test]
    fn default_messages_describe_the_rule() {
        let with = |code, params: &[(&'static str, Value)]| {
            let mut e = field_error(code);
            for (k, v) in params {
                e.add_param(Cow::Borrowed(*k), v);
            }
            FieldError::from_rule(String::new(), &e).message
        };
        assert_eq!(
            with("range", &[("min", json!(1)), ("max", json!(10))]),
            "must be at least 1 and at most 10"
        );
        assert_eq!(
            with("range", &[("exclusive_min", json!(0))]),
            "must be greater than 0"
        );
        assert_eq!(
            with("length", &[("equal", json!(4))]),
            "must have a length of 4"
        );
        assert_eq!(
            with("contains", &[("needle", json!("@"))]),
            "must contain \"@\""
        );
        assert_eq!(with("email", &[]), "must be a valid email address");
        assert_eq!(with("my_rule", &[]), "is invalid");
    }

    #[test]
    fn clip_cuts_on_a_character_boundary() {
        assert_eq!(clip("héllo", 10), "héllo");
        assert_eq!(clip("héllo", 2), "hé…");
    }
}
