//! `cortex auth key create|list|revoke`: the app's API keys, managed by its `auth:key:*` tasks
//! (registered by the auth plugin), run in its binary as `cortex run` does.

use crate::cargo::{self, BuildOptions};
use crate::cli::{AuthCommand, AuthKeyCommand, DbTaskArgs};
use crate::commands::inspect::{inspect, not_cortex};
use crate::commands::run::{check_task_args, run_task};
use crate::error::{CliError, Result};
use crate::project::Project;
use crate::ui::Ui;

/// Runs `cortex auth …`.
pub fn run(command: AuthCommand, ui: &Ui) -> Result<()> {
    let AuthCommand::Key(command) = command;
    let (task, args) = task_args(&command)?;
    let options = match &command {
        AuthKeyCommand::Create(a) => &a.task,
        AuthKeyCommand::List(a) => &a.task,
        AuthKeyCommand::Revoke(a) => &a.task,
    };
    run_app_task(options, task, &args, ui)
}

/// The task a command runs, and its arguments (`CORTEX_TASK_ARGS`'s words).
///
/// # Errors
/// A value holding whitespace (the task's arguments are words), a `--ttl` that is not a
/// duration: one line, exit 2.
pub(crate) fn task_args(command: &AuthKeyCommand) -> Result<(&'static str, Vec<String>)> {
    let (task, args) = match command {
        AuthKeyCommand::Create(a) => {
            let mut args = vec![
                "--owner".to_string(),
                a.owner.clone(),
                "--name".into(),
                a.name.clone(),
            ];
            for scope in &a.scopes {
                args.extend(["--scope".to_string(), scope.clone()]);
            }
            if let Some(ttl) = &a.ttl {
                match cortex_core::config::units::parse_duration(ttl) {
                    Ok(d) if !d.is_zero() => {}
                    Ok(_) => return Err(usage("`--ttl` must be longer than zero")),
                    Err(e) => return Err(usage(&format!("`--ttl {ttl}` is not a duration: {e}"))),
                }
                args.extend(["--ttl".to_string(), ttl.trim().to_string()]);
            }
            ("auth:key:create", args)
        }
        AuthKeyCommand::List(a) => (
            "auth:key:list",
            a.owner
                .iter()
                .flat_map(|o| ["--owner".to_string(), o.clone()])
                .collect(),
        ),
        AuthKeyCommand::Revoke(a) => ("auth:key:revoke", vec![a.id.clone()]),
    };
    check_task_args(&args).map_err(|_| {
        let bad = args
            .iter()
            .find(|a| a.is_empty() || a.contains(char::is_whitespace))
            .cloned()
            .unwrap_or_default();
        usage(&format!(
            "`{bad}` is empty or holds whitespace, which the task's arguments cannot carry"
        ))
    })?;
    Ok((task, args))
}

fn usage(message: &str) -> CliError {
    CliError::new(message)
        .hint("`cortex auth key create --owner 42 --name ci --scope posts:read --ttl 90d` (names and scopes without spaces)")
        .with_code(2)
}

/// Builds the app, checks it has `task`, and runs it.
fn run_app_task(options: &DbTaskArgs, task: &str, args: &[String], ui: &Ui) -> Result<()> {
    let project = Project::find(options.path.as_deref())?;
    let binary = cargo::build(
        &project,
        BuildOptions {
            release: options.release,
        },
        ui,
    )?;
    let out = inspect(&project, &binary, "tasks", "its tasks")?;
    let tasks: Vec<String> = serde_json::from_str(&out).map_err(|_| not_cortex(&project))?;
    if !tasks.iter().any(|t| t == task) {
        return Err(CliError::new(format!(
            "`{}` has no `{task}` task: its binary does not run the auth plugin",
            project.name()
        ))
        .hint("turn on the `auth` feature of `cortex` in Cargo.toml (the auth plugin registers the auth:key:* tasks)"));
    }
    run_task(&project, &binary, task, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(line: &[&str]) -> Result<(&'static str, Vec<String>)> {
        let cli = Cli::try_parse_from(line).map_err(|e| CliError::new(e.to_string()))?;
        let Command::Auth(AuthCommand::Key(command)) = cli.command else {
            panic!("not `auth key`")
        };
        task_args(&command)
    }

    #[test]
    fn create_becomes_the_tasks_arguments() {
        let (task, args) = parse(&[
            "cortex",
            "auth",
            "key",
            "create",
            "--owner",
            "42",
            "--name",
            "ci",
            "--scope",
            "posts:read",
            "--scope",
            "posts:write",
            "--ttl",
            "90d",
        ])
        .unwrap();
        assert_eq!(task, "auth:key:create");
        assert_eq!(
            args.join(" "),
            "--owner 42 --name ci --scope posts:read --scope posts:write --ttl 90d"
        );
        let (_, args) = parse(&[
            "cortex", "auth", "key", "create", "--owner", "1", "--name", "x",
        ])
        .unwrap();
        assert_eq!(args.join(" "), "--owner 1 --name x");
    }

    #[test]
    fn list_and_revoke_become_the_tasks_arguments() {
        assert_eq!(
            parse(&["cortex", "auth", "key", "list"]).unwrap(),
            ("auth:key:list", vec![])
        );
        assert_eq!(
            parse(&["cortex", "auth", "key", "list", "--owner", "7"])
                .unwrap()
                .1,
            ["--owner", "7"]
        );
        assert_eq!(
            parse(&["cortex", "auth", "key", "revoke", "AAAAAAAAAAAA"]).unwrap(),
            ("auth:key:revoke", vec!["AAAAAAAAAAAA".to_string()])
        );
    }

    #[test]
    fn bad_arguments_are_one_line_and_exit_2() {
        for (line, message) in [
            (
                &[
                    "cortex", "auth", "key", "create", "--owner", "42", "--name", "my key",
                ][..],
                "`my key` is empty or holds whitespace, which the task's arguments cannot carry",
            ),
            (
                &[
                    "cortex", "auth", "key", "create", "--owner", "42", "--name", "ci", "--ttl",
                    "soon",
                ],
                "`--ttl soon` is not a duration",
            ),
            (
                &[
                    "cortex", "auth", "key", "create", "--owner", "42", "--name", "ci", "--ttl",
                    "0s",
                ],
                "`--ttl` must be longer than zero",
            ),
            (
                &[
                    "cortex", "auth", "key", "create", "--owner", "", "--name", "ci",
                ],
                "`` is empty or holds whitespace",
            ),
        ] {
            let err = parse(line).unwrap_err();
            assert_eq!(err.code(), 2, "{line:?}");
            assert!(err.message().starts_with(message), "{}", err.message());
            assert!(!err.message().contains('\n'), "{}", err.message());
        }
        // What clap refuses (a missing --owner, a missing id) is clap's usage error, exit 2.
        for line in [
            &["cortex", "auth", "key", "create", "--name", "ci"][..],
            &["cortex", "auth", "key", "revoke"],
        ] {
            let err = Cli::try_parse_from(line).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{line:?}");
        }
    }
}
