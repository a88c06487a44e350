use cortex_data::{Model, Query};

#[derive(Model)]
struct Post {
    id: i64,
    title: String,
}

fn main() {
    // a column the model does not have is a compile error, not a runtime one
    let _: Query<Post> = Query::new().filter(Post::TITEL.eq("Hello"));
}
