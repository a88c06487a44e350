use cortex_di::injectable;

#[injectable]
enum Mode {
    Fast,
    Safe,
}

fn main() {}
