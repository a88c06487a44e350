use std::rc::Rc;

use cortex_di::{Inject, injectable};

#[injectable]
struct Session {
    user: Inject<Rc<String>>,
}

fn main() {}
