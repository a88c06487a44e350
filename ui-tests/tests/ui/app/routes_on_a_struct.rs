use cortex::prelude::*;

#[routes]
struct UserController;

fn main() {}
