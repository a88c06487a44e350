//! Refresh tokens: rotation, reuse detection, families, revocation — each test body run on every
//! store: memory, SQLite, PostgreSQL, MariaDB and Redis (real servers on 127.0.0.1).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cortex_auth::{
    AuthFailure, AuthPlugin, CurrentUser, DatabaseRefreshStore, MemoryRefreshStore,
    RedisRefreshStore, RefreshConfig, RefreshTokens,
};
use cortex_core::App;
use cortex_core::config::Config;
use cortex_data::testing::TestDatabase;
use cortex_data::{DatabaseConfig, Db};
use futures_util::FutureExt as _;
use sha2::{Digest, Sha256};

use crate::support::Logs;

const REDIS_URL: &str = "redis://127.0.0.1:6379";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Memory,
    Sqlite,
    Postgres,
    MariaDb,
    Redis,
}

const ALL: [Kind; 5] = [
    Kind::Memory,
    Kind::Sqlite,
    Kind::Postgres,
    Kind::MariaDb,
    Kind::Redis,
];

/// What a test reads behind the service's back.
enum Raw {
    Memory(MemoryRefreshStore),
    Db(Db),
    Redis(redis::Client, String),
}

/// One store, the service on it, and a clock the test moves.
struct Fixture {
    kind: Kind,
    tokens: RefreshTokens,
    /// Unix milliseconds (started at the real time: Redis expires keys by it).
    now: Arc<AtomicI64>,
    raw: Raw,
}

impl Fixture {
    fn advance(&self, by: Duration) {
        self.now
            .fetch_add(i64::try_from(by.as_millis()).unwrap(), Ordering::SeqCst);
    }

    /// Every byte the store holds about tokens, as text.
    async fn raw_text(&self) -> String {
        match &self.raw {
            Raw::Memory(store) => store.hashes().join("\n"),
            Raw::Db(db) => {
                let sql = "SELECT token_hash, family, user_id, snapshot, state FROM cortex_auth_refresh_tokens";
                let mut out = String::new();
                macro_rules! dump {
                    ($pool:expr) => {{
                        let rows: Vec<(String, String, String, String, String)> =
                            cortex_data::sqlx::query_as(sql)
                                .fetch_all($pool)
                                .await
                                .unwrap();
                        for row in rows {
                            out.push_str(&format!("{row:?}\n"));
                        }
                    }};
                }
                if let Some(pool) = db.sqlite() {
                    dump!(pool);
                } else if let Some(pool) = db.postgres() {
                    dump!(pool);
                } else if let Some(pool) = db.mysql() {
                    dump!(pool);
                }
                out
            }
            Raw::Redis(client, prefix) => {
                let mut connection = client.get_multiplexed_async_connection().await.unwrap();
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{prefix}*"))
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                let mut out = String::new();
                for key in keys {
                    let kind: String = redis::cmd("TYPE")
                        .arg(&key)
                        .query_async(&mut connection)
                        .await
                        .unwrap();
                    let value: Vec<String> = match kind.as_str() {
                        "hash" => redis::cmd("HGETALL")
                            .arg(&key)
                            .query_async(&mut connection)
                            .await
                            .unwrap(),
                        _ => redis::cmd("SMEMBERS")
                            .arg(&key)
                            .query_async(&mut connection)
                            .await
                            .unwrap(),
                    };
                    out.push_str(&format!("{key} {value:?}\n"));
                }
                out
            }
        }
    }
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn unique(name: &str) -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("test:{name}:{suffix}:")
}

fn config(configure: &dyn Fn(&mut RefreshConfig)) -> RefreshConfig {
    let mut config = RefreshConfig::default();
    config.ttl = Duration::from_secs(60);
    config.absolute_ttl = Duration::from_secs(3600);
    configure(&mut config);
    config
}

/// Runs `body` on each store, each with a fresh database or key prefix (dropped afterwards, also
/// when the body panics: the panic goes on with the store named).
async fn on_all<F, Fut>(configure: impl Fn(&mut RefreshConfig), body: F)
where
    F: Fn(Fixture) -> Fut,
    Fut: Future<Output = ()>,
{
    for kind in ALL {
        let now = Arc::new(AtomicI64::new(now_ms()));
        let clock = {
            let now = now.clone();
            move || {
                UNIX_EPOCH
                    + Duration::from_millis(u64::try_from(now.load(Ordering::SeqCst)).unwrap())
            }
        };
        let refresh = config(&configure);
        let mut database = None;
        let (tokens, raw) = match kind {
            Kind::Memory => {
                let store = MemoryRefreshStore::new();
                (
                    RefreshTokens::new(refresh, store.clone()),
                    Raw::Memory(store),
                )
            }
            Kind::Sqlite | Kind::Postgres | Kind::MariaDb => {
                let server = match kind {
                    Kind::Sqlite => "sqlite::memory:",
                    Kind::Postgres => "postgres://postgres@127.0.0.1:5432/test",
                    _ => "mysql://root@127.0.0.1:3306/test",
                };
                let settings = DatabaseConfig {
                    max_connections: 5,
                    acquire_timeout: Duration::from_secs(5),
                    ..DatabaseConfig::default()
                };
                let test_db = TestDatabase::try_for_url(server, settings)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("no {kind:?} test database: {e}; hint: run `scripts/services`")
                    });
                let db = test_db.db().clone();
                database = Some(test_db);
                (
                    RefreshTokens::new(refresh, DatabaseRefreshStore::new(db.clone())),
                    Raw::Db(db),
                )
            }
            Kind::Redis => {
                let prefix = unique("refresh");
                let store = RedisRefreshStore::open(REDIS_URL, &prefix).unwrap();
                (
                    RefreshTokens::new(refresh, store),
                    Raw::Redis(redis::Client::open(REDIS_URL).unwrap(), prefix),
                )
            }
        };
        let fixture = Fixture {
            kind,
            tokens: tokens.with_clock(clock),
            now,
            raw,
        };
        let redis_prefix = match &fixture.raw {
            Raw::Redis(client, prefix) => Some((client.clone(), prefix.clone())),
            _ => None,
        };
        let outcome = std::panic::AssertUnwindSafe(body(fixture))
            .catch_unwind()
            .await;
        if let Some(database) = database {
            database.drop_now().await;
        }
        if let Some((client, prefix)) = redis_prefix {
            let mut connection = client.get_multiplexed_async_connection().await.unwrap();
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query_async(&mut connection)
                .await
                .unwrap();
            if !keys.is_empty() {
                let _: i64 = redis::cmd("DEL")
                    .arg(keys)
                    .query_async(&mut connection)
                    .await
                    .unwrap();
            }
        }
        if let Err(panic) = outcome {
            eprintln!("the test failed on the {kind:?} store");
            std::panic::resume_unwind(panic);
        }
    }
}

fn ada() -> CurrentUser {
    CurrentUser::builder("ada")
        .roles(["editor"])
        .permissions(["posts:write"])
        .build()
}

#[track_caller]
fn assert_failure(result: Result<cortex_auth::Rotated, AuthFailure>, code: &str, kind: Kind) {
    match result {
        Ok(_) => panic!("{kind:?}: the rotation succeeded; expected `{code}`"),
        Err(failure) => assert_eq!(failure.code(), code, "{kind:?}: {failure}"),
    }
}

#[tokio::test]
async fn a_rotation_chain_keeps_the_family_and_the_user_snapshot() {
    on_all(
        |_| {},
        async |f| {
            let first = f.tokens.issue(&ada()).await.unwrap();
            assert_eq!(first.as_str().len(), 43);
            let mut current = first.clone();
            for _ in 0..3 {
                f.advance(Duration::from_secs(10));
                let rotated = f.tokens.rotate(current.as_str()).await.unwrap();
                assert_ne!(rotated.token.as_str(), current.as_str());
                assert_eq!(rotated.token.family(), first.family());
                assert_eq!(rotated.user.id(), "ada");
                assert!(rotated.user.has_role("editor"));
                assert!(rotated.user.has_permission("posts:write"));
                current = rotated.token;
            }
        },
    )
    .await;
}

#[tokio::test]
async fn reusing_a_rotated_token_revokes_its_whole_family_and_logs_it() {
    on_all(
        |_| {},
        async |f| {
            let (logs, _guard) = Logs::capture();
            let first = f.tokens.issue(&ada()).await.unwrap();
            let second = f.tokens.rotate(first.as_str()).await.unwrap().token;
            let third = f.tokens.rotate(second.as_str()).await.unwrap().token;

            // The thief replays the first token.
            assert_failure(f.tokens.rotate(first.as_str()).await, "reused", f.kind);
            // The newest token of the family no longer works, nor does any other.
            assert_failure(f.tokens.rotate(third.as_str()).await, "revoked", f.kind);
            assert_failure(f.tokens.rotate(second.as_str()).await, "revoked", f.kind);

            let family = first.family();
            assert!(
                logs.has_line(&["WARN", "cortex::auth", "reused", family, "user=ada"]),
                "{:?}: {}",
                f.kind,
                logs.text()
            );
            assert!(
                logs.has_line(&["cortex::auth", "reason=\"revoked\""]),
                "{}",
                logs.text()
            );
            for token in [&first, &second, &third] {
                assert!(!logs.text().contains(token.as_str()), "a token was logged");
            }
            // Another family of the same user is untouched.
            let other = f.tokens.issue(&ada()).await.unwrap();
            f.tokens.rotate(other.as_str()).await.unwrap();
        },
    )
    .await;
}

#[tokio::test]
async fn of_two_concurrent_rotations_of_one_token_exactly_one_wins() {
    on_all(
        |_| {},
        async |f| {
            for _ in 0..3 {
                let token = f.tokens.issue(&ada()).await.unwrap();
                let (a, b) = tokio::join!(
                    f.tokens.rotate(token.as_str()),
                    f.tokens.rotate(token.as_str())
                );
                let (winner, loser) = match (a, b) {
                    (Ok(winner), Err(loser)) | (Err(loser), Ok(winner)) => (winner, loser),
                    (a, b) => panic!(
                        "{:?}: expected one winner: {:?} / {:?}",
                        f.kind,
                        a.map(|r| r.user),
                        b.map(|r| r.user)
                    ),
                };
                assert_eq!(loser.code(), "reused", "{:?}", f.kind);
                // The loser's reuse revoked the family, the winner's new token included.
                assert_failure(
                    f.tokens.rotate(winner.token.as_str()).await,
                    "revoked",
                    f.kind,
                );
            }
        },
    )
    .await;
}

#[tokio::test]
async fn an_expired_token_is_refused_and_a_family_ends_at_its_absolute_lifetime() {
    on_all(
        |c| {
            c.ttl = Duration::from_secs(60);
            c.absolute_ttl = Duration::from_secs(100);
        },
        async |f| {
            let (logs, _guard) = Logs::capture();
            // Idle beyond the token's lifetime.
            let idle = f.tokens.issue(&ada()).await.unwrap();
            f.advance(Duration::from_secs(59));
            let fresh = f.tokens.rotate(idle.as_str()).await.unwrap().token; // expires at 100 s: the family's end
            f.advance(Duration::from_secs(40)); // 99 s
            let last = f.tokens.rotate(fresh.as_str()).await.unwrap().token;
            assert!(
                last.expires_at().unwrap() <= idle.expires_at().unwrap() + Duration::from_secs(40)
            );
            f.advance(Duration::from_secs(2)); // 101 s: past the family's end
            assert_failure(f.tokens.rotate(last.as_str()).await, "expired", f.kind);
            assert!(
                logs.has_line(&["cortex::auth", "reason=\"expired\""]),
                "{}",
                logs.text()
            );

            let other = f.tokens.issue(&ada()).await.unwrap();
            f.advance(Duration::from_secs(61));
            assert_failure(f.tokens.rotate(other.as_str()).await, "expired", f.kind);
        },
    )
    .await;
}

#[tokio::test]
async fn logout_revokes_the_family() {
    on_all(
        |_| {},
        async |f| {
            let first = f.tokens.issue(&ada()).await.unwrap();
            let second = f.tokens.rotate(first.as_str()).await.unwrap().token;
            assert!(f.tokens.revoke(second.as_str()).await.unwrap());
            assert_failure(f.tokens.rotate(second.as_str()).await, "revoked", f.kind);
            // A revoked family's used token: revoked, not a second reuse.
            assert_failure(f.tokens.rotate(first.as_str()).await, "revoked", f.kind);
            // Unknown and malformed tokens revoke nothing.
            let unknown = f.tokens.issue(&ada()).await.unwrap();
            let mut forged = unknown.as_str().to_string();
            forged.replace_range(
                0..4,
                if forged.starts_with("AAAA") {
                    "BBBB"
                } else {
                    "AAAA"
                },
            );
            assert!(!f.tokens.revoke(&forged).await.unwrap());
            assert!(!f.tokens.revoke("nope").await.unwrap());
            // revoke_family by id.
            f.tokens.revoke_family(unknown.family()).await.unwrap();
            assert_failure(f.tokens.rotate(unknown.as_str()).await, "revoked", f.kind);
        },
    )
    .await;
}

#[tokio::test]
async fn revoke_user_ends_every_family_of_the_user_only() {
    on_all(
        |_| {},
        async |f| {
            let laptop = f.tokens.issue(&ada()).await.unwrap();
            let phone = f.tokens.issue(&ada()).await.unwrap();
            let phone = f.tokens.rotate(phone.as_str()).await.unwrap().token;
            let bob = f
                .tokens
                .issue(&CurrentUser::builder("bob").build())
                .await
                .unwrap();

            assert!(f.tokens.revoke_user("ada").await.unwrap() >= 2);
            assert_failure(f.tokens.rotate(laptop.as_str()).await, "revoked", f.kind);
            assert_failure(f.tokens.rotate(phone.as_str()).await, "revoked", f.kind);
            assert_eq!(
                f.tokens.rotate(bob.as_str()).await.unwrap().user.id(),
                "bob"
            );
            // A login after the revocation works.
            let again = f.tokens.issue(&ada()).await.unwrap();
            f.tokens.rotate(again.as_str()).await.unwrap();
        },
    )
    .await;
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_refused_and_logged() {
    on_all(
        |_| {},
        async |f| {
            let (logs, _guard) = Logs::capture();
            // Well formed, never issued.
            let never = "A".repeat(43);
            assert_failure(f.tokens.rotate(&never).await, "unknown", f.kind);
            assert!(
                logs.has_line(&["cortex::auth", "reason=\"unknown\""]),
                "{}",
                logs.text()
            );

            for malformed in [
                "",
                "abc",
                &"!".repeat(43),
                &"A".repeat(44),
                "eyJhbGciOiJIUzI1NiJ9.e30.x",
                &"A".repeat(10_000),
            ] {
                assert_failure(f.tokens.rotate(malformed).await, "malformed", f.kind);
            }
            assert!(
                logs.has_line(&["cortex::auth", "reason=\"malformed\""]),
                "{}",
                logs.text()
            );
        },
    )
    .await;
}

#[tokio::test]
async fn tokens_are_stored_hashed() {
    on_all(
        |_| {},
        async |f| {
            let first = f.tokens.issue(&ada()).await.unwrap();
            let second = f.tokens.rotate(first.as_str()).await.unwrap().token;
            let raw = f.raw_text().await;
            for token in [&first, &second] {
                assert!(
                    !raw.contains(token.as_str()),
                    "{:?}: a token is stored in the clear:\n{raw}",
                    f.kind
                );
                let hash: String = Sha256::digest(token.as_str().as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                assert!(
                    raw.contains(&hash),
                    "{:?}: the hash is not stored:\n{raw}",
                    f.kind
                );
            }
        },
    )
    .await;
}

#[tokio::test]
async fn within_the_reuse_grace_a_used_token_rotates_again_and_after_it_is_a_reuse() {
    on_all(
        |c| c.reuse_grace = Duration::from_secs(5),
        async |f| {
            let first = f.tokens.issue(&ada()).await.unwrap();
            let second = f.tokens.rotate(first.as_str()).await.unwrap().token;
            f.advance(Duration::from_secs(2));
            // A concurrent refresh of the same client, two seconds late: served.
            let branch = f.tokens.rotate(first.as_str()).await.unwrap().token;
            assert_eq!(branch.family(), first.family());
            f.advance(Duration::from_secs(4)); // 6 s after the rotation
            assert_failure(f.tokens.rotate(first.as_str()).await, "reused", f.kind);
            assert_failure(f.tokens.rotate(second.as_str()).await, "revoked", f.kind);
            assert_failure(f.tokens.rotate(branch.as_str()).await, "revoked", f.kind);
        },
    )
    .await;
}

#[tokio::test]
async fn prune_deletes_expired_tokens() {
    on_all(
        |_| {},
        async |f| {
            let old = f.tokens.issue(&ada()).await.unwrap();
            f.advance(Duration::from_secs(61));
            let live = f.tokens.issue(&ada()).await.unwrap();
            let pruned = f.tokens.prune().await.unwrap();
            if f.kind == Kind::Redis {
                assert_eq!(pruned, 0, "Redis expires its keys itself");
            } else {
                assert_eq!(pruned, 1, "{:?}", f.kind);
                assert_failure(f.tokens.rotate(old.as_str()).await, "unknown", f.kind);
            }
            f.tokens.rotate(live.as_str()).await.unwrap();
        },
    )
    .await;
}

// --- the plugin and `[auth.refresh]` ---

async fn build(toml: &str) -> Result<cortex_core::Application, String> {
    let config = Config::from_toml(toml).map_err(|e| e.to_string())?;
    App::with_config(config)
        .plugin(AuthPlugin)
        .build()
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_plugin_binds_refresh_tokens_on_the_memory_store_by_default() {
    let app = build("").await.unwrap();
    let tokens = app.container().get::<RefreshTokens>().unwrap();
    let token = tokens.issue(&ada()).await.unwrap();
    tokens.rotate(token.as_str()).await.unwrap();
    assert_eq!(tokens.config().ttl, Duration::from_secs(30 * 86_400));
    assert!(app.task_names().contains(&"auth:refresh:prune"));
}

#[tokio::test]
async fn the_redis_store_without_redis_url_stops_the_start_naming_the_key() {
    let error = build("[auth.refresh]\nstore = 'redis'")
        .await
        .err()
        .unwrap();
    assert!(
        error.contains("auth.redis_url") && error.contains("hint"),
        "{error}"
    );
    let error = build("[auth]\nredis_url = 'http://x'\n[auth.refresh]\nstore = 'redis'")
        .await
        .err()
        .unwrap();
    assert!(
        error.contains("auth.redis_url") && error.contains("not a Redis URL"),
        "{error}"
    );
}

#[tokio::test]
async fn a_bad_refresh_section_names_the_key() {
    let error = build("[auth.refresh]\nstore = 'mongo'")
        .await
        .err()
        .unwrap();
    assert!(
        error.contains("auth.refresh") && error.contains("store"),
        "{error}"
    );
    let error = build("[auth.refresh]\nttl = '0s'").await.err().unwrap();
    assert!(error.contains("ttl"), "{error}");
}

#[tokio::test]
async fn the_redis_store_is_bound_from_the_configuration() {
    let prefix = unique("plugin");
    let app = build(&format!(
        "[auth]\nredis_url = '{REDIS_URL}'\n[auth.refresh]\nstore = 'redis'\nredis_prefix = '{prefix}'"
    ))
    .await
    .unwrap();
    let tokens = app.container().get::<RefreshTokens>().unwrap();
    let token = tokens.issue(&ada()).await.unwrap();
    tokens.rotate(token.as_str()).await.unwrap();
    tokens.revoke_user("ada").await.unwrap();
}

#[tokio::test]
async fn the_database_store_is_bound_on_the_apps_db() {
    let config = Config::from_toml(
        "[database]\nurl = 'sqlite::memory:'\nmax_connections = 1\n[auth.refresh]\nstore = 'database'",
    )
    .unwrap();
    let app = App::with_config(config)
        .plugin(cortex_data::DataPlugin)
        .plugin(AuthPlugin)
        .build()
        .await
        .unwrap();
    let tokens = app.container().get::<RefreshTokens>().unwrap();
    let token = tokens.issue(&ada()).await.unwrap();
    tokens.rotate(token.as_str()).await.unwrap();
    let db = app.container().get::<Db>().unwrap();
    let rows: i64 =
        cortex_data::sqlx::query_scalar("SELECT COUNT(*) FROM cortex_auth_refresh_tokens")
            .fetch_one(db.sqlite().unwrap())
            .await
            .unwrap();
    assert_eq!(rows, 2);
}
