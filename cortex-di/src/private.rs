//! Items the macros expand to (`cortex_di::__private`): not public API. The hook probe that
//! attaches lifecycle hooks by autoref specialization, and the conversions of a provider
//! function's return value.

use std::marker::PhantomData;

pub use inventory;

use crate::error::BoxError;
use crate::hooks::{OnReady, OnScopeEnd, OnShutdown, OnStart};
use crate::provider::Provider;

/// Hooks up [`OnStart`], [`OnReady`], [`OnShutdown`] and [`OnScopeEnd`] for the ones the type
/// implements, by autoref specialization: the macros call
/// `(&&HookProbe::<T>::new()).attach_start(provider)` (and `attach_ready`, `attach_shutdown`,
/// `attach_scope_end`). When `T` implements the trait, the impl on `&HookProbe<T>` matches the
/// receiver without auto-deref and wins; otherwise method lookup derefs once and finds the
/// do-nothing impl on `HookProbe<T>`.
pub struct HookProbe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> HookProbe<T> {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        HookProbe(PhantomData)
    }
}

pub trait AttachStart<T: ?Sized> {
    fn attach_start(&self, provider: Provider<T>) -> Provider<T>;
}

impl<T: ?Sized + OnStart + 'static> AttachStart<T> for &HookProbe<T> {
    fn attach_start(&self, provider: Provider<T>) -> Provider<T> {
        provider.on_start()
    }
}

pub trait SkipStart<T: ?Sized> {
    fn attach_start(&self, provider: Provider<T>) -> Provider<T>;
}

impl<T: ?Sized> SkipStart<T> for HookProbe<T> {
    fn attach_start(&self, provider: Provider<T>) -> Provider<T> {
        provider
    }
}

pub trait AttachReady<T: ?Sized> {
    fn attach_ready(&self, provider: Provider<T>) -> Provider<T>;
}

impl<T: ?Sized + OnReady + 'static> AttachReady<T> for &HookProbe<T> {
    fn attach_ready(&self, provider: Provider<T>) -> Provider<T> {
        provider.on_ready()
    }
}

pub trait SkipReady<T: ?Sized> {
    fn attach_ready(&self, provider: Provider<T>) -> Provider<T>;
}

impl<T: ?Sized> SkipReady<T> for HookProbe<T> {
    fn attach_ready(&self, provider: Provider<T>) -> Provider<T> {
        provider
    }
}

pub trait AttachShutdown<T: ?Sized> {
    fn attach_shutdown(&self, provider: Provider<T>) -> Provider<T>;
}

impl<T: ?Sized + OnShutdown + 'static> AttachShutdown<T> for &HookProbe<T> {
    fn attach_shutdown(&self, provider: Provider<T>) -> Provider<T> {
        provider.on_shutdown()
    }
}

pub trait SkipShutdown<T: ?Sized> {
    fn attach_shutdown(&self, provider: Provider<T>) -> Provider<T>;
}

impl<T: ?Sized> SkipShutdown<T> for HookProbe<T> {
    fn attach_shutdown(&self, provider: Provider<T>) -> Provider<T> {
        provider
    }
}

pub trait AttachScopeEnd<T: ?Sized> {
    fn attach_scope_end(&self, provider: Provider<T>) -> Provider<T>;
}

impl<T: ?Sized + OnScopeEnd + 'static> AttachScopeEnd<T> for &HookProbe<T> {
    fn attach_scope_end(&self, provider: Provider<T>) -> Provider<T> {
        provider.on_scope_end()
    }
}

pub trait SkipScopeEnd<T: ?Sized> {
    fn attach_scope_end(&self, provider: Provider<T>) -> Provider<T>;
}

impl<T: ?Sized> SkipScopeEnd<T> for HookProbe<T> {
    fn attach_scope_end(&self, provider: Provider<T>) -> Provider<T> {
        provider
    }
}

/// Turns a provider function's return value into `Result<T, BoxError>`.
pub fn ok<T>(value: T) -> Result<T, BoxError> {
    Ok(value)
}

/// Turns a provider function's `Result` into `Result<T, BoxError>`.
pub fn from_result<T, E: Into<BoxError>>(value: Result<T, E>) -> Result<T, BoxError> {
    value.map_err(Into::into)
}

/// Makes the `lifecycle.hook` spans `info` (spans are exported) or `debug`: `cortex-core` calls
/// it with its `export_spans` flag before each lifecycle phase.
pub fn export_hook_spans(on: bool) {
    crate::lifecycle::export_hook_spans(on);
}

/// Runs one of the app's own hook closures (`App::on_start`, …) as the container runs a
/// provider's hook: in a `lifecycle.hook` span, timed in `cortex_lifecycle_hook_duration_seconds`
/// (`hook` = `hook`, `phase` = `start`, `ready` or `shutdown`).
pub async fn observe_app_hook(
    hook: &'static str,
    phase: &'static str,
    run: impl std::future::Future<Output = Result<(), BoxError>>,
) -> Result<(), BoxError> {
    use crate::lifecycle::HookEnd;
    crate::lifecycle::observe_hook(&hook, phase, run, |outcome| match outcome {
        Ok(()) => HookEnd::Ok,
        Err(error) => HookEnd::Failed(error),
    })
    .await
}
