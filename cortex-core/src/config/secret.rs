//! Which values are secrets, and masking them.

use serde_json::{Map, Value};

use super::tree::join;

/// What a masked value is replaced by.
pub const MASK: &str = "********";

/// Key segments (lowercase) that mark a secret wherever they appear in a segment.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "privatekey",
    "credential",
    "authorization",
];

/// Key segments that are secrets on their own.
const SECRET_SEGMENTS: &[&str] = &["key", "pass", "pwd", "cookie", "set_cookie", "set-cookie"];

/// Whether the value at a dotted key is a secret, judged by its name: some segment contains
/// `password`, `passwd`, `secret`, `token`, `api_key`/`apikey`, `private_key`, `credential` or
/// `authorization`, ends in `_key`/`-key`, or is `key`, `pass`, `pwd`, `cookie` or `set_cookie`
/// (case-insensitive). Everything under a secret key is secret too.
///
/// The same rule masks the fields of log lines (`tracing::info!(password = ..)`), so what
/// `cortex config show` hides never reaches a log either.
///
/// [`Config::redacted`](super::Config::redacted) also masks the password of any URL
/// (`postgres://user:pw@host`), whatever its key.
///
/// ```
/// use cortex_core::config::is_secret_key;
///
/// assert!(is_secret_key("database.password"));
/// assert!(is_secret_key("auth.jwt_secret"));
/// assert!(is_secret_key("stripe.API_KEY"));
/// assert!(is_secret_key("github.access_token"));
/// assert!(is_secret_key("credentials.aws.region"));
/// assert!(!is_secret_key("server.port"));
/// assert!(!is_secret_key("cache.keys"));
/// ```
pub fn is_secret_key(key: &str) -> bool {
    key.split('.').any(is_secret_segment)
}

// Allocation-free: the log formatter asks this of every field it writes.
fn is_secret_segment(segment: &str) -> bool {
    let s = segment.as_bytes();
    let ends_with = |suffix: &[u8]| {
        s.len() >= suffix.len() && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    };
    SECRET_SEGMENTS
        .iter()
        .any(|w| s.eq_ignore_ascii_case(w.as_bytes()))
        || ends_with(b"_key")
        || ends_with(b"-key")
        || SECRET_WORDS.iter().any(|w| contains_word(s, w.as_bytes()))
}

/// Whether `haystack` contains `word` ignoring ASCII case, with `-` matching the word's `_`.
fn contains_word(haystack: &[u8], word: &[u8]) -> bool {
    haystack.len() >= word.len()
        && haystack.windows(word.len()).any(|window| {
            window
                .iter()
                .zip(word)
                .all(|(&h, &w)| h.eq_ignore_ascii_case(&w) || (w == b'_' && h == b'-'))
        })
}

/// The string with the password of a URL in it masked (`postgres://user:pw@host` →
/// `postgres://user:********@host`), or `None` when it holds no URL with a password.
pub(super) fn mask_url_password(s: &str) -> Option<String> {
    let scheme_end = s.find("://")?;
    let scheme = &s[..scheme_end];
    let mut chars = scheme.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    let authority_start = scheme_end + 3;
    let rest = &s[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    if colon + 1 == at {
        return None; // `user:@host`: an empty password
    }
    let password_start = authority_start + colon + 1;
    let password_end = authority_start + at;
    Some(format!(
        "{}{MASK}{}",
        &s[..password_start],
        &s[password_end..]
    ))
}

/// A copy of the tree with secret values masked.
pub(super) fn redact(tree: &Map<String, Value>) -> Map<String, Value> {
    redact_table(tree, "")
}

fn redact_table(table: &Map<String, Value>, prefix: &str) -> Map<String, Value> {
    table
        .iter()
        .map(|(k, v)| (k.clone(), redact_value(v, &join(prefix, k))))
        .collect()
}

fn redact_value(value: &Value, key: &str) -> Value {
    match value {
        Value::Object(table) => Value::Object(redact_table(table, key)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| redact_value(v, &join(key, &i.to_string())))
                .collect(),
        ),
        _ if is_secret_key(key) => Value::String(MASK.to_string()),
        Value::String(s) => Value::String(mask_url_password(s).unwrap_or_else(|| s.clone())),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secret_names_are_recognised_in_any_segment_and_case() {
        for key in [
            "password",
            "db.PASSWORD",
            "db.user_password",
            "smtp.passwd",
            "smtp.pass",
            "smtp.pwd",
            "oauth.client_secret",
            "secrets.anything",
            "github.token",
            "auth.refresh-token",
            "stripe.api_key",
            "stripe.apiKey",
            "tls.private_key",
            "aws.credentials.id",
            "aws.credential",
            "jwt.signing_key",
            "jwt.key",
            "crypto.master-key",
            "http.Authorization",
            "proxy_authorization",
            "cookie",
            "Set-Cookie",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn ordinary_names_are_not_secrets() {
        for key in [
            "server.port",
            "server.host",
            "database.url",
            "cache.keys",
            "keyboard.layout",
            "monkey",
            "app.name",
            "session.cookie_name",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn url_passwords_are_masked() {
        assert_eq!(
            mask_url_password("postgres://app:hunter2@db:5432/app").unwrap(),
            "postgres://app:********@db:5432/app"
        );
        assert_eq!(
            mask_url_password("redis://:hunter2@cache").unwrap(),
            "redis://:********@cache"
        );
        assert_eq!(
            mask_url_password("amqp://u:p%40ss@host/vhost?x=1").unwrap(),
            "amqp://u:********@host/vhost?x=1"
        );
        assert_eq!(
            mask_url_password("postgres://app:pw@db/x@y").unwrap(),
            "postgres://app:********@db/x@y"
        );
    }

    #[test]
    fn urls_without_passwords_are_left_alone() {
        for s in [
            "postgres://app@db/x",
            "http://example.com/a:b@c",
            "sqlite::memory:",
            "plain text",
            "user:pw@host",
            "1://u:p@h",
            "http://u:@h",
        ] {
            assert_eq!(mask_url_password(s), None, "{s}");
        }
    }

    #[test]
    fn redaction_masks_secrets_and_url_passwords_and_keeps_the_rest() {
        let tree = json!({
            "server": { "port": 3000 },
            "database": { "url": "postgres://u:pw@h/db", "password": "pw", "replicas": ["postgres://u:pw2@r1/db"] },
            "auth": { "api_keys": ["k1", "k2"], "secret": { "a": 1 } },
        });
        let Value::Object(map) = tree else {
            unreachable!()
        };
        let redacted = Value::Object(redact(&map));
        assert_eq!(
            redacted,
            json!({
                "server": { "port": 3000 },
                "database": { "url": "postgres://u:********@h/db", "password": MASK, "replicas": ["postgres://u:********@r1/db"] },
                "auth": { "api_keys": [MASK, MASK], "secret": { "a": MASK } },
            })
        );
    }
}
