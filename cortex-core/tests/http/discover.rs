//! `App::discover` in a binary that declares components: it finds them, and warns about nothing
//! (`tests/nothing_discovered.rs` has the binary without any).

use std::io::Write;
use std::sync::{Arc, Mutex};

use cortex_core::App;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn discover_finds_the_linked_components_without_a_warning() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let app = tracing::subscriber::with_default(subscriber, || App::new().discover());
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(!text.contains("found nothing"), "{text}");
    assert!(!format!("{app:?}").contains("controllers: []"), "{app:?}");
}
