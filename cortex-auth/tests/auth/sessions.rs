//! Cookie sessions: the attacks they withstand (forged, tampered, foreign-key and replayed
//! cookies, session fixation, cross-site requests), the timeouts on a controlled clock, key
//! rotation, and the same flow on every store.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cortex_auth::{MemorySessionStore, SessionClock, SessionStore};
use cortex_core::testing::{TestApp, TestSession};
use http::StatusCode;

use crate::support::Logs;
use crate::support_sessions::{KEY_A, KEY_B, T0, app, authenticator};

const COOKIE: &str = "session";

async fn memory_app(clock: &SessionClock) -> TestApp {
    app(authenticator(&[KEY_A], MemorySessionStore::new(), clock)).await
}

/// Logs in; returns the session cookie.
async fn login(session: &TestSession) -> String {
    session.post("/login").await.assert_status(StatusCode::OK);
    session.cookies()[COOKIE].clone()
}

async fn token(session: &TestSession) -> String {
    let response = session.get("/csrf").await;
    response.assert_status(StatusCode::OK);
    response.text()
}

#[tokio::test]
async fn a_forged_cookie_is_refused_and_logged() {
    let (logs, _guard) = Logs::capture();
    let app = memory_app(&SessionClock::manual(T0)).await;
    let session = app.session();
    // The right length, random bytes: no key opens it.
    session.set_cookie(COOKIE, URL_SAFE_NO_PAD.encode([0x5a; 72]));
    let response = session.get("/me").await;
    response.assert_status(StatusCode::UNAUTHORIZED);
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "signature"]),
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
    session
        .get("/me")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    assert!(
        logs.has_line(&["cortex::auth", "malformed"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_tampered_cookie_is_refused_and_logged() {
    let (logs, _guard) = Logs::capture();
    let app = memory_app(&SessionClock::manual(T0)).await;
    let session = app.session();
    let cookie = login(&session).await;
    session
        .get("/me")
        .await
        .assert_status(StatusCode::OK)
        .assert_text("ada");
    for byte in [0, 30, 71] {
        let mut bytes = URL_SAFE_NO_PAD.decode(&cookie).unwrap();
        bytes[byte] ^= 0x01;
        session.set_cookie(COOKIE, URL_SAFE_NO_PAD.encode(&bytes));
        session
            .get("/me")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    assert!(
        logs.has_line(&["cortex::auth", "signature"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_cookie_sealed_under_another_key_is_refused() {
    let (logs, _guard) = Logs::capture();
    let clock = SessionClock::manual(T0);
    let store = Arc::new(MemorySessionStore::new());
    let other = app(authenticator(&[KEY_B], store.clone(), &clock)).await;
    let ours = app(authenticator(&[KEY_A], store, &clock)).await;
    let cookie = login(&other.session()).await;
    let session = ours.session();
    session.set_cookie(COOKIE, cookie);
    session
        .get("/me")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    assert!(
        logs.has_line(&["cortex::auth", "signature"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_cookie_replayed_after_logout_is_refused() {
    let (logs, _guard) = Logs::capture();
    let app = memory_app(&SessionClock::manual(T0)).await;
    let session = app.session();
    let cookie = login(&session).await;
    let token = token(&session).await;
    let response = session.post("/logout").header("x-csrf-token", &token).await;
    response.assert_status(StatusCode::NO_CONTENT);
    assert!(
        !session.cookies().contains_key(COOKIE),
        "the cookie is cleared"
    );
    // The attacker's copy of the cookie.
    session.set_cookie(COOKIE, cookie);
    session
        .get("/me")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    assert!(
        logs.has_line(&["cortex::auth", "session cookie refused", "unknown"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn login_rotates_the_session_id_against_fixation() {
    let (logs, _guard) = Logs::capture();
    let app = memory_app(&SessionClock::manual(T0)).await;
    // The attacker gets a pre-login session of their own and plants its cookie in the victim's
    // browser.
    let attacker = app.session();
    token(&attacker).await;
    let planted = attacker.cookies()[COOKIE].clone();
    let victim = app.session();
    victim.set_cookie(COOKIE, planted.clone());
    victim
        .get("/me")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    let after = login(&victim).await;
    assert_ne!(after, planted, "login must issue a new session id");
    victim
        .get("/me")
        .await
        .assert_status(StatusCode::OK)
        .assert_text("ada");
    // The planted id was deleted: it is not logged in, and it is not even a session any more.
    attacker
        .get("/me")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    assert!(
        logs.has_line(&["cortex::auth", "unknown"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_cross_site_post_without_the_token_is_refused_with_403() {
    let (logs, _guard) = Logs::capture();
    let app = memory_app(&SessionClock::manual(T0)).await;
    let session = app.session();
    login(&session).await;
    let response = session.post("/action").await;
    response.assert_problem(StatusCode::FORBIDDEN);
    assert!(
        logs.has_line(&[
            "cortex::auth",
            "csrf",
            "x-csrf-token header is missing",
            "/action"
        ]),
        "{}",
        logs.text()
    );
    // A wrong token.
    session
        .post("/action")
        .header("x-csrf-token", "not-the-token")
        .await
        .assert_status(StatusCode::FORBIDDEN);
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
    let app = memory_app(&SessionClock::manual(T0)).await;
    let session = app.session();
    login(&session).await;
    let token = token(&session).await;
    session
        .post("/action")
        .header("x-csrf-token", &token)
        .header("sec-fetch-site", "cross-site")
        .await
        .assert_status(StatusCode::FORBIDDEN);
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
        session
            .post("/action")
            .header("host", "localhost")
            .header("x-csrf-token", &token)
            .header(header, value)
            .await
            .assert_status(StatusCode::FORBIDDEN);
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
    let app = memory_app(&SessionClock::manual(T0)).await;
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
    // A request that no cookie authenticates is not the CSRF checks' business.
    app.post("/action")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_token_changes_at_login() {
    let app = memory_app(&SessionClock::manual(T0)).await;
    let session = app.session();
    let before = token(&session).await;
    login(&session).await;
    let after = token(&session).await;
    assert_ne!(before, after);
    session
        .post("/action")
        .header("x-csrf-token", &before)
        .await
        .assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_idle_session_expires() {
    let (logs, _guard) = Logs::capture();
    let clock = SessionClock::manual(T0);
    let app = memory_app(&clock).await;
    let session = app.session();
    login(&session).await;
    // Sliding: used every 29 minutes, it lives on past 30.
    for _ in 0..3 {
        clock.advance(Duration::from_secs(29 * 60));
        session.get("/me").await.assert_status(StatusCode::OK);
    }
    clock.advance(Duration::from_secs(30 * 60));
    session
        .get("/me")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
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
    let clock = SessionClock::manual(T0);
    let app = memory_app(&clock).await;
    let session = app.session();
    let cookie = login(&session).await;
    // Used every 20 minutes: never idle, but 2 hours after login it ends.
    for _ in 0..5 {
        clock.advance(Duration::from_secs(20 * 60));
        session.get("/me").await.assert_status(StatusCode::OK);
    }
    clock.advance(Duration::from_secs(20 * 60));
    session.set_cookie(COOKIE, cookie);
    session
        .get("/me")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    assert!(
        logs.has_line(&["cortex::auth", "expired"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_cookie_from_an_old_key_works_while_the_key_is_listed() {
    let (logs, _guard) = Logs::capture();
    let clock = SessionClock::manual(T0);
    let store = Arc::new(MemorySessionStore::new());
    let before = app(authenticator(&[KEY_A], store.clone(), &clock)).await;
    let rotated = app(authenticator(&[KEY_B, KEY_A], store.clone(), &clock)).await;
    let after = app(authenticator(&[KEY_B], store, &clock)).await;
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
    session.set_cookie(COOKIE, old);
    session
        .get("/me")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    assert!(
        logs.has_line(&["cortex::auth", "signature"]),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn the_cookie_has_its_attributes() {
    let app = memory_app(&SessionClock::manual(T0)).await;
    let response = app.post("/login").await;
    let cookie = response.header("set-cookie").unwrap().to_string();
    assert!(cookie.starts_with("session="), "{cookie}");
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=7200"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // A request that touches nothing gets no cookie (no session made for every visitor).
    assert!(app.get("/me").await.header("set-cookie").is_none());
}

/// The flow every store must hold: login, values, sliding touch, logout, replay refused.
async fn store_flow(store: impl SessionStore) {
    let clock = SessionClock::manual(T0);
    let app = app(authenticator(&[KEY_A], store, &clock)).await;
    let session = app.session();
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
    clock.advance(Duration::from_secs(25 * 60));
    session.get("/me").await.assert_status(StatusCode::OK);
    clock.advance(Duration::from_secs(25 * 60));
    session.get("/value").await.assert_text("hello");
    session
        .post("/logout")
        .header("x-csrf-token", &token)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    session.set_cookie(COOKIE, cookie);
    session
        .get("/me")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn store_memory() {
    store_flow(MemorySessionStore::new()).await;
}

async fn database_flow(url: &str) {
    let database = cortex_data::testing::TestDatabase::for_url(url).await;
    store_flow(cortex_auth::DatabaseSessionStore::new(
        database.db().clone(),
    ))
    .await;
    database.drop_now().await;
}

#[tokio::test]
async fn store_sqlite() {
    database_flow("sqlite::memory:").await;
}

#[tokio::test]
async fn store_postgres() {
    database_flow("postgres://postgres@127.0.0.1:5432/test").await;
}

#[tokio::test]
async fn store_mariadb() {
    database_flow("mysql://root@127.0.0.1:3306/test").await;
}

#[tokio::test]
async fn store_redis() {
    let prefix = format!("cortex_test:{}:{}:session:", std::process::id(), T0);
    store_flow(cortex_auth::RedisSessionStore::new("redis://127.0.0.1:6379", &prefix).unwrap())
        .await;
}

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
