//! Cookie sessions through the real auth layer (an `App` with the `AuthPlugin` and
//! `[auth.sessions]`, routes behind the `Authenticated` guard): the attacks they withstand
//! (forged, tampered, foreign-key and replayed cookies, session fixation, cross-site requests),
//! the timeouts on the container's `SessionClock`, key rotation, logout everywhere and
//! revocation, the values' size limit, and the same flow on every store (memory, SQLite,
//! PostgreSQL, MariaDB, Redis).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cortex_auth::{SessionClock, Sessions};
use cortex_core::testing::{TestApp, TestSession};
use http::StatusCode;

use crate::support::Logs;
use crate::support_sessions::{
    COOKIE, KEY_A, KEY_B, Setup, Store, T0, app_on, assert_refused, fixture, memory, minutes,
    unique_prefix,
};

/// Logs in (as `ada`); returns the session cookie.
async fn login(session: &TestSession) -> String {
    login_as(session, "").await
}

/// Logs in as `user`; returns the session cookie.
async fn login_as(session: &TestSession, user: &str) -> String {
    session
        .post("/login")
        .body(user.to_string())
        .await
        .assert_status(StatusCode::OK);
    session.cookies()[COOKIE].clone()
}

async fn token(session: &TestSession) -> String {
    let response = session.get("/csrf").await;
    response.assert_status(StatusCode::OK);
    response.text()
}

// ---------------------------------------------------------------------------------------------
// attacks

#[tokio::test]
async fn a_forged_cookie_is_refused_and_logged() {
    let (logs, _guard) = Logs::capture();
    let fixture = memory().await;
    let session = fixture.app.session();
    // The right length, random bytes: no key opens it.
    let forged = URL_SAFE_NO_PAD.encode([0x5a; 72]);
    session.set_cookie(COOKIE, forged.clone());
    let response = session.get("/me").await;
    assert_refused(&response, StatusCode::UNAUTHORIZED, &forged);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "signature"]),
        "{}",
        logs.text()
    );
    assert!(
        logs.has_line(&[
            "cortex::auth",
            "authentication failed",
            "authenticator=\"session\"",
            "code=\"signature\""
        ]),
        "{}",
        logs.text()
    );
    // The refused cookie is cleared.
    assert!(
        response
            .header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    // Not base64url at all.
    session.set_cookie(COOKIE, "admin%3Dtrue");
    assert_refused(
        &session.get("/me").await,
        StatusCode::UNAUTHORIZED,
        "admin%3Dtrue",
    );
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "malformed"]),
        "{}",
        logs.text()
    );
    assert!(!logs.text().contains(&forged), "the cookie was logged");
}

#[tokio::test]
async fn a_tampered_cookie_is_refused_and_logged() {
    let (logs, _guard) = Logs::capture();
    let fixture = memory().await;
    let session = fixture.app.session();
    let cookie = login(&session).await;
    session
        .get("/me")
        .await
        .assert_status(StatusCode::OK)
        .assert_text("ada");
    for byte in [0, 30, 71] {
        let mut bytes = URL_SAFE_NO_PAD.decode(&cookie).unwrap();
        bytes[byte] ^= 0x01;
        let tampered = URL_SAFE_NO_PAD.encode(&bytes);
        session.set_cookie(COOKIE, tampered.clone());
        assert_refused(
            &session.get("/me").await,
            StatusCode::UNAUTHORIZED,
            &tampered,
        );
    }
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "signature"]),
        "{}",
        logs.text()
    );
    assert!(!logs.text().contains(&cookie), "the cookie was logged");
}

#[tokio::test]
async fn a_cookie_sealed_under_another_key_is_refused() {
    let (logs, _guard) = Logs::capture();
    let clock = SessionClock::manual(T0);
    let other = app_on(&Setup::new(Store::Memory).keys(&[KEY_B]), &clock, None).await;
    let ours = app_on(&Setup::new(Store::Memory), &clock, None).await;
    let cookie = login(&other.session()).await;
    let session = ours.session();
    session.set_cookie(COOKIE, cookie.clone());
    assert_refused(&session.get("/me").await, StatusCode::UNAUTHORIZED, &cookie);
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "signature"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_cookie_replayed_after_logout_is_refused() {
    let (logs, _guard) = Logs::capture();
    let fixture = memory().await;
    let session = fixture.app.session();
    let cookie = login(&session).await;
    let token = token(&session).await;
    let response = session.post("/logout").header("x-csrf-token", &token).await;
    response.assert_status(StatusCode::NO_CONTENT);
    assert!(
        !session.cookies().contains_key(COOKIE),
        "the cookie is cleared"
    );
    // The attacker's copy of the cookie.
    session.set_cookie(COOKIE, cookie.clone());
    assert_refused(&session.get("/me").await, StatusCode::UNAUTHORIZED, &cookie);
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "unknown"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn login_rotates_the_session_id_against_fixation() {
    let (logs, _guard) = Logs::capture();
    let fixture = memory().await;
    let app = &fixture.app;
    // The attacker gets a pre-login session of their own and plants its cookie in the victim's
    // browser.
    let attacker = app.session();
    token(&attacker).await;
    let planted = attacker.cookies()[COOKIE].clone();
    let victim = app.session();
    victim.set_cookie(COOKIE, planted.clone());
    assert_refused(&victim.get("/me").await, StatusCode::UNAUTHORIZED, &planted);
    let after = login(&victim).await;
    assert_ne!(after, planted, "login must issue a new session id");
    victim
        .get("/me")
        .await
        .assert_status(StatusCode::OK)
        .assert_text("ada");
    // The planted id was deleted: it is not logged in, and it is not even a session any more.
    assert_refused(
        &attacker.get("/me").await,
        StatusCode::UNAUTHORIZED,
        &planted,
    );
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "unknown"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_cross_site_post_without_the_token_is_refused_with_403() {
    let (logs, _guard) = Logs::capture();
    let fixture = memory().await;
    let session = fixture.app.session();
    login(&session).await;
    let response = session.post("/action").await;
    assert_refused(&response, StatusCode::FORBIDDEN, "");
    assert!(
        logs.has_line(&[
            "WARN",
            "cortex::auth",
            "cross-site request refused (csrf)",
            "x-csrf-token header is missing",
            "/action"
        ]),
        "{}",
        logs.text()
    );
    // A wrong token.
    let response = session
        .post("/action")
        .header("x-csrf-token", "not-the-token")
        .await;
    assert_refused(&response, StatusCode::FORBIDDEN, "not-the-token");
    assert!(
        logs.has_line(&["cortex::auth", "csrf", "header is wrong"]),
        "{}",
        logs.text()
    );
    // The session survives the refusals.
    session.get("/me").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_cross_site_post_is_refused_even_with_the_token() {
    let (logs, _guard) = Logs::capture();
    let fixture = memory().await;
    let session = fixture.app.session();
    login(&session).await;
    let token = token(&session).await;
    let response = session
        .post("/action")
        .header("x-csrf-token", &token)
        .header("sec-fetch-site", "cross-site")
        .await;
    assert_refused(&response, StatusCode::FORBIDDEN, &token);
    assert!(
        logs.has_line(&["cortex::auth", "csrf", "Sec-Fetch-Site is cross-site"]),
        "{}",
        logs.text()
    );
    // Older browsers: no Sec-Fetch-Site, an Origin (or Referer) of another site.
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("referer", "https://evil.example/page"),
        ("origin", "http://localhost.evil.example"),
    ] {
        let response = session
            .post("/action")
            .header("host", "localhost")
            .header("x-csrf-token", &token)
            .header(header, value)
            .await;
        assert_refused(&response, StatusCode::FORBIDDEN, &token);
    }
    assert!(
        logs.has_line(&["cortex::auth", "csrf", "the Origin is another site"]),
        "{}",
        logs.text()
    );
    assert!(
        logs.has_line(&["cortex::auth", "csrf", "the Referer is another site"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_same_site_post_with_the_token_passes() {
    let fixture = memory().await;
    let app = &fixture.app;
    let session = app.session();
    login(&session).await;
    let token = token(&session).await;
    session
        .post("/action")
        .header("x-csrf-token", &token)
        .header("sec-fetch-site", "same-origin")
        .await
        .assert_status(StatusCode::OK)
        .assert_text("done by ada");
    for (header, value) in [
        ("origin", "http://localhost"),
        ("referer", "http://localhost/form"),
        ("origin", "https://admin.example.com"),
    ] {
        session
            .post("/action")
            .header("host", "localhost")
            .header("x-csrf-token", &token)
            .header(header, value)
            .await
            .assert_status(StatusCode::OK);
    }
    // A request that no cookie authenticates is not the CSRF checks' business: the guard's 401.
    assert_refused(&app.post("/action").await, StatusCode::UNAUTHORIZED, "");
}

#[tokio::test]
async fn the_token_changes_at_login() {
    let (logs, _guard) = Logs::capture();
    let fixture = memory().await;
    let session = fixture.app.session();
    let before = token(&session).await;
    login(&session).await;
    let after = token(&session).await;
    assert_ne!(before, after);
    let response = session
        .post("/action")
        .header("x-csrf-token", &before)
        .await;
    assert_refused(&response, StatusCode::FORBIDDEN, &before);
    assert!(
        logs.has_line(&["cortex::auth", "csrf", "header is wrong"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn an_idle_session_expires() {
    let (logs, _guard) = Logs::capture();
    let fixture = memory().await;
    let session = fixture.app.session();
    let cookie = login(&session).await;
    // Sliding: used every 29 minutes, it lives on past 30.
    for _ in 0..3 {
        fixture.clock.advance(minutes(29));
        session.get("/me").await.assert_status(StatusCode::OK);
    }
    fixture.clock.advance(minutes(30));
    assert_refused(&session.get("/me").await, StatusCode::UNAUTHORIZED, &cookie);
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "expired"]),
        "{}",
        logs.text()
    );
    assert!(
        !session.cookies().contains_key(COOKIE),
        "the expired cookie is cleared"
    );
}

#[tokio::test]
async fn a_busy_session_expires_at_the_absolute_timeout() {
    let (logs, _guard) = Logs::capture();
    let fixture = memory().await;
    let session = fixture.app.session();
    let cookie = login(&session).await;
    // Used every 20 minutes: never idle, but 2 hours after login it ends.
    for _ in 0..5 {
        fixture.clock.advance(minutes(20));
        session.get("/me").await.assert_status(StatusCode::OK);
    }
    fixture.clock.advance(minutes(20));
    session.set_cookie(COOKIE, cookie.clone());
    assert_refused(&session.get("/me").await, StatusCode::UNAUTHORIZED, &cookie);
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "expired"]),
        "{}",
        logs.text()
    );
}

/// Key rotation across three deployments sharing one store (Redis, as behind a load balancer).
#[tokio::test]
async fn a_cookie_from_an_old_key_works_while_the_key_is_listed() {
    let (logs, _guard) = Logs::capture();
    let clock = SessionClock::manual(T0);
    let prefix = unique_prefix();
    let on = |keys: &[&'static str]| {
        let mut setup = Setup::new(Store::Redis).keys(keys);
        setup.prefix = prefix.clone();
        setup
    };
    let before = app_on(&on(&[KEY_A]), &clock, None).await;
    let rotated = app_on(&on(&[KEY_B, KEY_A]), &clock, None).await;
    let after = app_on(&on(&[KEY_B]), &clock, None).await;
    let old = login(&before.session()).await;

    let session = rotated.session();
    session.set_cookie(COOKIE, old.clone());
    session
        .get("/me")
        .await
        .assert_status(StatusCode::OK)
        .assert_text("ada");
    let resealed = session.cookies()[COOKIE].clone();
    assert_ne!(
        resealed, old,
        "a cookie under an old key is sealed again under the new one"
    );

    let session = after.session();
    session.set_cookie(COOKIE, resealed);
    session.get("/me").await.assert_status(StatusCode::OK);
    session.set_cookie(COOKIE, old.clone());
    assert_refused(&session.get("/me").await, StatusCode::UNAUTHORIZED, &old);
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "signature"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn the_cookie_has_its_attributes() {
    let fixture = memory().await;
    let app = &fixture.app;
    let response = app.post("/login").await;
    let cookie = response.header("set-cookie").unwrap().to_string();
    assert!(cookie.starts_with("session="), "{cookie}");
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=7200"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // A request that touches nothing gets no cookie (no session made for every visitor).
    assert!(app.get("/me").await.header("set-cookie").is_none());
}

#[tokio::test]
async fn a_value_over_the_size_limit_is_refused_and_the_session_kept() {
    let fixture = memory().await;
    let session = fixture.app.session();
    let token = token(&session).await;
    session
        .put("/value")
        .header("x-csrf-token", &token)
        .body("small")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    // 4 KiB of JSON by default: the typed error, the value before kept.
    session
        .put("/value")
        .header("x-csrf-token", &token)
        .body("x".repeat(4096))
        .await
        .assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    session.get("/value").await.assert_text("small");
    session
        .put("/value")
        .header("x-csrf-token", &token)
        .body("x".repeat(4000))
        .await
        .assert_status(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_size_limit_is_configurable() {
    let mut setup = Setup::new(Store::Memory);
    setup.extra = "max_values_size = '64KiB'".into();
    let fixture = fixture(setup).await;
    let session = fixture.app.session();
    let token = token(&session).await;
    session
        .put("/value")
        .header("x-csrf-token", &token)
        .body("x".repeat(10_000))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(session.get("/value").await.text().len(), 10_000);
}

// ---------------------------------------------------------------------------------------------
// every store: memory, SQLite, PostgreSQL, MariaDB, Redis

/// Runs `$body(Store)` as one test per store.
macro_rules! on_every_store {
    ($body:ident) => {
        mod $body {
            use crate::support_sessions::Store;

            #[tokio::test]
            async fn memory() {
                super::$body(Store::Memory).await;
            }

            #[tokio::test]
            async fn sqlite() {
                super::$body(Store::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$body(Store::Postgres).await;
            }

            #[tokio::test]
            async fn mariadb() {
                super::$body(Store::MariaDb).await;
            }

            #[tokio::test]
            async fn redis() {
                super::$body(Store::Redis).await;
            }
        }
    };
}

/// The flow every store must hold: login, values, sliding touch, logout, replay refused.
async fn store_flow(store: Store) {
    let (logs, _guard) = Logs::capture();
    let fixture = fixture(Setup::new(store)).await;
    let session = fixture.app.session();
    let cookie = login(&session).await;
    let token = token(&session).await;
    session
        .get("/me")
        .await
        .assert_status(StatusCode::OK)
        .assert_text("ada");
    session
        .put("/value")
        .header("x-csrf-token", &token)
        .body("hello")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    session.get("/value").await.assert_text("hello");
    fixture.clock.advance(minutes(25));
    session.get("/me").await.assert_status(StatusCode::OK);
    fixture.clock.advance(minutes(25));
    session.get("/value").await.assert_text("hello");
    session
        .post("/logout")
        .header("x-csrf-token", &token)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    session.set_cookie(COOKIE, cookie.clone());
    assert_refused(&session.get("/me").await, StatusCode::UNAUTHORIZED, &cookie);
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "unknown"]),
        "{}",
        logs.text()
    );
    fixture.close().await;
}

on_every_store!(store_flow);

/// `logout_everywhere` ends every session of the user (other browsers too) and no one else's;
/// the copies of the cookies are refused afterwards.
async fn logout_everywhere(store: Store) {
    let (logs, _guard) = Logs::capture();
    let fixture = fixture(Setup::new(store)).await;
    let app = &fixture.app;
    let laptop = app.session();
    let phone = app.session();
    let bob = app.session();
    let laptop_cookie = login(&laptop).await;
    let phone_cookie = login(&phone).await;
    login_as(&bob, "bob").await;
    let token = token(&laptop).await;
    laptop
        .post("/logout-everywhere")
        .header("x-csrf-token", &token)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert!(
        !laptop.cookies().contains_key(COOKIE),
        "this request's cookie is cleared"
    );
    assert!(
        logs.has_line(&[
            "cortex::auth",
            "logged out everywhere",
            "user=\"ada\"",
            "sessions=2"
        ]),
        "{}",
        logs.text()
    );
    assert_refused(
        &phone.get("/me").await,
        StatusCode::UNAUTHORIZED,
        &phone_cookie,
    );
    laptop.set_cookie(COOKIE, laptop_cookie.clone());
    assert_refused(
        &laptop.get("/me").await,
        StatusCode::UNAUTHORIZED,
        &laptop_cookie,
    );
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "unknown"]),
        "{}",
        logs.text()
    );
    bob.get("/me")
        .await
        .assert_status(StatusCode::OK)
        .assert_text("bob");
    // Logging in again works.
    login(&phone).await;
    phone.get("/me").await.assert_status(StatusCode::OK);
    fixture.close().await;
}

on_every_store!(logout_everywhere);

#[tokio::test]
async fn logout_everywhere_then_login_keeps_this_device_only() {
    let (logs, _guard) = Logs::capture();
    let fixture = memory().await;
    let app = &fixture.app;
    let laptop = app.session();
    let phone = app.session();
    let old = login(&laptop).await;
    let phone_cookie = login(&phone).await;
    let token = token(&laptop).await;
    laptop
        .post("/logout-others")
        .header("x-csrf-token", &token)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert!(
        logs.has_line(&["cortex::auth", "logged out everywhere", "sessions=2"]),
        "{}",
        logs.text()
    );
    let new = laptop.cookies()[COOKIE].clone();
    assert_ne!(new, old, "a new session for this device");
    laptop
        .get("/me")
        .await
        .assert_status(StatusCode::OK)
        .assert_text("ada");
    assert_refused(
        &phone.get("/me").await,
        StatusCode::UNAUTHORIZED,
        &phone_cookie,
    );
    laptop.set_cookie(COOKIE, old.clone());
    assert_refused(&laptop.get("/me").await, StatusCode::UNAUTHORIZED, &old);
}

/// `Sessions::revoke_user` (after a password change) ends every session of the user, and a
/// request still running with one of them does not save it back.
async fn revoke_user(store: Store) {
    let (logs, _guard) = Logs::capture();
    let fixture = fixture(Setup::new(store)).await;
    let app = &fixture.app;
    let sessions = app.container().get::<Sessions>().unwrap();
    let first = app.session();
    let second = app.session();
    let bob = app.session();
    let first_cookie = login(&first).await;
    let second_cookie = login(&second).await;
    login_as(&bob, "bob").await;

    assert_eq!(sessions.revoke_user("ada").await.unwrap(), 2);
    assert!(
        logs.has_line(&[
            "INFO",
            "cortex::auth",
            "every session of the user revoked",
            "user=\"ada\"",
            "sessions=2"
        ]),
        "{}",
        logs.text()
    );
    assert_refused(
        &first.get("/me").await,
        StatusCode::UNAUTHORIZED,
        &first_cookie,
    );
    assert_refused(
        &second.get("/me").await,
        StatusCode::UNAUTHORIZED,
        &second_cookie,
    );
    bob.get("/me").await.assert_status(StatusCode::OK);
    assert_eq!(sessions.revoke_user("ada").await.unwrap(), 0);

    // A request that loaded the session, then saw it revoked, then wrote to it: not saved back.
    let third = app.session();
    let cookie = login(&third).await;
    let token = token(&third).await;
    let response = third
        .post("/revoke-mine-then-write")
        .header("x-csrf-token", &token)
        .await;
    response.assert_status(StatusCode::OK).assert_text("1");
    assert!(
        response
            .header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0")),
        "the revoked session's cookie is cleared"
    );
    assert!(
        logs.has_line(&[
            "cortex::auth",
            "code=\"revoked\"",
            "revoked while the request ran"
        ]),
        "{}",
        logs.text()
    );
    third.set_cookie(COOKIE, cookie.clone());
    assert_refused(&third.get("/me").await, StatusCode::UNAUTHORIZED, &cookie);
    fixture.close().await;
}

on_every_store!(revoke_user);

// ---------------------------------------------------------------------------------------------
// the plugin

#[tokio::test]
async fn the_plugin_registers_the_authenticator_and_refuses_a_prod_app_without_keys() {
    use cortex_auth::{AuthPlugin, SessionAuthenticator};
    use cortex_core::App;
    use cortex_core::config::Config;

    let config = Config::from_toml("[auth.sessions]\nenabled = true").unwrap();
    let app = TestApp::new(App::with_config(config).plugin(AuthPlugin)).await;
    let sessions = app.container().get::<SessionAuthenticator>().unwrap();
    assert_eq!(
        sessions.cookie_name(),
        "session",
        "dev: not secure, no __Host- prefix"
    );
    assert!(app.container().get::<Sessions>().is_ok());

    let dir = std::env::temp_dir().join(format!("cortex_sessions_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prod = Config::builder()
        .dir(&dir)
        .profile(cortex_core::config::Profile::PROD)
        .env_vars([("CORTEX_AUTH__SESSIONS__ENABLED", "true")])
        .load()
        .unwrap();
    let error = TestApp::try_new(App::with_config(prod).plugin(AuthPlugin))
        .await
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .contains("`auth.sessions.secret_keys` is required in the `prod` profile"),
        "{error}"
    );
}

#[tokio::test]
async fn the_plugin_reads_the_clock_bound_in_the_container_else_the_system_clock() {
    let config = cortex_core::config::Config::from_toml("[auth.sessions]\nenabled = true").unwrap();
    let app =
        TestApp::new(cortex_core::App::with_config(config).plugin(cortex_auth::AuthPlugin)).await;
    let sessions = app
        .container()
        .get::<cortex_auth::SessionAuthenticator>()
        .unwrap();
    assert!(
        format!("{sessions:?}").contains("SessionClock::system()"),
        "{sessions:?}"
    );

    let fixture = memory().await;
    let sessions = fixture
        .app
        .container()
        .get::<cortex_auth::SessionAuthenticator>()
        .unwrap();
    assert!(
        format!("{sessions:?}").contains("SessionClock::manual(1700000000)"),
        "{sessions:?}"
    );
}

#[tokio::test]
async fn a_cross_site_refusal_names_the_header_it_read_and_the_origin_comes_first() {
    let fixture = memory().await;
    let session = fixture.app.session();
    login(&session).await;
    let token = token(&session).await;
    let post = |headers: &[(&'static str, &'static str)]| {
        let mut request = session
            .post("/action")
            .header("host", "localhost")
            .header("x-csrf-token", &token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
    };
    let origin = "the Origin is another site";
    let referer = "the Referer is another site";
    for (headers, named, not_named) in [
        (&[("origin", "https://evil.example")][..], origin, referer),
        (
            &[("referer", "https://evil.example/page")][..],
            referer,
            origin,
        ),
        // The app's host under a scheme that is neither https nor (cookies not `Secure`) http.
        (&[("origin", "ftp://localhost")][..], origin, referer),
        // Both: the Origin is read, the Referer not.
        (
            &[
                ("origin", "https://evil.example"),
                ("referer", "http://localhost/form"),
            ][..],
            origin,
            referer,
        ),
    ] {
        let (logs, _guard) = Logs::capture();
        assert_refused(&post(headers).await, StatusCode::FORBIDDEN, &token);
        assert!(
            logs.has_line(&["cortex::auth", "csrf", named]),
            "{}",
            logs.text()
        );
        assert!(!logs.text().contains(not_named), "{}", logs.text());
    }
    post(&[
        ("origin", "http://localhost"),
        ("referer", "https://evil.example/page"),
    ])
    .await
    .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_cookie_under_the_current_key_is_not_sealed_again() {
    let fixture = memory().await;
    let session = fixture.app.session();
    login(&session).await;
    let response = session.get("/me").await;
    response.assert_status(StatusCode::OK);
    assert!(
        response.header("set-cookie").is_none(),
        "{:?}",
        response.headers()
    );
}

#[tokio::test]
async fn the_size_limit_is_inclusive_to_the_byte() {
    let fixture = memory().await;
    let session = fixture.app.session();
    let token = token(&session).await;
    let put = |len: usize| {
        session
            .put("/value")
            .header("x-csrf-token", &token)
            .body("x".repeat(len))
    };
    // `{"note":"…"}` is 11 bytes around the value: 4096 in all is the most accepted.
    put(4086).await.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    put(4085).await.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(session.get("/value").await.text().len(), 4085);
}
