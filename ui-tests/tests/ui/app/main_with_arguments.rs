#[cortex::main]
async fn main(args: Vec<String>) -> cortex::Result<()> {
    let _ = args;
    Ok(())
}
