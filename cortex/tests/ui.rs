//! Compile-fail and compile-pass cases for `#[controller]`, `#[routes]` and `#[cortex::main]`,
//! written the way an application uses them: through `use cortex::prelude::*;`.
//!
//! The `.stderr` files were written for the pinned toolchain (rustc 1.95); regenerate them with
//! `TRYBUILD=overwrite cargo test -p cortex --test ui` and read every one before committing.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
