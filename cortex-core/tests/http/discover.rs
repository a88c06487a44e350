//! `App::discover` in a binary that declares components: it finds them, and warns about nothing
//! (`tests/nothing_discovered.rs` has the binary without any).

use cortex_core::App;
use cortex_core::testing::CapturedLogs;

#[test]
fn discover_finds_the_linked_components_without_a_warning() {
    let logs = CapturedLogs::new();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let app = tracing::subscriber::with_default(subscriber, || App::new().discover());
    let text = logs.text();
    assert!(!text.contains("found nothing"), "{text}");
    assert!(!format!("{app:?}").contains("controllers: []"), "{app:?}");
}
