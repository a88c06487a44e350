use cortex_data::Model;

#[derive(Model)]
enum Post {
    Draft,
    Published,
}

fn main() {}
