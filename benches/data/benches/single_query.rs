//! One row by primary key over real loopback sockets (TechEmpower's "single query": `GET
//! /db/{id}`, a random id from a seeded generator, the row as JSON) on PostgreSQL: bare axum with
//! a raw sqlx `PgPool`, the Cortex app as scaffolded for PostgreSQL (`Repo::<World>::get`), and
//! the same app with the query in raw sqlx, interleaved round by round in one run; the median of
//! each is reported with its ratio to bare axum + sqlx.
//!
//! Each server runs on a single-threaded runtime on a thread of its own and stays up for the whole
//! run (warm pools of 16 connections), so its CPU time per request is measured too; the client
//! (keep-alive hyper HTTP/1.1 connections) runs on the main thread; PostgreSQL is another process
//! on the same machine.
//!
//! ```text
//! cargo bench -p cortex-data-bench --bench single_query -- [--connections 16] [--seconds 0.3]
//!     [--warm-up 0.05] [--rounds 30]
//! ```
//!
//! `--only <variant> --requests <n>` serves one variant for exactly `n` requests and prints the
//! count: `scripts/bench --data` runs that under callgrind, twice with different counts, for the
//! app's instructions per request over real sockets.
#![allow(missing_docs)]

use std::time::Duration;

use cortex_data_bench::{Load, Measured, Server, Variant, measure, prepare_postgres};

/// The target: the Cortex app's requests per second, as a share of bare axum + sqlx's.
const TARGET: f64 = 90.0;

fn main() {
    let mut load = Load {
        connections: 16,
        warm_up: Duration::from_millis(50),
        measure: Duration::from_millis(300),
        requests: None,
        seed: 19,
    };
    let mut rounds = 30;
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
                only = Some(Variant::from_name(&name).unwrap_or_else(|| {
                    panic!("--only takes one of {:?}", Variant::ALL.map(Variant::name))
                }));
            }
            // `cargo bench` passes `--bench`; filters and other flags do not apply here.
            _ => {}
        }
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(prepare_postgres());

    if let Some(n) = load.requests {
        let variants = only.map_or(Variant::ALL.to_vec(), |v| vec![v]);
        for variant in variants {
            let server = Server::start(variant);
            let m = measure(&server, load);
            assert_eq!(m.requests, n, "every request answered");
            println!("{} {} requests", variant.name(), m.requests);
        }
        return;
    }

    let rounds = rounds.max(1);
    println!(
        "single query: {} keep-alive connections, {:?} warm-up + {:?} counted per run, {rounds} rounds, variants interleaved",
        load.connections, load.warm_up, load.measure
    );
    let bare = Server::start(Variant::BareAxumSqlx);
    let others: Vec<Server> = Variant::ALL[1..]
        .iter()
        .map(|v| Server::start(*v))
        .collect();
    let report = |round: usize, variant: Variant, m: &Measured| {
        println!(
            "  round {round} {:16} {:>8.0} req/s  {:>6.2} µs server CPU/req",
            variant.name(),
            m.per_second(),
            m.cpu_us_per_request(),
        );
    };
    // Each round: bare, then every other variant (in an order that rotates from round to round)
    // followed by bare again; each is compared with the mean of the two bare slices around it.
    let mut bare_runs: Vec<Measured> = Vec::new();
    let mut runs: Vec<Vec<(Measured, f64, f64)>> = others.iter().map(|_| Vec::new()).collect();
    for round in 1..=rounds {
        load.seed = round as u64 * 1000;
        let mut before = measure(&bare, load);
        report(round, Variant::BareAxumSqlx, &before);
        bare_runs.push(before);
        for k in 0..others.len() {
            let index = (k + round) % others.len();
            let m = measure(&others[index], load);
            report(round, others[index].variant(), &m);
            let after = measure(&bare, load);
            report(round, Variant::BareAxumSqlx, &after);
            bare_runs.push(after);
            let rps = (before.per_second() + after.per_second()) / 2.0;
            let cpu = (before.cpu_us_per_request() + after.cpu_us_per_request()) / 2.0;
            runs[index].push((m, rps, cpu));
            before = after;
        }
    }

    let median = |values: Vec<f64>| -> (f64, f64, f64) {
        let mut v = values;
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    println!(
        "\nmedians over the rounds; ratios to the bare_axum_sqlx slices around each measurement, then their median (min–max):"
    );
    println!(
        "  {:16} {:>8} {:>22}  {:>13} {:>22}",
        "variant", "req/s", "req/s ratio", "server µs/req", "per server-CPU ratio"
    );
    let row = |name: &str, ms: &[Measured], wall: (f64, f64, f64), per_cpu: (f64, f64, f64)| {
        let rps = median(ms.iter().map(Measured::per_second).collect()).0;
        let cpu = median(ms.iter().map(Measured::cpu_us_per_request).collect()).0;
        println!(
            "  {:16} {:>8.0} {:>6.1}% ({:>5.1}–{:>5.1}%)  {:>13.2} {:>6.1}% ({:>5.1}–{:>5.1}%)",
            name, rps, wall.0, wall.1, wall.2, cpu, per_cpu.0, per_cpu.1, per_cpu.2
        );
    };
    row(
        Variant::BareAxumSqlx.name(),
        &bare_runs,
        (100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0),
    );
    let mut ratios = Vec::new();
    for (server, pairs) in others.iter().zip(&runs) {
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
        row(server.variant().name(), &ms, wall, per_cpu);
        ratios.push((server.variant(), wall.0, per_cpu.0));
    }
    let (_, wall, per_cpu) = ratios
        .iter()
        .find(|r| r.0 == Variant::Cortex)
        .copied()
        .expect("measured");
    let verdict = |ratio: f64| if ratio >= TARGET { "met" } else { "MISSED" };
    println!(
        "\ntarget: cortex_repo >= {TARGET}% of bare axum + sqlx: req/s {wall:.1}% ({}), per server CPU {per_cpu:.1}% ({})",
        verdict(wall),
        verdict(per_cpu)
    );
}
