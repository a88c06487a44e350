use cortex::prelude::*;

struct AdminOnly;

#[controller("/admin")]
#[public]
#[guard(AdminOnly)]
struct AdminController;

fn main() {}
