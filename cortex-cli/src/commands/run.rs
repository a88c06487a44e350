//! `cortex run [TASK]`: build the app and run one of its tasks (`App::task`) in its binary, with
//! `CORTEX_TASK=TASK` in the app's folder (see `cortex_core::task`); without a name, list the
//! tasks (`CORTEX_INSPECT=tasks`).
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
    let status = Command::new(&binary)
        .current_dir(project.dir())
        .env("CORTEX_TASK", &task)
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
    fn the_task_list_has_one_name_per_line() {
        assert_eq!(
            task_list(&["db:migrate".into(), "db:seed".into()]),
            "db:migrate\ndb:seed\n"
        );
    }
}
