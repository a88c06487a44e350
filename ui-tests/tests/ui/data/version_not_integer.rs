use cortex_data::Model;

#[derive(Model)]
struct Post {
    id: i64,
    #[model(version)]
    revision: String,
}

fn main() {}
