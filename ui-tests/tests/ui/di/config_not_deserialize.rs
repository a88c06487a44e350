use cortex_di::injectable;

struct Port(u16);

#[injectable]
struct Server {
    #[inject(config = "server.port")]
    port: Port,
}

fn main() {}
