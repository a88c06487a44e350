//! `cortex run [TASK]`: build the app and run one of its tasks (`App::task`) in its binary, with
//! `CORTEX_TASK=TASK` in the app's folder (see `cortex_core::task`); without a name, list the
//! tasks (`CORTEX_INSPECT=tasks`). Arguments after `--` reach the task as `CORTEX_TASK_ARGS`
//! (see `cortex_core::task::args`).
//!
//! The task's output and logs go straight to the terminal, and its exit status is the CLI's: the
//! app prints a failing task's error (and an unknown name, with the known ones and the nearest),
//! so the CLI adds no second line.

use std::process::{Command, Stdio};

use crate::cargo::{self, BuildOptions};
use crate::cli::RunArgs;
use crate::commands::inspect::{inspect, not_cortex, print_stdout};
use crate::error::{CliError, Context, Result};
use crate::project::Project;
use crate::ui::Ui;

/// Runs `cortex run`.
pub fn run(args: RunArgs, ui: &Ui) -> Result<()> {
    check_task_args(&args.args)?;
    if args.task.as_deref().is_none_or(|t| t.trim().is_empty()) && !args.args.is_empty() {
        return Err(CliError::new(format!(
            "task arguments `{}` were given without a task",
            args.args.join(" ")
        ))
        .hint("name the task first: `cortex run db:rollback -- --steps 2`")
        .with_code(2));
    }
    let project = Project::find(args.path.as_deref())?;
    let options = BuildOptions {
        release: args.release,
    };
    let binary = cargo::build(&project, options, ui)?;
    let Some(task) = args.task.filter(|t| !t.trim().is_empty()) else {
        let out = inspect(&project, &binary, "tasks", "its tasks")?;
        let tasks: Vec<String> = serde_json::from_str(&out).map_err(|_| not_cortex(&project))?;
        if tasks.is_empty() {
            return Err(CliError::new(format!("`{}` has no task", project.name()))
                .hint("register one with `App::task(\"db:seed\", |container| async { .. })`"));
        }
        return print_stdout(&task_list(&tasks));
    };
    run_task(&project, &binary, &task, &args.args)
}

/// Refuses task arguments that `CORTEX_TASK_ARGS` cannot carry: its words are separated by
/// whitespace, so an argument cannot hold any.
pub(crate) fn check_task_args(args: &[String]) -> Result<()> {
    match args.iter().find(|a| a.is_empty() || a.contains(char::is_whitespace)) {
        Some(bad) => Err(CliError::new(format!(
            "the task argument `{bad}` is empty or holds whitespace, which CORTEX_TASK_ARGS cannot carry"
        ))
        .hint("pass arguments without spaces, e.g. `cortex run db:rollback -- --steps 2`")
        .with_code(2)),
        None => Ok(()),
    }
}

/// Runs the app's `binary` with `CORTEX_TASK=task` (and `CORTEX_TASK_ARGS`) in its folder, its
/// output straight to the terminal; the exit status is the task's.
pub(crate) fn run_task(
    project: &Project,
    binary: &std::path::Path,
    task: &str,
    args: &[String],
) -> Result<()> {
    let status = Command::new(binary)
        .current_dir(project.dir())
        .env("CORTEX_TASK", task)
        .env("CORTEX_TASK_ARGS", args.join(" "))
        .env_remove("CORTEX_INSPECT")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDNAMES")
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let task = task.to_string();
    match status.code() {
        Some(0) => Ok(()),
        // The app printed why (a task's error, an unknown name).
        Some(code) => Err(CliError::reported(
            format!("task `{task}` failed"),
            u8::try_from(code).unwrap_or(1),
        )),
        None => Err(CliError::new(format!(
            "task `{task}` was stopped by a signal"
        ))),
    }
}

/// One task name per line.
fn task_list(tasks: &[String]) -> String {
    let mut out = String::new();
    for task in tasks {
        out.push_str(task);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_arguments_cannot_hold_whitespace() {
        assert!(check_task_args(&["--steps".into(), "2".into()]).is_ok());
        let err = check_task_args(&["a b".into()]).unwrap_err();
        assert_eq!(err.code(), 2);
        assert!(
            err.message()
                .starts_with("the task argument `a b` is empty or holds whitespace")
        );
        assert_eq!(check_task_args(&[String::new()]).unwrap_err().code(), 2);
    }

    #[test]
    fn the_task_list_has_one_name_per_line() {
        assert_eq!(
            task_list(&["db:migrate".into(), "db:seed".into()]),
            "db:migrate\ndb:seed\n"
        );
    }
}
