//! `todo`: serves the controllers of `src/lib.rs` on `[server] host:port` from `cortex.toml`
//! (`CORTEX_PORT=8080` overrides the port) until SIGTERM or Ctrl-C, then drains in-flight requests
//! (up to `server.drain_timeout`) and exits.

use cortex::prelude::*;
// Links the library in, so that `discover()` finds its controllers and services.
use todo as _;

#[cortex::main]
async fn main() -> cortex::Result {
    App::from_config()?.discover().run().await
}
