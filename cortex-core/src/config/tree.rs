//! The merged configuration tree and where each of its values came from.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::{ConfigError, Origin};

/// Converts a TOML value; dates become their TOML text, and floats JSON cannot hold (`nan`,
/// `inf`) become strings.
pub(super) fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map_or_else(|| Value::String(f.to_string()), Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(table_to_json(table)),
    }
}

fn table_to_json(table: toml::Table) -> Map<String, Value> {
    table
        .into_iter()
        .map(|(k, v)| (k, toml_to_json(v)))
        .collect()
}

/// Parses a TOML document. Errors name `file` and the position, and carry toml's description
/// only, never the source line (it may hold a secret).
pub(super) fn parse_toml(text: &str, file: &str) -> Result<Map<String, Value>, ConfigError> {
    match toml::from_str::<toml::Table>(text) {
        Ok(table) => Ok(table_to_json(table)),
        Err(e) => {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (line, column) = line_col(text, span.start);
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            Err(ConfigError::Parse {
                file: file.to_string(),
                line,
                column,
                message: one_line(e.message()),
            })
        }
    }
}

/// The 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Joins a multi-line message into one line.
pub(super) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The kind of a value, as error messages name it.
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

/// The value at a dotted key (`""` is the whole tree); numeric segments index arrays.
pub(super) fn lookup<'a>(tree: &'a Value, key: &str) -> Option<&'a Value> {
    if key.is_empty() {
        return Some(tree);
    }
    key.split('.').try_fold(tree, step)
}

/// The value at a key path.
pub(super) fn lookup_path<'a>(tree: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(tree, |at, segment| step(at, segment))
}

fn step<'a>(at: &'a Value, segment: &str) -> Option<&'a Value> {
    match at {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
        _ => None,
    }
}

/// The value at a key path, mutably.
pub(super) fn lookup_mut<'a>(tree: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(tree, |at, segment| match at {
        Value::Object(map) => map.get_mut(segment),
        Value::Array(items) => items.get_mut(segment.parse::<usize>().ok()?),
        _ => None,
    })
}

/// Joins key segments with dots.
pub(super) fn join(prefix: &str, segment: &str) -> String {
    if prefix.is_empty() {
        segment.to_string()
    } else {
        format!("{prefix}.{segment}")
    }
}

/// The configuration as it is built up, layer over layer.
#[derive(Default)]
pub(super) struct Layers {
    /// The merged values; always an object.
    pub(super) tree: Map<String, Value>,
    /// The layer that last set each key (tables included), by dotted key.
    pub(super) origins: BTreeMap<String, Origin>,
    /// For values read from variables as numbers, booleans or arrays: the variable as written,
    /// so a read that wants a string can have it.
    pub(super) raw: HashMap<String, String>,
}

impl Layers {
    /// Merges a layer: tables merge key by key, any other value replaces what was there.
    pub(super) fn merge(&mut self, layer: Map<String, Value>, origin: &Origin) {
        merge_into(
            &mut self.tree,
            "",
            layer,
            origin,
            &mut self.origins,
            &mut self.raw,
        );
    }

    /// Sets one key, creating the tables on the way (replacing non-tables on the way).
    pub(super) fn set(&mut self, path: &[String], value: Value, origin: &Origin) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut prefix = String::new();
        let mut table = &mut self.tree;
        for segment in parents {
            prefix = join(&prefix, segment);
            let slot = table.entry(segment.clone()).or_insert(Value::Null);
            if !slot.is_object() {
                forget(&prefix, &mut self.origins, &mut self.raw);
                *slot = Value::Object(Map::new());
            }
            self.origins.insert(prefix.clone(), origin.clone());
            table = match slot {
                Value::Object(map) => map,
                _ => unreachable!("just made a table"),
            };
        }
        let mut layer = Map::new();
        layer.insert(last.clone(), value);
        merge_into(
            table,
            &prefix,
            layer,
            origin,
            &mut self.origins,
            &mut self.raw,
        );
    }
}

fn merge_into(
    table: &mut Map<String, Value>,
    prefix: &str,
    layer: Map<String, Value>,
    origin: &Origin,
    origins: &mut BTreeMap<String, Origin>,
    raw: &mut HashMap<String, String>,
) {
    for (k, incoming) in layer {
        let key = join(prefix, &k);
        match (table.get_mut(&k), incoming) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                origins.insert(key.clone(), origin.clone());
                merge_into(existing, &key, incoming, origin, origins, raw);
            }
            (_, incoming) => {
                forget(&key, origins, raw);
                record(&key, &incoming, origin, origins);
                table.insert(k, incoming);
            }
        }
    }
}

/// Drops what is known about `key` and everything under it.
fn forget(key: &str, origins: &mut BTreeMap<String, Origin>, raw: &mut HashMap<String, String>) {
    let under = format!("{key}.");
    origins.retain(|k, _| k != key && !k.starts_with(&under));
    raw.retain(|k, _| k != key && !k.starts_with(&under));
}

/// Records `origin` for `key` and every key inside its value.
fn record(key: &str, value: &Value, origin: &Origin, origins: &mut BTreeMap<String, Origin>) {
    origins.insert(key.to_string(), origin.clone());
    if let Value::Object(map) = value {
        for (k, v) in map {
            record(&join(key, k), v, origin, origins);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn tables_merge_and_other_values_replace() {
        let mut layers = Layers::default();
        let base = Origin::File("cortex.toml".into());
        let prod = Origin::File("cortex.prod.toml".into());
        layers.merge(
            obj(json!({"server": {"host": "a", "port": 1}, "list": [1, 2]})),
            &base,
        );
        layers.merge(obj(json!({"server": {"port": 2}, "list": [3]})), &prod);
        assert_eq!(
            Value::Object(layers.tree),
            json!({"server": {"host": "a", "port": 2}, "list": [3]})
        );
        assert_eq!(layers.origins["server.host"], base);
        assert_eq!(layers.origins["server.port"], prod);
        assert_eq!(layers.origins["server"], prod);
        assert_eq!(layers.origins["list"], prod);
    }

    #[test]
    fn replacing_a_table_forgets_the_origins_inside_it() {
        let mut layers = Layers::default();
        layers.merge(obj(json!({"db": {"url": "x"}})), &Origin::Defaults);
        layers.set(
            &["db".into()],
            json!("flat"),
            &Origin::Env {
                var: "CORTEX_DB".into(),
            },
        );
        assert_eq!(Value::Object(layers.tree.clone()), json!({"db": "flat"}));
        assert!(!layers.origins.contains_key("db.url"));
        layers.set(
            &["db".into(), "pool".into()],
            json!(5),
            &Origin::Env {
                var: "CORTEX_DB__POOL".into(),
            },
        );
        assert_eq!(Value::Object(layers.tree), json!({"db": {"pool": 5}}));
    }

    #[test]
    fn lookups_follow_dotted_keys_and_array_indexes() {
        let tree = json!({"a": {"b": [10, {"c": true}]}});
        assert_eq!(lookup(&tree, "a.b.0"), Some(&json!(10)));
        assert_eq!(lookup(&tree, "a.b.1.c"), Some(&json!(true)));
        assert_eq!(lookup(&tree, "a.x"), None);
        assert_eq!(lookup(&tree, ""), Some(&tree));
    }

    #[test]
    fn parse_errors_give_the_position_and_never_the_line() {
        let text = "[db]\nurl = \"postgres://u:s3cret@h\"\npassword = s3cret\n";
        let err = parse_toml(text, "cortex.toml").unwrap_err();
        let ConfigError::Parse { line, column, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (Some(3), Some(12)));
        let message = err.to_string();
        assert!(!message.contains("s3cret"), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("x", 10), (1, 2));
    }

    #[test]
    fn dates_and_odd_floats_become_strings() {
        let table = parse_toml("d = 1979-05-27T07:32:00Z\nf = nan\ni = 3", "t").unwrap();
        assert_eq!(
            Value::Object(table),
            json!({"d": "1979-05-27T07:32:00Z", "f": "NaN", "i": 3})
        );
    }
}
