//! `blog`: serves the controllers of `src/lib.rs` on `[server] host:port` from `cortex.toml`, on
//! the database `[database] url` (or `DATABASE_URL`) names, migrated at start.

use cortex::prelude::*;

// No `use blog as _;`: `#[cortex::main]` links the package's library, whose controllers, models
// and migrations `discover()` finds.

#[cortex::main]
async fn main() -> cortex::Result {
    App::from_config()?.discover().run().await
}
