use cortex_di::injectable;

#[injectable(scope = "session")]
struct Cart;

fn main() {}
