//! Instructions per request, in process, under callgrind (gungraun): `GET` through the real
//! authentication layer to a route guarded by `Authenticated` and one guarded by
//! `Role("admin")` with a bearer JWT (HS256 and EdDSA; the same token every time, and a new one
//! every time), against the unauthenticated route of the same app and the same route in an app
//! without the `AuthPlugin`; and `Jwt::verify` alone. Same run, same binary.
//!
//! Each benchmark sends [`N`] requests (or verifies [`N`] tokens); divide by it for one. The
//! setup (not counted) builds the app and the requests and sends 100 requests first.
//!
//! ```text
//! cargo install gungraun-runner --version 0.20.0   # or scripts/bench --auth
//! cargo bench -p cortex-auth-bench --bench jwt_instructions
//! ```
#![allow(missing_docs)]

use std::hint::black_box;

use cortex_auth::Jwt;
use cortex_auth_bench::{BODY, Key, Variant, issue, jwt};
use cortex_core::axum::Router;
use cortex_core::axum::body::Body;
use gungraun::{library_benchmark, library_benchmark_group, main};
use http::Request;
use http_body_util::BodyExt;
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// Verifications or requests per benchmark.
const N: usize = 1_000;

/// A `Jwt` and the tokens to verify: the same one `N` times (`fresh = false`, seen once in the
/// setup), or `N` tokens it never saw.
fn verify_fixture((key, fresh): (Key, bool)) -> (Jwt, Vec<String>) {
    let (jwt, token) = jwt(key);
    if fresh {
        let tokens = (0..N).map(|_| issue(&jwt)).collect();
        // A new service of the same key: nothing verified yet.
        (cortex_auth_bench::jwt(key).0, tokens)
    } else {
        black_box(jwt.verify(&token).unwrap());
        (jwt, vec![token; N])
    }
}

#[library_benchmark]
#[bench::hs256_repeated(args = ((Key::Hs256, false)), setup = verify_fixture)]
#[bench::hs256_new(args = ((Key::Hs256, true)), setup = verify_fixture)]
#[bench::eddsa_repeated(args = ((Key::EdDsa, false)), setup = verify_fixture)]
#[bench::eddsa_new(args = ((Key::EdDsa, true)), setup = verify_fixture)]
fn verify_x1000((jwt, tokens): (Jwt, Vec<String>)) {
    for token in &tokens {
        black_box(jwt.verify(black_box(token)).unwrap());
    }
}

struct Fixture {
    runtime: Runtime,
    router: Router,
    requests: Vec<Request<Body>>,
}

fn request_fixture(variant: Variant) -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (router, request) = runtime.block_on(variant.app());
    runtime.block_on(serve(&router, (0..100).map(|_| request()).collect()));
    Fixture {
        runtime,
        router,
        requests: (0..N).map(|_| request()).collect(),
    }
}

async fn serve(router: &Router, requests: Vec<Request<Body>>) {
    for request in requests {
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, BODY);
        black_box(body);
    }
}

#[library_benchmark]
#[bench::no_plugin(args = (Variant::NoPlugin), setup = request_fixture)]
#[bench::unauthenticated(args = (Variant::Unauthenticated), setup = request_fixture)]
#[bench::authenticated_hs256(args = (Variant::Authenticated(Key::Hs256)), setup = request_fixture)]
#[bench::admin_hs256(args = (Variant::Admin(Key::Hs256)), setup = request_fixture)]
#[bench::fresh_token_hs256(args = (Variant::FreshToken(Key::Hs256)), setup = request_fixture)]
#[bench::authenticated_eddsa(args = (Variant::Authenticated(Key::EdDsa)), setup = request_fixture)]
#[bench::admin_eddsa(args = (Variant::Admin(Key::EdDsa)), setup = request_fixture)]
#[bench::fresh_token_eddsa(args = (Variant::FreshToken(Key::EdDsa)), setup = request_fixture)]
fn request_x1000(mut f: Fixture) -> Fixture {
    let requests = std::mem::take(&mut f.requests);
    f.runtime.block_on(serve(black_box(&f.router), requests));
    f
}

library_benchmark_group!(name = auth, benchmarks = [verify_x1000, request_x1000]);

main!(library_benchmark_groups = auth);
