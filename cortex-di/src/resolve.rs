//! The resolution engine: the container's shared state ([`Inner`]), a request's cells
//! ([`ScopeState`]), how an instance is found or created ([`Ctx`], [`OwnedCtx`]), and the
//! [`Resolver`] and [`AsyncResolver`] that factories receive, which resolve only what their
//! provider declared.
//!
//! [`Container`](crate::Container) and [`RequestScope`](crate::RequestScope) are the public
//! handles over this state, in `container.rs` and `scope.rs`.

use std::any::TypeId;
use std::borrow::Cow;
use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::ConfigSource;
use crate::condition::Env;
use crate::config::read_config;
use crate::error::{BoxError, Error, LifecycleHook, Result};
use crate::hooks::ScopeOutcome;
use crate::inject::Inject;
use crate::key::{Key, TypeIdMap, TypeIdTable};
use crate::lifecycle::{Lifecycle, Phase, dispose_on_drop, run_hook, shutdown_hooks};
use crate::node::{self, BoxFuture, Cell, CellRef, Edge, Instance, Place, RawHandle};
use crate::spec::Scope;

/// A synchronous factory of a `T`, typed: what [`typed_make`] calls.
pub(crate) trait MakeTyped<T: ?Sized>: Send + Sync + 'static {
    fn make_typed(&self, r: &Resolver<'_>) -> Result<Inject<T>, BoxError>;
}

/// A closure that returns the `T` it makes (`Provider::factory`'s).
pub(crate) struct ByValue<F>(pub(crate) F);

impl<T, F> MakeTyped<T> for ByValue<F>
where
    T: Send + Sync + 'static,
    F: Fn(&Resolver<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
{
    #[inline(always)]
    fn make_typed(&self, r: &Resolver<'_>) -> Result<Inject<T>, BoxError> {
        Ok(Inject::new((self.0)(r)?))
    }
}

/// A closure that returns the `Inject<T>` it makes (an `Arc` factory's, an alias's).
pub(crate) struct ByHandle<F>(pub(crate) F);

impl<T, F> MakeTyped<T> for ByHandle<F>
where
    T: ?Sized + Send + Sync + 'static,
    F: Fn(&Resolver<'_>) -> Result<Inject<T>, BoxError> + Send + Sync + 'static,
{
    #[inline(always)]
    fn make_typed(&self, r: &Resolver<'_>) -> Result<Inject<T>, BoxError> {
        (self.0)(r)
    }
}

/// A provider's synchronous factory, as stored: the factory `C` of its `T`, type-erased, and the
/// one function that calls it, [`typed_make::<T, C>`](typed_make), which makes the instance
/// wherever it goes (a request scope's claimed cell, the caller of a transient, or an
/// [`Instance`] for the general paths). One function calling the factory means the compiler
/// inlines the factory (and the `get`s in it) there: a request-scoped value costs one call.
pub(crate) struct SyncFactory {
    /// Owns the `C`.
    owner: Arc<dyn std::any::Any + Send + Sync>,
    /// The `C` in `owner`, found once.
    data: NonNull<()>,
    /// `typed_make::<T, C>` for the `C` that `owner` holds: only ever paired with it.
    typed: MakeFn,
}

impl SyncFactory {
    /// The factory of a `T`, made by `f`.
    pub(crate) fn new<T, C>(f: C) -> SyncFactory
    where
        T: ?Sized + Send + Sync + 'static,
        C: MakeTyped<T>,
    {
        let owner: Arc<C> = Arc::new(f);
        let data = NonNull::from(&*owner).cast::<()>();
        SyncFactory {
            owner,
            data,
            typed: typed_make::<T, C>,
        }
    }

    /// Makes the instance of node `idx`, whose factory this is, as an [`Instance`] (with `ctx`
    /// as it is, its stash too): for the paths that are not hot.
    ///
    /// # Safety
    ///
    /// `idx` is a node of `ctx.inner` whose factory is `self`.
    unsafe fn make(&self, ctx: &Ctx<'_>, idx: usize) -> Result<Instance> {
        let mut out = MaybeUninit::uninit();
        let mut error = MaybeUninit::uninit();
        // SAFETY: `self.typed` is the function for this factory, `idx` its node (the caller's
        // guarantee).
        let made = unsafe { (self.typed)(ctx, idx, &mut error, Some(&mut out)) };
        if made.is_none() {
            // SAFETY: a `MakeFn` that returns no handle wrote its error.
            Err(unsafe { error.assume_init() })
        } else {
            // SAFETY: given `Some(out)`, `typed_make` returns a handle only after writing it.
            Ok(unsafe { out.assume_init() })
        }
    }
}

impl Clone for SyncFactory {
    fn clone(&self) -> Self {
        // The clone shares the allocation, so the factory is at the same address.
        SyncFactory {
            owner: Arc::clone(&self.owner),
            data: self.data,
            typed: self.typed,
        }
    }
}

// SAFETY: `SyncFactory` is an `Arc` of a `Send + Sync` value, a shared pointer to that same
// value, only ever used to borrow it shared, and a function pointer.
unsafe impl Send for SyncFactory {}
// SAFETY: as above.
unsafe impl Sync for SyncFactory {}
pub(crate) type AsyncFactory =
    Arc<dyn Fn(AsyncResolver) -> BoxFuture<Result<Instance, BoxError>> + Send + Sync>;

/// How a provider makes its instance: the one part of a node that names the resolvers.
#[derive(Clone)]
pub(crate) enum Factory {
    Sync(SyncFactory),
    Async(AsyncFactory),
    Value(Arc<dyn Fn() -> Instance + Send + Sync>),
    /// Made from the container's own state (the `ScopeFactory`).
    Builtin(fn(&Inner) -> Instance),
    /// Given to each request scope by the code that opens it; never made.
    Seeded,
}

impl Factory {
    /// Whether making the instance awaits.
    pub(crate) fn is_async(&self) -> bool {
        matches!(self, Factory::Async(_))
    }
}

/// A validated provider, with its factory.
pub(crate) type Node = node::Node<Factory>;

/// The state a container and all its request scopes share: the validated nodes, the lookup
/// tables, the singletons' cells and their lifecycle.
pub(crate) struct Inner {
    pub(crate) nodes: Vec<Node>,
    /// The unnamed bindings: a type's provider index and, once a singleton is created, its
    /// instance (where the lookup lands, a created singleton is read right there).
    pub(crate) unnamed: TypeIdTable<Ready>,
    pub(crate) named: HashMap<Key, usize>,
    /// The singletons' cells. A `Vec` rather than a `Box<[Cell]>`, so that moving `Inner` (into
    /// its `Arc`) asserts nothing about the cells that the nodes' places point to; never resized.
    pub(crate) singletons: Vec<Cell>,
    /// For each request slot, whether its cell is async.
    pub(crate) request_cells: Box<[bool]>,
    /// Whether any of `request_cells` is async (if not, a scope's cells are all made alike).
    any_async_request_cell: bool,
    pub(crate) lifecycle: Mutex<Lifecycle>,
    /// Held while `start()` or `ready()` runs hooks, so a second call waits for the first.
    pub(crate) lifecycle_gate: tokio::sync::Mutex<()>,
    pub(crate) shut_down: AtomicBool,
    /// Built for inspection ([`ContainerBuilder::build_for_inspection`]): created shut down, so
    /// that nothing is ever made, and a resolve answers [`Error::Inspection`].
    ///
    /// [`ContainerBuilder::build_for_inspection`]: crate::ContainerBuilder::build_for_inspection
    pub(crate) inspection: bool,
    pub(crate) start_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) env: Env,
    /// A non-owning handle on this state, for the `ScopeFactory` singletons hold.
    pub(crate) this: Weak<Inner>,
    /// The memory of the last request scope dropped, kept for the next one to open (one
    /// allocation and free fewer per scope in the common case of one scope after another, and
    /// its cells not made again); null when there is none. A spare block has the layout
    /// `ScopeHandle::layout(request_cells.len())`; its cells are initialised and empty (as
    /// `ScopeHandle::open` makes them), the rest of its header uninitialised.
    spare_scope: AtomicPtr<u8>,
}

/// The instance of an unnamed singleton, once created: set by [`Inner::publish`], read by
/// [`OwnedCtx::get`] without going through the node or its cell.
#[derive(Default)]
pub(crate) struct Ready(AtomicPtr<Instance>);

impl Ready {
    #[inline(always)]
    fn get(&self) -> Option<&Instance> {
        let inst = self.0.load(Ordering::Acquire);
        // SAFETY: a non-null pointer was stored by `Inner::publish`, from a singleton cell's
        // instance: it stays in that cell, unmoved and unchanged, until the `Inner` holding both
        // the cells and this table is dropped (cells are only emptied through `&mut`). The
        // acquire load pairs with the release store, after the instance was written.
        unsafe { inst.as_ref() }
    }
}

impl Inner {
    /// Makes the created singleton `idx`, whose instance `inst` is in its cell, readable from
    /// the unnamed table (a no-op for other nodes, and when done already).
    fn publish(&self, idx: usize, inst: &Instance) {
        let node = &self.nodes[idx];
        if node.scope != Scope::Singleton || node.key.name().is_some() {
            return;
        }
        if let Some((found, ready)) = self.unnamed.get(node.key.type_id())
            && found == idx
        {
            ready
                .0
                .store(std::ptr::from_ref(inst).cast_mut(), Ordering::Release);
        }
    }

    pub(crate) fn lifecycle(&self) -> std::sync::MutexGuard<'_, Lifecycle> {
        self.lifecycle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a singleton just created on the synchronous path. Those never have start or ready
    /// hooks that are due already: a singleton with such hooks that can be created after
    /// `start()` (a lazy one) is created on the `async` path, by [`Self::settle`].
    fn record_singleton(&self, idx: usize, inst: &Instance) {
        let node = &self.nodes[idx];
        if node.start.is_none() && node.ready.is_none() && node.shutdown.is_none() {
            return;
        }
        let start = node.start.map(|hook| hook(inst));
        let ready = node.ready.map(|hook| hook(inst));
        let mut lifecycle = self.lifecycle();
        debug_assert!(
            lifecycle.phase == Phase::Built || (start.is_none() && ready.is_none()),
            "a singleton with lifecycle hooks was created synchronously after start()"
        );
        lifecycle.queue(idx, node, start, ready);
    }

    /// Records a singleton just created on the `async` path: its start and ready hooks run now
    /// when their phase has begun (a lazy singleton created after `start()`), or wait for it.
    /// Fails when a hook that ran fails; the instance is then dropped and nothing is recorded.
    async fn settle(&self, idx: usize, inst: &Instance) -> Result<()> {
        let node = &self.nodes[idx];
        if node.start.is_none() && node.ready.is_none() {
            if node.shutdown.is_some() {
                self.lifecycle().created.push(idx);
            }
            return Ok(());
        }
        let mut start = node.start.map(|hook| hook(inst));
        let mut ready = node.ready.map(|hook| hook(inst));
        // Each round runs the hooks whose phase has begun; the phase may move on while they run,
        // so the rest are queued only once a round finds nothing due (under the lock that
        // `start()` and `ready()` take to move the phase on).
        loop {
            let mut due = Vec::new();
            {
                let mut lifecycle = self.lifecycle();
                if lifecycle.phase >= Phase::Started
                    && let Some(hook) = start.take()
                {
                    due.push((LifecycleHook::Start, hook));
                }
                if lifecycle.phase >= Phase::Ready
                    && let Some(hook) = ready.take()
                {
                    due.push((LifecycleHook::Ready, hook));
                }
                if due.is_empty() {
                    lifecycle.queue(idx, node, start, ready);
                    return Ok(());
                }
            }
            for (kind, hook) in due {
                run_hook(node, kind, hook, self.start_timeout).await?;
            }
        }
    }

    #[inline]
    pub(crate) fn lookup(&self, key: &Key) -> Option<usize> {
        match key.name() {
            None => self.unnamed.get(key.type_id()).map(|(idx, _)| idx),
            Some(_) => self.named.get(key).copied(),
        }
    }

    #[inline]
    pub(crate) fn lookup_type<T: ?Sized + 'static>(&self) -> Option<usize> {
        self.unnamed.get(TypeId::of::<T>()).map(|(idx, _)| idx)
    }

    /// The container's state over validated `nodes`: a cell for each singleton, a cell layout for
    /// request scopes, and the lookup tables.
    pub(crate) fn new(
        mut nodes: Vec<Node>,
        unnamed: TypeIdMap<usize>,
        named: HashMap<Key, usize>,
        env: Env,
        start_timeout: Duration,
        shutdown_timeout: Duration,
        this: Weak<Inner>,
    ) -> Inner {
        let mut singletons = Vec::new();
        let mut request_cells = Vec::new();
        for node in &mut nodes {
            match node.scope {
                Scope::Singleton => {
                    node.slot = singletons.len();
                    singletons.push(Cell::new(node.init_async));
                }
                Scope::Request => {
                    node.slot = request_cells.len();
                    request_cells.push(node.init_async);
                    if !node.init_async {
                        node.sync_request = u32::try_from(node.slot)
                            .expect("fewer than 2^32 request-scoped providers");
                    }
                }
                Scope::Transient => {}
            }
        }
        // The cells do not move from here on: the `Vec` moves into `Inner` as a pointer, and is
        // never pushed to again.
        let places: Vec<Place> = nodes
            .iter()
            .map(|node| match node.scope {
                Scope::Singleton => Place::Singleton(CellRef::new(&singletons[node.slot])),
                Scope::Request => Place::Request(
                    u32::try_from(node.slot).expect("fewer than 2^32 request-scoped providers"),
                ),
                Scope::Transient => Place::Transient,
            })
            .collect();
        // A synchronous factory's node is made by its typed path, which reads the factory as the
        // type it was made with: the path comes from the node's own factory, here.
        for node in &mut nodes {
            if let Factory::Sync(f) = &node.factory {
                node.make = f.typed;
            }
        }
        let makes: Vec<MakeFn> = nodes.iter().map(|node| node.make).collect();
        for (i, node) in nodes.iter_mut().enumerate() {
            node.place = places[i];
            for edge in &mut node.edges {
                if let Some(target) = edge.target {
                    edge.place = places[target];
                    edge.make = makes[target];
                }
            }
        }
        let unnamed = unnamed
            .iter()
            .map(|(&id, &idx)| (id, idx, Ready::default()));
        Inner {
            nodes,
            unnamed: TypeIdTable::new(unnamed),
            named,
            singletons,
            any_async_request_cell: request_cells.contains(&true),
            request_cells: request_cells.into_boxed_slice(),
            lifecycle: Mutex::new(Lifecycle::default()),
            lifecycle_gate: tokio::sync::Mutex::new(()),
            shut_down: AtomicBool::new(false),
            inspection: false,
            start_timeout,
            shutdown_timeout,
            env,
            this,
            spare_scope: AtomicPtr::new(std::ptr::null_mut()),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let spare = *self.spare_scope.get_mut();
        if !spare.is_null() {
            let n = self.request_cells.len();
            // SAFETY: a non-null spare block was allocated by `ScopeHandle::open` with the layout
            // of this container's scopes, and given up by the scope that used it, with its `n`
            // cells initialised and empty and the rest of its header dropped; nothing else points
            // to it. Its cells are dropped (an `async` cell's lock), then it is freed.
            unsafe {
                let cells =
                    std::ptr::slice_from_raw_parts_mut(spare.cast::<Cell>(), n) as *mut ScopeState;
                std::ptr::drop_in_place(&raw mut (*cells).cells);
                std::alloc::dealloc(spare, ScopeHandle::layout(n));
            }
        }
        if self.shut_down.load(Ordering::Acquire) {
            return;
        }
        let lifecycle = self.lifecycle.get_mut().unwrap_or_else(|e| e.into_inner());
        lifecycle.to_start.clear();
        lifecycle.to_ready.clear();
        let created = std::mem::take(&mut lifecycle.created);
        dispose_on_drop(
            &self.nodes,
            &mut self.singletons,
            created,
            Vec::new(),
            self.shutdown_timeout,
            "container",
        );
    }
}

/// One request scope's cells for the request-scoped providers, and what it created: a header
/// and the cells in one allocation, shared through a [`ScopeHandle`]. `C` is `[Cell]` everywhere
/// but in the layout computation of [`ScopeHandle::open`].
#[repr(C)]
pub(crate) struct ScopeState<C: ?Sized = [Cell]> {
    /// How many [`ScopeHandle`]s point here.
    refs: AtomicUsize,
    inner: Arc<Inner>,
    created: Mutex<Vec<usize>>,
    closed: AtomicBool,
    cells: C,
}

/// A counted handle on a [`ScopeState`] and its cells, allocated together (what `Arc` would do
/// with the cells in a second allocation).
pub(crate) struct ScopeHandle(NonNull<ScopeState>);

// SAFETY: a `ScopeHandle` is a shared, reference-counted pointer to a `ScopeState`, as an
// `Arc<ScopeState>` is; `ScopeState` is `Send + Sync` (its fields are: `Arc<Inner>`, a mutex,
// atomics, and `Cell`s, which are `Send + Sync`).
unsafe impl Send for ScopeHandle {}
// SAFETY: as above.
unsafe impl Sync for ScopeHandle {}

impl ScopeHandle {
    /// A scope with an empty cell for each request-scoped provider of `inner`.
    #[inline]
    pub(crate) fn open(inner: Arc<Inner>) -> ScopeHandle {
        let n = inner.request_cells.len();
        let mut raw = inner
            .spare_scope
            .swap(std::ptr::null_mut(), Ordering::Acquire);
        if raw.is_null() {
            raw = Self::fresh(&inner);
        }
        // A pointer to a struct whose last field is a slice carries the slice's length: cast from
        // a slice pointer of `n` cells at the same address.
        let block = std::ptr::slice_from_raw_parts_mut(raw.cast::<Cell>(), n) as *mut ScopeState;
        // SAFETY: `block` points to a block of `Self::layout(n)`, which fits a `ScopeState` with
        // `n` cells (see `layout`; checked in debug builds below), whose cells are initialised and
        // empty: either a new one (`fresh`) or a spare block of the same layout taken out of
        // `inner` (the acquire swap pairs with the release that gave it up, see `Drop`). The
        // header's fields are written once, in place, before anything reads them, and nothing
        // here can panic half-way.
        unsafe {
            (&raw mut (*block).refs).write(AtomicUsize::new(1));
            (&raw mut (*block).created).write(Mutex::new(Vec::new()));
            (&raw mut (*block).closed).write(AtomicBool::new(false));
            (&raw mut (*block).inner).write(inner);
            debug_assert_eq!(std::alloc::Layout::for_value(&*block), Self::layout(n));
            ScopeHandle(NonNull::new_unchecked(block))
        }
    }

    /// A new block for a scope of `inner` (when it keeps no spare one): allocated with
    /// `Self::layout(n)`, its `n` cells written empty, its header left uninitialised.
    #[cold]
    #[inline(never)]
    fn fresh(inner: &Inner) -> *mut u8 {
        let n = inner.request_cells.len();
        let layout = Self::layout(n);
        // SAFETY: the layout is never zero-sized (the header has fields).
        let raw = unsafe { std::alloc::alloc(layout) };
        if raw.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        let block = std::ptr::slice_from_raw_parts_mut(raw.cast::<Cell>(), n) as *mut ScopeState;
        // SAFETY: `block` points to `layout`, which fits a `ScopeState` with `n` cells (see
        // `layout`); the cells are written here, once, and `Cell::new` does not panic.
        unsafe {
            let cells = (&raw mut (*block).cells).cast::<Cell>();
            if inner.any_async_request_cell {
                for (i, &is_async) in inner.request_cells.iter().enumerate() {
                    cells.add(i).write(Cell::new(is_async));
                }
            } else {
                for i in 0..n {
                    cells.add(i).write(Cell::new(false));
                }
            }
        }
        raw
    }

    /// The layout of a `ScopeState` with `n` cells: `repr(C)` puts the cells after the header,
    /// where they are in the sized `ScopeState<[Cell; 0]>`, and rounds the whole to its alignment.
    fn layout(n: usize) -> std::alloc::Layout {
        let offset = std::mem::offset_of!(ScopeState<[Cell; 0]>, cells);
        let size = std::mem::size_of::<Cell>()
            .checked_mul(n)
            .and_then(|cells| cells.checked_add(offset))
            .expect("a request scope's cells fit in memory");
        std::alloc::Layout::from_size_align(size, std::mem::align_of::<ScopeState<[Cell; 0]>>())
            .expect("a request scope's cells fit in memory")
            .pad_to_align()
    }
}

impl Clone for ScopeHandle {
    #[inline]
    fn clone(&self) -> Self {
        // Relaxed, as `Arc::clone`: a new handle is made from an existing one, which keeps the
        // state alive meanwhile.
        let old = self.refs.fetch_add(1, Ordering::Relaxed);
        if old > isize::MAX as usize {
            std::process::abort();
        }
        ScopeHandle(self.0)
    }
}

impl std::ops::Deref for ScopeHandle {
    type Target = ScopeState;

    #[inline]
    fn deref(&self) -> &ScopeState {
        // SAFETY: the state is alive while a handle exists (`refs` counts this one).
        unsafe { self.0.as_ref() }
    }
}

impl Drop for ScopeHandle {
    #[inline]
    fn drop(&mut self) {
        // Release, then acquire before freeing, as `Arc`'s drop: every use of the state through
        // other handles happens before it is dropped.
        if self.refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        std::sync::atomic::fence(Ordering::Acquire);
        // SAFETY: this was the last handle, so nothing else points to the state.
        unsafe { Self::release(self.0) }
    }
}

impl ScopeHandle {
    /// What dropping the last handle does: the hooks of a scope dropped without being
    /// finished, the instances dropped, the memory kept for the next scope or freed.
    ///
    /// # Safety
    ///
    /// `block` is a state no handle points to any more (the last one is being dropped).
    #[inline(never)]
    unsafe fn release(block: NonNull<ScopeState>) {
        // SAFETY: nothing else points to the state (the caller's guarantee): its header's
        // fields are dropped in place once (the container's `Arc` read out first, and dropped
        // last) and its cells emptied; then the memory is kept as the container's spare block
        // (cells initialised and empty, as `open` expects them) if it has none, or its cells are
        // dropped and it is freed with the layout it was allocated with (`Layout::for_value` of
        // a `repr(C)` struct with `n` cells is `layout(n)`, as checked in `open`). A spare block
        // is only ever taken by `open` on the same container, whose scopes all have that layout;
        // the container's own drop, which may be the `Arc` dropped here, frees it. A panic in an
        // instance's drop leaks the block (never kept as spare), as it did before.
        unsafe {
            let block = block.as_ptr();
            if !*(*block).closed.get_mut()
                && !(*block)
                    .created
                    .get_mut()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_empty()
            {
                (*block).dispose();
            }
            let inner = std::ptr::read(&raw const (*block).inner);
            std::ptr::drop_in_place(&raw mut (*block).created);
            for cell in &mut (*block).cells {
                cell.clear();
            }
            let raw = block.cast::<u8>();
            if inner
                .spare_scope
                .compare_exchange(
                    std::ptr::null_mut(),
                    raw,
                    Ordering::Release,
                    Ordering::Relaxed,
                )
                .is_err()
            {
                Self::free(block);
            }
            drop(inner);
        }
    }

    /// Drops the cells of a state that is not kept as spare, and frees it.
    ///
    /// # Safety
    ///
    /// As for [`Self::release`], with the header's fields dropped already.
    #[cold]
    #[inline(never)]
    unsafe fn free(block: *mut ScopeState) {
        // SAFETY: the caller guarantees nothing else points to the state; the layout is the one
        // it was allocated with (see `release`).
        unsafe {
            let layout = std::alloc::Layout::for_value(&*block);
            std::ptr::drop_in_place(&raw mut (*block).cells);
            std::alloc::dealloc(block.cast::<u8>(), layout);
        }
    }
}

impl ScopeState {
    /// Closes the scope: nothing new can be created in it. Returns the end-of-scope hooks of what
    /// it created, with `outcome`, then their shutdown hooks, each in reverse creation order;
    /// empty if it was closed already.
    pub(crate) fn close(&self, outcome: &ScopeOutcome) -> Vec<(String, BoxFuture<()>)> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Vec::new();
        }
        let order = std::mem::take(&mut *self.created.lock().unwrap_or_else(|e| e.into_inner()));
        let mut hooks = scope_end_hooks(&self.inner.nodes, &self.cells, &order, outcome);
        hooks.extend(shutdown_hooks(&self.inner.nodes, &self.cells, &order));
        hooks
    }

    /// Whether something this scope created has an end-of-scope hook.
    pub(crate) fn has_scope_end_hooks(&self) -> bool {
        let created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        created
            .iter()
            .any(|&idx| self.inner.nodes[idx].scope_end.is_some())
    }

    /// Gives the scope the value of a seeded provider.
    pub(crate) fn seed(&self, inner: &Inner, key: &Key, inst: Instance) -> Result<()> {
        let idx = inner
            .lookup(key)
            .ok_or_else(|| Error::NotSeedable { key: key.clone() })?;
        let node = &inner.nodes[idx];
        if !matches!(node.factory, Factory::Seeded) || node.scope != Scope::Request {
            return Err(Error::NotSeedable { key: key.clone() });
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::ShutDown { key: key.clone() });
        }
        let inst = checked(node, inst)?;
        let cell = &self.cells[node.slot];
        if cell.is_async() {
            return Err(Error::NotSeedable { key: key.clone() });
        }
        cell.set(inst)
            .map_err(|_| Error::AlreadyProvided { key: key.clone() })?;
        self.record(node, idx);
        Ok(())
    }

    /// Records a request-scoped instance for this scope's end-of-scope and shutdown hooks.
    #[inline(always)]
    fn record(&self, node: &Node, idx: usize) {
        if node.has_hooks {
            self.push_created(idx);
        }
    }

    /// The part of [`Self::record`] for instances with hooks, out of line: most request-scoped
    /// values have none, and the lock would otherwise make every caller save registers for it.
    #[inline(never)]
    fn push_created(&self, idx: usize) {
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(idx);
    }
}

impl ScopeState {
    /// What dropping the last handle does before the state is freed: a scope dropped without
    /// being finished runs the hooks of what it created in the background, as a failure.
    #[cold]
    #[inline(never)]
    fn dispose(&mut self) {
        if *self.closed.get_mut() {
            return;
        }
        let created = std::mem::take(self.created.get_mut().unwrap_or_else(|e| e.into_inner()));
        if created.is_empty() {
            return;
        }
        let inner = &self.inner;
        let first = if created.iter().any(|&i| inner.nodes[i].scope_end.is_some()) {
            // A scope dropped without an outcome did not succeed as far as anyone can tell.
            let outcome =
                ScopeOutcome::failure("the request scope was dropped without being finished");
            scope_end_hooks(&inner.nodes, &self.cells, &created, &outcome)
        } else {
            Vec::new()
        };
        dispose_on_drop(
            &inner.nodes,
            &mut self.cells,
            created,
            first,
            inner.shutdown_timeout,
            "request scope",
        );
    }
}

/// The end-of-scope hooks of the instances `created` (in reverse creation order) that are in
/// `cells`, named by their keys.
fn scope_end_hooks(
    nodes: &[Node],
    cells: &[Cell],
    created: &[usize],
    outcome: &ScopeOutcome,
) -> Vec<(String, BoxFuture<()>)> {
    created
        .iter()
        .rev()
        .filter_map(|&idx| {
            let node = &nodes[idx];
            let hook = node.scope_end?;
            let inst = cells[node.slot].get()?;
            Some((format!("{} (OnScopeEnd)", node.key), hook(inst, outcome)))
        })
        .collect()
}

enum Got<'a> {
    Borrowed(&'a Instance),
    Owned(Instance),
}

/// The instance as an `Inject<T>`, checking its type: for the paths that are not hot.
fn downcast<T: ?Sized + Send + Sync + 'static>(got: Got<'_>, node: &Node) -> Result<Inject<T>> {
    let found = match got {
        Got::Borrowed(inst) => inst.downcast_ref::<T>().cloned(),
        Got::Owned(inst) => inst.downcast::<T>(),
    };
    found.ok_or_else(|| mismatch(node))
}

/// Keeps the invariant that the unchecked reads of instances rely on: whatever a node's factory
/// (or the code seeding a scope) hands over is an `Inject` of the node's key's type. Keys and
/// instances are made from the same `T` by [`Provider`](crate::Provider), so this never fails
/// for what the crate builds; it is checked once per instance made, off the hot path.
#[inline]
fn checked(node: &Node, inst: Instance) -> Result<Instance> {
    if inst.type_id() == node.key.type_id() {
        Ok(inst)
    } else {
        Err(mismatch(node))
    }
}

#[cold]
fn mismatch(node: &Node) -> Error {
    Error::Provider {
        provider: node.reference(),
        source: format!(
            "the provider's instance is not a `{}`",
            node.key.type_name()
        )
        .into(),
    }
}

#[cold]
#[inline(never)]
fn not_registered<T: ?Sized + 'static>() -> Error {
    Error::NotRegistered {
        key: Key::of::<T>(),
    }
}

fn provider_error(node: &Node, source: BoxError) -> Error {
    // The factory's own undeclared `get`, passed on with `?`, already names this provider.
    let source = match source.downcast::<Error>() {
        Ok(error) => match *error {
            Error::UndeclaredDependency { ref provider, .. } if provider.key == node.key => {
                return *error;
            }
            error => Box::new(error),
        },
        Err(source) => source,
    };
    Error::Provider {
        provider: node.reference(),
        source,
    }
}

/// A borrowed resolution context.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    inner: &'a Inner,
    scope: Option<&'a ScopeState>,
    /// Instances of transient dependencies made ahead of a synchronous factory by the async path.
    stash: &'a [(usize, Instance)],
}

impl<'a> Ctx<'a> {
    pub(crate) fn index(&self, key: &Key) -> Result<usize> {
        self.inner
            .lookup(key)
            .ok_or_else(|| Error::NotRegistered { key: key.clone() })
    }

    fn cell(&self, idx: usize) -> Result<&'a Cell> {
        let node = &self.inner.nodes[idx];
        match node.scope {
            Scope::Singleton => Ok(&self.inner.singletons[node.slot]),
            Scope::Request => match self.scope {
                Some(scope) => Ok(&scope.cells[node.slot]),
                None => Err(Error::RequestScopeRequired {
                    key: node.key.clone(),
                }),
            },
            Scope::Transient => unreachable!("transient providers have no cell"),
        }
    }

    /// Records an instance just put in its cell on the synchronous path.
    fn record_created(&self, idx: usize, inst: &Instance) {
        let node = &self.inner.nodes[idx];
        match (node.scope, self.scope) {
            (Scope::Request, Some(scope)) => scope.record(node, idx),
            _ => self.inner.record_singleton(idx, inst),
        }
    }

    fn check_open(&self, idx: usize) -> Result<()> {
        let node = &self.inner.nodes[idx];
        let closed = match (node.scope, self.scope) {
            (Scope::Request, Some(scope)) => scope.closed.load(Ordering::Acquire),
            _ => self.inner.shut_down.load(Ordering::Acquire),
        };
        if closed {
            let key = node.key.clone();
            Err(if self.inner.inspection {
                Error::Inspection { key }
            } else {
                Error::ShutDown { key }
            })
        } else {
            Ok(())
        }
    }

    fn instance(&self, idx: usize) -> Result<Got<'a>> {
        let node = &self.inner.nodes[idx];
        if node.scope == Scope::Transient {
            if let Some((_, inst)) = self.stash.iter().find(|(i, _)| *i == idx) {
                return Ok(Got::Borrowed(inst));
            }
            if node.init_async {
                return Err(Error::NeedsAsync {
                    key: node.key.clone(),
                });
            }
            return self.create_sync(idx).map(Got::Owned);
        }
        let made = self.cell(idx)?.get_or_try_init(|| {
            let inst = self.create_sync(idx)?;
            self.record_created(idx, &inst);
            Ok::<_, Error>(inst)
        })?;
        match made {
            Some(inst) => {
                self.inner.publish(idx, inst);
                Ok(Got::Borrowed(inst))
            }
            None => Err(Error::NeedsAsync {
                key: node.key.clone(),
            }),
        }
    }

    /// The error for a resolve of `node` that would create it in a scope or container closed.
    #[cold]
    #[inline(never)]
    fn closed(&self, node: &Node) -> Error {
        let key = node.key.clone();
        if self.inner.inspection {
            Error::Inspection { key }
        } else {
            Error::ShutDown { key }
        }
    }

    /// Makes the instance of `idx` with its synchronous factory; checked to be of the node's type.
    fn create_sync(&self, idx: usize) -> Result<Instance> {
        self.check_open(idx)?;
        let node = &self.inner.nodes[idx];
        let inst = match &node.factory {
            Factory::Value(make) => make(),
            Factory::Builtin(make) => make(self.inner),
            Factory::Seeded => {
                return Err(Error::NotSeeded {
                    key: node.key.clone(),
                });
            }
            // SAFETY: the node's factory is `f`.
            Factory::Sync(f) => unsafe {
                f.make(
                    &Ctx {
                        stash: &[],
                        ..*self
                    },
                    idx,
                )?
            },
            Factory::Async(_) => {
                return Err(Error::NeedsAsync {
                    key: node.key.clone(),
                });
            }
        };
        checked(node, inst)
    }

    /// The cell at `place`, if the instance lives in one this context can reach.
    #[inline]
    fn cell_at(&self, place: Place) -> Option<&'a Cell> {
        match place {
            // SAFETY: every `Place` is made by `Inner::new` and kept in that `Inner` (its nodes'
            // edges and its lookup table), and `place` was read from `self.inner`, which is
            // borrowed for `'a`: its singleton cells are alive and unmoved for `'a`.
            Place::Singleton(cell) => Some(unsafe { cell.get() }),
            Place::Request(slot) => match self.scope {
                Some(scope) => {
                    // SAFETY: a scope has one cell per request-scoped provider of the `Inner` it
                    // was opened from (`ScopeState::open`), which is `self.inner` (contexts pair a
                    // scope only with its own container), and `Inner::new` numbered those
                    // providers' slots from 0, so `slot` is in bounds.
                    Some(unsafe { scope.cells.get_unchecked(slot as usize) })
                }
                None => None,
            },
            Place::Transient => None,
        }
    }

    /// The hot path of every resolve: an instance that already exists in its cell (a created
    /// singleton, or a request-scoped value this scope already made) is read where `place` points
    /// and its `Arc` cloned; anything else (creating, errors) goes through the node's `make`.
    ///
    /// # Safety
    ///
    /// `idx` is a node of `self.inner` bound to `T` (its key's type is `T`), and `place` is that
    /// node's place, as found by a lookup of `T`'s `TypeId` (or of a key of `T`).
    ///
    /// `make` is that node's `make`.
    #[inline(always)]
    pub(crate) unsafe fn get_at<T: ?Sized + Send + Sync + 'static>(
        &self,
        idx: usize,
        place: Place,
        make: MakeFn,
    ) -> Result<Inject<T>> {
        if let Some(cell) = self.cell_at(place)
            && let Some(inst) = cell.get()
        {
            // SAFETY: a cell holds only instances that passed `checked` against its node's key
            // (`create_sync`, `create_async`, `ScopeState::seed`), and the caller guarantees that
            // key's type is `T`.
            return Ok(unsafe { inst.get_unchecked::<T>() }.clone());
        }
        // SAFETY: passed on from the caller.
        unsafe { self.make_at(idx, make) }
    }

    /// Makes (or finds) the instance of node `idx` with its `make`, out of line.
    ///
    /// # Safety
    ///
    /// `idx` is a node of `self.inner` bound to `T`, and `make` is its `make`.
    #[inline(always)]
    unsafe fn make_at<T: ?Sized + Send + Sync + 'static>(
        &self,
        idx: usize,
        make: MakeFn,
    ) -> Result<Inject<T>> {
        let mut error = MaybeUninit::<Error>::uninit();
        // SAFETY: the caller guarantees `idx` and `make` belong together, to a node bound to `T`.
        let handle = unsafe { make(self, idx, &mut error, None) };
        if handle.is_none() {
            // SAFETY: a `MakeFn` that returns no handle wrote its error.
            Err(unsafe { error.assume_init() })
        } else {
            // SAFETY: a `MakeFn` returns the handle of an `Inject` of its node's type, `T`.
            Ok(unsafe { handle.into_inject::<T>() })
        }
    }

    /// [`Self::get_at`] for callers that did not find `idx` by `T`: checks the node's type.
    pub(crate) fn get<T: ?Sized + Send + Sync + 'static>(&self, idx: usize) -> Result<Inject<T>> {
        let node = &self.inner.nodes[idx];
        if node.key.type_id() != TypeId::of::<T>() {
            return Err(mismatch(node));
        }
        // SAFETY: the node's key's type was just checked to be `T`, and `node.place` and
        // `node.make` are its own.
        unsafe { self.get_at(idx, node.place, node.make) }
    }

    /// The general path of a resolve that misses, inlined into `general_make`: everything but
    /// the synchronous factories' common creations, which their `typed_make` does.
    ///
    /// # Safety
    ///
    /// As for [`Self::get_at`].
    #[inline(always)]
    unsafe fn slow<T: ?Sized + Send + Sync + 'static>(&self, idx: usize) -> Result<Inject<T>> {
        // SAFETY (both arms): the instance of node `idx` passed `checked` against its key, whose
        // type the caller guarantees is `T`.
        match self.instance(idx)? {
            Got::Borrowed(inst) => Ok(unsafe { inst.get_unchecked::<T>() }.clone()),
            Got::Owned(inst) => Ok(unsafe { inst.into_unchecked::<T>() }),
        }
    }
}

/// How a node's instance is made (or found) when a resolve does not find it in its cell: given
/// the context and the node's index, it returns the handle of an `Inject` of the node's type, or
/// [`RawHandle::NONE`] after writing the error to its third argument. One per node, chosen when
/// the container lays out its cells (`Inner::new`) and copied into the edges that point to it:
/// [`typed_make`] for a synchronous factory (its closure called directly, with the cell's claim,
/// so a request-scoped value is one call), [`general_make`] for the rest.
///
/// The last argument is for the general paths, and only for a synchronous factory's: given, the
/// factory makes a new instance with the context as it is, writes it there as an [`Instance`]
/// and returns a handle that is not one ([`RawHandle::WRITTEN`]).
///
/// # Safety
///
/// The index is a node of the context's `Inner` whose `make` this is.
pub(crate) type MakeFn = unsafe fn(
    &Ctx<'_>,
    usize,
    &mut MaybeUninit<Error>,
    Option<&mut MaybeUninit<Instance>>,
) -> RawHandle;

/// Marks the path that calls it as rarely taken (what `std::hint::cold_path` does, stable only
/// since Rust 1.95, above this crate's minimum): the compiler lays it out away from the hot one.
#[cold]
#[inline]
fn cold_path() {}

/// Writes `error` for a [`MakeFn`]'s caller and returns no handle.
#[cold]
#[inline(never)]
fn failed(out: &mut MaybeUninit<Error>, error: Error) -> RawHandle {
    out.write(error);
    RawHandle::NONE
}

/// A factory's error for a [`MakeFn`]'s caller: [`provider_error`], out of line.
#[cold]
#[inline(never)]
fn factory_failed(out: &mut MaybeUninit<Error>, node: &Node, source: BoxError) -> RawHandle {
    failed(out, provider_error(node, source))
}

/// The [`MakeFn`] of a node whose factory is the synchronous `C` of a `T`, and the only caller of
/// that factory: a synchronous request-scoped value made in its scope's claimed cell, a
/// synchronous transient handed back, or (for the general paths) an [`Instance`] written where
/// they say. Typed, the instance needs no check, and the resolver handed to the factory can live
/// in registers. Anything else goes to [`general_make`].
///
/// # Safety
///
/// `idx` is a node of `ctx.inner` whose factory is `Factory::Sync` made by
/// `SyncFactory::new::<T, C>` (`Inner::new` gives this function only to such nodes, from their
/// own factory; `SyncFactory::make` calls it for its own node).
unsafe fn typed_make<T, C>(
    ctx: &Ctx<'_>,
    idx: usize,
    error: &mut MaybeUninit<Error>,
    owned: Option<&mut MaybeUninit<Instance>>,
) -> RawHandle
where
    T: ?Sized + Send + Sync + 'static,
    C: MakeTyped<T>,
{
    // SAFETY: the caller guarantees `idx` is a node of `ctx.inner`.
    let node = unsafe { ctx.inner.nodes.get_unchecked(idx) };
    let Factory::Sync(f) = &node.factory else {
        // SAFETY: the caller guarantees the node's factory is `Factory::Sync`.
        unsafe { std::hint::unreachable_unchecked() }
    };
    // SAFETY: the caller guarantees this factory was made by `SyncFactory::new::<T, C>`, whose
    // `data` points to the `C` in its `owner`, kept alive by the node.
    let make = unsafe { f.data.cast::<C>().as_ref() };
    // Where the instance goes: a claimed request cell (with its scope), or the caller. Set once
    // on each path (no drop flag for the claim).
    let claimed;
    let r = if owned.is_some() {
        claimed = None;
        Resolver {
            ctx: *ctx,
            requester: node,
        }
    } else {
        match (node.sync_request, ctx.scope) {
            (slot, Some(scope)) if slot != node::NOT_SYNC_REQUEST => {
                // SAFETY: as in `Ctx::cell_at`: the scope has a cell for each request slot of
                // `ctx.inner`.
                let cell = unsafe { scope.cells.get_unchecked(slot as usize) };
                // A request cell is `async` exactly when its node is (`Inner::new` lays them out
                // so, `ScopeHandle::open` makes them so): this one is synchronous, claimed here.
                debug_assert!(!cell.is_async());
                match cell.claim() {
                    Ok(busy) => claimed = Some((busy, scope)),
                    // SAFETY: the cell's instance is its node's, whose type is `T` (the node's
                    // factory makes `Inject<T>`s: the caller's guarantee).
                    Err(inst) => {
                        return RawHandle::of(unsafe { inst.get_unchecked::<T>() }.clone());
                    }
                }
                // From here on, returning early (or a panic) drops the claim, which empties the
                // cell again for the next caller.
                if scope.closed.load(Ordering::Acquire) {
                    return failed(error, ctx.closed(node));
                }
                Resolver {
                    ctx: Ctx { stash: &[], ..*ctx },
                    requester: node,
                }
            }
            _ if !node.init_async
                && matches!(node.place, Place::Transient)
                && ctx.stash.is_empty() =>
            {
                if ctx.inner.shut_down.load(Ordering::Acquire) {
                    return failed(error, ctx.closed(node));
                }
                claimed = None;
                Resolver {
                    ctx: *ctx,
                    requester: node,
                }
            }
            // SAFETY: passed on from the caller (`idx` is bound to `T`).
            _ => return unsafe { general_make::<T>(ctx, idx, error, None) },
        }
    };
    let handle = match make.make_typed(&r) {
        Ok(handle) => handle,
        Err(e) => return factory_failed(error, node, e),
    };
    if let Some((busy, scope)) = claimed {
        let out = RawHandle::of(handle.clone());
        scope.record(node, idx);
        busy.fill(Instance::new(handle));
        out
    } else if let Some(owned) = owned {
        owned.write(Instance::new(handle));
        RawHandle::WRITTEN
    } else {
        RawHandle::of(handle)
    }
}

/// The [`MakeFn`] of every node without a typed path (values, `async` factories, seeded and
/// built-in values), and the typed path's fallback: the general resolve of `Ctx::slow`.
///
/// # Safety
///
/// `idx` is a node of `ctx.inner` bound to `T` (its key's type is `T`).
#[inline(never)]
pub(crate) unsafe fn general_make<T>(
    ctx: &Ctx<'_>,
    idx: usize,
    error: &mut MaybeUninit<Error>,
    _owned: Option<&mut MaybeUninit<Instance>>,
) -> RawHandle
where
    T: ?Sized + Send + Sync + 'static,
{
    // SAFETY: passed on from the caller.
    match unsafe { ctx.slow::<T>(idx) } {
        Ok(handle) => RawHandle::of(handle),
        Err(e) => failed(error, e),
    }
}

/// The `make` of an edge before the container laid out its cells (and of an edge to nothing):
/// never called, since edges are only followed in a built container, to their target.
pub(crate) unsafe fn unlaid_make(
    _: &Ctx<'_>,
    _: usize,
    _: &mut MaybeUninit<Error>,
    _: Option<&mut MaybeUninit<Instance>>,
) -> RawHandle {
    unreachable!("a dependency edge is followed only once the container laid out its cells")
}

/// An owned resolution context, for `async` work; what a container or request scope holds.
#[derive(Clone)]
pub(crate) struct OwnedCtx {
    pub(crate) inner: Arc<Inner>,
    /// The request scope's cells; `None` for the container itself.
    pub(crate) scope: Option<ScopeHandle>,
}

impl OwnedCtx {
    /// The container's context: singletons and transients, no request.
    #[inline]
    pub(crate) fn container(inner: Arc<Inner>) -> OwnedCtx {
        OwnedCtx { inner, scope: None }
    }

    /// A new request scope's context over the container's `inner`.
    #[inline]
    pub(crate) fn request(inner: Arc<Inner>) -> OwnedCtx {
        let state = ScopeHandle::open(inner.clone());
        OwnedCtx {
            inner,
            scope: Some(state),
        }
    }

    pub(crate) fn borrow(&self) -> Ctx<'_> {
        Ctx {
            inner: &self.inner,
            scope: self.scope.as_deref(),
            stash: &[],
        }
    }

    /// The synchronous `get` of a container or a request scope: the unnamed binding of `T`.
    #[inline(always)]
    pub(crate) fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Inject<T>> {
        // The singleton that exists already, inlined into the caller: the lookup lands on the
        // entry that points to its cell.
        match self.inner.unnamed.get(TypeId::of::<T>()) {
            Some((idx, ready)) => {
                if let Some(inst) = ready.get() {
                    // SAFETY: the unnamed table maps `T`'s `TypeId` to the node bound to `T`, and
                    // its ready instance is that node's, checked against its key (`checked`).
                    return Ok(unsafe { inst.get_unchecked::<T>() }.clone());
                }
                // Anything else is made (or found) by the node's `make`, called from here. Laid
                // out away from the ready singleton's path.
                cold_path();
                // SAFETY: as above, `idx` is the node bound to `T` (a node of `self.inner`), and
                // its `make` goes with it. `borrow` makes a context without a stash.
                unsafe {
                    let make = self.inner.nodes.get_unchecked(idx).make;
                    self.borrow().make_at(idx, make)
                }
            }
            None => Err(not_registered::<T>()),
        }
    }

    /// The synchronous `get_named` of a container or a request scope.
    pub(crate) fn get_named<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Inject<T>> {
        let ctx = self.borrow();
        ctx.get(ctx.index(&Key::of::<T>().with_name(name))?)
    }

    /// Makes sure the instance of `idx` exists: returns it when it is transient (owned), or `None`
    /// once it sits in its cell.
    pub(crate) fn ensure(self, idx: usize) -> BoxFuture<Result<Option<Instance>>> {
        Box::pin(async move {
            let node = &self.inner.nodes[idx];
            if !node.init_async {
                let ctx = self.borrow();
                return match ctx.instance(idx)? {
                    Got::Owned(inst) => Ok(Some(inst)),
                    Got::Borrowed(_) => Ok(None),
                };
            }
            if node.scope == Scope::Transient {
                return self.create_async(idx).await.map(Some);
            }
            let cell = self.borrow().cell(idx)?;
            let inst = cell
                .get_or_try_init_async(|| async {
                    let inst = self.clone().create_async(idx).await?;
                    match (node.scope, self.scope.as_deref()) {
                        (Scope::Request, Some(scope)) => scope.record(node, idx),
                        _ => self.inner.settle(idx, &inst).await?,
                    }
                    Ok::<_, Error>(inst)
                })
                .await?;
            self.inner.publish(idx, inst);
            Ok(None)
        })
    }

    /// Makes the instance of `idx`, awaiting what must be; checked to be of the node's type.
    async fn create_async(self, idx: usize) -> Result<Instance> {
        let inst = self.clone().create_async_unchecked(idx).await?;
        checked(&self.inner.nodes[idx], inst)
    }

    async fn create_async_unchecked(self, idx: usize) -> Result<Instance> {
        self.borrow().check_open(idx)?;
        let node = &self.inner.nodes[idx];
        match &node.factory {
            Factory::Value(make) => Ok(make()),
            Factory::Builtin(make) => Ok(make(&self.inner)),
            Factory::Seeded => Err(Error::NotSeeded {
                key: node.key.clone(),
            }),
            Factory::Async(f) => {
                let r = AsyncResolver {
                    ctx: self.clone(),
                    requester: Some(idx),
                };
                f(r).await.map_err(|e| provider_error(node, e))
            }
            Factory::Sync(f) => {
                // A synchronous factory over dependencies that must be awaited: make those first,
                // then run the factory, which finds them in their cells or in the stash.
                let mut stash = Vec::new();
                for edge in &node.edges {
                    let Some(target) = edge.target else { continue };
                    if !self.inner.nodes[target].needs_async_for_dependents() {
                        continue;
                    }
                    let made = self
                        .clone()
                        .ensure(target)
                        .await
                        .map_err(|e| provider_error(node, e.into()))?;
                    if let Some(inst) = made {
                        stash.push((target, inst));
                    }
                }
                let ctx = Ctx {
                    inner: &self.inner,
                    scope: self.scope.as_deref(),
                    stash: &stash,
                };
                // SAFETY: the node's factory is `f`.
                unsafe { f.make(&ctx, idx) }
            }
        }
    }

    pub(crate) async fn resolve<T: ?Sized + Send + Sync + 'static>(
        &self,
        idx: usize,
    ) -> Result<Inject<T>> {
        let node = &self.inner.nodes[idx];
        match self.clone().ensure(idx).await? {
            Some(inst) => downcast(Got::Owned(inst), node),
            None => downcast(self.borrow().instance(idx)?, node),
        }
    }
}

/// The resolver handed to synchronous factories (and the one `#[injectable]` code uses).
///
/// It resolves what the provider declared with
/// [`depends_on`](crate::Provider::depends_on), and only that: the startup validation checked
/// those dependencies (missing providers, cycles, scopes), so a `get` of anything else is an
/// [`Error::UndeclaredDependency`] that names the `.depends_on(...)` to add, in release builds
/// too.
///
/// ```
/// use cortex_di::{ContainerBuilder, Dependency, Provider};
/// struct Port(u16);
/// struct Server { port: u16 }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let c = ContainerBuilder::new()
///     .add(Provider::value(Port(8080)))
///     .add(Provider::factory(|r| Ok(Server { port: r.get::<Port>()?.0 })).depends_on(Dependency::on::<Port>()))
///     .build()
///     .await
///     .unwrap();
/// assert_eq!(c.get::<Server>().unwrap().port, 8080);
/// # });
/// ```
pub struct Resolver<'a> {
    ctx: Ctx<'a>,
    requester: &'a Node,
}

impl Resolver<'_> {
    /// Resolves the unnamed binding of `T`, which the provider must declare with
    /// `.depends_on(Dependency::on::<T>())`.
    #[inline(always)]
    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Inject<T>> {
        match declared_edge(self.requester, TypeId::of::<T>(), None) {
            Some(Edge {
                target: Some(idx),
                place,
                make,
                ..
            }) => {
                // SAFETY: the edge declares a dependency on `T` (its key's `TypeId` was just
                // compared), and validation set its target to the node bound to that key, whose
                // place and make `Inner::new` copied into the edge.
                unsafe { self.ctx.get_at(*idx, *place, *make) }
            }
            Some(_) => Err(not_registered::<T>()),
            None => Err(undeclared(self.requester, Key::of::<T>(), false)),
        }
    }

    /// [`get`](Self::get) for code that knows where the dependency on `T` is among those the
    /// provider declared (`position`, from 0, in the order of its `depends_on` calls): what
    /// `#[injectable]` expands to. Checked like `get`: a `position` that is not an unnamed
    /// dependency on `T` finds it as `get` does.
    #[doc(hidden)]
    #[inline(always)]
    pub fn __get_declared<T: ?Sized + Send + Sync + 'static>(
        &self,
        position: usize,
    ) -> Result<Inject<T>> {
        if let Some(edge) = self.requester.edges.get(position)
            && edge.unnamed == TypeId::of::<T>()
            && let Some(idx) = edge.target
        {
            // SAFETY: as in `get`: the edge declares a dependency on `T`, and its target, place
            // and make are those of the node bound to it.
            return unsafe { self.ctx.get_at(idx, edge.place, edge.make) };
        }
        self.get_elsewhere::<T>()
    }

    /// [`get`](Self::get), out of line: where `__get_declared` was not given the position.
    #[cold]
    #[inline(never)]
    fn get_elsewhere<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Inject<T>> {
        self.get::<T>()
    }

    /// Resolves the binding of `T` named `name`, which the provider must declare with
    /// `.depends_on(Dependency::on::<T>().named(name))`.
    pub fn get_named<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Inject<T>> {
        let name = name.into();
        match declared(self.requester, TypeId::of::<T>(), Some(&name)) {
            Some(Some(idx)) => self.ctx.get(idx),
            Some(None) => Err(Error::NotRegistered {
                key: Key::of::<T>().with_name(name),
            }),
            None => Err(undeclared(
                self.requester,
                Key::of::<T>().with_name(name),
                false,
            )),
        }
    }

    /// Resolves the unnamed binding of `T`, or `None` when nothing is bound to it; the provider
    /// must declare it with `.depends_on(Dependency::on::<T>().optional())`.
    pub fn get_optional<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Option<Inject<T>>> {
        match declared(self.requester, TypeId::of::<T>(), None) {
            Some(Some(idx)) => self.ctx.get(idx).map(Some),
            Some(None) => Ok(None),
            None => Err(undeclared(self.requester, Key::of::<T>(), true)),
        }
    }

    /// Resolves the binding of `T` named `name`, or `None` when nothing is bound to it; the
    /// provider must declare it with `.depends_on(Dependency::on::<T>().named(name).optional())`.
    pub fn get_named_optional<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Option<Inject<T>>> {
        let name = name.into();
        match declared(self.requester, TypeId::of::<T>(), Some(&name)) {
            Some(Some(idx)) => self.ctx.get(idx).map(Some),
            Some(None) => Ok(None),
            None => Err(undeclared(
                self.requester,
                Key::of::<T>().with_name(name),
                true,
            )),
        }
    }

    /// Reads the configuration value at `key` (a dotted path) from the bound [`ConfigSource`] and
    /// deserializes it; the provider must declare
    /// `.depends_on(Dependency::on::<dyn ConfigSource>())`. Errors name the key and the type,
    /// never the value (it may be a secret).
    pub fn config<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        let source = self.get::<dyn ConfigSource>()?;
        read_config(&*source, key, self.requester.key.type_name())
    }

    /// The environment the container was built for.
    pub fn env(&self) -> &Env {
        &self.ctx.inner.env
    }
}

/// Whether `node` declared a dependency on the binding of `type_id` named `name`: `None` if
/// not, else the index of the provider that satisfies it (`None` for an absent optional one).
///
/// A scan of the provider's own edges, usually a handful, instead of a lookup in the container's
/// tables: it finds the binding and checks the declaration at once.
#[inline]
fn declared(node: &Node, type_id: TypeId, name: Option<&str>) -> Option<Option<usize>> {
    declared_edge(node, type_id, name).map(|e| e.target)
}

/// The edge by which `node` declared the binding of `type_id` named `name`, if it did.
#[inline]
fn declared_edge<'n>(node: &'n Node, type_id: TypeId, name: Option<&str>) -> Option<&'n Edge> {
    match name {
        None => node.edges.iter().find(|e| e.unnamed == type_id),
        Some(_) => node
            .edges
            .iter()
            .find(|e| e.dep.key.type_id() == type_id && e.dep.key.name() == name),
    }
}

#[cold]
#[inline(never)]
fn undeclared(node: &Node, dependency: Key, optional: bool) -> Error {
    Error::UndeclaredDependency {
        provider: Box::new(node.reference()),
        dependency,
        optional,
    }
}

/// The owned resolver handed to `async` factories.
///
/// Like [`Resolver`], the one a provider's factory receives resolves only what that provider
/// declared. [`Container::resolve`](crate::Container::resolve) and
/// [`RequestScope::resolve`](crate::RequestScope::resolve) use one that belongs to no provider
/// and resolves anything.
///
/// ```
/// use cortex_di::{ContainerBuilder, Dependency, Provider};
/// struct Url(String);
/// struct Pool { url: String }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let c = ContainerBuilder::new()
///     .add(Provider::value(Url("sqlite::memory:".into())))
///     .add(
///         Provider::async_factory(|r| async move {
///             let url = r.resolve::<Url>().await?;
///             Ok(Pool { url: url.0.clone() })
///         })
///         .depends_on(Dependency::on::<Url>()),
///     )
///     .build()
///     .await
///     .unwrap();
/// assert_eq!(c.get::<Pool>().unwrap().url, "sqlite::memory:");
/// # });
/// ```
#[derive(Clone)]
pub struct AsyncResolver {
    ctx: OwnedCtx,
    /// The index of the provider whose factory this was handed to; `None` for the caller of
    /// `Container::resolve` or `RequestScope::resolve`.
    requester: Option<usize>,
}

impl AsyncResolver {
    /// A resolver for code outside any provider, which may resolve any binding.
    pub(crate) fn for_caller(ctx: OwnedCtx) -> AsyncResolver {
        AsyncResolver {
            ctx,
            requester: None,
        }
    }

    /// The binding of `key`, `None` when nothing is bound to it: for a provider's resolver, as
    /// [`declared`] finds it (anything undeclared is an error); for the caller's, from the
    /// container's tables.
    fn find(&self, key: &Key, optional: bool) -> Result<Option<usize>> {
        match self.requester {
            Some(requester) => {
                let node = &self.ctx.inner.nodes[requester];
                declared(node, key.type_id(), key.name())
                    .ok_or_else(|| undeclared(node, key.clone(), optional))
            }
            None => Ok(self.ctx.inner.lookup(key)),
        }
    }

    /// The binding of `key`, which must exist.
    fn require(&self, key: Key) -> Result<usize> {
        match self.find(&key, false)? {
            Some(idx) => Ok(idx),
            None => Err(Error::NotRegistered { key }),
        }
    }

    /// Resolves the unnamed binding of `T`, awaiting `async` providers.
    pub async fn resolve<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Inject<T>> {
        let idx = self.require(Key::of::<T>())?;
        self.ctx.resolve(idx).await
    }

    /// Resolves the binding of `T` named `name`.
    pub async fn resolve_named<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Inject<T>> {
        let idx = self.require(Key::of::<T>().with_name(name))?;
        self.ctx.resolve(idx).await
    }

    /// Resolves the unnamed binding of `T`, or `None` when nothing is bound to it.
    pub async fn resolve_optional<T: ?Sized + Send + Sync + 'static>(
        &self,
    ) -> Result<Option<Inject<T>>> {
        match self.find(&Key::of::<T>(), true)? {
            Some(idx) => self.ctx.resolve(idx).await.map(Some),
            None => Ok(None),
        }
    }

    /// Resolves the binding of `T` named `name`, or `None` when nothing is bound to it.
    pub async fn resolve_named_optional<T: ?Sized + Send + Sync + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<Option<Inject<T>>> {
        match self.find(&Key::of::<T>().with_name(name), true)? {
            Some(idx) => self.ctx.resolve(idx).await.map(Some),
            None => Ok(None),
        }
    }

    /// Reads and deserializes the configuration value at `key` (see [`Resolver::config`]).
    pub async fn config<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        let source = self.resolve::<dyn ConfigSource>().await?;
        let required_by = match self.requester {
            Some(idx) => self.ctx.inner.nodes[idx].key.type_name(),
            None => "the caller",
        };
        read_config(&*source, key, required_by)
    }

    /// The environment the container was built for.
    pub fn env(&self) -> &Env {
        &self.ctx.inner.env
    }
}
