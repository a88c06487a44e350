//! Tasks: one-off jobs that run inside the app's own binary — migrations, seeds, a report —
//! with the app's configuration and container, instead of serving.
//!
//! [`App::task`](crate::App::task) registers one; when the environment variable
//! [`CORTEX_TASK`](ENV_VAR) names it, [`App::run`](crate::App::run) builds the app (the
//! `OnStart` hooks and `on_start` closures run: a migration needs its database connected), runs
//! the task instead of serving, shuts the app down (the shutdown signal trips, tracked tasks are
//! waited for, the `on_shutdown` closures and `OnShutdown` hooks run) and returns. A task's error
//! is the app's error: `#[cortex::main]` prints it as one line and exits with status 1. `cortex
//! run <task>` builds the app and runs its binary this way; `cortex run` alone lists the tasks
//! (`CORTEX_INSPECT=tasks`).
//!
//! # Arguments
//! A task reads its arguments with [`args`]: the words of the environment variable
//! [`CORTEX_TASK_ARGS`](ARGS_ENV_VAR), split on whitespace (`CORTEX_TASK_ARGS="--steps 2"` is
//! `["--steps", "2"]`; a word cannot contain a space). `cortex run <task> -- ARGS…` and the
//! `cortex db` commands set it. A task that takes none ignores it.
//!
//! ```
//! use cortex_core::App;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cortex_core::AppError> {
//! let app = App::new()
//!     .task("db:seed", |_container| async {
//!         // insert the demo rows
//!         Ok(())
//!     })
//!     .build()
//!     .await?;
//! assert_eq!(app.task_names(), ["db:seed"]);
//! app.run_task("db:seed").await?;
//! # Ok(()) }
//! ```

use crate::AppError;

/// The environment variable that makes [`App::run`](crate::App::run) run a task instead of
/// serving.
pub const ENV_VAR: &str = "CORTEX_TASK";

/// The environment variable holding a task's arguments, separated by whitespace (see [`args`]).
pub const ARGS_ENV_VAR: &str = "CORTEX_TASK_ARGS";

/// The running task's arguments: the words of `CORTEX_TASK_ARGS` (none when it is unset).
///
/// ```
/// // Unset in doc tests.
/// assert!(cortex_core::task::args().is_empty());
/// ```
pub fn args() -> Vec<String> {
    parse_args(&std::env::var(ARGS_ENV_VAR).unwrap_or_default())
}

/// The words of a `CORTEX_TASK_ARGS` value.
///
/// ```
/// assert_eq!(cortex_core::task::parse_args("  --steps\t2 "), ["--steps", "2"]);
/// assert!(cortex_core::task::parse_args("").is_empty());
/// ```
pub fn parse_args(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_string).collect()
}

/// The task `CORTEX_TASK` names: `None` when it is unset or empty.
///
/// ```
/// // Unset in doc tests: the app serves.
/// assert_eq!(cortex_core::task::from_env(), None);
/// ```
pub fn from_env() -> Option<String> {
    std::env::var(ENV_VAR)
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}

/// The error for a task name the app does not know: the known names, and the nearest one.
pub(crate) fn unknown(name: &str, known: &[&str]) -> AppError {
    let listed = if known.is_empty() {
        "the app has no task (register one with `App::task`)".to_string()
    } else {
        format!("the app's tasks are {}", known.join(", "))
    };
    let nearest = known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    AppError::Task(format!("unknown task `{name}`: {listed}{nearest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_the_words_of_the_variable() {
        assert_eq!(
            parse_args("--to 20261207120000"),
            ["--to", "20261207120000"]
        );
        assert_eq!(parse_args("a\n b"), ["a", "b"]);
        assert_eq!(parse_args("   "), Vec::<String>::new());
    }

    #[test]
    fn an_unknown_task_names_the_known_ones_and_the_nearest() {
        let err = unknown("db:migrte", &["db:migrate", "db:seed"]);
        assert_eq!(
            err.to_string(),
            "unknown task `db:migrte`: the app's tasks are db:migrate, db:seed; did you mean `db:migrate`?"
        );
    }

    #[test]
    fn an_unknown_task_far_from_every_name_gets_no_suggestion() {
        let err = unknown("report", &["db:migrate"]);
        assert_eq!(
            err.to_string(),
            "unknown task `report`: the app's tasks are db:migrate"
        );
    }

    #[test]
    fn an_app_without_tasks_says_how_to_register_one() {
        let err = unknown("seed", &[]);
        assert_eq!(
            err.to_string(),
            "unknown task `seed`: the app has no task (register one with `App::task`)"
        );
    }
}
