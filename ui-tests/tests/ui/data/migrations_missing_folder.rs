static MIGRATIONS: () = cortex_data_macros::migrations!("migratons");

fn main() {}
