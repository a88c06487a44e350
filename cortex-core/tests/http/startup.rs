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
    let mut all = vec![("CORTEX_LOG", "info"), ("CORTEX_LOG_FORMAT", "text")];
    all.extend_from_slice(vars);
    run_app_with(dir, &all)
}

/// Runs the child app in `dir` with only `vars` in its environment (logging as `[log]` says).
fn run_app_with(dir: &Path, vars: &[(&str, &str)]) -> Output {
    Command::new(std::env::current_exe().expect("the test binary"))
        .args(["startup::startup_child_app", "--exact", "--nocapture"])
        .current_dir(dir)
        .env_clear()
        .env(CHILD, "1")
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
    // `CORTEX_LOG_FORMAT` is a `CORTEX_*` variable too (short for `log.format`); `CORTEX_LOG` is not.
    assert!(
        loaded.contains("configuration loaded: profile `dev`, 0 file(s), 2 CORTEX_* variable(s)"),
        "{loaded}"
    );
    assert!(
        loaded.contains(r#"files=[] env_vars=["CORTEX_SERVER__PORT", "CORTEX_LOG_FORMAT"]"#),
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
        text.contains("configuration loaded: profile `dev`, 1 file(s), 1 CORTEX_* variable(s)"),
        "{text}"
    );
    assert!(!text.contains("no cortex.toml"), "{text}");
}

#[test]
fn the_startup_lines_are_written_in_the_format_log_in_cortex_toml_sets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cortex.toml"), "[log]\nformat = \"json\"\n").unwrap();
    let output = run_app_with(dir.path(), &[]);
    let lines = stderr_lines(&output);
    let text = lines.join("\n");
    assert!(output.status.success(), "{text}");
    // Every line is JSON: nothing was logged before the subscriber was installed from `[log]`.
    let messages: Vec<String> = lines
        .iter()
        .map(|l| {
            let line: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}\n{text}"));
            line["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("configuration loaded: profile `dev`, 1 file(s)")),
        "{text}"
    );
}

#[test]
fn the_level_in_cortex_toml_hides_info_lines_unless_cortex_log_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cortex.toml"),
        "[log]\nlevel = \"warn\"\nformat = \"text\"\n",
    )
    .unwrap();
    let quiet = run_app_with(dir.path(), &[]);
    let text = stderr_lines(&quiet).join("\n");
    assert!(quiet.status.success(), "{text}");
    assert!(!text.contains("configuration loaded"), "{text}");

    let overridden = run_app_with(dir.path(), &[("CORTEX_LOG", "info")]);
    let text = stderr_lines(&overridden).join("\n");
    assert!(
        text.contains(" INFO ") && text.contains("configuration loaded"),
        "{text}"
    );
}

#[test]
fn an_invalid_log_section_stops_the_app_with_one_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cortex.toml"), "[log]\nlevel = \"loud\"\n").unwrap();
    let output = run_app_with(dir.path(), &[]);
    let lines = stderr_lines(&output);
    let text = lines.join("\n");
    assert!(!output.status.success(), "{text}");
    let errors: Vec<&String> = lines.iter().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(
        errors[0].contains("config key `log.level`")
            && errors[0]
                .contains("expected one of `trace`, `debug`, `info`, `warn`, `error`, `off`"),
        "{text}"
    );
}
