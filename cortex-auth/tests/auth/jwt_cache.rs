//! The cache of verified tokens inside `Jwt`: a repeated token skips the signature check, but a
//! token that differs by one byte never hits, and a cached token's `exp` / `nbf` are checked on
//! every use.

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cortex_auth::{AuthFailure, CurrentUser, Jwt, JwtConfig, JwtKeyConfig};
use serde_json::Map;

use crate::support::Logs;

fn hs256(secret: &str) -> Jwt {
    let mut config = JwtConfig::default();
    config.secret = Some(secret.into());
    Jwt::new(&config).unwrap()
}

fn eddsa() -> Jwt {
    let mut config = JwtConfig::default();
    let mut key = JwtKeyConfig::default();
    key.kid = "ed".into();
    key.algorithm = "EdDSA".into();
    key.private_key_file =
        Some(format!("{}/tests/auth/keys/ed25519.pem", env!("CARGO_MANIFEST_DIR")).into());
    config.keys = vec![key];
    Jwt::new(&config).unwrap()
}

fn admin() -> CurrentUser {
    CurrentUser::builder("ada").roles(["admin"]).build()
}

/// Asserts the refusal's code and its log line.
fn refused(result: Result<CurrentUser, AuthFailure>, logs: &Logs, code: &str) {
    let failure = result.expect_err("the token must be refused");
    assert_eq!(failure.code(), code, "{failure}");
    assert!(
        logs.has_line(&[
            "cortex::auth",
            "access token refused",
            &format!("reason=\"{code}\"")
        ]),
        "no log line for {code}: {}",
        logs.text()
    );
}

/// Every one-part change of a verified token: a forged payload (more roles, another user), a
/// flipped signature byte, a header naming another algorithm, and the parts swapped.
fn tampered(token: &str) -> Vec<(String, &'static str)> {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["roles"] = serde_json::json!(["admin", "root"]);
    payload["sub"] = serde_json::json!("eve");
    let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[0] ^= 1;
    let flipped = URL_SAFE_NO_PAD.encode(signature);
    let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    vec![
        (format!("{}.{forged}.{}", parts[0], parts[2]), "signature"),
        (format!("{}.{}.{flipped}", parts[0], parts[1]), "signature"),
        (format!("{none}.{}.", parts[1]), "algorithm"),
        (format!("{none}.{}.{}", parts[1], parts[2]), "algorithm"),
    ]
}

#[tokio::test]
async fn a_tampered_token_never_hits_the_cache_of_its_verified_original() {
    for jwt in [hs256("a secret of at least thirty-two bytes"), eddsa()] {
        let (logs, _guard) = Logs::capture();
        let token = jwt.issue(&admin()).unwrap().token;
        // Verified, then served from the cache.
        for _ in 0..3 {
            assert_eq!(jwt.verify(&token).unwrap().id(), "ada");
        }
        for (forged, code) in tampered(&token) {
            refused(jwt.verify(&forged), &logs, code);
            // Refused again: a refusal is not cached as a success either.
            refused(jwt.verify(&forged), &logs, code);
        }
        // The original still passes, with its own claims.
        let user = jwt.verify(&token).unwrap();
        assert_eq!(user.id(), "ada");
        assert!(!user.has_role("root"));
    }
}

#[tokio::test]
async fn a_cached_token_is_refused_once_expired_and_before_its_nbf() {
    for jwt in [hs256("a secret of at least thirty-two bytes"), eddsa()] {
        let (logs, _guard) = Logs::capture();
        let issued = SystemTime::now();
        let token = jwt.issue_at(&admin(), Map::new(), issued).unwrap().token;
        assert_eq!(jwt.verify_at(&token, issued).unwrap().id(), "ada");
        // Default access_ttl 15 min, leeway 30 s: still valid at 15 min 30 s (the same second),
        // and 30 s before `nbf`.
        let last = issued + Duration::from_secs(15 * 60 + 30);
        assert!(jwt.verify_at(&token, last).is_ok());
        let first = issued - Duration::from_secs(30);
        assert!(jwt.verify_at(&token, first).is_ok());
        let expired = issued + Duration::from_secs(15 * 60 + 31);
        refused(jwt.verify_at(&token, expired), &logs, "expired");
        refused(jwt.verify_at(&token, expired), &logs, "expired");
        let early = issued - Duration::from_secs(31);
        refused(jwt.verify_at(&token, early), &logs, "not_yet_valid");
        // Refusals leave the cache as it was.
        assert!(jwt.verify_at(&token, issued).is_ok());
    }
}

#[tokio::test]
async fn a_token_verified_under_one_key_set_is_refused_under_another() {
    // Keys are fixed for a process: a rotated-out key is a restart with a new `Jwt`, whose cache
    // starts empty.
    let (logs, _guard) = Logs::capture();
    let before = hs256("the secret before the rotation, 32 bytes or more");
    let token = before.issue(&admin()).unwrap().token;
    assert!(before.verify(&token).is_ok());
    let after = hs256("the secret after the rotation, 32 bytes or more!");
    refused(after.verify(&token), &logs, "signature");
    // Clones share the cache (the container's singleton and the authenticator's copy).
    assert!(before.clone().verify(&token).is_ok());
}
