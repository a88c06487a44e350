use cortex_di::provider;

#[provider]
fn start_server() {}

fn main() {}
