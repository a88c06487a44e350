//! API keys: generated with a visible prefix, stored hashed, looked up by their id, with scopes,
//! expiry and revocation; the `api_key` authenticator and the `auth:key:*` tasks.
//!
//! | item | what it is |
//! | --- | --- |
//! | [`ApiKeyConfig`] | `[auth.api_keys]` |
//! | [`ApiKeys`] | the service: `create`, `list`, `revoke`, `verify` |
//! | [`NewApiKey`], [`ApiKeyInfo`], [`ApiKeyRecord`] | a key just made (its plaintext, once), what is shown, what is stored |
//! | [`ApiKeyStore`] | where keys are kept: [`MemoryApiKeyStore`], `DbApiKeyStore` (`database` feature), `RedisApiKeyStore` (`redis` feature) |
//! | [`ApiKeyAuthenticator`] | reads the key from the request |

use std::sync::Arc;
use std::time::Duration;

use cortex_core::App;
use cortex_di::{Dependency, Provider};
use serde::Deserialize;

use crate::authn::ErasedAuthenticator;
use crate::error::AuthError;
use crate::plugin::{Registration, Setup};

mod authn;
#[cfg(feature = "database")]
mod db;
mod key;
#[cfg(feature = "redis")]
mod redis;
mod service;
mod store;
mod tasks;

pub use authn::ApiKeyAuthenticator;
#[cfg(feature = "database")]
pub use db::DbApiKeyStore;
#[cfg(feature = "redis")]
pub use redis::RedisApiKeyStore;
pub use service::{ApiKeys, NewApiKey};
pub use store::{ApiKeyInfo, ApiKeyRecord, ApiKeyStore, ErasedApiKeyStore, MemoryApiKeyStore};
pub use tasks::{CreateArgs, TaskArgsError};

/// The table the database store keeps keys in.
pub const TABLE: &str = "cortex_auth_api_keys";
/// The start of the Redis store's keys.
pub const REDIS_PREFIX: &str = "cortex:auth:api_keys";

/// `[auth.api_keys]`.
///
/// ```
/// use cortex_auth::AuthConfig;
/// use cortex_auth::api_key::StoreKind;
/// use cortex_core::config::Config;
///
/// let config = Config::from_toml("[auth.api_keys]\nenabled = true\nprefix = 'ck_live'\ndefault_ttl = '90d'")?;
/// let keys = AuthConfig::from_config(&config)?.api_keys;
/// assert!(keys.enabled);
/// assert_eq!((keys.prefix.as_str(), keys.header.as_str(), keys.store), ("ck_live", "x-api-key", StoreKind::Memory));
/// assert_eq!(keys.default_ttl, Some(std::time::Duration::from_secs(90 * 86_400)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ApiKeyConfig {
    /// Whether requests may authenticate with an API key (default `false`).
    pub enabled: bool,
    /// The visible start of every key, naming the app and environment (`ck_live`, `ck_test`):
    /// 1 to 32 lowercase letters, digits and `_`, starting with a letter (default `ck`).
    pub prefix: String,
    /// The request header holding the key (default `x-api-key`). `Authorization: ApiKey <key>`
    /// is accepted as well.
    pub header: String,
    /// Where keys are kept: `memory` (default; lost on restart), `database` (the app's `Db`,
    /// table `cortex_auth_api_keys`) or `redis` (`[auth] redis_url`).
    pub store: StoreKind,
    /// How long a key lives when made without a lifetime of its own (`90d`); none by default:
    /// keys live until revoked.
    #[serde(deserialize_with = "cortex_core::config::units::de::optional_duration")]
    pub default_ttl: Option<Duration>,
}

impl Default for ApiKeyConfig {
    fn default() -> Self {
        ApiKeyConfig {
            enabled: false,
            prefix: "ck".into(),
            header: "x-api-key".into(),
            store: StoreKind::Memory,
            default_ttl: None,
        }
    }
}

/// `[auth.api_keys] store`.
///
/// ```
/// use cortex_auth::api_key::StoreKind;
/// assert_eq!(StoreKind::Database.as_str(), "database");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum StoreKind {
    /// In the process's memory.
    #[default]
    Memory,
    /// In the app's database (the `database` feature, and the data plugin).
    Database,
    /// In Redis (the `redis` feature, and `[auth] redis_url`).
    Redis,
}

impl StoreKind {
    /// Its name in `cortex.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Memory => "memory",
            StoreKind::Database => "database",
            StoreKind::Redis => "redis",
        }
    }
}

/// The startup error for a store whose cargo feature is not compiled in.
#[allow(dead_code)]
fn not_compiled(kind: StoreKind, feature: &str) -> AuthError {
    AuthError::Config {
        key: "auth.api_keys.store".into(),
        reason: format!(
            "is `{}`, but cortex-auth was built without its `{feature}` feature; hint: turn on the `{feature}` feature of `cortex` (or of `cortex-auth`), or use `store = \"memory\"`",
            kind.as_str()
        ),
    }
}

/// Adds API-key authentication to the app when `[auth.api_keys]` enables it: binds [`ApiKeys`]
/// (its store prepared when the app starts) and the [`ApiKeyAuthenticator`], registered as
/// `api_key`. The `auth:key:*` tasks are registered either way (they say how to turn keys on).
pub(crate) fn install(app: App, config: &crate::AuthConfig, setup: &mut Setup) -> App {
    let app = tasks::register(app);
    let keys = &config.api_keys;
    if !keys.enabled {
        return app;
    }
    let store = match store_provider(keys, config) {
        Ok(store) => store,
        Err(error) => return app.fail(error),
    };
    // Checked now, so that a bad prefix or header stops the start naming the key.
    if let Some(problem) = key::prefix_problem(&keys.prefix) {
        return app.fail(AuthError::Config {
            key: "auth.api_keys.prefix".into(),
            reason: format!(
                "{problem}; hint: a short name for the app and environment, such as `ck_live`"
            ),
        });
    }
    if let Err(error) = authn::header_name(&keys.header) {
        return app.fail(error);
    }
    // Masked when `[http.trace] headers` lists it.
    let app = app.sensitive_header(keys.header.clone());
    let (prefix, header, ttl) = (keys.prefix.clone(), keys.header.clone(), keys.default_ttl);
    setup.authenticators.push(Registration {
        name: "api_key",
        dependency: Dependency::on::<ApiKeyAuthenticator>(),
        resolve: Box::new(|r| {
            let authn: Arc<dyn ErasedAuthenticator> = r.get::<ApiKeyAuthenticator>()?.into_arc();
            Ok(authn)
        }),
    });
    let app = match store {
        StoreProvider::Ready(store) => app.provide(
            Provider::factory(move |_| {
                Ok(ApiKeys::from_erased(store.clone(), &prefix)?.with_default_ttl(ttl))
            })
            .declared_by("AuthPlugin (api keys)")
            .on_start(),
        ),
        #[cfg(feature = "database")]
        StoreProvider::Database => app.provide(
            Provider::factory(move |r| {
                let db = (*r.get::<cortex_data::Db>()?).clone();
                Ok(ApiKeys::new(DbApiKeyStore::new(db), &prefix)?.with_default_ttl(ttl))
            })
            .depends_on(Dependency::on::<cortex_data::Db>())
            .declared_by("AuthPlugin (api keys)")
            .on_start(),
        ),
    };
    app.provide(
        Provider::factory(move |r| {
            let keys = (*r.get::<ApiKeys>()?).clone();
            Ok(ApiKeyAuthenticator::new(keys, &header)?)
        })
        .depends_on(Dependency::on::<ApiKeys>())
        .declared_by("AuthPlugin (api keys)"),
    )
}

enum StoreProvider {
    /// A store made now.
    Ready(Arc<dyn ErasedApiKeyStore>),
    /// The database store, on the container's `Db`.
    #[cfg(feature = "database")]
    Database,
}

fn store_provider(
    keys: &ApiKeyConfig,
    config: &crate::AuthConfig,
) -> Result<StoreProvider, AuthError> {
    match keys.store {
        StoreKind::Memory => Ok(StoreProvider::Ready(Arc::new(MemoryApiKeyStore::new()))),
        #[cfg(feature = "database")]
        StoreKind::Database => Ok(StoreProvider::Database),
        #[cfg(not(feature = "database"))]
        StoreKind::Database => Err(not_compiled(keys.store, "database")),
        #[cfg(feature = "redis")]
        StoreKind::Redis => {
            let Some(url) = config.redis_url.as_deref() else {
                return Err(AuthError::Config {
                    key: "auth.redis_url".into(),
                    reason: "is not set, and `[auth.api_keys] store = \"redis\"` needs it; hint: `redis_url = \"redis://127.0.0.1:6379\"` under `[auth]`".into(),
                });
            };
            Ok(StoreProvider::Ready(Arc::new(RedisApiKeyStore::new(
                url,
                REDIS_PREFIX,
            )?)))
        }
        #[cfg(not(feature = "redis"))]
        StoreKind::Redis => {
            let _ = config;
            Err(not_compiled(keys.store, "redis"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_not_compiled_in_names_the_key_and_the_feature() {
        assert_eq!(
            not_compiled(StoreKind::Redis, "redis").to_string(),
            "`auth.api_keys.store` is `redis`, but cortex-auth was built without its `redis` feature; hint: turn on the `redis` feature of `cortex` (or of `cortex-auth`), or use `store = \"memory\"`"
        );
    }
}
