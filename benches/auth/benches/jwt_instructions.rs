//! Instructions per JWT verification and per request, in-process, under callgrind (gungraun):
//! `Jwt::verify` alone, and `GET` to a route that verifies the bearer token against an
//! unauthenticated route of the same app, for HS256 and EdDSA, in the same run.
//!
//! Each benchmark verifies [`N`] tokens or sends [`N`] requests; divide by it for one.
//!
//! ```text
//! cargo install gungraun-runner --version 0.20.0
//! cargo bench -p cortex-auth-bench --bench jwt_instructions
//! ```
#![allow(missing_docs)]

use std::hint::black_box;

use cortex_auth::Jwt;
use cortex_auth_bench::{Key, jwt, private_request, public_request, router};
use cortex_core::axum::Router;
use cortex_core::axum::body::Body;
use gungraun::{library_benchmark, library_benchmark_group, main};
use http::Request;
use http_body_util::BodyExt;
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// Verifications or requests per benchmark.
const N: usize = 1_000;

fn verify_fixture(key: Key) -> (Jwt, String) {
    let (jwt, token) = jwt(key);
    black_box(jwt.verify(&token).unwrap());
    (jwt, token)
}

#[library_benchmark]
#[bench::hs256(args = (Key::Hs256), setup = verify_fixture)]
#[bench::eddsa(args = (Key::EdDsa), setup = verify_fixture)]
fn verify_x1000((jwt, token): (Jwt, String)) {
    for _ in 0..N {
        black_box(jwt.verify(black_box(&token)).unwrap());
    }
}

struct Fixture {
    runtime: Runtime,
    router: Router,
    requests: Vec<Request<Body>>,
}

fn request_fixture((key, private): (Key, bool)) -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (router, token) = runtime.block_on(router(key));
    let make = || {
        if private {
            private_request(&token)
        } else {
            public_request()
        }
    };
    runtime.block_on(serve(&router, (0..100).map(|_| make()).collect()));
    Fixture {
        runtime,
        router,
        requests: (0..N).map(|_| make()).collect(),
    }
}

async fn serve(router: &Router, requests: Vec<Request<Body>>) {
    for request in requests {
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        black_box(response.into_body().collect().await.unwrap());
    }
}

#[library_benchmark]
#[bench::unauthenticated(args = ((Key::Hs256, false)), setup = request_fixture)]
#[bench::bearer_hs256(args = ((Key::Hs256, true)), setup = request_fixture)]
#[bench::bearer_eddsa(args = ((Key::EdDsa, true)), setup = request_fixture)]
fn request_x1000(mut f: Fixture) -> Fixture {
    let requests = std::mem::take(&mut f.requests);
    f.runtime.block_on(serve(black_box(&f.router), requests));
    f
}

library_benchmark_group!(name = jwt, benchmarks = [verify_x1000, request_x1000]);

main!(library_benchmark_groups = jwt);
