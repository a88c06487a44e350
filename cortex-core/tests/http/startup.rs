//! What an app started by `#[cortex::main]` tells its operator, with a real process: the
//! configuration it loaded (profile, files, the names of the `CORTEX_*` variables, a warning when
//! there is no `cortex.toml`), and a startup error printed once.
//!
//! The app is this test binary itself, started again to run [`startup_child_app`] (which does
//! nothing when run as an ordinary test), as `#[cortex::main]` expands: `report(run_main(..))`.

use std::path::Path;
use std::process::{Command, Output};

use cortex_core::App;

/// Set in the child's environment: run the app instead of returning. Not a `CORTEX_*` name, so
/// the configuration does not read it.
const CHILD: &str = "STARTUP_TEST_CHILD";

/// Not a test of its own: the app the tests below start as a child process.
#[test]
fn startup_child_app() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let code = cortex_core::__private::report(cortex_core::__private::run_main::<
        Result<(), cortex_core::AppError>,
        _,
    >(async {
        // What `run` does before it binds: a bad `server.port` fails here.
        let app = App::from_config()?.build().await?;
        app.config().server()?.addr()?;
        Ok(())
    }));
    std::process::exit(if code == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    });
}

/// Runs the child app in `dir` with only `vars` (and text logs at `info`) in its environment.
fn run_app(dir: &Path, vars: &[(&str, &str)]) -> Output {
    Command::new(std::env::current_exe().expect("the test binary"))
        .args(["startup::startup_child_app", "--exact", "--nocapture"])
        .current_dir(dir)
        .env_clear()
        .env(CHILD, "1")
        .env("CORTEX_LOG", "info")
        .env("CORTEX_LOG_FORMAT", "text")
        .env("NO_COLOR", "1")
        .envs(vars.iter().copied())
        .output()
        .expect("the child app runs")
}

/// The lines the app printed on stderr (the test harness prints on stdout).
fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn without_cortex_toml_the_app_says_so_and_names_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_app(dir.path(), &[("CORTEX_SERVER__PORT", "not-a-port")]);
    let lines = stderr_lines(&output);
    let text = lines.join("\n");
    assert!(!output.status.success(), "{text}");

    let loaded = lines
        .iter()
        .find(|l| l.contains("configuration loaded"))
        .unwrap_or_else(|| panic!("no configuration line in:\n{text}"));
    // `CORTEX_LOG` and `CORTEX_LOG_FORMAT` are `CORTEX_*` variables too.
    assert!(
        loaded.contains("configuration loaded: profile `dev`, 0 file(s), 3 CORTEX_* variable(s)"),
        "{loaded}"
    );
    assert!(
        loaded.contains(
            r#"files=[] env_vars=["CORTEX_LOG", "CORTEX_LOG_FORMAT", "CORTEX_SERVER__PORT"]"#
        ),
        "{loaded}"
    );
    let searched = dir.path().canonicalize().unwrap();
    let warning = lines
        .iter()
        .find(|l| l.contains("WARN"))
        .unwrap_or_else(|| panic!("no warning in:\n{text}"));
    assert!(
        warning.contains(&format!("no cortex.toml in {}", searched.display())),
        "{warning}"
    );
    assert!(warning.contains("set CORTEX_CONFIG_DIR"), "{warning}");
    assert!(
        !text.contains("not-a-port"),
        "variable values are never logged:\n{text}"
    );
}

#[test]
fn a_startup_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cortex.toml"), "[server]\nport = \"x\"\n").unwrap();
    let output = run_app(dir.path(), &[]);
    let lines = stderr_lines(&output);
    let text = lines.join("\n");
    assert!(!output.status.success(), "{text}");

    let errors: Vec<&String> = lines.iter().filter(|l| l.contains("server.port")).collect();
    assert_eq!(errors.len(), 1, "the error once:\n{text}");
    assert!(errors[0].starts_with("error: "), "{text}");
    assert!(!text.contains("ERROR"), "no log event as well:\n{text}");
    // Found: one file, no warning.
    assert!(
        text.contains("configuration loaded: profile `dev`, 1 file(s), 2 CORTEX_* variable(s)"),
        "{text}"
    );
    assert!(!text.contains("no cortex.toml"), "{text}");
}
