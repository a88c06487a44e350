#[cortex::main]
async fn main() {
    let answer = async { 42 }.await;
    assert_eq!(answer, 42);
}
