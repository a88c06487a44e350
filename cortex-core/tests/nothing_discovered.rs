//! A binary that links no component at all: `App::discover` warns, with the fix. A test binary of
//! its own, because every other one declares components (`tests/http/discover.rs` checks that
//! those see no warning).

use cortex_core::App;
use cortex_core::testing::CapturedLogs;

#[test]
fn discover_warns_when_the_binary_links_no_component_and_names_the_fix() {
    let logs = CapturedLogs::new();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let app = tracing::subscriber::with_default(subscriber, || App::new().discover().discover());
    let text = logs.text();
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning, even when called twice:\n{text}"
    );
    for part in [
        "discover() found nothing: no #[injectable], #[provider] or #[controller] is linked into this binary",
        "#[cortex::main] names its package's own library (src/lib.rs)",
        "write `use that_crate as _;`",
    ] {
        assert!(warnings[0].contains(part), "{part:?} in:\n{text}");
    }
    assert!(format!("{app:?}").contains("controllers: []"), "{app:?}");
}

/// The framework's own crates submit nothing to the link-time registries: a component submitted
/// there would land in every app that links the crate (and fail where its configuration section is
/// absent), so a capability registers its components through its plugin instead.
#[test]
fn the_framework_crates_submit_no_component_and_no_plugin() {
    assert_eq!(cortex_di::registrations().count(), 0);
    assert_eq!(cortex_core::routing::registrations().count(), 0);
    assert!(cortex_core::plugin::registrations().is_empty());
}
