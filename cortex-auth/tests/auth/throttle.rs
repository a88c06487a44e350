//! Login throttling: backoff, per-account and per-address counts, reset on success, the `429`,
//! each body run on the in-memory store and on Redis (127.0.0.1:6379), with a controlled clock.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::response::IntoResponse;
use cortex_auth::{
    AuthPlugin, LoginRefused, LoginThrottle, PasswordConfig, PasswordLogin, Passwords,
    RedisThrottleStore, ThrottleConfig, ThrottleStore, Throttled,
};
use cortex_core::App;
use cortex_core::config::{Config, Profile};
use http_body_util::BodyExt;

use crate::passwords::edit;
use crate::support::Logs;

/// A clock the test moves.
#[derive(Clone)]
struct Clock(Arc<Mutex<SystemTime>>);

impl Clock {
    fn new() -> Clock {
        // Real time (Redis expires keys in real time, a window after the last failure), in whole
        // milliseconds (the Redis store's resolution).
        let since = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        let millis = Duration::from_millis(u64::try_from(since.as_millis()).unwrap());
        Clock(Arc::new(Mutex::new(SystemTime::UNIX_EPOCH + millis)))
    }

    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }

    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

fn config() -> ThrottleConfig {
    edit(ThrottleConfig::default(), |c| {
        c.free_attempts = 5;
        c.address_free_attempts = 20;
        c.base = Duration::from_secs(1);
        c.max = Duration::from_secs(16);
        c.window = Duration::from_secs(3600);
    })
}

fn throttle(store: impl ThrottleStore, clock: &Clock) -> LoginThrottle {
    let clock = clock.clone();
    LoginThrottle::with_store(&config(), store)
        .unwrap()
        .with_clock(move || clock.now())
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

async fn retry_after(throttle: &LoginThrottle, account: &str, from: IpAddr) -> Option<u64> {
    throttle
        .check(account, from)
        .await
        .err()
        .map(|t| t.retry_after.as_secs())
}

/// A password-guessing run: free attempts, then locks of 1, 2, 4, 8 s, capped at 16 s, each lock
/// refusing logins until it ends.
async fn backoff_doubles_up_to_max(store: impl ThrottleStore) {
    let (logs, _guard) = Logs::capture();
    let clock = Clock::new();
    let throttle = throttle(store, &clock);
    let attacker = ip("203.0.113.9");

    for _ in 0..5 {
        assert_eq!(retry_after(&throttle, "ann", attacker).await, None);
        throttle.failed("ann", attacker).await;
    }
    assert_eq!(retry_after(&throttle, "ann", attacker).await, None);
    let mut locks = Vec::new();
    for _ in 0..7 {
        throttle.failed("ann", attacker).await;
        let lock = retry_after(&throttle, "ann", attacker)
            .await
            .expect("locked");
        locks.push(lock);
        // Still locked a moment before the end, free at the end.
        clock.advance(Duration::from_secs(lock) - Duration::from_millis(1));
        assert!(throttle.check("ann", attacker).await.is_err());
        clock.advance(Duration::from_millis(1));
        assert!(throttle.check("ann", attacker).await.is_ok());
    }
    assert_eq!(locks, [1, 2, 4, 8, 16, 16, 16]);
    assert!(logs.has_line(&[
        "WARN",
        "cortex::auth",
        "login throttled",
        "account=\"ann\"",
        "address=203.0.113.9",
        "locked=\"account\""
    ]));
    assert!(logs.has_line(&[
        "cortex::auth",
        "login locked after repeated failures",
        "failures=6"
    ]));
}

/// Locking one account does not lock the others (from the same address, below the address's
/// threshold), and follows the account to every address.
async fn accounts_and_addresses_are_counted_independently(store: impl ThrottleStore) {
    let (logs, _guard) = Logs::capture();
    let clock = Clock::new();
    let throttle = throttle(store, &clock);
    let office = ip("192.0.2.10");
    let home = ip("198.51.100.20");

    for _ in 0..6 {
        throttle.failed("ann", office).await;
    }
    assert!(throttle.check("ann", office).await.is_err());
    assert!(
        throttle.check("ann", home).await.is_err(),
        "the account's lock follows it"
    );
    assert!(
        throttle.check("bob", office).await.is_ok(),
        "another account from the same address"
    );
    assert!(throttle.check("bob", home).await.is_ok());

    // Password spraying: one address, many accounts, each below its own threshold.
    let sprayer = ip("203.0.113.50");
    for n in 0..21 {
        throttle.failed(&format!("user{n}"), sprayer).await;
    }
    let throttled = throttle.check("carol", sprayer).await.unwrap_err();
    assert_eq!(throttled.retry_after, Duration::from_secs(1));
    assert!(
        throttle.check("carol", home).await.is_ok(),
        "carol from elsewhere"
    );
    assert!(logs.has_line(&[
        "cortex::auth",
        "login throttled",
        "account=\"carol\"",
        "address=203.0.113.50",
        "locked=\"address\""
    ]));

    // An IPv6 client owns its /64: changing the interface id does not escape the count.
    for n in 0..21 {
        throttle
            .failed(&format!("v6user{n}"), ip(&format!("2001:db8:1:2::{n:x}")))
            .await;
    }
    assert!(
        throttle
            .check("dave", ip("2001:db8:1:2::ffff"))
            .await
            .is_err()
    );
    assert!(throttle.check("dave", ip("2001:db8:1:3::1")).await.is_ok());
}

/// A good login forgets the account's failures (the address's count stays).
async fn success_resets_the_accounts_count(store: impl ThrottleStore) {
    let clock = Clock::new();
    let throttle = throttle(store, &clock);
    let from = ip("192.0.2.30");

    for _ in 0..5 {
        throttle.failed("ann", from).await;
    }
    throttle.succeeded("ann", from).await;
    for _ in 0..5 {
        throttle.failed("ann", from).await;
    }
    assert!(
        throttle.check("ann", from).await.is_ok(),
        "five more are free again"
    );
    throttle.failed("ann", from).await;
    assert_eq!(retry_after(&throttle, "ann", from).await, Some(1));

    // The address has 11 failures: 10 more lock it, success or not.
    throttle.succeeded("ann", from).await;
    for n in 0..10 {
        throttle.failed(&format!("other{n}"), from).await;
    }
    assert!(throttle.check("zoe", from).await.is_err());
}

/// Failures are forgotten a window after the last one.
async fn failures_are_forgotten_after_the_window(store: impl ThrottleStore) {
    let clock = Clock::new();
    let throttle = throttle(store, &clock);
    let from = ip("192.0.2.40");
    for _ in 0..5 {
        throttle.failed("ann", from).await;
    }
    clock.advance(Duration::from_secs(3600));
    throttle.failed("ann", from).await;
    assert!(
        throttle.check("ann", from).await.is_ok(),
        "a new window: one failure"
    );
    for _ in 0..5 {
        throttle.failed("ann", from).await;
    }
    assert!(throttle.check("ann", from).await.is_err());
}

/// While locked, even the right password is refused (without being checked): a brute force that
/// finds the password during a lock learns nothing.
async fn a_locked_account_refuses_even_the_right_password(store: impl ThrottleStore) {
    let (logs, _guard) = Logs::capture();
    let clock = Clock::new();
    let passwords = Passwords::new(&PasswordConfig::default(), &Profile::TEST).unwrap();
    let login = PasswordLogin::new(passwords.clone(), throttle(store, &clock));
    let stored = passwords
        .hash("correct horse battery staple")
        .await
        .unwrap();
    let attacker = ip("203.0.113.77");

    for n in 0..6 {
        let refused = login
            .attempt(
                "ann",
                attacker,
                Some(stored.as_str()),
                &format!("guess {n}"),
            )
            .await;
        assert!(matches!(refused, Err(LoginRefused::InvalidCredentials)));
    }
    let refused = login
        .attempt(
            "ann",
            attacker,
            Some(stored.as_str()),
            "correct horse battery staple",
        )
        .await
        .unwrap_err();
    let LoginRefused::Throttled(throttled) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(throttled.retry_after, Duration::from_secs(1));
    assert!(logs.has_line(&["cortex::auth", "login throttled", "account=\"ann\""]));

    clock.advance(Duration::from_secs(1));
    let success = login
        .attempt(
            "ann",
            attacker,
            Some(stored.as_str()),
            "correct horse battery staple",
        )
        .await
        .unwrap();
    assert!(success.rehash.is_none());
    // Unknown accounts count too.
    for _ in 0..6 {
        let _ = login.attempt("ghost", attacker, None, "guess").await;
    }
    assert!(matches!(
        login.attempt("ghost", attacker, None, "guess").await,
        Err(LoginRefused::Throttled(_))
    ));
}

fn redis_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "cortex-test:throttle:{test}:{}:{nanos}:",
        std::process::id()
    )
}

async fn redis(test: &str) -> RedisThrottleStore {
    RedisThrottleStore::connect("redis://127.0.0.1:6379", redis_prefix(test))
        .await
        .expect("Redis on 127.0.0.1:6379")
}

macro_rules! on_both_stores {
    ($($body:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $body() {
                    super::$body(cortex_auth::MemoryThrottleStore::new()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $body() {
                    super::$body(super::redis(stringify!($body)).await).await;
                }
            )*
        }
    };
}

on_both_stores!(
    backoff_doubles_up_to_max,
    accounts_and_addresses_are_counted_independently,
    success_resets_the_accounts_count,
    failures_are_forgotten_after_the_window,
    a_locked_account_refuses_even_the_right_password,
);

#[tokio::test]
async fn throttled_answers_429_problem_json_with_retry_after() {
    let response = Throttled {
        retry_after: Duration::from_millis(2001),
    }
    .into_response();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["status"], 429);

    let refused = LoginRefused::Throttled(Throttled {
        retry_after: Duration::from_millis(10),
    })
    .into_response();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
}

#[tokio::test]
async fn a_disabled_throttle_never_refuses() {
    let throttle = LoginThrottle::new(&edit(config(), |c| c.enabled = false)).unwrap();
    for _ in 0..50 {
        throttle.failed("ann", ip("192.0.2.1")).await;
    }
    assert!(throttle.check("ann", ip("192.0.2.1")).await.is_ok());
}

fn app_config(toml: &str) -> Config {
    Config::builder()
        .dir(env!("CARGO_MANIFEST_DIR"))
        .profile(Profile::TEST)
        .env_vars::<_, &str, &str>([])
        .defaults(toml)
        .load()
        .unwrap()
}

#[tokio::test]
async fn bad_throttle_settings_stop_the_start_naming_the_key() {
    for (toml, expected) in [
        (
            "[auth.throttle]\nbase = '1h'",
            "`auth.throttle.base` is longer than `max` (15m)",
        ),
        (
            "[auth.throttle]\nwindow = '1m'",
            "`auth.throttle.window` is shorter than `max` (15m)",
        ),
        (
            "[auth.throttle]\nstore = 'redis'",
            "`auth.redis_url` is not set",
        ),
        ("[auth.throttle]\nbase = '0s'", "base"),
        (
            "[auth.throttle]\nstore = 'memcached'",
            "expected `memory` or `redis`",
        ),
    ] {
        let error = App::with_config(app_config(toml))
            .plugin(AuthPlugin)
            .build()
            .await
            .unwrap_err();
        assert!(error.to_string().contains(expected), "{toml}: {error}");
    }
}

#[tokio::test]
async fn the_plugin_binds_a_redis_throttle_from_the_config() {
    let prefix = redis_prefix("plugin");
    let app = App::with_config(app_config(&format!(
        "[auth]\nredis_url = 'redis://127.0.0.1:6379'\n[auth.throttle]\nstore = 'redis'\nkey_prefix = '{prefix}'\nfree_attempts = 0"
    )))
    .plugin(AuthPlugin)
    .build()
    .await
    .unwrap();
    let throttle = app.container().get::<LoginThrottle>().unwrap();
    throttle.failed("ann", ip("192.0.2.9")).await;
    assert!(throttle.check("ann", ip("192.0.2.9")).await.is_err());
    // A second handle on the same Redis sees the same count (another instance of the app).
    let other = LoginThrottle::with_store(
        &edit(ThrottleConfig::default(), |c| c.free_attempts = 0),
        RedisThrottleStore::connect("redis://127.0.0.1:6379", prefix)
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(other.check("ann", ip("198.51.100.1")).await.is_err());
}

#[tokio::test]
async fn an_unreachable_store_lets_logins_through_and_logs_it() {
    use cortex_auth::{Backoff, ThrottleEntry};
    use cortex_di::BoxError;

    struct Down;
    impl ThrottleStore for Down {
        async fn get(&self, _: &str, _: SystemTime) -> Result<ThrottleEntry, BoxError> {
            Err("connection refused".into())
        }
        async fn record_failure(
            &self,
            _: &str,
            _: SystemTime,
            _: Backoff,
        ) -> Result<ThrottleEntry, BoxError> {
            Err("connection refused".into())
        }
        async fn reset(&self, _: &str) -> Result<(), BoxError> {
            Err("connection refused".into())
        }
    }

    let (logs, _guard) = Logs::capture();
    let throttle = LoginThrottle::with_store(&config(), Down).unwrap();
    throttle.failed("ann", ip("192.0.2.1")).await;
    assert!(throttle.check("ann", ip("192.0.2.1")).await.is_ok());
    assert!(logs.has_line(&[
        "ERROR",
        "cortex::auth",
        "store failed",
        "connection refused"
    ]));
}
