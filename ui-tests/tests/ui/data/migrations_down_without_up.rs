// The folder is relative to the crate's Cargo.toml: trybuild's scratch crate is in
// target/tests/trybuild/cortex-ui-tests/, four levels under the workspace.
static MIGRATIONS: () = cortex_data_macros::migrations!("../../../../ui-tests/tests/ui/data/migrations/down_without_up");

fn main() {}
