cortex_data_macros::app_migrations!("migrations", seed = "seeds");

fn main() {}
