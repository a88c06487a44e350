//! Startup validation: turns the registered providers into a [`Plan`] of validated nodes,
//! after applying profiles, conditions and overrides, or reports every problem in the graph at
//! once (missing providers, cycles, scope violations, duplicates, misplaced hooks).

use std::collections::HashMap;

use crate::condition::Env;
use crate::error::LifecycleHook;
use crate::error::{GraphError, GraphErrors, ProviderRef};
use crate::key::{Key, TypeIdMap};
use crate::node::{Edge, Place};
use crate::provider::{RawProvider, ScopeSpec};
use crate::resolve::{Node, unlaid_make};
use crate::spec::{ProviderKind, Scope};

/// A validated graph, ready to become a container.
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
            list.push(Edge::new(dep.clone(), target, unlaid_make));
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

    // 8. Seeded values and end-of-scope hooks belong to request scopes.
    for (i, p) in raws.iter().enumerate() {
        if scopes[i] == Scope::Request {
            continue;
        }
        if p.kind == ProviderKind::Seeded {
            errors.push(GraphError::SeededOutsideRequest {
                provider: reference(p),
                scope: scopes[i],
            });
        }
        if p.scope_end.is_some() {
            errors.push(GraphError::ScopeEndHookOutsideRequest {
                provider: reference(p),
                scope: scopes[i],
            });
        }
    }

    if !errors.is_empty() {
        return Err(GraphErrors(errors));
    }

    // 9. Nodes, with whether creating each may have to await.
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
            init_async: p.factory.is_async()
                || (p.lazy && (p.start.is_some() || p.ready.is_some())),
            has_hooks: p.shutdown.is_some() || p.scope_end.is_some(),
            factory: p.factory,
            kind: p.kind,
            location: p.location,
            declared_by: p.declared_by,
            start: p.start,
            ready: p.ready,
            shutdown: p.shutdown,
            scope_end: p.scope_end,
            slot: 0,
            place: Place::Transient,
            sync_request: crate::node::NOT_SYNC_REQUEST,
            make: p.make,
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
