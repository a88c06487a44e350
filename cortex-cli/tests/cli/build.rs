//! `cortex build` and `cortex test`, on fixture apps in temporary folders: a copy of
//! `examples/hello` (built once, into the workspace's target directory) and tiny crates without
//! dependencies (their own target directory: they compile in a second).

use std::path::Path;
use std::process::Output;

use crate::support::{
    assert_error, assert_last_error, cortex, hello_fixture, stderr, stdout, tiny_crate, workspace,
};

/// `cortex ARGS --path DIR`, with the crate's own target directory unless it links to the checkout.
pub fn run_on(dir: &Path, args: &[&str], own_target: bool) -> Output {
    let mut command = cortex();
    command.args(args).arg("--path").arg(dir);
    if own_target {
        command.env("CARGO_TARGET_DIR", dir.join("target"));
    } else {
        command.env_remove("CARGO_TARGET_DIR");
    }
    command.output().expect("the cortex binary runs")
}

#[test]
fn builds_an_app_then_reports_its_compile_error() {
    let app = hello_fixture("cortex-cli-fixture-build");
    let output = run_on(app.path(), &["build"], false);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    let finished = err
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with("Finished cortex-cli-fixture-build in ")
        })
        .unwrap_or_else(|| panic!("no Finished line in:\n{err}"));
    let binary = workspace().join("target/debug/cortex-cli-fixture-build");
    assert!(
        finished.ends_with(&format!(": {}", binary.display())),
        "{finished}"
    );
    assert!(binary.is_file());

    // The built app answers inspection as a real process: routes from its library.
    let output = run_on(app.path(), &["routes", "--format", "json"], false);
    assert!(output.status.success(), "{}", stderr(&output));
    let routes: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(routes[0]["path"], "/", "{routes}");

    // A type error: the compiler's message, then one error line with a hint.
    let lib = app.path().join("src/lib.rs");
    let mut text = std::fs::read_to_string(&lib).unwrap();
    text.push_str("\npub fn broken() -> u32 {\n    \"not a number\"\n}\n");
    std::fs::write(&lib, text).unwrap();
    let output = run_on(app.path(), &["build"], false);
    let err = assert_last_error(
        &output,
        1,
        "the build of `cortex-cli-fixture-build` failed; the compiler's messages are above",
        "fix the first error",
    );
    assert!(err.contains("error[E0308]: mismatched types"), "{err}");
    assert!(err.contains("src/lib.rs"), "{err}");
    assert_eq!(stdout(&output), "");
}

#[test]
fn build_outside_an_app_is_an_error() {
    let empty = tempfile::tempdir().unwrap();
    let output = run_on(empty.path(), &["build"], true);
    assert_error(
        &output,
        1,
        "no Cortex app in",
        Some("run the command inside the app's folder"),
    );
    let output = run_on(&empty.path().join("missing"), &["build"], true);
    assert_error(&output, 1, "is not a folder", Some("--path"));
}

const PASSING: &str = "pub fn add(a: u32, b: u32) -> u32 { a + b }\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() { assert_eq!(super::add(2, 2), 4); }\n    #[test]\n    fn adds_zero() { assert_eq!(super::add(2, 0), 2); }\n}\n";

#[test]
fn test_runs_the_apps_tests_and_passes_arguments_on() {
    let app = tiny_crate("cortex-cli-fixture-tests", &[("src/lib.rs", PASSING)]);
    let output = run_on(app.path(), &["test"], true);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("Testing cortex-cli-fixture-tests with cargo"),
        "{err}"
    );
    let all = format!("{}{err}", stdout(&output));
    assert!(all.contains("adds_zero"), "{all}");

    // Arguments after `--` reach the runner: a filter that matches one test.
    let mut command = cortex();
    let output = command
        .args(["test", "--path"])
        .arg(app.path())
        .args(["--", "adds_zero"])
        .env("CARGO_TARGET_DIR", app.path().join("target"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert!(all.contains("adds_zero"), "{all}");
    assert!(
        !all.contains("tests::adds "),
        "the filter was not passed on:\n{all}"
    );
}

#[test]
fn failing_tests_fail_with_the_runners_status() {
    let failing = PASSING.replace("add(2, 0), 2", "add(2, 0), 3");
    let app = tiny_crate("cortex-cli-fixture-failing", &[("src/lib.rs", &failing)]);
    let output = run_on(app.path(), &["test"], true);
    let code = output.status.code().unwrap();
    assert!(code == 100 || code == 101, "the runner's status: {code}");
    let err = assert_last_error(
        &output,
        code,
        "the tests of `cortex-cli-fixture-failing` failed (cargo",
        "`cortex test -- NAME` runs only the tests matching NAME",
    );
    let all = format!("{}{err}", stdout(&output));
    assert!(all.contains("adds_zero"), "{all}");
}

#[test]
fn test_watch_runs_again_when_a_file_changes() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let app = tiny_crate("cortex-cli-fixture-watch", &[("src/lib.rs", PASSING)]);
    let mut child = cortex()
        .args(["test", "--watch", "--path"])
        .arg(app.path())
        .env("CARGO_TARGET_DIR", app.path().join("target"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |needle: &str, count: usize| {
        let deadline = Instant::now() + Duration::from_secs(120);
        while seen.iter().filter(|l: &&String| l.contains(needle)).count() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => panic!("no `{needle}` (#{count}) in:\n{}", seen.join("\n")),
            }
        }
    };
    wait_for("Watching for changes", 1);
    let failing = PASSING.replace("add(2, 0), 2", "add(2, 0), 3");
    std::fs::write(app.path().join("src/lib.rs"), failing).unwrap();
    wait_for("Changed src/lib.rs", 1);
    wait_for("error: the tests of `cortex-cli-fixture-watch` failed", 1);
    wait_for("Watching for changes", 2);
    let _ = child.kill();
    let _ = child.wait();
}
