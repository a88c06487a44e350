use cortex_data::Model;

#[derive(Model)]
struct Post {
    title: String,
}

fn main() {}
