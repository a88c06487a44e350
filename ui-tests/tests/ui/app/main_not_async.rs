#[cortex::main]
fn main() -> cortex::Result<()> {
    Ok(())
}
