use cortex_di::{Inject, injectable};

struct Config;
struct Cache;

#[injectable]
struct Repo;

#[injectable(scope = "singletons", profile = "dev, test")]
struct Service {
    repo: Inject<Repo>,
    config: Config,
    #[inject(name = "main", default)]
    cache: Option<Inject<Cache>>,
    port: std::sync::Arc<u16>,
}

fn main() {}
