//! Every argument and return form of `#[provider]`, with warnings denied.
#![deny(warnings)]
#![forbid(unsafe_code)]
// A program, not a library: its items need no docs.
#![allow(missing_docs, unreachable_pub)]

use std::sync::Arc;

use cortex_di::{ContainerBuilder, Inject, provider};

pub trait Clock: Send + Sync {
    fn now(&self) -> u64;
}

struct Fixed(u64);

impl Clock for Fixed {
    fn now(&self) -> u64 {
        self.0
    }
}

pub struct Config {
    pub level: u32,
}

#[derive(Debug)]
pub struct Failure;

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failure")
    }
}

impl std::error::Error for Failure {}

#[provider]
pub fn config() -> Config {
    Config { level: 1 }
}

#[provider(name = "arc")]
pub fn arc_clock() -> Arc<dyn Clock> {
    Arc::new(Fixed(1))
}

#[provider(name = "inject")]
pub async fn inject_clock(config: Inject<Config>) -> Result<Inject<dyn Clock>, Failure> {
    Ok(Inject::from_arc(Arc::new(Fixed(u64::from(config.level)))))
}

#[provider(name = "boxed", scope = "transient")]
pub fn boxed_clock() -> std::io::Result<Box<dyn Clock>> {
    Ok(Box::new(Fixed(3)))
}

pub struct Report(pub Vec<u64>);

#[provider(scope = "request")]
pub async fn report(
    #[inject(name = "arc")] arc: Inject<dyn Clock>,
    #[inject(name = "inject")] inject: Option<Inject<dyn Clock>>,
    #[inject(name = "boxed")] boxed: Inject<dyn Clock>,
    #[inject(default)] mut extra: Vec<u64>,
    #[inject(value = 4)] four: u64,
    #[inject(config = "report.factor")] factor: u64,
) -> Report {
    extra.extend([
        arc.now(),
        inject.map_or(0, |c| c.now()),
        boxed.now(),
        four * factor,
    ]);
    Report(extra)
}

mod clients {
    use cortex_di::provider;

    pub struct Client;

    #[provider(lazy)]
    pub(crate) fn make_client() -> Client {
        Client
    }
}

fn main() {
    let graph = ContainerBuilder::new()
        .config(serde_json::json!({ "report": { "factor": 2 } }))
        .register::<config>()
        .register::<arc_clock>()
        .register::<inject_clock>()
        .register::<boxed_clock>()
        .register::<report>()
        .register::<clients::make_client>()
        .validate()
        .unwrap();
    assert_eq!(graph.providers.len(), 7);
    // The functions stay callable by hand.
    assert_eq!(config().level, 1);
    let _ = clients::make_client();
}

// Built as an example with `test = true` (see Cargo.toml), so that this runs under the test
// runner: the program's `main`.
#[test]
fn runs() {
    main();
}
