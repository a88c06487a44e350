//! Compile-fail cases for `#[injectable]` and `#[provider]`.
//!
//! The `.stderr` files were written for the pinned toolchain (rustc 1.95); regenerate them with
//! `TRYBUILD=overwrite cargo test -p cortex-di --test ui` and read every one before committing.
//!
//! The compile-pass cases in `tests/ui/pass/` are examples of this crate (see Cargo.toml), built and
//! run as ordinary tests: with no pass case here, trybuild only has to `cargo check`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
}
