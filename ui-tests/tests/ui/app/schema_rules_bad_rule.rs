use cortex::prelude::*;
use serde::Deserialize;
use validator::Validate;

#[schema_rules]
#[derive(Deserialize, Validate, ToSchema)]
struct NewOrder {
    // No value can pass: the schema would be unsatisfiable.
    #[validate(length(min = 50, max = 1))]
    title: String,
    // A string where validator and the schema need a number.
    #[validate(range(min = 1, max = "1000"))]
    qty: u32,
}

fn main() {}
