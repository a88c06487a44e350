//! The data plugin's side of migrations: applying the app's migrations at start, and the `db:*`
//! tasks that `cortex db …` runs inside the app's binary.
//!
//! | task | does | arguments (`CORTEX_TASK_ARGS`) |
//! | --- | --- | --- |
//! | `db:migrate` | applies the pending migrations | |
//! | `db:rollback` | reverts the latest migration | `--steps N`, or `--to VERSION` |
//! | `db:status` | lists each migration and where it stands | |
//! | `db:reset` | reverts every migration, then applies them all | |
//! | `db:seed` | runs the seed files | |

use std::fmt::Write as _;

use cortex_core::App;
use cortex_di::{BoxError, Container};

use super::{MigrationStatus, Migrations, Ran, Rollback, Seeds};
use crate::config::MigrateOn;
use crate::db::Db;
use crate::error::DataError;

/// The app's migrations and seeds: those registered with `app_migrations!`, or a test's.
type Source = fn() -> Result<Option<(&'static Migrations, &'static Seeds)>, DataError>;

/// The tasks this module registers.
pub(crate) const TASKS: [&str; 5] = [
    "db:migrate",
    "db:rollback",
    "db:status",
    "db:reset",
    "db:seed",
];

/// Applies the app's migrations (those `app_migrations!` registered) when `[database] migrate`
/// is `on_start`, logging each one applied. Nothing happens when the app registered none, or
/// when the process runs one of the `db:*` tasks (`cortex db rollback` must not migrate first).
///
/// # Errors
/// What [`Db::migrate`] returns: the migration that failed, and what to do.
pub(crate) async fn migrate_on_start(db: &Db) -> Result<(), DataError> {
    migrate_on_start_with(db, Migrations::registered, cortex_core::task::from_env()).await
}

async fn migrate_on_start_with(
    db: &Db,
    source: Source,
    task: Option<String>,
) -> Result<(), DataError> {
    if db.config().migrate != MigrateOn::OnStart {
        return Ok(());
    }
    if let Some(task) = task.filter(|t| TASKS.contains(&t.as_str())) {
        tracing::debug!(target: "cortex::data", "not migrating at start: the task `{task}` manages the migrations");
        return Ok(());
    }
    let Some((migrations, _)) = source()? else {
        tracing::debug!(target: "cortex::data", "the app registers no migrations");
        return Ok(());
    };
    let applied = db.migrate(migrations).await?;
    if applied.is_empty() {
        tracing::info!(target: "cortex::data", "the database at {} is up to date ({} migrations)", db.url(), migrations.len());
    } else {
        tracing::info!(target: "cortex::data", "applied {} migration(s) to {}: {}", applied.len(), db.url(), join(&applied));
    }
    Ok(())
}

/// Registers the `db:migrate`, `db:rollback`, `db:status`, `db:reset` and `db:seed` tasks on
/// the app's migrations and seeds (see [`Migrations::registered`]).
pub(crate) fn tasks(app: App) -> App {
    tasks_with(app, Migrations::registered)
}

fn tasks_with(app: App, source: Source) -> App {
    app.task("db:migrate", move |c| async move {
        let (migrations, _) = migrations_of(source)?;
        let applied = db(&c).await?.migrate(migrations).await?;
        print!("{}", applied_report(&applied, "applied", "the database is up to date"));
        Ok(())
    })
    .task("db:rollback", move |c| async move {
        let how = rollback_args(&cortex_core::task::args())?;
        let (migrations, _) = migrations_of(source)?;
        let reverted = db(&c).await?.rollback(migrations, how).await?;
        print!("{}", applied_report(&reverted, "reverted", "no migration is applied: nothing to roll back"));
        Ok(())
    })
    .task("db:status", move |c| async move {
        let (migrations, _) = migrations_of(source)?;
        let status = db(&c).await?.migration_status(migrations).await?;
        print!("{}", status_table(&status));
        Ok(())
    })
    .task("db:reset", move |c| async move {
        let (migrations, _) = migrations_of(source)?;
        let db = db(&c).await?;
        let reverted = db.rollback(migrations, Rollback::All).await?;
        let applied = db.migrate(migrations).await?;
        print!("{}", applied_report(&reverted, "reverted", ""));
        print!("{}", applied_report(&applied, "applied", "the app has no migrations"));
        Ok(())
    })
    .task("db:seed", move |c| async move {
        let (_, seeds) = migrations_of(source)?;
        if seeds.is_empty() {
            return Err(BoxError::from(
                "the app has no seeds; hint: put SQL files in `seeds/` (e.g. `seeds/01_users.sql`) and embed them with `app_migrations!(\"migrations\", seeds = \"seeds\")`",
            ));
        }
        let ran = db(&c).await?.seed(seeds).await?;
        let mut out = String::new();
        for name in ran {
            let _ = writeln!(out, "seeded {name}");
        }
        print!("{out}");
        Ok(())
    })
}

/// The app's migrations, or the error saying how to register them.
fn migrations_of(source: Source) -> Result<(&'static Migrations, &'static Seeds), BoxError> {
    source()?.ok_or_else(|| {
        BoxError::from(
            "the app registers no migrations; hint: add `cortex::data::app_migrations!(\"migrations\");` to src/main.rs, and create one with `cortex db create NAME`",
        )
    })
}

/// The app's `Db`.
async fn db(container: &Container) -> Result<Db, BoxError> {
    match container.resolve::<Db>().await {
        Ok(db) => Ok((*db).clone()),
        Err(e) => Err(BoxError::from(format!(
            "the app has no database ({e}); hint: install the data plugin (the `data` feature of `cortex`)"
        ))),
    }
}

/// `db:rollback`'s arguments: nothing (one step), `--steps N` or `--to VERSION`.
fn rollback_args(args: &[String]) -> Result<Rollback, DataError> {
    let usage = |what: String| DataError::Migration {
        version: None,
        message: format!(
            "{what}; hint: `cortex db rollback`, `cortex db rollback --steps 2` or `cortex db rollback --to 20261207120000`"
        ),
    };
    match args {
        [] => Ok(Rollback::Steps(1)),
        [flag, value] if flag == "--steps" => match value.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Rollback::Steps(n)),
            _ => Err(usage(format!(
                "`--steps {value}` is not a number of steps (1 or more)"
            ))),
        },
        [flag, value] if flag == "--to" => match value.parse::<i64>() {
            Ok(v) if v >= 0 => Ok(Rollback::To(v)),
            _ => Err(usage(format!(
                "`--to {value}` is not a migration version (digits)"
            ))),
        },
        _ => Err(usage(format!(
            "db:rollback does not understand `{}`",
            args.join(" ")
        ))),
    }
}

/// One line per migration, `<verb> <version>_<name>`, or `none` when there are none.
fn applied_report(ran: &[Ran], verb: &str, none: &str) -> String {
    if ran.is_empty() {
        return if none.is_empty() {
            String::new()
        } else {
            format!("{none}\n")
        };
    }
    let mut out = String::new();
    for m in ran {
        let _ = writeln!(out, "{verb} {m}");
    }
    out
}

fn join(ran: &[Ran]) -> String {
    ran.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `db:status`: an aligned table, version, state, name.
fn status_table(status: &[MigrationStatus]) -> String {
    if status.is_empty() {
        return "the app has no migrations\n".to_string();
    }
    let width = status
        .iter()
        .map(|s| s.version.to_string().len())
        .max()
        .unwrap_or(0)
        .max(7);
    let mut out = format!("{:<width$}  {:<8}  name\n", "version", "state");
    for s in status {
        let name = if s.name.is_empty() {
            "(not in the app)"
        } else {
            &s.name
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:<8}  {name}",
            s.version,
            s.state.to_string()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DatabaseConfig;
    use crate::migrate::MigrationState;
    use cortex_di::Provider;

    static MIGRATIONS: Migrations = crate::migrations!("tests/data/migrations/blog");
    static SEEDS: Seeds = Seeds::__embedded(&[]);

    fn source() -> Result<Option<(&'static Migrations, &'static Seeds)>, DataError> {
        Ok(Some((&MIGRATIONS, &SEEDS)))
    }

    fn nothing() -> Result<Option<(&'static Migrations, &'static Seeds)>, DataError> {
        Ok(None)
    }

    fn sqlite(migrate: MigrateOn) -> Db {
        let config = DatabaseConfig {
            url: "sqlite::memory:".into(),
            max_connections: 1,
            min_connections: 1,
            idle_timeout: std::time::Duration::ZERO,
            max_lifetime: std::time::Duration::ZERO,
            migrate,
            ..DatabaseConfig::default()
        };
        Db::connect_lazy(&config).unwrap()
    }

    async fn states(db: &Db) -> Vec<MigrationState> {
        db.migration_status(&MIGRATIONS)
            .await
            .unwrap()
            .iter()
            .map(|s| s.state)
            .collect()
    }

    #[tokio::test]
    async fn on_start_applies_the_apps_migrations() {
        let db = sqlite(MigrateOn::OnStart);
        migrate_on_start_with(&db, source, None).await.unwrap();
        assert_eq!(
            states(&db).await,
            [MigrationState::Applied, MigrationState::Applied]
        );
    }

    #[tokio::test]
    async fn manual_does_not_migrate_at_start() {
        let db = sqlite(MigrateOn::Manual);
        migrate_on_start_with(&db, source, None).await.unwrap();
        assert_eq!(
            states(&db).await,
            [MigrationState::Pending, MigrationState::Pending]
        );
    }

    #[tokio::test]
    async fn a_db_task_does_not_migrate_at_start_but_another_task_does() {
        let db = sqlite(MigrateOn::OnStart);
        migrate_on_start_with(&db, source, Some("db:rollback".into()))
            .await
            .unwrap();
        assert_eq!(
            states(&db).await,
            [MigrationState::Pending, MigrationState::Pending]
        );
        migrate_on_start_with(&db, source, Some("report".into()))
            .await
            .unwrap();
        assert_eq!(
            states(&db).await,
            [MigrationState::Applied, MigrationState::Applied]
        );
    }

    #[tokio::test]
    async fn without_registered_migrations_start_does_nothing() {
        let db = sqlite(MigrateOn::OnStart);
        migrate_on_start_with(&db, nothing, None).await.unwrap();
    }

    #[tokio::test]
    async fn the_tasks_run_on_the_apps_db() {
        let db = sqlite(MigrateOn::Manual);
        let app = || tasks_with(App::new().provide(Provider::value(db.clone())), source);
        let built = app().build().await.unwrap();
        assert_eq!(built.task_names(), TASKS);
        built.run_task("db:migrate").await.unwrap();
        assert_eq!(
            states(&db).await,
            [MigrationState::Applied, MigrationState::Applied]
        );
        app()
            .build()
            .await
            .unwrap()
            .run_task("db:rollback")
            .await
            .unwrap();
        assert_eq!(
            states(&db).await,
            [MigrationState::Applied, MigrationState::Pending]
        );
        app()
            .build()
            .await
            .unwrap()
            .run_task("db:reset")
            .await
            .unwrap();
        assert_eq!(
            states(&db).await,
            [MigrationState::Applied, MigrationState::Applied]
        );
        app()
            .build()
            .await
            .unwrap()
            .run_task("db:status")
            .await
            .unwrap();
        let err = app()
            .build()
            .await
            .unwrap()
            .run_task("db:seed")
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("task `db:seed` failed: the app has no seeds; hint:"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn without_migrations_or_a_db_the_tasks_say_how_to_get_them() {
        let db = sqlite(MigrateOn::Manual);
        let app = tasks_with(App::new().provide(Provider::value(db)), nothing)
            .build()
            .await
            .unwrap();
        let err = app.run_task("db:migrate").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "task `db:migrate` failed: the app registers no migrations; hint: add `cortex::data::app_migrations!(\"migrations\");` to src/main.rs, and create one with `cortex db create NAME`"
        );
        let app = tasks_with(App::new(), source).build().await.unwrap();
        let err = app.run_task("db:status").await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("task `db:status` failed: the app has no database ("),
            "{err}"
        );
        assert!(
            err.to_string()
                .ends_with("hint: install the data plugin (the `data` feature of `cortex`)"),
            "{err}"
        );
    }

    #[test]
    fn rollback_arguments() {
        let args = |s: &str| rollback_args(&cortex_core::task::parse_args(s));
        assert_eq!(args("").unwrap(), Rollback::Steps(1));
        assert_eq!(args("--steps 3").unwrap(), Rollback::Steps(3));
        assert_eq!(
            args("--to 20261207120000").unwrap(),
            Rollback::To(20261207120000)
        );
        assert_eq!(args("--to 0").unwrap(), Rollback::To(0));
        for (bad, message) in [
            (
                "--steps 0",
                "`--steps 0` is not a number of steps (1 or more)",
            ),
            (
                "--steps two",
                "`--steps two` is not a number of steps (1 or more)",
            ),
            ("--to -1", "`--to -1` is not a migration version (digits)"),
            ("--steps", "db:rollback does not understand `--steps`"),
            (
                "--steps 1 --to 2",
                "db:rollback does not understand `--steps 1 --to 2`",
            ),
        ] {
            let err = args(bad).unwrap_err().to_string();
            assert!(err.starts_with(message), "{err}");
            assert!(err.contains("hint: `cortex db rollback`"), "{err}");
        }
    }

    #[test]
    fn the_status_table_is_aligned() {
        let status = [
            MigrationStatus {
                version: 20261207120000,
                name: "create_posts".into(),
                state: MigrationState::Applied,
            },
            MigrationStatus {
                version: 20261208090000,
                name: "add_comments".into(),
                state: MigrationState::Pending,
            },
            MigrationStatus {
                version: 3,
                name: String::new(),
                state: MigrationState::Missing,
            },
        ];
        assert_eq!(
            status_table(&status),
            "version         state     name\n\
             20261207120000  applied   create_posts\n\
             20261208090000  pending   add_comments\n\
             3               missing   (not in the app)\n"
        );
        assert_eq!(status_table(&[]), "the app has no migrations\n");
    }

    #[test]
    fn reports_list_one_migration_a_line() {
        let ran = [
            Ran {
                version: 1,
                name: "a".into(),
            },
            Ran {
                version: 2,
                name: "b".into(),
            },
        ];
        assert_eq!(
            applied_report(&ran, "applied", "none"),
            "applied 1_a\napplied 2_b\n"
        );
        assert_eq!(applied_report(&[], "applied", "none"), "none\n");
        assert_eq!(applied_report(&[], "reverted", ""), "");
        assert_eq!(join(&ran), "1_a, 2_b");
    }
}
