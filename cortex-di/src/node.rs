//! What the container holds for each validated provider: its [`Node`] (key, scope, edges, hooks)
//! and the [`Cell`] its instance lives in. A leaf below the resolver: the node is generic over
//! its factory, which the resolver names, so this module needs only keys, specs and errors.

use std::any::TypeId;
use std::borrow::Cow;
use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{BoxError, ProviderRef};
use crate::hooks::ScopeOutcome;
use crate::inject::Inject;
use crate::key::Key;
use crate::spec::{Dependency, Location, ProviderKind, Scope};

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
    /// Where the target's instance lives; set when the container's cells are laid out.
    pub(crate) place: Place,
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
    /// Where the node's instance lives; set with `slot`.
    pub(crate) place: Place,
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

/// A type-erased instance: the `Inject<T>` of the provider's `T`, kept as its own bits (one
/// pointer, or two for a trait object) with the `TypeId` of `T` and how to drop it. No allocation
/// of its own: making one from an `Inject<T>` moves the handle in, and reading it back is a cast.
pub(crate) struct Instance {
    handle: MaybeUninit<[usize; 2]>,
    type_id: TypeId,
    drop_handle: unsafe fn(*mut MaybeUninit<[usize; 2]>),
}

// SAFETY: an `Instance` is made only from an `Inject<T>` with `T: Send + Sync` (see `new`), and
// `Inject<T>` (an `Arc<T>`) is `Send` and `Sync` for those.
unsafe impl Send for Instance {}
// SAFETY: as above.
unsafe impl Sync for Instance {}

impl Instance {
    /// Erases `handle`.
    #[inline]
    pub(crate) fn new<T: ?Sized + Send + Sync + 'static>(handle: Inject<T>) -> Instance {
        const {
            assert!(size_of::<Inject<T>>() <= size_of::<[usize; 2]>());
            assert!(align_of::<Inject<T>>() <= align_of::<[usize; 2]>());
        }
        let mut bits = MaybeUninit::<[usize; 2]>::uninit();
        // SAFETY: the storage is large and aligned enough for an `Inject<T>` (checked above at
        // compile time); it is read back only as an `Inject<T>` (`type_id` says which `T`), and
        // dropped once, by `drop_handle::<T>`.
        unsafe { bits.as_mut_ptr().cast::<Inject<T>>().write(handle) };
        Instance {
            handle: bits,
            type_id: TypeId::of::<T>(),
            drop_handle: drop_handle::<T>,
        }
    }

    /// The `TypeId` of the `T` in the `Inject<T>` this holds.
    #[inline]
    pub(crate) fn type_id(&self) -> TypeId {
        self.type_id
    }

    /// The handle, if this holds an `Inject<T>`.
    #[inline]
    pub(crate) fn downcast_ref<T: ?Sized + 'static>(&self) -> Option<&Inject<T>> {
        if self.type_id == TypeId::of::<T>() {
            // SAFETY: the type was just checked.
            Some(unsafe { self.get_unchecked() })
        } else {
            None
        }
    }

    /// The handle by value, if this holds an `Inject<T>`.
    pub(crate) fn downcast<T: ?Sized + 'static>(self) -> Option<Inject<T>> {
        if self.type_id == TypeId::of::<T>() {
            // SAFETY: the type was just checked.
            Some(unsafe { self.into_unchecked() })
        } else {
            None
        }
    }

    /// The handle, without checking its type.
    ///
    /// # Safety
    ///
    /// This must hold an `Inject<T>` (`self.type_id() == TypeId::of::<T>()`).
    #[inline]
    pub(crate) unsafe fn get_unchecked<T: ?Sized + 'static>(&self) -> &Inject<T> {
        debug_assert!(self.type_id == TypeId::of::<T>());
        // SAFETY: `new::<T>` wrote an `Inject<T>` at the start of `handle` (the caller
        // guarantees the `T`), and it stays there, initialised, until `self` is dropped.
        unsafe { &*self.handle.as_ptr().cast::<Inject<T>>() }
    }

    /// The handle, by value, without checking its type.
    ///
    /// # Safety
    ///
    /// As for [`get_unchecked`](Self::get_unchecked).
    #[inline]
    pub(crate) unsafe fn into_unchecked<T: ?Sized + 'static>(self) -> Inject<T> {
        debug_assert!(self.type_id == TypeId::of::<T>());
        let this = ManuallyDrop::new(self);
        // SAFETY: as in `get_unchecked`; the handle is moved out once, and `this` is never
        // dropped, so it is not dropped twice.
        unsafe { this.handle.as_ptr().cast::<Inject<T>>().read() }
    }
}

/// Drops the `Inject<T>` that `Instance::new::<T>` wrote into `bits`.
///
/// # Safety
///
/// `bits` holds an `Inject<T>` that is dropped nowhere else.
unsafe fn drop_handle<T: ?Sized>(bits: *mut MaybeUninit<[usize; 2]>) {
    // SAFETY: the caller guarantees an `Inject<T>` there, dropped only here.
    unsafe { bits.cast::<Inject<T>>().drop_in_place() }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: `drop_handle` is the one `new` chose for the `Inject<T>` in `handle`; an
        // `Instance` moved out of with `into_unchecked` is never dropped.
        unsafe { (self.drop_handle)(&mut self.handle) }
    }
}

/// Where a node's instance lives, resolved when the container lays out its cells: the
/// singleton's cell itself, the index of a request scope's cell, or nowhere (transient).
#[derive(Clone, Copy)]
pub(crate) enum Place {
    Singleton(CellRef),
    Request(u32),
    Transient,
}

/// A pointer to one of a container's singleton cells.
///
/// The cells are a boxed slice of the container's state, made before the nodes' places and never
/// moved or resized until that state is dropped; the places live in the same state, so a
/// `CellRef` read through that state never dangles.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct CellRef(NonNull<Cell>);

// SAFETY: a `CellRef` is a shared reference to a `Cell`, which is `Sync` (below).
unsafe impl Send for CellRef {}
// SAFETY: as above.
unsafe impl Sync for CellRef {}

impl CellRef {
    pub(crate) fn new(cell: &Cell) -> CellRef {
        CellRef(NonNull::from(cell))
    }

    /// The cell.
    ///
    /// # Safety
    ///
    /// The container state whose cells this points into is alive for `'a`.
    #[inline]
    pub(crate) unsafe fn get<'a>(self) -> &'a Cell {
        // SAFETY: the caller guarantees the cell is alive; it is only ever shared.
        unsafe { self.0.as_ref() }
    }
}

/// How the instance of a cell is created once: by synchronous code under a `std` mutex (which a
/// second thread waits on), or by `async` code under a tokio mutex.
/// The `async` lock is boxed: it is several times the size of the rest of the cell, and most
/// cells (every request scope's, made per request) never need one.
enum CellLock {
    Sync(std::sync::Mutex<()>),
    Async(Box<tokio::sync::Mutex<()>>),
}

/// A once-initialised slot for a singleton or a request-scoped value.
///
/// Reading it is one acquire load of `ready`: the same for cells made synchronously and by
/// `async` providers. Initialising it takes the lock: whoever holds it and finds the cell still
/// empty creates the instance, writes it and then sets `ready` (release), so a reader that sees
/// `ready` sees the instance. A creation that fails (or panics, or whose future is dropped)
/// leaves the cell empty for the next caller, as `once_cell`'s `get_or_try_init` does.
pub(crate) struct Cell {
    ready: AtomicBool,
    value: UnsafeCell<MaybeUninit<Instance>>,
    lock: CellLock,
}

// SAFETY: `value` is written only by the holder of `lock` while `ready` is false, and read only
// after `ready` was seen true with acquire ordering (set with release after the write), or through
// `&mut self`; once `ready` is true it is never written again through `&self`. The `Instance` in
// it is `Send + Sync`.
unsafe impl Sync for Cell {}
// SAFETY: as above; every field is `Send`.
unsafe impl Send for Cell {}

impl Cell {
    pub(crate) fn new(is_async: bool) -> Cell {
        Cell {
            ready: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            lock: if is_async {
                CellLock::Async(Box::new(tokio::sync::Mutex::new(())))
            } else {
                CellLock::Sync(std::sync::Mutex::new(()))
            },
        }
    }

    /// Whether the instance is made by `async` code ([`Self::get_or_try_init_async`]).
    pub(crate) fn is_async(&self) -> bool {
        matches!(self.lock, CellLock::Async(_))
    }

    /// The instance, once made.
    #[inline]
    pub(crate) fn get(&self) -> Option<&Instance> {
        if self.ready.load(Ordering::Acquire) {
            // SAFETY: `ready` is set (release) only after the instance was written, and the
            // instance is not written again while `self` is shared.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// Writes `inst`.
    ///
    /// # Safety
    ///
    /// The caller holds the lock and saw `ready` false under it.
    unsafe fn publish(&self, inst: Instance) -> &Instance {
        // SAFETY: the caller holds the lock and the cell is empty: nobody reads or writes
        // `value` now (readers wait for `ready`).
        let slot = unsafe { &mut *self.value.get() };
        let inst = slot.write(inst);
        self.ready.store(true, Ordering::Release);
        inst
    }

    /// The instance, made by `make` under the synchronous lock if it was not yet. `None` for an
    /// `async` cell that is still empty: only [`Self::get_or_try_init_async`] fills those.
    pub(crate) fn get_or_try_init<E>(
        &self,
        make: impl FnOnce() -> Result<Instance, E>,
    ) -> Result<Option<&Instance>, E> {
        if let Some(inst) = self.get() {
            return Ok(Some(inst));
        }
        let CellLock::Sync(lock) = &self.lock else {
            return Ok(None);
        };
        let _guard = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(inst) = self.get() {
            return Ok(Some(inst));
        }
        let inst = make()?;
        // SAFETY: the lock is held and the cell was found empty under it.
        Ok(Some(unsafe { self.publish(inst) }))
    }

    /// The instance, made by `make` under the `async` lock if it was not yet (a synchronous
    /// cell is filled as by [`Self::get_or_try_init`]).
    pub(crate) async fn get_or_try_init_async<E, F, Fut>(&self, make: F) -> Result<&Instance, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Instance, E>>,
    {
        if let Some(inst) = self.get() {
            return Ok(inst);
        }
        let _guard = match &self.lock {
            CellLock::Async(lock) => lock.lock().await,
            CellLock::Sync(_) => {
                unreachable!("a synchronous cell is filled by synchronous code")
            }
        };
        if let Some(inst) = self.get() {
            return Ok(inst);
        }
        let inst = make().await?;
        // SAFETY: the lock is held and the cell was found empty under it.
        Ok(unsafe { self.publish(inst) })
    }

    /// Sets the instance of an empty synchronous cell (a seeded value); gives it back if the cell
    /// is `async` or already set.
    pub(crate) fn set(&self, inst: Instance) -> Result<(), Instance> {
        let CellLock::Sync(lock) = &self.lock else {
            return Err(inst);
        };
        let _guard = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.get().is_some() {
            return Err(inst);
        }
        // SAFETY: the lock is held and the cell was found empty under it.
        unsafe { self.publish(inst) };
        Ok(())
    }

    pub(crate) fn take(&mut self) -> Option<Instance> {
        if std::mem::replace(self.ready.get_mut(), false) {
            // SAFETY: `ready` was true, so the instance is initialised; it is cleared first, so
            // it is not read or dropped again.
            Some(unsafe { self.value.get_mut().assume_init_read() })
        } else {
            None
        }
    }
}

impl Drop for Cell {
    fn drop(&mut self) {
        drop(self.take());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::{Arc, Barrier};

    use super::*;

    trait Shape: Send + Sync {
        fn sides(&self) -> u32;
    }

    struct Square(Arc<AtomicUsize>);

    impl Shape for Square {
        fn sides(&self) -> u32 {
            4
        }
    }

    impl Drop for Square {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn an_instance_gives_back_its_handle_thin_or_fat_and_drops_it_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let thin = Instance::new(Inject::new(Square(drops.clone())));
        let fat = Instance::new(Inject::from_arc(
            Arc::new(Square(drops.clone())) as Arc<dyn Shape>
        ));
        assert_eq!(thin.type_id(), TypeId::of::<Square>());
        assert_eq!(fat.type_id(), TypeId::of::<dyn Shape>());
        assert!(thin.downcast_ref::<dyn Shape>().is_none());
        assert_eq!(fat.downcast_ref::<dyn Shape>().unwrap().sides(), 4);
        let held = thin.downcast_ref::<Square>().unwrap().clone();
        assert_eq!(Arc::strong_count(held.as_arc()), 2);
        drop(thin);
        assert_eq!(drops.load(Ordering::SeqCst), 0, "still held");
        drop(held);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let moved = fat.downcast::<dyn Shape>().unwrap();
        assert_eq!(
            Arc::strong_count(moved.as_arc()),
            1,
            "moved out, not cloned"
        );
        drop(moved);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        let wrong = Instance::new(Inject::new(5_u8));
        assert!(wrong.downcast::<u16>().is_none());
    }

    #[test]
    fn a_cell_is_filled_once_even_when_raced_and_stays_empty_after_a_failure() {
        let cell = Cell::new(false);
        assert!(cell.get().is_none());
        let failed: Result<_, &str> = cell.get_or_try_init(|| Err("no"));
        assert!(failed.is_err());
        assert!(cell.get().is_none());
        let made = AtomicUsize::new(0);
        let barrier = Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    barrier.wait();
                    let inst = cell
                        .get_or_try_init(|| {
                            made.fetch_add(1, Ordering::SeqCst);
                            std::thread::yield_now();
                            Ok::<_, ()>(Instance::new(Inject::new(9_u32)))
                        })
                        .unwrap()
                        .unwrap();
                    assert_eq!(**inst.downcast_ref::<u32>().unwrap(), 9);
                });
            }
        });
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert!(cell.set(Instance::new(Inject::new(1_u32))).is_err());
    }

    #[test]
    fn an_async_cell_is_filled_only_by_async_code() {
        let mut cell = Cell::new(true);
        let sync: Result<_, ()> = cell.get_or_try_init(|| unreachable!());
        assert!(sync.unwrap().is_none());
        assert!(cell.set(Instance::new(Inject::new(1_u8))).is_err());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let inst = cell
                .get_or_try_init_async(|| async { Ok::<_, ()>(Instance::new(Inject::new(2_u8))) })
                .await
                .unwrap();
            assert_eq!(**inst.downcast_ref::<u8>().unwrap(), 2);
        });
        assert!(cell.get().is_some());
        let taken = cell.take().unwrap();
        assert!(cell.get().is_none());
        assert_eq!(*taken.downcast::<u8>().unwrap(), 2);
    }
}
