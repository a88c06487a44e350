use cortex_di::injectable;

#[injectable(discover = "no")]
struct Audit;

#[injectable(discover)]
struct Ledger;

fn main() {}
