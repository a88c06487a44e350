//! Repository calls against the same raw sqlx queries, in process (no HTTP), on PostgreSQL and
//! SQLite: `get` by key, `find_many` with a filter, an order and a limit of 50, and `insert`
//! (returning the row); each raw query is the SQL the repository writes, run on the same pool.
//! Then a page of 50 parents with their children: `has_many` (two statements) against loading
//! each parent's children in turn (51 statements).
//!
//! ```text
//! cargo bench -p cortex-data-bench --bench repository -- [--rounds 30] [--only get]
//!     [--backend sqlite]
//! ```
//!
//! `--only <operation> --side <raw_sqlx|repo|per_row|has_many> --count <n>` runs `n` operations
//! of one side and nothing else: `scripts/bench --data` runs that under callgrind, twice with
//! different counts, for the instructions of one operation (the whole process: on SQLite that is
//! the database's work too, on PostgreSQL the client's side only).
//!
//! The machine these run on is shared, and its speed drifts from second to second: rather than
//! time each side for seconds on end (criterion), each round runs a batch of the baseline and a
//! batch of the other side back to back (in alternating order), and the ratio is taken within the
//! round; the median over the rounds is reported with its range. Wall clock and the process's CPU
//! time (every thread: the runtime's, and SQLite's worker) are both reported. The statements each
//! way of loading the page runs are counted from the data layer's `cortex_data::sql` events.
#![allow(missing_docs)]

use cortex::data::sqlx::{self, Postgres, Sqlite};
use cortex::data::{Db, Query, Repo};
use cortex_data_bench::{
    Backend, Comment, Ids, Note, POSTS, Post, World, database, remove_sqlite_files,
};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

/// `find_many`'s filter: `randomnumber > 5000`, about half the table, so the ordered scan stops
/// after about 100 rows.
const THRESHOLD: i32 = 5000;

/// The SQL `Repo` writes, for each backend's placeholders.
struct RawSql {
    get: &'static str,
    find_many: &'static str,
    insert: &'static str,
}

const PG: RawSql = RawSql {
    get: r#"SELECT "id", "randomnumber" FROM "world" WHERE "id" = $1"#,
    find_many: r#"SELECT "id", "randomnumber" FROM "world" WHERE "randomnumber" > $1 ORDER BY "id" ASC LIMIT $2"#,
    insert: r#"INSERT INTO "bench_notes" ("title", "views") VALUES ($1, $2) RETURNING "id", "title", "views""#,
};

const SQLITE: RawSql = RawSql {
    get: r#"SELECT "id", "randomnumber" FROM "world" WHERE "id" = ?1"#,
    find_many: r#"SELECT "id", "randomnumber" FROM "world" WHERE "randomnumber" > ?1 ORDER BY "id" ASC LIMIT ?2"#,
    insert: r#"INSERT INTO "bench_notes" ("title", "views") VALUES (?1, ?2) RETURNING "id", "title", "views""#,
};

/// The raw queries on `db`'s own pool, whichever backend: the baseline.
async fn raw_get(db: &Db, id: i32) -> World {
    let (id, random_number) = if let Some(pool) = db.postgres() {
        sqlx::query_as::<Postgres, (i32, i32)>(PG.get)
            .bind(id)
            .fetch_one(pool)
            .await
    } else {
        sqlx::query_as::<Sqlite, (i32, i32)>(SQLITE.get)
            .bind(id)
            .fetch_one(db.sqlite().expect("SQLite"))
            .await
    }
    .expect("the row");
    World { id, random_number }
}

async fn raw_find_many(db: &Db) -> Vec<World> {
    if let Some(pool) = db.postgres() {
        sqlx::query_as::<Postgres, (i32, i32)>(PG.find_many)
            .bind(THRESHOLD)
            .bind(50_i64)
            .fetch_all(pool)
            .await
    } else {
        sqlx::query_as::<Sqlite, (i32, i32)>(SQLITE.find_many)
            .bind(THRESHOLD)
            .bind(50_i64)
            .fetch_all(db.sqlite().expect("SQLite"))
            .await
    }
    .expect("the rows")
    .into_iter()
    .map(|(id, random_number)| World { id, random_number })
    .collect()
}

async fn raw_insert(db: &Db, note: &Note) -> Note {
    let (id, title, views) = if let Some(pool) = db.postgres() {
        sqlx::query_as::<Postgres, (i64, String, i32)>(PG.insert)
            .bind(&note.title)
            .bind(note.views)
            .fetch_one(pool)
            .await
    } else {
        sqlx::query_as::<Sqlite, (i64, String, i32)>(SQLITE.insert)
            .bind(&note.title)
            .bind(note.views)
            .fetch_one(db.sqlite().expect("SQLite"))
            .await
    }
    .expect("the insert");
    Note { id, title, views }
}

fn find_many_query() -> Query<World> {
    Query::new()
        .filter(World::RANDOM_NUMBER.gt(THRESHOLD))
        .order_by(World::ID.asc())
        .limit(50)
}

/// A page of posts and their comments with `has_many`: two statements.
async fn page_has_many(posts: &Repo<Post>) -> usize {
    let page = posts
        .find_many(Query::new().order_by(Post::ID.asc()).limit(POSTS as u64))
        .await
        .expect("the posts");
    let comments = posts
        .has_many(&page, Comment::POST_ID)
        .await
        .expect("the comments");
    page.iter().map(|p| comments[&p.id].len()).sum()
}

/// The same page loading each post's comments in turn: 1 + 50 statements.
async fn page_per_row(posts: &Repo<Post>, comments: &Repo<Comment>) -> usize {
    let page = posts
        .find_many(Query::new().order_by(Post::ID.asc()).limit(POSTS as u64))
        .await
        .expect("the posts");
    let mut n = 0;
    for post in &page {
        let children = comments
            .find_many(
                Query::new()
                    .filter(Comment::POST_ID.eq(post.id))
                    .order_by(Comment::ID.asc()),
            )
            .await
            .expect("the comments");
        n += children.len();
    }
    n
}

/// CPU time of the whole process so far: every thread's `/proc/self/task/*/schedstat`.
fn process_cpu() -> Duration {
    let mut nanos = 0;
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task (Linux)") {
        let path = task.expect("a task").path().join("schedstat");
        // A thread may end between the listing and the read.
        if let Ok(text) = std::fs::read_to_string(path) {
            nanos += text
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(nanos)
}

/// Wall clock and process CPU of one batch, in microseconds per operation.
#[derive(Debug, Clone, Copy)]
struct Batch {
    wall: f64,
    cpu: f64,
}

fn timed(runtime: &Runtime, n: usize, mut op: impl AsyncFnMut()) -> Batch {
    let cpu = process_cpu();
    let start = Instant::now();
    runtime.block_on(async {
        for _ in 0..n {
            op().await;
        }
    });
    let wall = start.elapsed();
    let cpu = process_cpu().saturating_sub(cpu);
    Batch {
        wall: wall.as_secs_f64() * 1e6 / n as f64,
        cpu: cpu.as_secs_f64() * 1e6 / n as f64,
    }
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Runs `base` and `other` in `rounds` interleaved batches of `n` (after one batch of each as a
/// warm-up) and prints their medians and the median of the per-round ratios.
#[allow(clippy::too_many_arguments)]
fn compare(
    runtime: &Runtime,
    label: &str,
    rounds: usize,
    n: usize,
    names: (&str, &str),
    mut base: impl AsyncFnMut(),
    mut other: impl AsyncFnMut(),
) {
    timed(runtime, n, &mut base);
    timed(runtime, n, &mut other);
    let (mut b, mut o) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = timed(runtime, n, &mut base);
            (x, timed(runtime, n, &mut other))
        } else {
            let y = timed(runtime, n, &mut other);
            (timed(runtime, n, &mut base), y)
        };
        b.push(x);
        o.push(y);
    }
    let wall_ratio = median(b.iter().zip(&o).map(|(x, y)| y.wall / x.wall).collect());
    let cpu_ratio = median(b.iter().zip(&o).map(|(x, y)| y.cpu / x.cpu).collect());
    let m = |v: &[Batch], f: fn(&Batch) -> f64| median(v.iter().map(f).collect()).0;
    println!(
        "  {label:26} {:>8} {:>8.1} µs ({:>7.1} µs CPU)  {:>8} {:>8.1} µs ({:>7.1} µs CPU)  {}/{}: wall {:>5.3} ({:.3}–{:.3}), CPU {:>5.3} ({:.3}–{:.3})",
        names.0,
        m(&b, |x| x.wall),
        m(&b, |x| x.cpu),
        names.1,
        m(&o, |x| x.wall),
        m(&o, |x| x.cpu),
        names.1,
        names.0,
        wall_ratio.0,
        wall_ratio.1,
        wall_ratio.2,
        cpu_ratio.0,
        cpu_ratio.1,
        cpu_ratio.2,
    );
    println!(
        "result {label} {} {:.2} {:.2} {} {:.2} {:.2} {:.4} {:.4}",
        names.0,
        m(&b, |x| x.wall),
        m(&b, |x| x.cpu),
        names.1,
        m(&o, |x| x.wall),
        m(&o, |x| x.cpu),
        wall_ratio.0,
        cpu_ratio.0
    );
}

/// One side of one comparison: which operation, and the baseline or the other side.
#[derive(Debug, Clone, Copy)]
struct Count {
    op: &'static str,
    side: &'static str,
    n: usize,
}

fn bench_backend(backend: Backend, rounds: usize, only: Option<&str>, count: Option<Count>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let db = runtime.block_on(database(backend));
    let worlds = Repo::<World>::new(db.clone());
    let notes = Repo::<Note>::new(db.clone());
    let posts = Repo::<Post>::new(db.clone());
    let comments = Repo::<Comment>::new(db.clone());
    check(&runtime, &db, &worlds, &posts, &comments, backend);
    let name = backend.name();
    if let Some(Count { op, side, n }) = count {
        // Under callgrind (`scripts/bench --data`): `n` operations of one side and nothing else;
        // two runs with different `n` give the instructions of one operation.
        let note = Note {
            id: 0,
            title: "a note of some length, as a title would be".into(),
            views: 7,
        };
        let mut ids = Ids::new(19);
        runtime.block_on(async {
            for _ in 0..n {
                match (op, side) {
                    ("get", "raw_sqlx") => drop(black_box(raw_get(&db, ids.next_id()).await)),
                    ("get", _) => drop(black_box(worlds.get(ids.next_id()).await.expect("a row"))),
                    ("find_many", "raw_sqlx") => drop(black_box(raw_find_many(&db).await)),
                    ("find_many", _) => drop(black_box(
                        worlds.find_many(find_many_query()).await.expect("rows"),
                    )),
                    ("insert", "raw_sqlx") => drop(black_box(raw_insert(&db, &note).await)),
                    ("insert", _) => drop(black_box(notes.insert(&note).await.expect("a row"))),
                    ("page", "per_row") => drop(black_box(page_per_row(&posts, &comments).await)),
                    _ => drop(black_box(page_has_many(&posts).await)),
                }
            }
        });
        println!("count {name} {op} {side} {n}");
        runtime.block_on(db.close());
        remove_sqlite_files();
        return;
    }
    let wanted = |op: &str| only.is_none_or(|o| o == op);
    println!(
        "{name}: medians over {rounds} rounds (µs per operation; CPU: the whole process), ratios within each round:"
    );

    if wanted("get") {
        let (mut a, mut b) = (Ids::new(19), Ids::new(19));
        compare(
            &runtime,
            &format!("{name}_get"),
            rounds,
            200,
            ("raw_sqlx", "repo"),
            async || {
                black_box(raw_get(&db, a.next_id()).await);
            },
            async || {
                black_box(worlds.get(b.next_id()).await.expect("the row"));
            },
        );
    }
    if wanted("find_many") {
        compare(
            &runtime,
            &format!("{name}_find_many"),
            rounds,
            100,
            ("raw_sqlx", "repo"),
            async || {
                black_box(raw_find_many(&db).await);
            },
            async || {
                black_box(worlds.find_many(find_many_query()).await.expect("the rows"));
            },
        );
    }
    if wanted("insert") {
        let note = Note {
            id: 0,
            title: "a note of some length, as a title would be".into(),
            views: 7,
        };
        compare(
            &runtime,
            &format!("{name}_insert"),
            rounds,
            100,
            ("raw_sqlx", "repo"),
            async || {
                black_box(raw_insert(&db, &note).await);
            },
            async || {
                black_box(notes.insert(&note).await.expect("the insert"));
            },
        );
    }
    if wanted("page") {
        compare(
            &runtime,
            &format!("{name}_page_with_children"),
            rounds,
            10,
            ("per_row", "has_many"),
            async || {
                black_box(page_per_row(&posts, &comments).await);
            },
            async || {
                black_box(page_has_many(&posts).await);
            },
        );
    }
    runtime.block_on(db.close());
    remove_sqlite_files();
}

/// Counts the data layer's statements: its `trace` events of target `cortex_data::sql`, one per
/// statement it runs.
struct StatementCounter(Arc<AtomicU64>);

impl tracing::Subscriber for StatementCounter {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "cortex_data::sql"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Before timing: the raw queries and the repository give the same answers, and the statements
/// each way of loading the page runs.
fn check(
    runtime: &Runtime,
    db: &Db,
    worlds: &Repo<World>,
    posts: &Repo<Post>,
    comments: &Repo<Comment>,
    backend: Backend,
) {
    let count = Arc::new(AtomicU64::new(0));
    let counter = tracing::Dispatch::new(StatementCounter(count.clone()));
    let statements = || count.load(Ordering::Relaxed);
    tracing::dispatcher::with_default(&counter, || {
        runtime.block_on(async {
            assert_eq!(raw_get(db, 42).await, worlds.get(42).await.expect("row 42"));
            let many = worlds.find_many(find_many_query()).await.expect("the rows");
            assert_eq!(many.len(), 50);
            assert_eq!(raw_find_many(db).await, many);
            let before = statements();
            let n = page_has_many(posts).await;
            let has_many = statements() - before;
            let before = statements();
            assert_eq!(page_per_row(posts, comments).await, n);
            let per_row = statements() - before;
            println!(
                "{}: a page of {POSTS} posts with {n} comments: has_many {has_many} statements, per_row {per_row} statements",
                backend.name()
            );
            println!("statements {} has_many {has_many} per_row {per_row}", backend.name());
        })
    });
}

fn main() {
    let mut rounds = 30;
    let mut only = None;
    let mut side = None;
    let mut count = None;
    let mut backends = vec![Backend::Postgres, Backend::Sqlite];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--rounds needs a number");
            }
            "--only" => {
                let op = args.next().unwrap_or_default();
                assert!(
                    ["get", "find_many", "insert", "page"].contains(&op.as_str()),
                    "--only takes get, find_many, insert or page"
                );
                only = Some(op);
            }
            "--backend" => {
                let name = args.next().unwrap_or_default();
                backends.retain(|b| b.name() == name);
                assert!(!backends.is_empty(), "--backend takes postgres or sqlite");
            }
            "--side" => {
                let name = args.next().unwrap_or_default();
                side = Some(
                    ["raw_sqlx", "repo", "per_row", "has_many"]
                        .into_iter()
                        .find(|s| *s == name)
                        .expect("--side takes raw_sqlx, repo, per_row or has_many"),
                );
            }
            "--count" => {
                count = Some(
                    args.next()
                        .and_then(|v| v.parse::<usize>().ok())
                        .expect("--count needs a number"),
                );
            }
            // `cargo bench` passes `--bench`; other flags do not apply here.
            _ => {}
        }
    }
    let count = count.map(|n| {
        let op = ["get", "find_many", "insert", "page"]
            .into_iter()
            .find(|op| only.as_deref() == Some(*op))
            .expect("--count needs --only <operation>");
        let side = side.expect("--count needs --side");
        Count { op, side, n }
    });
    for backend in backends {
        bench_backend(backend, rounds.max(1), only.as_deref(), count);
    }
}
