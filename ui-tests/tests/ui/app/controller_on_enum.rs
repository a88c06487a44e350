use cortex::prelude::*;

#[controller("/users")]
enum UserController {
    Admin,
}

fn main() {}
