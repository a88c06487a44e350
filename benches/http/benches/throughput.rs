//! Requests per second over real loopback sockets: one JSON endpoint as bare axum (on
//! `axum::serve`), as a Cortex app with the full default middleware stack (without a subscriber,
//! and as scaffolded: with the one `#[cortex::main]` installs) and with `HttpConfig::minimal()`
//! (on Cortex's server), and bare axum on Cortex's server, interleaved round by round in one
//! run; the median of each is reported with its ratio to bare axum.
//!
//! Each server runs on a single-threaded runtime on a thread of its own, so its CPU time per
//! request is measured too; the client (keep-alive hyper HTTP/1.1 connections) runs on another.
//!
//! ```text
//! cargo bench -p cortex-http-bench --bench throughput -- [--connections 16] [--seconds 0.3]
//!     [--warm-up 0.1] [--rounds 40]
//! ```
//!
//! Many short rounds rather than a few long ones: on a shared virtual machine the CPU's speed
//! drifts from second to second, and the ratio taken within each round and then its median over
//! many rounds is far steadier than that of a few long runs (ranges of 42-144% seen with 5 rounds
//! of 3 s). Within a round each variant runs between two bare axum runs and is compared with
//! their mean, which cancels a steady drift.
//!
//! `--observability` measures issue 21's variants instead (`cortex_metrics`, `cortex_traced`,
//! `cortex_observed_all`), each bracketed by and compared with `cortex_scaffolded`; the traced
//! ones export to an OTLP receiver on 127.0.0.1 in the same process (its own thread).
//!
//! `--only <variant> --requests <n>` serves one variant for exactly `n` requests and reports
//! nothing but the count: `scripts/bench --http` runs that under callgrind, twice with different
//! counts, for the server thread's instructions per request over real sockets.
#![allow(missing_docs)]

use std::time::Duration;

use cortex_http_bench::{Load, Measured, Variant, measure};

/// A measurement with its baseline: bare axum's requests per second and µs of server CPU per
/// request, the mean of the bare runs just before and just after it.
type Bracketed = (Measured, f64, f64);

fn main() {
    let mut load = Load {
        connections: 16,
        warm_up: Duration::from_millis(100),
        measure: Duration::from_millis(300),
        requests: None,
    };
    let mut rounds = 40;
    let mut only = None;
    // `--observability`: the issue-21 variants against `cortex_scaffolded`, not bare axum.
    let mut observability = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> f64 {
            let v = args.next().and_then(|v| v.parse().ok());
            v.unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match arg.as_str() {
            "--connections" => load.connections = value("--connections") as usize,
            "--seconds" => load.measure = Duration::from_secs_f64(value("--seconds")),
            "--warm-up" => load.warm_up = Duration::from_secs_f64(value("--warm-up")),
            "--rounds" => rounds = value("--rounds") as usize,
            "--requests" => load.requests = Some(value("--requests") as u64),
            "--observability" => observability = true,
            "--only" => {
                let name = args.next().unwrap_or_default();
                only = Some(Variant::named(&name).unwrap_or_else(|| {
                    panic!(
                        "--only takes one of {:?} or {:?}",
                        Variant::ALL.map(Variant::name),
                        Variant::OBSERVABILITY.map(Variant::name)
                    )
                }));
            }
            // `cargo bench` passes `--bench`; filters and other flags do not apply here.
            _ => {}
        }
    }
    let (baseline, set): (Variant, &[Variant]) = if observability {
        (Variant::CortexScaffolded, &Variant::OBSERVABILITY)
    } else {
        (Variant::BareAxum, &Variant::ALL)
    };
    if observability {
        // Started before any server, so that under callgrind its thread is always the second
        // (`scripts/bench --observability` leaves it out of the app's instructions).
        cortex_http_bench::calibrate_clock();
        cortex_http_bench::otlp_receiver();
    }
    if let Some(n) = load.requests {
        let variants = only.map_or(set.to_vec(), |v| vec![v]);
        for variant in variants {
            let m = measure(variant, load);
            assert_eq!(m.requests, n, "every request answered");
            println!("{} {} requests", variant.name(), m.requests);
        }
        if observability {
            let receiver = cortex_http_bench::otlp_receiver();
            println!(
                "otlp receiver: {} exports, {} bytes",
                receiver.exports(),
                receiver.bytes()
            );
        }
        return;
    }
    let rounds = rounds.max(1);
    println!(
        "throughput: {} keep-alive connections, {:?} warm-up + {:?} counted per run, {rounds} rounds, variants interleaved, baseline {}",
        load.connections,
        load.warm_up,
        load.measure,
        baseline.name()
    );

    // Each round: bare axum, then every other variant (in an order that rotates from round to
    // round) followed by bare axum again, so that each variant is compared with the mean of the
    // two bare slices around it: on a shared machine the CPU's speed drifts within a round too,
    // and bracketing cancels a steady drift.
    let others: Vec<Variant> = set.iter().copied().filter(|v| *v != baseline).collect();
    let report = |round: usize, variant: Variant, m: &Measured| {
        println!(
            "  round {round} {:28} {:>9.0} req/s  {:>6.2} µs server CPU/req  server busy {:>3.0}%",
            variant.name(),
            m.per_second(),
            m.cpu_us_per_request(),
            m.server_utilization() * 100.0
        );
    };
    let mut bare_runs: Vec<Measured> = Vec::new();
    // Per variant: each round's measurement with its baseline (requests per second, µs per
    // request: the mean of the bare slices before and after it).
    let mut runs: Vec<(Variant, Vec<Bracketed>)> =
        others.iter().map(|v| (*v, Vec::new())).collect();
    for round in 1..=rounds {
        let mut before = measure(baseline, load);
        report(round, baseline, &before);
        bare_runs.push(before);
        for k in 0..others.len() {
            let index = (k + round) % others.len();
            let variant = others[index];
            let m = measure(variant, load);
            report(round, variant, &m);
            let after = measure(baseline, load);
            report(round, baseline, &after);
            bare_runs.push(after);
            let rps = (before.per_second() + after.per_second()) / 2.0;
            let cpu = (before.cpu_us_per_request() + after.cpu_us_per_request()) / 2.0;
            runs[index].1.push((m, rps, cpu));
            before = after;
        }
    }

    let median = |values: Vec<f64>| -> (f64, f64, f64) {
        let mut v = values;
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    println!(
        "\nmedians over the rounds; ratios to the {} slices around each measurement, then their median (min–max):",
        baseline.name()
    );
    println!(
        "  {:28} {:>9} {:>22}  {:>13} {:>22}  {:>11}",
        "variant", "req/s", "req/s ratio", "server µs/req", "per server-CPU ratio", "server busy"
    );
    let row = |name: &str, ms: &[Measured], wall: (f64, f64, f64), per_cpu: (f64, f64, f64)| {
        let rps = median(ms.iter().map(Measured::per_second).collect()).0;
        let cpu = median(ms.iter().map(Measured::cpu_us_per_request).collect()).0;
        let busy = median(ms.iter().map(Measured::server_utilization).collect()).0;
        println!(
            "  {:28} {:>9.0} {:>6.1}% ({:>5.1}–{:>5.1}%)  {:>13.2} {:>6.1}% ({:>5.1}–{:>5.1}%)  {:>10.0}%",
            name,
            rps,
            wall.0,
            wall.1,
            wall.2,
            cpu,
            per_cpu.0,
            per_cpu.1,
            per_cpu.2,
            busy * 100.0
        );
    };
    row(
        baseline.name(),
        &bare_runs,
        (100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0),
    );
    let mut ratios = Vec::new();
    for (variant, pairs) in &runs {
        let wall = median(
            pairs
                .iter()
                .map(|(m, rps, _)| m.per_second() / rps * 100.0)
                .collect(),
        );
        let per_cpu = median(
            pairs
                .iter()
                .map(|(m, _, cpu)| cpu / m.cpu_us_per_request() * 100.0)
                .collect(),
        );
        let ms: Vec<Measured> = pairs.iter().map(|(m, _, _)| *m).collect();
        row(variant.name(), &ms, wall, per_cpu);
        ratios.push((*variant, wall.0, per_cpu.0));
    }
    if observability {
        let receiver = cortex_http_bench::otlp_receiver();
        println!(
            "\notlp receiver: {} exports, {} bytes of spans",
            receiver.exports(),
            receiver.bytes()
        );
    }
    println!("\ntargets:");
    let targets: &[(Variant, f64)] = if observability {
        // Issue 21: metrics on, and tracing at 10% sampling, each under 5% of throughput.
        &[
            (Variant::CortexMetrics, 95.0),
            (Variant::CortexTraced, 95.0),
        ]
    } else {
        &[
            (Variant::CortexFull, 85.0),
            (Variant::CortexScaffolded, 85.0),
            (Variant::CortexMinimal, 97.0),
        ]
    };
    for &(variant, target) in targets {
        let (_, wall, per_cpu) = ratios
            .iter()
            .find(|r| r.0 == variant)
            .copied()
            .expect("measured");
        let verdict = |ratio: f64| if ratio >= target { "met" } else { "MISSED" };
        println!(
            "  {:17} >= {target}% of {}: req/s {wall:.1}% ({}), per server CPU {per_cpu:.1}% ({})",
            variant.name(),
            baseline.name(),
            verdict(wall),
            verdict(per_cpu)
        );
    }
}
