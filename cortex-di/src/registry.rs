//! The link-time registry: every `#[injectable]` and `#[provider]` submits one
//! [`Registration`], and [`ContainerBuilder::discover`] reads them all. It sits on top of the
//! builder, adding `register` and `discover` to it.

use crate::builder::ContainerBuilder;

impl ContainerBuilder {
    /// Adds the providers an `#[injectable]` type (or a `#[provider]` function) declares.
    pub fn register<T: Injectable>(&mut self) -> &mut Self {
        T::register(self);
        self
    }

    /// Adds every `#[injectable]` and `#[provider]` linked into the binary. Calling it twice, or
    /// registering a discovered type again by hand, adds nothing twice.
    pub fn discover(&mut self) -> &mut Self {
        if self.mark_discovered() {
            for registration in inventory::iter::<Registration> {
                (registration.register)(self);
            }
        }
        self
    }
}

/// A type or function that knows how to register its providers.
///
/// `#[injectable]` implements it for the struct and `#[provider]` for a marker type named after
/// the function, so both can be registered by hand with
/// [`ContainerBuilder::register`].
///
/// ```
/// use cortex_di::{ContainerBuilder, Injectable, Provider};
/// struct Clock;
/// impl Injectable for Clock {
///     fn register(builder: &mut ContainerBuilder) {
///         builder.add(Provider::value(Clock));
///     }
/// }
/// let graph = ContainerBuilder::new().register::<Clock>().validate().unwrap();
/// assert_eq!(graph.providers.len(), 1);
/// ```
pub trait Injectable: 'static {
    /// Adds this item's providers to `builder`.
    fn register(builder: &mut ContainerBuilder);
}

/// One entry of the link-time registry.
#[derive(Debug)]
pub struct Registration {
    pub(crate) register: fn(&mut ContainerBuilder),
    pub(crate) name: &'static str,
}

impl Registration {
    /// An entry that runs `register` on discovery; `name` is the annotated item's path.
    pub const fn new(name: &'static str, register: fn(&mut ContainerBuilder)) -> Self {
        Registration { register, name }
    }

    /// The annotated item's path.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

inventory::collect!(Registration);

/// Every registration linked into the binary.
pub fn registrations() -> impl Iterator<Item = &'static Registration> {
    inventory::iter::<Registration>.into_iter()
}
