//! [`AuthPlugin`]: reads `[auth]`, wires each configured mechanism, installs the authentication
//! layer.

use std::sync::Arc;

use cortex_core::App;
use cortex_core::plugin::{Plugin, PluginManifest};
use cortex_di::{BoxError, Dependency, Resolver};

use crate::authn::ErasedAuthenticator;
use crate::config::AuthConfig;

/// How a mechanism's module hands its authenticator to the plugin: the container binding it
/// depends on, and how to get the authenticator out of the container once it is built.
pub(crate) struct Registration {
    /// `bearer`, `api_key`, `session`: the name `[auth] order` uses.
    pub(crate) name: &'static str,
    /// What the authenticator needs from the container (declared on the `Authentication`
    /// singleton, so a missing binding fails the start).
    pub(crate) dependency: Dependency,
    /// Resolves the authenticator.
    pub(crate) resolve:
        Box<dyn Fn(&Resolver<'_>) -> Result<Arc<dyn ErasedAuthenticator>, BoxError> + Send + Sync>,
}

/// What the modules' `install` functions contribute while the plugin builds the app.
#[derive(Default)]
pub(crate) struct Setup {
    /// The authenticators, in the modules' order (reordered by `[auth] order`).
    pub(crate) authenticators: Vec<Registration>,
}

/// Authentication and authorization as a plugin: `App::new().plugin(AuthPlugin)`, or the `cortex`
/// facade's `auth` feature and `App::discover()`.
#[derive(Debug, Default, Clone, Copy)]
pub struct AuthPlugin;

impl Plugin for AuthPlugin {
    fn manifest(&self) -> PluginManifest {
        PluginManifest::new("auth", env!("CARGO_PKG_VERSION")).config_section("auth")
    }

    fn build(&self, app: App) -> App {
        let config = match AuthConfig::from_config(app.config()) {
            Ok(config) => config,
            Err(error) => return app.fail(error),
        };
        let mut setup = Setup::default();
        let app = crate::password::install(app, &config, &mut setup);
        let app = crate::throttle::install(app, &config, &mut setup);
        let app = crate::jwt::install(app, &config, &mut setup);
        let app = crate::refresh::install(app, &config, &mut setup);
        let app = crate::api_key::install(app, &config, &mut setup);
        let app = crate::session::install(app, &config, &mut setup);
        crate::layer::install(app, &config, setup)
    }
}

#[cfg(feature = "discover")]
cortex_core::plugin::submit!(AuthPlugin);
