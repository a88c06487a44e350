use std::cell::Cell;

use cortex_di::provider;

#[provider]
fn counter() -> Cell<u32> {
    Cell::new(0)
}

fn main() {}
