use cortex_data::Model;

#[derive(Model)]
#[model(tabel = "posts")]
struct Post {
    id: i64,
    #[model(colum = "headline")]
    title: String,
}

fn main() {}
