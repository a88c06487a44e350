use cortex::prelude::*;

trait Listing {
    fn list(&self) -> &'static str;
}

#[controller("/users")]
struct UserController;

#[routes]
impl Listing for UserController {
    fn list(&self) -> &'static str {
        "all"
    }
}

fn main() {}
