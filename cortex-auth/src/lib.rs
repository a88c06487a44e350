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
//! Add the [`AuthPlugin`](struct@AuthPlugin) (or turn on the `cortex` facade's `auth` feature and call
//! `App::discover()`), configure `[auth]`, and put guards on routes.

pub mod api_key;
mod authn;
mod config;
mod error;
mod guard;
#[cfg(feature = "redis")]
mod health;
mod jwt;
mod layer;
mod observe;
mod password;
mod plugin;
mod refresh;
mod roles;
mod session;
mod throttle;
mod tokens;
mod user;

pub use api_key::ApiKeyConfig;
pub use authn::{AuthOutcome, Authenticator, ErasedAuthenticator};
pub use config::AuthConfig;
pub use error::{AuthError, AuthFailure};
pub use guard::{AnyRole, Authenticated, Permission, Policy, Role};
pub use jwt::{AccessToken, Jwt, JwtConfig, JwtKeyConfig, MAX_TOKEN_LEN};
pub use layer::Authentication;
pub use password::{
    LoginRefused, LoginSuccess, PasswordConfig, PasswordError, PasswordHash, PasswordLogin,
    Passwords, Verified,
};
pub use plugin::AuthPlugin;
#[cfg(feature = "database")]
pub use refresh::DatabaseRefreshStore;
#[cfg(feature = "redis")]
pub use refresh::RedisRefreshStore;
pub use refresh::{
    ErasedRefreshStore, MemoryRefreshStore, RefreshConfig, RefreshRecord, RefreshStore,
    RefreshStoreKind, RefreshToken, RefreshTokens, RotateOutcome, Rotated, UserSnapshot,
};
pub use roles::{RoleConfig, RolesConfig};
#[cfg(feature = "database")]
pub use session::DatabaseSessionStore;
#[cfg(feature = "redis")]
pub use session::RedisSessionStore;
pub use session::SessionConfig;
pub use session::{
    CSRF_HEADER, CsrfToken, ErasedSessionStore, MemorySessionStore, SameSite, Session,
    SessionAuthenticator, SessionClock, SessionRecord, SessionStore, SessionStoreKind, SessionUser,
};
pub use session::{SessionError, Sessions};
#[cfg(feature = "redis")]
pub use throttle::RedisThrottleStore;
pub use throttle::{
    Backoff, BoxedThrottle, ErasedThrottleStore, LoginThrottle, MemoryThrottleStore,
    ThrottleConfig, ThrottleEntry, ThrottleStore, ThrottleStoreKind, Throttled,
};
pub use tokens::{TokenError, TokenPair, Tokens};
pub use user::{AuthMethod, CurrentUser, CurrentUserBuilder, Identity};
