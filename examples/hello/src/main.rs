//! `hello`: serves the controller of `src/lib.rs` on `[server] host:port` from `cortex.toml`
//! (`CORTEX_PORT=8080` overrides the port) until SIGTERM or Ctrl-C, then drains and exits.

use cortex::prelude::*;
// Links the library in, so that `discover()` finds its controller and service.
use hello as _;

#[cortex::main]
async fn main() -> cortex::Result {
    App::from_config()?.discover().run().await
}
