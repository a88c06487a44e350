//! Instructions per request, in-process, under callgrind (gungraun): one JSON endpoint as bare
//! axum, as a Cortex app with the full default middleware stack (without a subscriber, and as
//! scaffolded: with the one `#[cortex::main]` installs, with one do-nothing `App::layer`, and
//! observed: with one counting request observer), and with `HttpConfig::minimal()`, in the same run;
//! and issue 21's: scaffolded with the `ObservabilityPlugin` recording metrics
//! (`cortex_metrics`), exporting traces at 10% sampling to an OTLP receiver in the process
//! (`cortex_traced`), and both (`cortex_observed_all`).
//!
//! Each benchmark sends [`REQUESTS`] `GET /json` requests through `oneshot` on the router and
//! reads every body; divide by it for the cost of one request. The router, the runtime and the
//! requests are made by the `setup` function (not counted), which also warms the router up.
//! Profiles for `callgrind_annotate` land in
//! `target/gungraun/cortex-http-bench/instructions/json/<variant>/`.
//!
//! ```text
//! cargo install gungraun-runner --version 0.20.0   # or scripts/bench --http
//! cargo bench -p cortex-http-bench --bench instructions
//! ```
#![allow(missing_docs)]

use std::hint::black_box;

use cortex::axum::Router;
use cortex::axum::body::Body;
use cortex_http_bench::{BODY, Variant, request};
use gungraun::{library_benchmark, library_benchmark_group, main};
use http::Request;
use http_body_util::BodyExt;
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// Requests per benchmark.
const REQUESTS: usize = 1_000;

struct Fixture {
    metered: bool,
    runtime: Runtime,
    router: Router,
    requests: Vec<Request<Body>>,
}

fn fixture(variant: Variant) -> Fixture {
    // Process-wide, as `#[cortex::main]` installs it: each benchmark runs in a process of its own.
    // A traced variant's plugin adds its OpenTelemetry layer to the installed subscriber.
    if variant.traced() {
        cortex_http_bench::install_subscriber();
    } else if let Some(logging) = variant.logging() {
        tracing::dispatcher::set_global_default(logging).expect("the first subscriber");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let router = runtime.block_on(variant.router());
    // First requests pay for lazy statics, thread-locals and allocator pools: not counted.
    runtime.block_on(serve(&router, (0..100).map(|_| request()).collect()));
    if variant.metered() {
        cortex_http_bench::fold_metrics();
    }
    Fixture {
        metered: variant.metered(),
        runtime,
        router,
        requests: (0..REQUESTS).map(|_| request()).collect(),
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
#[bench::bare_axum(args = (Variant::BareAxum), setup = fixture)]
#[bench::cortex_full(args = (Variant::CortexFull), setup = fixture)]
#[bench::cortex_minimal(args = (Variant::CortexMinimal), setup = fixture)]
#[bench::cortex_scaffolded(args = (Variant::CortexScaffolded), setup = fixture)]
#[bench::cortex_layered(args = (Variant::CortexLayered), setup = fixture)]
#[bench::cortex_observed(args = (Variant::CortexObserved), setup = fixture)]
#[bench::cortex_metrics(args = (Variant::CortexMetrics), setup = fixture)]
#[bench::cortex_traced(args = (Variant::CortexTraced), setup = fixture)]
#[bench::cortex_observed_all(args = (Variant::CortexObservedAll), setup = fixture)]
fn json_x1000(mut f: Fixture) -> Fixture {
    let requests = std::mem::take(&mut f.requests);
    f.runtime.block_on(serve(black_box(&f.router), requests));
    // The registry's folding of the samples recorded (its upkeep thread's work): counted.
    if f.metered {
        cortex_http_bench::fold_metrics();
    }
    f
}

library_benchmark_group!(name = json, benchmarks = [json_x1000]);

main!(library_benchmark_groups = [json]);
