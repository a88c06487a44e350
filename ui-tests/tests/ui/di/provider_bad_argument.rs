use cortex_di::provider;

struct Config;
struct Client;

#[provider]
fn client(config: &Config) -> Client {
    let _ = config;
    Client
}

fn main() {}
