use cortex::prelude::*;

#[controller("users")]
struct UserController;

fn main() {}
