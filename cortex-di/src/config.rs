//! Reading `#[inject(config = "key")]` values: [`ConfigSource`](crate::ConfigSource)'s
//! implementation for a JSON tree, and the deserialization with errors that name the key and the
//! type, never the value.

use serde::de::DeserializeOwned;

use crate::ConfigSource;
use crate::error::{Error, Result};

impl ConfigSource for serde_json::Value {
    fn value(&self, key: &str) -> Option<serde_json::Value> {
        let mut at = self;
        for part in key.split('.') {
            at = match at {
                serde_json::Value::Object(map) => map.get(part)?,
                serde_json::Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(at.clone())
    }
}

/// The value at `key` in `source`, deserialized as `T`, for `required_by`.
pub(crate) fn read_config<T: DeserializeOwned>(
    source: &dyn ConfigSource,
    key: &str,
    required_by: &'static str,
) -> Result<T> {
    let value = source.value(key).ok_or_else(|| Error::Config {
        key: key.to_string(),
        problem: "is missing".into(),
        required_by,
    })?;
    let kind = match &value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "a table",
    };
    serde_json::from_value(value).map_err(|_| Error::Config {
        key: key.to_string(),
        problem: format!(
            "cannot be read as `{}` (found {kind})",
            std::any::type_name::<T>()
        ),
        required_by,
    })
}
