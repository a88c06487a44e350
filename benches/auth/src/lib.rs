//! Fixtures of the auth benchmarks: one controller with a public route, a route guarded by
//! `Authenticated` and one guarded by `Role("admin")`, served by an app with the [`AuthPlugin`]
//! (bearer JWT, HS256 or EdDSA: the real authentication layer and guards) and by the same app
//! without the plugin; the requests of each [`Variant`].
//!
//! | benchmark | what it measures |
//! | --- | --- |
//! | `jwt_instructions` | instructions per request (and per `Jwt::verify`), in process, under callgrind |
//! | `jwt_time` | CPU time per request of the same variants, and the throughput ratio to the unauthenticated route |
//! | `passwords` | argon2id hash and verify at the defaults |
//!
//! `scripts/bench --auth` runs the first two; `docs/src/performance.md` reports the figures.

use std::time::Duration;

use cortex_auth::{AuthPlugin, Authenticated, CurrentUser, Jwt, Role};
use cortex_core::App;
use cortex_core::axum::Router;
use cortex_core::axum::body::Body;
use cortex_core::config::Config;
use cortex_macros::{controller, routes};
use http::Request;

/// The response body of every route.
pub const BODY: &str = "ok";

/// An HS256 secret.
const SECRET: &str = "a benchmark secret of at least thirty-two bytes";

/// The EdDSA test key of cortex-auth's tests.
const ED25519: &str = include_str!("../../../cortex-auth/tests/auth/keys/ed25519.pem");

/// Which key signs the bench's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// HS256.
    Hs256,
    /// EdDSA (Ed25519).
    EdDsa,
}

/// The routes every variant is served by.
#[controller("/")]
pub struct BenchController;

#[routes]
impl BenchController {
    /// Open to anyone.
    #[get("/public")]
    #[public]
    async fn public(&self) -> &'static str {
        BODY
    }

    /// Any authenticated user.
    #[get("/members")]
    #[guard(Authenticated)]
    async fn members(&self) -> &'static str {
        BODY
    }

    /// Users with the `admin` role.
    #[get("/admin")]
    #[guard(Role("admin"))]
    async fn admin(&self) -> &'static str {
        BODY
    }
}

/// What a benchmark sends, to which app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `GET /public` in the app without the [`AuthPlugin`]: the baseline.
    NoPlugin,
    /// `GET /public` without a credential in the app with the plugin (HS256 keys): the layer's
    /// own cost, when no authenticator finds a credential.
    Unauthenticated,
    /// `GET /members` (`Authenticated`) with a bearer token signed with the key.
    Authenticated(Key),
    /// `GET /admin` (`Role("admin")`) with a bearer token signed with the key.
    Admin(Key),
    /// `GET /members` with a token never seen before on every request (a verification each
    /// time, where the others repeat one client's token).
    FreshToken(Key),
}

impl Variant {
    /// Every variant, in the order the benchmarks report them.
    pub const ALL: [Variant; 8] = [
        Variant::NoPlugin,
        Variant::Unauthenticated,
        Variant::Authenticated(Key::Hs256),
        Variant::Admin(Key::Hs256),
        Variant::FreshToken(Key::Hs256),
        Variant::Authenticated(Key::EdDsa),
        Variant::Admin(Key::EdDsa),
        Variant::FreshToken(Key::EdDsa),
    ];

    /// The name the benchmarks print.
    pub fn name(self) -> &'static str {
        match self {
            Variant::NoPlugin => "no_plugin",
            Variant::Unauthenticated => "unauthenticated",
            Variant::Authenticated(Key::Hs256) => "authenticated_hs256",
            Variant::Admin(Key::Hs256) => "admin_hs256",
            Variant::Authenticated(Key::EdDsa) => "authenticated_eddsa",
            Variant::Admin(Key::EdDsa) => "admin_eddsa",
            Variant::FreshToken(Key::Hs256) => "fresh_token_hs256",
            Variant::FreshToken(Key::EdDsa) => "fresh_token_eddsa",
        }
    }

    /// The key of the app's `[auth.jwt]` (`None`: no plugin).
    fn key(self) -> Option<Key> {
        match self {
            Variant::NoPlugin => None,
            Variant::Unauthenticated => Some(Key::Hs256),
            Variant::Authenticated(key) | Variant::Admin(key) | Variant::FreshToken(key) => {
                Some(key)
            }
        }
    }

    fn path(self) -> &'static str {
        match self {
            Variant::NoPlugin | Variant::Unauthenticated => "/public",
            Variant::Authenticated(_) | Variant::FreshToken(_) => "/members",
            Variant::Admin(_) => "/admin",
        }
    }

    /// The variant's app and a maker of its requests (each one answered `200` with [`BODY`]).
    pub async fn app(self) -> (Router, impl Fn() -> Request<Body>) {
        let app = match self.key() {
            None => App::with_config(Config::from_toml("").expect("an empty configuration")),
            Some(key) => {
                App::with_config(Config::from_toml(&toml(key)).expect("the bench's configuration"))
                    .plugin(AuthPlugin)
            }
        };
        let app = app
            .controller::<BenchController>()
            .build()
            .await
            .expect("the bench app");
        let jwt = self
            .key()
            .map(|_| app.container().get::<Jwt>().expect("Jwt"));
        let new_token = move || issue(jwt.as_ref().expect("an app with the AuthPlugin"));
        let token = match self {
            Variant::Authenticated(_) | Variant::Admin(_) => Some(new_token()),
            _ => None,
        };
        let fresh = matches!(self, Variant::FreshToken(_));
        let path = self.path();
        let request = move || {
            let request = Request::get(path);
            let token = if fresh {
                Some(new_token())
            } else {
                token.clone()
            };
            match token {
                Some(token) => {
                    request.header(http::header::AUTHORIZATION, format!("Bearer {token}"))
                }
                None => request,
            }
            .body(Body::empty())
            .expect("a request")
        };
        (app.router(), request)
    }
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

/// The [`Jwt`] service for `key` and a token it issued.
pub fn jwt(key: Key) -> (Jwt, String) {
    let config = Config::from_toml(&toml(key)).expect("the bench's configuration");
    let jwt = Jwt::new(
        &cortex_auth::AuthConfig::from_config(&config)
            .expect("[auth]")
            .jwt,
    )
    .expect("the bench's keys");
    let token = issue(&jwt);
    (jwt, token)
}

/// A new token from `jwt` (a new `jti` each time).
pub fn issue(jwt: &Jwt) -> String {
    jwt.issue(&user()).expect("a token").token
}

/// The user of the tokens: an admin with another role and a permission.
fn user() -> CurrentUser {
    CurrentUser::builder("user-42")
        .roles(["admin", "editor"])
        .permissions(["posts:write"])
        .build()
}

/// CPU time of the calling thread so far (`/proc/thread-self/schedstat`, nanoseconds; Linux).
pub fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat is readable (Linux)");
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("schedstat starts with nanoseconds on CPU");
    Duration::from_nanos(nanos)
}
