//! The cookie's value: the session id encrypted and authenticated (XChaCha20-Poly1305, the
//! cookie's name as associated data), under the first of the configured keys; any of them opens.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use cortex_core::config::Profile;

use crate::error::{AuthError, AuthFailure};
use crate::session::SessionConfig;

/// A session id's length in bytes.
pub(crate) const ID_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// The decoded cookie's length: nonce, encrypted id, tag.
const SEALED_LEN: usize = NONCE_LEN + ID_LEN + TAG_LEN;

/// `N` bytes from the OS.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(bytes)
}

/// The session keys: the first seals, each opens.
#[derive(Clone)]
pub(crate) struct Keys {
    ciphers: Vec<XChaCha20Poly1305>,
}

impl Keys {
    /// From `[auth.sessions] secret_keys`; in `dev` and `test` without keys, a key generated for
    /// this process (with a warning); elsewhere, missing keys are an error naming the key.
    pub(crate) fn from_config(
        config: &SessionConfig,
        profile: &Profile,
    ) -> Result<Keys, AuthError> {
        if config.secret_keys.is_empty() {
            if profile.is_dev() || profile.is_test() {
                tracing::warn!(
                    target: "cortex::auth",
                    profile = profile.as_str(),
                    "`auth.sessions.secret_keys` is not set: sessions use a key generated for this process (they end when it stops); set it outside dev and test"
                );
                let key = random::<32>().map_err(|e| AuthError::Config {
                    key: "auth.sessions.secret_keys".into(),
                    reason: format!(
                        "is not set, and the OS gave no random bytes to make one ({e})"
                    ),
                })?;
                return Ok(Keys::from_bytes(&[key]));
            }
            return Err(AuthError::Config {
                key: "auth.sessions.secret_keys".into(),
                reason: format!(
                    "is required in the `{}` profile; hint: `openssl rand -base64 32`, then `secret_keys = [\"<the output>\"]` (or CORTEX_AUTH__SESSIONS__SECRET_KEYS)",
                    profile.as_str()
                ),
            });
        }
        let mut keys = Vec::with_capacity(config.secret_keys.len());
        for (index, text) in config.secret_keys.iter().enumerate() {
            let text = text.trim();
            let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok());
            match bytes.map(<[u8; 32]>::try_from) {
                Some(Ok(key)) => keys.push(key),
                Some(Err(bytes)) => {
                    return Err(AuthError::Config {
                        key: format!("auth.sessions.secret_keys[{index}]"),
                        reason: format!(
                            "is {} bytes, not 32; hint: `openssl rand -base64 32`",
                            bytes.len()
                        ),
                    });
                }
                None => {
                    return Err(AuthError::Config {
                        key: format!("auth.sessions.secret_keys[{index}]"),
                        reason: "is not base64; hint: `openssl rand -base64 32`".into(),
                    });
                }
            }
        }
        Ok(Keys::from_bytes(&keys))
    }

    fn from_bytes(keys: &[[u8; 32]]) -> Keys {
        Keys {
            ciphers: keys
                .iter()
                .map(|key| XChaCha20Poly1305::new(Key::from_slice(key)))
                .collect(),
        }
    }

    /// The cookie value for `id` under the first key, bound to the cookie's `name`.
    pub(crate) fn seal(&self, name: &str, id: &[u8; ID_LEN]) -> Result<String, AuthError> {
        let nonce = random::<NONCE_LEN>().map_err(|e| AuthError::Issue(e.to_string()))?;
        let sealed = self.ciphers[0]
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: id,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| AuthError::Issue("the session cookie could not be sealed".into()))?;
        let mut out = Vec::with_capacity(SEALED_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// The id in a cookie value, and the index of the key that opened it.
    pub(crate) fn open(
        &self,
        name: &str,
        value: &str,
    ) -> Result<([u8; ID_LEN], usize), AuthFailure> {
        let bytes = URL_SAFE_NO_PAD
            .decode(value.trim_matches('"'))
            .map_err(|_| AuthFailure::Malformed("the session cookie is not base64url"))?;
        if bytes.len() != SEALED_LEN {
            return Err(AuthFailure::Malformed(
                "the session cookie has the wrong length",
            ));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        for (index, cipher) in self.ciphers.iter().enumerate() {
            let payload = Payload {
                msg: sealed,
                aad: name.as_bytes(),
            };
            if let Ok(id) = cipher.decrypt(XNonce::from_slice(nonce), payload) {
                let id = <[u8; ID_LEN]>::try_from(id.as_slice())
                    .map_err(|_| AuthFailure::Malformed("the session id has the wrong length"))?;
                return Ok((id, index));
            }
        }
        Err(AuthFailure::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> Result<Keys, AuthError> {
        let config = SessionConfig {
            secret_keys: list.iter().map(|s| s.to_string()).collect(),
            ..SessionConfig::default()
        };
        Keys::from_config(&config, &Profile::PROD)
    }

    const A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=";

    #[test]
    fn seals_and_opens_bound_to_the_name() {
        let keys = keys(&[A]).unwrap();
        let id = [7u8; ID_LEN];
        let value = keys.seal("session", &id).unwrap();
        assert_eq!(keys.open("session", &value).unwrap(), (id, 0));
        assert!(matches!(
            keys.open("other", &value),
            Err(AuthFailure::Signature)
        ));
    }

    #[test]
    fn the_old_key_opens_while_listed() {
        let old = keys(&[A]).unwrap();
        let value = old.seal("s", &[1; ID_LEN]).unwrap();
        assert_eq!(keys(&[B, A]).unwrap().open("s", &value).unwrap().1, 1);
        assert!(matches!(
            keys(&[B]).unwrap().open("s", &value),
            Err(AuthFailure::Signature)
        ));
    }

    #[test]
    fn bad_keys_are_named() {
        let error = keys(&[A, "c2hvcnQ="]).err().unwrap().to_string();
        assert!(
            error.starts_with("`auth.sessions.secret_keys[1]` is 5 bytes"),
            "{error}"
        );
        let error = keys(&["!!"]).err().unwrap().to_string();
        assert!(error.contains("[0]` is not base64"), "{error}");
        let error = keys(&[]).err().unwrap().to_string();
        assert!(
            error.contains("is required in the `prod` profile"),
            "{error}"
        );
        assert!(Keys::from_config(&SessionConfig::default(), &Profile::TEST).is_ok());
    }

    #[test]
    fn garbage_is_malformed() {
        let keys = keys(&[A]).unwrap();
        assert!(matches!(
            keys.open("s", "%%%"),
            Err(AuthFailure::Malformed(_))
        ));
        assert!(matches!(
            keys.open("s", "AAAA"),
            Err(AuthFailure::Malformed(_))
        ));
    }
}
