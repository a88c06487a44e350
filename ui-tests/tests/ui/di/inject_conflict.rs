use cortex_di::injectable;

#[injectable]
struct Server {
    #[inject(default, value = 8080)]
    port: u16,
}

fn main() {}
