use cortex::prelude::*;
use serde::Deserialize;

// Arguments: the attribute reads the fields' rules and takes none.
#[schema_rules(strict)]
#[derive(Deserialize, ToSchema)]
struct WithArguments {
    title: String,
}

// Not a struct.
#[schema_rules]
#[derive(Deserialize, ToSchema)]
enum Status {
    Open,
    Done,
}

// No schema to put the rules in.
#[schema_rules]
#[derive(Deserialize)]
struct NoSchema {
    qty: u32,
}

fn main() {}
