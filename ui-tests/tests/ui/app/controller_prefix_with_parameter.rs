use cortex::prelude::*;

#[controller("/users/{id}")]
struct UserController;

fn main() {}
