//! CPU time per JWT verification and per request, single-threaded (wall clock on one thread is
//! its CPU time): `Jwt::verify` alone, and `GET` through the app to a route that verifies the
//! bearer token against an unauthenticated route, for HS256 and EdDSA. The median of 15 rounds.
//!
//! ```text
//! cargo bench -p cortex-auth-bench --bench jwt_time
//! ```
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use cortex_auth_bench::{Key, jwt, private_request, public_request, router};
use http_body_util::BodyExt;
use tower::ServiceExt;

const ROUNDS: usize = 15;

fn median(mut samples: Vec<Duration>, per: u32) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e6 / f64::from(per)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for key in [Key::Hs256, Key::EdDsa] {
        let (jwt, token) = jwt(key);
        let n = 20_000u32;
        let rounds = (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(jwt.verify(black_box(&token)).unwrap());
                }
                start.elapsed()
            })
            .collect();
        println!("Jwt::verify {key:?}: {:.2} µs", median(rounds, n));

        let (app, token) = runtime.block_on(router(key));
        let n = 5_000u32;
        for (name, private) in [("unauthenticated route", false), ("bearer route", true)] {
            let rounds = (0..ROUNDS)
                .map(|_| {
                    let requests: Vec<_> = (0..n)
                        .map(|_| {
                            if private {
                                private_request(&token)
                            } else {
                                public_request()
                            }
                        })
                        .collect();
                    let start = Instant::now();
                    runtime.block_on(async {
                        for request in requests {
                            let response = app.clone().oneshot(request).await.unwrap();
                            assert_eq!(response.status(), 200);
                            black_box(response.into_body().collect().await.unwrap());
                        }
                    });
                    start.elapsed()
                })
                .collect();
            println!(
                "GET {name} ({key:?} app): {:.2} µs per request",
                median(rounds, n)
            );
        }
    }
}
