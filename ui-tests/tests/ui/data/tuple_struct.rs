use cortex_data::Model;

#[derive(Model)]
struct Post(i64, String);

fn main() {}
