//! Rendering the resolved configuration as TOML, each value commented with where it came from.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::tree::join;
use super::{Origin, Profile};

/// Renders `tree` (already redacted) as a TOML document.
pub(super) fn render(
    tree: &Map<String, Value>,
    origins: &BTreeMap<String, Origin>,
    profile: &Profile,
) -> String {
    let mut out = format!("# Resolved configuration, profile `{profile}`. Secrets are masked.\n");
    render_table(&mut out, tree, "", &mut Vec::new(), origins);
    out
}

fn render_table(
    out: &mut String,
    table: &Map<String, Value>,
    key: &str,
    header: &mut Vec<String>,
    origins: &BTreeMap<String, Origin>,
) {
    let (tables, values): (Vec<_>, Vec<_>) = table.iter().partition(|(_, v)| v.is_object());
    if !header.is_empty() && (!values.is_empty() || tables.is_empty()) {
        let _ = writeln!(
            out,
            "\n[{}]",
            header
                .iter()
                .map(|s| toml_key(s))
                .collect::<Vec<_>>()
                .join(".")
        );
    }
    for (k, v) in values {
        let full = join(key, k);
        let comment = origins
            .get(&full)
            .map(|o| format!("  # {o}"))
            .unwrap_or_default();
        match v {
            Value::Null => {
                let _ = writeln!(out, "# {} is null{comment}", toml_key(k));
            }
            v => {
                let _ = writeln!(out, "{} = {}{comment}", toml_key(k), inline(v));
            }
        }
    }
    for (k, v) in tables {
        if let Value::Object(child) = v {
            header.push(k.clone());
            render_table(out, child, &join(key, k), header, origins);
            header.pop();
        }
    }
}

/// A key, bare when TOML allows it, quoted otherwise.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        toml_string(key)
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value written inline.
fn inline(value: &Value) -> String {
    match value {
        // TOML has no null; inside arrays and inline tables an empty string stands in for it.
        Value::Null => "\"\"".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if n.is_f64() => {
                let s = f.to_string();
                if s.contains(['.', 'e', 'E']) {
                    s
                } else {
                    format!("{s}.0")
                }
            }
            // A u64 above i64::MAX: TOML cannot hold it as an integer.
            _ => toml_string(&n.to_string()),
        },
        Value::String(s) => toml_string(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) if map.is_empty() => "{}".to_string(),
        Value::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!("{} = {}", toml_key(k), inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_rendering_is_valid_toml_with_origins_as_comments() {
        let tree = json!({
            "name": "blog",
            "server": { "port": 8080, "tls": { "enabled": false } },
            "weird key": { "a\"b": 1.5 },
            "items": [{ "x": 1 }, { "y": [true] }],
            "empty": {},
        });
        let Value::Object(tree) = tree else {
            unreachable!()
        };
        let mut origins = BTreeMap::new();
        origins.insert(
            "server.port".to_string(),
            Origin::Env {
                var: "CORTEX_PORT".into(),
            },
        );
        let shown = render(&tree, &origins, &Profile::DEV);
        assert!(
            shown.contains("port = 8080  # environment variable CORTEX_PORT\n"),
            "{shown}"
        );
        let parsed: toml::Table = toml::from_str(&shown).unwrap();
        assert_eq!(serde_json::to_value(parsed).unwrap(), Value::Object(tree));
    }
}
