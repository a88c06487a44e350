//! Passwords: argon2id round trips, rehash, malformed hashes, the length policy, the plugin's
//! binding and configuration errors, and the timing of unknown-account logins.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, SaltString};
use cortex_auth::{
    AuthError, AuthPlugin, LoginRefused, LoginThrottle, PasswordConfig, PasswordError,
    PasswordLogin, Passwords, ThrottleConfig,
};
use cortex_core::App;
use cortex_core::config::{Config, Profile};

use crate::support::Logs;

/// A configuration with some fields changed (they are `#[non_exhaustive]`).
pub(crate) fn edit<T>(mut value: T, change: impl FnOnce(&mut T)) -> T {
    change(&mut value);
    value
}

fn cheap() -> Passwords {
    Passwords::new(&PasswordConfig::default(), &Profile::TEST).unwrap()
}

fn ip() -> IpAddr {
    "198.51.100.4".parse().unwrap()
}

fn config(toml: &str) -> Config {
    Config::builder()
        .dir(env!("CARGO_MANIFEST_DIR"))
        .profile(Profile::TEST)
        .env_vars::<_, &str, &str>([])
        .defaults(toml)
        .load()
        .unwrap()
}

#[tokio::test]
async fn a_hash_verifies_its_password_and_is_argon2id_at_the_configured_parameters() {
    let passwords = cheap();
    let stored = passwords
        .hash("correct horse battery staple")
        .await
        .unwrap();
    assert!(
        stored.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
        "{stored}"
    );
    let verified = passwords
        .verify("correct horse battery staple", stored.as_str())
        .await
        .unwrap();
    assert!(verified.is_match());
    assert_eq!(verified.rehash(), None);
}

#[tokio::test]
async fn two_hashes_of_one_password_differ_by_their_salt() {
    let passwords = cheap();
    let a = passwords
        .hash("correct horse battery staple")
        .await
        .unwrap();
    let b = passwords
        .hash("correct horse battery staple")
        .await
        .unwrap();
    assert_ne!(a, b);
}

#[tokio::test]
async fn a_wrong_password_does_not_match() {
    let passwords = cheap();
    let stored = passwords
        .hash("correct horse battery staple")
        .await
        .unwrap();
    for wrong in [
        "correct horse battery stapl",
        "Correct horse battery staple",
        "",
    ] {
        let verified = passwords.verify(wrong, stored.as_str()).await.unwrap();
        assert!(!verified.is_match(), "{wrong:?} matched");
        assert_eq!(verified.rehash(), None);
    }
}

#[tokio::test]
async fn a_pepper_is_needed_to_verify_a_peppered_hash() {
    let mut config = PasswordConfig::default();
    config.pepper_secret = Some("a server-side secret of some length".into());
    let peppered = Passwords::new(&config, &Profile::TEST).unwrap();
    let stored = peppered.hash("correct horse battery staple").await.unwrap();
    assert!(
        peppered
            .verify("correct horse battery staple", stored.as_str())
            .await
            .unwrap()
            .is_match()
    );
    // The database alone (no pepper) does not verify the password.
    assert!(
        !cheap()
            .verify("correct horse battery staple", stored.as_str())
            .await
            .unwrap()
            .is_match()
    );
    assert!(!format!("{config:?}").contains("server-side"));
    assert!(cortex_core::config::is_secret_key(
        "auth.passwords.pepper_secret"
    ));
}

#[tokio::test]
async fn a_match_on_older_parameters_returns_a_new_hash_at_the_current_ones() {
    let old = Passwords::new(&PasswordConfig::with_params(32, 2, 1), &Profile::TEST).unwrap();
    let stored = old.hash("correct horse battery staple").await.unwrap();
    let current = Passwords::new(&PasswordConfig::with_params(64, 1, 1), &Profile::TEST).unwrap();
    assert!(current.needs_rehash(stored.as_str()).unwrap());

    let verified = current
        .verify("correct horse battery staple", stored.as_str())
        .await
        .unwrap();
    assert!(verified.is_match());
    let rehash = verified.rehash().expect("a new hash").clone();
    assert!(rehash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
    assert!(!current.needs_rehash(rehash.as_str()).unwrap());
    // The new hash verifies, without another rehash.
    let again = current
        .verify("correct horse battery staple", rehash.as_str())
        .await
        .unwrap();
    assert!(again.is_match() && again.rehash().is_none());
    // No rehash on a mismatch: the plaintext is not known.
    let wrong = current.verify("wrong", stored.as_str()).await.unwrap();
    assert_eq!((wrong.matched, wrong.rehash), (false, None));
}

#[tokio::test]
async fn a_match_on_argon2i_is_rehashed_to_argon2id() {
    let argon2i = argon2::Argon2::new(
        argon2::Algorithm::Argon2i,
        argon2::Version::V0x13,
        argon2::Params::new(64, 1, 1, None).unwrap(),
    );
    let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
    let stored = argon2i
        .hash_password(b"correct horse battery staple", &salt)
        .unwrap()
        .to_string();
    assert!(stored.starts_with("$argon2i$"));
    let verified = cheap()
        .verify("correct horse battery staple", &stored)
        .await
        .unwrap();
    assert!(verified.is_match());
    assert!(
        verified
            .rehash()
            .unwrap()
            .as_str()
            .starts_with("$argon2id$")
    );
}

#[tokio::test]
async fn a_malformed_stored_hash_is_a_typed_error_not_a_panic() {
    let passwords = cheap();
    let good = passwords
        .hash("correct horse battery staple")
        .await
        .unwrap();
    let truncated = &good.as_str()[..good.as_str().len() - 20];
    let no_hash = good.as_str().rsplit_once('$').unwrap().0;
    for stored in [
        "",
        "plaintext",
        "$argon2id$",
        "$argon2id$v=19$m=64,t=1,p=1$",
        "$argon2id$v=19$m=notanumber,t=1,p=1$c29tZXNhbHQ$aGFzaA",
        "$argon2id$v=19$m=64,t=1,p=1$!!!$aGFzaA",
        no_hash,
        "\u{0}\u{1}garbage$$$",
    ] {
        let error = passwords
            .verify("correct horse battery staple", stored)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                AuthError::Passwords(
                    PasswordError::MalformedHash(_) | PasswordError::UnsupportedAlgorithm(_)
                )
            ),
            "{stored:?}: {error:?}"
        );
    }
    // A truncated hash parses (shorter output) but cannot match.
    let truncated = passwords
        .verify("correct horse battery staple", truncated)
        .await;
    assert!(
        matches!(&truncated, Ok(v) if !v.matched) || truncated.is_err(),
        "{truncated:?}"
    );
    // bcrypt (what an app migrating from elsewhere may hold): not supported, said so.
    let error = passwords
        .verify(
            "x",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            AuthError::Passwords(
                PasswordError::UnsupportedAlgorithm(_) | PasswordError::MalformedHash(_)
            )
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn passwords_outside_the_length_policy_are_refused_with_typed_errors() {
    let passwords = cheap();
    let error = passwords.hash("short").await.unwrap_err();
    assert!(matches!(
        error,
        AuthError::Passwords(PasswordError::TooShort { min: 8, len: 5 })
    ));
    // Characters, not bytes: eight two-byte characters pass.
    assert!(passwords.hash("éééééééé").await.is_ok());

    let huge = "a".repeat(1025);
    let error = passwords.hash(&huge).await.unwrap_err();
    assert!(matches!(
        error,
        AuthError::Passwords(PasswordError::TooLong {
            max: 1024,
            len: 1025
        })
    ));
    assert_eq!(
        error.to_string(),
        "the password is too long: 1025 characters, at most 1024 are accepted"
    );
    // Verification refuses it too, before any hashing: a megabyte costs nothing.
    let stored = passwords.hash(&"a".repeat(1024)).await.unwrap();
    let started = Instant::now();
    let error = passwords
        .verify(&"a".repeat(1 << 20), stored.as_str())
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        AuthError::Passwords(PasswordError::TooLong { .. })
    ));
    assert!(started.elapsed() < Duration::from_millis(500));

    let mut config = PasswordConfig::default();
    config.min_length = 12;
    config.max_length = 64;
    let strict = Passwords::new(&config, &Profile::TEST).unwrap();
    assert_eq!(
        strict.check_policy("elevenchars"),
        Err(PasswordError::TooShort { min: 12, len: 11 })
    );
    assert!(strict.check_policy(&"x".repeat(65)).is_err());
}

#[test]
fn defaults_are_owasp_outside_the_test_profile_and_cheap_inside() {
    let prod = Passwords::new(&PasswordConfig::default(), &Profile::PROD).unwrap();
    assert_eq!(
        (prod.memory_kib(), prod.iterations(), prod.parallelism()),
        (19456, 2, 1)
    );
    let dev = Passwords::new(&PasswordConfig::default(), &Profile::DEV).unwrap();
    assert_eq!(dev.memory_kib(), 19456);
    let test = Passwords::new(&PasswordConfig::default(), &Profile::TEST).unwrap();
    assert_eq!(
        (test.memory_kib(), test.iterations(), test.parallelism()),
        (64, 1, 1)
    );
    // An explicit value wins in every profile.
    let explicit =
        Passwords::new(&PasswordConfig::with_params(1024, 3, 2), &Profile::TEST).unwrap();
    assert_eq!(
        (
            explicit.memory_kib(),
            explicit.iterations(),
            explicit.parallelism()
        ),
        (1024, 3, 2)
    );
}

#[test]
fn bad_parameters_are_errors_naming_the_key() {
    let cases: [(PasswordConfig, &str); 6] = [
        (
            PasswordConfig::with_params(7, 1, 1),
            "`auth.passwords.memory_kib` is 7 KiB; hint: argon2 needs at least 8 × parallelism (8) KiB",
        ),
        (
            PasswordConfig::with_params(16, 1, 4),
            "`auth.passwords.memory_kib` is 16 KiB; hint: argon2 needs at least 8 × parallelism (32) KiB",
        ),
        (
            PasswordConfig::with_params(19456, 0, 1),
            "`auth.passwords.iterations` is 0; hint: use 1 to 1024",
        ),
        (
            PasswordConfig::with_params(19456, 2, 0),
            "`auth.passwords.parallelism` is 0; hint: use 1 to 255",
        ),
        (
            edit(PasswordConfig::default(), |c| c.min_length = 0),
            "`auth.passwords.min_length` is 0",
        ),
        (
            edit(PasswordConfig::default(), |c| {
                c.min_length = 10;
                c.max_length = 9;
            }),
            "`auth.passwords.max_length` is 9, below `min_length` (10)",
        ),
    ];
    for (config, expected) in cases {
        let error = Passwords::new(&config, &Profile::PROD).unwrap_err();
        assert!(
            error.to_string().starts_with(expected),
            "{error} does not start with {expected}"
        );
    }
}

#[tokio::test]
async fn the_plugin_binds_passwords_and_the_login_helper_from_auth_passwords() {
    let app = App::with_config(config("[auth.passwords]\nmin_length = 10"))
        .plugin(AuthPlugin)
        .build()
        .await
        .unwrap();
    let passwords = app.container().get::<Passwords>().unwrap();
    // The test profile's cheap parameters.
    assert_eq!(passwords.memory_kib(), 64);
    assert!(passwords.check_policy("ninechars").is_err());
    let login = app.container().get::<PasswordLogin>().unwrap();
    let stored = passwords.hash("ten chars!").await.unwrap();
    assert!(
        login
            .attempt("ann", ip(), Some(stored.as_str()), "ten chars!")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_plugin_stops_the_start_on_a_bad_parameter_naming_its_key() {
    for (toml, expected) in [
        (
            "[auth.passwords]\nmemory_kib = 2",
            "`auth.passwords.memory_kib` is 2 KiB",
        ),
        ("[auth.passwords]\nmemory_kb = 2", "memory_kb"),
        (
            "[auth.passwords]\npepper_secret = ''",
            "`auth.passwords.pepper_secret` is empty",
        ),
    ] {
        let error = App::with_config(config(toml))
            .plugin(AuthPlugin)
            .build()
            .await
            .unwrap_err();
        assert!(error.to_string().contains(expected), "{toml}: {error}");
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// An attacker times logins to learn which accounts exist: an unknown account must cost what a
/// wrong password costs (argon2 runs against a dummy hash), and both refusals must read the same.
#[tokio::test]
async fn unknown_account_and_wrong_password_take_the_same_time_and_answer_the_same() {
    let (logs, _guard) = Logs::capture();
    // Real argon2id, scaled down so that 40 attempts stay quick in a debug build.
    let passwords =
        Passwords::new(&PasswordConfig::with_params(2048, 1, 1), &Profile::TEST).unwrap();
    let throttle =
        LoginThrottle::new(&edit(ThrottleConfig::default(), |c| c.enabled = false)).unwrap();
    let login = PasswordLogin::new(passwords.clone(), throttle);
    let stored = passwords
        .hash("correct horse battery staple")
        .await
        .unwrap();

    // Warm up (the dummy hash is made on first use, or when the app starts).
    let _ = login.attempt("nobody", ip(), None, "guess").await;
    let _ = login
        .attempt("ann", ip(), Some(stored.as_str()), "guess")
        .await;

    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for i in 0..20 {
        let guess = format!("guess number {i}");
        let started = Instant::now();
        let refused = login.attempt("nobody", ip(), None, &guess).await;
        unknown.push(started.elapsed());
        assert!(matches!(refused, Err(LoginRefused::InvalidCredentials)));

        let started = Instant::now();
        let refused = login
            .attempt("ann", ip(), Some(stored.as_str()), &guess)
            .await;
        wrong.push(started.elapsed());
        assert!(matches!(refused, Err(LoginRefused::InvalidCredentials)));
    }
    let (unknown, wrong) = (median(unknown), median(wrong));
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        (0.5..=2.0).contains(&ratio),
        "unknown account {unknown:?} vs wrong password {wrong:?}"
    );
    // argon2 really ran for the unknown account: 2 MiB of memory cannot be filled in 200 µs.
    assert!(unknown > Duration::from_micros(200), "{unknown:?}");

    // The same answer for both.
    let a = cortex_core::http::HttpError::from(LoginRefused::InvalidCredentials);
    assert_eq!(a.status().as_u16(), 401);
    assert_eq!(a.problem().detail.as_deref(), Some("invalid credentials"));

    // The reason is logged, never sent.
    assert!(logs.has_line(&[
        "cortex::auth",
        "login refused",
        "reason=\"unknown_account\""
    ]));
    assert!(logs.has_line(&["cortex::auth", "login refused", "reason=\"wrong_password\""]));
}

#[tokio::test]
async fn a_login_with_a_malformed_stored_hash_is_an_error_logged_not_a_401() {
    let (logs, _guard) = Logs::capture();
    let login = PasswordLogin::new(
        cheap(),
        LoginThrottle::new(&ThrottleConfig::default()).unwrap(),
    );
    let refused = login
        .attempt("ann", ip(), Some("$argon2id$broken"), "whatever")
        .await
        .unwrap_err();
    assert!(matches!(refused, LoginRefused::Error(_)), "{refused:?}");
    assert_eq!(
        cortex_core::http::HttpError::from(refused)
            .status()
            .as_u16(),
        500
    );
    assert!(logs.has_line(&["cortex::auth", "password hash cannot be checked"]));
}

#[tokio::test]
async fn a_successful_login_returns_the_rehash_to_store() {
    let old = Passwords::new(&PasswordConfig::with_params(32, 1, 1), &Profile::TEST).unwrap();
    let stored = old.hash("correct horse battery staple").await.unwrap();
    let login = PasswordLogin::new(
        cheap(),
        LoginThrottle::new(&ThrottleConfig::default()).unwrap(),
    );
    let success = login
        .attempt(
            "ann",
            ip(),
            Some(stored.as_str()),
            "correct horse battery staple",
        )
        .await
        .unwrap();
    let rehash = success.rehash.expect("a rehash");
    assert!(rehash.as_str().contains("m=64,t=1,p=1"));
}
