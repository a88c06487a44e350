//! `cortex events dead-letters list|replay`: the app's dead letters, listed and replayed by its
//! `events:dead-letters:*` tasks (registered by the events plugin), run in its binary as
//! `cortex run` does.

use crate::cargo::{self, BuildOptions};
use crate::cli::{DbTaskArgs, DeadLettersCommand, EventsCommand};
use crate::commands::inspect::{inspect, not_cortex};
use crate::commands::run::{check_task_args, run_task};
use crate::error::{CliError, Result};
use crate::project::Project;
use crate::ui::Ui;

/// Runs `cortex events …`.
pub fn run(command: EventsCommand, ui: &Ui) -> Result<()> {
    let EventsCommand::DeadLetters(command) = command;
    let (task, args) = task_args(&command)?;
    let options = match &command {
        DeadLettersCommand::List(a) => &a.task,
        DeadLettersCommand::Replay(a) => &a.task,
    };
    run_app_task(options, task, &args, ui)
}

/// The task a command runs, and its arguments (`CORTEX_TASK_ARGS`'s words).
///
/// # Errors
/// A value holding whitespace (the task's arguments are words), a topic that is not a pattern,
/// an id that is not an event id: one line, exit 2.
pub(crate) fn task_args(command: &DeadLettersCommand) -> Result<(&'static str, Vec<String>)> {
    let mut args = Vec::new();
    let (task, handler, topic) = match command {
        DeadLettersCommand::List(a) => {
            if let Some(limit) = a.limit {
                args.extend(["--limit".to_string(), limit.to_string()]);
            }
            if a.json {
                args.push("--json".into());
            }
            ("events:dead-letters:list", &a.handler, &a.topic)
        }
        DeadLettersCommand::Replay(a) => {
            if a.all {
                args.push("--all".into());
            }
            if let Some(id) = &a.id {
                if !is_event_id(id) {
                    return Err(usage(&format!(
                        "`--id {id}` is not an event id (a UUID, as `cortex events dead-letters list` shows it)"
                    )));
                }
                args.extend(["--id".to_string(), id.clone()]);
            }
            ("events:dead-letters:replay", &a.handler, &a.topic)
        }
    };
    if let Some(handler) = handler {
        args.extend(["--handler".to_string(), handler.clone()]);
    }
    if let Some(topic) = topic {
        if let Some(problem) = pattern_problem(topic) {
            return Err(usage(&format!(
                "`--topic {topic}` is not a topic pattern: {problem}"
            )));
        }
        args.extend(["--topic".to_string(), topic.clone()]);
    }
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

/// Whether `id` is a UUID in its hyphenated form (what an event id prints as).
fn is_event_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// What is wrong with `pattern` as a topic pattern (the event bus's rules: dot-separated segments
/// of ASCII letters, digits, `_` and `-`, or the wildcards `*` and `#`).
fn pattern_problem(pattern: &str) -> Option<String> {
    if pattern.is_empty() {
        return Some("it is empty".into());
    }
    for segment in pattern.split('.') {
        if segment.is_empty() {
            return Some("it has an empty segment; write segments separated by single dots, as `user.created`".into());
        }
        if segment == "*" || segment == "#" {
            continue;
        }
        if let Some(c) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Some(format!(
                "it contains `{c}`; segments are ASCII letters, digits, `_` and `-`, or a whole `*` or `#`"
            ));
        }
    }
    None
}

fn usage(message: &str) -> CliError {
    CliError::new(message)
        .hint("`cortex events dead-letters list --handler welcome --topic 'user.*'`, `cortex events dead-letters replay --handler welcome --id EVENT_ID` or `--all`")
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
            "`{}` has no `{task}` task: its binary does not run the events plugin",
            project.name()
        ))
        .hint("turn on the `events` feature of `cortex` in Cargo.toml (the events plugin registers the events:dead-letters:* tasks)"));
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
        let Command::Events(EventsCommand::DeadLetters(command)) = cli.command else {
            panic!("not `events dead-letters`")
        };
        task_args(&command)
    }

    const ID: &str = "01937f5e-7c00-7000-8000-00000000abcd";

    #[test]
    fn list_becomes_the_tasks_arguments() {
        assert_eq!(
            parse(&["cortex", "events", "dead-letters", "list"]).unwrap(),
            ("events:dead-letters:list", vec![])
        );
        let (task, args) = parse(&[
            "cortex",
            "events",
            "dead-letters",
            "list",
            "--handler",
            "Stock::reserve",
            "--topic",
            "order.#",
            "--limit",
            "20",
            "--json",
        ])
        .unwrap();
        assert_eq!(task, "events:dead-letters:list");
        assert_eq!(
            args.join(" "),
            "--limit 20 --json --handler Stock::reserve --topic order.#"
        );
    }

    #[test]
    fn replay_becomes_the_tasks_arguments() {
        let (task, args) = parse(&[
            "cortex",
            "events",
            "dead-letters",
            "replay",
            "--handler",
            "welcome",
            "--id",
            ID,
        ])
        .unwrap();
        assert_eq!(task, "events:dead-letters:replay");
        assert_eq!(args.join(" "), format!("--id {ID} --handler welcome"));
        let (_, args) = parse(&[
            "cortex",
            "events",
            "dead-letters",
            "replay",
            "--all",
            "--topic",
            "user.*",
        ])
        .unwrap();
        assert_eq!(args.join(" "), "--all --topic user.*");
    }

    #[test]
    fn bad_arguments_are_one_line_and_exit_2() {
        for (line, message) in [
            (
                &[
                    "cortex",
                    "events",
                    "dead-letters",
                    "list",
                    "--handler",
                    "send welcome",
                ][..],
                "`send welcome` is empty or holds whitespace, which the task's arguments cannot carry",
            ),
            (
                &[
                    "cortex",
                    "events",
                    "dead-letters",
                    "list",
                    "--topic",
                    "user..created",
                ],
                "`--topic user..created` is not a topic pattern: it has an empty segment",
            ),
            (
                &[
                    "cortex",
                    "events",
                    "dead-letters",
                    "list",
                    "--topic",
                    "user*",
                ],
                "`--topic user*` is not a topic pattern: it contains `*`",
            ),
            (
                &[
                    "cortex",
                    "events",
                    "dead-letters",
                    "replay",
                    "--handler",
                    "h",
                    "--id",
                    "42",
                ],
                "`--id 42` is not an event id",
            ),
        ] {
            let err = parse(line).unwrap_err();
            assert_eq!(err.code(), 2, "{line:?}");
            assert!(err.message().starts_with(message), "{}", err.message());
            assert!(!err.message().contains('\n'), "{}", err.message());
        }
        // What clap refuses (no letter named, --id without --handler, --id with --all, --topic
        // without --all, a zero limit) is clap's usage error, exit 2.
        for line in [
            &["cortex", "events", "dead-letters", "replay"][..],
            &["cortex", "events", "dead-letters", "replay", "--id", ID],
            &[
                "cortex",
                "events",
                "dead-letters",
                "replay",
                "--all",
                "--handler",
                "h",
                "--id",
                ID,
            ],
            &[
                "cortex",
                "events",
                "dead-letters",
                "replay",
                "--handler",
                "h",
                "--id",
                ID,
                "--topic",
                "a",
            ],
            &["cortex", "events", "dead-letters", "list", "--limit", "0"],
            &[
                "cortex",
                "events",
                "dead-letters",
                "list",
                "--limit",
                "many",
            ],
            &["cortex", "events", "dead-letters", "purge"],
        ] {
            let err = Cli::try_parse_from(line).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{line:?}");
        }
    }

    #[test]
    fn ids_and_patterns_are_checked_as_the_bus_does() {
        assert!(is_event_id(ID));
        assert!(!is_event_id("01937f5e7c0070008000000000000000"));
        assert!(!is_event_id("01937f5e-7c00-7000-8000-00000000abcg"));
        for good in ["user.*", "#", "order.line-items.#", "a_b"] {
            assert_eq!(pattern_problem(good), None, "{good}");
        }
        assert!(pattern_problem("").is_some());
        assert!(pattern_problem("user.").is_some());
    }
}
