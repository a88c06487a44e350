//! Lifecycle hooks: `OnStart` and `OnReady` in creation order, errors naming the provider,
//! timeouts, lazy singletons started as they are created, and the macros hooking all three up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cortex_di::{
    BoxError, ContainerBuilder, Dependency, Error, GraphError, Inject, LifecycleHook, OnReady,
    OnShutdown, OnStart, Provider, Scope, injectable, provider,
};

use crate::support::Log;

/// A service that logs each of its hooks as `"{hook} {name}"`, and can be told to fail one.
struct Service {
    name: &'static str,
    log: Log,
    fail_start: bool,
    fail_ready: bool,
}

impl Service {
    fn new(name: &'static str, log: &Log) -> Self {
        Service {
            name,
            log: log.clone(),
            fail_start: false,
            fail_ready: false,
        }
    }
}

impl OnStart for Service {
    async fn on_start(&self) -> Result<(), BoxError> {
        self.log.push(format!("start {}", self.name));
        if self.fail_start {
            return Err(format!("{} is unreachable", self.name).into());
        }
        Ok(())
    }
}

impl OnReady for Service {
    async fn on_ready(&self) -> Result<(), BoxError> {
        self.log.push(format!("ready {}", self.name));
        if self.fail_ready {
            return Err(format!("{} could not register", self.name).into());
        }
        Ok(())
    }
}

impl OnShutdown for Service {
    async fn on_shutdown(&self) {
        self.log.push(format!("shutdown {}", self.name));
    }
}

// Distinct types for one graph: Api depends on Cache and Db, Cache on Db.
struct Db(Service);
struct Cache(Service);
struct Api(Service);

macro_rules! delegate_hooks {
    ($($ty:ty),*) => {$(
        impl OnStart for $ty {
            async fn on_start(&self) -> Result<(), BoxError> {
                self.0.on_start().await
            }
        }
        impl OnReady for $ty {
            async fn on_ready(&self) -> Result<(), BoxError> {
                self.0.on_ready().await
            }
        }
        impl OnShutdown for $ty {
            async fn on_shutdown(&self) {
                self.0.on_shutdown().await
            }
        }
    )*};
}
delegate_hooks!(Db, Cache, Api);

/// Registered Api first, so creation order comes from the dependencies, not registration.
fn app(log: &Log, configure: impl Fn(&'static str, &mut Service)) -> ContainerBuilder {
    let mut b = ContainerBuilder::new();
    let service = |name| {
        let mut s = Service::new(name, log);
        configure(name, &mut s);
        s
    };
    b.add(
        Provider::value(Api(service("api")))
            .depends_on(Dependency::on::<Cache>())
            .depends_on(Dependency::on::<Db>())
            .on_start()
            .on_ready()
            .on_shutdown(),
    );
    b.add(
        Provider::value(Cache(service("cache")))
            .depends_on(Dependency::on::<Db>())
            .on_start()
            .on_ready()
            .on_shutdown(),
    );
    b.add(
        Provider::value(Db(service("db")))
            .on_start()
            .on_ready()
            .on_shutdown(),
    );
    b
}

#[tokio::test]
async fn hooks_run_start_then_ready_in_creation_order_and_shutdown_in_reverse() {
    let log = Log::default();
    let c = app(&log, |_, _| {}).build().await.unwrap();
    assert!(log.entries().is_empty(), "building runs no hook");

    c.start().await.unwrap();
    assert_eq!(log.entries(), ["start db", "start cache", "start api"]);

    c.ready().await.unwrap();
    c.shutdown().await;
    assert_eq!(
        log.entries()[3..],
        [
            "ready db",
            "ready cache",
            "ready api",
            "shutdown api",
            "shutdown cache",
            "shutdown db"
        ]
    );
}

#[tokio::test]
async fn start_and_ready_run_once_and_ready_starts_first() {
    let log = Log::default();
    let c = app(&log, |_, _| {}).build().await.unwrap();
    c.ready().await.unwrap();
    assert_eq!(
        log.entries(),
        [
            "start db",
            "start cache",
            "start api",
            "ready db",
            "ready cache",
            "ready api"
        ]
    );
    c.start().await.unwrap();
    c.ready().await.unwrap();
    assert_eq!(log.entries().len(), 6, "nothing ran twice");
}

#[tokio::test]
async fn a_failing_start_hook_names_the_provider_and_shuts_the_container_down() {
    let log = Log::default();
    let c = app(&log, |name, s| s.fail_start = name == "cache")
        .build()
        .await
        .unwrap();
    let err = c.start().await.unwrap_err();
    let Error::Hook {
        hook,
        provider,
        source,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*hook, LifecycleHook::Start);
    assert!(provider.key.type_name().ends_with("::Cache"), "{err}");
    assert_eq!(source.to_string(), "cache is unreachable");
    let message = err.to_string();
    assert!(
        message.starts_with("the `OnStart` hook of `") && message.contains("::Cache` declared at "),
        "{message}"
    );
    assert!(
        message.contains("lifecycle.rs:") && message.ends_with("failed: cache is unreachable"),
        "{message}"
    );
    // Api never started; everything created is shut down, in reverse order.
    assert_eq!(
        log.entries(),
        [
            "start db",
            "start cache",
            "shutdown api",
            "shutdown cache",
            "shutdown db"
        ]
    );
    assert!(
        matches!(c.ready().await, Ok(())),
        "a shut-down container stays down"
    );
    assert_eq!(log.entries().len(), 5);
}

struct Hangs;
impl OnStart for Hangs {
    async fn on_start(&self) -> Result<(), BoxError> {
        std::future::pending().await
    }
}

// The paused clock jumps to the timeout as soon as everything waits: no real waiting.
#[tokio::test(start_paused = true)]
async fn a_start_hook_that_hangs_is_cut_off_by_the_start_timeout() {
    let log = Log::default();
    let mut b = app(&log, |_, _| {});
    b.add(
        Provider::value(Hangs)
            .depends_on(Dependency::on::<Db>())
            .on_start(),
    );
    b.start_timeout(Duration::from_secs(5));
    let c = b.build().await.unwrap();
    let started = tokio::time::Instant::now();
    let err = c.start().await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    let Error::HookTimedOut {
        hook,
        provider,
        timeout,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(
        (*hook, *timeout),
        (LifecycleHook::Start, Duration::from_secs(5))
    );
    assert!(provider.key.type_name().ends_with("::Hangs"), "{err}");
    assert!(
        err.to_string()
            .contains("did not finish within 5s; hint: make it faster"),
        "{err}"
    );
    assert!(
        log.entries().contains(&"shutdown db".to_string()),
        "{:?}",
        log.entries()
    );
}

#[tokio::test]
async fn a_failing_ready_hook_names_the_provider_and_leaves_the_container_running() {
    let log = Log::default();
    let c = app(&log, |name, s| s.fail_ready = name == "db")
        .build()
        .await
        .unwrap();
    let err = c.ready().await.unwrap_err();
    assert!(
        matches!(&err, Error::Hook { hook: LifecycleHook::Ready, provider, .. } if provider.key.type_name().ends_with("::Db")),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("failed: db could not register"),
        "{err}"
    );
    assert!(
        !log.entries().contains(&"ready cache".to_string()),
        "the rest did not run"
    );
    // Still serving: the caller drains, then shuts down.
    assert!(c.get::<Api>().is_ok());
    let report = c.shutdown().await;
    assert_eq!(report.completed.len(), 3);
}

struct LazyStarted {
    starts: Arc<AtomicUsize>,
    readies: Arc<AtomicUsize>,
    fail: Arc<AtomicBool>,
}

impl OnStart for LazyStarted {
    async fn on_start(&self) -> Result<(), BoxError> {
        tokio::task::yield_now().await;
        if self.fail.load(Ordering::SeqCst) {
            return Err("not yet".into());
        }
        self.starts.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl OnReady for LazyStarted {
    async fn on_ready(&self) -> Result<(), BoxError> {
        self.readies.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[derive(Clone, Default)]
struct Counters {
    starts: Arc<AtomicUsize>,
    readies: Arc<AtomicUsize>,
    fail: Arc<AtomicBool>,
}

impl Counters {
    fn provider(&self) -> Provider<LazyStarted> {
        let c = self.clone();
        Provider::factory(move |_| {
            Ok(LazyStarted {
                starts: c.starts.clone(),
                readies: c.readies.clone(),
                fail: c.fail.clone(),
            })
        })
        .lazy(true)
        .on_start()
        .on_ready()
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.starts.load(Ordering::SeqCst),
            self.readies.load(Ordering::SeqCst),
        )
    }
}

#[tokio::test]
async fn a_lazy_singleton_is_started_only_when_first_created_and_is_resolved_with_await() {
    let counters = Counters::default();
    let c = ContainerBuilder::new()
        .add(counters.provider())
        .build()
        .await
        .unwrap();
    c.ready().await.unwrap();
    assert_eq!(counters.counts(), (0, 0), "never created, never started");

    // Its hooks must be awaited, so it is resolved like an async provider.
    let err = c.get::<LazyStarted>().err().unwrap();
    assert!(matches!(err, Error::NeedsAsync { .. }), "{err}");

    // Two resolves at once: one instance, started and made ready once, before either gets it.
    let (a, b) = tokio::join!(c.resolve::<LazyStarted>(), c.resolve::<LazyStarted>());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(Inject::ptr_eq(&a, &b));
    assert_eq!(counters.counts(), (1, 1));
    assert!(
        c.get::<LazyStarted>().is_ok(),
        "once created, get() finds it"
    );
}

#[tokio::test]
async fn a_lazy_singleton_created_before_start_is_started_by_start() {
    struct UsesLazy;
    let counters = Counters::default();
    let c = ContainerBuilder::new()
        .add(counters.provider())
        .add(
            Provider::factory(|r| {
                r.get::<LazyStarted>()?;
                Ok(UsesLazy)
            })
            .depends_on(Dependency::on::<LazyStarted>()),
        )
        .build()
        .await
        .unwrap();
    assert_eq!(
        counters.counts(),
        (0, 0),
        "created by its eager dependent, not started"
    );
    c.start().await.unwrap();
    assert_eq!(counters.counts(), (1, 0));
    c.ready().await.unwrap();
    assert_eq!(counters.counts(), (1, 1));
}

#[tokio::test]
async fn a_lazy_singleton_whose_start_hook_fails_is_not_handed_out() {
    let counters = Counters::default();
    counters.fail.store(true, Ordering::SeqCst);
    let c = ContainerBuilder::new()
        .add(counters.provider())
        .build()
        .await
        .unwrap();
    c.start().await.unwrap();
    let err = c.resolve::<LazyStarted>().await.err().unwrap();
    assert!(
        matches!(&err, Error::Hook { hook: LifecycleHook::Start, provider, .. } if provider.key.type_name().ends_with("::LazyStarted")),
        "{err}"
    );
    assert!(c.get::<LazyStarted>().is_err(), "nothing was kept");
    // The next resolve creates it again and retries the hook.
    counters.fail.store(false, Ordering::SeqCst);
    c.resolve::<LazyStarted>().await.unwrap();
    assert_eq!(
        counters.counts(),
        (1, 0),
        "not ready yet: ready() has not run"
    );
}

#[tokio::test]
async fn async_singletons_are_started_in_dependency_order_too() {
    let log = Log::default();
    let (l1, l2) = (log.clone(), log.clone());
    let c = ContainerBuilder::new()
        .add(
            Provider::async_factory(move |r| {
                let log = l1.clone();
                async move {
                    r.resolve::<Db>().await?;
                    Ok(Cache(Service::new("async cache", &log)))
                }
            })
            .depends_on(Dependency::on::<Db>())
            .on_start(),
        )
        .add(
            Provider::async_factory(move |_| {
                let log = l2.clone();
                async move { Ok(Db(Service::new("async db", &log))) }
            })
            .on_start(),
        )
        .build()
        .await
        .unwrap();
    c.start().await.unwrap();
    assert_eq!(log.entries(), ["start async db", "start async cache"]);
}

#[tokio::test]
async fn start_and_ready_hooks_on_request_scoped_or_transient_providers_are_graph_errors() {
    let log = Log::default();
    let (l1, l2) = (log.clone(), log.clone());
    let err = ContainerBuilder::new()
        .add(
            Provider::factory(move |_| Ok(Db(Service::new("db", &l1))))
                .scope(Scope::Request)
                .on_start()
                .on_shutdown(),
        )
        .add(
            Provider::factory(move |_| Ok(Cache(Service::new("cache", &l2))))
                .scope(Scope::Transient)
                .on_ready(),
        )
        .build()
        .await
        .err()
        .unwrap();
    let errors = err.graph_errors().unwrap();
    assert_eq!(errors.len(), 2, "{err}");
    assert!(matches!(
        &errors[0],
        GraphError::HookOnNonSingleton {
            scope: Scope::Request,
            hook: LifecycleHook::Start,
            ..
        }
    ));
    assert!(matches!(
        &errors[1],
        GraphError::HookOnNonSingleton {
            scope: Scope::Transient,
            hook: LifecycleHook::Ready,
            ..
        }
    ));
    let message = errors[0].to_string();
    assert!(
        message.contains("::Db` declared at ")
            && message.contains("is request-scoped but has an `OnStart` hook, which runs once, for singletons only; hint: make `"),
        "{message}"
    );
}

// ---------------------------------------------------------------------------------------------
// The macros hook up every trait the type implements, and only those.

#[injectable(profile = "lifecycle-macros")]
struct Journal {
    #[inject(default)]
    events: std::sync::Mutex<Vec<&'static str>>,
}

impl Journal {
    fn push(&self, event: &'static str) {
        self.events.lock().unwrap().push(event);
    }
}

impl OnStart for Journal {
    async fn on_start(&self) -> Result<(), BoxError> {
        self.push("journal start");
        Ok(())
    }
}

impl OnReady for Journal {
    async fn on_ready(&self) -> Result<(), BoxError> {
        self.push("journal ready");
        Ok(())
    }
}

impl OnShutdown for Journal {
    async fn on_shutdown(&self) {
        self.push("journal shutdown");
    }
}

/// Only `OnStart`: the other two probes fall through to nothing.
#[injectable(profile = "lifecycle-macros")]
struct Warmup {
    journal: Inject<Journal>,
}

impl OnStart for Warmup {
    async fn on_start(&self) -> Result<(), BoxError> {
        self.journal.push("warmup start");
        Ok(())
    }
}

struct Announcer {
    journal: Inject<Journal>,
}

impl OnReady for Announcer {
    async fn on_ready(&self) -> Result<(), BoxError> {
        self.journal.push("announcer ready");
        Ok(())
    }
}

#[provider(profile = "lifecycle-macros")]
fn announcer(journal: Inject<Journal>) -> Announcer {
    Announcer { journal }
}

#[tokio::test]
async fn injectables_and_provider_functions_get_the_hooks_they_implement() {
    let c = ContainerBuilder::new()
        .profile("lifecycle-macros")
        .discover()
        .build()
        .await
        .unwrap();
    c.ready().await.unwrap();
    let journal = c.get::<Journal>().unwrap();
    c.shutdown().await;
    let events = journal.events.lock().unwrap().clone();
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(events[0], "journal start", "{events:?}");
    assert!(events[1..3].contains(&"warmup start"), "{events:?}");
    assert_eq!(events[events.len() - 1], "journal shutdown", "{events:?}");
    let ready = events.iter().position(|e| *e == "journal ready").unwrap();
    let announced = events.iter().position(|e| *e == "announcer ready").unwrap();
    assert!(
        ready < announced,
        "the journal was created first: {events:?}"
    );
}
