//! Instruction counts under callgrind (gungraun): the scenarios of `container.rs`, repeatable on
//! noisy, shared machines.
//!
//! Needs valgrind and the `gungraun-runner` binary of the same version as the `gungraun` crate;
//! `scripts/bench` installs it and runs this. By hand:
//!
//! ```text
//! cargo install gungraun-runner --version 0.20.0
//! cargo bench -p cortex-di --bench instructions
//! ```
//!
//! Only the benchmark function is counted: fixtures are made by `setup` functions and returned
//! from the benchmark so that dropping them is not counted either. Cheap operations run
//! [`OPS`] times per benchmark; divide by it for the cost of one. Profiles for
//! `callgrind_annotate` land in `target/gungraun/cortex-di/instructions/<group>/<benchmark>/`.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::sync::Arc;

use common::{AppModule, Endpoint, HandSingletons, Handler, Service};
use cortex_di::{Container, ContainerBuilder, Graph, Inject};
use gungraun::{library_benchmark, library_benchmark_group, main};

/// How many times the per-request operations run in one benchmark.
const OPS: usize = 1_000;

struct Fixture {
    hand: HandSingletons,
    container: Container,
    held: Inject<Service>,
    module: Arc<AppModule>,
}

fn fixture() -> Fixture {
    let container = common::cortex_container();
    let held = container.get().unwrap();
    Fixture {
        hand: common::hand_singletons(),
        container,
        held,
        module: common::shaku_module(),
    }
}

// --- singleton ------------------------------------------------------------------------------

#[library_benchmark]
#[bench::x1000(setup = fixture)]
fn singleton_hand_arc_clone(f: Fixture) -> Fixture {
    for _ in 0..OPS {
        black_box(Arc::clone(black_box(&f.hand.service)));
    }
    f
}

#[library_benchmark]
#[bench::x1000(setup = fixture)]
fn singleton_cortex_get(f: Fixture) -> Fixture {
    for _ in 0..OPS {
        black_box(black_box(&f.container).get::<Service>().unwrap());
    }
    f
}

#[library_benchmark]
#[bench::x1000(setup = fixture)]
fn singleton_cortex_inject_clone(f: Fixture) -> Fixture {
    for _ in 0..OPS {
        black_box(black_box(&f.held).clone());
    }
    f
}

#[library_benchmark]
#[bench::x1000(setup = fixture)]
fn singleton_shaku_resolve(f: Fixture) -> Fixture {
    for _ in 0..OPS {
        black_box(common::shaku_singleton(black_box(&f.module)));
    }
    f
}

library_benchmark_group!(
    name = singleton,
    benchmarks = [
        singleton_hand_arc_clone,
        singleton_cortex_get,
        singleton_cortex_inject_clone,
        singleton_shaku_resolve
    ]
);

// --- transient ------------------------------------------------------------------------------

#[library_benchmark]
#[bench::x1000(setup = fixture)]
fn transient_hand_arc_new(f: Fixture) -> Fixture {
    for _ in 0..OPS {
        black_box(common::hand_transient(black_box(&f.hand)));
    }
    f
}

#[library_benchmark]
#[bench::x1000(setup = fixture)]
fn transient_cortex_get(f: Fixture) -> Fixture {
    for _ in 0..OPS {
        black_box(black_box(&f.container).get::<Handler>().unwrap());
    }
    f
}

#[library_benchmark]
#[bench::x1000(setup = fixture)]
fn transient_shaku_provide(f: Fixture) -> Fixture {
    for _ in 0..OPS {
        black_box(common::shaku_transient(black_box(&f.module)));
    }
    f
}

library_benchmark_group!(
    name = transient,
    benchmarks = [
        transient_hand_arc_new,
        transient_cortex_get,
        transient_shaku_provide
    ]
);

// --- request scope with 5 request-scoped services -------------------------------------------

#[library_benchmark]
#[bench::x1000(setup = fixture)]
fn request_hand_5_arcs(f: Fixture) -> Fixture {
    for _ in 0..OPS {
        black_box(common::hand_request(black_box(&f.hand)));
    }
    f
}

#[library_benchmark]
#[bench::x1000(setup = fixture)]
fn request_cortex_scope_get(f: Fixture) -> Fixture {
    for _ in 0..OPS {
        let scope = black_box(&f.container).scope();
        let endpoint = scope.get::<Endpoint>().unwrap();
        black_box((endpoint, scope));
    }
    f
}

#[library_benchmark]
#[bench::x1000(setup = fixture)]
fn request_cortex_scope_open_only(f: Fixture) -> Fixture {
    for _ in 0..OPS {
        black_box(black_box(&f.container).scope());
    }
    f
}

#[library_benchmark]
#[bench::x1000(setup = fixture)]
fn request_shaku_provide_chain(f: Fixture) -> Fixture {
    for _ in 0..OPS {
        black_box(common::shaku_request(black_box(&f.module)));
    }
    f
}

library_benchmark_group!(
    name = request_scope_5,
    benchmarks = [
        request_hand_5_arcs,
        request_cortex_scope_get,
        request_cortex_scope_open_only,
        request_shaku_provide_chain
    ]
);

// --- graphs: register + validate + build, once ----------------------------------------------

/// The node count, with the provider names made beforehand (they are `&'static str`s in an app).
fn graph_size(n: usize) -> usize {
    common::names();
    n
}

fn registered(n: usize) -> ContainerBuilder {
    common::cortex_graph_builder(n)
}

#[library_benchmark]
#[bench::n1000(args = (common::BIG), setup = graph_size)]
#[bench::n16(args = (common::SMALL), setup = graph_size)]
fn graph_hand_arcs(n: usize) -> Vec<Inject<common::Node>> {
    black_box(common::hand_graph(black_box(n)))
}

#[library_benchmark]
#[bench::n1000(args = (common::BIG), setup = graph_size)]
#[bench::n16(args = (common::SMALL), setup = graph_size)]
fn graph_cortex_register_build(n: usize) -> Container {
    black_box(common::cortex_graph(black_box(n)))
}

#[library_benchmark]
#[bench::n1000(args = (common::BIG), setup = registered)]
fn graph_cortex_validate(builder: ContainerBuilder) -> (ContainerBuilder, Graph) {
    let graph = black_box(&builder).validate().unwrap();
    (builder, graph)
}

#[library_benchmark]
#[bench::n16()]
fn graph_shaku_build() -> common::Graph16 {
    black_box(common::shaku_graph())
}

library_benchmark_group!(
    name = graph,
    benchmarks = [
        graph_hand_arcs,
        graph_cortex_register_build,
        graph_cortex_validate,
        graph_shaku_build
    ]
);

main!(library_benchmark_groups = [singleton, transient, request_scope_5, graph]);
