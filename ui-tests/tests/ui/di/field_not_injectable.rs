use cortex_di::{Inject, injectable};

struct Config;

#[injectable]
struct Repo;

#[injectable]
struct Service {
    repo: Inject<Repo>,
    config: Config,
}

fn main() {}
