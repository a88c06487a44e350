//! What the container holds for each validated provider: its [`Node`] (key, scope, edges, hooks)
//! and the [`Cell`] its instance lives in. Below the resolver: the node is generic over its
//! factory, which the resolver names; of the resolver it names only the `MakeFn` type that nodes
//! and edges keep.

use std::any::TypeId;
use std::borrow::Cow;
use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::{BoxError, ProviderRef};
use crate::hooks::ScopeOutcome;
use crate::inject::Inject;
use crate::key::Key;
use crate::resolve::MakeFn;
use crate::spec::{Dependency, Location, ProviderKind, Scope};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
pub(crate) type ShutdownHook = fn(&Instance) -> BoxFuture<()>;
/// An `OnStart` or `OnReady` hook: the future holds its own handle on the instance.
pub(crate) type StartHook = fn(&Instance) -> BoxFuture<Result<(), BoxError>>;

/// An `OnScopeEnd` hook: the future holds its own handles on the instance and the outcome.
pub(crate) type ScopeEndHook = fn(&Instance, &ScopeOutcome) -> BoxFuture<()>;

/// A resolved dependency edge.
pub(crate) struct Edge {
    /// What a lookup of an unnamed dependency compares: the `TypeId` of the dependency's type
    /// when it is unnamed, and of [`NamedDependency`] (which no lookup asks for) when it is
    /// named; one comparison instead of a `TypeId` and a name.
    pub(crate) unnamed: TypeId,
    pub(crate) dep: Dependency,
    pub(crate) target: Option<usize>,
    /// Where the target's instance lives; set when the container's cells are laid out.
    pub(crate) place: Place,
    /// How the target's instance is made when it is not in its cell: the target's `make`, copied
    /// with `place`.
    pub(crate) make: MakeFn,
}

/// What [`Edge::unnamed`] holds for a named dependency: a type private to this crate, so no
/// lookup of an unnamed binding asks for it.
pub(crate) struct NamedDependency;

impl Edge {
    /// The edge of `dep` to the provider `target` (if any), to be laid out with the cells.
    pub(crate) fn new(dep: Dependency, target: Option<usize>, make: MakeFn) -> Edge {
        let unnamed = if dep.key.name().is_none() {
            dep.key.type_id()
        } else {
            TypeId::of::<NamedDependency>()
        };
        Edge {
            unnamed,
            dep,
            target,
            place: Place::Transient,
            make,
        }
    }
}

/// [`Node::sync_request`] of a node that is not a synchronous request-scoped one.
pub(crate) const NOT_SYNC_REQUEST: u32 = u32::MAX;

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
    /// The node has a shutdown or end-of-scope hook: a request scope records the values it makes
    /// of it. Fixed at validation, so that recording costs one byte's test per creation.
    pub(crate) has_hooks: bool,
    /// Creating the instance may have to await (an async factory, here or below).
    pub(crate) init_async: bool,
    /// Index of the node's cell among the singleton or request cells.
    pub(crate) slot: usize,
    /// Where the node's instance lives; set with `slot`.
    pub(crate) place: Place,
    /// For a synchronous request-scoped node (not `init_async`), its request slot; else
    /// [`NOT_SYNC_REQUEST`]. Set with `slot`: one test picks the path that claims the cell.
    pub(crate) sync_request: u32,
    /// How the node's instance is made (or found) when a resolve does not find it in its cell:
    /// a function for the node's own type, and for a synchronous factory its own closure (see
    /// the resolver's `MakeFn`).
    pub(crate) make: MakeFn,
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

/// The bits of an `Inject<T>` (one pointer, or two for a trait object) passed back from a
/// [`MakeFn`] in two registers, without its type; all zero for "no handle" (an `Inject` is never
/// null: its pointer, and a trait object's vtable, are not). Not dropped: whoever receives one
/// turns it back into the `Inject<T>` it was made from ([`RawHandle::into_inject`]).
#[derive(Clone, Copy)]
pub(crate) struct RawHandle(usize, usize);

impl RawHandle {
    /// No handle: what a `MakeFn` returns when it failed.
    pub(crate) const NONE: RawHandle = RawHandle(0, 0);

    /// Not a handle, nor [`RawHandle::NONE`]: what a `MakeFn` returns when it wrote the instance
    /// where its caller asked (never turned into a handle).
    pub(crate) const WRITTEN: RawHandle = RawHandle(1, 0);

    /// The bits of `handle`, moved in.
    #[inline(always)]
    pub(crate) fn of<T: ?Sized>(handle: Inject<T>) -> RawHandle {
        const {
            assert!(size_of::<Inject<T>>() <= size_of::<[usize; 2]>());
            assert!(align_of::<Inject<T>>() <= align_of::<[usize; 2]>());
        }
        let mut bits = [0_usize; 2];
        // SAFETY: the array is large and aligned enough for an `Inject<T>` (checked above at
        // compile time); the handle is moved into it, and read back once, as an `Inject<T>`,
        // by `into_inject`.
        unsafe { bits.as_mut_ptr().cast::<Inject<T>>().write(handle) };
        RawHandle(bits[0], bits[1])
    }

    /// Whether this is [`RawHandle::NONE`]. The first word of a handle is never zero: an
    /// `Inject` to a sized `T` is one non-null pointer, written there; one to a trait object is
    /// two non-null pointers.
    #[inline(always)]
    pub(crate) fn is_none(self) -> bool {
        self.0 == 0
    }

    /// The handle back.
    ///
    /// # Safety
    ///
    /// `self` was made by [`RawHandle::of::<T>`](RawHandle::of), with this `T`, and is turned
    /// back into a handle only once (it owns one count of the `Arc`).
    #[inline(always)]
    pub(crate) unsafe fn into_inject<T: ?Sized>(self) -> Inject<T> {
        debug_assert!(!self.is_none());
        let bits = [self.0, self.1];
        // SAFETY: `of::<T>` wrote an `Inject<T>` at the start of these bits (the caller
        // guarantees the `T`), and it is moved out once.
        unsafe { bits.as_ptr().cast::<Inject<T>>().read() }
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
/// The cells are a `Vec` in the container's state, filled before the nodes' places are made and
/// never pushed to or moved out of until that state is dropped; the places live in the same
/// state, so a `CellRef` read through that state never dangles.
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

/// A cell's state: empty, being made by one caller, or holding its instance; `WAITING` is set
/// alongside `BUSY` when another caller waits for the maker.
const EMPTY: u8 = 0;
const BUSY: u8 = 1;
const READY: u8 = 2;
const WAITING: u8 = 4;

/// Where callers wait for a synchronous cell another thread is filling: one lock and condition
/// variable for the whole process, since that wait is rare (two threads making the same
/// request-scoped value or lazy singleton at once) and a cell then costs one byte of state.
static PARKING: (std::sync::Mutex<()>, std::sync::Condvar) =
    (std::sync::Mutex::new(()), std::sync::Condvar::new());

/// A once-initialised slot for a singleton or a request-scoped value.
///
/// Reading it is one acquire load of `state`: the same for cells made synchronously and by
/// `async` providers. A synchronous cell is filled by whoever moves `state` from `EMPTY` to
/// `BUSY`; others wait for it on [`PARKING`] (after setting `WAITING`, which makes the maker wake
/// them). An `async` cell is filled under its tokio mutex. The maker writes the instance and then
/// sets `READY` (release), so a reader that sees `READY` sees the instance. A creation that fails
/// (or panics, or whose future is dropped) leaves the cell empty for the next caller, as
/// `once_cell`'s `get_or_try_init` does.
pub(crate) struct Cell {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<Instance>>,
    /// The lock of an `async` cell: boxed, since it is several times the size of the rest of the
    /// cell and most cells (every request scope's, made per request) never need one.
    async_lock: Option<Box<tokio::sync::Mutex<()>>>,
}

// SAFETY: `value` is written only by the one caller that moved `state` to `BUSY` (synchronous
// cells) or that holds `async_lock` and found the cell empty (`async` cells), and read only after
// `state` was seen `READY` with acquire ordering (set with release after the write), or through
// `&mut self`; once `READY`, it is never written again through `&self`. The `Instance` in it is
// `Send + Sync`.
unsafe impl Sync for Cell {}
// SAFETY: as above; every field is `Send`.
unsafe impl Send for Cell {}

/// The right to fill a synchronous cell (its `state` is `BUSY`, set by the holder). Dropped
/// without [`Busy::fill`] (the maker failed or panicked), it empties the cell again.
pub(crate) struct Busy<'a>(&'a Cell);

impl<'a> Busy<'a> {
    #[inline]
    pub(crate) fn fill(self, inst: Instance) -> &'a Instance {
        let cell = self.0;
        std::mem::forget(self);
        // SAFETY: `state` is `BUSY`, set by this guard's maker: nobody else reads or writes
        // `value` until it is `READY`.
        let inst = unsafe { (*cell.value.get()).write(inst) };
        cell.release(READY);
        inst
    }
}

impl Drop for Busy<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.release(EMPTY);
    }
}

impl Cell {
    pub(crate) fn new(is_async: bool) -> Cell {
        Cell {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            async_lock: is_async.then(|| Box::new(tokio::sync::Mutex::new(()))),
        }
    }

    /// Whether the instance is made by `async` code ([`Self::get_or_try_init_async`]).
    pub(crate) fn is_async(&self) -> bool {
        self.async_lock.is_some()
    }

    /// The instance, once made.
    #[inline]
    pub(crate) fn get(&self) -> Option<&Instance> {
        if self.state.load(Ordering::Acquire) == READY {
            // SAFETY: `READY` is set (release) only after the instance was written, and the
            // instance is not written again while `self` is shared.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// Moves `state` from `BUSY` to `to`, waking the callers waiting for it.
    #[inline]
    fn release(&self, to: u8) {
        if self.state.swap(to, Ordering::Release) & WAITING != 0 {
            Self::wake();
        }
    }

    #[cold]
    #[inline(never)]
    fn wake() {
        let _parked = PARKING.0.lock().unwrap_or_else(PoisonError::into_inner);
        PARKING.1.notify_all();
    }

    /// Waits until no other caller is filling this synchronous cell.
    #[cold]
    fn wait(&self) {
        let mut parked = PARKING.0.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let state = self.state.load(Ordering::Acquire);
            if state & BUSY == 0 {
                return;
            }
            // Set `WAITING` under the parking lock, so the maker's wake-up (which takes it)
            // cannot come between this check and the wait.
            if state & WAITING == 0
                && self
                    .state
                    .compare_exchange(state, state | WAITING, Ordering::Acquire, Ordering::Acquire)
                    .is_err()
            {
                continue;
            }
            parked = PARKING
                .1
                .wait(parked)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The right to fill this synchronous cell, or its instance if another caller filled it.
    /// Only for synchronous cells (`!self.is_async()`): an `async` cell is filled under its lock.
    #[inline]
    pub(crate) fn claim(&self) -> Result<Busy<'_>, &Instance> {
        loop {
            match self
                .state
                .compare_exchange(EMPTY, BUSY, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => return Ok(Busy(self)),
                Err(READY) => {
                    // SAFETY: `READY` was seen with acquire ordering (see `get`).
                    return Err(unsafe { (*self.value.get()).assume_init_ref() });
                }
                Err(_) => self.wait(),
            }
        }
    }

    /// The instance, made by `make` if it was not yet (by this caller, while any other waits).
    /// `None` for an `async` cell that is still empty: only [`Self::get_or_try_init_async`] fills
    /// those.
    #[inline]
    pub(crate) fn get_or_try_init<E>(
        &self,
        make: impl FnOnce() -> Result<Instance, E>,
    ) -> Result<Option<&Instance>, E> {
        if let Some(inst) = self.get() {
            return Ok(Some(inst));
        }
        if self.is_async() {
            return Ok(None);
        }
        match self.claim() {
            Ok(busy) => Ok(Some(busy.fill(make()?))),
            Err(inst) => Ok(Some(inst)),
        }
    }

    /// The instance, made by `make` under the `async` lock if it was not yet.
    pub(crate) async fn get_or_try_init_async<E, F, Fut>(&self, make: F) -> Result<&Instance, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Instance, E>>,
    {
        if let Some(inst) = self.get() {
            return Ok(inst);
        }
        let Some(lock) = &self.async_lock else {
            unreachable!("a synchronous cell is filled by synchronous code")
        };
        let _guard = lock.lock().await;
        if let Some(inst) = self.get() {
            return Ok(inst);
        }
        let inst = make().await?;
        // SAFETY: the `async` lock is held and the cell was found empty under it; synchronous
        // code never fills an `async` cell, so nobody else reads or writes `value` now.
        let inst = unsafe { (*self.value.get()).write(inst) };
        self.state.store(READY, Ordering::Release);
        Ok(inst)
    }

    /// Sets the instance of an empty synchronous cell (a seeded value); gives it back if the cell
    /// is `async` or already set.
    pub(crate) fn set(&self, inst: Instance) -> Result<(), Instance> {
        if self.is_async() {
            return Err(inst);
        }
        match self.claim() {
            Ok(busy) => {
                busy.fill(inst);
                Ok(())
            }
            Err(_) => Err(inst),
        }
    }

    /// Drops the instance, if any, leaving the cell empty (an `async` cell keeps its lock), as
    /// new.
    #[inline]
    pub(crate) fn clear(&mut self) {
        let state = self.state.get_mut();
        if *state == READY {
            // Empty first: should the instance's drop panic, it is not dropped again.
            *state = EMPTY;
            // SAFETY: the cell was `READY`, so the instance is initialised; it is marked empty
            // above, so it is not read or dropped again.
            unsafe { self.value.get_mut().assume_init_drop() }
        }
    }

    pub(crate) fn take(&mut self) -> Option<Instance> {
        if std::mem::replace(self.state.get_mut(), EMPTY) == READY {
            // SAFETY: the cell was `READY`, so the instance is initialised; it is marked empty
            // first, so it is not read or dropped again.
            Some(unsafe { self.value.get_mut().assume_init_read() })
        } else {
            None
        }
    }
}

impl Drop for Cell {
    fn drop(&mut self) {
        if *self.state.get_mut() == READY {
            // SAFETY: the cell is `READY`, so the instance is initialised; it is dropped in
            // place once, here, as the cell goes (no copy out of it first, as `take` makes).
            unsafe { self.value.get_mut().assume_init_drop() }
        }
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
    fn callers_waiting_on_a_maker_that_fails_make_it_themselves() {
        for _ in 0..50 {
            let cell = Cell::new(false);
            let attempts = AtomicUsize::new(0);
            let barrier = Barrier::new(4);
            let made: Vec<bool> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..4)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            cell.get_or_try_init(|| {
                                std::thread::yield_now();
                                if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                                    Err("first attempt fails")
                                } else {
                                    Ok(Instance::new(Inject::new(3_u16)))
                                }
                            })
                            .is_ok()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let attempts = attempts.load(Ordering::SeqCst);
            assert!(attempts <= 2, "one failure, then one success: {attempts}");
            assert!(made.iter().filter(|ok| !**ok).count() <= 1);
            assert_eq!(**cell.get().unwrap().downcast_ref::<u16>().unwrap(), 3);
        }
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
