//! Signing and verification keys: `[[auth.jwt.keys]]` read into a [`KeySet`], each key pinned to
//! its own algorithm.

use std::collections::HashMap;
use std::path::Path;

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use super::config::{JwtConfig, JwtKeyConfig};
use crate::error::AuthError;

/// The shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: a key at least as long as the
/// hash output).
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// The algorithms a key may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyAlgorithm {
    Hs256,
    Es256,
    EdDsa,
    Rs256,
}

impl KeyAlgorithm {
    fn parse(name: &str, key: &str) -> Result<Self, AuthError> {
        match name {
            "HS256" => Ok(KeyAlgorithm::Hs256),
            "ES256" => Ok(KeyAlgorithm::Es256),
            "EdDSA" => Ok(KeyAlgorithm::EdDsa),
            "RS256" if cfg!(feature = "rsa") => Ok(KeyAlgorithm::Rs256),
            "RS256" => Err(config(
                key,
                "is RS256, which this build does not support; hint: turn on the `rsa` feature of \
                 cortex-auth (or `cortex`), or use EdDSA or ES256 (smaller and faster)",
            )),
            other => Err(config(
                key,
                format!(
                    "is {other:?}, which is not an algorithm Cortex signs with; hint: use \
                     \"EdDSA\", \"ES256\", \"HS256\" or (with the `rsa` feature) \"RS256\""
                ),
            )),
        }
    }

    /// The name in a JWT header's `alg`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Hs256 => "HS256",
            KeyAlgorithm::Es256 => "ES256",
            KeyAlgorithm::EdDsa => "EdDSA",
            KeyAlgorithm::Rs256 => "RS256",
        }
    }

    pub(crate) fn jwt(self) -> Algorithm {
        match self {
            KeyAlgorithm::Hs256 => Algorithm::HS256,
            KeyAlgorithm::Es256 => Algorithm::ES256,
            KeyAlgorithm::EdDsa => Algorithm::EdDSA,
            KeyAlgorithm::Rs256 => Algorithm::RS256,
        }
    }
}

/// A key tokens are verified with.
pub(crate) struct VerifyKey {
    pub(crate) algorithm: KeyAlgorithm,
    pub(crate) decoding: DecodingKey,
    /// The validation pinned to this key's algorithm (claims are checked by the service).
    pub(crate) validation: jsonwebtoken::Validation,
    /// The public JWK (asymmetric keys only).
    pub(crate) public: Option<Jwk>,
}

/// The key tokens are signed with.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) algorithm: KeyAlgorithm,
    pub(crate) encoding: EncodingKey,
}

/// Every key of `[auth.jwt]`: one signing key, and the keys tokens are verified with by `kid`
/// (the signing key's included).
pub(crate) struct KeySet {
    pub(crate) signing: SigningKey,
    pub(crate) verify: HashMap<String, VerifyKey>,
}

fn config(key: &str, reason: impl Into<String>) -> AuthError {
    AuthError::Config {
        key: key.to_string(),
        reason: reason.into(),
    }
}

fn pin(algorithm: KeyAlgorithm) -> jsonwebtoken::Validation {
    let mut validation = jsonwebtoken::Validation::new(algorithm.jwt());
    // The service checks every claim itself, against its own clock and with its own failure
    // reasons: the library verifies the signature (with this one algorithm) only.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation
}

impl KeySet {
    /// Reads the keys of `config` (`[auth.jwt] secret` or `[[auth.jwt.keys]]`).
    pub(crate) fn from_config(config: &JwtConfig) -> Result<KeySet, AuthError> {
        let mut keys = Vec::new();
        if let Some(secret) = &config.secret {
            if !config.keys.is_empty() {
                return Err(config_error_both());
            }
            // The lone key signs (`signing` left unset).
            keys.push(JwtKeyConfig {
                kid: "default".to_string(),
                algorithm: "HS256".to_string(),
                secret: Some(secret.clone()),
                ..JwtKeyConfig::default()
            });
            return KeySet::from_keys(&keys, "auth.jwt.secret");
        }
        KeySet::from_keys(&config.keys, "auth.jwt.keys")
    }

    /// A key set with one HS256 key of random bytes (the `dev`/`test` profiles' ephemeral key).
    pub(crate) fn ephemeral() -> Result<KeySet, AuthError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| AuthError::Issue(e.to_string()))?;
        let mut verify = HashMap::new();
        let algorithm = KeyAlgorithm::Hs256;
        verify.insert(
            "ephemeral".to_string(),
            VerifyKey {
                algorithm,
                decoding: DecodingKey::from_secret(&secret)
                    .map_err(|e| AuthError::Issue(e.to_string()))?,
                validation: pin(algorithm),
                public: None,
            },
        );
        Ok(KeySet {
            signing: SigningKey {
                kid: "ephemeral".to_string(),
                algorithm,
                encoding: EncodingKey::from_secret(&secret)
                    .map_err(|e| AuthError::Issue(e.to_string()))?,
            },
            verify,
        })
    }

    fn from_keys(keys: &[JwtKeyConfig], base: &str) -> Result<KeySet, AuthError> {
        if keys.is_empty() {
            return Err(config(
                base,
                "is empty; hint: add `[auth.jwt] secret = \"…\"` (HS256, at least 32 bytes) or \
                 `[[auth.jwt.keys]]` with a kid, an algorithm and a key",
            ));
        }
        let mut verify = HashMap::new();
        let mut signing: Vec<SigningKey> = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            let at = if base == "auth.jwt.secret" {
                "auth.jwt".to_string()
            } else {
                format!("{base}[{index}]")
            };
            if key.kid.trim().is_empty() {
                return Err(config(
                    &format!("{at}.kid"),
                    "is empty; hint: name each key (`kid = \"2026-12\"`)",
                ));
            }
            if verify.contains_key(&key.kid) {
                return Err(config(
                    &format!("{at}.kid"),
                    format!(
                        "{:?} names two keys; hint: give each key its own kid",
                        key.kid
                    ),
                ));
            }
            let algorithm = KeyAlgorithm::parse(&key.algorithm, &format!("{at}.algorithm"))?;
            let (encoding, decoding, public) = read_key(key, algorithm, &at)?;
            let wants_signing = match key.signing {
                Some(signing) => signing,
                None => keys.len() == 1 && encoding.is_some(),
            };
            if wants_signing {
                let Some(encoding) = encoding else {
                    return Err(config(
                        &format!("{at}.signing"),
                        "is true but the key has no private part; hint: give `private_key` \
                         (or `private_key_file`), or make it verify-only (`signing = false`)",
                    ));
                };
                signing.push(SigningKey {
                    kid: key.kid.clone(),
                    algorithm,
                    encoding,
                });
            }
            verify.insert(
                key.kid.clone(),
                VerifyKey {
                    algorithm,
                    decoding,
                    validation: pin(algorithm),
                    public,
                },
            );
        }
        if signing.len() != 1 {
            let kids: Vec<&str> = signing.iter().map(|k| k.kid.as_str()).collect();
            return Err(config(
                base,
                format!(
                    "has {} signing keys{}; hint: mark exactly one key `signing = true` (the \
                     others verify tokens they signed before: that is key rotation)",
                    signing.len(),
                    if kids.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", crate::error::list(&kids))
                    }
                ),
            ));
        }
        Ok(KeySet {
            signing: signing.pop().expect("one signing key"),
            verify,
        })
    }

    /// The JWKS document: every asymmetric verification key's public JWK; `None` when there is
    /// none (only HS256 keys, whose secrets are never published).
    pub(crate) fn jwks(&self) -> Option<JwkSet> {
        let mut keys: Vec<(&String, &Jwk)> = self
            .verify
            .iter()
            .filter_map(|(kid, key)| key.public.as_ref().map(|jwk| (kid, jwk)))
            .collect();
        if keys.is_empty() {
            return None;
        }
        keys.sort_by(|a, b| a.0.cmp(b.0));
        Some(JwkSet {
            keys: keys.into_iter().map(|(_, jwk)| jwk.clone()).collect(),
        })
    }
}

fn config_error_both() -> AuthError {
    config(
        "auth.jwt.secret",
        "is set together with `[[auth.jwt.keys]]`; hint: use one or the other (the short form \
         `secret` is one HS256 key; list it under `[[auth.jwt.keys]]` to rotate keys)",
    )
}

type ReadKey = (Option<EncodingKey>, DecodingKey, Option<Jwk>);

fn pem(
    inline: &Option<String>,
    file: &Option<std::path::PathBuf>,
    key: &str,
) -> Result<Option<Vec<u8>>, AuthError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(config(
            key,
            "is given both inline and as a file; hint: keep one",
        )),
        (Some(pem), None) => Ok(Some(pem.as_bytes().to_vec())),
        (None, Some(path)) => read_file(path, &format!("{key}_file")).map(Some),
        (None, None) => Ok(None),
    }
}

fn read_file(path: &Path, key: &str) -> Result<Vec<u8>, AuthError> {
    std::fs::read(path).map_err(|e| {
        config(
            key,
            format!("names {}, which cannot be read: {e}", path.display()),
        )
    })
}

fn read_key(key: &JwtKeyConfig, algorithm: KeyAlgorithm, at: &str) -> Result<ReadKey, AuthError> {
    let private = pem(
        &key.private_key,
        &key.private_key_file,
        &format!("{at}.private_key"),
    )?;
    let public = pem(
        &key.public_key,
        &key.public_key_file,
        &format!("{at}.public_key"),
    )?;
    if algorithm == KeyAlgorithm::Hs256 {
        if private.is_some() || public.is_some() {
            return Err(config(
                &format!("{at}.private_key"),
                "is given for an HS256 key; hint: HS256 takes a `secret`; PEM keys are for \
                 EdDSA, ES256 and RS256",
            ));
        }
        let Some(secret) = &key.secret else {
            return Err(config(
                &format!("{at}.secret"),
                "is missing: an HS256 key needs a secret of at least 32 bytes; hint: generate \
                 one with `openssl rand -base64 48`",
            ));
        };
        if secret.len() < MIN_SECRET_LEN {
            return Err(config(
                &format!("{at}.secret"),
                format!(
                    "is {} bytes long; an HS256 secret needs at least {MIN_SECRET_LEN}; hint: \
                     generate one with `openssl rand -base64 48`",
                    secret.len()
                ),
            ));
        }
        let bad = |e: jsonwebtoken::errors::Error| {
            config(&format!("{at}.secret"), format!("is unusable: {e}"))
        };
        return Ok((
            Some(EncodingKey::from_secret(secret.as_bytes()).map_err(bad)?),
            DecodingKey::from_secret(secret.as_bytes()).map_err(bad)?,
            None,
        ));
    }
    if key.secret.is_some() {
        return Err(config(
            &format!("{at}.secret"),
            format!(
                "is given for an {} key; hint: asymmetric keys take `private_key` / `public_key` \
                 PEM (a secret is for HS256 only)",
                algorithm.as_str()
            ),
        ));
    }
    let encoding = match &private {
        None => None,
        Some(pem) => Some(
            match algorithm {
                KeyAlgorithm::Es256 => EncodingKey::from_ec_pem(pem),
                KeyAlgorithm::EdDsa => EncodingKey::from_ed_pem(pem),
                KeyAlgorithm::Rs256 => EncodingKey::from_rsa_pem(pem),
                KeyAlgorithm::Hs256 => unreachable!("HS256 handled above"),
            }
            .map_err(|e| {
                config(
                    &format!("{at}.private_key"),
                    format!(
                        "is not a PKCS#8 PEM {} private key: {e}; hint: `openssl genpkey {}`",
                        algorithm.as_str(),
                        genpkey_hint(algorithm)
                    ),
                )
            })?,
        ),
    };
    let from_private = match &encoding {
        None => None,
        Some(encoding) => Some(
            Jwk::from_encoding_key(encoding, algorithm.jwt()).map_err(|e| {
                config(
                    &format!("{at}.private_key"),
                    format!("has no usable public part: {e}"),
                )
            })?,
        ),
    };
    let from_public = match &public {
        None => None,
        Some(pem) => {
            let decoding = match algorithm {
                KeyAlgorithm::Es256 => DecodingKey::from_ec_pem(pem),
                KeyAlgorithm::EdDsa => DecodingKey::from_ed_pem(pem),
                KeyAlgorithm::Rs256 => DecodingKey::from_rsa_pem(pem),
                KeyAlgorithm::Hs256 => unreachable!("HS256 handled above"),
            }
            .and_then(|decoding| Jwk::from_decoding_key(&decoding, Some(algorithm.jwt())))
            .map_err(|e| {
                config(
                    &format!("{at}.public_key"),
                    format!("is not a PEM {} public key: {e}", algorithm.as_str()),
                )
            })?;
            Some(decoding)
        }
    };
    let mut jwk = match (from_private, from_public) {
        (Some(private), Some(public)) => {
            if private.algorithm != public.algorithm {
                return Err(config(
                    &format!("{at}.public_key"),
                    "is not the public half of `private_key`; hint: derive it with `openssl \
                     pkey -in private.pem -pubout`, or leave it out (it is derived)",
                ));
            }
            private
        }
        (Some(jwk), None) | (None, Some(jwk)) => jwk,
        (None, None) => {
            return Err(config(
                &format!("{at}.private_key"),
                format!(
                    "is missing: an {} key needs `private_key` (or `private_key_file`) to sign, \
                     or `public_key` (or `public_key_file`) to verify only",
                    algorithm.as_str()
                ),
            ));
        }
    };
    jwk.common.key_id = Some(key.kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| {
        config(
            &format!("{at}.public_key"),
            format!("cannot verify tokens: {e}"),
        )
    })?;
    Ok((encoding, decoding, Some(jwk)))
}

fn genpkey_hint(algorithm: KeyAlgorithm) -> &'static str {
    match algorithm {
        KeyAlgorithm::EdDsa => "-algorithm ed25519",
        KeyAlgorithm::Es256 => "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
        _ => "-algorithm RSA -pkeyopt rsa_keygen_bits:3072",
    }
}
