//! `cortex db`: the app's migrations and seeds.
//!
//! `migrate`, `rollback`, `status`, `reset` and `seed` build the app and run its `db:*` task in
//! its binary, as `cortex run db:migrate` does (the data plugin registers the tasks; their
//! arguments go in `CORTEX_TASK_ARGS`). `create NAME` (and `cortex generate migration NAME`)
//! writes `migrations/<timestamp>_<name>.up.sql` and `.down.sql`.
//!
//! The app embeds its migrations at compile time (`app_migrations!("migrations")`), and cargo
//! does not watch the folder: when the folder changed after the binary was built (a migration
//! added or deleted), these commands touch the source file holding `app_migrations!` and build
//! again, so that the binary runs the migrations on disk. `create` touches it too, for a plain
//! `cargo run`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use heck::ToSnakeCase;

use crate::cargo::{self, BuildOptions};
use crate::cli::{DbCommand, DbCreateArgs, DbResetArgs, DbRollbackArgs, DbTaskArgs};
use crate::commands::inspect::{inspect, not_cortex};
use crate::commands::run::run_task;
use crate::error::{CliError, Context, Result};
use crate::project::Project;
use crate::scaffold::Plan;
use crate::ui::{self, Ui};

/// The folder `cortex db create` writes to, relative to the app's `Cargo.toml`.
pub const MIGRATIONS_DIR: &str = "migrations";

/// Runs `cortex db …`.
pub fn run(command: DbCommand, ui: &Ui) -> Result<()> {
    match command {
        DbCommand::Migrate(args) => task(&args, "db:migrate", &[], ui),
        DbCommand::Rollback(args) => rollback(args, ui),
        DbCommand::Status(args) => task(&args, "db:status", &[], ui),
        DbCommand::Reset(args) => reset(args, ui),
        DbCommand::Seed(args) => task(&args, "db:seed", &[], ui),
        DbCommand::Create(args) => create(args, ui),
    }
}

fn rollback(args: DbRollbackArgs, ui: &Ui) -> Result<()> {
    let task_args: Vec<String> = match (args.steps, args.to) {
        (Some(steps), _) => vec!["--steps".into(), steps.to_string()],
        (None, Some(to)) => vec!["--to".into(), to.to_string()],
        (None, None) => Vec::new(),
    };
    task(&args.task, "db:rollback", &task_args, ui)
}

fn reset(args: DbResetArgs, ui: &Ui) -> Result<()> {
    if !args.yes {
        if !ui::interactive() {
            return Err(CliError::new(
                "`cortex db reset` reverts every migration, losing the rows of their tables, and asks first; this is not a terminal",
            )
            .hint("pass --yes to reset without asking")
            .with_code(2));
        }
        let confirmed = dialoguer::Confirm::with_theme(&dialoguer::theme::SimpleTheme)
            .with_prompt(
                "Revert every migration and apply them again? The rows of their tables are lost",
            )
            .default(false)
            .interact()
            .map_err(|e| {
                CliError::new(format!("the question was interrupted: {e}")).with_code(130)
            })?;
        if !confirmed {
            return Err(CliError::new("reset cancelled: nothing was changed"));
        }
    }
    task(&args.task, "db:reset", &[], ui)
}

/// Builds the app (again, when its migrations changed since), checks it has `name`, and runs it.
fn task(args: &DbTaskArgs, name: &str, task_args: &[String], ui: &Ui) -> Result<()> {
    let project = Project::find(args.path.as_deref())?;
    let options = BuildOptions {
        release: args.release,
    };
    let mut binary = cargo::build(&project, options, ui)?;
    if touch_if_stale(&project, &binary)? {
        ui.note("the migrations changed since the last build: building again to embed them");
        binary = cargo::build(&project, options, ui)?;
    }
    let out = inspect(&project, &binary, "tasks", "its tasks")?;
    let tasks: Vec<String> = serde_json::from_str(&out).map_err(|_| not_cortex(&project))?;
    if !tasks.iter().any(|t| t == name) {
        return Err(CliError::new(format!(
            "`{}` has no `{name}` task: its binary does not run the data plugin",
            project.name()
        ))
        .hint("turn on the `data` feature of `cortex` in Cargo.toml (the data plugin registers the db:* tasks)"));
    }
    run_task(&project, &binary, name, task_args)
}

fn create(args: DbCreateArgs, ui: &Ui) -> Result<()> {
    let project = Project::find(args.path.as_deref())?;
    let plan = migration_plan(&project, &args.name, SystemTime::now())?;
    finish(&project, &plan, args.dry_run, ui)
}

/// Writes (or, for a dry run, prints) a migration's plan, then touches the file embedding the
/// migrations so that the next build sees the new files.
pub(crate) fn finish(project: &Project, plan: &Plan, dry_run: bool, ui: &Ui) -> Result<()> {
    if !dry_run {
        plan.apply()?;
    }
    plan.report(ui, dry_run);
    if dry_run {
        ui.note("(a dry run: nothing was written)");
        return Ok(());
    }
    let embedding = embedding_files(project);
    if embedding.is_empty() {
        ui.note(
            "embed the folder in the app with `cortex::data::app_migrations!(\"migrations\");` (src/main.rs), then `cortex db migrate`",
        );
    } else {
        for (file, _) in &embedding {
            touch(file)?;
        }
        ui.note("fill in the SQL, then `cortex db migrate`");
    }
    Ok(())
}

/// The files of a new migration named `raw` (any case, written snake_case), versioned by the UTC
/// time `now` (`YYYYMMDDHHMMSS`), or one more than the latest migration when that is later.
///
/// # Errors
/// A name that is not a valid migration name (exit 2); a migration with that name already.
pub(crate) fn migration_plan(project: &Project, raw: &str, now: SystemTime) -> Result<Plan> {
    let stem = migration_stem(project, raw, now)?;
    let mut plan = Plan::new(project.dir());
    plan.create(
        format!("{MIGRATIONS_DIR}/{stem}.up.sql"),
        format!(
            "-- {stem}: applied by `cortex db migrate`, in a transaction where the database allows.\n\
             -- This SQL runs on every backend. SQL for one backend goes in\n\
             -- {stem}.<postgres|mysql|sqlite>.up.sql, which replaces this file there.\n\n"
        ),
        false,
    )?;
    plan.create(
        format!("{MIGRATIONS_DIR}/{stem}.down.sql"),
        format!(
            "-- {stem}: reverted by `cortex db rollback`. Undo what the .up.sql does, in reverse order.\n\n"
        ),
        false,
    )?;
    Ok(plan)
}

/// The `<version>_<name>` of a new migration named `raw` (any case, written snake_case): the UTC
/// time `now` (`YYYYMMDDHHMMSS`), or one more than the latest migration when that is later.
///
/// # Errors
/// A name that is not a valid migration name (exit 2); a migration with that name already.
pub(crate) fn migration_stem(project: &Project, raw: &str, now: SystemTime) -> Result<String> {
    let name = migration_name(raw)?;
    let dir = project.dir().join(MIGRATIONS_DIR);
    let existing = existing_migrations(&dir)?;
    if let Some((_, file)) = existing
        .iter()
        .find(|(_, file)| migration_stem_name(file) == Some(name.as_str()))
    {
        return Err(CliError::new(format!(
            "a migration named `{name}` exists already: {MIGRATIONS_DIR}/{file}"
        ))
        .hint("choose another name (a migration changes the schema once; a later change is a new migration)"));
    }
    let stamp: u64 = timestamp(now).parse().unwrap_or(0);
    let latest = existing.iter().map(|(v, _)| *v).max().unwrap_or(0);
    let version = stamp.max(latest + 1);
    Ok(format!("{version}_{name}"))
}

/// The stem (`<version>_<name>`) of the app's migration named `name`, when it has one.
pub(crate) fn existing_migration(project: &Project, name: &str) -> Result<Option<String>> {
    let dir = project.dir().join(MIGRATIONS_DIR);
    Ok(existing_migrations(&dir)?
        .into_iter()
        .find(|(_, file)| migration_stem_name(file) == Some(name))
        .and_then(|(_, file)| file.split('.').next().map(str::to_string)))
}

/// A migration name: letters, digits, `-` and `_`, starting with a letter, written snake_case.
fn migration_name(raw: &str) -> Result<String> {
    let raw = raw.trim();
    let problem = if raw.is_empty() {
        Some("it is empty".to_string())
    } else if !raw.starts_with(|c: char| c.is_ascii_alphabetic()) {
        Some("it must start with a letter".to_string())
    } else {
        raw.chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
            .map(|c| format!("`{c}` is not allowed"))
    };
    match problem {
        Some(problem) => Err(CliError::new(format!(
            "`{raw}` is not a valid migration name: {problem}"
        ))
        .hint("name it for what it does, in snake_case: `create_posts`, `add_title_to_posts`")
        .with_code(2)),
        None => Ok(raw.to_snake_case()),
    }
}

/// The migrations in `dir` (none when it does not exist): version and file name.
fn existing_migrations(dir: &Path) -> Result<Vec<(u64, String)>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(version) = file.split('_').next().and_then(|v| v.parse::<u64>().ok()) {
            found.push((version, file));
        }
    }
    found.sort();
    Ok(found)
}

/// The name part of a migration file (`1_create_posts.postgres.up.sql` → `create_posts`).
fn migration_stem_name(file: &str) -> Option<&str> {
    let (_, rest) = file.split_once('_')?;
    rest.split('.').next()
}

/// `YYYYMMDDHHMMSS`, UTC.
pub(crate) fn timestamp(now: SystemTime) -> String {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (hour, minute, second) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Howard Hinnant's civil-from-days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}")
}

/// The app's source files that embed migrations (`app_migrations!(`), with the folders they
/// name (the migrations', and the seeds').
pub(crate) fn embedding_files(project: &Project) -> Vec<(PathBuf, Vec<PathBuf>)> {
    let mut found = Vec::new();
    let mut stack = vec![project.dir().join("src")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                if let Some(at) = text.find("app_migrations!(") {
                    let folders = quoted_strings(&text[at..])
                        .into_iter()
                        .map(|f| project.dir().join(f))
                        .collect();
                    found.push((path, folders));
                }
            }
        }
    }
    found
}

/// The string literals of a macro call, up to its closing `)`: `("migrations", seeds = "seeds")`.
fn quoted_strings(call: &str) -> Vec<String> {
    let end = call.find(')').unwrap_or(call.len());
    call[..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Whether a folder embedded by the app changed after `binary` was built, in which case the
/// source file embedding it is touched (and `true` returned): the next build embeds the folder
/// as it is.
fn touch_if_stale(project: &Project, binary: &Path) -> Result<bool> {
    let Some(built) = modified(binary) else {
        return Ok(false);
    };
    let mut touched = false;
    for (file, folders) in embedding_files(project) {
        let changed = folders.iter().any(|folder| {
            let mut times = vec![modified(folder)];
            if let Ok(entries) = std::fs::read_dir(folder) {
                times.extend(entries.flatten().map(|e| modified(&e.path())));
            }
            times.into_iter().flatten().any(|t| t > built)
        });
        if changed {
            touch(&file)?;
            touched = true;
        }
    }
    Ok(touched)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Sets `file`'s modification time to now, so that cargo compiles its crate again.
pub(crate) fn touch(file: &Path) -> Result<()> {
    std::fs::File::options()
        .append(true)
        .open(file)
        .and_then(|f| f.set_modified(SystemTime::now()))
        .with_context(|| format!("cannot update the modification time of {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_digits() {
        assert_eq!(timestamp(SystemTime::UNIX_EPOCH), "19700101000000");
        // 2026-12-07 12:00:00 UTC
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_644_800);
        assert_eq!(timestamp(t), "20261207120000");
        // 2024-02-29 23:59:59 UTC (a leap day)
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_251_199);
        assert_eq!(timestamp(t), "20240229235959");
    }

    #[test]
    fn names_are_written_snake_case() {
        assert_eq!(
            migration_name("AddTitleToPosts").unwrap(),
            "add_title_to_posts"
        );
        assert_eq!(migration_name("create-posts").unwrap(), "create_posts");
        assert_eq!(migration_name("create_posts2").unwrap(), "create_posts2");
        for (bad, why) in [
            ("", "it is empty"),
            ("2posts", "it must start with a letter"),
            ("create posts", "` ` is not allowed"),
            ("posts.v2", "`.` is not allowed"),
        ] {
            let err = migration_name(bad).unwrap_err();
            assert_eq!(err.code(), 2);
            assert_eq!(
                err.message(),
                format!("`{bad}` is not a valid migration name: {why}")
            );
        }
    }

    #[test]
    fn the_macro_call_names_its_folders() {
        assert_eq!(
            quoted_strings(
                "app_migrations!(\"migrations\", seeds = \"db/seeds\");\nfn x() { \"no\" }"
            ),
            ["migrations", "db/seeds"]
        );
        assert_eq!(quoted_strings("app_migrations!(\"m\")"), ["m"]);
    }

    /// An app whose `src/main.rs` embeds `migrations/` (which holds one file), and a "binary"
    /// built at `built`.
    fn stale_app(built: SystemTime) -> (tempfile::TempDir, Project, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"blog\"\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
        std::fs::write(
            dir.path().join("src/main.rs"),
            "cortex::data::app_migrations!(\"migrations\");\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("migrations/1_a.up.sql"), "").unwrap();
        let binary = dir.path().join("blog-binary");
        std::fs::write(&binary, "").unwrap();
        std::fs::File::options()
            .append(true)
            .open(&binary)
            .unwrap()
            .set_modified(built)
            .unwrap();
        let project = Project::find(Some(dir.path())).unwrap();
        (dir, project, binary)
    }

    #[test]
    fn migrations_newer_than_the_binary_touch_the_embedding_file() {
        let (dir, project, binary) = stale_app(SystemTime::now() - Duration::from_secs(3600));
        let main = dir.path().join("src/main.rs");
        let old = SystemTime::now() - Duration::from_secs(7200);
        std::fs::File::options()
            .append(true)
            .open(&main)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(touch_if_stale(&project, &binary).unwrap());
        assert!(modified(&main).unwrap() > old + Duration::from_secs(3600));
    }

    #[test]
    fn a_binary_newer_than_its_migrations_is_left_alone() {
        let (dir, project, binary) = stale_app(SystemTime::now() + Duration::from_secs(3600));
        let main = dir.path().join("src/main.rs");
        let before = modified(&main).unwrap();
        assert!(!touch_if_stale(&project, &binary).unwrap());
        assert_eq!(modified(&main).unwrap(), before);
        // No binary yet: nothing to compare with.
        assert!(!touch_if_stale(&project, &dir.path().join("none")).unwrap());
    }

    #[test]
    fn a_file_names_its_migration() {
        assert_eq!(
            migration_stem_name("1_create_posts.postgres.up.sql"),
            Some("create_posts")
        );
        assert_eq!(migration_stem_name("20261207120000_a.down.sql"), Some("a"));
        assert_eq!(migration_stem_name("README.md"), None);
    }
}
