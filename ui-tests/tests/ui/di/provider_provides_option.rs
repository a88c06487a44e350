use cortex_di::provider;

trait Mailer: Send + Sync {}
struct Smtp;
impl Mailer for Smtp {}

#[provider(provides = dyn Mailer)]
fn mailer() -> Smtp {
    Smtp
}

fn main() {}
