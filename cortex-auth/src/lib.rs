//! Authentication and authorization for Cortex apps.
//!
//! - **Passwords**: argon2id at OWASP's parameters, hashed off the async threads.
//! - **JWT**: short-lived access tokens, refresh tokens with rotation and reuse detection,
//!   HS256/ES256/EdDSA (RS256 behind the `rsa` feature), key rotation with `kid`, JWKS.
//! - **Guards**: `Authenticated`, `Role("admin")` with a role hierarchy,
//!   `Permission("posts:delete")`, resource policies.
//! - **API keys** with a visible prefix, stored hashed, with scopes, expiry and revocation.
//! - **Cookie sessions**, signed and encrypted, with CSRF protection.
//!
//! Add the [`AuthPlugin`] (or turn on the `cortex` facade's `auth` feature and call
//! `App::discover()`), configure `[auth]`, and put guards on routes.

mod api_key;
mod authn;
mod config;
mod error;
mod guard;
mod jwt;
mod layer;
mod password;
mod plugin;
mod roles;
mod session;
mod throttle;
mod user;

pub use api_key::ApiKeyConfig;
pub use authn::{AuthOutcome, Authenticator, ErasedAuthenticator};
pub use config::AuthConfig;
pub use error::{AuthError, AuthFailure};
pub use jwt::JwtConfig;
pub use password::{
    LoginRefused, LoginSuccess, PasswordConfig, PasswordError, PasswordHash, PasswordLogin,
    Passwords, Verified,
};
pub use plugin::AuthPlugin;
pub use roles::{RoleConfig, RolesConfig};
pub use session::SessionConfig;
#[cfg(feature = "redis")]
pub use throttle::RedisThrottleStore;
pub use throttle::{
    Backoff, BoxedThrottle, ErasedThrottleStore, LoginThrottle, MemoryThrottleStore,
    ThrottleConfig, ThrottleEntry, ThrottleStore, ThrottleStoreKind, Throttled,
};
pub use user::{AuthMethod, CurrentUser, CurrentUserBuilder, Identity};
