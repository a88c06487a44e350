//! Events per second publish→handle, the event bus against bare tokio channels doing the same
//! work (1 and 8 subscribers, the same fan-out), in the same run; and the latency of
//! `EventBus::publish_and_wait`.
//!
//! - **One core** (the figure the target is judged on): a current-thread runtime runs the
//!   publisher and every subscriber's task on one thread, whose CPU time
//!   (`/proc/thread-self/schedstat`) is the cost of the events whatever else the machine runs.
//!   That clock advances in scheduler ticks (4 ms here), so each run lasts `--seconds` of CPU
//!   (0.2 s). The rounds interleave the variants (the order rotates); each ratio is the median
//!   of the per-round ratios of the bus's events per second to the channels'.
//! - **Two workers** (for information): a multi-thread runtime with 2 workers, the publisher a
//!   task of its own, timed by the wall clock, the same rounds; on a shared machine these move
//!   with the load.
//! - **`publish_and_wait`** (for information): one event at a time on the current-thread
//!   runtime, each awaited until every subscriber handled it.
//!
//! ```text
//! cargo bench -p cortex-events-bench --bench throughput [-- --rounds 15 --seconds 0.2]
//! ```
//!
//! `--only <channel|bus|bus_wait> --subscribers <n> --events <n>` runs one pipeline for exactly
//! that many events on the current-thread runtime and reports nothing: for profiling it
//! (`valgrind --tool=callgrind`, `perf record`) outside gungraun.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use cortex_events_bench::{Pipeline, Side, load_average, thread_cpu};
use tokio::runtime::Runtime;

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn range(samples: &[f64]) -> (f64, f64) {
    samples
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        })
}

/// A run's cost: seconds of the thread's CPU and of the wall clock.
#[derive(Clone, Copy)]
struct Cost {
    cpu: f64,
    wall: f64,
}

/// Runs `f` and measures it.
fn measure(f: impl FnOnce()) -> Cost {
    let (cpu, wall) = (thread_cpu(), Instant::now());
    f();
    Cost {
        cpu: (thread_cpu() - cpu).as_secs_f64(),
        wall: wall.elapsed().as_secs_f64(),
    }
}

/// The events of a run lasting about `seconds` of `clock` (doubling from 1,000).
fn calibrate(seconds: f64, run: impl Fn(u64) -> Cost, clock: fn(Cost) -> f64) -> u64 {
    let mut events = 1_000;
    loop {
        let spent = clock(run(events));
        if spent >= seconds / 4.0 || events >= 1 << 26 {
            return ((events as f64 * seconds / spent.max(1e-6)) as u64).max(1_000);
        }
        events *= 2;
    }
}

struct Variant {
    pipeline: Arc<Pipeline>,
    events: u64,
    /// Events per second in each round.
    rates: Vec<f64>,
}

/// The four pipelines (channel and bus, 1 and 8 subscribers), `rounds` interleaved rounds, each
/// run timed by `clock`; prints the median events per second and the ratio of the bus to the
/// channels.
fn compare(
    flavor: &str,
    runtime: &Runtime,
    rounds: usize,
    seconds: f64,
    clock: fn(Cost) -> f64,
    spawned: bool,
) {
    let run = |pipeline: &Arc<Pipeline>, events: u64| {
        let pipeline = Arc::clone(pipeline);
        measure(|| {
            if spawned {
                // The publisher on a worker, as a task of the app would be.
                runtime
                    .block_on(runtime.spawn(async move { pipeline.run(events).await }))
                    .expect("the publisher");
            } else {
                runtime.block_on(pipeline.run(events));
            }
        })
    };
    let mut variants: Vec<Variant> = [1, 8]
        .into_iter()
        .flat_map(|subscribers| [(Side::Channel, subscribers), (Side::Bus, subscribers)])
        .map(|(side, subscribers)| {
            let pipeline = Arc::new(runtime.block_on(async { Pipeline::new(side, subscribers) }));
            run(&pipeline, 1_000);
            let events = calibrate(seconds, |n| run(&pipeline, n), clock);
            Variant {
                pipeline,
                events,
                rates: Vec::new(),
            }
        })
        .collect();
    for round in 0..rounds {
        let count = variants.len();
        for k in 0..count {
            let variant = &mut variants[(round + k) % count];
            let cost = run(&variant.pipeline, variant.events);
            variant.rates.push(variant.events as f64 / clock(cost));
        }
    }
    for pair in variants.chunks(2) {
        let [channel, bus] = pair else {
            unreachable!("channel and bus")
        };
        let ratios: Vec<f64> = bus
            .rates
            .iter()
            .zip(&channel.rates)
            .map(|(b, c)| b / c)
            .collect();
        let (lo, hi) = range(&ratios);
        let ratio = median(ratios);
        println!(
            "throughput {flavor} subscribers={} channel {:.0} events/s  bus {:.0} events/s  ratio {ratio:.3} (range {lo:.3}-{hi:.3})",
            bus.pipeline.subscribers(),
            median(channel.rates.clone()),
            median(bus.rates.clone()),
        );
    }
}

/// `--only`: one pipeline, `--events` events, then exit.
fn only(side: &str) {
    let subscribers = arg("--subscribers", 1.0) as usize;
    let events = arg("--events", 100_000.0) as u64;
    let (side, wait) = match side {
        "channel" => (Side::Channel, false),
        "bus" => (Side::Bus, false),
        "bus_wait" => (Side::Bus, true),
        other => panic!("--only takes channel, bus or bus_wait, not {other:?}"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let pipeline = runtime.block_on(async { Pipeline::new(side, subscribers) });
    if wait {
        runtime.block_on(pipeline.run_and_wait(events));
    } else {
        runtime.block_on(pipeline.run(events));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(side) = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
    {
        return only(side);
    }
    let rounds = arg("--rounds", 15.0) as usize;
    let seconds = arg("--seconds", 0.2);
    println!(
        "machine: {} cores, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    compare(
        "one_core",
        &current,
        rounds,
        seconds,
        |cost| cost.cpu,
        false,
    );

    let workers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    compare(
        "two_workers",
        &workers,
        rounds,
        seconds,
        |cost| cost.wall,
        true,
    );
    drop(workers);

    for subscribers in [1, 8] {
        let pipeline = current.block_on(async { Pipeline::new(Side::Bus, subscribers) });
        current.block_on(pipeline.run_and_wait(1_000));
        let events = calibrate(
            seconds,
            |n| measure(|| current.block_on(pipeline.run_and_wait(n))),
            |cost| cost.cpu,
        );
        let (cpu, wall): (Vec<f64>, Vec<f64>) = (0..rounds)
            .map(|_| {
                let cost = measure(|| current.block_on(pipeline.run_and_wait(events)));
                (
                    cost.cpu * 1e6 / events as f64,
                    cost.wall * 1e6 / events as f64,
                )
            })
            .unzip();
        println!(
            "latency publish_and_wait subscribers={subscribers} {:.2} µs CPU  {:.2} µs wall  per event",
            median(cpu),
            median(wall)
        );
    }
    // Leave the idle pipelines' tasks behind without waiting for them.
    current.shutdown_timeout(Duration::from_secs(1));
}
