//! The authentication layer: asks the authenticators, records the [`AuthOutcome`](crate::AuthOutcome)
//! in the request's extensions and seeds the request scope's [`Identity`](crate::Identity).

use cortex_core::App;

use crate::config::AuthConfig;
use crate::plugin::Setup;

/// Binds the `Authentication` singleton and adds the layer.
pub(crate) fn install(app: App, _config: &AuthConfig, _setup: Setup) -> App {
    app
}
