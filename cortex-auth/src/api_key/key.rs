//! The key itself: `<prefix>_<id>_<secret>`, generated from the OS's randomness, parsed, and the
//! secret's digest compared in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{AuthError, AuthFailure};

/// The lookup id's length, in base62 characters (about 71 bits: collisions are not a concern).
pub(crate) const ID_LEN: usize = 12;
/// The secret's length, in base62 characters: 43 characters hold 256 bits.
pub(crate) const SECRET_LEN: usize = 43;
/// The longest prefix accepted.
pub(crate) const PREFIX_MAX: usize = 32;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` base62 characters, each uniform (bytes of 248 and above are drawn again, so that `% 62`
/// has no bias).
pub(crate) fn random_base62(len: usize) -> Result<String, AuthError> {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf)
            .map_err(|e| AuthError::Issue(format!("the OS gave no randomness: {e}")))?;
        for &b in &buf {
            if b < 248 && out.len() < len {
                out.push(BASE62[usize::from(b % 62)] as char);
            }
        }
    }
    Ok(out)
}

fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether `prefix` is usable: 1 to 32 characters, lowercase ASCII letters, digits and `_`,
/// starting with a letter and not ending with `_`. `None` when it is, else what is wrong.
pub(crate) fn prefix_problem(prefix: &str) -> Option<String> {
    if prefix.is_empty() {
        return Some("is empty".into());
    }
    if prefix.len() > PREFIX_MAX {
        return Some(format!("is longer than {PREFIX_MAX} characters"));
    }
    if !prefix.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Some(format!("(`{prefix}`) must start with a lowercase letter"));
    }
    if prefix.ends_with('_') {
        return Some(format!("(`{prefix}`) must not end with `_`"));
    }
    if let Some(c) = prefix
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Some(format!(
            "(`{prefix}`) holds `{c}`: only lowercase letters, digits and `_` are allowed"
        ));
    }
    None
}

/// SHA-256 of the secret: what the stores keep.
pub(crate) fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `secret` hashes to `stored`, compared in constant time.
pub(crate) fn matches(secret: &str, stored: &[u8; 32]) -> bool {
    digest(secret).ct_eq(stored).into()
}

/// Lowercase hex.
#[cfg_attr(not(any(feature = "database", feature = "redis")), allow(dead_code))]
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// The 32 bytes of 64 hex digits.
#[cfg_attr(not(any(feature = "database", feature = "redis")), allow(dead_code))]
pub(crate) fn unhex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        out[i] = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(out)
}

/// A presented key, split: its lookup id and its secret.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    pub(crate) id: &'a str,
    pub(crate) secret: &'a str,
}

/// Splits `<prefix>_<id>_<secret>`; a key of another prefix, or with an id or secret of the
/// wrong length or alphabet, is malformed.
pub(crate) fn parse<'a>(prefix: &str, presented: &'a str) -> Result<Parsed<'a>, AuthFailure> {
    let rest = presented
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
        .ok_or(AuthFailure::Malformed(
            "the API key does not start with this app's prefix",
        ))?;
    let (id, secret) = rest
        .split_once('_')
        .ok_or(AuthFailure::Malformed("the API key has no secret part"))?;
    if id.len() != ID_LEN || !is_base62(id) {
        return Err(AuthFailure::Malformed(
            "the API key's id is not 12 base62 characters",
        ));
    }
    if secret.len() != SECRET_LEN || !is_base62(secret) {
        return Err(AuthFailure::Malformed(
            "the API key's secret is not 43 base62 characters",
        ));
    }
    Ok(Parsed { id, secret })
}

/// Whether `id` looks like a key id (for `revoke`, before asking a store).
pub(crate) fn is_id(id: &str) -> bool {
    id.len() == ID_LEN && is_base62(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_strings_are_base62_of_the_length_asked() {
        let a = random_base62(SECRET_LEN).unwrap();
        let b = random_base62(SECRET_LEN).unwrap();
        assert_eq!(a.len(), SECRET_LEN);
        assert!(is_base62(&a));
        assert_ne!(a, b);
        assert_eq!(random_base62(200).unwrap().len(), 200);
    }

    #[test]
    fn prefixes_are_checked() {
        assert_eq!(prefix_problem("ck_live"), None);
        assert_eq!(prefix_problem("a1"), None);
        assert_eq!(prefix_problem("").unwrap(), "is empty");
        assert!(
            prefix_problem("Ck")
                .unwrap()
                .contains("must start with a lowercase letter")
        );
        assert!(
            prefix_problem("ck_")
                .unwrap()
                .contains("must not end with `_`")
        );
        assert!(prefix_problem("ck-live").unwrap().contains("holds `-`"));
        assert!(
            prefix_problem(&"a".repeat(33))
                .unwrap()
                .contains("longer than 32")
        );
    }

    #[test]
    fn keys_parse_with_a_prefix_holding_underscores() {
        let key = format!("ck_live_{}_{}", "a".repeat(12), "B".repeat(43));
        let parsed = parse("ck_live", &key).unwrap();
        assert_eq!(parsed.id, "a".repeat(12));
        assert_eq!(parsed.secret, "B".repeat(43));
        assert!(parse("ck_test", &key).is_err());
        assert!(parse("ck", &key).is_err());
    }

    #[test]
    fn hex_round_trips() {
        let d = digest("secret");
        assert_eq!(unhex(&hex(&d)), Some(d));
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex(&"g".repeat(64)), None);
        assert!(matches("secret", &d));
        assert!(!matches("secreT", &d));
    }

    #[test]
    fn a_key_of_the_wrong_shape_is_malformed() {
        let id = "a".repeat(ID_LEN);
        let secret = "B".repeat(SECRET_LEN);
        let shape = |id: &str, secret: &str| parse("ck", &format!("ck_{id}_{secret}")).map(|_| ());
        assert!(shape(&id, &secret).is_ok());
        for (bad_id, bad_secret, says) in [
            ("a".repeat(ID_LEN - 1), secret.clone(), "id is not 12"),
            ("a".repeat(ID_LEN + 1), secret.clone(), "id is not 12"),
            (
                format!("{}-", "a".repeat(ID_LEN - 1)),
                secret.clone(),
                "id is not 12",
            ),
            (id.clone(), "B".repeat(SECRET_LEN - 1), "secret is not 43"),
            (id.clone(), "B".repeat(SECRET_LEN + 1), "secret is not 43"),
            (
                id.clone(),
                format!("{}+", "B".repeat(SECRET_LEN - 1)),
                "secret is not 43",
            ),
        ] {
            let failure = shape(&bad_id, &bad_secret).unwrap_err();
            assert!(
                failure.to_string().contains(says),
                "{bad_id} {bad_secret}: {failure}"
            );
        }
        let failure = parse("ck", &format!("ck_{id}")).unwrap_err();
        assert!(failure.to_string().contains("no secret part"), "{failure}");
        assert!(is_id(&id));
        assert!(!is_id(&"a".repeat(ID_LEN - 1)) && !is_id(&format!("{}-", "a".repeat(ID_LEN - 1))));
    }

    #[test]
    fn every_base62_character_is_drawn() {
        // 2000 uniform draws miss one of 62 characters with a probability below 1e-12.
        let drawn: std::collections::BTreeSet<char> =
            random_base62(2000).unwrap().chars().collect();
        assert_eq!(drawn.len(), 62, "{drawn:?}");
    }
}
