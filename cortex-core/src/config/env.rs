//! `CORTEX_*` environment variables: names to keys, values to typed values.

use serde_json::Value;

use super::tree::toml_to_json;

/// The prefix of every configuration variable.
pub(super) const PREFIX: &str = "CORTEX_";

/// Variables with the `CORTEX_` prefix that are not configuration keys.
///
/// | variable | meaning |
/// | --- | --- |
/// | `CORTEX_PROFILE` | the [`Profile`](super::Profile) (`dev` when unset) |
/// | `CORTEX_CONFIG_DIR` | the directory holding `cortex.toml`, `cortex.{profile}.toml` and `.env` (the current directory when unset) |
/// | `CORTEX_LOG` | the log filter, overriding `[log] level` and `[log.targets]` (as `RUST_LOG` does) |
///
/// `CORTEX_LOG_FORMAT` is a configuration variable: short for `log.format`.
///
/// ```
/// use cortex_core::config::RESERVED_ENV_VARS;
/// assert!(RESERVED_ENV_VARS.contains(&"CORTEX_PROFILE"));
/// ```
pub const RESERVED_ENV_VARS: &[&str] = &[PROFILE_VAR, CONFIG_DIR_VAR, LOG_VAR];

/// The variable naming the profile.
pub(super) const PROFILE_VAR: &str = "CORTEX_PROFILE";
/// The variable naming the configuration directory.
pub(super) const CONFIG_DIR_VAR: &str = "CORTEX_CONFIG_DIR";
/// The variable holding a log filter (see [`crate::logging`]).
pub(super) const LOG_VAR: &str = "CORTEX_LOG";

/// Short names for the keys everyone sets; they win over the long form.
pub(super) const ALIASES: &[(&str, &str)] = &[
    ("CORTEX_HOST", "server.host"),
    ("CORTEX_PORT", "server.port"),
    ("CORTEX_LOG_FORMAT", "log.format"),
];

/// What a variable name means for the configuration.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum EnvKey {
    /// Not a configuration variable (no `CORTEX_` prefix, or reserved).
    Ignored,
    /// The key path it sets; `alias` for `CORTEX_HOST`/`CORTEX_PORT`.
    Key { path: Vec<String>, alias: bool },
}

/// Maps a variable name to a key path: `CORTEX_SERVER__PORT` → `server.port`. A double underscore
/// nests, a single one stays, letters are lowercased. Errors are problems for
/// [`ConfigError::BadEnv`](super::ConfigError::BadEnv).
pub(super) fn env_var_to_key(name: &str) -> Result<EnvKey, String> {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return Ok(EnvKey::Ignored);
    };
    if RESERVED_ENV_VARS.contains(&name) {
        return Ok(EnvKey::Ignored);
    }
    if let Some((_, key)) = ALIASES.iter().find(|(var, _)| *var == name) {
        return Ok(EnvKey::Key {
            path: key.split('.').map(str::to_string).collect(),
            alias: true,
        });
    }
    if rest.is_empty() {
        return Err(
            "names no key; hint: write CORTEX_<SECTION>__<KEY>, for example CORTEX_SERVER__PORT"
                .into(),
        );
    }
    let mut path = Vec::new();
    for segment in rest.split("__") {
        if segment.is_empty() {
            return Err(format!(
                "has an empty key segment (`{rest}`); hint: separate nested keys with exactly two underscores, as in CORTEX_SERVER__PORT"
            ));
        }
        if segment.starts_with('_') || segment.ends_with('_') {
            return Err(format!(
                "has a key segment starting or ending with `_` (`{rest}`); hint: separate nested keys with exactly two underscores, as in CORTEX_SERVER__PORT"
            ));
        }
        if let Some(c) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Err(format!(
                "contains {c:?}, which cannot be part of a config key; hint: use ASCII letters, digits and `_`, with `__` for nesting"
            ));
        }
        path.push(segment.to_ascii_lowercase());
    }
    Ok(EnvKey::Key { path, alias: false })
}

/// The variable that sets `key`: `server.port` → `CORTEX_SERVER__PORT`.
pub(super) fn key_to_env_var(key: &str) -> String {
    let mut var = String::from(PREFIX);
    for (i, segment) in key.split('.').enumerate() {
        if i > 0 {
            var.push_str("__");
        }
        var.push_str(&segment.to_ascii_uppercase());
    }
    var
}

/// Reads a variable's value: numbers, booleans, quoted strings, arrays and inline tables are
/// read as TOML; anything else (including dates and `nan`/`inf`) is the string as written. The
/// flag says whether the value was read as a number, boolean, array or table, so a typed read that
/// wants a string can fall back to the variable as written.
pub(super) fn parse_env_value(raw: &str) -> (Value, bool) {
    let plain = || (Value::String(raw.to_string()), false);
    match raw.parse::<toml::Value>() {
        Ok(toml::Value::String(s)) => (Value::String(s), false),
        Ok(toml::Value::Datetime(_)) | Err(_) => plain(),
        Ok(toml::Value::Float(f)) if !f.is_finite() => plain(),
        Ok(other) => (toml_to_json(other), true),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(name: &str) -> Vec<String> {
        match env_var_to_key(name).unwrap() {
            EnvKey::Key { path, .. } => path,
            EnvKey::Ignored => panic!("{name} was ignored"),
        }
    }

    #[test]
    fn double_underscore_nests_and_single_underscore_stays() {
        assert_eq!(key("CORTEX_SERVER__PORT"), ["server", "port"]);
        assert_eq!(key("CORTEX_DATABASE__POOL_SIZE"), ["database", "pool_size"]);
        assert_eq!(key("CORTEX_APP_NAME"), ["app_name"]);
        assert_eq!(key("CORTEX_A__B__C"), ["a", "b", "c"]);
        assert_eq!(key("CORTEX_MAIL__SMTP-HOST"), ["mail", "smtp-host"]);
    }

    #[test]
    fn host_and_port_are_aliases_for_the_server_section() {
        assert_eq!(
            env_var_to_key("CORTEX_PORT").unwrap(),
            EnvKey::Key {
                path: vec!["server".into(), "port".into()],
                alias: true
            }
        );
        assert_eq!(key("CORTEX_HOST"), ["server", "host"]);
    }

    #[test]
    fn reserved_and_foreign_variables_are_not_keys() {
        assert_eq!(env_var_to_key("CORTEX_PROFILE").unwrap(), EnvKey::Ignored);
        assert_eq!(
            env_var_to_key("CORTEX_CONFIG_DIR").unwrap(),
            EnvKey::Ignored
        );
        assert_eq!(env_var_to_key("PATH").unwrap(), EnvKey::Ignored);
        assert_eq!(
            env_var_to_key("cortex_server__port").unwrap(),
            EnvKey::Ignored
        );
    }

    #[test]
    fn malformed_names_are_errors() {
        assert!(
            env_var_to_key("CORTEX_")
                .unwrap_err()
                .contains("names no key")
        );
        assert!(
            env_var_to_key("CORTEX__SERVER")
                .unwrap_err()
                .contains("key segment starting or ending with `_`")
        );
        assert!(
            env_var_to_key("CORTEX_SERVER___PORT")
                .unwrap_err()
                .contains("key segment starting or ending with `_`")
        );
        assert!(
            env_var_to_key("CORTEX_SERVER_")
                .unwrap_err()
                .contains("key segment starting or ending with `_`")
        );
        assert!(
            env_var_to_key("CORTEX_SERVER____PORT")
                .unwrap_err()
                .contains("empty key segment")
        );
        assert!(
            env_var_to_key("CORTEX_SERVER.PORT")
                .unwrap_err()
                .contains("'.'")
        );
    }

    #[test]
    fn keys_map_back_to_variables() {
        assert_eq!(key_to_env_var("server.port"), "CORTEX_SERVER__PORT");
        assert_eq!(
            key_to_env_var("database.pool_size"),
            "CORTEX_DATABASE__POOL_SIZE"
        );
        assert_eq!(key(&key_to_env_var("a.b_c.d")), ["a", "b_c", "d"]);
    }

    #[test]
    fn values_that_look_like_toml_scalars_are_typed() {
        assert_eq!(parse_env_value("8080"), (json!(8080), true));
        assert_eq!(parse_env_value("-3"), (json!(-3), true));
        assert_eq!(parse_env_value("1.5"), (json!(1.5), true));
        assert_eq!(parse_env_value("true"), (json!(true), true));
        assert_eq!(parse_env_value(r#"["a", "b"]"#), (json!(["a", "b"]), true));
        assert_eq!(parse_env_value(r#""8080""#), (json!("8080"), false));
    }

    #[test]
    fn other_values_are_strings_as_written() {
        for raw in [
            "localhost",
            "0.0.0.0",
            "postgres://u:p@h/db",
            "nan",
            "inf",
            "2024-01-01",
            "007",
            "",
            " 1 x",
            "a = 1",
        ] {
            assert_eq!(parse_env_value(raw), (json!(raw), false), "{raw:?}");
        }
    }
}
