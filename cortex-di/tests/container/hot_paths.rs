//! The resolve hot paths, which read instances without a downcast and cells through pointers fixed
//! at validation: every kind of binding goes through them, each instance is dropped exactly once,
//! and a first resolution raced from several threads makes one instance.

use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use cortex_di::{
    Container, ContainerBuilder, Dependency, Error, Inject, OnScopeEnd, OnShutdown, Provider,
    Scope, ScopeOutcome,
};

use crate::support::Log;

/// Counts live values of the types below: made minus dropped.
#[derive(Clone, Default)]
struct Live(Arc<AtomicIsize>);

impl Live {
    fn track(&self) -> Tracked {
        self.0.fetch_add(1, Ordering::SeqCst);
        Tracked(self.0.clone())
    }

    fn count(&self) -> isize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Decrements its counter when dropped.
struct Tracked(Arc<AtomicIsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

trait Named: Send + Sync {
    fn name(&self) -> &str;
}

struct Plain {
    name: String,
    _live: Tracked,
}

impl Named for Plain {
    fn name(&self) -> &str {
        &self.name
    }
}

struct User {
    plain: Inject<Plain>,
    named: Inject<dyn Named>,
    other: Inject<Plain>,
    _live: Tracked,
}

fn plain(live: &Live, name: &str) -> Plain {
    Plain {
        name: name.to_owned(),
        _live: live.track(),
    }
}

/// Trait objects (by value, by factory, by alias), named bindings, and a user of all three, in
/// each scope.
async fn container_of_every_kind(live: &Live, scope: Scope) -> Container {
    let (a, b, c, d) = (live.clone(), live.clone(), live.clone(), live.clone());
    ContainerBuilder::new()
        .add(Provider::factory(move |_| Ok(plain(&a, "main"))).scope(scope))
        .add(
            Provider::factory(move |_| Ok(plain(&b, "other")))
                .named("other")
                .scope(scope),
        )
        .add(Provider::<dyn Named>::alias::<Plain>(|p| p))
        .add(
            Provider::<dyn Named>::arc_factory(move |_| Ok(Arc::new(plain(&c, "fat"))))
                .named("fat")
                .scope(scope),
        )
        .add(
            Provider::factory(move |r| {
                Ok(User {
                    plain: r.get()?,
                    named: r.get_named("fat")?,
                    other: r.get_named("other")?,
                    _live: d.track(),
                })
            })
            .depends_on(Dependency::on::<Plain>())
            .depends_on(Dependency::on::<dyn Named>().named("fat"))
            .depends_on(Dependency::on::<Plain>().named("other"))
            .scope(scope),
        )
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn singletons_of_every_kind_resolve_shared_and_are_dropped_once() {
    let live = Live::default();
    let c = container_of_every_kind(&live, Scope::Singleton).await;
    assert_eq!(live.count(), 4, "main, other, fat and the user");
    let user = c.get::<User>().unwrap();
    assert!(Inject::ptr_eq(&user.plain, &c.get::<Plain>().unwrap()));
    assert!(Inject::ptr_eq(
        &user.other,
        &c.get_named::<Plain>("other").unwrap()
    ));
    assert!(Inject::ptr_eq(
        &user.named,
        &c.get_named::<dyn Named>("fat").unwrap()
    ));
    assert_eq!(c.get::<dyn Named>().unwrap().name(), "main");
    assert_eq!(user.named.name(), "fat");
    assert_eq!(user.other.name, "other");
    // The alias shares the singleton it casts.
    let alias = c.get::<dyn Named>().unwrap();
    assert!(std::ptr::eq(
        Inject::as_arc(&alias).as_ref() as *const dyn Named as *const u8,
        Inject::as_arc(&user.plain).as_ref() as *const Plain as *const u8,
    ));
    for _ in 0..100 {
        drop(c.get::<User>().unwrap());
        drop(c.get::<dyn Named>().unwrap());
    }
    drop((user, alias));
    assert_eq!(live.count(), 4);
    drop(c);
    assert_eq!(
        live.count(),
        0,
        "every singleton dropped with the container"
    );
}

#[tokio::test]
async fn transients_of_every_kind_are_new_each_time_and_dropped_once() {
    let live = Live::default();
    let c = container_of_every_kind(&live, Scope::Transient).await;
    assert_eq!(live.count(), 0);
    let a = c.get::<User>().unwrap();
    let b = c.get::<User>().unwrap();
    assert!(!Inject::ptr_eq(&a, &b));
    assert_eq!(
        live.count(),
        8,
        "two users, each with its three dependencies"
    );
    assert_eq!(a.named.name(), "fat");
    assert_eq!(c.get::<dyn Named>().unwrap().name(), "main");
    assert_eq!(c.get_named::<dyn Named>("fat").unwrap().name(), "fat");
    drop((a, b));
    assert_eq!(live.count(), 0);
}

#[tokio::test]
async fn request_scoped_values_of_every_kind_are_one_per_scope_and_dropped_with_it() {
    let live = Live::default();
    let c = container_of_every_kind(&live, Scope::Request).await;
    assert!(matches!(
        c.get::<User>(),
        Err(Error::RequestScopeRequired { .. })
    ));
    let first = c.scope();
    let second = c.scope();
    let user = first.get::<User>().unwrap();
    assert!(Inject::ptr_eq(&user, &first.get::<User>().unwrap()));
    assert!(Inject::ptr_eq(&user.plain, &first.get::<Plain>().unwrap()));
    assert!(Inject::ptr_eq(
        &user.named,
        &first.get_named::<dyn Named>("fat").unwrap()
    ));
    assert_eq!(first.get::<dyn Named>().unwrap().name(), "main");
    assert_eq!(live.count(), 4);
    let other = second.get::<User>().unwrap();
    assert!(!Inject::ptr_eq(&user, &other));
    assert_eq!(live.count(), 8);
    drop(first);
    assert_eq!(live.count(), 8, "the handles still held keep their values");
    drop(user);
    assert_eq!(
        live.count(),
        4,
        "the first scope's values went with the last handle"
    );
    drop((second, other));
    assert_eq!(live.count(), 0);
}

#[tokio::test]
async fn async_and_lazy_providers_reach_the_same_cells() {
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let c = ContainerBuilder::new()
        .add(Provider::async_factory(|_| async {
            Ok(String::from("pool"))
        }))
        .add(
            Provider::<dyn Named>::async_arc_factory(|r| async move {
                let pool = r.resolve::<String>().await?;
                Ok(Arc::new(Plain {
                    name: format!("{pool} user"),
                    _live: Live::default().track(),
                }) as Arc<dyn Named>)
            })
            .depends_on(Dependency::on::<String>())
            .scope(Scope::Request),
        )
        .add(Provider::factory(move |_| Ok(m.fetch_add(1, Ordering::SeqCst) as u32)).lazy(true))
        .build()
        .await
        .unwrap();
    assert_eq!(*c.get::<String>().unwrap(), "pool");
    assert_eq!(made.load(Ordering::SeqCst), 0, "lazy: not made at build");
    assert_eq!(*c.get::<u32>().unwrap(), 0);
    assert_eq!(*c.get::<u32>().unwrap(), 0);
    assert_eq!(made.load(Ordering::SeqCst), 1);
    let scope = c.scope();
    assert!(matches!(
        scope.get::<dyn Named>(),
        Err(Error::NeedsAsync { .. })
    ));
    let named = scope.resolve::<dyn Named>().await.unwrap();
    assert_eq!(named.name(), "pool user");
    // Once made, the synchronous path finds it in the same cell.
    assert!(Inject::ptr_eq(&named, &scope.get::<dyn Named>().unwrap()));
}

struct Unit {
    log: Log,
    name: &'static str,
}

impl OnScopeEnd for Unit {
    async fn on_scope_end(&self, outcome: &ScopeOutcome) {
        self.log
            .push(format!("{} end {}", self.name, outcome.is_success()));
    }
}

impl OnShutdown for Unit {
    async fn on_shutdown(&self) {
        self.log.push(format!("{} shutdown", self.name));
    }
}

#[tokio::test]
async fn hooks_and_seeded_values_read_the_instances_in_the_cells() {
    let log = Log::default();
    let l = log.clone();
    let c = ContainerBuilder::new()
        .add(Provider::<dyn Named>::seeded())
        .add(Provider::<u64>::seeded().named("tenant"))
        .add(
            Provider::factory(move |r| {
                let who = r.get::<dyn Named>()?;
                let tenant = r.get_named::<u64>("tenant")?;
                Ok(Unit {
                    log: l.clone(),
                    name: if who.name() == "ada" && *tenant == 7 {
                        "seeded"
                    } else {
                        "wrong"
                    },
                })
            })
            .depends_on(Dependency::on::<dyn Named>())
            .depends_on(Dependency::on::<u64>().named("tenant"))
            .scope(Scope::Request)
            .on_scope_end()
            .on_shutdown(),
        )
        .build()
        .await
        .unwrap();
    let scope = c.scope();
    scope
        .provide_arc::<dyn Named>(Arc::new(plain(&Live::default(), "ada")))
        .unwrap();
    scope.provide_named("tenant", 7_u64).unwrap();
    assert!(matches!(
        scope.provide_named("tenant", 8_u64),
        Err(Error::AlreadyProvided { .. })
    ));
    assert_eq!(*scope.get_named::<u64>("tenant").unwrap(), 7);
    assert_eq!(scope.get::<Unit>().unwrap().name, "seeded");
    let report = scope.finish(ScopeOutcome::success()).await;
    assert_eq!(report.completed.len(), 2);
    assert_eq!(log.entries(), ["seeded end true", "seeded shutdown"]);
}

#[test]
fn a_first_resolution_raced_from_several_threads_makes_one_instance() {
    const THREADS: usize = 8;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let made = Arc::new(AtomicUsize::new(0));
    let (m1, m2) = (made.clone(), made.clone());
    let c = runtime.block_on(async {
        ContainerBuilder::new()
            .add(
                Provider::factory(move |_| {
                    m1.fetch_add(1, Ordering::SeqCst);
                    // Widen the window in which other threads find the cell empty.
                    std::thread::yield_now();
                    Ok(String::from("lazy"))
                })
                .lazy(true),
            )
            .add(
                Provider::factory(move |r| {
                    m2.fetch_add(1, Ordering::SeqCst);
                    std::thread::yield_now();
                    Ok(r.get::<String>()?.len())
                })
                .depends_on(Dependency::on::<String>())
                .scope(Scope::Request),
            )
            .build()
            .await
            .unwrap()
    });
    let scope = c.scope();
    let barrier = Barrier::new(THREADS);
    let got: Vec<(Inject<String>, Inject<usize>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let lazy = c.get::<String>().unwrap();
                    let request = scope.get::<usize>().unwrap();
                    (lazy, request)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(made.load(Ordering::SeqCst), 2, "one String, one usize");
    for (lazy, request) in &got {
        assert!(Inject::ptr_eq(lazy, &got[0].0));
        assert!(Inject::ptr_eq(request, &got[0].1));
        assert_eq!(**request, 4);
    }
}

#[tokio::test]
async fn a_failed_creation_leaves_the_cell_empty_for_the_next_try() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = attempts.clone();
    let c = ContainerBuilder::new()
        .add(
            Provider::factory(move |_| {
                if a.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err("not yet".into())
                } else {
                    Ok(5_u8)
                }
            })
            .scope(Scope::Request),
        )
        .build()
        .await
        .unwrap();
    let scope = c.scope();
    assert!(matches!(scope.get::<u8>(), Err(Error::Provider { .. })));
    assert_eq!(*scope.get::<u8>().unwrap(), 5);
    assert_eq!(*scope.get::<u8>().unwrap(), 5);
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_scope_and_its_cells_live_until_its_last_clone_is_dropped_on_any_thread() {
    let live = Live::default();
    let c = container_of_every_kind(&live, Scope::Request).await;
    let scope = c.scope();
    let clones: Vec<_> = (0..4).map(|_| scope.clone()).collect();
    let user = scope.get::<User>().unwrap();
    drop(scope);
    std::thread::scope(|s| {
        for clone in clones {
            let user = &user;
            s.spawn(move || {
                assert!(Inject::ptr_eq(user, &clone.get::<User>().unwrap()));
                drop(clone);
            });
        }
    });
    drop(user);
    assert_eq!(live.count(), 0);
    // A container without request-scoped providers opens scopes with no cells.
    let bare = ContainerBuilder::new()
        .add(Provider::value(1_u8))
        .build()
        .await
        .unwrap();
    let empty = bare.scope();
    assert_eq!(*empty.get::<u8>().unwrap(), 1);
    drop((empty.clone(), empty));
}

#[tokio::test]
async fn a_dropped_scopes_memory_serves_the_next_scope_with_empty_cells() {
    let live = Live::default();
    let c = container_of_every_kind(&live, Scope::Request).await;
    // One scope after another: the second (which may reuse the first's memory) starts empty and
    // makes its own values.
    let first = c.scope();
    let user = first.get::<User>().unwrap();
    assert_eq!(user.plain.name, "main");
    drop((first, user));
    assert_eq!(live.count(), 0, "the first scope's values went with it");
    for round in 0..3 {
        let scope = c.scope();
        assert_eq!(
            live.count(),
            0,
            "round {round}: a new scope's cells are empty"
        );
        let user = scope.get::<User>().unwrap();
        assert!(Inject::ptr_eq(&user.plain, &scope.get::<Plain>().unwrap()));
        assert_eq!(user.named.name(), "fat");
        assert_eq!(live.count(), 4, "round {round}: made once in this scope");
        drop((scope, user));
        assert_eq!(live.count(), 0, "round {round}");
    }
    // Scopes opened and dropped on several threads at once, some overlapping.
    std::thread::scope(|s| {
        for _ in 0..4 {
            let c = &c;
            s.spawn(move || {
                for _ in 0..200 {
                    let a = c.scope();
                    let b = c.scope();
                    let ua = a.get::<User>().unwrap();
                    let ub = b.get::<User>().unwrap();
                    assert!(!Inject::ptr_eq(&ua, &ub));
                    assert!(Inject::ptr_eq(&ua, &a.get::<User>().unwrap()));
                    drop((a, ua));
                    assert!(Inject::ptr_eq(&ub.plain, &b.get::<Plain>().unwrap()));
                }
            });
        }
    });
    assert_eq!(live.count(), 0);
    // The container dropped first: its last scope frees it, and with it the spare memory.
    let scope = c.scope();
    let user = scope.get::<User>().unwrap();
    drop(c);
    assert_eq!(
        live.count(),
        4,
        "the scope keeps the container and its values"
    );
    drop(scope);
    drop(user);
    assert_eq!(live.count(), 0);
}

#[tokio::test]
async fn a_transients_errors_on_the_direct_path_name_the_provider() {
    let c = ContainerBuilder::new()
        .add(Provider::factory(|_| Ok(1_u8)))
        .add(Provider::factory(|_| Err::<u16, _>("no port".into())).scope(Scope::Transient))
        .add(
            // Asks for `u8` without declaring it.
            Provider::factory(|r| Ok(u32::from(*r.get::<u8>()?))).scope(Scope::Transient),
        )
        .add(
            Provider::factory(|r| Ok(u64::from(*r.get::<u8>()?)))
                .depends_on(Dependency::on::<u8>())
                .scope(Scope::Transient),
        )
        .build()
        .await
        .unwrap();
    match c.get::<u16>() {
        Err(Error::Provider { provider, source }) => {
            assert!(provider.key.type_name().contains("u16"));
            assert_eq!(source.to_string(), "no port");
        }
        other => panic!("expected a provider error, got {:?}", other.err()),
    }
    match c.get::<u32>() {
        Err(Error::UndeclaredDependency {
            provider,
            dependency,
            ..
        }) => {
            assert!(provider.key.type_name().contains("u32"));
            assert!(dependency.type_name().contains("u8"));
        }
        other => panic!("expected an undeclared dependency, got {:?}", other.err()),
    }
    assert_eq!(*c.get::<u64>().unwrap(), 1);
    c.shutdown().await;
    assert!(matches!(c.get::<u64>(), Err(Error::ShutDown { .. })));
}

#[tokio::test]
async fn a_request_value_on_the_direct_path_is_made_once_and_not_after_its_scope_closed() {
    let made = Arc::new(AtomicUsize::new(0));
    let m = made.clone();
    let c = ContainerBuilder::new()
        .add(Provider::factory(|_| Ok(3_u8)))
        .add(
            Provider::factory(move |r| {
                m.fetch_add(1, Ordering::SeqCst);
                Ok(u16::from(*r.get::<u8>()?))
            })
            .depends_on(Dependency::on::<u8>())
            .scope(Scope::Request),
        )
        .add(
            Provider::factory(|r| Ok(u32::from(*r.get::<u16>()?)))
                .depends_on(Dependency::on::<u16>())
                .scope(Scope::Request),
        )
        .build()
        .await
        .unwrap();
    let scope = c.scope();
    // Made as a dependency first, then read from its cell by the scope's own `get`.
    assert_eq!(*scope.get::<u32>().unwrap(), 3);
    assert!(Inject::ptr_eq(
        &scope.get::<u16>().unwrap(),
        &scope.get::<u16>().unwrap()
    ));
    assert_eq!(made.load(Ordering::SeqCst), 1);
    let closed = c.scope();
    closed.close().await;
    assert!(matches!(closed.get::<u16>(), Err(Error::ShutDown { .. })));
    assert!(matches!(closed.get::<u32>(), Err(Error::ShutDown { .. })));
    assert_eq!(
        made.load(Ordering::SeqCst),
        1,
        "nothing made in a closed scope"
    );
    // A closed scope's cell stays empty: the failed claim was released.
    assert!(matches!(closed.get::<u16>(), Err(Error::ShutDown { .. })));
}

#[tokio::test]
async fn async_request_cells_kept_with_a_dropped_scopes_memory_start_empty() {
    let live = Live::default();
    let l = live.clone();
    let c = ContainerBuilder::new()
        .add(
            Provider::async_factory(move |_| {
                let l = l.clone();
                async move { Ok(plain(&l, "async")) }
            })
            .scope(Scope::Request),
        )
        .add(Provider::factory(|_| Ok(9_u8)).scope(Scope::Request))
        .build()
        .await
        .unwrap();
    for round in 0..4 {
        let scope = c.scope();
        assert!(
            matches!(scope.get::<Plain>(), Err(Error::NeedsAsync { .. })),
            "round {round}: a new scope's async cell is empty"
        );
        let a = scope.resolve::<Plain>().await.unwrap();
        assert!(Inject::ptr_eq(&a, &scope.get::<Plain>().unwrap()));
        assert_eq!(*scope.get::<u8>().unwrap(), 9);
        assert_eq!(live.count(), 1, "round {round}");
        drop((scope, a));
        assert_eq!(live.count(), 0, "round {round}");
    }
    // Dropping the container with a spare block drops its cells (the async cell's lock).
    drop(c);
}

#[tokio::test]
async fn a_request_value_written_into_its_cell_by_its_factory_is_dropped_once_and_a_failed_one_leaves_it_empty()
 {
    let live = Live::default();
    let attempts = Arc::new(AtomicUsize::new(0));
    let (l, a) = (live.clone(), attempts.clone());
    let c = ContainerBuilder::new()
        .add(
            Provider::factory(move |_| match a.fetch_add(1, Ordering::SeqCst) {
                0 => panic!("the first attempt panics"),
                1 => Err("the second fails".into()),
                _ => Ok(plain(&l, "inner")),
            })
            .scope(Scope::Request),
        )
        .add(
            Provider::factory(|r| Ok(r.get::<Plain>()?.name.len()))
                .depends_on(Dependency::on::<Plain>())
                .scope(Scope::Request),
        )
        .build()
        .await
        .unwrap();
    let scope = c.scope();
    // Made as a dependency (the direct path, writing into the claimed cell): a panic and an
    // error each leave the cell empty, and nothing half-made is kept or dropped.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scope.get::<usize>()));
    assert!(panicked.is_err());
    assert!(matches!(scope.get::<usize>(), Err(Error::Provider { .. })));
    assert_eq!(live.count(), 0);
    assert_eq!(*scope.get::<usize>().unwrap(), 5);
    let first = scope.get::<Plain>().unwrap();
    assert!(Inject::ptr_eq(&first, &scope.get::<Plain>().unwrap()));
    assert_eq!(first.name, "inner");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(live.count(), 1);
    drop(first);
    drop(scope);
    assert_eq!(
        live.count(),
        0,
        "the instance in the cell is dropped once, with the scope"
    );
    // The next scope (on the kept memory) makes its own.
    let next = c.scope();
    assert_eq!(next.get::<Plain>().unwrap().name, "inner");
    assert_eq!(live.count(), 1);
    drop(next);
    assert_eq!(live.count(), 0);
}

#[tokio::test]
async fn a_dependency_found_at_its_declared_position_or_by_the_scan_when_the_position_is_wrong() {
    struct A(u8);
    struct B(u8);
    struct Absent;
    struct Undeclared;
    let c = ContainerBuilder::new()
        .add(Provider::value(A(1)))
        .add(Provider::value(B(2)).named("b"))
        .add(
            Provider::factory(|r| {
                // What `#[injectable]` writes: each dependency at its position.
                let a = r.__get_declared::<A>(0)?;
                let b = r.get_named::<B>("b")?;
                let again = r.__get_declared::<A>(3)?;
                // A position holding another type, a named dependency, an absent optional one,
                // or none at all: found by the scan, as `get` finds it.
                let wrong = r.__get_declared::<A>(1)?;
                let beyond = r.__get_declared::<A>(9)?;
                assert!(Inject::ptr_eq(&a, &again) && Inject::ptr_eq(&a, &wrong));
                assert!(Inject::ptr_eq(&a, &beyond));
                // Named `b` is declared, an unnamed `B` is not, even at `b`'s position.
                let unnamed_b = r.__get_declared::<B>(1);
                assert!(matches!(unnamed_b, Err(Error::UndeclaredDependency { .. })));
                let absent = r.__get_declared::<Absent>(2);
                assert!(matches!(absent, Err(Error::NotRegistered { .. })));
                let undeclared = r.__get_declared::<Undeclared>(0);
                assert!(matches!(
                    undeclared,
                    Err(Error::UndeclaredDependency { .. })
                ));
                Ok(a.0 + b.0)
            })
            .depends_on(Dependency::on::<A>())
            .depends_on(Dependency::on::<B>().named("b"))
            .depends_on(Dependency::on::<Absent>().optional())
            .depends_on(Dependency::on::<A>())
            .scope(Scope::Request),
        )
        .build()
        .await
        .unwrap();
    assert_eq!(*c.scope().get::<u8>().unwrap(), 3);
}

mod injectable_graph {
    //! A request-scoped graph made by `#[injectable]` (dependencies found at their declared
    //! positions, each factory called by its node's typed path), raced and dropped.

    use std::sync::Barrier;
    use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

    use cortex_di::{ContainerBuilder, Error, Inject, Injectable, Provider, Scope, injectable};

    static LIVE: AtomicIsize = AtomicIsize::new(0);
    static MADE: AtomicUsize = AtomicUsize::new(0);

    /// Counts itself while alive, for the drop checks.
    struct Counted;

    impl Default for Counted {
        fn default() -> Self {
            LIVE.fetch_add(1, Ordering::SeqCst);
            MADE.fetch_add(1, Ordering::SeqCst);
            // Widen the window in which other threads find the cell being made.
            std::thread::yield_now();
            Counted
        }
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            LIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }

    struct Id(u32);

    #[injectable(scope = "request", discover = false)]
    struct Session {
        id: Inject<Id>,
        #[inject(default)]
        _counted: Counted,
    }

    #[injectable(scope = "request", discover = false)]
    struct Audit {
        #[inject(value = 3)]
        level: u8,
        session: Inject<Session>,
        #[inject(name = "primary")]
        id: Inject<Id>,
        missing: Option<Inject<String>>,
        #[inject(default)]
        _counted: Counted,
    }

    #[injectable(scope = "request", discover = false)]
    struct Endpoint {
        audit: Inject<Audit>,
        session: Inject<Session>,
        #[inject(default)]
        _counted: Counted,
    }

    #[test]
    fn made_once_per_scope_when_raced_and_dropped_once_with_it() {
        const THREADS: usize = 8;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let c = runtime.block_on(async {
            let mut b = ContainerBuilder::new();
            b.add(Provider::factory(|_| Ok(Id(7))).scope(Scope::Request))
                .add(Provider::factory(|_| Ok(Id(8))).named("primary"))
                .register_with(<Session as Injectable>::register)
                .register_with(<Audit as Injectable>::register)
                .register_with(<Endpoint as Injectable>::register);
            b.build().await.unwrap()
        });
        for round in 0..3 {
            let scope = c.scope();
            let barrier = Barrier::new(THREADS);
            let got: Vec<Inject<Endpoint>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..THREADS)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            scope.get::<Endpoint>().unwrap()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert_eq!(MADE.load(Ordering::SeqCst), 3 * (round + 1), "one of each");
            let endpoint = &got[0];
            assert!(got.iter().all(|e| Inject::ptr_eq(e, endpoint)));
            assert!(Inject::ptr_eq(&endpoint.session, &endpoint.audit.session));
            assert!(Inject::ptr_eq(
                &endpoint.session,
                &scope.get::<Session>().unwrap()
            ));
            assert_eq!(endpoint.session.id.0, 7);
            assert_eq!((endpoint.audit.level, endpoint.audit.id.0), (3, 8));
            assert!(endpoint.audit.missing.is_none());
            assert_eq!(LIVE.load(Ordering::SeqCst), 3);
            drop(got);
            drop(scope);
            assert_eq!(
                LIVE.load(Ordering::SeqCst),
                0,
                "dropped once, with the scope"
            );
        }
        assert!(matches!(
            c.get::<Endpoint>(),
            Err(Error::RequestScopeRequired { .. })
        ));
    }
}
