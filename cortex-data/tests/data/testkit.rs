//! The test kit (`cortex_data::testing`): isolated databases for apps under test on every
//! backend, dropped afterwards (also after a panic), factories, and the `test` profile's
//! in-memory default.

use std::time::Duration;

use cortex_core::App;
use cortex_core::config::Config;
use cortex_core::testing::{TestApp, config};
use cortex_data::config::TEST_PROFILE_URL;
use cortex_data::migrate::Migrations;
use cortex_data::testing::{Factory, TestAppDataExt as _, TestDatabase};
use cortex_data::{Backend, DataError, DataPlugin, Db, Model, Query};
use futures_util::FutureExt as _;

use crate::support::{ALL, count, exec, server_url};

static BLOG: Migrations = cortex_data::migrations!("tests/data/migrations/blog");

#[derive(Model, Debug, Clone, Default, PartialEq)]
#[model(table = "kit_tags")]
struct Tag {
    id: i64,
    name: String,
    uses: i32,
}

fn tags_ddl(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "CREATE TABLE kit_tags (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(50) NOT NULL UNIQUE, uses INTEGER NOT NULL)"
        }
        Backend::Postgres => {
            "CREATE TABLE kit_tags (id BIGSERIAL PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE, uses INTEGER NOT NULL)"
        }
        Backend::MySql => {
            "CREATE TABLE kit_tags (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE, uses INT NOT NULL)"
        }
    }
}

/// An app with the data plugin, configured by `toml`.
fn app(toml: &str) -> App {
    let config = Config::from_toml(toml).expect("the test configuration parses");
    App::with_config(config).plugin(DataPlugin)
}

async fn exists(backend: Backend, name: &str) -> bool {
    TestDatabase::exists(server_url(backend), name)
        .await
        .expect("the server answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_apps_in_parallel_do_not_see_each_others_rows() {
    for backend in ALL {
        let (a, b) = tokio::join!(
            TestApp::with_database_on(server_url(backend), app("")),
            TestApp::with_database_on(server_url(backend), app("")),
        );
        assert_eq!(a.db().backend(), backend);
        assert_ne!(a.database().name(), b.database().name(), "{backend}");
        // The app's own `Db` is the test database's.
        let from_container = a.container().get::<Db>().unwrap();
        assert_eq!(from_container.url(), a.db().url(), "{backend}");

        for app in [&a, &b] {
            exec(app.db(), tags_ddl(backend)).await.unwrap();
        }
        let tags = a.repo::<Tag>();
        tags.insert(&Tag {
            name: "rust".into(),
            ..Tag::default()
        })
        .await
        .unwrap();
        assert_eq!(count(a.db(), "kit_tags").await, 1, "{backend}");
        assert_eq!(
            count(b.db(), "kit_tags").await,
            0,
            "{backend}: b sees a's row"
        );
        // The same name in b is no conflict: another database.
        b.repo::<Tag>()
            .insert(&Tag {
                name: "rust".into(),
                ..Tag::default()
            })
            .await
            .unwrap();

        let (a_name, b_name) = (
            a.database().name().to_string(),
            b.database().name().to_string(),
        );
        assert!(exists(backend, &a_name).await, "{backend}");
        a.shutdown().await;
        drop(b);
        assert!(
            !exists(backend, &a_name).await,
            "{backend}: shutdown drops it"
        );
        assert!(!exists(backend, &b_name).await, "{backend}: drop drops it");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_database_is_dropped_when_its_test_panics() {
    for backend in ALL {
        let (name_tx, name_rx) = tokio::sync::oneshot::channel();
        // A test that holds a transaction open (a lock on its table) when it panics.
        let test = tokio::spawn(async move {
            let database = TestDatabase::for_url(server_url(backend)).await;
            name_tx.send(database.name().to_string()).unwrap();
            exec(database.db(), tags_ddl(backend)).await.unwrap();
            let mut tx = database.db().begin().await.unwrap();
            let _row = database
                .repo::<Tag>()
                .on(&mut tx)
                .insert(&Tag {
                    name: "held".into(),
                    ..Tag::default()
                })
                .await
                .unwrap();
            panic!("the test fails with its transaction open");
        });
        let name = name_rx.await.unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(30), test)
            .await
            .expect("the cleanup of a panicking test finishes");
        assert!(outcome.unwrap_err().is_panic(), "{backend}");
        assert!(
            !exists(backend, &name).await,
            "{backend}: {name} is still there"
        );
    }
}

#[tokio::test]
async fn the_test_database_takes_the_apps_pool_settings_and_migrates() {
    for backend in ALL {
        let app = TestApp::with_database_on(
            server_url(backend),
            app("[database]\nmax_connections = 3\nurl = 'sqlite://never-opened.db'"),
        )
        .await;
        assert_eq!(app.db().config().max_connections, 3, "{backend}");
        assert_eq!(
            app.db().backend(),
            backend,
            "the test database, not `[database] url`"
        );
        app.database().migrate(&BLOG).await.unwrap();
        assert_eq!(count(app.db(), "posts").await, 0, "{backend}");
        app.shutdown().await;
    }
    assert!(!std::path::Path::new("never-opened.db").exists());
}

#[tokio::test]
async fn factories_fill_defaults_sequences_and_overrides() {
    for backend in ALL {
        let database = TestDatabase::for_url(server_url(backend)).await;
        exec(database.db(), tags_ddl(backend)).await.unwrap();
        let tags = Factory::new(database.db(), |n| Tag {
            name: format!("tag-{n}"),
            uses: 1,
            ..Tag::default()
        });

        let first = tags.create(|_| {}).await;
        let second = tags.create(|t| t.uses = 7).await;
        assert_eq!((first.name.as_str(), first.uses), ("tag-1", 1), "{backend}");
        assert_eq!(
            (second.name.as_str(), second.uses),
            ("tag-2", 7),
            "{backend}"
        );
        assert!(
            first.id > 0 && second.id > first.id,
            "{backend}: keys assigned"
        );

        // Clones share the sequence; `build` uses it without inserting.
        let built = tags.clone().build(|t| t.uses = 0);
        assert_eq!((built.id, built.name.as_str()), (0, "tag-3"), "{backend}");

        let many = tags.create_many(3, |t, i| t.uses = 10 + i as i32).await;
        let names: Vec<_> = many.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["tag-4", "tag-5", "tag-6"], "{backend}");
        assert_eq!(many[2].uses, 12, "{backend}");
        assert_eq!(
            database.repo::<Tag>().count(Query::new()).await.unwrap(),
            5,
            "{backend}"
        );

        // A duplicate through an override: the error, or a panic naming the model.
        let duplicate = tags.try_create(|t| t.name = "tag-1".into()).await;
        assert!(
            matches!(duplicate, Err(DataError::Conflict { .. })),
            "{backend}: {duplicate:?}"
        );
        let panic = std::panic::AssertUnwindSafe(tags.create(|t| t.name = "tag-2".into()))
            .catch_unwind()
            .await
            .unwrap_err();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.contains("Factory<Tag>::create"),
            "{backend}: {message}"
        );

        database.drop_now().await;
    }
}

#[tokio::test]
async fn the_test_profile_defaults_to_an_in_memory_database_per_app() {
    let dir = tempfile::tempdir().unwrap();
    let build =
        || async { TestApp::new(App::with_config(config(dir.path())).plugin(DataPlugin)).await };
    let (a, b) = (build().await, build().await);
    let (db_a, db_b) = (
        a.container().get::<Db>().unwrap(),
        b.container().get::<Db>().unwrap(),
    );
    assert_eq!(db_a.url(), TEST_PROFILE_URL);
    exec(&db_a, tags_ddl(Backend::Sqlite)).await.unwrap();
    exec(&db_a, "INSERT INTO kit_tags (name, uses) VALUES ('a', 1)")
        .await
        .unwrap();
    // Every connection of a's pool sees the one database: four transactions open at once hold
    // four connections.
    let mut open = Vec::new();
    for _ in 0..4 {
        open.push(db_a.begin().await.unwrap());
    }
    let mut counts = Vec::new();
    for tx in &mut open {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM kit_tags")
            .fetch_one(&mut **tx.sqlite().unwrap())
            .await
            .unwrap();
        counts.push(n);
    }
    drop(open);
    assert_eq!(counts, [1, 1, 1, 1]);
    // b has a database of its own, and nothing was written into the folder.
    assert!(exec(&db_b, "SELECT * FROM kit_tags").await.is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // A configured URL (or DATABASE_URL) still wins in the test profile.
    std::fs::write(
        dir.path().join("cortex.test.toml"),
        "[database]\nurl = 'sqlite::memory:?cache=private'",
    )
    .unwrap();
    let configured = cortex_data::DatabaseConfig::from_config_with(&config(dir.path()), None);
    assert_eq!(configured.unwrap().url, "sqlite::memory:?cache=private");
    let from_env = cortex_data::DatabaseConfig::from_config_with(
        &config(tempfile::tempdir().unwrap().path()),
        Some("sqlite://from-env.db"),
    );
    assert_eq!(from_env.unwrap().url, "sqlite://from-env.db");
}

#[tokio::test]
async fn server_urls_with_a_query_or_the_mariadb_scheme_work() {
    for url in [
        "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
        "mariadb://root@127.0.0.1:3306/test?ssl-mode=disabled",
    ] {
        let database = TestDatabase::for_url(url).await;
        database.db().ping().await.unwrap();
        exec(database.db(), tags_ddl(database.backend()))
            .await
            .unwrap();
        assert_eq!(count(database.db(), "kit_tags").await, 0, "{url}");
        let name = database.name().to_string();
        assert!(TestDatabase::exists(url, &name).await.unwrap(), "{url}");
        database.drop_now().await;
        assert!(!TestDatabase::exists(url, &name).await.unwrap(), "{url}");
    }
    // A URL that names no database is refused, naming the fix.
    let error = TestDatabase::try_for_url("redis://127.0.0.1", Default::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("hint"), "{error}");
}
