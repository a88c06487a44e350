//! The link-time registry that [`ContainerBuilder::discover`](crate::ContainerBuilder::discover)
//! reads: every `#[injectable]` and `#[provider]` submits one [`Registration`].

use crate::ContainerBuilder;

/// A type or function that knows how to register its providers.
///
/// `#[injectable]` implements it for the struct and `#[provider]` for a marker type named after
/// the function, so both can be registered by hand with
/// [`ContainerBuilder::register`](crate::ContainerBuilder::register).
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
