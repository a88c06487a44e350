//! Names the expansion uses internally (`builder`, `provider`, `resolver`) stay the user's.
#![deny(warnings)]
// A program, not a library: its items need no docs.
#![allow(missing_docs, unreachable_pub)]

use cortex_di::{Env, injectable, provider};

#[allow(non_upper_case_globals)]
const builder: u32 = 1;
#[allow(non_upper_case_globals)]
const resolver: u32 = 2;

fn provider(_: &Env) -> bool {
    true
}

#[injectable(when = provider)]
pub struct Settings {
    #[inject(value = builder + resolver)]
    pub total: u32,
}

pub struct Out(pub u32);

#[provider(when = provider)]
pub fn out(#[inject(value = builder)] value: u32) -> Out {
    Out(value)
}

fn main() {
    let graph = cortex_di::ContainerBuilder::new()
        .discover()
        .validate()
        .unwrap();
    assert_eq!(graph.providers.len(), 2);
}

// Built as an example with `test = true` (see Cargo.toml), so that this runs under the test
// runner: the program's `main`.
#[test]
fn runs() {
    main();
}
