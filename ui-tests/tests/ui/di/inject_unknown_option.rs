use cortex_di::injectable;

#[injectable]
struct Server {
    #[inject(defualt)]
    retries: u32,
}

fn main() {}
