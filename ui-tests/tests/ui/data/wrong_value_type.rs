use cortex_data::{Model, Query};

#[derive(Model)]
struct Post {
    id: i64,
    published: bool,
}

fn main() {
    // a value of another type than the column's is a compile error
    let _: Query<Post> = Query::new().filter(Post::PUBLISHED.eq("yes"));
}
