//! Fixtures of the auth benchmarks: an app with a route that verifies `Authorization: Bearer`
//! with [`Jwt`] (HS256 or EdDSA) next to an unauthenticated route, and their requests.
//!
//! Until the authentication layer and the `Authenticated` guard are on the branch, the guarded
//! route verifies the token in its handler (what the bearer authenticator does), so the figure
//! is the app's stack plus `Jwt::verify` and the `CurrentUser` it builds.

use cortex_auth::{AuthPlugin, CurrentUser, Jwt};
use cortex_core::App;
use cortex_core::axum::Router;
use cortex_core::axum::body::Body;
use cortex_core::axum::routing::get;
use cortex_core::config::Config;
use cortex_di::Inject;
use http::{HeaderMap, Request, StatusCode};

/// The response body of both routes.
pub const BODY: &str = "ok";

/// An HS256 secret.
const SECRET: &str = "a benchmark secret of at least thirty-two bytes";

/// The EdDSA test key of cortex-auth's tests.
const ED25519: &str = include_str!("../../../cortex-auth/tests/auth/keys/ed25519.pem");

/// Which key signs the bench's tokens.
#[derive(Debug, Clone, Copy)]
pub enum Key {
    /// HS256.
    Hs256,
    /// EdDSA (Ed25519).
    EdDsa,
}

/// The `[auth.jwt]` section for `key`.
fn toml(key: Key) -> String {
    match key {
        Key::Hs256 => format!("[auth.jwt]\nsecret = '{SECRET}'\n"),
        Key::EdDsa => format!(
            "[auth.jwt]\n[[auth.jwt.keys]]\nkid = 'ed'\nalgorithm = 'EdDSA'\nprivate_key = '''{ED25519}'''\n"
        ),
    }
}

/// The [`Jwt`] service for `key` and a token it issued (for a user with two roles).
pub fn jwt(key: Key) -> (Jwt, String) {
    let config = Config::from_toml(&toml(key)).expect("the bench's configuration");
    let jwt = Jwt::new(
        &cortex_auth::AuthConfig::from_config(&config)
            .expect("[auth]")
            .jwt,
    )
    .expect("the bench's keys");
    let token = jwt.issue(&user()).expect("a token").token;
    (jwt, token)
}

/// The app (with the [`AuthPlugin`]): `GET /public` answers at once, `GET /private` verifies the
/// bearer token first (`401` without a valid one).
pub async fn router(key: Key) -> (Router, String) {
    let config = Config::from_toml(&toml(key)).expect("the bench's configuration");
    let routes = Router::new()
        .route("/public", get(|| async { BODY }))
        .route(
            "/private",
            get(|jwt: Inject<Jwt>, headers: HeaderMap| async move {
                let token = headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "));
                match token.map(|t| jwt.verify(t)) {
                    Some(Ok(user)) => {
                        std::hint::black_box(user);
                        (StatusCode::OK, BODY)
                    }
                    _ => (StatusCode::UNAUTHORIZED, "no"),
                }
            }),
        );
    let app = App::with_config(config)
        .plugin(AuthPlugin)
        .router(routes)
        .build()
        .await
        .expect("the bench app");
    let jwt = app.container().get::<Jwt>().expect("Jwt");
    let token = jwt.issue(&user()).expect("a token").token;
    (app.router(), token)
}

fn user() -> CurrentUser {
    CurrentUser::builder("user-42")
        .roles(["editor", "reader"])
        .permissions(["posts:write"])
        .build()
}

/// `GET /public`.
pub fn public_request() -> Request<Body> {
    Request::get("/public")
        .body(Body::empty())
        .expect("a request")
}

/// `GET /private` with `token`.
pub fn private_request(token: &str) -> Request<Body> {
    Request::get("/private")
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("a request")
}
