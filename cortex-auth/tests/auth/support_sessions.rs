//! The sessions tests' app: a real `App` with the `AuthPlugin` configured by `[auth.sessions]`,
//! a controller whose routes log in, read the user (behind the `Authenticated` guard), log out,
//! hand out the CSRF token and keep a value; the clock the plugin's authenticator reads is the
//! `SessionClock` bound in the container.

use std::time::Duration;

use cortex_auth::{
    AuthPlugin, Authenticated, CsrfToken, CurrentUser, Session, SessionClock, SessionError,
    Sessions,
};
use cortex_core::App;
use cortex_core::config::Config;
use cortex_core::http::HttpError;
use cortex_core::testing::{TestApp, TestResponse};
use cortex_data::testing::TestDatabase;
use cortex_di::{Inject, Provider};
use cortex_macros::{controller, routes};
use http::StatusCode;

/// The profile of this module's controller: other modules' apps do not discover it.
const PROFILE: &str = "auth-sessions-test";

/// A key (base64 of 32 bytes).
pub(crate) const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Another key.
pub(crate) const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
/// The clock's start.
pub(crate) const T0: u64 = 1_700_000_000;
/// The session cookie's name (`secure = false`).
pub(crate) const COOKIE: &str = "session";

/// The routes: `POST /login` (as the user the body names, `ada` when empty), `GET /me`
/// (guarded), `POST /action` (guarded), `POST /logout`, `POST /logout-everywhere`, `GET /csrf`,
/// `PUT|GET /value`, `POST /revoke-mine-then-write` (revokes the user's sessions through
/// `Sessions`, then writes to its own).
#[controller("/", profile = "auth-sessions-test")]
struct SessionsController;

#[routes]
impl SessionsController {
    #[post("/login")]
    async fn login(&self, session: Session, body: String) -> &'static str {
        let id = if body.is_empty() {
            "ada"
        } else {
            body.as_str()
        };
        session.login(
            &CurrentUser::builder(id)
                .roles(["admin"])
                .permissions(["posts:write"])
                .build(),
        );
        "logged in"
    }

    #[get("/me")]
    #[guard(Authenticated)]
    async fn me(&self, user: CurrentUser) -> String {
        user.id().to_string()
    }

    #[post("/action")]
    #[guard(Authenticated)]
    async fn action(&self, user: CurrentUser) -> String {
        format!("done by {}", user.id())
    }

    #[post("/logout")]
    async fn logout(&self, session: Session) -> StatusCode {
        session.logout();
        StatusCode::NO_CONTENT
    }

    #[post("/logout-everywhere")]
    #[guard(Authenticated)]
    async fn logout_everywhere(&self, session: Session) -> StatusCode {
        session.logout_everywhere();
        StatusCode::NO_CONTENT
    }

    #[post("/logout-others")]
    #[guard(Authenticated)]
    async fn logout_others(&self, user: CurrentUser, session: Session) -> StatusCode {
        session.logout_everywhere();
        session.login(&user);
        StatusCode::NO_CONTENT
    }

    #[get("/csrf")]
    async fn csrf(&self, token: CsrfToken) -> String {
        token.as_str().to_string()
    }

    #[put("/value")]
    async fn put_value(&self, session: Session, body: String) -> Result<StatusCode, HttpError> {
        match session.insert("note", body) {
            Ok(()) => Ok(StatusCode::NO_CONTENT),
            Err(SessionError::TooLarge { .. }) => Ok(StatusCode::PAYLOAD_TOO_LARGE),
            Err(other) => Err(other.into()),
        }
    }

    #[get("/value")]
    async fn get_value(&self, session: Session) -> String {
        session.get::<String>("note").unwrap_or_default()
    }

    #[post("/revoke-mine-then-write")]
    #[guard(Authenticated)]
    async fn revoke_mine_then_write(
        &self,
        user: CurrentUser,
        session: Session,
        sessions: Inject<Sessions>,
    ) -> Result<String, HttpError> {
        let revoked = sessions
            .revoke_user(user.id())
            .await
            .map_err(|_| HttpError::from_status(StatusCode::SERVICE_UNAVAILABLE))?;
        session.insert("note", "written after the revocation")?;
        Ok(revoked.to_string())
    }
}

/// Where the app keeps its sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Store {
    Memory,
    Sqlite,
    Postgres,
    MariaDb,
    Redis,
}

/// An app's sessions configuration.
pub(crate) struct Setup {
    pub(crate) keys: Vec<&'static str>,
    pub(crate) store: Store,
    /// The Redis prefix (a test's own, so that tests run in parallel).
    pub(crate) prefix: String,
    /// More `[auth.sessions]` lines.
    pub(crate) extra: String,
}

impl Setup {
    pub(crate) fn new(store: Store) -> Setup {
        Setup {
            keys: vec![KEY_A],
            store,
            prefix: unique_prefix(),
            extra: String::new(),
        }
    }

    pub(crate) fn keys(mut self, keys: &[&'static str]) -> Setup {
        self.keys = keys.to_vec();
        self
    }

    fn toml(&self) -> String {
        let keys = self
            .keys
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let store = match self.store {
            Store::Memory => "memory",
            Store::Sqlite | Store::Postgres | Store::MariaDb => "database",
            Store::Redis => "redis",
        };
        format!(
            "[auth]\nredis_url = 'redis://127.0.0.1:6379'\n[auth.sessions]\nenabled = true\nsecure = false\nidle_timeout = '30m'\nabsolute_timeout = '2h'\ntrusted_origins = ['https://admin.example.com']\nsecret_keys = [{keys}]\nstore = '{store}'\nredis_prefix = '{}'\n{}",
            self.prefix, self.extra
        )
    }
}

/// A Redis key prefix no other test uses.
pub(crate) fn unique_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("cortex_test:{}:{nanos}:session:", std::process::id())
}

/// A running app, and the test database it keeps its sessions in (dropped by `close`).
pub(crate) struct Fixture {
    pub(crate) app: TestApp,
    pub(crate) clock: SessionClock,
    database: Option<TestDatabase>,
}

impl Fixture {
    /// Drops the test database, if any.
    pub(crate) async fn close(self) {
        if let Some(database) = self.database {
            database.drop_now().await;
        }
    }
}

/// The app `setup` configures, its time read from `clock`, on `database` when given (the
/// database stores).
pub(crate) async fn app_on(
    setup: &Setup,
    clock: &SessionClock,
    database: Option<&TestDatabase>,
) -> TestApp {
    let mut toml = setup.toml();
    if let Some(database) = database {
        toml.push_str(&format!("\n[database]\nurl = '{}'\n", database.url()));
    }
    let app = App::with_config(Config::from_toml(&toml).unwrap()).container(|b| {
        b.profile(PROFILE);
    });
    let app = match database {
        Some(database) => database.apply(app.plugin(cortex_data::DataPlugin)),
        None => app,
    };
    let app = app
        .plugin(AuthPlugin)
        .provide(Provider::value(clock.clone()))
        .controller::<SessionsController>();
    TestApp::new(app).await
}

/// The app on `store` (a fresh database for the database stores), its clock at [`T0`].
pub(crate) async fn fixture(setup: Setup) -> Fixture {
    let database = match setup.store {
        Store::Memory | Store::Redis => None,
        Store::Sqlite => Some(TestDatabase::for_url("sqlite::memory:").await),
        Store::Postgres => {
            Some(TestDatabase::for_url("postgres://postgres@127.0.0.1:5432/test").await)
        }
        Store::MariaDb => Some(TestDatabase::for_url("mysql://root@127.0.0.1:3306/test").await),
    };
    let clock = SessionClock::manual(T0);
    let app = app_on(&setup, &clock, database.as_ref()).await;
    Fixture {
        app,
        clock,
        database,
    }
}

/// The memory-store app, its clock at [`T0`].
pub(crate) async fn memory() -> Fixture {
    fixture(Setup::new(Store::Memory)).await
}

/// Words a refusal's body must not say: the reasons are logged, never sent.
const LEAKS: &[&str] = &[
    "signature",
    "expired",
    "unknown",
    "malformed",
    "revoked",
    "Sec-Fetch-Site",
    "Origin",
    "Referer",
    "x-csrf-token",
    "missing",
    "wrong",
];

/// Asserts a problem+json refusal with `status` that says nothing of why (nor echoes `secret`).
pub(crate) fn assert_refused(response: &TestResponse, status: StatusCode, secret: &str) {
    let body = response.text();
    assert_eq!(response.status(), status, "{body}");
    assert!(
        response
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/problem+json")),
        "{:?}",
        response.headers()
    );
    for leak in LEAKS {
        assert!(!body.contains(leak), "the body says `{leak}`: {body}");
    }
    assert!(
        secret.is_empty() || !body.contains(secret),
        "the body echoes the cookie: {body}"
    );
}

/// `n` minutes.
pub(crate) fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}
