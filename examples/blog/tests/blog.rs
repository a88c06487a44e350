//! The blog through HTTP, in-process, each test on a database of its own (the data layer's test
//! kit): SQLite by default, PostgreSQL or MariaDB with
//! `CORTEX_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` (build with
//! `--features postgres`; `scripts/test` runs them both ways).

use blog::posts::{Comment, Post, PostWithComments};
use cortex::App;
use cortex::data::testing::{DataTestApp, TestAppDataExt as _};
use cortex::testing::{TestApp, config};
use serde_json::{Value, json};

/// The app from its own configuration (the `test` profile) and everything it declares, on a
/// fresh database migrated with its migrations.
async fn app() -> DataTestApp {
    TestApp::with_database(App::with_config(config(env!("CARGO_MANIFEST_DIR"))).discover()).await
}

/// `count` posts titled `post 1`… through the API, in order, and their ids.
async fn seed_posts(app: &DataTestApp, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in 1..=count {
        let post: Post = app
            .post("/posts")
            .json(&json!({ "title": format!("post {n}") }))
            .await
            .assert_status(201)
            .json();
        ids.push(post.id);
    }
    ids
}

#[tokio::test]
async fn posts_are_created_shown_and_deleted_with_their_comments() {
    let app = app().await;
    let created = app
        .post("/posts")
        .json(&json!({ "title": "  Hello  ", "body": "First!" }))
        .await;
    created.assert_status(201);
    let post: Post = created.json();
    assert_eq!(
        created.header("location"),
        Some(&*format!("/posts/{}", post.id))
    );
    assert_eq!((post.title.as_str(), post.version), ("Hello", 1));

    let comment: Comment = app
        .post(format!("/posts/{}/comments", post.id))
        .json(&json!({ "author": "ann", "body": "Nice" }))
        .await
        .assert_status(201)
        .json();
    assert_eq!(comment.post_id, post.id);

    let shown: PostWithComments = app
        .get(format!("/posts/{}", post.id))
        .await
        .assert_status(200)
        .json();
    assert_eq!(shown.post, post);
    assert_eq!(shown.comments, [comment]);

    app.delete(format!("/posts/{}", post.id))
        .await
        .assert_status(204);
    let problem = app
        .get(format!("/posts/{}", post.id))
        .await
        .assert_problem(404);
    assert!(
        problem["detail"].as_str().unwrap().contains("Post"),
        "{problem}"
    );
    assert_eq!(
        app.repo::<Comment>()
            .count(cortex::data::Query::new())
            .await
            .unwrap(),
        0,
        "the comments go with the post"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_list_pages_by_keyset_newest_first_with_comments_in_one_query() {
    let app = app().await;
    let ids = seed_posts(&app, 5).await;
    // Two comments on the newest post, one on the oldest, through the factory.
    let comments = app.factory(|n| Comment {
        author: "bob".into(),
        body: format!("comment {n}"),
        ..Comment::default()
    });
    comments.create_many(2, |c, _| c.post_id = ids[4]).await;
    comments.create(|c| c.post_id = ids[0]).await;

    let first: Value = app.get("/posts?limit=2").await.assert_status(200).json();
    let titles = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(titles(&first), ["post 5", "post 4"]);
    assert_eq!(first["items"][0]["comments"].as_array().unwrap().len(), 2);
    assert_eq!(first["items"][1]["comments"], json!([]));

    // A post written between two pages does not shift the next page (keyset, not offset).
    seed_posts(&app, 1).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .get(format!("/posts?limit=2&after={cursor}"))
        .await
        .assert_status(200)
        .json();
    assert_eq!(titles(&second), ["post 3", "post 2"]);
    let cursor = second["next_cursor"].as_str().unwrap();
    let last: Value = app
        .get(format!("/posts?limit=2&after={cursor}"))
        .await
        .assert_status(200)
        .json();
    assert_eq!(titles(&last), ["post 1"]);
    assert_eq!(last["items"][0]["comments"][0]["body"], "comment 3");
    assert_eq!(last["next_cursor"], Value::Null);

    // A post's comments page too, oldest first.
    let page: Value = app
        .get(format!("/posts/{}/comments?limit=1", ids[4]))
        .await
        .assert_status(200)
        .json();
    assert_eq!(page["items"][0]["body"], "comment 1");
    let cursor = page["next_cursor"].as_str().unwrap();
    let page: Value = app
        .get(format!("/posts/{}/comments?limit=1&after={cursor}", ids[4]))
        .await
        .assert_status(200)
        .json();
    assert_eq!(page["items"][0]["body"], "comment 2");
    app.shutdown().await;
}

#[tokio::test]
async fn a_stale_edit_is_a_conflict() {
    let app = app().await;
    let post: Post = app
        .post("/posts")
        .json(&json!({ "title": "Draft" }))
        .await
        .assert_status(201)
        .json();

    // Ann and Bob both read version 1; Ann saves first.
    let ann: Post = app
        .put(format!("/posts/{}", post.id))
        .json(&json!({ "title": "Ann's", "body": "", "version": 1 }))
        .await
        .assert_status(200)
        .json();
    assert_eq!(ann.version, 2);
    let problem = app
        .put(format!("/posts/{}", post.id))
        .json(&json!({ "title": "Bob's", "body": "", "version": 1 }))
        .await
        .assert_problem(409);
    assert_eq!(problem["status"], 409);
    let stored = app.repo::<Post>().get(post.id).await.unwrap();
    assert_eq!((stored.title.as_str(), stored.version), ("Ann's", 2));

    // Bob reads again and saves on the current version.
    app.put(format!("/posts/{}", post.id))
        .json(&json!({ "title": "Bob's", "body": "", "version": 2 }))
        .await
        .assert_status(200);
    app.put("/posts/999999")
        .json(&json!({ "title": "x", "body": "", "version": 1 }))
        .await
        .assert_problem(404);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_answered_with_problem_details() {
    let app = app().await;
    let problem = app
        .post("/posts")
        .json(&json!({ "title": "   " }))
        .await
        .assert_problem(422);
    assert!(problem.to_string().contains("title"), "{problem}");
    app.post("/posts")
        .json(&json!({ "title": "x".repeat(201) }))
        .await
        .assert_problem(422);
    app.post("/posts")
        .json(&json!({ "title": "ok", "author": "?" }))
        .await
        .assert_problem(422);
    app.get("/posts?limit=0").await.assert_problem(422);
    app.get("/posts?limit=101").await.assert_problem(422);
    app.get("/posts?limit=ten").await.assert_problem(400);
    app.get("/posts?after=not-a-cursor")
        .await
        .assert_problem(400);
    app.get("/posts/abc").await.assert_problem(400);
    app.post("/posts/424242/comments")
        .json(&json!({ "author": "ann", "body": "hi" }))
        .await
        .assert_problem(404);
    app.get("/posts/424242/comments").await.assert_problem(404);
    app.post("/posts/1/comments")
        .json(&json!({ "author": "", "body": "hi" }))
        .await
        .assert_problem(422);
    // Nothing was written.
    assert_eq!(
        app.repo::<Post>()
            .count(cortex::data::Query::new())
            .await
            .unwrap(),
        0
    );
    app.shutdown().await;
}

#[tokio::test]
async fn tests_run_on_databases_of_their_own() {
    let (a, b) = tokio::join!(app(), app());
    seed_posts(&a, 2).await;
    let listed: Value = b.get("/posts").await.assert_status(200).json();
    assert_eq!(listed["items"], json!([]));
    assert_ne!(a.database().name(), b.database().name());
    // The backend CORTEX_TEST_DATABASE_URL names (SQLite without it).
    let wanted = std::env::var(cortex::data::testing::TEST_DATABASE_URL)
        .ok()
        .filter(|url| !url.is_empty())
        .and_then(|url| cortex::data::Backend::from_url(&url))
        .unwrap_or(cortex::data::Backend::Sqlite);
    assert_eq!(a.db().backend(), wanted);
}
