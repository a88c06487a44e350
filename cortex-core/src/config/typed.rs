//! Typed reads: deserializing a part of the tree, and turning serde's errors into messages that
//! name the key, its origin, the expected type and the kind of value found — never the value.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use super::secret::is_secret_key;
use super::tree::{join, kind, lookup_mut, lookup_path, one_line};
use super::{Config, ConfigError};

/// Deserializes `value`, read from `key`. Values that came from environment variables as numbers,
/// booleans or arrays are retried as the string the variable held when the type wants a string.
pub(super) fn deserialize<T: DeserializeOwned>(
    config: &Config,
    key: &str,
    mut value: Value,
) -> Result<T, ConfigError> {
    // Each retry turns one more value back into its string, so this ends. When the string does
    // not do either, the error is the one about the value as first read.
    let mut retried: Option<(String, ConfigError)> = None;
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(t) => return Ok(t),
            Err(error) => error,
        };
        let path = relative_path(error.path());
        let full = path.iter().fold(key.to_string(), |k, s| join(&k, s));
        if let Some((retried_key, original)) = retried.take()
            && retried_key == full
        {
            return Err(original);
        }
        let described = describe(
            config,
            &full,
            &path,
            &value,
            &error.into_inner().to_string(),
        );
        if let Some(raw) = config.inner.layers.raw.get(&full)
            && let Some(slot) = lookup_mut(&mut value, &path)
            && !slot.is_string()
        {
            *slot = Value::String(raw.clone());
            retried = Some((full, described));
            continue;
        }
        return Err(described);
    }
}

/// The path serde_path_to_error recorded, up to the first segment it could not name.
fn relative_path(path: &serde_path_to_error::Path) -> Vec<String> {
    let mut out = Vec::new();
    for segment in path.iter() {
        match segment {
            Segment::Map { key } => out.push(key.clone()),
            Segment::Seq { index } => out.push(index.to_string()),
            Segment::Enum { .. } => {}
            Segment::Unknown => break,
        }
    }
    out
}

/// Builds the error for a failed read of `full` (whose value is at `path` inside `value`) from
/// serde's message, keeping only the parts that cannot hold the value.
fn describe(
    config: &Config,
    full: &str,
    path: &[String],
    value: &Value,
    message: &str,
) -> ConfigError {
    if let Some(field) = backticked_after(message, "missing field `") {
        return ConfigError::Missing {
            key: join(full, field),
            expected: None,
        };
    }
    if let Some(field) = backticked_after(message, "unknown field `") {
        let key = if path.last().is_some_and(|last| last == field) {
            full.to_string()
        } else {
            join(full, field)
        };
        let expected = message
            .split_once(", expected ")
            .map_or_else(|| "no keys here".to_string(), |(_, e)| e.to_string());
        return ConfigError::Unknown {
            origin: origin_near(config, &key),
            key,
            expected,
        };
    }
    let expected = if [
        "invalid type: ",
        "invalid value: ",
        "invalid length ",
        "unknown variant `",
    ]
    .iter()
    .any(|p| message.starts_with(p))
    {
        // serde writes "<what was found, with the value>, expected <what the type wants>"; the
        // second part comes from the type, so the last ", expected " is the split.
        match message.rsplit_once(", expected ") {
            Some((_, expected)) => expected.to_string(),
            None if message.ends_with("there are no variants") => {
                "nothing: the enum has no variants".into()
            }
            None => "a valid value".into(),
        }
    } else if mentions_value(full, path, value, message) {
        "a valid value".to_string()
    } else {
        // A message from the type's own Deserialize impl ("invalid IP address syntax").
        format!("a valid value ({})", one_line(message))
    };
    ConfigError::Invalid {
        key: full.to_string(),
        origin: origin_near(config, full),
        expected,
        found: found_kind(path, value),
    }
}

/// The layer that set `key`, or the nearest table above it (array items have no origin of their
/// own).
fn origin_near(config: &Config, key: &str) -> Option<super::Origin> {
    let mut key = key;
    loop {
        if let Some(origin) = config.origin(key) {
            return Some(origin.clone());
        }
        key = &key[..key.rfind('.')?];
    }
}

/// The kind of the value at `path`, or of the nearest value above it.
fn found_kind(path: &[String], value: &Value) -> &'static str {
    (0..=path.len())
        .rev()
        .find_map(|n| lookup_path(value, &path[..n]))
        .map_or("nothing", kind)
}

/// The text between `prefix` (which ends in a backtick) and the next backtick, if the message
/// starts with `prefix`.
fn backticked_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// Whether a free-form message could reveal the value: always for secret keys, and whenever the
/// value's text appears in it.
fn mentions_value(full: &str, path: &[String], value: &Value, message: &str) -> bool {
    if is_secret_key(full) {
        return true;
    }
    match lookup_path(value, path) {
        Some(Value::String(s)) => !s.is_empty() && message.contains(s.as_str()),
        Some(Value::Number(n)) => message.contains(&n.to_string()),
        Some(Value::Bool(_) | Value::Null) => false,
        // A table or an array: any of its strings might be quoted.
        Some(_) | None => true,
    }
}

/// A type's name without module paths: `alloc::string::String` → `String`,
/// `core::option::Option<alloc::vec::Vec<u8>>` → `Option<Vec<u8>>`.
pub(super) fn short_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(word.rsplit("::").next().unwrap_or(word));
        word.clear();
    };
    for c in name.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_lose_their_module_paths() {
        assert_eq!(short_type_name("u16"), "u16");
        assert_eq!(short_type_name("alloc::string::String"), "String");
        assert_eq!(
            short_type_name("core::option::Option<alloc::vec::Vec<u8>>"),
            "Option<Vec<u8>>"
        );
        assert_eq!(
            short_type_name(
                "std::collections::hash::map::HashMap<alloc::string::String, my_app::Mail>"
            ),
            "HashMap<String, Mail>"
        );
        assert_eq!(short_type_name("(u8, [my::T; 2])"), "(u8, [T; 2])");
    }

    #[test]
    fn backticked_names_are_read_from_serde_messages() {
        assert_eq!(
            backticked_after("missing field `host`", "missing field `"),
            Some("host")
        );
        assert_eq!(
            backticked_after("unknown field `prot`, expected `a`", "unknown field `"),
            Some("prot")
        );
        assert_eq!(backticked_after("other", "missing field `"), None);
    }
}
