//! Fixtures shared by the wall-clock (`container.rs`) and instruction-count (`instructions.rs`)
//! benchmarks: the same small application graph wired three ways — by hand, by cortex-di, by
//! shaku — and a large generated graph.
//!
//! The application graph:
//!
//! ```text
//! singletons   Config  <-  Repo  <-  Service (Repo, Config)
//! transient    Handler (Repo, Config)
//! request      RequestId  <-  Session (RequestId, Config)
//!                         <-  Audit (RequestId, Repo)
//!              Tx (Session, Repo)
//!              Endpoint (Tx, Audit, Session)
//! ```
//!
//! Hand-wired code builds the same structs with `Inject::new`/`Inject::clone`, which are
//! `Arc::new`/`Arc::clone` (`Inject<T>` is a newtype over `Arc<T>`), so the baseline is exactly the
//! `Arc`s a programmer would construct by hand. cortex-di registers them as an application does:
//! the structs are `#[injectable]` (kept out of `discover()`, registered explicitly), and the two
//! values without dependencies (`Config`, `RequestId`) are `Provider::factory` closures.

// Each benchmark binary uses its own subset of the fixtures, and the structs exist to be built,
// not read.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use cortex_di::{
    Container, ContainerBuilder, Dependency, Inject, Injectable, Provider, Scope, injectable,
};
use shaku::{Component, HasComponent, HasProvider, Interface, module};

// --- the application graph ------------------------------------------------------------------

pub(crate) struct Config {
    pub(crate) url: String,
}

#[injectable(discover = false)]
pub(crate) struct Repo {
    pub(crate) config: Inject<Config>,
}

#[injectable(discover = false)]
pub(crate) struct Service {
    pub(crate) repo: Inject<Repo>,
    pub(crate) config: Inject<Config>,
}

#[injectable(scope = "transient", discover = false)]
pub(crate) struct Handler {
    pub(crate) repo: Inject<Repo>,
    pub(crate) config: Inject<Config>,
}

pub(crate) struct RequestId(pub u64);

#[injectable(scope = "request", discover = false)]
pub(crate) struct Session {
    pub(crate) id: Inject<RequestId>,
    pub(crate) config: Inject<Config>,
}

#[injectable(scope = "request", discover = false)]
pub(crate) struct Audit {
    pub(crate) id: Inject<RequestId>,
    pub(crate) repo: Inject<Repo>,
}

#[injectable(scope = "request", discover = false)]
pub(crate) struct Tx {
    pub(crate) session: Inject<Session>,
    pub(crate) repo: Inject<Repo>,
}

#[injectable(scope = "request", discover = false)]
pub(crate) struct Endpoint {
    pub(crate) tx: Inject<Tx>,
    pub(crate) audit: Inject<Audit>,
    pub(crate) session: Inject<Session>,
}

fn config() -> Config {
    Config {
        url: "sqlite::memory:".to_owned(),
    }
}

/// Runs a future that never waits (the graphs here have no `async` providers) without a runtime,
/// so the measurements contain no executor.
pub(crate) fn now<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => {
            panic!("the benchmark graph has no async providers, so building never waits")
        }
    }
}

// --- by hand ----------------------------------------------------------------------------------

/// The singletons, made by hand.
pub(crate) struct HandSingletons {
    pub(crate) config: Inject<Config>,
    pub(crate) repo: Inject<Repo>,
    pub(crate) service: Arc<Service>,
}

pub(crate) fn hand_singletons() -> HandSingletons {
    let config = Inject::new(config());
    let repo = Inject::new(Repo {
        config: config.clone(),
    });
    let service = Arc::new(Service {
        repo: repo.clone(),
        config: config.clone(),
    });
    HandSingletons {
        config,
        repo,
        service,
    }
}

#[inline]
pub(crate) fn hand_transient(s: &HandSingletons) -> Arc<Handler> {
    Arc::new(Handler {
        repo: s.repo.clone(),
        config: s.config.clone(),
    })
}

/// One request's five request-scoped values, made by hand: each exactly once, shared as the
/// request scope shares them.
#[inline]
pub(crate) fn hand_request(s: &HandSingletons) -> Inject<Endpoint> {
    let id = Inject::new(RequestId(7));
    let session = Inject::new(Session {
        id: id.clone(),
        config: s.config.clone(),
    });
    let audit = Inject::new(Audit {
        id,
        repo: s.repo.clone(),
    });
    let tx = Inject::new(Tx {
        session: session.clone(),
        repo: s.repo.clone(),
    });
    Inject::new(Endpoint { tx, audit, session })
}

// --- by cortex-di -----------------------------------------------------------------------------

pub(crate) fn cortex_builder() -> ContainerBuilder {
    let mut b = ContainerBuilder::new();
    b.add(Provider::factory(|_| Ok(config())))
        .register_with(<Repo as Injectable>::register)
        .register_with(<Service as Injectable>::register)
        .register_with(<Handler as Injectable>::register)
        .add(Provider::factory(|_| Ok(RequestId(7))).scope(Scope::Request))
        .register_with(<Session as Injectable>::register)
        .register_with(<Audit as Injectable>::register)
        .register_with(<Tx as Injectable>::register)
        .register_with(<Endpoint as Injectable>::register);
    b
}

pub(crate) fn cortex_container() -> Container {
    now(cortex_builder().build()).expect("the benchmark graph is valid")
}

// --- by shaku ---------------------------------------------------------------------------------
//
// shaku binds trait objects, so each type gets an interface trait. Components are shaku's
// singletons; providers make a new value on every `provide()` and are shaku's only other scope, so
// they stand in for both the transient and the request-scoped services. shaku has no request
// scope: a provider that two others depend on is made once for each (`Endpoint` below makes
// `RequestId` three times and `Session` twice: 8 values where a request scope makes 5).

pub(crate) trait IConfig: Interface {}
pub(crate) trait IRepo: Interface {}
pub(crate) trait IService: Interface {}
pub(crate) trait IHandler: Send + Sync {}
pub(crate) trait IRequestId: Send + Sync {}
pub(crate) trait ISession: Send + Sync {}
pub(crate) trait IAudit: Send + Sync {}
pub(crate) trait ITx: Send + Sync {}
pub(crate) trait IEndpoint: Send + Sync {}

#[derive(Component)]
#[shaku(interface = IConfig)]
pub(crate) struct ShakuConfig {
    #[shaku(default = "sqlite::memory:".to_owned())]
    url: String,
}

#[derive(Component)]
#[shaku(interface = IRepo)]
pub(crate) struct ShakuRepo {
    #[shaku(inject)]
    config: Arc<dyn IConfig>,
}

#[derive(Component)]
#[shaku(interface = IService)]
pub(crate) struct ShakuService {
    #[shaku(inject)]
    repo: Arc<dyn IRepo>,
    #[shaku(inject)]
    config: Arc<dyn IConfig>,
}

#[derive(shaku::Provider)]
#[shaku(interface = IHandler)]
pub(crate) struct ShakuHandler {
    #[shaku(inject)]
    repo: Arc<dyn IRepo>,
    #[shaku(inject)]
    config: Arc<dyn IConfig>,
}

#[derive(shaku::Provider)]
#[shaku(interface = IRequestId)]
pub(crate) struct ShakuRequestId;

#[derive(shaku::Provider)]
#[shaku(interface = ISession)]
pub(crate) struct ShakuSession {
    #[shaku(provide)]
    id: Box<dyn IRequestId>,
    #[shaku(inject)]
    config: Arc<dyn IConfig>,
}

#[derive(shaku::Provider)]
#[shaku(interface = IAudit)]
pub(crate) struct ShakuAudit {
    #[shaku(provide)]
    id: Box<dyn IRequestId>,
    #[shaku(inject)]
    repo: Arc<dyn IRepo>,
}

#[derive(shaku::Provider)]
#[shaku(interface = ITx)]
pub(crate) struct ShakuTx {
    #[shaku(provide)]
    session: Box<dyn ISession>,
    #[shaku(inject)]
    repo: Arc<dyn IRepo>,
}

#[derive(shaku::Provider)]
#[shaku(interface = IEndpoint)]
pub(crate) struct ShakuEndpoint {
    #[shaku(provide)]
    tx: Box<dyn ITx>,
    #[shaku(provide)]
    audit: Box<dyn IAudit>,
    #[shaku(provide)]
    session: Box<dyn ISession>,
}

impl IConfig for ShakuConfig {}
impl IRepo for ShakuRepo {}
impl IService for ShakuService {}
impl IHandler for ShakuHandler {}
impl IRequestId for ShakuRequestId {}
impl ISession for ShakuSession {}
impl IAudit for ShakuAudit {}
impl ITx for ShakuTx {}
impl IEndpoint for ShakuEndpoint {}

module! {
    pub(crate) AppModule {
        components = [ShakuConfig, ShakuRepo, ShakuService],
        providers = [ShakuHandler, ShakuRequestId, ShakuSession, ShakuAudit, ShakuTx, ShakuEndpoint]
    }
}

pub(crate) fn shaku_module() -> Arc<AppModule> {
    Arc::new(AppModule::builder().build())
}

#[inline]
pub(crate) fn shaku_singleton(m: &AppModule) -> Arc<dyn IService> {
    HasComponent::<dyn IService>::resolve(m)
}

#[inline]
pub(crate) fn shaku_transient(m: &AppModule) -> Box<dyn IHandler> {
    HasProvider::<dyn IHandler>::provide(m).expect("infallible provider")
}

#[inline]
pub(crate) fn shaku_request(m: &AppModule) -> Box<dyn IEndpoint> {
    HasProvider::<dyn IEndpoint>::provide(m).expect("infallible provider")
}

// --- generated graphs -------------------------------------------------------------------------
//
// Node `i` depends on 1-3 earlier nodes: `i - 1`, `i / 2` and, from 10 on, `i - 10`. In cortex-di
// every node is a named provider of one type (`Node` named "n0", "n1", …): 1,000 distinct types
// would mean 1,000 monomorphized factories and a long compile, and named lookups hash the name
// as well as the type, so this is the slower of the two ways for cortex-di.

pub(crate) const BIG: usize = 1_000;

pub(crate) struct Node {
    pub(crate) deps: Vec<Inject<Node>>,
}

/// The dependencies of node `i`, without duplicates.
pub(crate) fn deps_of(i: usize) -> impl Iterator<Item = usize> {
    let candidates = [
        i.checked_sub(1),
        (i > 0).then_some(i / 2),
        i.checked_sub(10),
    ];
    candidates
        .into_iter()
        .enumerate()
        .filter_map(move |(k, c)| {
            let c = c?;
            // Skip a candidate equal to an earlier one.
            let dup = candidates[..k].contains(&Some(c));
            (!dup).then_some(c)
        })
}

/// "n0" … "n999", allocated once for the whole process: providers' names are usually literals.
pub(crate) fn names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        (0..BIG)
            .map(|i| &*Box::leak(format!("n{i}").into_boxed_str()))
            .collect()
    })
}

/// The graph of `n` nodes, built by hand.
pub(crate) fn hand_graph(n: usize) -> Vec<Inject<Node>> {
    let mut nodes: Vec<Inject<Node>> = Vec::with_capacity(n);
    for i in 0..n {
        let deps = deps_of(i).map(|j| nodes[j].clone()).collect();
        nodes.push(Inject::new(Node { deps }));
    }
    nodes
}

/// The graph of `n` nodes as named cortex-di providers (registration only).
pub(crate) fn cortex_graph_builder(n: usize) -> ContainerBuilder {
    let names = names();
    let mut b = ContainerBuilder::new();
    for i in 0..n {
        let mut p = Provider::factory(move |r| {
            let mut deps = Vec::with_capacity(3);
            for j in deps_of(i) {
                deps.push(r.get_named::<Node>(names[j])?);
            }
            Ok(Node { deps })
        })
        .named(names[i]);
        for j in deps_of(i) {
            p = p.depends_on(Dependency::on::<Node>().named(names[j]));
        }
        b.add(p);
    }
    b
}

/// Registers, validates and builds the graph of `n` nodes (every node an eager singleton).
pub(crate) fn cortex_graph(n: usize) -> Container {
    now(cortex_graph_builder(n).build()).expect("the generated graph is valid")
}

// shaku needs one type (and one interface trait) per component, so its graph is generated by a
// macro at a size that keeps the benchmark's compile time small: 16 nodes, same edges.
macro_rules! shaku_graph {
    ($($node:ident: $iface:ident [$($field:ident: $dep:ident),*];)*) => {
        $(
            pub(crate) trait $iface: Interface {}

            #[derive(Component)]
            #[shaku(interface = $iface)]
            pub(crate) struct $node {
                $(
                    #[shaku(inject)]
                    $field: Arc<dyn $dep>,
                )*
            }

            impl $iface for $node {}
        )*

        module! {
            pub(crate) Graph16 {
                components = [$($node),*],
                providers = []
            }
        }
    };
}

pub(crate) const SMALL: usize = 16;

shaku_graph! {
    N0: I0 [];
    N1: I1 [a: I0];
    N2: I2 [a: I1];
    N3: I3 [a: I2, b: I1];
    N4: I4 [a: I3, b: I2];
    N5: I5 [a: I4, b: I2];
    N6: I6 [a: I5, b: I3];
    N7: I7 [a: I6, b: I3];
    N8: I8 [a: I7, b: I4];
    N9: I9 [a: I8, b: I4];
    N10: I10 [a: I9, b: I5, c: I0];
    N11: I11 [a: I10, b: I5, c: I1];
    N12: I12 [a: I11, b: I6, c: I2];
    N13: I13 [a: I12, b: I6, c: I3];
    N14: I14 [a: I13, b: I7, c: I4];
    N15: I15 [a: I14, b: I7, c: I5];
}

/// Builds the 16-component shaku module (shaku checks the graph at compile time; building creates
/// every component).
pub(crate) fn shaku_graph() -> Graph16 {
    Graph16::builder().build()
}
