//! `events_redis` in `/health/ready`: with `[events.bridge] kind = "redis"`, a `PING` within a
//! second.

use std::time::Duration;

use cortex_core::health::{HealthCheck, HealthStatus};

use super::RedisBridgeConfig;
use super::config::mask_url;

/// How long the readiness check waits for Redis (the probe's own deadline is 2 s).
const TIMEOUT: Duration = Duration::from_secs(1);

/// The readiness check of the Redis event bridge: `down` when Redis does not answer `PING`
/// within a second (the cause is logged, never served).
pub(crate) struct EventsRedis {
    client: redis::Client,
    url: String,
}

impl EventsRedis {
    async fn ping(&self) -> Result<(), redis::RedisError> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let mut connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(drop)
    }
}

impl HealthCheck for EventsRedis {
    const NAME: &'static str = "events_redis";

    async fn check(&self) -> HealthStatus {
        match tokio::time::timeout(TIMEOUT, self.ping()).await {
            Ok(Ok(())) => HealthStatus::Healthy,
            Ok(Err(error)) => {
                tracing::warn!(
                    target: "cortex::events",
                    bridge = "redis",
                    url = %self.url,
                    %error,
                    "the Redis event bridge's health check failed"
                );
                HealthStatus::unhealthy("Redis refused the check")
            }
            Err(_) => HealthStatus::unhealthy(format!(
                "Redis did not answer within {} ms",
                TIMEOUT.as_millis()
            )),
        }
    }
}

/// Binds the check (`[events.bridge.redis]` was checked when the bridge was built).
pub(crate) fn install(app: cortex_core::App) -> cortex_core::App {
    let config = match RedisBridgeConfig::from_config(app.config()) {
        Ok(config) => config,
        Err(error) => return app.fail(error),
    };
    match redis::Client::open(config.url.as_str()) {
        Ok(client) => app
            .provide(
                cortex_di::Provider::value(EventsRedis {
                    client,
                    url: mask_url(&config.url),
                })
                .declared_by("EventsPlugin"),
            )
            .health_check::<EventsRedis>(),
        Err(_) => app,
    }
}
