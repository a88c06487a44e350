//! [`Jwt`]: issues access tokens and verifies them.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::cache::{self, Verified, VerifiedTokens};
use super::config::{JwtConfig, MAX_LEEWAY};
use super::keys::KeySet;
use crate::error::{AuthError, AuthFailure};
use crate::user::{AuthMethod, CurrentUser};

/// The longest token accepted, in bytes: anything longer is refused before it is parsed.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The claims [`Jwt::issue_with`] sets itself: extra claims may not use these names.
const RESERVED: [&str; 9] = [
    "sub",
    "iat",
    "nbf",
    "exp",
    "iss",
    "aud",
    "jti",
    "roles",
    "permissions",
];

/// An issued access token.
///
/// ```
/// # use cortex_auth::{CurrentUser, Jwt, JwtConfig};
/// # let mut config = JwtConfig::default();
/// # config.secret = Some("a secret of at least thirty-two bytes".into());
/// let jwt = Jwt::new(&config)?;
/// let token = jwt.issue(&CurrentUser::builder("42").build())?;
/// assert_eq!(token.kid, "default");
/// assert_eq!(token.token.split('.').count(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessToken {
    /// The compact JWT, for `Authorization: Bearer <token>`.
    pub token: String,
    /// When it expires.
    pub expires_at: SystemTime,
    /// The key it was signed with.
    pub kid: String,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a credential: not printed.
        f.debug_struct("AccessToken")
            .field("expires_at", &self.expires_at)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

struct Inner {
    keys: KeySet,
    issuer: String,
    audience: String,
    access_ttl: Duration,
    leeway: u64,
    jwks: Option<String>,
    /// The tokens verified so far, by the SHA-256 of their bytes.
    verified: VerifiedTokens,
}

/// JWT access tokens: issued with [`issue`](Self::issue) and checked with
/// [`verify`](Self::verify). A singleton of the app's container when `[auth.jwt]` is on (inject
/// it: `Inject<Jwt>`); cheap to clone.
///
/// Verification pins each key's algorithm: the token's `kid` picks the key, and a token whose
/// `alg` is not that key's algorithm is refused (`alg: none`, or HS256 "signed" with a public
/// key: key confusion). Then `exp`, `nbf` (with the leeway), `iss`, `aud` and `sub` are checked.
/// Every refusal is an [`AuthFailure`] and is logged (target `cortex::auth`, with its `reason`
/// code); its details never reach the client.
///
/// A token verified once is remembered, so that a client sending the same token on every
/// request pays the signature check once (an EdDSA check costs several times a whole request):
/// up to 10,000 tokens per `Jwt` (its clones share them), keyed by the SHA-256 of the token's
/// exact bytes (a token that differs by one byte is verified in full), the oldest evicted first.
/// On every use, the cached token's `exp` and `nbf` are checked again against the clock; the
/// keys do not change while the process runs, so nothing else could change the answer.
///
/// ```
/// use cortex_auth::{AuthFailure, CurrentUser, Jwt, JwtConfig};
///
/// let mut config = JwtConfig::default();
/// config.secret = Some("a secret of at least thirty-two bytes".into());
/// let jwt = Jwt::new(&config)?;
/// let user = CurrentUser::builder("42").roles(["editor"]).build();
/// let token = jwt.issue(&user)?;
/// let back = jwt.verify(&token.token)?;
/// assert_eq!(back.id(), "42");
/// assert!(back.has_role("editor"));
/// assert!(matches!(jwt.verify("not a token"), Err(AuthFailure::Malformed(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Jwt(Arc<Inner>);

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt")
            .field("issuer", &self.0.issuer)
            .field("audience", &self.0.audience)
            .field("signing_kid", &self.0.keys.signing.kid)
            .finish_non_exhaustive()
    }
}

/// A token's header, read before any key is chosen.
#[derive(Deserialize)]
struct Header {
    alg: Option<Value>,
    kid: Option<Value>,
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Jwt {
    /// The service for `config`, whose keys must be configured (`secret` or `keys`).
    ///
    /// ```
    /// use cortex_auth::{Jwt, JwtConfig};
    ///
    /// let mut config = JwtConfig::default();
    /// config.secret = Some("too short".into());
    /// let err = Jwt::new(&config).unwrap_err();
    /// assert!(err.to_string().starts_with("`auth.jwt.secret` is 9 bytes long"), "{err}");
    /// ```
    pub fn new(config: &JwtConfig) -> Result<Jwt, AuthError> {
        Jwt::with_keys(config, KeySet::from_config(config)?)
    }

    /// The service with a random HS256 key that lives as long as the process (`dev`/`test`).
    pub(crate) fn ephemeral(config: &JwtConfig) -> Result<Jwt, AuthError> {
        Jwt::with_keys(config, KeySet::ephemeral()?)
    }

    fn with_keys(config: &JwtConfig, keys: KeySet) -> Result<Jwt, AuthError> {
        check_settings(config)?;
        let jwks = keys
            .jwks()
            .map(|set| serde_json::to_string(&set).map_err(|e| AuthError::Issue(e.to_string())))
            .transpose()?;
        Ok(Jwt(Arc::new(Inner {
            issuer: config.issuer.clone(),
            audience: config.audience().to_string(),
            access_ttl: config.access_ttl,
            leeway: config.leeway.as_secs(),
            jwks,
            keys,
            verified: VerifiedTokens::new(cache::CAPACITY),
        })))
    }

    /// The key id new tokens are signed with.
    pub fn signing_kid(&self) -> &str {
        &self.0.keys.signing.kid
    }

    /// The JWKS document (`{"keys": [...]}`) of the asymmetric verification keys, as served on
    /// `/.well-known/jwks.json`; `None` when every key is HS256.
    pub fn jwks_json(&self) -> Option<&str> {
        self.0.jwks.as_deref()
    }

    /// Issues an access token for `user`: `sub`, `iat`, `nbf`, `exp` (now + `access_ttl`), `iss`,
    /// `aud`, a random `jti`, `roles` and `permissions`.
    pub fn issue(&self, user: &CurrentUser) -> Result<AccessToken, AuthError> {
        self.issue_at(user, Map::new(), SystemTime::now())
    }

    /// [`issue`](Self::issue) with claims of the app's own (a name, a tenant). A name the token
    /// sets itself (`sub`, `exp`, `roles`, …) is an [`AuthError::Issue`].
    ///
    /// ```
    /// # use cortex_auth::{CurrentUser, Jwt, JwtConfig};
    /// # let mut config = JwtConfig::default();
    /// # config.secret = Some("a secret of at least thirty-two bytes".into());
    /// # let jwt = Jwt::new(&config)?;
    /// let mut extra = serde_json::Map::new();
    /// extra.insert("tenant".into(), "acme".into());
    /// let token = jwt.issue_with(&CurrentUser::builder("42").build(), extra)?;
    /// let user = jwt.verify(&token.token)?;
    /// assert_eq!(user.claim("tenant").and_then(|v| v.as_str()), Some("acme"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn issue_with(
        &self,
        user: &CurrentUser,
        extra: Map<String, Value>,
    ) -> Result<AccessToken, AuthError> {
        self.issue_at(user, extra, SystemTime::now())
    }

    /// [`issue_with`](Self::issue_with) as if the time were `now` (tests, and tokens
    /// back-dated on purpose).
    pub fn issue_at(
        &self,
        user: &CurrentUser,
        extra: Map<String, Value>,
        now: SystemTime,
    ) -> Result<AccessToken, AuthError> {
        if let Some(name) = extra.keys().find(|name| RESERVED.contains(&name.as_str())) {
            return Err(AuthError::Issue(format!(
                "the claim `{name}` is set by the token itself and cannot be given as an extra claim"
            )));
        }
        let iat = seconds(now);
        let exp = iat + self.0.access_ttl.as_secs().max(1);
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|e| AuthError::Issue(e.to_string()))?;
        let mut claims = extra;
        claims.insert("sub".into(), user.id().into());
        claims.insert("iat".into(), iat.into());
        claims.insert("nbf".into(), iat.into());
        claims.insert("exp".into(), exp.into());
        claims.insert("iss".into(), self.0.issuer.clone().into());
        claims.insert("aud".into(), self.0.audience.clone().into());
        claims.insert("jti".into(), URL_SAFE_NO_PAD.encode(jti).into());
        claims.insert("roles".into(), user.roles().collect::<Vec<_>>().into());
        claims.insert(
            "permissions".into(),
            user.permissions().collect::<Vec<_>>().into(),
        );
        let signing = &self.0.keys.signing;
        let mut header = jsonwebtoken::Header::new(signing.algorithm.jwt());
        header.kid = Some(signing.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &signing.encoding)
            .map_err(|e| AuthError::Issue(e.to_string()))?;
        Ok(AccessToken {
            token,
            expires_at: UNIX_EPOCH + Duration::from_secs(exp),
            kid: signing.kid.clone(),
        })
    }

    /// Verifies `token` and returns its user (method [`AuthMethod::Bearer`], credential id the
    /// `jti`). A refusal is logged (target `cortex::auth`, `reason` = [`AuthFailure::code`]).
    pub fn verify(&self, token: &str) -> Result<CurrentUser, AuthFailure> {
        self.verify_at(token, SystemTime::now())
    }

    /// [`verify`](Self::verify) as if the time were `now`.
    pub fn verify_at(&self, token: &str, now: SystemTime) -> Result<CurrentUser, AuthFailure> {
        let result = self.check(token, now);
        if let Err(failure) = &result {
            tracing::info!(
                target: "cortex::auth",
                mechanism = "bearer",
                reason = failure.code(),
                "access token refused: {failure}"
            );
        }
        result
    }

    /// [`verify`](Self::verify) without the log line (the rate limiter's principal resolver:
    /// the authenticator logs the same token's refusal).
    pub(crate) fn verify_quiet(&self, token: &str) -> Result<CurrentUser, AuthFailure> {
        self.check(token, SystemTime::now())
    }

    /// A token verified before (the same bytes) is not verified again: its time claims are.
    fn check(&self, token: &str, now: SystemTime) -> Result<CurrentUser, AuthFailure> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthFailure::Malformed("the token is longer than 8 KiB"));
        }
        let key = cache::key(token);
        if let Some(known) = self.0.verified.get(&key) {
            self.check_time(known.exp, known.nbf, seconds(now))?;
            return Ok(known.user);
        }
        let verified = self.verify_token(token, now)?;
        let user = verified.user.clone();
        self.0.verified.insert(key, verified);
        Ok(user)
    }

    /// The full verification: header, key, signature, claims.
    fn verify_token(&self, token: &str, now: SystemTime) -> Result<Verified, AuthFailure> {
        let header = token
            .split('.')
            .next()
            .filter(|_| token.split('.').count() == 3)
            .ok_or(AuthFailure::Malformed(
                "not a JWT (three dot-separated parts)",
            ))?;
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| AuthFailure::Malformed("the JWT header is not base64url"))?;
        let header: Header = serde_json::from_slice(&header)
            .map_err(|_| AuthFailure::Malformed("the JWT header is not a JSON object"))?;
        let alg = match header.alg {
            Some(Value::String(alg)) => alg,
            _ => return Err(AuthFailure::Malformed("the JWT header has no `alg`")),
        };
        let key = match header.kid {
            Some(Value::String(kid)) => self.0.keys.verify.get(&kid),
            Some(_) => {
                return Err(AuthFailure::Malformed(
                    "the JWT header's `kid` is not a string",
                ));
            }
            // Without a kid: only when there is one key to try.
            None if self.0.keys.verify.len() == 1 => self.0.keys.verify.values().next(),
            None => None,
        };
        let Some(key) = key else {
            // `alg: none` is refused whatever the kid says.
            if alg.eq_ignore_ascii_case("none") {
                return Err(AuthFailure::Algorithm(alg));
            }
            return Err(AuthFailure::UnknownKey);
        };
        if alg != key.algorithm.as_str() {
            return Err(AuthFailure::Algorithm(alg));
        }
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &key.validation)
                // (No `InvalidAlgorithm` here: `alg` was compared with the key's just above.)
                .map_err(|e| match e.kind() {
                    ErrorKind::InvalidSignature => AuthFailure::Signature,
                    ErrorKind::Base64(_) => AuthFailure::Malformed("a JWT part is not base64url"),
                    ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                        AuthFailure::Malformed("the JWT claims are not a JSON object")
                    }
                    ErrorKind::InvalidEcdsaKey
                    | ErrorKind::InvalidEddsaKey
                    | ErrorKind::InvalidRsaKey(_) => AuthFailure::Signature,
                    _ => AuthFailure::Malformed("not a JWT"),
                })?;
        let claims = data.claims;
        let now = seconds(now);
        let exp = numeric(claims.get("exp"), "exp")?.ok_or(AuthFailure::MissingClaim("exp"))?;
        let nbf = numeric(claims.get("nbf"), "nbf")?;
        self.check_time(exp, nbf, now)?;
        match claims.get("iss") {
            Some(Value::String(iss)) if *iss == self.0.issuer => {}
            None => return Err(AuthFailure::MissingClaim("iss")),
            Some(_) => return Err(AuthFailure::Issuer),
        }
        let audience = self.0.audience.as_str();
        match claims.get("aud") {
            Some(Value::String(aud)) if aud == audience => {}
            Some(Value::Array(auds)) if auds.iter().any(|a| a.as_str() == Some(audience)) => {}
            None => return Err(AuthFailure::MissingClaim("aud")),
            Some(_) => return Err(AuthFailure::Audience),
        }
        let sub = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            _ => return Err(AuthFailure::MissingClaim("sub")),
        };
        let mut user = CurrentUser::builder(sub)
            .method(AuthMethod::Bearer)
            .roles(strings(claims.get("roles"), "roles")?)
            .permissions(strings(claims.get("permissions"), "permissions")?);
        if let Some(Value::String(jti)) = claims.get("jti") {
            user = user.credential_id(jti.clone());
        }
        Ok(Verified {
            user: user.claims(claims).build(),
            exp,
            nbf,
        })
    }

    /// Refuses a token past its `exp` or before its `nbf` at `now`, with the leeway.
    fn check_time(&self, exp: u64, nbf: Option<u64>, now: u64) -> Result<(), AuthFailure> {
        let leeway = self.0.leeway;
        if exp.saturating_add(leeway) < now {
            return Err(AuthFailure::Expired);
        }
        if let Some(nbf) = nbf
            && now.saturating_add(leeway) < nbf
        {
            return Err(AuthFailure::NotYetValid);
        }
        Ok(())
    }
}

/// Checks the settings that hold whatever the keys (`leeway`, `issuer`, `audience`).
pub(crate) fn check_settings(config: &JwtConfig) -> Result<(), AuthError> {
    if config.leeway > MAX_LEEWAY {
        return Err(AuthError::Config {
            key: "auth.jwt.leeway".into(),
            reason: format!(
                "is {}, more than the 5 minutes allowed; hint: a leeway covers clock skew \
                 (seconds), not token lifetime (`access_ttl`)",
                humantime::format_duration(config.leeway)
            ),
        });
    }
    if config.issuer.is_empty() || config.audience().is_empty() {
        return Err(AuthError::Config {
            key: if config.issuer.is_empty() {
                "auth.jwt.issuer".into()
            } else {
                "auth.jwt.audience".into()
            },
            reason: "is empty; hint: name the app (`issuer = \"https://api.example\"`)".into(),
        });
    }
    Ok(())
}

/// A NumericDate claim: whole seconds (fractions are truncated).
fn numeric(value: Option<&Value>, name: &'static str) -> Result<Option<u64>, AuthFailure> {
    match value {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or(AuthFailure::MissingClaim(name)),
        Some(_) => Err(AuthFailure::MissingClaim(name)),
    }
}

/// A list of strings claim (`roles`, `permissions`); absent is empty.
fn strings(value: Option<&Value>, name: &'static str) -> Result<Vec<String>, AuthFailure> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(AuthFailure::MissingClaim(name)),
            })
            .collect(),
        Some(_) => Err(AuthFailure::MissingClaim(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_tokens_are_cached_once_and_refused_ones_never() {
        let config = JwtConfig {
            secret: Some("a secret of at least thirty-two bytes".into()),
            ..JwtConfig::default()
        };
        let jwt = Jwt::new(&config).unwrap();
        let token = jwt
            .issue(&CurrentUser::builder("42").build())
            .unwrap()
            .token;
        assert_eq!(jwt.0.verified.len(), 0);
        jwt.verify(&token).unwrap();
        jwt.verify(&token).unwrap();
        assert_eq!(jwt.0.verified.len(), 1);
        let later = SystemTime::now() + Duration::from_secs(3600);
        assert!(matches!(
            jwt.verify_at(&token, later),
            Err(AuthFailure::Expired)
        ));
        let tampered = format!("{token}x");
        assert!(jwt.verify(&tampered).is_err());
        assert_eq!(jwt.0.verified.len(), 1);
    }
}
