//! The runtime reached through a re-export, as apps on the `cortex` facade do
//! (`pub use cortex_di as di;`), named with the `crate` option.
#![deny(warnings)]
// A program, not a library: its items need no docs.
#![allow(missing_docs, unreachable_pub)]

mod facade {
    pub use cortex_di as di;
}

use facade::di::{ContainerBuilder, Inject, injectable, provider};

#[injectable(crate = "crate::facade::di")]
pub struct Clock;

pub struct Alarm {
    pub clock: Inject<Clock>,
}

#[provider(crate = crate::facade::di)]
pub fn alarm(clock: Inject<Clock>) -> Alarm {
    Alarm { clock }
}

fn main() {
    let mut builder = ContainerBuilder::new();
    builder.discover();
    let names: Vec<&str> = facade::di::registrations().map(|r| r.name()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let graph = builder.validate().unwrap();
    assert_eq!(graph.providers.len(), 2);
}

// Built as an example with `test = true` (see Cargo.toml), so that this runs under the test
// runner: the program's `main`.
#[test]
fn runs() {
    main();
}
