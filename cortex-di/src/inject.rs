//! [`Inject<T>`], the shared handle that the container hands out.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A cheap, shared handle to a value provided by the container.
///
/// `Inject<T>` is an [`Arc<T>`] with a name that says where it came from: cloning it is one atomic
/// increment, and it dereferences to `T`. `T` may be a trait object (`Inject<dyn Mailer>`), bound to
/// an implementation with `#[injectable(provides = dyn Mailer)]` or [`Provider::alias`].
///
/// ```
/// use cortex_di::Inject;
/// let greeting = Inject::new(String::from("hello"));
/// let again = greeting.clone(); // one atomic increment, same allocation
/// assert_eq!(again.len(), 5);
/// assert!(Inject::ptr_eq(&greeting, &again));
/// ```
///
/// [`Provider::alias`]: crate::Provider::alias
pub struct Inject<T: ?Sized>(Arc<T>);

impl<T> Inject<T> {
    /// Wraps a value in a new handle.
    pub fn new(value: T) -> Self {
        Inject(Arc::new(value))
    }
}

impl<T: ?Sized> Inject<T> {
    /// Wraps an existing [`Arc`].
    pub fn from_arc(arc: Arc<T>) -> Self {
        Inject(arc)
    }

    /// The underlying [`Arc`].
    pub fn into_arc(self) -> Arc<T> {
        self.0
    }

    /// Borrows the underlying [`Arc`].
    pub fn as_arc(&self) -> &Arc<T> {
        &self.0
    }

    /// Whether two handles point to the same instance.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl<T: ?Sized> Clone for Inject<T> {
    #[inline]
    fn clone(&self) -> Self {
        Inject(Arc::clone(&self.0))
    }
}

impl<T: ?Sized> Deref for Inject<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> AsRef<T> for Inject<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> From<Arc<T>> for Inject<T> {
    fn from(arc: Arc<T>) -> Self {
        Inject(arc)
    }
}

impl<T: ?Sized> From<Inject<T>> for Arc<T> {
    fn from(inject: Inject<T>) -> Self {
        inject.0
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Inject<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Inject<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Greeter: Send + Sync {
        fn greet(&self) -> String;
    }
    struct English;
    impl Greeter for English {
        fn greet(&self) -> String {
            "hello".into()
        }
    }

    #[test]
    fn clones_share_one_instance() {
        let a = Inject::new(5_u32);
        let b = a.clone();
        assert!(Inject::ptr_eq(&a, &b));
        assert_eq!(Arc::strong_count(a.as_arc()), 2);
    }

    #[test]
    fn holds_trait_objects() {
        let arc: Arc<dyn Greeter> = Arc::new(English);
        let g: Inject<dyn Greeter> = Inject::from_arc(arc);
        assert_eq!(g.greet(), "hello");
        let back: Arc<dyn Greeter> = g.into();
        assert_eq!(back.greet(), "hello");
    }
}
