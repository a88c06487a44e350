//! Passwords: argon2id hashing off the async threads, verification in constant time, transparent
//! rehash, a dummy hash for unknown accounts, and the login helper that puts them together with
//! the throttle.

mod config;
mod hasher;
mod login;

pub use config::PasswordConfig;
pub use hasher::{PasswordError, PasswordHash, Passwords, Verified};
pub use login::{LoginRefused, LoginSuccess, PasswordLogin};

use cortex_di::{Dependency, Provider};

/// Binds [`Passwords`] (from `[auth.passwords]`, checked now: a bad value stops the start naming
/// its key) and the [`PasswordLogin`] helper (on the passwords and the login throttle).
pub(crate) fn install(
    app: cortex_core::App,
    config: &crate::AuthConfig,
    _setup: &mut crate::plugin::Setup,
) -> cortex_core::App {
    let passwords = match Passwords::new(&config.passwords, app.config().profile()) {
        Ok(passwords) => passwords,
        Err(error) => return app.fail(error),
    };
    app.provide(
        Provider::value(passwords)
            .declared_by("AuthPlugin")
            .on_start(),
    )
    .provide(
        Provider::factory(|r| {
            let passwords = (*r.get::<Passwords>()?).clone();
            let throttle = (*r.get::<crate::throttle::LoginThrottle>()?).clone();
            Ok(PasswordLogin::new(passwords, throttle))
        })
        .depends_on(Dependency::on::<Passwords>())
        .depends_on(Dependency::on::<crate::throttle::LoginThrottle>())
        .declared_by("AuthPlugin"),
    )
}
