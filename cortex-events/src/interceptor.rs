//! Interceptors around publishing and handling: logging, metrics, auth or tenant context.

use std::future::Future;
use std::pin::Pin;

use cortex_di::BoxError;

use crate::event::Metadata;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an interceptor sees of a delivery.
#[derive(Debug, Clone, Copy)]
pub struct HandleContext<'a> {
    /// The handler (or subscription) the event is delivered to.
    pub handler: &'a str,
    /// The event's metadata.
    pub metadata: &'a Metadata,
    /// Which attempt this is (1 for the first).
    pub attempt: u32,
}

/// The rest of the chain: the next interceptors and the handler. Run it (or don't, to skip the
/// handler: that counts as handled).
pub struct Next<'a> {
    pub(crate) inner: BoxFuture<'a, Result<(), BoxError>>,
}

impl<'a> Next<'a> {
    /// Runs the rest of the chain.
    pub async fn run(self) -> Result<(), BoxError> {
        self.inner.await
    }
}

/// Runs around every publish and every delivery to a handler.
///
/// `before_publish` may add headers to the metadata or refuse the event (an error fails the
/// publish with [`PublishError::Refused`](crate::PublishError::Refused)); `around_handle` wraps
/// each attempt of each handler: it may time, log, set up context, or refuse (an error counts as
/// the handler's failure and is retried). Interceptors run in the order they were added; the
/// first added is outermost. Register one with
/// [`EventBus::add_interceptor`](crate::EventBus::add_interceptor), or with
/// `#[injectable(provides = dyn ErasedInterceptor)]` under the plugin.
///
/// ```
/// use cortex_events::{Interceptor, HandleContext, Metadata, Next};
/// use cortex_di::BoxError;
///
/// struct Tenant;
///
/// impl Interceptor for Tenant {
///     async fn before_publish(&self, metadata: &mut Metadata) -> Result<(), BoxError> {
///         metadata.headers.insert("tenant".into(), "acme".into());
///         Ok(())
///     }
///
///     async fn around_handle(&self, context: HandleContext<'_>, next: Next<'_>) -> Result<(), BoxError> {
///         assert_eq!(context.metadata.headers["tenant"], "acme");
///         next.run().await
///     }
/// }
/// ```
pub trait Interceptor: Send + Sync + 'static {
    /// Before an event is delivered to anyone.
    fn before_publish(
        &self,
        metadata: &mut Metadata,
    ) -> impl Future<Output = Result<(), BoxError>> + Send {
        let _ = metadata;
        async { Ok(()) }
    }

    /// Around each attempt to handle an event.
    fn around_handle<'a>(
        &'a self,
        context: HandleContext<'a>,
        next: Next<'a>,
    ) -> impl Future<Output = Result<(), BoxError>> + Send + 'a {
        let _ = context;
        next.run()
    }
}

/// The object-safe twin of [`Interceptor`], implemented for every interceptor. Not meant to be
/// implemented by hand.
pub trait ErasedInterceptor: Send + Sync + 'static {
    /// [`Interceptor::before_publish`].
    fn before_publish<'a>(
        &'a self,
        metadata: &'a mut Metadata,
    ) -> BoxFuture<'a, Result<(), BoxError>>;
    /// [`Interceptor::around_handle`].
    fn around_handle<'a>(
        &'a self,
        context: HandleContext<'a>,
        next: Next<'a>,
    ) -> BoxFuture<'a, Result<(), BoxError>>;
}

impl<T: Interceptor> ErasedInterceptor for T {
    fn before_publish<'a>(
        &'a self,
        metadata: &'a mut Metadata,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(Interceptor::before_publish(self, metadata))
    }

    fn around_handle<'a>(
        &'a self,
        context: HandleContext<'a>,
        next: Next<'a>,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(Interceptor::around_handle(self, context, next))
    }
}
