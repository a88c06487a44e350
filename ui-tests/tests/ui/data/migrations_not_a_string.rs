static MIGRATIONS: () = cortex_data_macros::migrations!(migrations);

fn main() {}
