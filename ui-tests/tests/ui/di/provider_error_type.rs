use cortex_di::provider;

struct Client;

#[provider]
fn client() -> Result<Client, ()> {
    Ok(Client)
}

fn main() {}
