use cortex_di::injectable;

#[injectable]
struct Server {
    #[inject(name = "http")]
    port: u16,
}

fn main() {}
