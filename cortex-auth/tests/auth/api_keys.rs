//! API keys: the attacks (revoked, expired, wrong secret, malformed, another app's prefix), the
//! storage (only the digest), scopes as permissions, on every store — memory, SQLite,
//! PostgreSQL, MariaDB and Redis — with the same test bodies; then the plugin's wiring.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use cortex_auth::api_key::{
    ApiKeyAuthenticator, ApiKeys, DbApiKeyStore, MemoryApiKeyStore, NewApiKey, RedisApiKeyStore,
};
use cortex_auth::{AuthFailure, AuthMethod, AuthPlugin, Authenticator, CurrentUser};
use cortex_core::App;
use cortex_core::config::Config;
use cortex_data::sqlx::{self, AssertSqlSafe, Row as _};
use cortex_data::testing::TestDatabase;
use cortex_data::{Backend, DatabaseConfig};
use http::Extensions;
use sha2::{Digest, Sha256};

use crate::support::Logs;

const REDIS_URL: &str = "redis://127.0.0.1:6379";
const PREFIX: &str = "ck_test";

#[derive(Debug, Clone, Copy)]
enum Kind {
    Memory,
    Sqlite,
    Postgres,
    MariaDb,
    Redis,
}

/// One test's keys on one store, and what the test needs to look at the store's raw data.
struct Fixture {
    keys: ApiKeys,
    raw: Raw,
}

enum Raw {
    Memory(std::sync::Arc<MemoryApiKeyStore>),
    Db(TestDatabase),
    Redis(String),
}

/// A prefix no other test uses (Redis is shared by every test process).
fn unique() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "test:api_keys:{}:{}:{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A store shared between the fixture and the test's inspection.
struct Shared(std::sync::Arc<MemoryApiKeyStore>);

impl cortex_auth::api_key::ApiKeyStore for Shared {
    async fn insert(
        &self,
        r: cortex_auth::api_key::ApiKeyRecord,
    ) -> Result<(), cortex_di::BoxError> {
        self.0.insert(r).await
    }
    async fn find(
        &self,
        id: &str,
    ) -> Result<Option<cortex_auth::api_key::ApiKeyRecord>, cortex_di::BoxError> {
        self.0.find(id).await
    }
    async fn list(
        &self,
        owner: Option<&str>,
    ) -> Result<Vec<cortex_auth::api_key::ApiKeyInfo>, cortex_di::BoxError> {
        self.0.list(owner).await
    }
    async fn revoke(&self, id: &str, at: SystemTime) -> Result<bool, cortex_di::BoxError> {
        self.0.revoke(id, at).await
    }
    async fn touch(&self, id: &str, at: SystemTime) -> Result<(), cortex_di::BoxError> {
        self.0.touch(id, at).await
    }
}

async fn database(url: &str) -> TestDatabase {
    let settings = DatabaseConfig {
        max_connections: 2,
        ..DatabaseConfig::default()
    };
    TestDatabase::try_for_url(url, settings)
        .await
        .unwrap_or_else(|e| panic!("no test database at {url}: {e}\nhint: run `scripts/services`"))
}

async fn fixture(kind: Kind) -> Fixture {
    use cortex_auth::api_key::ApiKeyStore as _;
    let db_fixture = |database: TestDatabase| async move {
        let store = DbApiKeyStore::new(database.db().clone());
        store.prepare().await.expect("the table is created");
        // Twice: idempotent, as every start of the app does it.
        store.prepare().await.expect("the table is created again");
        Fixture {
            keys: ApiKeys::new(store, PREFIX).unwrap(),
            raw: Raw::Db(database),
        }
    };
    match kind {
        Kind::Memory => {
            let store = std::sync::Arc::new(MemoryApiKeyStore::new());
            Fixture {
                keys: ApiKeys::new(Shared(store.clone()), PREFIX).unwrap(),
                raw: Raw::Memory(store),
            }
        }
        Kind::Sqlite => db_fixture(database("sqlite::memory:").await).await,
        Kind::Postgres => {
            db_fixture(database("postgres://postgres@127.0.0.1:5432/test").await).await
        }
        Kind::MariaDb => db_fixture(database("mysql://root@127.0.0.1:3306/test").await).await,
        Kind::Redis => {
            let prefix = unique();
            let store = RedisApiKeyStore::new(REDIS_URL, &prefix).unwrap();
            store
                .prepare()
                .await
                .expect("Redis answers on 127.0.0.1:6379 (hint: run `scripts/services`)");
            Fixture {
                keys: ApiKeys::new(store, PREFIX).unwrap(),
                raw: Raw::Redis(prefix),
            }
        }
    }
}

impl Fixture {
    /// Every stored text field of the key `id`, by name, as the store holds it.
    async fn raw_fields(&self, id: &str) -> Vec<(String, String)> {
        match &self.raw {
            Raw::Memory(store) => {
                use cortex_auth::api_key::ApiKeyStore as _;
                let record = store.find(id).await.unwrap().unwrap();
                let hex: String = record.hash.iter().map(|b| format!("{b:02x}")).collect();
                vec![
                    ("secret_sha256".into(), hex),
                    ("name".into(), record.info.name),
                    ("owner".into(), record.info.owner),
                    ("scopes".into(), record.info.scopes.join(" ")),
                ]
            }
            Raw::Db(database) => {
                let db = database.db();
                let columns = ["secret_sha256", "key_name", "owner_id", "scopes"];
                let select = |p: &str| {
                    format!(
                        "SELECT {} FROM cortex_auth_api_keys WHERE id = {p}",
                        columns.join(", ")
                    )
                };
                let values: Vec<String> = match db.backend() {
                    Backend::Sqlite => {
                        let row = sqlx::query(AssertSqlSafe(select("?")))
                            .bind(id)
                            .fetch_one(db.sqlite().unwrap())
                            .await
                            .unwrap();
                        columns.iter().map(|c| row.get::<String, _>(*c)).collect()
                    }
                    Backend::Postgres => {
                        let row = sqlx::query(AssertSqlSafe(select("$1")))
                            .bind(id)
                            .fetch_one(db.postgres().unwrap())
                            .await
                            .unwrap();
                        columns.iter().map(|c| row.get::<String, _>(*c)).collect()
                    }
                    Backend::MySql => {
                        let row = sqlx::query(AssertSqlSafe(select("?")))
                            .bind(id)
                            .fetch_one(db.mysql().unwrap())
                            .await
                            .unwrap();
                        columns.iter().map(|c| row.get::<String, _>(*c)).collect()
                    }
                };
                columns.iter().map(|c| c.to_string()).zip(values).collect()
            }
            Raw::Redis(prefix) => {
                let client = redis::Client::open(REDIS_URL).unwrap();
                let mut conn = client.get_multiplexed_async_connection().await.unwrap();
                let fields: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
                    .arg(format!("{prefix}:key:{id}"))
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                let mut fields: Vec<_> = fields.into_iter().collect();
                fields.sort();
                fields
            }
        }
    }

    async fn cleanup(self) {
        match self.raw {
            Raw::Memory(_) => {}
            Raw::Db(database) => database.drop_now().await,
            Raw::Redis(prefix) => {
                let client = redis::Client::open(REDIS_URL).unwrap();
                let mut conn = client.get_multiplexed_async_connection().await.unwrap();
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{prefix}:*"))
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                if !keys.is_empty() {
                    redis::cmd("DEL")
                        .arg(keys)
                        .query_async::<()>(&mut conn)
                        .await
                        .unwrap();
                }
            }
        }
    }
}

/// The secret part of a key.
fn secret_of(new: &NewApiKey) -> &str {
    new.key.rsplit('_').next().unwrap()
}

fn authenticator(keys: &ApiKeys) -> ApiKeyAuthenticator {
    ApiKeyAuthenticator::new(keys.clone(), "x-api-key").unwrap()
}

async fn authenticate(
    authn: &ApiKeyAuthenticator,
    headers: &[(&str, &[u8])],
) -> Result<Option<CurrentUser>, AuthFailure> {
    let mut request = http::Request::get("/");
    for (name, value) in headers {
        request = request.header(*name, http::HeaderValue::from_bytes(value).unwrap());
    }
    let (mut parts, ()) = request.body(()).unwrap().into_parts();
    authn.authenticate(&mut parts, &mut Extensions::new()).await
}

/// Runs each test body once per store.
macro_rules! on_every_store {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            use super::Kind;
            #[tokio::test]
            async fn memory() { super::$body(Kind::Memory).await }
            #[tokio::test]
            async fn sqlite() { super::$body(Kind::Sqlite).await }
            #[tokio::test]
            async fn postgres() { super::$body(Kind::Postgres).await }
            #[tokio::test]
            async fn mariadb() { super::$body(Kind::MariaDb).await }
            #[tokio::test]
            async fn redis() { super::$body(Kind::Redis).await }
        }
    )*};
}

on_every_store!(
    a_created_key_authenticates_its_owner_with_its_scopes,
    a_revoked_key_is_refused_and_logged,
    an_expired_key_is_refused_and_logged,
    the_right_id_with_a_wrong_secret_is_refused,
    malformed_keys_are_refused_without_asking_the_store,
    only_the_digest_of_the_secret_is_stored,
    last_used_is_written_at_most_once_a_minute,
    keys_are_listed_by_owner,
);

async fn a_created_key_authenticates_its_owner_with_its_scopes(kind: Kind) {
    let f = fixture(kind).await;
    let new = f
        .keys
        .create("user-42", "ci", ["posts:read", "comments:*"], None)
        .await
        .unwrap();
    assert!(new.key.starts_with("ck_test_"), "{}", new.key);
    assert_eq!(new.key.len(), "ck_test_".len() + 12 + 1 + 43);
    assert_eq!(new.info.expires_at, None);

    let authn = authenticator(&f.keys);
    for headers in [
        vec![("x-api-key", new.key.as_bytes())],
        vec![(
            "authorization",
            format!("ApiKey {}", new.key).into_bytes().leak() as &[u8],
        )],
    ] {
        let user = authenticate(&authn, &headers).await.unwrap().unwrap();
        assert_eq!(user.id(), "user-42");
        assert_eq!(user.method(), AuthMethod::ApiKey);
        assert_eq!(user.credential_id(), Some(new.info.id.as_str()));
        // Scopes are the user's permissions, wildcards included; nothing more.
        assert!(user.has_permission("posts:read"));
        assert!(user.has_permission("comments:delete"));
        assert!(!user.has_permission("posts:delete"));
        assert_eq!(
            user.claim("api_key_name").and_then(|v| v.as_str()),
            Some("ci")
        );
    }
    // No key, or another mechanism's credential: not this authenticator's business.
    assert!(authenticate(&authn, &[]).await.unwrap().is_none());
    assert!(
        authenticate(&authn, &[("authorization", b"Bearer abc")])
            .await
            .unwrap()
            .is_none()
    );
    f.cleanup().await;
}

async fn a_revoked_key_is_refused_and_logged(kind: Kind) {
    let f = fixture(kind).await;
    let new = f.keys.create("7", "old", ["a"], None).await.unwrap();
    assert!(f.keys.verify(&new.key).await.is_ok());
    assert!(f.keys.revoke(&new.info.id).await.unwrap());
    // Revoking again keeps the first time, and says the key exists.
    let first = f.keys.list(None).await.unwrap()[0].revoked_at;
    assert!(first.is_some());
    assert!(f.keys.revoke(&new.info.id).await.unwrap());
    assert_eq!(f.keys.list(None).await.unwrap()[0].revoked_at, first);
    assert!(!f.keys.revoke("AAAAAAAAAAAA").await.unwrap());

    let (logs, _guard) = Logs::capture();
    let refused = authenticate(
        &authenticator(&f.keys),
        &[("x-api-key", new.key.as_bytes())],
    )
    .await;
    assert!(matches!(refused, Err(AuthFailure::Revoked)), "{refused:?}");
    assert!(
        logs.has_line(&["cortex::auth", &new.info.id, "revoked"]),
        "{}",
        logs.text()
    );
    assert!(
        !logs.text().contains(secret_of(&new)),
        "the secret was logged"
    );
    f.cleanup().await;
}

async fn an_expired_key_is_refused_and_logged(kind: Kind) {
    let f = fixture(kind).await;
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    // Made two days ago for one day: expired yesterday.
    let old = f
        .keys
        .create_at("7", "old", ["a"], Some(day), now - 2 * day)
        .await
        .unwrap();
    // Made now for an hour: valid now, expired in two hours (the clock is the test's).
    let hour = Duration::from_secs(3600);
    let short = f
        .keys
        .create("7", "short", ["a"], Some(hour))
        .await
        .unwrap();
    assert!(f.keys.verify_at(&short.key, now + hour / 2).await.is_ok());

    let (logs, _guard) = Logs::capture();
    let refused = f.keys.verify(&old.key).await;
    assert!(matches!(refused, Err(AuthFailure::Expired)), "{refused:?}");
    assert!(
        logs.has_line(&["cortex::auth", &old.info.id, "expired"]),
        "{}",
        logs.text()
    );
    let refused = f.keys.verify_at(&short.key, now + 2 * hour).await;
    assert!(matches!(refused, Err(AuthFailure::Expired)), "{refused:?}");
    assert!(
        logs.has_line(&["cortex::auth", &short.info.id, "expired"]),
        "{}",
        logs.text()
    );
    f.cleanup().await;
}

async fn the_right_id_with_a_wrong_secret_is_refused(kind: Kind) {
    let f = fixture(kind).await;
    let new = f.keys.create("7", "ci", ["a"], None).await.unwrap();
    let secret = secret_of(&new);
    // The same id, a secret of the right shape: one character changed, and another altogether.
    let last = secret.chars().last().unwrap();
    let one_off = format!("{}{}", &secret[..42], if last == 'a' { 'b' } else { 'a' });
    let other = "Z".repeat(43);
    let (logs, _guard) = Logs::capture();
    for wrong in [one_off, other] {
        let forged = format!("{PREFIX}_{}_{wrong}", new.info.id);
        let refused = f.keys.verify(&forged).await;
        // Answered as an unknown key: nothing says the id exists.
        assert!(matches!(refused, Err(AuthFailure::Unknown)), "{refused:?}");
        assert!(
            !logs.text().contains(&wrong),
            "the presented secret was logged"
        );
    }
    assert!(
        logs.has_line(&["cortex::auth", &new.info.id, "secret does not match"]),
        "{}",
        logs.text()
    );
    assert!(!logs.text().contains(secret), "the secret was logged");
    // An unknown id, for comparison.
    let refused = f
        .keys
        .verify(&format!("{PREFIX}_{}_{secret}", "A".repeat(12)))
        .await;
    assert!(matches!(refused, Err(AuthFailure::Unknown)), "{refused:?}");
    assert!(
        logs.has_line(&["cortex::auth", "AAAAAAAAAAAA", "unknown"]),
        "{}",
        logs.text()
    );
    // The real key still works: a wrong guess revokes nothing.
    assert!(f.keys.verify(&new.key).await.is_ok());
    f.cleanup().await;
}

async fn malformed_keys_are_refused_without_asking_the_store(kind: Kind) {
    let f = fixture(kind).await;
    let new = f.keys.create("7", "ci", ["a"], None).await.unwrap();
    let id = &new.info.id;
    let secret = secret_of(&new);
    let malformed = [
        String::new(),
        "ck_test".into(),
        "ck_test_".into(),
        // Another environment's prefix, the same id and secret.
        format!("ck_live_{id}_{secret}"),
        format!("ck_{id}_{secret}"),
        format!("{PREFIX}_{id}"),
        format!("{PREFIX}_{id}_"),
        format!("{PREFIX}_{}_{secret}", &id[..11]),
        format!("{PREFIX}_{id}x_{secret}"),
        format!("{PREFIX}_{id}_{}", &secret[..42]),
        format!("{PREFIX}_{id}_{secret}x"),
        format!("{PREFIX}_{id}_{}-", &secret[..42]),
        format!("{PREFIX}_{}!_{secret}", &id[..11]),
        format!("{PREFIX}_{id}_{}é", &secret[..41]),
        format!("{PREFIX}_{id}_{secret}_{secret}"),
    ];
    let (logs, _guard) = Logs::capture();
    for key in &malformed {
        let refused = f.keys.verify(key).await;
        assert!(
            matches!(refused, Err(AuthFailure::Malformed(_))),
            "{key}: {refused:?}"
        );
    }
    assert!(
        logs.has_line(&["cortex::auth", "malformed"]),
        "{}",
        logs.text()
    );
    assert!(!logs.text().contains(secret), "the secret was logged");
    // A header that is not text.
    let refused = authenticate(&authenticator(&f.keys), &[("x-api-key", b"ck_test_\xff")]).await;
    assert!(
        matches!(refused, Err(AuthFailure::Malformed(_))),
        "{refused:?}"
    );
    f.cleanup().await;
}

async fn only_the_digest_of_the_secret_is_stored(kind: Kind) {
    let f = fixture(kind).await;
    let new = f
        .keys
        .create("7", "ci", ["posts:read"], None)
        .await
        .unwrap();
    let secret = secret_of(&new);
    let fields = f.raw_fields(&new.info.id).await;
    let digest: String = Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        fields
            .iter()
            .any(|(name, value)| name == "secret_sha256" && *value == digest),
        "{fields:?}"
    );
    for (name, value) in &fields {
        assert!(!value.contains(secret), "the field {name} holds the secret");
        assert!(!value.contains(&new.key), "the field {name} holds the key");
    }
    f.cleanup().await;
}

async fn last_used_is_written_at_most_once_a_minute(kind: Kind) {
    let f = fixture(kind).await;
    let new = f.keys.create("7", "ci", ["a"], None).await.unwrap();
    assert_eq!(f.keys.list(None).await.unwrap()[0].last_used_at, None);
    let t0 = SystemTime::UNIX_EPOCH
        + Duration::from_secs(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                + 10,
        );
    let last_used = || async { f.keys.list(None).await.unwrap()[0].last_used_at };
    f.keys.verify_at(&new.key, t0).await.unwrap();
    assert_eq!(last_used().await, Some(t0));
    f.keys
        .verify_at(&new.key, t0 + Duration::from_secs(59))
        .await
        .unwrap();
    assert_eq!(last_used().await, Some(t0));
    f.keys
        .verify_at(&new.key, t0 + Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(last_used().await, Some(t0 + Duration::from_secs(60)));
    f.cleanup().await;
}

async fn keys_are_listed_by_owner(kind: Kind) {
    let f = fixture(kind).await;
    let now = SystemTime::now();
    let a = f
        .keys
        .create_at("ada", "one", ["x"], None, now - Duration::from_secs(10))
        .await
        .unwrap();
    let b = f
        .keys
        .create_at("bob", "two", ["y", "z"], None, now)
        .await
        .unwrap();
    let all = f.keys.list(None).await.unwrap();
    assert_eq!(
        all.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
        [&a.info.id, &b.info.id]
    );
    assert_eq!(all[1], b.info);
    let bobs = f.keys.list(Some("bob")).await.unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].scopes, ["y", "z"]);
    assert!(f.keys.list(Some("nobody")).await.unwrap().is_empty());
    f.cleanup().await;
}

// The plugin's wiring (memory and SQLite).

async fn build(toml: &str) -> Result<cortex_core::Application, cortex_core::AppError> {
    App::with_config(Config::from_toml(toml).unwrap())
        .plugin(AuthPlugin)
        .build()
        .await
}

#[tokio::test]
async fn the_plugin_binds_the_keys_and_the_authenticator_when_enabled() {
    let app = build("[auth.api_keys]\nenabled = true\nprefix = 'ck_live'\ndefault_ttl = '30d'")
        .await
        .unwrap();
    let keys = app.container().get::<ApiKeys>().unwrap();
    let new = keys.create("1", "ci", ["a"], None).await.unwrap();
    assert!(new.key.starts_with("ck_live_"));
    let ttl = new
        .info
        .expires_at
        .unwrap()
        .duration_since(new.info.created_at)
        .unwrap();
    assert_eq!(ttl, Duration::from_secs(30 * 86_400));
    let authn = app.container().get::<ApiKeyAuthenticator>().unwrap();
    assert_eq!(Authenticator::name(&*authn), "api_key");
    let user = authenticate(&authn, &[("x-api-key", new.key.as_bytes())])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id(), "1");
    for task in ["auth:key:create", "auth:key:list", "auth:key:revoke"] {
        assert!(app.task_names().contains(&task), "{:?}", app.task_names());
    }

    let mut doc = cortex_core::openapi::GuardDoc::new();
    authn.describe(&mut doc);
    let schemes: Vec<_> = doc.security_schemes().collect();
    assert_eq!(schemes.len(), 1);
    assert_eq!(schemes[0].0, "api_key");
    let scheme = serde_json::to_value(schemes[0].1).unwrap();
    assert_eq!(
        (
            scheme["type"].as_str(),
            scheme["in"].as_str(),
            scheme["name"].as_str()
        ),
        (Some("apiKey"), Some("header"), Some("x-api-key"))
    );
}

#[tokio::test]
async fn disabled_api_keys_bind_nothing_and_the_tasks_say_how_to_enable_them() {
    let app = build("[auth]").await.unwrap();
    assert!(app.container().get::<ApiKeys>().is_err());
    let err = app.run_task("auth:key:list").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("hint: set `enabled = true` under `[auth.api_keys]`"),
        "{err}"
    );
}

#[tokio::test]
async fn the_database_store_creates_its_table_at_start() {
    let database = database("sqlite::memory:").await;
    let app = database
        .apply(
            App::with_config(
                Config::from_toml(&format!(
                    "[database]\nurl = '{}'\n[auth.api_keys]\nenabled = true\nstore = 'database'",
                    database.url()
                ))
                .unwrap(),
            )
            .plugin(cortex_data::DataPlugin)
            .plugin(AuthPlugin),
        )
        .build()
        .await
        .unwrap();
    let keys = app.container().get::<ApiKeys>().unwrap();
    let new = keys.create("1", "ci", ["a"], None).await.unwrap();
    assert_eq!(keys.verify(&new.key).await.unwrap().id(), "1");
    drop(app);
    database.drop_now().await;
}

#[tokio::test]
async fn bad_settings_stop_the_start_naming_the_key() {
    for (toml, expected) in [
        (
            "[auth.api_keys]\nenabled = true\nprefix = 'CK'",
            "`auth.api_keys.prefix` (`CK`) must start with a lowercase letter; hint:",
        ),
        (
            "[auth.api_keys]\nenabled = true\nprefix = 'ck-live'",
            "`auth.api_keys.prefix` (`ck-live`) holds `-`",
        ),
        (
            "[auth.api_keys]\nenabled = true\nheader = 'x api key'",
            "`auth.api_keys.header` (`x api key`) is not an HTTP header name",
        ),
        (
            "[auth.api_keys]\nenabled = true\nheader = 'Authorization'",
            "`auth.api_keys.header` must not be `authorization`",
        ),
        (
            "[auth.api_keys]\nenabled = true\nstore = 'redis'",
            "`auth.redis_url` is not set, and `[auth.api_keys] store = \"redis\"` needs it",
        ),
        (
            "[auth]\nredis_url = 'http://nope'\n[auth.api_keys]\nenabled = true\nstore = 'redis'",
            "`auth.redis_url` is not a Redis URL",
        ),
    ] {
        let err = build(toml).await.unwrap_err().to_string();
        assert!(err.contains(expected), "{toml}:\n{err}");
    }
    let err = build("[auth.api_keys]\nenabled = true\nstore = 'mongo'")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`auth.api_keys.store`")
            && err.contains("expected one of `memory`, `database`, `redis`"),
        "{err}"
    );
    let err = build("[auth.api_keys]\nenabled = true\nsecret = 'x'")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("secret"), "{err}");
}

#[tokio::test]
async fn bad_key_requests_are_refused_with_a_clear_error() {
    let keys = ApiKeys::new(MemoryApiKeyStore::new(), PREFIX).unwrap();
    for (owner, name, scope, expected) in [
        ("", "ci", "a", "an API key's owner must not be empty"),
        ("7", " ", "a", "an API key's name must not be empty"),
        (
            "7",
            "ci\n",
            "a",
            "an API key's name must not hold control characters",
        ),
        (
            "7",
            "ci",
            "posts read",
            "the scope `posts read` is not a permission name",
        ),
        ("7", "ci", "", "the scope `` is not a permission name"),
    ] {
        let err = keys
            .create(owner, name, [scope], None)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{err}");
    }
    assert!(keys.list(None).await.unwrap().is_empty());
}
