//! Running the `cortex` binary from tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `cortex` binary under test, with colours off and no inherited `CORTEX_*` settings.
pub fn cortex() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cortex"));
    command.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CORTEX_") {
            command.env_remove(key);
        }
    }
    command
}

/// Runs `cortex ARGS` in `dir` and returns what it printed and its status.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    cortex()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the cortex binary runs")
}

/// stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the command failed with `code`, printing one `error:` line (and, when given, a hint
/// line containing `hint`), and no panic or backtrace; returns stderr.
#[track_caller]
pub fn assert_error(output: &Output, code: i32, message: &str, hint: Option<&str>) -> String {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(code), "stderr:\n{err}");
    assert!(!err.contains("panicked"), "a panic:\n{err}");
    assert!(!err.contains("stack backtrace"), "a backtrace:\n{err}");
    let first = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no `error:` line in:\n{err}"));
    assert!(first.contains(message), "expected `{message}` in `{first}`");
    if let Some(hint) = hint {
        let line = err
            .lines()
            .find(|l| l.trim_start().starts_with("hint:"))
            .unwrap_or_else(|| panic!("no `hint:` line in:\n{err}"));
        assert!(line.contains(hint), "expected `{hint}` in `{line}`");
    }
    err
}

/// Like `support::assert_error`, for commands whose stderr carries other programs' output (the
/// compiler's or the app's `error:` lines, a failing test's panic): the CLI's own error is the
/// last `error:` line, followed by its hint, and the CLI did not panic. Returns stderr.
#[track_caller]
pub fn assert_last_error(output: &Output, code: i32, message: &str, hint: &str) -> String {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(code), "stderr:\n{err}");
    assert!(
        !err.contains("thread 'main' panicked"),
        "the CLI panicked:\n{err}"
    );
    let lines: Vec<&str> = err.lines().collect();
    let last = lines
        .iter()
        .rposition(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no `error:` line in:\n{err}"));
    assert!(
        lines[last].contains(message),
        "expected `{message}` in `{}`",
        lines[last]
    );
    let hint_line = lines.get(last + 1).copied().unwrap_or_default();
    assert!(
        hint_line.trim_start().starts_with("hint:") && hint_line.contains(hint),
        "expected the hint `{hint}` after the error in:\n{err}"
    );
    err
}

/// The workspace's root folder.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cortex-cli is in the workspace")
        .canonicalize()
        .expect("the workspace's folder exists")
}

/// A copy of `examples/hello` named `name`, depending on this checkout's `cortex` by absolute path,
/// its own workspace with the checkout's `Cargo.lock` and profiles, so that it builds into the
/// workspace's target directory (where `cortex-cli` finds it) from the dependencies already there.
pub fn hello_fixture(name: &str) -> tempfile::TempDir {
    let root = workspace();
    let dir = tempfile::tempdir().unwrap();
    let hello = root.join("examples/hello");
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    for file in [
        "src/lib.rs",
        "src/main.rs",
        "cortex.toml",
        "cortex.test.toml",
    ] {
        std::fs::copy(hello.join(file), dir.path().join(file)).unwrap();
    }
    let workspace_manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let profiles = &workspace_manifest[workspace_manifest
        .find("[profile.dev]")
        .expect("the workspace sets [profile.dev]")..];
    let manifest = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
name = "hello"
test = false
doctest = false

[[bin]]
name = "{name}"
path = "src/main.rs"
test = false

[dependencies]
cortex = {{ path = {cortex:?} }}
serde = {{ version = "1", features = ["derive"] }}

[workspace]

{profiles}"#,
        cortex = root.join("cortex").display().to_string(),
    );
    std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    dir
}

/// A crate with no dependencies: `files` are (path, contents); its target directory is its own.
pub fn tiny_crate(name: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n"
        ),
    )
    .unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}
