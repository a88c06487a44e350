//! `shop`: serves the controllers of `src/lib.rs` on `[server] host:port` from `cortex.toml`, and
//! runs its event handlers; on the database `[database] url` (or `DATABASE_URL`) names, migrated
//! at start. `CORTEX_PROFILE=redis` runs it as one of several instances (`cortex.redis.toml`).

use cortex::prelude::*;

// No `use shop as _;`: `#[cortex::main]` links the package's library, whose controllers, event
// handlers, models and migrations `discover()` finds.

#[cortex::main]
async fn main() -> cortex::Result {
    App::from_config()?.discover().run().await
}
