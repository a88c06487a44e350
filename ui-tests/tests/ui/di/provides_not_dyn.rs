use cortex_di::injectable;

trait Mailer: Send + Sync {}

#[injectable(provides = Mailer)]
struct Smtp;

impl Mailer for Smtp {}

fn main() {}
