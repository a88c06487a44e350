//! The blog through HTTP, in-process, each test on a database of its own (the data layer's test
//! kit): SQLite by default, PostgreSQL or MariaDB with
//! `CORTEX_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` (build with
//! `--features postgres`; `scripts/test` runs them both ways).

use blog::posts::{Comment, Post, PostWithComments};
use blog::users::User;
use cortex::App;
use cortex::data::testing::{DataTestApp, TestAppDataExt as _};
use cortex::testing::{TestApp, config};
use serde_json::{Value, json};

/// The app from its own configuration (the `test` profile) and everything it declares, on a
/// fresh database migrated with its migrations.
async fn app() -> DataTestApp {
    TestApp::with_database(App::with_config(config(env!("CARGO_MANIFEST_DIR"))).discover()).await
}

const PASSWORD: &str = "correct horse battery staple";

/// Registers `email` (an author) through the API, and its id.
async fn register(app: &DataTestApp, email: &str) -> i64 {
    let user: Value = app
        .post("/auth/register")
        .json(&json!({ "email": email, "password": PASSWORD }))
        .await
        .assert_status(201)
        .json();
    assert_eq!(user["role"], "author");
    assert!(user.get("password_hash").is_none(), "{user}");
    user["id"].as_i64().unwrap()
}

/// Logs `email` in (from a client address: the login throttle counts by it): the token pair.
async fn log_in(app: &DataTestApp, email: &str, password: &str) -> cortex::testing::TestResponse {
    app.post("/auth/login")
        .peer("192.0.2.7:50000".parse().unwrap())
        .json(&json!({ "email": email, "password": password }))
        .await
}

/// A new author's access token.
async fn author(app: &DataTestApp, email: &str) -> String {
    register(app, email).await;
    access_token(&log_in(app, email, PASSWORD).await.assert_status(200).json())
}

/// A new admin's access token: an author promoted in the database (as the README does with SQL).
async fn admin(app: &DataTestApp) -> String {
    let id = register(app, "root@blog.example").await;
    app.repo::<User>()
        .update(id)
        .set(User::ROLE, "admin".to_string())
        .exec()
        .await
        .unwrap();
    let pair = log_in(app, "root@blog.example", PASSWORD).await;
    access_token(&pair.assert_status(200).json())
}

fn access_token(pair: &Value) -> String {
    assert_eq!(pair["token_type"], "Bearer");
    pair["access_token"].as_str().unwrap().to_string()
}

/// `count` posts titled `post 1`… through the API as the author of `token`, in order, and their
/// ids.
async fn seed_posts(app: &DataTestApp, token: &str, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in 1..=count {
        let post: Post = app
            .post("/posts")
            .bearer(token)
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
    let ann = author(&app, "ann@blog.example").await;
    let created = app
        .post("/posts")
        .bearer(&ann)
        .json(&json!({ "title": "  Hello  ", "body": "First!" }))
        .await;
    created.assert_status(201);
    let post: Post = created.json();
    assert_eq!(
        created.header("location"),
        Some(&*format!("/posts/{}", post.id))
    );
    assert_eq!((post.title.as_str(), post.version), ("Hello", 1));
    let users = app.repo::<User>();
    let ann_row = users.find_one(User::EMAIL.eq("ann@blog.example".to_string()));
    assert_eq!(post.author_id, ann_row.await.unwrap().unwrap().id);

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
        .bearer(&ann)
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
    let ann = author(&app, "ann@blog.example").await;
    let ids = seed_posts(&app, &ann, 5).await;
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
    seed_posts(&app, &ann, 1).await;
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
    let ann = author(&app, "ann@blog.example").await;
    let root = admin(&app).await;
    let post: Post = app
        .post("/posts")
        .bearer(&ann)
        .json(&json!({ "title": "Draft" }))
        .await
        .assert_status(201)
        .json();

    // Ann and an admin both read version 1; Ann saves first.
    let saved: Post = app
        .put(format!("/posts/{}", post.id))
        .bearer(&ann)
        .json(&json!({ "title": "Ann's", "body": "", "version": 1 }))
        .await
        .assert_status(200)
        .json();
    assert_eq!(saved.version, 2);
    let problem = app
        .put(format!("/posts/{}", post.id))
        .bearer(&root)
        .json(&json!({ "title": "Edited", "body": "", "version": 1 }))
        .await
        .assert_problem(409);
    assert_eq!(problem["status"], 409);
    let stored = app.repo::<Post>().get(post.id).await.unwrap();
    assert_eq!((stored.title.as_str(), stored.version), ("Ann's", 2));

    // The admin reads again and saves on the current version.
    app.put(format!("/posts/{}", post.id))
        .bearer(&root)
        .json(&json!({ "title": "Edited", "body": "", "version": 2 }))
        .await
        .assert_status(200);
    app.put("/posts/999999")
        .bearer(&root)
        .json(&json!({ "title": "x", "body": "", "version": 1 }))
        .await
        .assert_problem(404);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_answered_with_problem_details() {
    let app = app().await;
    let ann = author(&app, "ann@blog.example").await;
    let problem = app
        .post("/posts")
        .bearer(&ann)
        .json(&json!({ "title": "   " }))
        .await
        .assert_problem(422);
    assert!(problem.to_string().contains("title"), "{problem}");
    app.post("/posts")
        .bearer(&ann)
        .json(&json!({ "title": "x".repeat(201) }))
        .await
        .assert_problem(422);
    app.post("/posts")
        .bearer(&ann)
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
    let ann = author(&a, "ann@blog.example").await;
    seed_posts(&a, &ann, 2).await;
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

#[tokio::test]
async fn writing_needs_a_token_and_reading_does_not() {
    let app = app().await;
    let ann = author(&app, "ann@blog.example").await;
    let ids = seed_posts(&app, &ann, 1).await;

    // No token, or one that is not ours: 401 with the Bearer challenge, whatever the route.
    let post = json!({ "title": "Hi" });
    let edit = json!({ "title": "x", "body": "", "version": 1 });
    for refused in [
        app.post("/posts").json(&post).await,
        app.post("/posts").bearer("not.a.token").json(&post).await,
        app.put(format!("/posts/{}", ids[0])).json(&edit).await,
        app.delete(format!("/posts/{}", ids[0])).await,
        app.get("/admin/stats").await,
        app.delete("/admin/comments/1").await,
    ] {
        refused.assert_problem(401);
        assert!(
            refused
                .header("www-authenticate")
                .unwrap()
                .starts_with("Bearer"),
            "{:?}",
            refused.headers()
        );
    }

    // The reads (and comments) are `#[public]`.
    app.get("/posts").await.assert_status(200);
    app.get(format!("/posts/{}", ids[0]))
        .await
        .assert_status(200);
    app.post(format!("/posts/{}/comments", ids[0]))
        .json(&json!({ "author": "guest", "body": "hello" }))
        .await
        .assert_status(201);
    app.shutdown().await;
}

#[tokio::test]
async fn authors_change_their_own_posts_and_admins_any() {
    let app = app().await;
    let ann = author(&app, "ann@blog.example").await;
    let bob = author(&app, "bob@blog.example").await;
    let root = admin(&app).await;
    let ids = seed_posts(&app, &ann, 2).await;
    let edit = |version| json!({ "title": "Edited", "body": "", "version": version });

    // Bob is an author, but not this post's, nor an admin: 403 (PostPolicy, Role("admin")).
    app.put(format!("/posts/{}", ids[0]))
        .bearer(&bob)
        .json(&edit(1))
        .await
        .assert_problem(403);
    app.delete(format!("/posts/{}", ids[0]))
        .bearer(&bob)
        .await
        .assert_problem(403);
    app.get("/admin/stats")
        .bearer(&bob)
        .await
        .assert_problem(403);
    app.delete("/admin/comments/1")
        .bearer(&bob)
        .await
        .assert_problem(403);
    assert_eq!(app.repo::<Post>().get(ids[0]).await.unwrap().version, 1);

    // Its author may; so may an admin, on anyone's post.
    app.put(format!("/posts/{}", ids[0]))
        .bearer(&ann)
        .json(&edit(1))
        .await
        .assert_status(200);
    app.put(format!("/posts/{}", ids[0]))
        .bearer(&root)
        .json(&edit(2))
        .await
        .assert_status(200);
    app.delete(format!("/posts/{}", ids[1]))
        .bearer(&root)
        .await
        .assert_status(204);
    // An admin is an author too (`admin = { inherits = ["author"] }`).
    app.post("/posts")
        .bearer(&root)
        .json(&json!({ "title": "From the admin" }))
        .await
        .assert_status(201);

    // The admin routes.
    let comment: Comment = app
        .post(format!("/posts/{}/comments", ids[0]))
        .json(&json!({ "author": "spam", "body": "buy now" }))
        .await
        .assert_status(201)
        .json();
    let stats: Value = app
        .get("/admin/stats")
        .bearer(&root)
        .await
        .assert_status(200)
        .json();
    assert_eq!(stats, json!({ "users": 3, "posts": 2, "comments": 1 }));
    app.delete(format!("/admin/comments/{}", comment.id))
        .bearer(&root)
        .await
        .assert_status(204);
    assert!(
        app.repo::<Comment>()
            .find(comment.id)
            .await
            .unwrap()
            .is_none()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_are_the_same_401() {
    let app = app().await;
    register(&app, "ann@blog.example").await;

    let wrong = log_in(&app, "ann@blog.example", "not the password").await;
    let unknown = log_in(&app, "nobody@blog.example", PASSWORD).await;
    let (wrong, unknown) = (wrong.assert_problem(401), unknown.assert_problem(401));
    assert_eq!(wrong, unknown);
    // Emails are compared in lower case.
    log_in(&app, " Ann@Blog.Example ", PASSWORD)
        .await
        .assert_status(200);

    // Registration: an email taken (in any case) is a 409; bad input a 422.
    app.post("/auth/register")
        .json(&json!({ "email": "ANN@blog.example", "password": PASSWORD }))
        .await
        .assert_problem(409);
    app.post("/auth/register")
        .json(&json!({ "email": "bob@blog.example", "password": "short" }))
        .await
        .assert_problem(422);
    app.post("/auth/register")
        .json(&json!({ "email": "not an email", "password": PASSWORD }))
        .await
        .assert_problem(422);
    // The stored hash is argon2id, never the password.
    let ann = app
        .repo::<User>()
        .find_one(User::EMAIL.eq("ann@blog.example".to_string()))
        .await
        .unwrap()
        .unwrap();
    assert!(ann.password_hash.starts_with("$argon2id$"), "{ann:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_login() {
    let app = app().await;
    register(&app, "ann@blog.example").await;
    let login: Value = log_in(&app, "ann@blog.example", PASSWORD)
        .await
        .assert_status(200)
        .json();
    let first = login["refresh_token"].as_str().unwrap();

    // A refresh answers a new pair; its access token works.
    let refreshed: Value = app
        .post("/auth/refresh")
        .json(&json!({ "refresh_token": first }))
        .await
        .assert_status(200)
        .json();
    let second = refreshed["refresh_token"].as_str().unwrap();
    assert_ne!(first, second);
    app.post("/posts")
        .bearer(access_token(&refreshed))
        .json(&json!({ "title": "Refreshed" }))
        .await
        .assert_status(201);

    // The spent token again: a reuse. Refused, and the login's newer token with it.
    let reuse = json!({ "refresh_token": first });
    app.post("/auth/refresh")
        .json(&reuse)
        .await
        .assert_problem(401);
    app.post("/auth/refresh")
        .json(&json!({ "refresh_token": second }))
        .await
        .assert_problem(401);
    app.post("/auth/refresh")
        .json(&json!({ "refresh_token": "made-up" }))
        .await
        .assert_problem(401);

    // Logging out revokes the refresh token.
    let login: Value = log_in(&app, "ann@blog.example", PASSWORD)
        .await
        .assert_status(200)
        .json();
    let token = json!({ "refresh_token": login["refresh_token"] });
    app.post("/auth/logout")
        .json(&token)
        .await
        .assert_status(204);
    app.post("/auth/refresh")
        .json(&token)
        .await
        .assert_problem(401);
    app.shutdown().await;
}

/// The `observability` feature: `/metrics` answers (deny-by-default leaves operational routes
/// open) with the request just made, counted under its route template, not its raw path.
#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = app().await;
    let ann = author(&app, "ann@blog.example").await;
    let ids = seed_posts(&app, &ann, 2).await;
    for id in &ids {
        app.get(format!("/posts/{id}")).await.assert_status(200);
    }

    let text = app.get("/metrics").await.assert_status(200).text();
    let shown: Vec<&str> = text
        .lines()
        .filter(|line| {
            line.starts_with("http_server_request_duration_seconds_count{")
                && line.contains(r#"route="/posts/{id}""#)
                && line.contains(r#"method="GET""#)
                && line.contains(r#"status_class="2xx""#)
        })
        .collect();
    assert_eq!(shown.len(), 1, "one series for the template:\n{text}");
    let count: f64 = shown[0].rsplit(' ').next().unwrap().parse().unwrap();
    // At least these two (tests in one process share the recorder).
    assert!(count >= 2.0, "{}", shown[0]);
    for id in &ids {
        assert!(
            !text.contains(&format!("route=\"/posts/{id}\"")),
            "a raw path became a label:\n{text}"
        );
    }
    app.shutdown().await;
}
