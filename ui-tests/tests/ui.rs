//! Compile-fail cases of every Cortex macro, in one trybuild run (one scratch project, one
//! `cargo check`):
//!
//! - `tests/ui/di/`: `#[injectable]` and `#[provider]`, used through `cortex_di`;
//! - `tests/ui/app/`: `#[controller]`, `#[routes]` and `#[cortex::main]`, written the way an
//!   application uses them: through `use cortex::prelude::*;`;
//! - `tests/ui/data/migrations_*.rs`: `migrations!()` and `app_migrations!()`, on the folders of
//!   `tests/ui/data/migrations/` (named relative to trybuild's scratch crate, which sits in
//!   `target/tests/trybuild/cortex-ui-tests/`: with a `CARGO_TARGET_DIR` elsewhere, those cases
//!   name a folder that does not exist).
//! - `tests/ui/data/`: `#[derive(Model)]` and the typed columns, through `cortex_data`.
//! - `tests/ui/events/`: `#[derive(Event)]`, `#[event_handler]` and `#[event_handlers]`, through
//!   `use cortex::prelude::*;` (the facade's `events` feature).
//!
//! Each case must fail with a `compile_error!` (or a rustc error) pointing at the offending span.
//! The `.stderr` files were written for the pinned toolchain (rustc 1.95); regenerate them with
//! `TRYBUILD=overwrite cargo test -p cortex-ui-tests --test ui` and read every one before
//! committing.
//!
//! The compile-pass cases are examples of `cortex` and `cortex-di` (`tests/ui/pass/` in those
//! crates, `test = true` in their Cargo.toml), built with the workspace and run as tests: a pass
//! case here would make trybuild build (not just check) every dependency.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/di/*.rs");
    cases.compile_fail("tests/ui/app/*.rs");
    cases.compile_fail("tests/ui/data/*.rs");
    cases.compile_fail("tests/ui/events/*.rs");
}
