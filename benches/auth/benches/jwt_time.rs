//! CPU time per request through the real authentication layer and guards, and the throughput
//! ratio of each variant to the unauthenticated route of the same app, in the same run; and
//! `Jwt::verify` alone, for HS256 and EdDSA (a token seen before, and a new one each time).
//!
//! One thread (a current-thread tokio runtime): its CPU time (`/proc/thread-self/schedstat`) is
//! the cost of the requests whatever else the machine runs. That clock advances in scheduler
//! ticks (4 ms here), so each round of a variant lasts `--seconds` of CPU (0.2 s: 2% resolution);
//! the rounds of every variant are interleaved, and each ratio is the median of the per-round
//! ratios. The medians are printed.
//!
//! ```text
//! cargo bench -p cortex-auth-bench --bench jwt_time [-- --rounds 15 --seconds 0.2]
//! ```
#![allow(missing_docs)]

use cortex_auth_bench::{BODY, Key, Variant, issue, jwt, thread_cpu};
use http_body_util::BodyExt;
use std::hint::black_box;
use tower::ServiceExt;

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

/// How many calls of `f` take `seconds` of CPU (the thread's CPU clock ticks coarsely: a round
/// must last many ticks).
fn calls_in(seconds: f64, mut f: impl FnMut(usize)) -> usize {
    let start = thread_cpu();
    let mut calls = 0;
    while (thread_cpu() - start).as_secs_f64() < seconds {
        for _ in 0..100 {
            f(calls);
            calls += 1;
        }
    }
    calls
}

/// CPU µs per call of `f`, `n` calls.
fn per_call(n: usize, mut f: impl FnMut(usize)) -> f64 {
    let start = thread_cpu();
    for i in 0..n {
        f(i);
    }
    (thread_cpu() - start).as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let rounds = arg("--rounds", 15.0) as usize;
    let seconds = arg("--seconds", 0.2);
    println!(
        "machine: {} cores, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    for key in [Key::Hs256, Key::EdDsa] {
        let (jwt, token) = jwt(key);
        let n_repeated = calls_in(seconds, |_| {
            black_box(jwt.verify(black_box(&token)).unwrap());
        });
        let n_new = calls_in(seconds, |_| {
            black_box(jwt.verify(&issue(&jwt)).unwrap());
        }) * 2;
        let fresh: Vec<String> = (0..n_new).map(|_| issue(&jwt)).collect();
        let mut repeated = Vec::new();
        let mut new = Vec::new();
        for _ in 0..rounds {
            repeated.push(per_call(n_repeated, |_| {
                black_box(jwt.verify(black_box(&token)).unwrap());
            }));
            // Each token once per round, on a new `Jwt` of the same key: never seen before.
            let (jwt, _) = cortex_auth_bench::jwt(key);
            new.push(per_call(n_new, |i| {
                black_box(jwt.verify(black_box(&fresh[i])).unwrap());
            }));
        }
        println!(
            "verify {key:?}: {:.2} µs a token seen before, {:.2} µs a new token",
            median(repeated),
            median(new)
        );
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let serve = |router: &cortex_core::axum::Router, requests: Vec<http::Request<_>>| {
        runtime.block_on(async {
            for request in requests {
                let response = router.clone().oneshot(request).await.unwrap();
                assert_eq!(response.status(), 200);
                let body = response.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(body, BODY);
            }
        })
    };
    // Each variant's app, and how many requests make a round (counted while warming up).
    let apps: Vec<_> = Variant::ALL
        .iter()
        .map(|&variant| {
            let (router, request) = runtime.block_on(variant.app());
            let n = calls_in(seconds, |_| serve(&router, vec![request()]));
            (variant, router, request, n)
        })
        .collect();
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); apps.len()];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); apps.len()];
    let base = Variant::ALL
        .iter()
        .position(|v| *v == Variant::Unauthenticated)
        .expect("the unauthenticated variant");
    for _ in 0..rounds {
        let this_round: Vec<f64> = apps
            .iter()
            .map(|(_, router, request, n)| {
                let requests: Vec<_> = (0..*n).map(|_| request()).collect();
                let start = thread_cpu();
                serve(router, requests);
                (thread_cpu() - start).as_secs_f64() * 1e6 / *n as f64
            })
            .collect();
        for (i, us) in this_round.iter().enumerate() {
            cpu[i].push(*us);
            // Throughput on one core is 1 / CPU time per request.
            ratios[i].push(this_round[base] / us);
        }
    }
    for (i, (variant, ..)) in apps.iter().enumerate() {
        let us = median(cpu[i].clone());
        println!(
            "request {:22} {us:7.2} µs CPU  throughput {:5.2}x the unauthenticated route  {:>8.0} requests/s on one core",
            variant.name(),
            median(ratios[i].clone()),
            1e6 / us
        );
    }
}
