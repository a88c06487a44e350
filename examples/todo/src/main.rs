//! `todo`: serves the controllers of `src/lib.rs` on `[server] host:port` from `cortex.toml`
//! (`CORTEX_PORT=8080` overrides the port) until SIGTERM or Ctrl-C, then drains in-flight requests
//! (up to `server.drain_timeout`) and exits.

use cortex::prelude::*;

// No `use todo as _;`: `#[cortex::main]` links the package's library, whose controllers and
// services `discover()` finds.

#[cortex::main]
async fn main() -> cortex::Result {
    App::from_config()?.discover().run().await
}
