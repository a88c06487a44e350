use cortex::prelude::*;

#[controller("/users", scope = "request")]
struct UserController;

fn main() {}
