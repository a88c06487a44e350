//! Bare axum as its guide starts it (`#[tokio::main]`, `axum::serve`), serving the benchmarks'
//! `GET /json` on `127.0.0.1:$PORT` (default 3001) until killed: the baseline of
//! `scripts/bench --http --rss`, which compares its idle memory with `examples/hello`'s. The
//! router is written out here rather than taken from the benchmark's library, so that no Cortex
//! code is linked in (axum is reached through `cortex::axum`, a plain re-export).
#![allow(missing_docs)]

use cortex::axum::{self, Router, routing::get};
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

async fn json() -> axum::Json<Message> {
    axum::Json(Message {
        message: "Hello, World!",
    })
}

#[tokio::main]
async fn main() {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3001);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind 127.0.0.1:$PORT");
    let router = Router::new().route("/json", get(json));
    axum::serve(listener, router).await.expect("axum serves");
}
