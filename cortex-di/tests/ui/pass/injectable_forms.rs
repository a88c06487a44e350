//! Every field form and option of `#[injectable]`, with warnings denied: the expansion itself
//! must not warn.
#![deny(warnings)]
#![forbid(unsafe_code)]
// A program, not a library: its items need no docs.
#![allow(missing_docs, unreachable_pub)]

use cortex_di::{ContainerBuilder, Env, Inject, injectable};

pub trait Mailer: Send + Sync {
    fn name(&self) -> &'static str;
}

#[injectable(provides = dyn Mailer, name = "smtp", lazy)]
pub struct Smtp;

impl Mailer for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }
}

#[injectable(scope = "transient", profile = ["dev", "!prod"], profile = "test")]
pub struct Ticket {
    #[inject(value = 7)]
    pub number: u32,
}

fn always(_: &Env) -> bool {
    true
}

#[injectable(scope = "request", when = always)]
pub struct Audit {
    pub ticket: Inject<Ticket>,
}

#[injectable(scope = "request", when = |env| !env.is_active("prod"), crate = "::cortex_di")]
pub struct Service {
    #[inject(name = "smtp")]
    pub mailer: cortex_di::Inject<dyn Mailer>,
    pub optional: Option<Inject<Audit>>,
    #[inject(default)]
    pub hits: Vec<u64>,
    #[inject(config = "service.title")]
    pub title: String,
    #[inject(value = 1 + 1)]
    pub r#type: u8,
}

// Other attribute macros and derives stay on the struct.
#[allow(unused_attributes)]
#[derive(Debug)]
#[injectable]
pub struct Unit;

fn main() {
    let graph = ContainerBuilder::new()
        .profile("dev")
        .config(serde_json::json!({ "service": { "title": "t" } }))
        .discover()
        .validate()
        .unwrap();
    assert_eq!(graph.providers.len(), 7);
}

// Built as an example with `test = true` (see Cargo.toml), so that this runs under the test
// runner: the program's `main`.
#[test]
fn runs() {
    main();
}
