//! Migrations (`Db::migrate`, `rollback`, `migration_status`, `reset`, `seed`) on each backend,
//! each test on a fresh database (`support::TestDb`): a SQLite file, a PostgreSQL schema, a
//! MariaDB database.
//!
//! The fixtures are in `tests/data/migrations/` and `tests/data/seeds/`.

use cortex_data::migrate::{MigrationState, Migrations, Rollback, Seeds};
use cortex_data::{Backend, DataError, Db};

static BLOG: Migrations = cortex_data::migrations!("tests/data/migrations/blog");
static DIALECTS: Migrations = cortex_data::migrations!("tests/data/migrations/dialects");
static FAILING: Migrations = cortex_data::migrations!("tests/data/migrations/failing");
static CHECKSUM_A: Migrations = cortex_data::migrations!("tests/data/migrations/checksum_a");
static CHECKSUM_B: Migrations = cortex_data::migrations!("tests/data/migrations/checksum_b");
static NO_DOWN: Migrations = cortex_data::migrations!("tests/data/migrations/no_down");
static COMMENTS_ONLY: Migrations = cortex_data::migrations!("tests/data/migrations/comments_only");
static NO_TX: Migrations = cortex_data::migrations!("tests/data/migrations/no_tx");
static BLOG_SEEDS: Seeds = cortex_data::seeds!("tests/data/seeds/blog");
static FAILING_SEEDS: Seeds = cortex_data::seeds!("tests/data/seeds/failing");

/// Runs `scalar` (a query returning one integer) on whichever backend `db` is.
async fn count(db: &Db, sql: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match db.backend() {
        Backend::Sqlite => sqlx::query_scalar(sql)
            .fetch_one(db.sqlite().unwrap())
            .await
            .unwrap(),
        Backend::Postgres => sqlx::query_scalar(sql)
            .fetch_one(db.postgres().unwrap())
            .await
            .unwrap(),
        Backend::MySql => sqlx::query_scalar(sql)
            .fetch_one(db.mysql().unwrap())
            .await
            .unwrap(),
    }
}

/// Whether the table exists (in the current database/schema).
async fn has_table(db: &Db, table: &str) -> bool {
    let sql = match db.backend() {
        Backend::Sqlite => {
            format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'")
        }
        Backend::Postgres => format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
        Backend::MySql => format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"
        ),
    };
    count(db, &sql).await > 0
}

async fn text(db: &Db, sql: &'static str) -> String {
    match db.backend() {
        Backend::Sqlite => sqlx::query_scalar(sql)
            .fetch_one(db.sqlite().unwrap())
            .await
            .unwrap(),
        Backend::Postgres => sqlx::query_scalar(sql)
            .fetch_one(db.postgres().unwrap())
            .await
            .unwrap(),
        Backend::MySql => sqlx::query_scalar(sql)
            .fetch_one(db.mysql().unwrap())
            .await
            .unwrap(),
    }
}

async fn states(db: &Db, migrations: &Migrations) -> Vec<(i64, MigrationState)> {
    db.migration_status(migrations)
        .await
        .unwrap()
        .iter()
        .map(|s| (s.version, s.state))
        .collect()
}

fn names(ran: &[cortex_data::migrate::Ran]) -> Vec<String> {
    ran.iter().map(ToString::to_string).collect()
}

const POSTS: i64 = 20261207120000;
const COMMENTS: i64 = 20261208090000;

async fn apply_status_and_rollback(db: &Db) {
    use MigrationState::*;
    assert_eq!(
        states(db, &BLOG).await,
        [(POSTS, Pending), (COMMENTS, Pending)]
    );
    let applied = db.migrate(&BLOG).await.unwrap();
    assert_eq!(
        names(&applied),
        ["20261207120000_create_posts", "20261208090000_add_comments"]
    );
    assert!(has_table(db, "posts").await && has_table(db, "comments").await);
    assert_eq!(
        states(db, &BLOG).await,
        [(POSTS, Applied), (COMMENTS, Applied)]
    );
    // sqlx's own table and checksums
    assert_eq!(count(db, "SELECT COUNT(*) FROM _sqlx_migrations").await, 2);

    // Nothing pending: nothing applied.
    assert!(db.migrate(&BLOG).await.unwrap().is_empty());

    let reverted = db.rollback(&BLOG, Rollback::Steps(1)).await.unwrap();
    assert_eq!(names(&reverted), ["20261208090000_add_comments"]);
    assert!(has_table(db, "posts").await && !has_table(db, "comments").await);
    assert_eq!(
        states(db, &BLOG).await,
        [(POSTS, Applied), (COMMENTS, Pending)]
    );

    db.migrate(&BLOG).await.unwrap();
    let reverted = db.rollback(&BLOG, Rollback::To(POSTS)).await.unwrap();
    assert_eq!(names(&reverted), ["20261208090000_add_comments"]);
    db.migrate(&BLOG).await.unwrap();
    let reverted = db.rollback(&BLOG, Rollback::Steps(5)).await.unwrap();
    assert_eq!(
        names(&reverted),
        ["20261208090000_add_comments", "20261207120000_create_posts"]
    );
    assert!(!has_table(db, "posts").await);
    assert!(
        db.rollback(&BLOG, Rollback::Steps(1))
            .await
            .unwrap()
            .is_empty()
    );

    let err = db.rollback(&BLOG, Rollback::To(42)).await.unwrap_err();
    assert!(matches!(
        err,
        DataError::Migration {
            version: Some(42),
            ..
        }
    ));
    assert!(
        err.to_string()
            .starts_with("no migration has the version 42; hint:"),
        "{err}"
    );
}

async fn reset_and_seed(db: &Db) {
    db.migrate(&BLOG).await.unwrap();
    let seeded = db.seed(&BLOG_SEEDS).await.unwrap();
    assert_eq!(seeded, ["01_posts", "02_comments"]);
    assert_eq!(count(db, "SELECT COUNT(*) FROM comments").await, 1);

    let applied = db.reset(&BLOG).await.unwrap();
    assert_eq!(applied.len(), 2);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM posts").await,
        0,
        "reset empties the tables"
    );
    assert_eq!(
        states(db, &BLOG)
            .await
            .iter()
            .filter(|(_, s)| *s == MigrationState::Applied)
            .count(),
        2
    );

    // A seed that fails rolls back alone; the ones before it stay.
    let err = db.seed(&FAILING_SEEDS).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("seed `02_duplicate` failed: "),
        "{message}"
    );
    assert!(
        message.contains(
            "its transaction was rolled back (the seeds before it, 01_ok, stay inserted)"
        ),
        "{message}"
    );
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM posts").await,
        1,
        "01_ok stays, 02_duplicate's first row is rolled back"
    );
}

async fn changed_and_missing_migrations_are_refused(db: &Db) {
    db.migrate(&CHECKSUM_A).await.unwrap();
    assert_eq!(
        states(db, &CHECKSUM_B).await,
        [(1, MigrationState::Changed)]
    );
    let err = db.migrate(&CHECKSUM_B).await.unwrap_err();
    assert!(matches!(
        err,
        DataError::Migration {
            version: Some(1),
            ..
        }
    ));
    let message = err.to_string();
    assert!(
        message.starts_with("migration 1_checked was changed after it was applied to "),
        "{message}"
    );
    assert!(
        message.contains(
            "hint: restore the file as it was applied and put the change in a new migration"
        ),
        "{message}"
    );

    // The database has 1_checked; BLOG does not.
    assert_eq!(
        states(db, &BLOG).await,
        [
            (1, MigrationState::Missing),
            (POSTS, MigrationState::Pending),
            (COMMENTS, MigrationState::Pending)
        ]
    );
    let err = db.migrate(&BLOG).await.unwrap_err();
    assert!(
        err.to_string().starts_with("migration 1 was applied to "),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("but the app has no such migration; nothing was run"),
        "{err}"
    );
    assert!(!has_table(db, "posts").await);
}

async fn the_dialects_file_is_chosen(db: &Db) {
    db.migrate(&DIALECTS).await.unwrap();
    let expected = match db.backend() {
        Backend::Sqlite => "any",
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
    };
    assert_eq!(text(db, "SELECT name FROM dialect").await, expected);
    assert!(
        DIALECTS
            .iter()
            .next()
            .unwrap()
            .up(db.backend())
            .contains(&format!("'{expected}'"))
    );
    db.rollback(&DIALECTS, Rollback::All).await.unwrap();
    assert!(!has_table(db, "dialect").await);
}

async fn a_migration_without_down_is_not_rolled_back(db: &Db) {
    db.migrate(&NO_DOWN).await.unwrap();
    // 2_undone has a down: one step works.
    assert_eq!(
        names(&db.rollback(&NO_DOWN, Rollback::Steps(1)).await.unwrap()),
        ["2_undone"]
    );
    db.migrate(&NO_DOWN).await.unwrap();
    // Two steps reach 1_kept, which has none: nothing is reverted.
    let err = db.rollback(&NO_DOWN, Rollback::All).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "migration 1_kept has no down migration, so it cannot be rolled back; nothing was reverted; hint: add `1_kept.down.sql` next to its `.up.sql` and rebuild"
    );
    assert!(has_table(db, "undone").await && has_table(db, "kept").await);
    assert!(db.reset(&NO_DOWN).await.is_err());
}

async fn a_failing_migration_leaves_nothing_half_applied(db: &Db) {
    let err = db.migrate(&FAILING).await.unwrap_err();
    assert!(matches!(
        err,
        DataError::Migration {
            version: Some(2),
            ..
        }
    ));
    let message = err.to_string();
    assert!(
        has_table(db, "good").await,
        "the migration before the failing one stays applied"
    );
    if db.backend().transactional_ddl() {
        assert!(
            message.starts_with(&format!(
                "migration 2_half failed while applying it on {}: ",
                db.backend()
            )),
            "{message}"
        );
        assert!(
            message.contains(
                "nothing of it was applied (it ran in a transaction) and it is still pending"
            ),
            "{message}"
        );
        assert!(
            !has_table(db, "half_first").await,
            "the first statement of the failed migration is rolled back"
        );
        assert_eq!(
            states(db, &FAILING).await,
            [(1, MigrationState::Applied), (2, MigrationState::Pending)]
        );
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM _sqlx_migrations WHERE version = 2"
            )
            .await,
            0
        );
    } else {
        assert!(
            message.starts_with("migration 2_half failed on mysql: "),
            "{message}"
        );
        assert!(
            message.contains("mysql commits DDL statements as they run, so the statements before the failing one may have been applied (the migration is recorded as failed in `_sqlx_migrations`)"),
            "{message}"
        );
        assert!(message.contains("hint: check the schema and undo what was applied by hand, fix the migration, then delete its row (`DELETE FROM _sqlx_migrations WHERE version = 2`)"), "{message}");
        // The DDL before the error was committed.
        assert!(has_table(db, "half_first").await);
        assert_eq!(
            states(db, &FAILING).await,
            [(1, MigrationState::Applied), (2, MigrationState::Failed)]
        );
        // Running again says what is wrong rather than running anything.
        let again = db.migrate(&FAILING).await.unwrap_err().to_string();
        assert!(again.starts_with("migration 2_half failed partway in an earlier run and is recorded as failed in `_sqlx_migrations`"), "{again}");
        let again = db
            .rollback(&FAILING, Rollback::Steps(1))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            again.starts_with("migration 2_half failed partway"),
            "{again}"
        );
    }
    // The connection that failed was closed with the migrator's lock (PostgreSQL advisory lock,
    // MySQL GET_LOCK): another pool migrating the same database is not blocked, and gets the
    // same answer.
    let other = Db::connect_lazy(db.config()).unwrap();
    let again = tokio::time::timeout(std::time::Duration::from_secs(10), other.migrate(&FAILING))
        .await
        .expect("the migrator lock was released");
    assert!(
        matches!(
            again,
            Err(DataError::Migration {
                version: Some(2),
                ..
            })
        ),
        "{again:?}"
    );
    other.close().await;
}

/// What `cortex db create` writes before the user fills it in: comments only.
async fn a_migration_of_comments_only_runs(db: &Db) {
    assert_eq!(
        names(&db.migrate(&COMMENTS_ONLY).await.unwrap()),
        ["1_empty"]
    );
    assert_eq!(
        names(
            &db.rollback(&COMMENTS_ONLY, Rollback::Steps(1))
                .await
                .unwrap()
        ),
        ["1_empty"]
    );
}

/// `-- no-transaction` (sqlx's marker) runs the file outside a transaction: the error says the
/// statements before the failing one may have been applied.
async fn a_migration_outside_a_transaction_says_so_when_it_fails(db: &Db) {
    let err = db.migrate(&NO_TX).await.unwrap_err().to_string();
    if db.backend().transactional_ddl() {
        assert!(
            err.starts_with(&format!(
                "migration 1_outside failed while applying it on {}: ",
                db.backend()
            )),
            "{err}"
        );
        assert!(err.contains("it ran outside a transaction (`-- no-transaction`), so the statements before the failing one may have been applied"), "{err}");
    } else {
        assert!(
            err.starts_with("migration 1_outside failed on mysql: "),
            "{err}"
        );
    }
    // PostgreSQL runs a multi-statement simple query as one implicit transaction; SQLite and
    // MySQL keep the first statement.
    assert_eq!(
        has_table(db, "outside").await,
        db.backend() != Backend::Postgres
    );
}

/// Each scenario on each backend: `mod sqlite { fn <scenario> }` and so on.
macro_rules! on_each_backend {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let t = crate::support::TestDb::new(cortex_data::Backend::Sqlite).await;
                super::$scenario(&t.db).await;
                t.drop_db().await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let t = crate::support::TestDb::new(cortex_data::Backend::Postgres).await;
                super::$scenario(&t.db).await;
                t.drop_db().await;
            })*
        }
        mod mariadb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let t = crate::support::TestDb::new(cortex_data::Backend::MySql).await;
                super::$scenario(&t.db).await;
                t.drop_db().await;
            })*
        }
    };
}

on_each_backend!(
    apply_status_and_rollback,
    reset_and_seed,
    changed_and_missing_migrations_are_refused,
    the_dialects_file_is_chosen,
    a_migration_without_down_is_not_rolled_back,
    a_failing_migration_leaves_nothing_half_applied,
    a_migration_of_comments_only_runs,
    a_migration_outside_a_transaction_says_so_when_it_fails,
);
