//! The `shaku` feature: registers the components and providers of a [shaku] module in a
//! [`ContainerBuilder`], so code written for shaku can be used from a Cortex app unchanged.
//!
//! The module is built by shaku as usual (its own compile-time checks apply inside it) and bound
//! in the container as a value; each imported interface becomes a Cortex binding that asks the
//! module for it. From then on the Cortex graph validation covers the imported bindings like any
//! other: a Cortex provider that needs a shaku interface nobody imported is a missing-provider
//! error at startup, and a singleton that depends on an imported shaku *provider* (a transient) is
//! a scope violation.
//!
//! [shaku]: https://docs.rs/shaku

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use shaku::{HasComponent, HasProvider, Interface, Module};

use crate::builder::ContainerBuilder;
use crate::error::BoxError;
use crate::provider::Provider;
use crate::spec::{Dependency, Scope};

impl ContainerBuilder {
    /// Binds a built shaku module as a value (resolvable as `Inject<M>`) and returns a handle to
    /// import its components and providers as Cortex bindings.
    ///
    /// - [`component::<dyn I>()`](ShakuImport::component) binds `dyn I` as a singleton: the
    ///   component the module already holds (`HasComponent::resolve`);
    /// - [`provider::<dyn I>()`](ShakuImport::provider) binds `dyn I` as a transient: a new
    ///   instance from `HasProvider::provide` on every resolve.
    ///
    /// Only what is imported is visible to Cortex; the compiler checks that the module has each
    /// interface imported.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use cortex_di::{ContainerBuilder, Dependency, Inject, Provider};
    /// use shaku::{Component, Interface, module};
    ///
    /// trait Clock: Interface {
    ///     fn now(&self) -> u64;
    /// }
    ///
    /// #[derive(Component)]
    /// #[shaku(interface = Clock)]
    /// struct FixedClock;
    ///
    /// impl Clock for FixedClock {
    ///     fn now(&self) -> u64 {
    ///         42
    ///     }
    /// }
    ///
    /// module! {
    ///     TimeModule {
    ///         components = [FixedClock],
    ///         providers = []
    ///     }
    /// }
    ///
    /// // A Cortex service that depends on the shaku component.
    /// struct Stamper {
    ///     clock: Inject<dyn Clock>,
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let mut builder = ContainerBuilder::new();
    /// builder.shaku_module(Arc::new(TimeModule::builder().build())).component::<dyn Clock>();
    /// builder.add(
    ///     Provider::factory(|r| Ok(Stamper { clock: r.get::<dyn Clock>()? }))
    ///         .depends_on(Dependency::on::<dyn Clock>()),
    /// );
    /// let container = builder.build().await?;
    /// assert_eq!(container.get::<Stamper>()?.clock.now(), 42);
    /// # Ok::<_, cortex_di::Error>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    pub fn shaku_module<M: Module + Send + Sync>(&mut self, module: Arc<M>) -> ShakuImport<'_, M> {
        self.add(Provider::arc_value(module));
        ShakuImport {
            builder: self,
            _module: PhantomData,
        }
    }
}

/// Imports the interfaces of a shaku module into a [`ContainerBuilder`]; returned by
/// [`ContainerBuilder::shaku_module`].
///
/// Each imported binding depends on the module's own binding (`M`), so introspection shows where
/// it comes from, and is reported as declared by the module type at the line that imported it.
pub struct ShakuImport<'a, M> {
    builder: &'a mut ContainerBuilder,
    _module: PhantomData<fn() -> M>,
}

impl<M: Module + Send + Sync> ShakuImport<'_, M> {
    /// Binds `I` (a `dyn Trait`) as a singleton: the component the module holds.
    #[track_caller]
    pub fn component<I>(&mut self) -> &mut Self
    where
        I: Interface + ?Sized,
        M: HasComponent<I>,
    {
        let provider = component_provider::<M, I>();
        self.builder.add(provider);
        self
    }

    /// Like [`component`](Self::component), bound under `name`.
    #[track_caller]
    pub fn component_named<I>(&mut self, name: impl Into<Cow<'static, str>>) -> &mut Self
    where
        I: Interface + ?Sized,
        M: HasComponent<I>,
    {
        let provider = component_provider::<M, I>().named(name);
        self.builder.add(provider);
        self
    }

    /// Binds `I` (a `dyn Trait`) as a transient: every resolve calls the module's provider and
    /// turns the `Box<I>` it returns into a shared handle. A failure of the shaku provider is a
    /// [`Error::Provider`](crate::Error::Provider) naming `I` and the module.
    ///
    /// shaku lets provided values be `!Send`; a Cortex binding must be `Send + Sync`.
    #[track_caller]
    pub fn provider<I>(&mut self) -> &mut Self
    where
        I: ?Sized + Send + Sync + 'static,
        M: HasProvider<I>,
    {
        let provider = provider_provider::<M, I>();
        self.builder.add(provider);
        self
    }

    /// Like [`provider`](Self::provider), bound under `name`.
    #[track_caller]
    pub fn provider_named<I>(&mut self, name: impl Into<Cow<'static, str>>) -> &mut Self
    where
        I: ?Sized + Send + Sync + 'static,
        M: HasProvider<I>,
    {
        let provider = provider_provider::<M, I>().named(name);
        self.builder.add(provider);
        self
    }
}

impl<M> fmt::Debug for ShakuImport<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShakuImport")
            .field("module", &std::any::type_name::<M>())
            .finish_non_exhaustive()
    }
}

#[track_caller]
fn component_provider<M, I>() -> Provider<I>
where
    M: Module + HasComponent<I> + Send + Sync,
    I: Interface + ?Sized,
{
    Provider::<I>::arc_factory(|r| {
        let module = r.get::<M>()?;
        Ok(<M as HasComponent<I>>::resolve(&module))
    })
    .depends_on(Dependency::on::<M>())
    .declared_by(std::any::type_name::<M>())
}

#[track_caller]
fn provider_provider<M, I>() -> Provider<I>
where
    M: Module + HasProvider<I> + Send + Sync,
    I: ?Sized + Send + Sync + 'static,
{
    Provider::<I>::arc_factory(|r| {
        let module = r.get::<M>()?;
        let boxed = <M as HasProvider<I>>::provide(&module).map_err(shaku_error)?;
        Ok(Arc::from(boxed))
    })
    .scope(Scope::Transient)
    .depends_on(Dependency::on::<M>())
    .declared_by(std::any::type_name::<M>())
}

/// shaku's errors are `Box<dyn Error>` (neither `Send` nor `Sync`): keep their messages, source
/// chain included.
fn shaku_error(error: Box<dyn std::error::Error>) -> BoxError {
    let mut message = format!("the shaku provider failed: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("cannot connect")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn shaku_errors_keep_their_source_chain() {
        let inner = std::io::Error::other("connection refused");
        let error = shaku_error(Box::new(Outer(inner)));
        assert_eq!(
            error.to_string(),
            "the shaku provider failed: cannot connect: connection refused"
        );
    }
}
