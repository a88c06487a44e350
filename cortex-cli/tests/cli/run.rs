//! `cortex run`: `examples/hello` in place (it builds into the workspace's target directory),
//! whose binary has one task, `greet`.

use std::path::PathBuf;
use std::process::Output;

use crate::support::{cortex, stderr, stdout, workspace};

fn hello() -> PathBuf {
    workspace().join("examples/hello")
}

/// `cortex run ARGS --path examples/hello`, with `GREET_NAME` set to `name` or unset.
fn run(args: &[&str], name: Option<&str>) -> Output {
    let mut command = cortex();
    command
        .args(args)
        .arg("--path")
        .arg(hello())
        .env_remove("CARGO_TARGET_DIR")
        .env("CORTEX_LOG", "warn");
    match name {
        Some(name) => command.env("GREET_NAME", name),
        None => command.env_remove("GREET_NAME"),
    };
    command.output().expect("the cortex binary runs")
}

/// The `error:` lines of `output`'s stderr.
fn error_lines(output: &Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|l| l.starts_with("error"))
        .map(str::to_string)
        .collect()
}

#[test]
fn without_a_name_the_tasks_are_listed() {
    let output = run(&["run"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "greet\n");
}

#[test]
fn a_task_runs_in_the_apps_binary() {
    let output = run(&["run", "greet"], Some("Ada"));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "Hello, Ada!\n");
}

#[test]
fn a_failing_task_exits_non_zero_with_its_message_once() {
    let output = run(&["run", "greet"], None);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        error_lines(&output),
        [
            "error: task `greet` failed: GREET_NAME is not set; hint: `GREET_NAME=Ada cortex run greet`"
        ]
    );
}

#[test]
fn an_unknown_task_is_one_line_naming_the_known_ones_and_the_nearest() {
    let output = run(&["run", "gret"], Some("Ada"));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        error_lines(&output),
        ["error: unknown task `gret`: the app's tasks are greet; did you mean `greet`?"]
    );
    assert!(!stderr(&output).contains("panicked"));
}
