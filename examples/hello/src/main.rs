//! `hello`: serves the controller of `src/lib.rs` on `[server] host:port` from `cortex.toml`
//! (`CORTEX_PORT=8080` overrides the port) until SIGTERM or Ctrl-C, then drains and exits. With
//! `CORTEX_TASK=greet` (what `cortex run greet` sets) it runs the `greet` task instead.

use cortex::prelude::*;

// No `use hello as _;`: `#[cortex::main]` links the package's library, whose controller and service
// `discover()` finds (tests/hello.rs runs this binary and asks its routes).

#[cortex::main]
async fn main() -> cortex::Result {
    App::from_config()?
        .discover()
        .task("greet", hello::greet)
        .run()
        .await
}
