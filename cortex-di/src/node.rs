//! What the container holds for each validated provider: its [`Node`] (key, scope, edges, hooks)
//! and the [`Cell`] its instance lives in. A leaf below the resolver: the node is generic over
//! its factory, which the resolver names, so this module needs only keys, specs and errors.

use std::any::Any;
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use crate::error::{BoxError, ProviderRef};
use crate::hooks::ScopeOutcome;
use crate::key::Key;
use crate::spec::{Dependency, Location, ProviderKind, Scope};

/// A type-erased instance: always a `Box<Inject<T>>` for the provider's `T`.
pub(crate) type Instance = Box<dyn Any + Send + Sync>;
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
pub(crate) type ShutdownHook = fn(&Instance) -> BoxFuture<()>;
/// An `OnStart` or `OnReady` hook: the future holds its own handle on the instance.
pub(crate) type StartHook = fn(&Instance) -> BoxFuture<Result<(), BoxError>>;

/// An `OnScopeEnd` hook: the future holds its own handles on the instance and the outcome.
pub(crate) type ScopeEndHook = fn(&Instance, &ScopeOutcome) -> BoxFuture<()>;

/// A resolved dependency edge.
pub(crate) struct Edge {
    pub(crate) dep: Dependency,
    pub(crate) target: Option<usize>,
}

/// A provider after validation; `F` is how it makes its instance (the resolver's `Factory`).
pub(crate) struct Node<F> {
    pub(crate) key: Key,
    pub(crate) scope: Scope,
    pub(crate) lazy: bool,
    pub(crate) edges: Vec<Edge>,
    pub(crate) factory: F,
    pub(crate) kind: ProviderKind,
    pub(crate) location: Location,
    pub(crate) declared_by: Cow<'static, str>,
    pub(crate) start: Option<StartHook>,
    pub(crate) ready: Option<StartHook>,
    pub(crate) shutdown: Option<ShutdownHook>,
    pub(crate) scope_end: Option<ScopeEndHook>,
    /// Creating the instance may have to await (an async factory, here or below).
    pub(crate) init_async: bool,
    /// Index of the node's cell among the singleton or request cells.
    pub(crate) slot: usize,
}

impl<F> Node<F> {
    pub(crate) fn reference(&self) -> ProviderRef {
        ProviderRef {
            key: self.key.clone(),
            declared_by: self.declared_by.to_string(),
            location: self.location,
        }
    }

    /// Whether a dependent must await to obtain this node's instance.
    pub(crate) fn needs_async_for_dependents(&self) -> bool {
        self.init_async && (self.scope != Scope::Singleton || self.lazy)
    }
}

/// A once-initialised slot: synchronous when the provider never awaits, `async` otherwise.
pub(crate) enum Cell {
    Sync(once_cell::sync::OnceCell<Instance>),
    Async(tokio::sync::OnceCell<Instance>),
}

impl Cell {
    pub(crate) fn new(is_async: bool) -> Cell {
        if is_async {
            Cell::Async(tokio::sync::OnceCell::new())
        } else {
            Cell::Sync(once_cell::sync::OnceCell::new())
        }
    }

    #[inline]
    pub(crate) fn get(&self) -> Option<&Instance> {
        match self {
            Cell::Sync(c) => c.get(),
            Cell::Async(c) => c.get(),
        }
    }

    pub(crate) fn take(&mut self) -> Option<Instance> {
        match self {
            Cell::Sync(c) => c.take(),
            Cell::Async(c) => c.take(),
        }
    }
}
