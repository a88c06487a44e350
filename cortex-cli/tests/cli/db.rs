//! `cortex db` and `cortex generate migration`: the migration files written (names, versions,
//! refusals), the file embedding the migrations touched, and the task commands' usage errors and
//! their message when the app has no data plugin (`examples/hello`).

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::support::{assert_error, cortex, run_in, stderr, tiny_crate, workspace};

/// A crate whose `src/main.rs` embeds `migrations/` (not built: `create` does not build).
fn app() -> tempfile::TempDir {
    tiny_crate(
        "blog",
        &[(
            "src/main.rs",
            "cortex::data::app_migrations!(\"migrations\", seeds = \"seeds\");\nfn main() {}\n",
        )],
    )
}

/// The files of `migrations/`, sorted.
fn migrations(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir.join("migrations"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The version of a migration file: its digits before `_`, 14 of them.
fn version(file: &str) -> u64 {
    let digits = file.split('_').next().unwrap();
    assert_eq!(digits.len(), 14, "{file}");
    digits.parse().unwrap()
}

#[test]
fn create_writes_an_up_and_a_down_file_with_a_utc_timestamp() {
    let dir = app();
    let output = run_in(dir.path(), &["db", "create", "create_posts"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let files = migrations(dir.path());
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files[0].ends_with("_create_posts.down.sql") && files[1].ends_with("_create_posts.up.sql"),
        "{files:?}"
    );
    let v = version(&files[0]);
    assert_eq!(v, version(&files[1]));
    let stem = format!("{v}_create_posts");
    let up = std::fs::read_to_string(dir.path().join("migrations").join(&files[1])).unwrap();
    assert!(
        up.starts_with(&format!("-- {stem}: applied by `cortex db migrate`")),
        "{up}"
    );
    assert!(
        up.contains(&format!("{stem}.<postgres|mysql|sqlite>.up.sql")),
        "{up}"
    );
    let err = stderr(&output);
    assert!(err.contains(&format!("migrations/{stem}.up.sql")), "{err}");
    assert!(
        err.contains("fill in the SQL, then `cortex db migrate`"),
        "{err}"
    );
    // The year the file names is this year (UTC, give or take New Year's Eve).
    let year = 1970
        + SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 31_556_952;
    assert!((v / 10_000_000_000).abs_diff(year) <= 1, "{v}");
}

#[test]
fn generate_migration_converts_the_name_and_versions_after_the_latest() {
    let dir = app();
    std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
    // A migration from the future: the next version is one more.
    std::fs::write(
        dir.path()
            .join("migrations/99990101000000_create_posts.up.sql"),
        "",
    )
    .unwrap();
    let output = run_in(dir.path(), &["g", "migration", "AddTitleToPosts"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        migrations(dir.path()),
        [
            "99990101000000_create_posts.up.sql",
            "99990101000001_add_title_to_posts.down.sql",
            "99990101000001_add_title_to_posts.up.sql",
        ]
    );
}

#[test]
fn a_second_migration_with_one_name_is_refused() {
    let dir = app();
    assert!(
        run_in(dir.path(), &["db", "create", "create_posts"])
            .status
            .success()
    );
    let before = migrations(dir.path());
    let output = run_in(dir.path(), &["db", "create", "CreatePosts"]);
    assert_error(
        &output,
        1,
        "a migration named `create_posts` exists already: migrations/",
        Some("choose another name"),
    );
    assert_eq!(migrations(dir.path()), before, "nothing is written");
}

#[test]
fn a_dry_run_prints_the_files_and_writes_nothing() {
    let dir = app();
    let output = run_in(dir.path(), &["g", "migration", "create_posts", "--dry-run"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(migrations(dir.path()).is_empty());
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(out.contains("_create_posts.up.sql ---\n-- "), "{out}");
    assert!(stderr(&output).contains("(a dry run: nothing was written)"));
}

#[test]
fn creating_a_migration_touches_the_file_that_embeds_them() {
    let dir = app();
    let main = dir.path().join("src/main.rs");
    let old = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .append(true)
        .open(&main)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert!(
        run_in(dir.path(), &["db", "create", "create_posts"])
            .status
            .success()
    );
    let touched = std::fs::metadata(&main).unwrap().modified().unwrap();
    assert!(
        touched > old + Duration::from_secs(3000),
        "cargo sees the new files at the next build"
    );
}

#[test]
fn without_app_migrations_the_note_says_how_to_embed_them() {
    let dir = tiny_crate("plain", &[("src/main.rs", "fn main() {}\n")]);
    let output = run_in(dir.path(), &["db", "create", "create_posts"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "embed the folder in the app with `cortex::data::app_migrations!(\"migrations\");`"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn malformed_migration_names_and_arguments_are_usage_errors() {
    let dir = app();
    for (args, message, hint) in [
        (
            &["db", "create", "2posts"][..],
            "`2posts` is not a valid migration name: it must start with a letter",
            "snake_case",
        ),
        (
            &["db", "create", "add posts"][..],
            "`add posts` is not a valid migration name: ` ` is not allowed",
            "snake_case",
        ),
        (
            &["db", "create", ""][..],
            "`` is not a valid migration name: it is empty",
            "snake_case",
        ),
        (
            &["g", "migration", "create_posts", "title:string"][..],
            "only controllers, models and resources take fields; `title:string` was given with a `migration`",
            "write the columns in the migration's SQL",
        ),
        (
            &["g", "migration", "create_posts", "--force"][..],
            "--force does not apply to a migration",
            "leave it out",
        ),
        (
            &["g", "migration", "create_posts", "--crate"][..],
            "--crate does not apply to a migration",
            "leave it out",
        ),
    ] {
        let output = run_in(dir.path(), args);
        assert_error(&output, 2, message, Some(hint));
    }
    assert!(migrations(dir.path()).is_empty());
}

#[test]
fn malformed_task_command_arguments_exit_2_before_building() {
    let dir = app();
    for args in [
        &["db", "rollback", "--steps", "0"][..],
        &["db", "rollback", "--steps", "two"][..],
        &["db", "rollback", "--steps", "1", "--to", "3"][..],
        &["db", "rollback", "--to", "-1"][..],
        &["db", "create"][..],
        &["db", "frobnicate"][..],
    ] {
        let output = run_in(dir.path(), args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("panicked"));
    }
    // Not a terminal: reset needs --yes, and says so before building anything.
    let output = run_in(dir.path(), &["db", "reset"]);
    assert_error(
        &output,
        2,
        "`cortex db reset` reverts every migration, losing the rows of their tables, and asks first; this is not a terminal",
        Some("pass --yes"),
    );
    let output = run_in(dir.path(), &["run", "--", "--steps", "2"]);
    assert_error(
        &output,
        2,
        "task arguments `--steps 2` were given without a task",
        Some("cortex run db:rollback -- --steps 2"),
    );
    let output = run_in(dir.path(), &["run", "db:rollback", "--", "a b"]);
    assert_error(
        &output,
        2,
        "the task argument `a b` is empty or holds whitespace",
        Some("without spaces"),
    );
}

#[test]
fn an_app_without_the_data_plugin_has_no_db_tasks() {
    let output = cortex()
        .args(["db", "status", "--path"])
        .arg(workspace().join("examples/hello"))
        .env_remove("CARGO_TARGET_DIR")
        .env("CORTEX_LOG", "warn")
        .output()
        .unwrap();
    crate::support::assert_last_error(
        &output,
        1,
        "`hello` has no `db:status` task: its binary does not run the data plugin",
        "turn on the `data` feature of `cortex`",
    );
}
