//! Instructions per event, under callgrind (gungraun): publish→handle on the event bus against
//! bare tokio channels doing the same work, with 1 and 8 subscribers; and the bus's
//! `publish_and_wait`. Same run, same binary.
//!
//! A current-thread runtime runs the publisher and every subscriber's task on one thread, so
//! the counts hold the publish path and the handle path (and the runtime's scheduling between
//! them). Each benchmark publishes [`N`] events and waits until every subscriber handled them;
//! divide by it for one event. The setup (not counted) builds the runtime and the pipeline and
//! runs 1,000 events through it first.
//!
//! ```text
//! cargo install gungraun-runner --version 0.20.0   # or scripts/bench --events
//! cargo bench -p cortex-events-bench --bench instructions
//! ```
#![allow(missing_docs)]

use std::hint::black_box;

use cortex_events_bench::{Pipeline, Side};
use gungraun::{library_benchmark, library_benchmark_group, main};
use tokio::runtime::Runtime;

/// Events per benchmark.
const N: u64 = 1_000;

struct Fixture {
    runtime: Runtime,
    pipeline: Pipeline,
}

fn fixture((side, subscribers): (Side, usize)) -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pipeline = runtime.block_on(async { Pipeline::new(side, subscribers) });
    runtime.block_on(pipeline.run(1_000));
    if side == Side::Bus {
        runtime.block_on(pipeline.run_and_wait(100));
    }
    Fixture { runtime, pipeline }
}

#[library_benchmark]
#[bench::channel_1(args = ((Side::Channel, 1)), setup = fixture)]
#[bench::bus_1(args = ((Side::Bus, 1)), setup = fixture)]
#[bench::channel_8(args = ((Side::Channel, 8)), setup = fixture)]
#[bench::bus_8(args = ((Side::Bus, 8)), setup = fixture)]
fn publish_x1000(f: Fixture) -> Fixture {
    f.runtime.block_on(black_box(&f.pipeline).run(N));
    f
}

#[library_benchmark]
#[bench::bus_1(args = ((Side::Bus, 1)), setup = fixture)]
#[bench::bus_8(args = ((Side::Bus, 8)), setup = fixture)]
fn publish_and_wait_x1000(f: Fixture) -> Fixture {
    f.runtime.block_on(black_box(&f.pipeline).run_and_wait(N));
    f
}

library_benchmark_group!(
    name = events,
    benchmarks = [publish_x1000, publish_and_wait_x1000]
);

main!(library_benchmark_groups = events);
