//! [`DataPlugin`]: the data layer in an app — `[database]`, the injectable [`Db`], the start-up
//! ping, the `database` readiness check, the request's [`UnitOfWork`], the pool closed on
//! shutdown.

use std::time::Duration;

use cortex_core::health::{HealthCheck, HealthStatus};
use cortex_core::plugin::{Plugin, PluginManifest};
use cortex_core::{App, ShutdownSignal};
use cortex_di::{BoxError, Dependency, OnShutdown, OnStart, Provider, Scope};

use crate::config::DatabaseConfig;
use crate::db::Db;
use crate::error::DataError;
use crate::uow::UnitOfWork;

/// How long the readiness check waits for `SELECT 1` (the probe's own deadline is 2 s).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// The data layer as a plugin: `App::new().plugin(DataPlugin)`, or the `cortex` facade's `data`
/// (`sqlite`, `postgres`, `mysql`) feature and `App::discover()`.
///
/// While the app is built it
/// - reads `[database]` ([`DatabaseConfig`]), the URL overridden by the environment variable
///   `DATABASE_URL`, itself overridden by `CORTEX_DATABASE__URL`
///   ([`DatabaseConfig::from_config_with`]). An unknown key, an unreadable value, a URL whose
///   scheme names no database or one this build was compiled without stops the start with the
///   key named;
/// - binds [`Db`] as a singleton **without connecting**, so that `cortex routes` and
///   `cortex graph` work with the database down;
/// - binds the request-scoped [`UnitOfWork`] (a transaction a request opts into by injecting it);
/// - registers the readiness check `database` (`SELECT 1` within a second; `down` when the
///   database does not answer).
///
/// When the app starts (`OnStart` of [`Db`]) it opens one connection and runs `SELECT 1`: a
/// database that cannot be reached stops the start, naming the URL with its password masked, and
/// `main` returns the error (a non-zero exit). Once started, a task tracked by the app's
/// [`ShutdownSignal`] sets the pool gauges every second ([`Db::record_pool_metrics`]) until the
/// app shuts down. When the app has drained (`OnShutdown`) it closes the pool (and the gauges
/// read 0).
///
/// ```
/// use cortex_core::{App, ShutdownSignal};
/// use cortex_core::config::Config;
/// use cortex_data::{DataPlugin, Db};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = Config::from_toml("[database]\nurl = 'sqlite::memory:'")?;
/// let app = App::with_config(config).plugin(DataPlugin).build().await?;
/// let db = app.container().get::<Db>()?;
/// db.ping().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct DataPlugin;

impl Plugin for DataPlugin {
    fn manifest(&self) -> PluginManifest {
        PluginManifest::new("data", env!("CARGO_PKG_VERSION")).config_section("database")
    }

    fn build(&self, app: App) -> App {
        let config = match DatabaseConfig::from_config(app.config()) {
            Ok(config) => config,
            Err(error) => return app.fail(error),
        };
        if let Err(error) = crate::pool::check_url(&config.url) {
            return app.fail(error);
        }
        let app = app
            .provide(
                Provider::factory(move |r| {
                    let db = Db::connect_lazy(&config)?;
                    db.set_shutdown((*r.get::<ShutdownSignal>()?).clone());
                    Ok(db)
                })
                .depends_on(Dependency::on::<ShutdownSignal>())
                .declared_by("DataPlugin")
                .on_start()
                .on_shutdown(),
            )
            .health_check::<Db>()
            .provide(
                Provider::factory(|r| Ok(UnitOfWork::new((*r.get::<Db>()?).clone())))
                    .scope(Scope::Request)
                    .depends_on(Dependency::on::<Db>())
                    .declared_by("DataPlugin")
                    .on_scope_end(),
            );
        // The `db:*` tasks, on the migrations the app registered (`app_migrations!`).
        let app = crate::migrate::tasks(app);
        // The `Repo<M>` providers `#[derive(Model)]` submitted.
        crate::repo::register_models(app)
    }
}

/// The start of an app with the [`DataPlugin`]: one fresh connection and `SELECT 1`, within
/// `[database] connect_timeout` (then, with `[database] migrate = "on_start"`, the app's
/// migrations). An error stops the start and names the URL, its password masked.
impl OnStart for Db {
    async fn on_start(&self) -> Result<(), BoxError> {
        self.connect_once().await.map_err(|error| match error {
            DataError::Unavailable { url, reason } => DataError::Unavailable {
                url,
                reason: format!(
                    "{reason}; hint: start the database, or fix `[database] url` (or DATABASE_URL, CORTEX_DATABASE__URL)"
                ),
            },
            other => other,
        })?;
        // With `[database] migrate = "on_start"`: the app's migrations (none registered, or a
        // `db:*` task running, leave the database as it is).
        crate::migrate::migrate_on_start(self).await?;
        // The pool gauges, every second until the app shuts down.
        if let Some(signal) = self.shutdown_signal() {
            self.spawn_pool_metrics(signal);
        }
        tracing::info!(target: "cortex::data", backend = %self.backend(), url = self.url(), "database ready");
        Ok(())
    }
}

/// Closes the pool once the app has drained (after the services created after it have run their
/// own shutdown hooks).
impl OnShutdown for Db {
    async fn on_shutdown(&self) {
        self.close().await;
        // The gauges say the pool is empty now.
        self.record_pool_metrics();
        tracing::debug!(target: "cortex::data", url = self.url(), "database pool closed");
    }
}

/// `database` in `/health/ready`: `SELECT 1` on the pool within a second; `down` when the
/// database does not answer (the cause is logged, never served).
impl HealthCheck for Db {
    const NAME: &'static str = "database";

    async fn check(&self) -> HealthStatus {
        match tokio::time::timeout(HEALTH_TIMEOUT, self.select_one()).await {
            Ok(Ok(())) => HealthStatus::Healthy,
            Ok(Err(error)) => {
                tracing::warn!(target: "cortex::data", error = %error, "the database readiness check failed");
                HealthStatus::unhealthy("the database refused the check query")
            }
            Err(_) => HealthStatus::unhealthy(format!(
                "the database did not answer within {} ms",
                HEALTH_TIMEOUT.as_millis()
            )),
        }
    }
}

// With the `discover` feature (turned on by the `cortex` facade's database features), linking the
// crate is enough: `App::discover()` applies the plugin.
#[cfg(feature = "discover")]
cortex_core::plugin::submit!(DataPlugin);
