//! Wall-clock benchmarks (criterion): cortex-di against the same objects wired by hand and against
//! shaku, each group measured in one run so the ratios hold on a noisy machine.
//!
//! ```text
//! cargo bench -p cortex-di --bench container -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Results land in `target/criterion/<group>/<benchmark>/new/estimates.json`; what is measured and
//! the numbers from our machines are in `docs/src/benchmarks.md`.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::sync::Arc;

use common::{Endpoint, Handler, Service};
use cortex_di::Inject;
use criterion::{Criterion, criterion_group, criterion_main};

/// Resolving a singleton: the container's lookup + `Arc` clone against cloning the `Arc` by hand,
/// cloning an `Inject` a service already holds, and shaku's `resolve()`. Each iteration also drops
/// the handle it got (one atomic decrement), as real code does.
fn singleton(c: &mut Criterion) {
    let hand = common::hand_singletons();
    let container = common::cortex_container();
    let held: Inject<Service> = container.get().unwrap();
    let module = common::shaku_module();

    let mut g = c.benchmark_group("singleton");
    g.bench_function("hand_arc_clone", |b| {
        b.iter(|| Arc::clone(black_box(&hand.service)))
    });
    g.bench_function("cortex_get", |b| {
        b.iter(|| black_box(&container).get::<Service>().unwrap())
    });
    g.bench_function("cortex_inject_clone", |b| {
        b.iter(|| black_box(&held).clone())
    });
    g.bench_function("shaku_resolve", |b| {
        b.iter(|| common::shaku_singleton(black_box(&module)))
    });
    g.finish();
}

/// Resolving a transient with two singleton dependencies: a new `Arc<Handler>` each time.
fn transient(c: &mut Criterion) {
    let hand = common::hand_singletons();
    let container = common::cortex_container();
    let module = common::shaku_module();

    let mut g = c.benchmark_group("transient");
    g.bench_function("hand_arc_new", |b| {
        b.iter(|| common::hand_transient(black_box(&hand)))
    });
    g.bench_function("cortex_get", |b| {
        b.iter(|| black_box(&container).get::<Handler>().unwrap())
    });
    g.bench_function("shaku_provide", |b| {
        b.iter(|| common::shaku_transient(black_box(&module)))
    });
    g.finish();
}

/// One request: open a scope and resolve `Endpoint`, which makes all five request-scoped values
/// (each once) over two singletons; then drop it all. shaku has no request scope: its closest
/// equivalent is a provider chain, which makes 8 values for the same graph (no sharing).
fn request_scope_5(c: &mut Criterion) {
    let hand = common::hand_singletons();
    let container = common::cortex_container();
    let module = common::shaku_module();

    let mut g = c.benchmark_group("request_scope_5");
    g.bench_function("hand_5_arcs", |b| {
        b.iter(|| common::hand_request(black_box(&hand)))
    });
    g.bench_function("cortex_scope_get", |b| {
        b.iter(|| {
            let scope = black_box(&container).scope();
            let endpoint = scope.get::<Endpoint>().unwrap();
            (endpoint, scope)
        })
    });
    g.bench_function("cortex_scope_open_only", |b| {
        b.iter(|| black_box(&container).scope())
    });
    g.bench_function("shaku_provide_chain", |b| {
        b.iter(|| common::shaku_request(black_box(&module)))
    });
    g.finish();
}

/// Startup: register, validate and build a graph of 1,000 providers (every node an eager
/// singleton, so all 1,000 instances are created), against building the same 1,000 `Arc`s by
/// hand. `cortex_validate` is `ContainerBuilder::validate` alone on a registered builder.
fn graph_1000(c: &mut Criterion) {
    let n = common::BIG;
    let registered = common::cortex_graph_builder(n);

    let mut g = c.benchmark_group("graph_1000");
    g.sample_size(20);
    g.bench_function("hand_1000_arcs", |b| {
        b.iter(|| common::hand_graph(black_box(n)))
    });
    g.bench_function("cortex_register_build", |b| {
        b.iter(|| common::cortex_graph(black_box(n)))
    });
    g.bench_function("cortex_validate", |b| {
        b.iter(|| black_box(&registered).validate().unwrap())
    });
    g.finish();
}

/// The same kind of graph at a size shaku can be compared at without generating 1,000 types:
/// 16 nodes, one shaku component type per node.
fn graph_16(c: &mut Criterion) {
    let n = common::SMALL;

    let mut g = c.benchmark_group("graph_16");
    g.bench_function("hand_16_arcs", |b| {
        b.iter(|| common::hand_graph(black_box(n)))
    });
    g.bench_function("cortex_register_build", |b| {
        b.iter(|| common::cortex_graph(black_box(n)))
    });
    g.bench_function("shaku_build", |b| b.iter(common::shaku_graph));
    g.finish();
}

criterion_group!(
    benches,
    singleton,
    transient,
    request_scope_5,
    graph_1000,
    graph_16
);
criterion_main!(benches);
