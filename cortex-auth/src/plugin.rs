//! [`AuthPlugin`](struct@AuthPlugin): reads `[auth]`, wires each configured mechanism, installs the authentication
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
    pub(crate) resolve: ResolveFn,
}

/// How a [`Registration`] resolves its authenticator.
pub(crate) type ResolveFn =
    Box<dyn Fn(&Resolver<'_>) -> Result<Arc<dyn ErasedAuthenticator>, BoxError> + Send + Sync>;

/// What the modules' `install` functions contribute while the plugin builds the app.
#[derive(Default)]
pub(crate) struct Setup {
    /// The authenticators, in the modules' order (reordered by `[auth] order`).
    pub(crate) authenticators: Vec<Registration>,
    /// The app's own authenticators ([`AuthPlugin::authenticator`]), asked after the built-in
    /// ones unless `[auth] order` says otherwise.
    pub(crate) custom: Vec<Arc<dyn ErasedAuthenticator>>,
}

/// Authentication and authorization as a plugin: `App::new().plugin(AuthPlugin)`, or the `cortex`
/// facade's `auth` feature and `App::discover()`.
///
/// `AuthPlugin` alone (a constant) is the plugin with the built-in mechanisms `[auth]`
/// configures; [`authenticator`](Self::authenticator) adds one of the app's own (a gateway
/// header, a signed webhook, a legacy token): it is asked after the built-in ones unless
/// `[auth] order` names it earlier.
///
/// ```
/// use cortex_auth::{AuthFailure, AuthPlugin, Authenticator, CurrentUser};
/// use cortex_core::App;
/// use http::Extensions;
/// use http::request::Parts;
///
/// struct Gateway;
///
/// impl Authenticator for Gateway {
///     fn name(&self) -> &'static str { "gateway" }
///     async fn authenticate(&self, request: &mut Parts, _: &mut Extensions)
///         -> Result<Option<CurrentUser>, AuthFailure> {
///         Ok(request.headers.get("x-user").and_then(|v| v.to_str().ok()).map(|id| CurrentUser::builder(id).build()))
///     }
/// }
///
/// let app = App::new().plugin(AuthPlugin::default().authenticator(Gateway));
/// let plain = App::new().plugin(AuthPlugin);
/// # let _ = (app, plain);
/// ```
#[derive(Clone, Default)]
pub struct AuthPlugin {
    custom: Vec<Arc<dyn ErasedAuthenticator>>,
}

/// The plugin with the mechanisms `[auth]` configures and no authenticator of the app's own:
/// `App::new().plugin(AuthPlugin)`.
#[allow(non_upper_case_globals)]
pub const AuthPlugin: AuthPlugin = AuthPlugin { custom: Vec::new() };

impl AuthPlugin {
    /// Adds an authenticator of the app's own (see the type's docs). Its
    /// [`name`](crate::Authenticator::name) is what `[auth] order` uses; two authenticators with
    /// one name fail the start. It may resolve services per request from the `Container` in the
    /// request's extensions.
    pub fn authenticator(mut self, authenticator: impl crate::Authenticator) -> Self {
        self.custom.push(Arc::new(authenticator));
        self
    }
}

impl std::fmt::Debug for AuthPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthPlugin")
            .field(
                "authenticators",
                &self.custom.iter().map(|a| a.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Plugin for AuthPlugin {
    fn manifest(&self) -> PluginManifest {
        PluginManifest::new("auth", env!("CARGO_PKG_VERSION")).config_section("auth")
    }

    fn build(&self, app: App) -> App {
        let config = match AuthConfig::from_config(app.config()) {
            Ok(config) => config,
            Err(error) => return app.fail(error),
        };
        let mut setup = Setup {
            custom: self.custom.clone(),
            ..Setup::default()
        };
        let app = crate::password::install(app, &config, &mut setup);
        let app = crate::throttle::install(app, &config, &mut setup);
        let app = crate::jwt::install(app, &config, &mut setup);
        let app = crate::refresh::install(app, &config, &mut setup);
        let jwt_on = setup.authenticators.iter().any(|r| r.name == "bearer");
        let app = crate::tokens::install(app, jwt_on);
        let app = crate::api_key::install(app, &config, &mut setup);
        let app = crate::session::install(app, &config, &mut setup);
        #[cfg(feature = "redis")]
        let app = crate::health::install(app, &config);
        let app = if config.deny_by_default {
            app.deny_by_default()
        } else {
            app
        };
        crate::layer::install(app, &config, setup)
    }
}

#[cfg(feature = "discover")]
cortex_core::plugin::submit!(AuthPlugin);
