//! [`ContainerBuilder`]: collects providers, validates the graph, builds the [`Container`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::condition::Env;
use crate::error::{GraphError, GraphErrors, ProviderRef};
use crate::graph::Graph;
use crate::key::TypeIdMap;
use crate::provider::{Factory, RawProvider, ScopeSpec};
use crate::registry::Registration;
use crate::resolve::{Cell, Edge, Inner, Lifecycle, Node};
use crate::{
    ConfigSource, Container, Injectable, Key, LifecycleHook, Location, Provider, ProviderKind,
    Result, Scope,
};

/// Collects providers and builds a [`Container`], validating the whole graph first.
///
/// ```
/// use cortex_di::{ContainerBuilder, Inject, Provider};
///
/// struct Greeting(&'static str);
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let container = ContainerBuilder::new()
///     .discover()                      // every #[injectable] and #[provider] in the binary
///     .profile("test")                 // providers restricted to other profiles stay out
///     .add(Provider::value(Greeting("hello")))
///     .build()
///     .await?;
/// let greeting: Inject<Greeting> = container.get()?;
/// assert_eq!(greeting.0, "hello");
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
pub struct ContainerBuilder {
    providers: Vec<RawProvider>,
    overrides: Vec<RawProvider>,
    env: Env,
    start_timeout: Duration,
    shutdown_timeout: Duration,
    discovered: bool,
}

impl Default for ContainerBuilder {
    fn default() -> Self {
        ContainerBuilder {
            providers: Vec::new(),
            overrides: Vec::new(),
            env: Env::default(),
            start_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            discovered: false,
        }
    }
}

impl ContainerBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a provider.
    pub fn add<T: ?Sized>(&mut self, provider: Provider<T>) -> &mut Self {
        self.providers.push(provider.raw);
        self
    }

    /// Adds the providers an `#[injectable]` type (or a `#[provider]` function) declares.
    pub fn register<T: Injectable>(&mut self) -> &mut Self {
        T::register(self);
        self
    }

    /// Runs a registration function (what `Injectable::register` is); registering the same
    /// declaration twice adds it once.
    pub fn register_with(&mut self, register: fn(&mut ContainerBuilder)) -> &mut Self {
        register(self);
        self
    }

    /// Adds every `#[injectable]` and `#[provider]` linked into the binary. Calling it twice, or
    /// registering a discovered type again by hand, adds nothing twice.
    pub fn discover(&mut self) -> &mut Self {
        if !self.discovered {
            self.discovered = true;
            for registration in inventory::iter::<Registration> {
                (registration.register)(self);
            }
        }
        self
    }

    /// Adds a value provider (a singleton) for `T`.
    #[track_caller]
    pub fn value<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        let p = Provider::value(value).at(Location::caller());
        self.add(p)
    }

    /// Binds the [`ConfigSource`] that `#[inject(config = "key")]` fields read from.
    #[track_caller]
    pub fn config(&mut self, source: impl ConfigSource) -> &mut Self {
        let source: Arc<dyn ConfigSource> = Arc::new(source);
        let p = Provider::arc_value(source).at(Location::caller());
        self.add(p)
    }

    /// Activates a profile for conditional providers.
    pub fn profile(&mut self, profile: impl Into<String>) -> &mut Self {
        self.env.add_profile(profile);
        self
    }

    /// Sets a property that `when` predicates can read.
    pub fn property(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.env.set_property(key.into(), value.into());
        self
    }

    /// Replaces the whole environment.
    pub fn env(&mut self, env: Env) -> &mut Self {
        self.env = env;
        self
    }

    /// How long each [`OnStart`](crate::OnStart) and [`OnReady`](crate::OnReady) hook may take
    /// (30 seconds by default); one that takes longer fails the start with
    /// [`Error::HookTimedOut`](crate::Error::HookTimedOut).
    pub fn start_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.start_timeout = timeout;
        self
    }

    /// How long each shutdown hook may take (10 seconds by default).
    pub fn shutdown_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Replaces whatever is bound to the provider's key (for tests: a fake in place of a real
    /// service). Building fails if nothing is bound to that key.
    ///
    /// ```
    /// use cortex_di::{ContainerBuilder, Inject, Provider};
    /// use std::sync::Arc;
    ///
    /// trait Mailer: Send + Sync { fn name(&self) -> &'static str; }
    /// struct Smtp;
    /// impl Mailer for Smtp { fn name(&self) -> &'static str { "smtp" } }
    /// struct Fake;
    /// impl Mailer for Fake { fn name(&self) -> &'static str { "fake" } }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let c = ContainerBuilder::new()
    ///     .add(Provider::<dyn Mailer>::arc_value(Arc::new(Smtp)))
    ///     .override_provider(Provider::<dyn Mailer>::arc_value(Arc::new(Fake)))
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(c.get::<dyn Mailer>().unwrap().name(), "fake");
    /// # });
    /// ```
    pub fn override_provider<T: ?Sized>(&mut self, provider: Provider<T>) -> &mut Self {
        let mut raw = provider.raw;
        raw.kind = ProviderKind::Override;
        self.overrides.push(raw);
        self
    }

    /// Replaces whatever is bound to `T` with `value`.
    #[track_caller]
    pub fn override_value<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        let p = Provider::value(value).at(Location::caller());
        self.override_provider(p)
    }

    /// Replaces whatever is bound to `T` (often `dyn Trait`) with `value`.
    #[track_caller]
    pub fn override_arc<T: ?Sized + Send + Sync + 'static>(&mut self, value: Arc<T>) -> &mut Self {
        let p = Provider::arc_value(value).at(Location::caller());
        self.override_provider(p)
    }

    /// Validates the graph without creating anything, and describes it.
    pub fn validate(&self) -> std::result::Result<Graph, GraphErrors> {
        let plan = plan(self.providers.clone(), self.overrides.clone(), &self.env)?;
        Ok(Graph::from_nodes(&plan.nodes))
    }

    /// Validates the graph, then creates every eager singleton in dependency order, awaiting
    /// `async` providers. The builder is left empty.
    ///
    /// Fails with [`Error::Graph`](crate::Error::Graph) listing every problem in the graph, or with
    /// [`Error::Provider`](crate::Error::Provider) naming the provider whose factory failed (the
    /// singletons made before it are shut down again).
    ///
    /// No [`OnStart`](crate::OnStart) hook runs here: they run in
    /// [`Container::start`](crate::Container::start), which the app calls next.
    pub fn build(&mut self) -> impl Future<Output = Result<Container>> + Send + 'static {
        let providers = std::mem::take(&mut self.providers);
        let overrides = std::mem::take(&mut self.overrides);
        let env = std::mem::take(&mut self.env);
        let start_timeout = self.start_timeout;
        let shutdown_timeout = self.shutdown_timeout;
        self.discovered = false;
        async move {
            let plan = plan(providers, overrides, &env)?;
            let Plan {
                nodes,
                order,
                unnamed,
                named,
            } = plan;
            let mut singleton_cells = Vec::new();
            let mut request_cells = Vec::new();
            let mut nodes = nodes;
            for node in &mut nodes {
                match node.scope {
                    Scope::Singleton => {
                        node.slot = singleton_cells.len();
                        singleton_cells.push(Cell::new(node.init_async));
                    }
                    Scope::Request => {
                        node.slot = request_cells.len();
                        request_cells.push(node.init_async);
                    }
                    Scope::Transient => {}
                }
            }
            let eager: Vec<usize> = order
                .iter()
                .copied()
                .filter(|&i| nodes[i].scope == Scope::Singleton && !nodes[i].lazy)
                .collect();
            let inner = Inner {
                nodes,
                unnamed,
                named,
                singletons: singleton_cells.into_boxed_slice(),
                request_cells: request_cells.into_boxed_slice(),
                lifecycle: Mutex::new(Lifecycle::default()),
                lifecycle_gate: tokio::sync::Mutex::new(()),
                shut_down: AtomicBool::new(false),
                start_timeout,
                shutdown_timeout,
                env,
            };
            let container = Container::from_inner(Arc::new(inner));
            for idx in eager {
                if let Err(e) = container.ensure_eager(idx).await {
                    container.shutdown().await;
                    return Err(e);
                }
            }
            Ok(container)
        }
    }
}

pub(crate) struct Plan {
    pub(crate) nodes: Vec<Node>,
    /// Every node, dependencies before dependents.
    pub(crate) order: Vec<usize>,
    pub(crate) unnamed: TypeIdMap<usize>,
    pub(crate) named: HashMap<Key, usize>,
}

fn reference(p: &RawProvider) -> ProviderRef {
    ProviderRef {
        key: p.key.clone(),
        declared_by: p.declared_by.to_string(),
        location: p.location,
    }
}

fn same_declaration(a: &RawProvider, b: &RawProvider) -> bool {
    a.key == b.key && a.location == b.location && a.declared_by == b.declared_by && a.kind == b.kind
}

pub(crate) fn plan(
    providers: Vec<RawProvider>,
    overrides: Vec<RawProvider>,
    env: &Env,
) -> Result<Plan, GraphErrors> {
    let mut errors = Vec::new();

    // 1. Conditions, and the same declaration registered twice (discover + register) counts once.
    //    Only providers bound to one key can be the same declaration, so they are compared within
    //    their key's bucket: linear in the number of providers, not quadratic.
    let in_env = |p: &RawProvider| {
        env.matches_profiles(&p.profiles) && p.predicate.as_ref().is_none_or(|pred| pred(env))
    };
    let mut active: Vec<RawProvider> = providers.into_iter().filter(in_env).collect();
    let mut keep = vec![true; active.len()];
    let mut by_key: HashMap<&Key, Vec<usize>> = HashMap::with_capacity(active.len());
    for (i, p) in active.iter().enumerate() {
        let same_key = by_key.entry(&p.key).or_default();
        if same_key.iter().any(|&j| same_declaration(&active[j], p)) {
            keep[i] = false;
        } else {
            same_key.push(i);
        }
    }
    let mut keep = keep.into_iter();
    active.retain(|_| keep.next().unwrap_or(true));

    // 2. Overrides replace every provider bound to their key.
    for o in overrides {
        let before = active.len();
        active.retain(|p| p.key != o.key);
        if active.len() == before {
            errors.push(GraphError::OverrideWithoutTarget {
                over: reference(&o),
            });
        }
        active.push(o);
    }

    // 3. Index by key; a second binding of one key is an error.
    let mut index: HashMap<Key, usize> = HashMap::with_capacity(active.len());
    let mut raws: Vec<RawProvider> = Vec::with_capacity(active.len());
    for p in active {
        if let Some(&first) = index.get(&p.key) {
            errors.push(GraphError::Duplicate {
                first: reference(&raws[first]),
                second: reference(&p),
            });
            continue;
        }
        index.insert(p.key.clone(), raws.len());
        raws.push(p);
    }

    // 4. Edges; a required dependency with no provider is an error.
    let mut by_type: TypeIdMap<Vec<usize>> = TypeIdMap::default();
    for (i, p) in raws.iter().enumerate() {
        by_type.entry(p.key.type_id()).or_default().push(i);
    }
    let mut edges: Vec<Vec<Edge>> = Vec::with_capacity(raws.len());
    for p in &raws {
        let mut list = Vec::with_capacity(p.deps.len());
        for dep in &p.deps {
            let target = index.get(&dep.key).copied();
            if target.is_none() && !dep.optional {
                let candidates = by_type
                    .get(&dep.key.type_id())
                    .map(|ids| ids.iter().map(|&i| raws[i].key.clone()).collect())
                    .unwrap_or_default();
                errors.push(GraphError::MissingProvider {
                    dependency: dep.key.clone(),
                    required_by: reference(p),
                    field: dep.field,
                    candidates,
                });
            }
            list.push(Edge {
                dep: dep.clone(),
                target,
            });
        }
        edges.push(list);
    }

    // 5. Cycles, found by an iterative depth-first search; its post-order is the creation order.
    let n = raws.len();
    let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
    let mut order = Vec::with_capacity(n);
    let mut cycles_seen: Vec<Vec<usize>> = Vec::new();
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(edge) = edges[node].get(*next) {
                *next += 1;
                let Some(t) = edge.target else { continue };
                match state[t] {
                    0 => {
                        state[t] = 1;
                        stack.push((t, 0));
                    }
                    1 => {
                        let start = stack.iter().position(|&(s, _)| s == t).unwrap_or(0);
                        let mut members: Vec<usize> =
                            stack[start..].iter().map(|&(s, _)| s).collect();
                        let mut key = members.clone();
                        key.sort_unstable();
                        if !cycles_seen.contains(&key) {
                            cycles_seen.push(key);
                            members.push(t);
                            errors.push(GraphError::Cycle {
                                path: members.iter().map(|&i| reference(&raws[i])).collect(),
                            });
                        }
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                order.push(node);
                stack.pop();
            }
        }
    }

    // 6. Scopes: aliases take their target's; then no singleton may capture a shorter-lived value.
    let mut scopes: Vec<Option<Scope>> = raws
        .iter()
        .map(|p| match p.scope {
            ScopeSpec::Fixed(s) => Some(s),
            ScopeSpec::Inherit => None,
        })
        .collect();
    for &i in &order {
        if scopes[i].is_none() {
            let inherited = edges[i]
                .first()
                .and_then(|e| e.target)
                .and_then(|t| scopes[t]);
            scopes[i] = Some(inherited.unwrap_or(Scope::Singleton));
        }
    }
    // Nodes on a cycle are not in `order` yet when it was found; give them a scope anyway.
    let scopes: Vec<Scope> = scopes
        .into_iter()
        .map(|s| s.unwrap_or(Scope::Singleton))
        .collect();
    for (i, p) in raws.iter().enumerate() {
        if scopes[i] != Scope::Singleton {
            continue;
        }
        for edge in &edges[i] {
            let Some(t) = edge.target else { continue };
            if matches!(scopes[t], Scope::Transient | Scope::Request) {
                errors.push(GraphError::ScopeViolation {
                    provider: reference(p),
                    provider_scope: scopes[i],
                    dependency: reference(&raws[t]),
                    dependency_scope: scopes[t],
                    field: edge.dep.field,
                });
            }
        }
    }

    // 7. Start and ready hooks run once, so only singletons may have them.
    for (i, p) in raws.iter().enumerate() {
        if scopes[i] == Scope::Singleton {
            continue;
        }
        let hooks = [
            (p.start.is_some(), LifecycleHook::Start),
            (p.ready.is_some(), LifecycleHook::Ready),
        ];
        for (_, hook) in hooks.into_iter().filter(|(has, _)| *has) {
            errors.push(GraphError::HookOnNonSingleton {
                provider: reference(p),
                scope: scopes[i],
                hook,
            });
        }
    }

    if !errors.is_empty() {
        return Err(GraphErrors(errors));
    }

    // 8. Nodes, with whether creating each may have to await.
    let mut nodes: Vec<Node> = raws
        .into_iter()
        .zip(edges)
        .zip(&scopes)
        .map(|((p, edges), &scope)| Node {
            key: p.key,
            scope,
            lazy: p.lazy,
            edges,
            // A lazy singleton with start or ready hooks may be created after `start()`, and
            // then awaits them as it is created.
            init_async: matches!(p.factory, Factory::Async(_))
                || (p.lazy && (p.start.is_some() || p.ready.is_some())),
            factory: p.factory,
            kind: p.kind,
            location: p.location,
            declared_by: p.declared_by,
            start: p.start,
            ready: p.ready,
            shutdown: p.shutdown,
            slot: 0,
        })
        .collect();
    for &i in &order {
        let awaits = nodes[i].edges.iter().any(|e| {
            e.target
                .is_some_and(|t| nodes[t].needs_async_for_dependents())
        });
        nodes[i].init_async |= awaits;
    }
    let mut unnamed = TypeIdMap::default();
    let mut named = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        if node.key.name().is_none() {
            unnamed.insert(node.key.type_id(), i);
        } else {
            named.insert(node.key.clone(), i);
        }
    }
    Ok(Plan {
        nodes,
        order,
        unnamed,
        named,
    })
}
