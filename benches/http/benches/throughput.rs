//! Requests per second over real loopback sockets: one JSON endpoint as bare axum (on
//! `axum::serve`), as a Cortex app with the full default middleware stack and with
//! `HttpConfig::minimal()` (on Cortex's server), and bare axum on Cortex's server, interleaved
//! round by round in one run; the median of each is reported with its ratio to bare axum.
//!
//! Each server runs on a single-threaded runtime on a thread of its own, so its CPU time per
//! request is measured too; the client (keep-alive hyper HTTP/1.1 connections) runs on another.
//!
//! ```text
//! cargo bench -p cortex-http-bench --bench throughput -- [--connections 16] [--seconds 3]
//!     [--warm-up 0.5] [--rounds 3]
//! ```
//!
//! `--only <variant> --requests <n>` serves one variant for exactly `n` requests and reports
//! nothing but the count: `scripts/bench --http` runs that under callgrind, twice with different
//! counts, for the server thread's instructions per request over real sockets.
#![allow(missing_docs)]

use std::time::Duration;

use cortex_http_bench::{Load, Measured, Variant, measure};

fn main() {
    let mut load = Load {
        connections: 16,
        warm_up: Duration::from_millis(500),
        measure: Duration::from_secs(3),
        requests: None,
    };
    let mut rounds = 3;
    let mut only = None;
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
            "--only" => {
                let name = args.next().unwrap_or_default();
                let variant = Variant::ALL.into_iter().find(|v| v.name() == name);
                only = Some(variant.unwrap_or_else(|| {
                    panic!("--only takes one of {:?}", Variant::ALL.map(Variant::name))
                }));
            }
            // `cargo bench` passes `--bench`; filters and other flags do not apply here.
            _ => {}
        }
    }
    if let Some(n) = load.requests {
        let variants = only.map_or(Variant::ALL.to_vec(), |v| vec![v]);
        for variant in variants {
            let m = measure(variant, load);
            assert_eq!(m.requests, n, "every request answered");
            println!("{} {} requests", variant.name(), m.requests);
        }
        return;
    }
    let rounds = rounds.max(1);
    println!(
        "throughput: {} keep-alive connections, {:?} warm-up + {:?} counted per run, {rounds} rounds, variants interleaved",
        load.connections, load.warm_up, load.measure
    );

    let mut runs: Vec<(Variant, Vec<Measured>)> =
        Variant::ALL.iter().map(|v| (*v, Vec::new())).collect();
    for round in 1..=rounds {
        for (variant, measured) in &mut runs {
            let m = measure(*variant, load);
            println!(
                "  round {round} {:28} {:>9.0} req/s  {:>6.2} µs server CPU/req  server busy {:>3.0}%",
                variant.name(),
                m.per_second(),
                m.cpu_us_per_request(),
                m.server_utilization() * 100.0
            );
            measured.push(m);
        }
    }

    let median = |values: Vec<f64>| -> f64 {
        let mut v = values;
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let summary: Vec<(Variant, f64, f64, f64)> = runs
        .iter()
        .map(|(variant, ms)| {
            (
                *variant,
                median(ms.iter().map(Measured::per_second).collect()),
                median(ms.iter().map(Measured::cpu_us_per_request).collect()),
                median(ms.iter().map(Measured::server_utilization).collect()),
            )
        })
        .collect();
    let (_, base_rps, base_cpu, _) = summary[0];
    println!("\nmedians (ratios to bare_axum from this run):");
    println!(
        "  {:28} {:>9} {:>7}  {:>13} {:>22}  {:>11}",
        "variant", "req/s", "ratio", "server µs/req", "req per server-CPU-s ratio", "server busy"
    );
    for (variant, rps, cpu, busy) in &summary {
        println!(
            "  {:28} {:>9.0} {:>6.1}%  {:>13.2} {:>21.1}%  {:>10.0}%",
            variant.name(),
            rps,
            rps / base_rps * 100.0,
            cpu,
            base_cpu / cpu * 100.0,
            busy * 100.0
        );
    }
    println!("\ntargets:");
    for (variant, target) in [(Variant::CortexFull, 85.0), (Variant::CortexMinimal, 97.0)] {
        let (_, rps, cpu, _) = summary
            .iter()
            .find(|s| s.0 == variant)
            .copied()
            .expect("measured");
        let (wall, per_cpu) = (rps / base_rps * 100.0, base_cpu / cpu * 100.0);
        let verdict = |ratio: f64| if ratio >= target { "met" } else { "MISSED" };
        println!(
            "  {:15} >= {target}% of bare axum: req/s {wall:.1}% ({}), per server CPU {per_cpu:.1}% ({})",
            variant.name(),
            verdict(wall),
            verdict(per_cpu)
        );
    }
}
