//! `#[cortex::main]` on an `async fn main()` that returns nothing.
// A program, not a library: its items need no docs.
#![allow(missing_docs, unreachable_pub)]
#[cortex::main]
async fn main() {
    let answer = async { 42 }.await;
    assert_eq!(answer, 42);
}

// Built as an example with `test = true` (see Cargo.toml), so that this runs under the test
// runner: the program's `main`, which must succeed.
#[test]
fn runs() {
    assert_eq!(main(), std::process::ExitCode::SUCCESS);
}
