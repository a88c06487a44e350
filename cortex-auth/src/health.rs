//! `auth_redis` in `/health/ready`: with `[auth] redis_url` set (the Redis stores), a `PING` within
//! a second.

use std::time::Duration;

use cortex_core::health::{HealthCheck, HealthStatus};

/// How long the readiness check waits for Redis (the probe's own deadline is 2 s).
const TIMEOUT: Duration = Duration::from_secs(1);

/// The readiness check of the auth stores in Redis, bound by the plugin when `[auth] redis_url`
/// is set: `down` when Redis does not answer `PING` within a second (the cause is logged, never
/// served).
#[derive(Debug)]
pub(crate) struct AuthRedis {
    client: redis::Client,
}

impl AuthRedis {
    pub(crate) fn new(url: &str) -> Result<Self, crate::AuthError> {
        redis::Client::open(url)
            .map(|client| AuthRedis { client })
            .map_err(|error| crate::AuthError::Config {
                key: "auth.redis_url".into(),
                reason: format!("is not a Redis URL ({error}); hint: `redis://127.0.0.1:6379`"),
            })
    }

    async fn ping(&self) -> Result<(), redis::RedisError> {
        let mut connection = self.client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(drop)
    }
}

impl HealthCheck for AuthRedis {
    const NAME: &'static str = "auth_redis";

    async fn check(&self) -> HealthStatus {
        match tokio::time::timeout(TIMEOUT, self.ping()).await {
            Ok(Ok(())) => HealthStatus::Healthy,
            Ok(Err(error)) => {
                tracing::warn!(target: "cortex::auth", %error, "the auth stores' Redis check failed");
                HealthStatus::unhealthy("Redis refused the check")
            }
            Err(_) => HealthStatus::unhealthy(format!(
                "Redis did not answer within {} ms",
                TIMEOUT.as_millis()
            )),
        }
    }
}

/// Binds the check when `[auth] redis_url` is set.
pub(crate) fn install(app: cortex_core::App, config: &crate::AuthConfig) -> cortex_core::App {
    let Some(url) = config.redis_url.as_deref() else {
        return app;
    };
    match AuthRedis::new(url) {
        Ok(check) => app
            .provide(cortex_di::Provider::value(check).declared_by("AuthPlugin"))
            .health_check::<AuthRedis>(),
        Err(error) => app.fail(error),
    }
}
