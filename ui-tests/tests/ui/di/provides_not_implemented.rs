use cortex_di::injectable;

trait Mailer: Send + Sync {}

#[injectable(provides = dyn Mailer)]
struct Smtp;

fn main() {}
