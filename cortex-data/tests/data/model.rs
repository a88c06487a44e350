//! Models and repositories on every backend: each test makes a fresh database per backend
//! (`support::TestDb`: a SQLite file, a PostgreSQL schema, a MariaDB database), creates its tables
//! with the backend's DDL, and drops it afterwards.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{ALL, TestDb, exec};
use chrono::{DateTime, Utc};
use cortex_core::axum::extract::FromRequestParts;
use cortex_core::axum::response::IntoResponse;
use cortex_data::{Backend, DataError, Filter, Filters, Model, Query, QueryError, Repo};
use uuid::Uuid;

#[derive(Model, Debug, Clone, Default, PartialEq, serde::Serialize)]
struct Post {
    id: i64,
    title: String,
    body: Option<String>,
    views: i32,
    published: bool,
    #[model(version)]
    lock_version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

#[derive(Model, Debug, Clone, Default, PartialEq)]
struct Comment {
    id: i64,
    post_id: i64,
    #[model(column = "content")]
    body: String,
}

#[derive(Model, Debug, Clone, Default, PartialEq)]
#[model(table = "documents")]
struct Doc {
    id: Uuid,
    name: String,
    created_at: DateTime<Utc>,
}

fn ddl(backend: Backend) -> [&'static str; 3] {
    match backend {
        Backend::Sqlite => [
            "CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, title VARCHAR(100) NOT NULL UNIQUE CHECK (length(title) <= 100), body TEXT, views INTEGER NOT NULL, published BOOLEAN NOT NULL, lock_version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deleted_at TEXT)",
            "CREATE TABLE comments (id INTEGER PRIMARY KEY AUTOINCREMENT, post_id INTEGER NOT NULL REFERENCES posts (id), content TEXT NOT NULL)",
            "CREATE TABLE documents (id BLOB PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)",
        ],
        Backend::Postgres => [
            "CREATE TABLE posts (id BIGSERIAL PRIMARY KEY, title VARCHAR(100) NOT NULL UNIQUE, body TEXT, views INTEGER NOT NULL, published BOOLEAN NOT NULL, lock_version INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, deleted_at TIMESTAMPTZ)",
            "CREATE TABLE comments (id BIGSERIAL PRIMARY KEY, post_id BIGINT NOT NULL REFERENCES posts (id), content TEXT NOT NULL)",
            "CREATE TABLE documents (id UUID PRIMARY KEY, name TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)",
        ],
        Backend::MySql => [
            "CREATE TABLE posts (id BIGINT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(100) NOT NULL UNIQUE, body TEXT, views INT NOT NULL, published BOOLEAN NOT NULL, lock_version INT NOT NULL, created_at DATETIME(6) NOT NULL, updated_at DATETIME(6) NOT NULL, deleted_at DATETIME(6))",
            "CREATE TABLE comments (id BIGINT AUTO_INCREMENT PRIMARY KEY, post_id BIGINT NOT NULL, content TEXT NOT NULL, FOREIGN KEY (post_id) REFERENCES posts (id))",
            "CREATE TABLE documents (id BINARY(16) PRIMARY KEY, name TEXT NOT NULL, created_at DATETIME(6) NOT NULL)",
        ],
    }
}

/// A fresh database on `backend` with this module's tables.
async fn fresh(backend: Backend) -> TestDb {
    let t = TestDb::new(backend).await;
    for statement in ddl(backend) {
        exec(&t.db, statement)
            .await
            .expect("the tables of the model tests");
    }
    t
}

fn post(title: &str, views: i32) -> Post {
    Post {
        title: title.to_string(),
        views,
        ..Post::default()
    }
}

/// Counts the statements the repository runs (its `cortex_data::sql` trace events) on this
/// thread while `f` runs.
async fn statements_during<F: std::future::Future>(f: F) -> (F::Output, usize) {
    use tracing_subscriber::layer::SubscriberExt;

    struct Count(Arc<AtomicUsize>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if event.metadata().target() == "cortex_data::sql" {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    let count = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::TRACE)
        .with(Count(count.clone()));
    let _guard = tracing::subscriber::set_default(subscriber);
    let output = f.await;
    (output, count.load(Ordering::SeqCst))
}

#[tokio::test]
async fn crud_with_integer_keys_and_timestamps() {
    for backend in ALL {
        let t = fresh(backend).await;
        let posts = Repo::<Post>::new(t.db.clone());

        let before = Utc::now() - chrono::Duration::seconds(1);
        let mut given = post("Hello", 3);
        given.created_at = DateTime::<Utc>::UNIX_EPOCH;
        let first = posts.insert(&given).await.unwrap();
        assert!(first.id > 0, "{backend}");
        assert!(
            first.created_at > before,
            "{backend}: created_at is set on insert"
        );
        assert_eq!(first.created_at, first.updated_at, "{backend}");
        assert_eq!(first.lock_version, 1, "{backend}");
        assert_eq!(
            (first.title.as_str(), first.views, first.body.as_deref()),
            ("Hello", 3, None)
        );

        assert_eq!(
            posts.get(first.id).await.unwrap(),
            first,
            "{backend}: reads what was stored"
        );
        assert_eq!(posts.find(first.id + 100).await.unwrap(), None);
        let missing = posts.get(first.id + 100).await.unwrap_err();
        assert!(
            matches!(missing, DataError::NotFound { entity: "Post", .. }),
            "{missing:?}"
        );
        assert_eq!(missing.status(), 404);
        assert_eq!(
            missing.to_string(),
            format!("Post {} was not found", first.id + 100)
        );

        // save: every column, updated_at moves, created_at stays, the version is bumped
        let mut edited = first.clone();
        edited.body = Some("text".into());
        edited.created_at = DateTime::<Utc>::UNIX_EPOCH;
        let saved = posts.save(&edited).await.unwrap();
        assert_eq!(saved.body.as_deref(), Some("text"));
        assert_eq!(saved.created_at, first.created_at, "{backend}");
        assert!(saved.updated_at >= first.updated_at, "{backend}");
        assert_eq!(saved.lock_version, 2, "{backend}");

        // partial update: only the columns set
        exec(&t.db, "UPDATE posts SET views = 50").await.unwrap();
        let updated = posts
            .update(first.id)
            .set(Post::TITLE, "Renamed")
            .exec()
            .await
            .unwrap();
        assert_eq!(
            (updated.title.as_str(), updated.views),
            ("Renamed", 50),
            "{backend}: views untouched"
        );
        assert_eq!(updated.lock_version, 3);
        let cleared = posts
            .update(first.id)
            .set_null(Post::BODY)
            .exec()
            .await
            .unwrap();
        assert_eq!(cleared.body, None);
        let gone = posts
            .update(first.id + 100)
            .set(Post::VIEWS, 1)
            .exec()
            .await
            .unwrap_err();
        assert!(
            matches!(gone, DataError::NotFound { .. }),
            "{backend}: {gone:?}"
        );

        // bulk insert, count, exists
        let many = posts
            .insert_many(&[post("a", 1), post("b", 2), post("c", 3)])
            .await
            .unwrap();
        assert_eq!(
            many.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(many.iter().map(|p| p.id).collect::<HashSet<_>>().len(), 3);
        assert!(many.iter().all(|p| p.id > first.id && p.lock_version == 1));
        assert_eq!(posts.count(Query::new()).await.unwrap(), 4);
        assert!(posts.exists(Post::TITLE.eq("b")).await.unwrap());
        assert!(!posts.exists(Post::TITLE.eq("z")).await.unwrap());

        // a bulk insert that fails half-way inserts nothing
        let failed = posts
            .insert_many(&[post("d", 1), post("a", 1)])
            .await
            .unwrap_err();
        assert!(
            matches!(failed, DataError::Conflict { .. }),
            "{backend}: {failed:?}"
        );
        assert_eq!(failed.status(), 409);
        assert_eq!(
            posts.count(Query::new()).await.unwrap(),
            4,
            "{backend}: atomic"
        );

        // hard delete of a model without deleted_at
        let comments = Repo::<Comment>::new(t.db.clone());
        let c = comments
            .insert(&Comment {
                post_id: first.id,
                body: "hi".into(),
                ..Comment::default()
            })
            .await
            .unwrap();
        comments.delete(c.id).await.unwrap();
        assert_eq!(comments.with_deleted().find(c.id).await.unwrap(), None);
        assert!(matches!(
            comments.delete(c.id).await,
            Err(DataError::NotFound { .. })
        ));

        t.drop_db().await;
    }
}

#[tokio::test]
async fn uuid_keys_are_generated_as_v7_unless_given() {
    for backend in ALL {
        let t = fresh(backend).await;
        let docs = Repo::<Doc>::new(t.db.clone());
        let made = docs
            .insert(&Doc {
                name: "a".into(),
                ..Doc::default()
            })
            .await
            .unwrap();
        assert_eq!(made.id.get_version_num(), 7, "{backend}");
        let chosen = Uuid::new_v4();
        let kept = docs
            .insert(&Doc {
                id: chosen,
                name: "b".into(),
                ..Doc::default()
            })
            .await
            .unwrap();
        assert_eq!(kept.id, chosen, "{backend}");
        assert_eq!(docs.get(made.id).await.unwrap(), made, "{backend}");
        let both = docs
            .find_many(Doc::ID.is_in([made.id, chosen]))
            .await
            .unwrap();
        assert_eq!(both.len(), 2, "{backend}");
        let many = docs
            .insert_many(&[
                Doc {
                    name: "c".into(),
                    ..Doc::default()
                },
                Doc {
                    name: "d".into(),
                    ..Doc::default()
                },
            ])
            .await
            .unwrap();
        assert_ne!(many[0].id, many[1].id);
        docs.delete(chosen).await.unwrap();
        assert_eq!(docs.count(Query::new()).await.unwrap(), 3, "{backend}");
        t.drop_db().await;
    }
}

#[tokio::test]
async fn soft_delete_hides_rows_until_restored() {
    for backend in ALL {
        let t = fresh(backend).await;
        let posts = Repo::<Post>::new(t.db.clone());
        let kept = posts.insert(&post("kept", 1)).await.unwrap();
        let p = posts.insert(&post("deleted", 1)).await.unwrap();

        posts.delete(p.id).await.unwrap();
        assert_eq!(posts.find(p.id).await.unwrap(), None, "{backend}");
        assert_eq!(posts.count(Query::new()).await.unwrap(), 1);
        assert_eq!(
            posts.find_many(Query::new()).await.unwrap(),
            vec![kept.clone()]
        );
        assert_eq!(posts.count(Query::new().with_deleted()).await.unwrap(), 2);
        let hidden = posts.with_deleted().get(p.id).await.unwrap();
        assert!(hidden.deleted_at.is_some(), "{backend}");
        assert!(
            matches!(posts.delete(p.id).await, Err(DataError::NotFound { .. })),
            "twice"
        );
        assert!(
            matches!(posts.save(&hidden).await, Err(DataError::NotFound { .. })),
            "{backend}: a deleted row is not saved"
        );

        let back = posts.restore(p.id).await.unwrap();
        assert_eq!(back.deleted_at, None, "{backend}");
        assert!(matches!(
            posts.restore(p.id).await,
            Err(DataError::NotFound { .. })
        ));
        assert_eq!(posts.count(Query::new()).await.unwrap(), 2);

        posts.delete(p.id).await.unwrap();
        posts.force_delete(p.id).await.unwrap();
        assert_eq!(
            posts.with_deleted().find(p.id).await.unwrap(),
            None,
            "{backend}"
        );
        assert!(matches!(
            posts.force_delete(p.id).await,
            Err(DataError::NotFound { .. })
        ));
        t.drop_db().await;
    }
}

#[tokio::test]
async fn of_two_concurrent_updates_of_one_version_one_wins_and_one_conflicts() {
    for backend in ALL {
        let t = fresh(backend).await;
        let posts = Repo::<Post>::new(t.db.clone());
        let p = posts.insert(&post("locked", 1)).await.unwrap();
        let (mut a, mut b) = (
            posts.get(p.id).await.unwrap(),
            posts.get(p.id).await.unwrap(),
        );
        a.views = 10;
        b.views = 20;
        let (ra, rb) = tokio::join!(posts.save(&a), posts.save(&b));
        let (won, lost) = match (ra, rb) {
            (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
            other => panic!("{backend}: one save must win and one conflict, got {other:?}"),
        };
        assert_eq!(won.lock_version, 2);
        assert!(
            matches!(&lost, DataError::Conflict { field: Some(f), .. } if f == "lock_version"),
            "{lost:?}"
        );
        assert_eq!(lost.status(), 409);
        let http = cortex_core::http::HttpError::from(lost);
        assert_eq!(http.status(), 409);
        assert_eq!(
            posts.get(p.id).await.unwrap().views,
            won.views,
            "{backend}: the winner's write stays"
        );

        // partial updates check the version when asked
        let stale = posts
            .update(p.id)
            .set(Post::VIEWS, 1)
            .if_version(1)
            .exec()
            .await
            .unwrap_err();
        assert!(
            matches!(stale, DataError::Conflict { .. }),
            "{backend}: {stale:?}"
        );
        let fresh = posts
            .update(p.id)
            .set(Post::VIEWS, 1)
            .if_version(2)
            .exec()
            .await
            .unwrap();
        assert_eq!(fresh.lock_version, 3);
        t.drop_db().await;
    }
}

#[tokio::test]
async fn filters_orderings_and_offset_pages() {
    for backend in ALL {
        let t = fresh(backend).await;
        let posts = Repo::<Post>::new(t.db.clone());
        let mut rows = Vec::new();
        for (i, title) in ["alpha", "beta", "gamma", "delta", "epsilon"]
            .iter()
            .enumerate()
        {
            let mut p = post(title, i32::try_from(i).unwrap() * 10);
            p.body = (i % 2 == 0).then(|| format!("body {i}"));
            p.published = i < 3;
            rows.push(p);
        }
        posts.insert_many(&rows).await.unwrap();

        let titles = |found: Vec<Post>| found.into_iter().map(|p| p.title).collect::<Vec<_>>();
        let by_views = |f: Filter<Post>| Query::from(f).order_by(Post::VIEWS.asc());
        let cases: Vec<(Filter<Post>, Vec<&str>)> = vec![
            (Post::VIEWS.eq(20), vec!["gamma"]),
            (
                Post::VIEWS.ne(20),
                vec!["alpha", "beta", "delta", "epsilon"],
            ),
            (Post::VIEWS.lt(20), vec!["alpha", "beta"]),
            (Post::VIEWS.le(20), vec!["alpha", "beta", "gamma"]),
            (Post::VIEWS.gt(20), vec!["delta", "epsilon"]),
            (Post::VIEWS.ge(20), vec!["gamma", "delta", "epsilon"]),
            (Post::TITLE.like("%lta"), vec!["delta"]),
            (
                Post::TITLE.is_in(["beta", "delta", "zeta"]),
                vec!["beta", "delta"],
            ),
            (Post::TITLE.is_in(Vec::<String>::new()), vec![]),
            (Post::BODY.is_null(), vec!["beta", "delta"]),
            (Post::BODY.is_not_null(), vec!["alpha", "gamma", "epsilon"]),
            (
                Post::PUBLISHED.eq(true).and(Post::VIEWS.gt(0)),
                vec!["beta", "gamma"],
            ),
            (
                Post::VIEWS.eq(0).or(Post::VIEWS.eq(40)),
                vec!["alpha", "epsilon"],
            ),
            (Post::PUBLISHED.eq(true).not(), vec!["delta", "epsilon"]),
            (
                Filter::all([]),
                vec!["alpha", "beta", "gamma", "delta", "epsilon"],
            ),
            (Filter::any([]), vec![]),
        ];
        for (filter, expected) in cases {
            let shown = format!("{filter:?}");
            assert_eq!(
                titles(posts.find_many(by_views(filter)).await.unwrap()),
                expected,
                "{backend}: {shown}"
            );
        }

        let page = Query::new().order_by(Post::VIEWS.desc()).limit(2).offset(1);
        assert_eq!(
            titles(posts.find_many(page.clone()).await.unwrap()),
            ["delta", "gamma"]
        );
        let (items, total) = posts
            .find_and_count(page.filter(Post::VIEWS.gt(0)))
            .await
            .unwrap();
        assert_eq!(
            (titles(items), total),
            (vec!["delta".to_string(), "gamma".into()], 4)
        );
        let skipped = Query::new().order_by(Post::VIEWS.asc()).offset(3);
        assert_eq!(
            titles(posts.find_many(skipped).await.unwrap()),
            ["delta", "epsilon"],
            "{backend}: offset alone"
        );
        let one = posts
            .find_one(Query::new().order_by(Post::VIEWS.desc()))
            .await
            .unwrap();
        assert_eq!(one.unwrap().title, "epsilon");
        t.drop_db().await;
    }
}

#[tokio::test]
async fn keyset_pages_cover_every_row_once_across_ties() {
    for backend in ALL {
        let t = fresh(backend).await;
        let posts = Repo::<Post>::new(t.db.clone());
        let views = [5, 5, 5, 3, 3, 1, 1];
        let rows: Vec<Post> = views
            .iter()
            .enumerate()
            .map(|(i, v)| post(&format!("p{i}"), *v))
            .collect();
        let stored = posts.insert_many(&rows).await.unwrap();
        let mut expected: Vec<(i32, i64)> = stored.iter().map(|p| (p.views, p.id)).collect();
        expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));

        // through the typed API
        let mut seen = Vec::new();
        let mut query = Query::new().order_by(Post::VIEWS.desc()).limit(3);
        let mut pages = 0;
        loop {
            let page = posts.find_page(query.clone()).await.unwrap();
            pages += 1;
            seen.extend(page.items.iter().map(|p| (p.views, p.id)));
            match page.next_cursor {
                Some(cursor) => query = query.after(cursor).unwrap(),
                None => break,
            }
        }
        assert_eq!(pages, 3, "{backend}");
        assert_eq!(seen, expected, "{backend}: every row once, in order");

        // through query strings, as a client pages
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut params = vec![
                ("sort".to_string(), "-views".to_string()),
                ("limit".into(), "2".into()),
            ];
            if let Some(cursor) = &after {
                params.push(("after".into(), cursor.clone()));
            }
            let page = posts
                .find_page(Query::from_params(params).unwrap())
                .await
                .unwrap();
            let json = serde_json::to_value(&page).unwrap();
            seen.extend(page.items.iter().map(|p| (p.views, p.id)));
            match json["next_cursor"].as_str() {
                Some(cursor) => after = Some(cursor.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, expected, "{backend}: the same through query strings");

        // ties on a timestamp: insert_many stamps every row with the same created_at
        let by_time = Query::new().order_by(Post::CREATED_AT.desc()).limit(3);
        let mut seen = Vec::new();
        let mut query = by_time.clone();
        loop {
            let page = posts.find_page(query.clone()).await.unwrap();
            seen.extend(page.items.iter().map(|p| p.id));
            match page.next_cursor {
                Some(cursor) => query = by_time.clone().after(cursor).unwrap(),
                None => break,
            }
        }
        let mut ids: Vec<i64> = stored.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        assert_eq!(seen, ids, "{backend}: equal timestamps are paged by key");

        // a filter narrows the pages
        let filtered = posts
            .find_page(
                Query::new()
                    .filter(Post::VIEWS.lt(5))
                    .order_by(Post::VIEWS.asc())
                    .limit(10),
            )
            .await
            .unwrap();
        assert_eq!(filtered.items.len(), 4);
        assert!(filtered.next_cursor.is_none());

        // a cursor for another ordering, or not a cursor, is a 400
        let first = posts
            .find_page(Query::new().order_by(Post::VIEWS.desc()).limit(2))
            .await
            .unwrap();
        let cursor = first.next_cursor.unwrap().to_string();
        let other = Query::<Post>::from_params([("sort", "views"), ("after", cursor.as_str())])
            .unwrap_err();
        assert_eq!(other, QueryError::Cursor);
        let garbage = Query::<Post>::from_params([("after", "not a cursor")]).unwrap_err();
        assert_eq!(garbage, QueryError::Cursor);
        assert_eq!(cortex_core::http::HttpError::from(garbage).status(), 400);

        // nullable ordering columns cannot page by keyset
        let nullable = posts
            .find_page(Query::new().order_by(Post::BODY.asc()))
            .await
            .unwrap_err();
        assert!(
            nullable.to_string().contains("`body`, which is nullable"),
            "{nullable}"
        );
        t.drop_db().await;
    }
}

#[tokio::test]
async fn relations_load_in_one_statement_per_relation() {
    for backend in ALL {
        let t = fresh(backend).await;
        let posts = Repo::<Post>::new(t.db.clone());
        let comments = Repo::<Comment>::new(t.db.clone());
        let parents = posts
            .insert_many(&[post("one", 1), post("two", 2), post("three", 3)])
            .await
            .unwrap();
        let mut children = Vec::new();
        for (parent, n) in parents.iter().zip([2, 0, 3]) {
            for i in 0..n {
                children.push(Comment {
                    post_id: parent.id,
                    body: format!("{}-{i}", parent.title),
                    ..Comment::default()
                });
            }
        }
        comments.insert_many(&children).await.unwrap();

        let page = posts
            .find_many(Query::new().order_by(Post::ID.asc()))
            .await
            .unwrap();
        let (by_post, statements) =
            statements_during(posts.has_many(&page, Comment::POST_ID)).await;
        let by_post = by_post.unwrap();
        assert_eq!(
            statements, 1,
            "{backend}: one statement for the page's children"
        );
        let bodies = |id: i64| {
            by_post[&id]
                .iter()
                .map(|c| c.body.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(bodies(parents[0].id), ["one-0", "one-1"]);
        assert_eq!(bodies(parents[1].id), Vec::<String>::new());
        assert_eq!(bodies(parents[2].id), ["three-0", "three-1", "three-2"]);

        let all = comments.find_many(Query::new()).await.unwrap();
        let (owners, statements) =
            statements_during(comments.belongs_to::<Post>(&all, Comment::POST_ID)).await;
        let owners = owners.unwrap();
        assert_eq!(
            statements, 1,
            "{backend}: one statement for the comments' posts"
        );
        assert_eq!(owners.len(), 2);
        assert_eq!(owners[&parents[2].id].title, "three");

        // a soft-deleted parent is not loaded; nothing to load is no statement
        posts.delete(parents[2].id).await.unwrap();
        let owners = comments
            .belongs_to::<Post>(&all, Comment::POST_ID)
            .await
            .unwrap();
        assert_eq!(owners.len(), 1, "{backend}");
        let (empty, statements) = statements_during(posts.has_many(&[], Comment::POST_ID)).await;
        assert!(empty.unwrap().is_empty());
        assert_eq!(statements, 0);
        t.drop_db().await;
    }
}

#[tokio::test]
async fn statements_are_counted_by_model_and_operation_in_the_stats() {
    for backend in ALL {
        let t = fresh(backend).await;
        let posts = Repo::<Post>::new(t.db.clone());
        let count = |name: &str| {
            t.db.stats()
                .statements
                .iter()
                .find(|s| s.statement == name)
                .map_or(0, |s| s.count)
        };
        assert_eq!(t.db.stats().queries, 0, "{backend}: nothing run yet");
        let p = posts.insert(&post("counted", 1)).await.unwrap();
        posts.find(p.id).await.unwrap();
        posts.find(p.id).await.unwrap();
        // A failed statement is counted too.
        posts.get(p.id + 1000).await.unwrap_err();
        assert_eq!(count("Post::find"), 3, "{backend}: {:?}", t.db.stats());
        assert!(count("Post::insert") >= 1, "{backend}: {:?}", t.db.stats());
        // In a transaction, on the database it was begun on.
        let mut tx = t.db.begin().await.unwrap();
        posts.on(&mut tx).find_many(Query::new()).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(count("Post::select"), 1, "{backend}: {:?}", t.db.stats());
        let stats = t.db.stats();
        assert_eq!(
            stats.queries,
            stats.statements.iter().map(|s| s.count).sum::<u64>()
        );
        assert!(stats.query_time > std::time::Duration::ZERO);
        t.drop_db().await;
    }
}

#[tokio::test]
async fn transactions_commit_or_roll_back_repository_writes() {
    for backend in ALL {
        let t = fresh(backend).await;
        let posts = Repo::<Post>::new(t.db.clone());

        let mut tx = t.db.begin().await.unwrap();
        let p = posts
            .on(&mut tx)
            .insert(&post("rolled back", 1))
            .await
            .unwrap();
        assert_eq!(
            posts.on(&mut tx).get(p.id).await.unwrap().title,
            "rolled back"
        );
        tx.rollback().await.unwrap();
        assert_eq!(posts.find(p.id).await.unwrap(), None, "{backend}");

        let mut tx = t.db.begin().await.unwrap();
        let p = posts.on(&mut tx).insert(&post("kept", 1)).await.unwrap();
        let p = posts
            .on(&mut tx)
            .update(p.id)
            .set(Post::VIEWS, 9)
            .exec()
            .await
            .unwrap();
        posts
            .on(&mut tx)
            .insert_many(&[post("kept too", 2)])
            .await
            .unwrap();
        assert_eq!(posts.on(&mut tx).count(Query::new()).await.unwrap(), 2);
        tx.commit().await.unwrap();
        assert_eq!(posts.get(p.id).await.unwrap().views, 9, "{backend}");
        assert_eq!(posts.count(Query::new()).await.unwrap(), 2);
        t.drop_db().await;
    }
}

#[tokio::test]
async fn overlong_strings_are_refused_with_422() {
    for backend in ALL {
        let t = fresh(backend).await;
        let posts = Repo::<Post>::new(t.db.clone());
        let error = posts.insert(&post(&"x".repeat(101), 1)).await.unwrap_err();
        assert!(
            matches!(error, DataError::Constraint { .. }),
            "{backend}: {error:?}"
        );
        assert_eq!(error.status(), 422, "{backend}");
        if backend == Backend::MySql {
            assert!(
                matches!(&error, DataError::Constraint { field: Some(f), .. } if f == "title"),
                "{error:?}"
            );
        }
        assert_eq!(posts.count(Query::new()).await.unwrap(), 0);
        t.drop_db().await;
    }
}

#[tokio::test]
async fn query_strings_filter_and_refuse_what_the_model_does_not_have() {
    let t = fresh(Backend::Sqlite).await;
    let posts = Repo::<Post>::new(t.db.clone());
    posts
        .insert_many(&[post("a", 1), post("b", 5), post("c", 9)])
        .await
        .unwrap();

    let query = Query::<Post>::from_params([
        ("views[ge]", "5"),
        ("sort", "-views"),
        ("title[in]", "a,b,c"),
    ])
    .unwrap();
    let found = posts.find_many(query).await.unwrap();
    assert_eq!(
        found.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(),
        ["c", "b"]
    );
    let query = Query::<Post>::from_params([
        ("body[null]", "true"),
        ("limit", "1"),
        ("offset", "1"),
        ("sort", "title"),
    ])
    .unwrap();
    assert_eq!(posts.find_many(query).await.unwrap()[0].title, "b");

    let refused: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("titel", "x")],
            "`titel`: Post has no column `titel`; hint: did you mean `title`?",
        ),
        (
            vec![("sort", "-nope")],
            "`sort`: Post has no column `nope`; hint: filter and sort by one of: id, title, body, views, published, lock_version, created_at, updated_at, deleted_at",
        ),
        (
            vec![("views[gt]", "many")],
            "`views[gt]`: `many` is not a valid integer",
        ),
        (
            vec![("views[has]", "1")],
            "`views[has]`: unknown operator `has`; hint: use one of eq, ne, lt, le, gt, ge, like, in, null",
        ),
        (
            vec![("views[like]", "1")],
            "`views[like]`: `like` compares text, and `views` holds integer; hint: use eq, lt or gt",
        ),
        (
            vec![("limit", "0")],
            "`limit`: `0` is not a limit; hint: use a whole number from 1 to 1000",
        ),
        (
            vec![("limit", "5000")],
            "`limit`: `5000` is not a limit; hint: use a whole number from 1 to 1000",
        ),
        (
            vec![("created_at[lt]", "yesterday")],
            "`created_at[lt]`: `yesterday` is not a valid timestamp (RFC 3339, e.g. 2026-01-31T12:00:00Z)",
        ),
        (
            vec![("views[gt", "1")],
            "`views[gt`: an operator is written `column[op]`; hint: close the bracket",
        ),
    ];
    for (params, message) in refused {
        let error = Query::<Post>::from_params(params.clone()).unwrap_err();
        assert_eq!(error.to_string(), message, "{params:?}");
    }

    // through the extractor: a problem+json 400 naming the parameter
    let (mut parts, ()) = http::Request::builder()
        .uri("/posts?views%5Bgt%5D=x")
        .body(())
        .unwrap()
        .into_parts();
    let rejection = Filters::<Post>::from_request_parts(&mut parts, &())
        .await
        .unwrap_err();
    let response = rejection.into_response();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let (mut parts, ()) = http::Request::builder()
        .uri("/posts?views%5Bgt%5D=4&sort=title")
        .body(())
        .unwrap()
        .into_parts();
    let Filters(query) = Filters::<Post>::from_request_parts(&mut parts, &())
        .await
        .unwrap();
    assert_eq!(posts.count(query).await.unwrap(), 2);
    t.drop_db().await;
}
