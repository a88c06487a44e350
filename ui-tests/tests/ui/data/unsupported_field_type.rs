use cortex_data::Model;

struct Money(i64);

#[derive(Model)]
struct Invoice {
    id: i64,
    total: Money,
}

fn main() {}
