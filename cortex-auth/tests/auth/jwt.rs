//! JWT access tokens: the attacks first (each asserting the refusal and its log line), then keys,
//! rotation, JWKS and the user-keyed rate limit, through a real app.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cortex_auth::{AuthFailure, AuthPlugin, CurrentUser, Jwt};
use cortex_core::App;
use cortex_core::axum::{Router, routing::get};
use cortex_core::config::{Config, Profile};
use cortex_core::testing::TestApp;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::Logs;

const SECRET: &str = "an HS256 secret of at least 32 bytes, for tests";

fn key_path(name: &str) -> String {
    format!("{}/tests/auth/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn key_pem(name: &str) -> Vec<u8> {
    std::fs::read(key_path(name)).unwrap()
}

/// Keys: `hs` (HS256, signing), `ed` (EdDSA, verify-only), `ec` (ES256, verify-only).
fn keys_toml() -> String {
    format!(
        r#"
[auth.jwt]
issuer = "https://api.test"
audience = "api"
[[auth.jwt.keys]]
kid = "hs"
algorithm = "HS256"
secret = "{SECRET}"
signing = true
[[auth.jwt.keys]]
kid = "ed"
algorithm = "EdDSA"
public_key_file = "{}"
[[auth.jwt.keys]]
kid = "ec"
algorithm = "ES256"
public_key_file = "{}"
"#,
        key_path("ed25519.pub.pem"),
        key_path("p256.pub.pem"),
    )
}

fn config(profile: Profile, toml: &str) -> Config {
    Config::builder()
        .dir(key_path(""))
        .profile(profile)
        .defaults(toml)
        .env_vars::<_, &str, &str>([])
        .load()
        .unwrap()
}

async fn app(profile: Profile, toml: &str) -> TestApp {
    let routes = Router::new().route("/hello", get(|| async { "hello" }));
    TestApp::new(
        App::with_config(config(profile, toml))
            .plugin(AuthPlugin)
            .router(routes),
    )
    .await
}

async fn jwt_of(toml: &str) -> Jwt {
    let app = app(Profile::TEST, toml).await;
    (*app.container().get::<Jwt>().unwrap()).clone()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Valid claims for the `keys_toml` app.
fn claims() -> Value {
    let now = now();
    json!({ "sub": "ada", "iat": now, "nbf": now, "exp": now + 600, "iss": "https://api.test", "aud": "api", "jti": "j1" })
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn hs(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        Some("hs"),
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        claims,
    )
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// Asserts the refusal's code and its log line.
fn refused(jwt: &Jwt, logs: &Logs, token: &str, code: &str) -> AuthFailure {
    let failure = jwt.verify(token).expect_err("the token must be refused");
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
    failure
}

// ---- attacks ----

#[tokio::test]
async fn alg_none_is_refused() {
    let jwt = jwt_of(&keys_toml()).await;
    let (logs, _guard) = Logs::capture();
    for kid in [json!("hs"), json!("ed"), json!("nope"), Value::Null] {
        let mut header = json!({ "alg": "none", "typ": "JWT" });
        if !kid.is_null() {
            header["kid"] = kid;
        }
        let token = format!("{}.{}.", b64(&header), b64(&claims()));
        let failure = refused(&jwt, &logs, &token, "algorithm");
        assert!(matches!(failure, AuthFailure::Algorithm(alg) if alg == "none"));
        // With a signature part too.
        let token = format!("{}.{}.c2ln", b64(&header), b64(&claims()));
        refused(&jwt, &logs, &token, "algorithm");
    }
}

#[tokio::test]
async fn hs256_signed_with_a_public_key_is_refused() {
    let jwt = jwt_of(&keys_toml()).await;
    let (logs, _guard) = Logs::capture();
    // A verifier that trusted the header's alg would HMAC with the public key's bytes.
    for (kid, public) in [("ed", "ed25519.pub.pem"), ("ec", "p256.pub.pem")] {
        let pem = key_pem(public);
        let token = sign(
            Algorithm::HS256,
            Some(kid),
            &EncodingKey::from_secret(&pem).unwrap(),
            &claims(),
        );
        let failure = refused(&jwt, &logs, &token, "algorithm");
        assert!(matches!(failure, AuthFailure::Algorithm(alg) if alg == "HS256"));
    }
    // And an EdDSA-headed token under the HS256 key's kid.
    let ed = EncodingKey::from_ed_pem(&key_pem("ed25519-b.pem")).unwrap();
    let token = sign(Algorithm::EdDSA, Some("hs"), &ed, &claims());
    refused(&jwt, &logs, &token, "algorithm");
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused_with_the_leeway_honoured() {
    let jwt = jwt_of(&keys_toml()).await; // leeway 30 s
    let (logs, _guard) = Logs::capture();
    let at = |exp: i64, nbf: i64| {
        let mut c = claims();
        c["exp"] = json!(now() as i64 + exp);
        c["nbf"] = json!(now() as i64 + nbf);
        hs(&c)
    };
    refused(&jwt, &logs, &at(-40, -100), "expired");
    // Within the leeway on both sides: accepted.
    assert_eq!(jwt.verify(&at(-20, -100)).unwrap().id(), "ada");
    assert_eq!(jwt.verify(&at(600, 20)).unwrap().id(), "ada");
    refused(&jwt, &logs, &at(600, 40), "not_yet_valid");
    // The clock is the caller's: the same token, later.
    let token = at(600, 0);
    let later = SystemTime::now() + Duration::from_secs(700);
    assert!(matches!(
        jwt.verify_at(&token, later),
        Err(AuthFailure::Expired)
    ));
    let earlier = SystemTime::now() - Duration::from_secs(60);
    assert!(matches!(
        jwt.verify_at(&token, earlier),
        Err(AuthFailure::NotYetValid)
    ));
}

#[tokio::test]
async fn wrong_issuer_or_audience_is_refused() {
    let jwt = jwt_of(&keys_toml()).await;
    let (logs, _guard) = Logs::capture();
    let with = |name: &str, value: Value| {
        let mut c = claims();
        c[name] = value;
        hs(&c)
    };
    refused(
        &jwt,
        &logs,
        &with("iss", json!("https://evil.test")),
        "issuer",
    );
    refused(&jwt, &logs, &with("aud", json!("other-api")), "audience");
    refused(&jwt, &logs, &with("aud", json!(["a", "b"])), "audience");
    assert!(jwt.verify(&with("aud", json!(["other", "api"]))).is_ok());
    let mut c = claims();
    c.as_object_mut().unwrap().remove("aud");
    refused(&jwt, &logs, &hs(&c), "missing_claim");
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    refused(&jwt, &logs, &hs(&c), "missing_claim");
    refused(&jwt, &logs, &with("sub", json!(42)), "missing_claim");
    refused(
        &jwt,
        &logs,
        &with("exp", json!("tomorrow")),
        "missing_claim",
    );
}

#[tokio::test]
async fn a_tampered_payload_is_refused() {
    let jwt = jwt_of(&keys_toml()).await;
    let (logs, _guard) = Logs::capture();
    let token = hs(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = claims();
    forged["sub"] = json!("admin");
    forged["roles"] = json!(["admin"]);
    let tampered = format!("{}.{}.{}", parts[0], b64(&forged), parts[2]);
    refused(&jwt, &logs, &tampered, "signature");
    // A flipped signature byte.
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[0] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
    refused(&jwt, &logs, &flipped, "signature");
    // Signed with another secret.
    let other = EncodingKey::from_secret(b"another secret of at least thirty-two bytes").unwrap();
    refused(
        &jwt,
        &logs,
        &sign(Algorithm::HS256, Some("hs"), &other, &claims()),
        "signature",
    );
}

#[tokio::test]
async fn an_unknown_kid_is_refused() {
    let jwt = jwt_of(&keys_toml()).await;
    let (logs, _guard) = Logs::capture();
    let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    refused(
        &jwt,
        &logs,
        &sign(Algorithm::HS256, Some("hs-2"), &key, &claims()),
        "unknown_key",
    );
    // No kid with several keys: no key to try.
    refused(
        &jwt,
        &logs,
        &sign(Algorithm::HS256, None, &key, &claims()),
        "unknown_key",
    );
}

#[tokio::test]
async fn oversize_and_garbage_tokens_are_refused() {
    let jwt = jwt_of(&keys_toml()).await;
    let (logs, _guard) = Logs::capture();
    let mut big = claims();
    big["pad"] = json!("x".repeat(9000));
    refused(&jwt, &logs, &hs(&big), "malformed");
    for garbage in [
        "",
        "garbage",
        "a.b",
        "a.b.c",
        "....",
        "eyJhbGciOiJIUzI1NiJ9.e30",
        "!!!.e30.sig",
        "eyJhbGciOjF9.e30.c2ln",                                // {"alg":1}
        "WzFd.e30.c2ln",                                        // [1]
        "eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzIn0.bm90IGpzb24.c2ln", // claims not JSON
    ] {
        let failure = jwt.verify(garbage).expect_err(garbage);
        assert!(
            matches!(failure, AuthFailure::Malformed(_) | AuthFailure::Signature),
            "{garbage}: {failure:?}"
        );
    }
    assert!(logs.has_line(&["cortex::auth", "reason=\"malformed\""]));
}

#[tokio::test]
async fn a_rotated_out_key_is_refused_and_a_verify_only_key_accepted() {
    // Before: `old` (EdDSA) signs.
    let before = format!(
        "[auth.jwt]\n[[auth.jwt.keys]]\nkid = 'old'\nalgorithm = 'EdDSA'\nprivate_key_file = '{}'\n",
        key_path("ed25519.pem")
    );
    let old = jwt_of(&before).await;
    let token = old.issue(&CurrentUser::builder("ada").build()).unwrap();
    assert_eq!(token.kid, "old");
    // Rotation: `new` signs, `old` verifies the tokens it signed.
    let during = format!(
        "[auth.jwt]\n[[auth.jwt.keys]]\nkid = 'new'\nalgorithm = 'ES256'\nprivate_key_file = '{}'\nsigning = true\n\
         [[auth.jwt.keys]]\nkid = 'old'\nalgorithm = 'EdDSA'\npublic_key_file = '{}'\n",
        key_path("p256.pem"),
        key_path("ed25519.pub.pem")
    );
    let rotating = jwt_of(&during).await;
    assert_eq!(rotating.verify(&token.token).unwrap().id(), "ada");
    assert_eq!(rotating.signing_kid(), "new");
    let fresh = rotating
        .issue(&CurrentUser::builder("bob").build())
        .unwrap();
    assert_eq!(rotating.verify(&fresh.token).unwrap().id(), "bob");
    // After: `old` removed.
    let after = format!(
        "[auth.jwt]\n[[auth.jwt.keys]]\nkid = 'new'\nalgorithm = 'ES256'\nprivate_key_file = '{}'\n",
        key_path("p256.pem")
    );
    let rotated = jwt_of(&after).await;
    let (logs, _guard) = Logs::capture();
    refused(&rotated, &logs, &token.token, "unknown_key");
    assert!(rotated.verify(&fresh.token).is_ok());
}

// ---- issuing ----

#[tokio::test]
async fn tokens_round_trip_with_every_algorithm() {
    let user = CurrentUser::builder("42")
        .roles(["editor"])
        .permissions(["posts:write"])
        .build();
    for (algorithm, key) in [
        ("EdDSA", "ed25519.pem"),
        ("ES256", "p256.pem"),
        ("RS256", "rsa.pem"),
    ] {
        let toml = format!(
            "[auth.jwt]\naccess_ttl = '5m'\n[[auth.jwt.keys]]\nkid = 'k'\nalgorithm = '{algorithm}'\nprivate_key_file = '{}'\n",
            key_path(key)
        );
        let jwt = jwt_of(&toml).await;
        let token = jwt.issue(&user).unwrap();
        let header = jsonwebtoken::decode_header(&token.token).unwrap();
        assert_eq!(header.kid.as_deref(), Some("k"));
        let ttl = token.expires_at.duration_since(SystemTime::now()).unwrap();
        assert!(ttl <= Duration::from_secs(300) && ttl > Duration::from_secs(290));
        let back = jwt.verify(&token.token).unwrap();
        assert_eq!(back.id(), "42");
        assert!(back.has_role("editor") && back.has_permission("posts:write"));
        assert_eq!(back.method(), cortex_auth::AuthMethod::Bearer);
        let jti = back.claim("jti").and_then(Value::as_str).unwrap();
        assert_eq!(back.credential_id(), Some(jti));
        assert_eq!(back.claim("iss"), Some(&json!("cortex")));
        assert_eq!(back.claim("aud"), Some(&json!("cortex")));
    }
}

#[tokio::test]
async fn each_token_has_its_own_jti_and_extra_claims_cannot_override_registered_ones() {
    let jwt = jwt_of(&format!("[auth.jwt]\nsecret = '{SECRET}'")).await;
    let user = CurrentUser::builder("42").build();
    let a = jwt.verify(&jwt.issue(&user).unwrap().token).unwrap();
    let b = jwt.verify(&jwt.issue(&user).unwrap().token).unwrap();
    assert_ne!(a.credential_id(), b.credential_id());
    let mut extra = serde_json::Map::new();
    extra.insert("sub".into(), json!("admin"));
    assert!(jwt.issue_with(&user, extra).is_err());
}

// ---- configuration ----

async fn build_error(profile: Profile, toml: &str) -> String {
    TestApp::try_new(App::with_config(config(profile, toml)).plugin(AuthPlugin))
        .await
        .unwrap_err()
        .to_string()
}

#[tokio::test]
async fn bad_configurations_stop_the_start_naming_the_key() {
    let cases = [
        (
            "[auth.jwt]\nsecret = 'short'",
            "auth.jwt.secret` is 5 bytes long",
        ),
        ("[auth.jwt]\nenabled = true", "auth.jwt.keys` is empty"),
        ("[auth.jwt]\nleeway = '10m'", "auth.jwt.leeway"),
        (
            "[auth.jwt]\n[[auth.jwt.keys]]\nkid = 'a'\nalgorithm = 'HS512'\nsecret = 'x'",
            "auth.jwt.keys[0].algorithm",
        ),
        (
            "[auth.jwt]\n[[auth.jwt.keys]]\nkid = 'a'\nalgorithm = 'EdDSA'\nsecret = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'",
            "auth.jwt.keys[0].secret",
        ),
        (
            "[auth.jwt]\n[[auth.jwt.keys]]\nkid = 'a'\nalgorithm = 'EdDSA'\nprivate_key = 'not a pem'",
            "auth.jwt.keys[0].private_key",
        ),
        ("[auth.jwt]\naccess_ttl = 900", "access_ttl"),
        // The hint names the algorithm's own key.
        (
            "[auth.jwt]\n[[auth.jwt.keys]]\nkid = 'a'\nalgorithm = 'EdDSA'\nprivate_key = 'not a pem'",
            "`openssl genpkey -algorithm ed25519`",
        ),
        (
            "[auth.jwt]\n[[auth.jwt.keys]]\nkid = 'a'\nalgorithm = 'ES256'\nprivate_key = 'not a pem'",
            "`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`",
        ),
    ];
    for (toml, expected) in cases {
        let error = build_error(Profile::PROD, toml).await;
        assert!(error.contains(expected), "{toml}: {error}");
    }
    // Two signing keys, none, the same kid twice.
    let hs = |kid: &str, signing: bool| {
        format!(
            "[[auth.jwt.keys]]\nkid = '{kid}'\nalgorithm = 'HS256'\nsecret = '{SECRET}'\nsigning = {signing}\n"
        )
    };
    let error = build_error(
        Profile::PROD,
        &format!("{}{}", hs("a", true), hs("b", true)),
    )
    .await;
    assert!(error.contains("has 2 signing keys (a and b)"), "{error}");
    let error = build_error(
        Profile::PROD,
        &format!("{}{}", hs("a", false), hs("b", false)),
    )
    .await;
    assert!(error.contains("has 0 signing keys"), "{error}");
    let error = build_error(
        Profile::PROD,
        &format!("{}{}", hs("a", true), hs("a", false)),
    )
    .await;
    assert!(error.contains("names two keys"), "{error}");
    // A public key that is not the private key's.
    let toml = format!(
        "[[auth.jwt.keys]]\nkid = 'a'\nalgorithm = 'EdDSA'\nprivate_key_file = '{}'\npublic_key_file = '{}'\n",
        key_path("ed25519-b.pem"),
        key_path("ed25519.pub.pem")
    );
    let error = build_error(Profile::PROD, &toml).await;
    assert!(error.contains("is not the public half"), "{error}");
}

#[tokio::test]
async fn without_keys_jwt_is_off_unless_enabled_and_then_ephemeral_in_dev_and_test() {
    for profile in [Profile::DEV, Profile::TEST, Profile::PROD] {
        let app = app(profile.clone(), "").await;
        assert!(app.container().get::<Jwt>().is_err(), "{profile:?}");
    }
    for profile in [Profile::DEV, Profile::TEST] {
        let app = app(profile, "[auth.jwt]\nenabled = true").await;
        let jwt = app.container().get::<Jwt>().unwrap();
        assert_eq!(jwt.signing_kid(), "ephemeral");
        let token = jwt.issue(&CurrentUser::builder("1").build()).unwrap();
        assert!(jwt.verify(&token.token).is_ok());
        // Another app's ephemeral key does not verify it.
        let other = jwt_of("[auth.jwt]\nenabled = true").await;
        assert!(matches!(
            other.verify(&token.token),
            Err(AuthFailure::Signature)
        ));
    }
    let app = app_off().await;
    assert!(app.container().get::<Jwt>().is_err());
}

async fn app_off() -> TestApp {
    app(Profile::TEST, "[auth.jwt]\nenabled = false").await
}

// ---- JWKS ----

#[tokio::test]
async fn jwks_lists_the_public_keys_and_never_a_secret() {
    let app = app(Profile::TEST, &keys_toml()).await;
    let response = app.get("/.well-known/jwks.json").await;
    response.assert_status(200);
    assert_eq!(
        response.header("cache-control"),
        Some("public, max-age=300")
    );
    assert_eq!(
        response.header("content-type"),
        Some("application/jwk-set+json")
    );
    let jwks: Value = response.json();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{jwks}");
    assert_eq!(keys[0]["kid"], "ec");
    assert_eq!(keys[0]["alg"], "ES256");
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["kty"], "EC");
    assert_eq!(keys[1]["kid"], "ed");
    assert_eq!(keys[1]["alg"], "EdDSA");
    assert_eq!(keys[1]["crv"], "Ed25519");
    let text = response.text();
    assert!(!text.contains("\"k\"") && !text.contains("\"d\""), "{text}");
    assert!(!text.contains(&URL_SAFE_NO_PAD.encode(SECRET)), "{text}");

    // A token the JWKS's key verifies (another service's view).
    let signer = jwt_of(&format!(
        "[auth.jwt]\n[[auth.jwt.keys]]\nkid = 'ed'\nalgorithm = 'EdDSA'\nprivate_key_file = '{}'\n",
        key_path("ed25519.pem")
    ))
    .await;
    let token = signer.issue(&CurrentUser::builder("ada").build()).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(set.find("ed").unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["cortex"]);
    assert!(jsonwebtoken::decode::<Value>(&token.token, &key, &validation).is_ok());
}

#[tokio::test]
async fn jwks_is_not_served_with_hs256_keys_only() {
    let app = app(Profile::TEST, &format!("[auth.jwt]\nsecret = '{SECRET}'")).await;
    app.get("/.well-known/jwks.json").await.assert_status(404);
}

// ---- rate limiting by user ----

#[tokio::test]
async fn rate_limits_key_by_the_verified_user() {
    let toml = format!(
        "{}\n[http.rate_limit]\nkey = 'user'\nper_second = 1\nburst = 2\n",
        keys_toml()
    );
    let app = app(Profile::TEST, &toml).await;
    let jwt = app.container().get::<Jwt>().unwrap();
    let token = |id: &str| jwt.issue(&CurrentUser::builder(id).build()).unwrap().token;
    let (ada, bob) = (token("ada"), token("bob"));
    let peer: SocketAddr = "10.0.0.1:4000".parse().unwrap();
    let status = |token: Option<String>| {
        let mut request = app.get("/hello").peer(peer);
        if let Some(token) = token {
            request = request.bearer(token);
        }
        async move { request.await.status().as_u16() }
    };
    assert_eq!(status(Some(ada.clone())).await, 200);
    assert_eq!(status(Some(ada.clone())).await, 200);
    assert_eq!(status(Some(ada.clone())).await, 429, "ada's quota is spent");
    assert_eq!(status(Some(bob.clone())).await, 200, "bob has his own");
    // The address's own quota: two anonymous requests, then a forged token is limited with them.
    assert_eq!(status(None).await, 200);
    assert_eq!(status(None).await, 200);
    let mut forged = claims();
    forged["sub"] = json!("carol");
    let other = EncodingKey::from_secret(b"another secret of at least thirty-two bytes").unwrap();
    let forged = sign(Algorithm::HS256, Some("hs"), &other, &forged);
    assert_eq!(
        status(Some(forged)).await,
        429,
        "a forged token counts against its address"
    );
    assert_eq!(status(Some(bob)).await, 200);
}

// ---- boundaries: the leeway to the second, the size limit to the byte ----

/// A token of exactly `len` bytes signed with the `hs` key (a `typ` and a `pad` claim sized to
/// fit).
fn hs_of_len(len: usize) -> String {
    let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    let token = |typ: usize, pad: usize| {
        let mut c = claims();
        c["pad"] = json!("x".repeat(pad));
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("hs".into());
        header.typ = Some("J".repeat(typ + 1));
        jsonwebtoken::encode(&header, &c, &key).unwrap()
    };
    for typ in 0..4 {
        let base = token(typ, 0).len();
        let estimate = (len.saturating_sub(base)) * 3 / 4;
        for pad in estimate.saturating_sub(4)..estimate + 4 {
            let token = token(typ, pad);
            if token.len() == len {
                return token;
            }
        }
    }
    panic!("no token of {len} bytes");
}

#[tokio::test]
async fn exp_and_nbf_hold_to_the_second_with_the_leeway() {
    let jwt = jwt_of(&keys_toml()).await; // leeway 30 s
    let (logs, _guard) = Logs::capture();
    let t = 1_900_000_000u64;
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
    let mut c = claims();
    c["iat"] = json!(t);
    c["nbf"] = json!(t);
    c["exp"] = json!(t + 600);
    let token = hs(&c);
    // `exp + leeway` is the last second accepted, `nbf - leeway` the first.
    assert!(jwt.verify_at(&token, at(t + 630)).is_ok());
    assert!(matches!(
        jwt.verify_at(&token, at(t + 631)),
        Err(AuthFailure::Expired)
    ));
    assert!(jwt.verify_at(&token, at(t - 30)).is_ok());
    assert!(matches!(
        jwt.verify_at(&token, at(t - 31)),
        Err(AuthFailure::NotYetValid)
    ));
    assert!(logs.has_line(&["cortex::auth", "reason=\"expired\""]));
    assert!(logs.has_line(&["cortex::auth", "reason=\"not_yet_valid\""]));
    // A fractional NumericDate is truncated; a negative one is no date.
    c["exp"] = json!(t as f64 + 600.5);
    assert!(jwt.verify_at(&hs(&c), at(t + 630)).is_ok());
    assert!(matches!(
        jwt.verify_at(&hs(&c), at(t + 631)),
        Err(AuthFailure::Expired)
    ));
    c["exp"] = json!(-1.0);
    assert!(matches!(
        jwt.verify_at(&hs(&c), at(t)),
        Err(AuthFailure::MissingClaim("exp"))
    ));
}

#[tokio::test]
async fn a_token_of_8_kib_is_read_and_one_byte_more_is_not() {
    let jwt = jwt_of(&keys_toml()).await;
    let (logs, _guard) = Logs::capture();
    // The literal, not the constant: the limit itself is under test.
    let largest = hs_of_len(8192);
    assert_eq!(jwt.verify(&largest).unwrap().id(), "ada");
    let failure = refused(&jwt, &logs, &hs_of_len(8193), "malformed");
    assert!(
        failure.to_string().contains("longer than 8 KiB"),
        "{failure}"
    );
}

#[tokio::test]
async fn an_empty_sub_is_refused_and_a_lone_key_needs_no_kid() {
    let jwt = jwt_of(&keys_toml()).await;
    let (logs, _guard) = Logs::capture();
    let mut c = claims();
    c["sub"] = json!("");
    refused(&jwt, &logs, &hs(&c), "missing_claim");
    // With one key, a token without a kid is checked against it.
    let lone = jwt_of(&format!("[auth.jwt]\nsecret = '{SECRET}'")).await;
    let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    let mut c = claims();
    c["iss"] = json!("cortex");
    c["aud"] = json!("cortex");
    assert_eq!(
        lone.verify(&sign(Algorithm::HS256, None, &key, &c))
            .unwrap()
            .id(),
        "ada"
    );
    // Still pinned to the key's algorithm.
    let header = json!({ "alg": "none" });
    refused(
        &lone,
        &logs,
        &format!("{}.{}.", b64(&header), b64(&c)),
        "algorithm",
    );
}

#[tokio::test]
async fn a_signed_token_whose_claims_are_not_json_is_malformed_and_says_so() {
    let jwt = jwt_of(&keys_toml()).await;
    let (logs, _guard) = Logs::capture();
    let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    let header = b64(&json!({ "alg": "HS256", "kid": "hs" }));
    // Validly signed, so the claims are read: not base64url, then not JSON.
    for (claims, says) in [
        ("!!!".to_string(), "not base64url"),
        (URL_SAFE_NO_PAD.encode("not json"), "not a JSON object"),
    ] {
        let message = format!("{header}.{claims}");
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).unwrap();
        let failure = refused(&jwt, &logs, &format!("{message}.{signature}"), "malformed");
        assert!(failure.to_string().contains(says), "{failure}");
    }
}

#[tokio::test]
async fn the_settings_are_checked_to_their_limits() {
    let with = |extra: &str| format!("[auth.jwt]\nsecret = '{SECRET}'\n{extra}");
    // Five minutes of leeway is the most allowed, and allowed.
    jwt_of(&with("leeway = '5m'")).await;
    let error = build_error(Profile::PROD, &with("leeway = '301s'")).await;
    assert!(error.contains("auth.jwt.leeway` is 5m 1s"), "{error}");
    // Each of the issuer and the audience on its own.
    let error = build_error(Profile::PROD, &with("issuer = ''\naudience = 'api'")).await;
    assert!(error.contains("auth.jwt.issuer` is empty"), "{error}");
    let error = build_error(Profile::PROD, &with("audience = ''")).await;
    assert!(error.contains("auth.jwt.audience` is empty"), "{error}");
}
