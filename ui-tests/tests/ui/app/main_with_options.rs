#[cortex::main(flavor = "current_thread")]
async fn main() -> cortex::Result<()> {
    Ok(())
}
