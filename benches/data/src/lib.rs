//! Fixtures for the data-layer benchmarks: the tables (made by the benchmarks), the models, one
//! row by primary key served over HTTP as bare axum + raw sqlx and as a Cortex app, and a
//! loopback load driver that measures them side by side.
//!
//! | benchmark | what it measures | run it with |
//! | --- | --- | --- |
//! | `single_query` | `GET /db/{id}` (one row by key, TechEmpower's "single query") over 127.0.0.1 on PostgreSQL: requests per second and server CPU per request; instructions per request under callgrind | `scripts/bench --data` |
//! | `repository` | in process: `Repo` calls against the same raw sqlx queries on PostgreSQL and SQLite, and a page of 50 parents with their children (`has_many` against per-row loading) | `scripts/bench --data` |
//!
//! The databases: PostgreSQL at `postgres://postgres@127.0.0.1:5432/cortex_data_bench` (created
//! when missing; `CORTEX_BENCH_PG` overrides the server's URL, without the database name), and a
//! SQLite file in the temporary folder. `docs/src/performance.md` explains the setup and reports
//! the numbers.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cortex::axum::extract::{Path, State};
use cortex::axum::routing::get;
use cortex::axum::{self, Router};
use cortex::config::Config;
use cortex::data::sqlx::{self, PgPool};
use cortex::data::{DataPlugin, DatabaseConfig, Db, Model, Repo};
use cortex::http::middleware::HttpConfig;
use cortex::prelude::*;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use serde::Serialize;

// --- the databases ------------------------------------------------------------------------------

/// Rows in the `world` table.
pub const WORLD_ROWS: i32 = 10_000;

/// Parents in the relation benchmark: one page.
pub const POSTS: i64 = 50;

/// Children of each parent in the relation benchmark.
pub const COMMENTS_PER_POST: i64 = 10;

/// The database the benchmarks make on the PostgreSQL server.
pub const PG_DATABASE: &str = "cortex_data_bench";

/// The PostgreSQL server, without a database name: `CORTEX_BENCH_PG`, else
/// `postgres://postgres@127.0.0.1:5432`.
pub fn pg_server() -> String {
    std::env::var("CORTEX_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// The URL of the benchmarks' PostgreSQL database.
pub fn pg_url() -> String {
    format!("{}/{PG_DATABASE}", pg_server().trim_end_matches('/'))
}

/// One row of TechEmpower's `World` table: what `GET /db/{id}` answers.
#[derive(Model, Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[model(table = "world")]
pub struct World {
    /// 1 to [`WORLD_ROWS`].
    pub id: i32,
    /// A number from 1 to 10,000.
    #[model(column = "randomnumber")]
    #[serde(rename = "randomNumber")]
    pub random_number: i32,
}

/// A row the insert benchmark writes (table `bench_notes`).
#[derive(Model, Debug, Clone, Default, PartialEq, Eq)]
#[model(table = "bench_notes")]
pub struct Note {
    /// Assigned by the database.
    pub id: i64,
    /// Some text.
    pub title: String,
    /// A number.
    pub views: i32,
}

/// A parent in the relation benchmark (table `bench_posts`).
#[derive(Model, Debug, Clone, Default, PartialEq, Eq)]
#[model(table = "bench_posts")]
pub struct Post {
    /// Assigned by the database.
    pub id: i64,
    /// Some text.
    pub title: String,
}

/// A child in the relation benchmark (table `bench_comments`, indexed on `post_id`).
#[derive(Model, Debug, Clone, Default, PartialEq, Eq)]
#[model(table = "bench_comments")]
pub struct Comment {
    /// Assigned by the database.
    pub id: i64,
    /// Its post.
    pub post_id: i64,
    /// Some text.
    pub body: String,
}

/// A seeded generator (SplitMix64): the same ids in every run and every variant.
#[derive(Debug, Clone)]
pub struct Ids(u64);

impl Ids {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Ids(seed)
    }

    /// The next id, from 1 to [`WORLD_ROWS`].
    pub fn next_id(&mut self) -> i32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % WORLD_ROWS as u64) as i32 + 1
    }
}

/// Which database an in-process benchmark runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL on 127.0.0.1 ([`pg_url`]).
    Postgres,
    /// A SQLite file in the temporary folder (WAL, as the data layer opens it).
    Sqlite,
}

impl Backend {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// Makes the PostgreSQL database [`PG_DATABASE`] when it does not exist, and in it the `world`
/// table of [`WORLD_ROWS`] rows (kept between runs when it is whole).
///
/// # Panics
/// When PostgreSQL cannot be reached or refuses a statement: a benchmark cannot run without it.
pub async fn prepare_postgres() {
    let admin = format!("{}/postgres", pg_server().trim_end_matches('/'));
    let pool = PgPool::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {admin} is unavailable: {e}; hint: start it, or set CORTEX_BENCH_PG")
    });
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(PG_DATABASE)
        .fetch_optional(&pool)
        .await
        .expect("pg_database is readable");
    if exists.is_none() {
        // Two benchmark processes may race here; the loser's error is harmless.
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {PG_DATABASE}"
        )))
        .execute(&pool)
        .await;
    }
    pool.close().await;
    let pool = PgPool::connect(&pg_url())
        .await
        .expect("the benchmark database");
    let rows: Option<i64> = sqlx::query_scalar("SELECT COUNT(*) FROM world")
        .fetch_one(&pool)
        .await
        .ok();
    if rows != Some(i64::from(WORLD_ROWS)) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP TABLE IF EXISTS world;
             CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER NOT NULL);
             INSERT INTO world (id, randomnumber)
                 SELECT g, 1 + (g * 7919) % 10000 FROM generate_series(1, {WORLD_ROWS}) AS g;
             ANALYZE world;"
        )))
        .execute(&pool)
        .await
        .expect("the world table");
    }
    pool.close().await;
}

/// The in-process benchmarks' database on `backend`, with every table made afresh (`world` kept
/// on PostgreSQL when whole): `world`, an empty `bench_notes`, and [`POSTS`] posts with
/// [`COMMENTS_PER_POST`] comments each.
///
/// # Panics
/// When the database cannot be reached or refuses a statement.
pub async fn database(backend: Backend) -> Db {
    let url = match backend {
        Backend::Postgres => {
            prepare_postgres().await;
            pg_url()
        }
        Backend::Sqlite => {
            remove_sqlite_files();
            format!("sqlite://{}", sqlite_path().display())
        }
    };
    let db = Db::connect_lazy(&DatabaseConfig {
        url,
        max_connections: 4,
        ..Default::default()
    })
    .expect("a database configuration");
    let (serial, world) = match backend {
        Backend::Postgres => ("BIGSERIAL PRIMARY KEY", String::new()),
        Backend::Sqlite => (
            "INTEGER PRIMARY KEY",
            format!(
                "CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER NOT NULL);
                 WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {WORLD_ROWS})
                     INSERT INTO world (id, randomnumber) SELECT g, 1 + (g * 7919) % 10000 FROM s;"
            ),
        ),
    };
    let ddl = format!(
        "{world}
         DROP TABLE IF EXISTS bench_notes;
         DROP TABLE IF EXISTS bench_comments;
         DROP TABLE IF EXISTS bench_posts;
         CREATE TABLE bench_notes (id {serial}, title TEXT NOT NULL, views INTEGER NOT NULL);
         CREATE TABLE bench_posts (id {serial}, title TEXT NOT NULL);
         CREATE TABLE bench_comments (id {serial}, post_id BIGINT NOT NULL REFERENCES bench_posts (id), body TEXT NOT NULL);
         CREATE INDEX bench_comments_post_id ON bench_comments (post_id);"
    );
    raw(&db, &ddl).await;
    let posts = Repo::<Post>::new(db.clone());
    let page: Vec<Post> = (1..=POSTS)
        .map(|n| Post {
            title: format!("post {n}"),
            ..Default::default()
        })
        .collect();
    let page = posts.insert_many(&page).await.expect("the posts");
    let comments: Vec<Comment> = page
        .iter()
        .flat_map(|post| {
            (1..=COMMENTS_PER_POST).map(|n| Comment {
                post_id: post.id,
                body: format!("comment {n} on post {}", post.id),
                ..Default::default()
            })
        })
        .collect();
    Repo::<Comment>::new(db.clone())
        .insert_many(&comments)
        .await
        .expect("the comments");
    let analyze = match backend {
        Backend::Postgres => "ANALYZE bench_posts; ANALYZE bench_comments;",
        Backend::Sqlite => "ANALYZE;",
    };
    raw(&db, analyze).await;
    db
}

/// The SQLite database of this process's benchmarks, in the temporary folder.
pub fn sqlite_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("cortex-data-bench-{}.db", std::process::id()))
}

/// Removes [`sqlite_path`] and its WAL files (a benchmark calls it once its pool is closed).
pub fn remove_sqlite_files() {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", sqlite_path().display()));
    }
}

/// Runs `sql` (several statements) on `db`, whichever backend.
async fn raw(db: &Db, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    let done = if let Some(pool) = db.postgres() {
        sqlx::raw_sql(sql).execute(pool).await.map(drop)
    } else if let Some(pool) = db.sqlite() {
        sqlx::raw_sql(sql).execute(pool).await.map(drop)
    } else {
        unreachable!("the benchmarks open PostgreSQL or SQLite")
    };
    done.unwrap_or_else(|e| panic!("{}", db.error(e)));
}

// --- the endpoint: GET /db/{id} -----------------------------------------------------------------

/// The raw query, as the repository writes it for `Repo::<World>::get` on PostgreSQL.
pub const PG_WORLD_BY_ID: &str = r#"SELECT "id", "randomnumber" FROM "world" WHERE "id" = $1"#;

/// Connections each server's pool may open (as many as the load driver's connections).
pub const POOL_SIZE: u32 = 16;

/// The endpoint as a Cortex controller: `Repo::<World>::get`, injected.
#[controller("/")]
pub struct WorldController {
    worlds: Inject<Repo<World>>,
}

#[routes]
impl WorldController {
    #[get("/db/{id}")]
    async fn db(&self, Path(id): Path<i32>) -> Result<Json<World>, HttpError> {
        Ok(Json(self.worlds.get(id).await?))
    }
}

/// The same query in a Cortex app written with raw sqlx on the injected [`Db`]'s pool:
/// separates the stack's cost from the repository's.
#[controller("/")]
pub struct RawWorldController {
    db: Inject<Db>,
}

#[routes]
impl RawWorldController {
    #[get("/db/{id}")]
    async fn db(&self, Path(id): Path<i32>) -> Result<Json<World>, HttpError> {
        let pool = self.db.postgres().expect("a PostgreSQL app");
        let (id, random_number) = sqlx::query_as::<_, (i32, i32)>(PG_WORLD_BY_ID)
            .bind(id)
            .fetch_one(pool)
            .await
            .map_err(|e| self.db.error(e))?;
        Ok(Json(World { id, random_number }))
    }
}

async fn bare_db(
    State(pool): State<PgPool>,
    Path(id): Path<i32>,
) -> Result<axum::Json<World>, StatusCode> {
    let (id, random_number) = sqlx::query_as::<_, (i32, i32)>(PG_WORLD_BY_ID)
        .bind(id)
        .fetch_one(&pool)
        .await
        .map_err(|e| match e {
            sqlx::Error::RowNotFound => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        })?;
    Ok(axum::Json(World { id, random_number }))
}

/// The endpoint on a bare axum `Router` with a raw sqlx `PgPool` ([`POOL_SIZE`] connections): no
/// middleware, no container, no repository.
pub fn bare_router(pool: PgPool) -> Router {
    Router::new()
        .route("/db/{id}", get(bare_db))
        .with_state(pool)
}

/// [`HttpConfig::default`] — every default protection on — with the rate limit's quota raised so
/// that a benchmark from one address is never refused: the limiter still runs.
pub fn full_config() -> HttpConfig {
    let mut config = HttpConfig::default();
    config.rate_limit.per_second = 1_000_000_000;
    config.rate_limit.burst = 1_000_000_000;
    config
}

/// The variants measured side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Bare axum (`axum::serve`) with a raw sqlx `PgPool`.
    BareAxumSqlx,
    /// The Cortex app as scaffolded for PostgreSQL: the data plugin, the default middleware stack
    /// ([`full_config`]), the subscriber `#[cortex::main]` installs, and `Repo::<World>::get`.
    Cortex,
    /// [`Variant::Cortex`] with the query written in raw sqlx on the injected `Db`
    /// ([`RawWorldController`]): the stack without the repository.
    CortexRawSqlx,
}

impl Variant {
    /// Every variant, baseline first.
    pub const ALL: [Variant; 3] = [
        Variant::BareAxumSqlx,
        Variant::Cortex,
        Variant::CortexRawSqlx,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Variant::BareAxumSqlx => "bare_axum_sqlx",
            Variant::Cortex => "cortex_repo",
            Variant::CortexRawSqlx => "cortex_raw_sqlx",
        }
    }

    /// The variant named `name`.
    pub fn from_name(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// The Cortex app of `variant`: `[database]` pointing at [`pg_url`] with [`POOL_SIZE`]
/// connections, the data plugin, [`full_config`], and the controller.
///
/// # Panics
/// When the app does not build.
pub async fn cortex_app(variant: Variant) -> cortex::Application {
    let config = Config::from_toml(&format!(
        "[database]\nurl = '{}'\nmax_connections = {POOL_SIZE}\n",
        pg_url()
    ))
    .expect("the benchmark configuration");
    let app = App::with_config(config)
        .http_config(full_config())
        .plugin(DataPlugin);
    let app = match variant {
        Variant::CortexRawSqlx => app.controller::<RawWorldController>(),
        _ => app.controller::<WorldController>(),
    };
    app.build().await.expect("the benchmark app builds")
}

// --- the loopback load driver -------------------------------------------------------------------

/// CPU time of the calling thread so far (`/proc/thread-self/schedstat`, nanoseconds; Linux).
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat is readable (Linux)");
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("schedstat starts with nanoseconds on CPU");
    Duration::from_nanos(nanos)
}

/// A variant served on 127.0.0.1 from a thread of its own (a single-threaded tokio runtime, so
/// that its CPU time is the server's, the pool's connections included), until dropped. Servers
/// stay up between measurements: their pools stay warm.
pub struct Server {
    variant: Variant,
    addr: SocketAddr,
    cpu: tokio::sync::mpsc::UnboundedSender<tokio::sync::oneshot::Sender<Duration>>,
    quit: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("variant", &self.variant)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts `variant` and waits until it listens.
    ///
    /// # Panics
    /// When the server cannot start (PostgreSQL down, no port).
    pub fn start(variant: Variant) -> Server {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (cpu_tx, mut cpu_rx) =
            tokio::sync::mpsc::unbounded_channel::<tokio::sync::oneshot::Sender<Duration>>();
        let (quit_tx, quit_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("server-{}", variant.name()))
            .spawn(move || {
                // For this thread only: the scaffolded app's subscriber (info, text, to a sink;
                // nothing is written per request).
                let logging = (variant != Variant::BareAxumSqlx)
                    .then(|| cortex::logging::subscriber(std::io::sink));
                let _logging = logging.as_ref().map(tracing::dispatcher::set_default);
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async move {
                    tokio::spawn(async move {
                        while let Some(reply) = cpu_rx.recv().await {
                            let _ = reply.send(thread_cpu());
                        }
                    });
                    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                        .await
                        .expect("bind 127.0.0.1");
                    let addr = listener.local_addr().expect("an address");
                    let quit = async move {
                        let _ = quit_rx.await;
                    };
                    serve(variant, listener, addr_tx, addr, quit).await;
                });
            })
            .expect("a server thread");
        let addr = addr_rx.recv().expect("the server starts");
        Server {
            variant,
            addr,
            cpu: cpu_tx,
            quit: Some(quit_tx),
            thread: Some(thread),
        }
    }

    /// The variant served.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// CPU time of the server's thread so far (read by a task on that thread).
    async fn cpu(&self) -> Duration {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.cpu.send(tx).expect("the server runs");
        rx.await.expect("the server answers")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(quit) = self.quit.take() {
            let _ = quit.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    variant: Variant,
    listener: tokio::net::TcpListener,
    ready: std::sync::mpsc::Sender<SocketAddr>,
    addr: SocketAddr,
    quit: impl Future<Output = ()> + Send + 'static,
) {
    match variant {
        Variant::BareAxumSqlx => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(POOL_SIZE)
                .connect(&pg_url())
                .await
                .expect("PostgreSQL");
            ready.send(addr).expect("the driver waits");
            axum::serve(listener, bare_router(pool.clone()))
                .with_graceful_shutdown(quit)
                .await
                .expect("axum serves");
            pool.close().await;
        }
        Variant::Cortex | Variant::CortexRawSqlx => {
            let app = cortex_app(variant).await;
            let running = app.serve_on(listener).await.expect("the app serves");
            ready.send(addr).expect("the driver waits");
            quit.await;
            running.shutdown().await.expect("the app stops");
        }
    }
}

/// How hard and how long [`measure`] drives a server.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Keep-alive HTTP/1.1 connections, each sending one request at a time.
    pub connections: usize,
    /// Traffic before counting starts.
    pub warm_up: Duration,
    /// How long requests are counted.
    pub measure: Duration,
    /// Instead of a duration: this many requests in all (spread over the connections), with no
    /// warm-up — for instruction counts of the whole run under callgrind.
    pub requests: Option<u64>,
    /// Seeds the ids each connection asks for (connection `i` uses `seed + i`).
    pub seed: u64,
}

/// What one [`measure`] run saw.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Responses (all `200` with the row asked for) completed while counting.
    pub requests: u64,
    /// How long requests were counted.
    pub elapsed: Duration,
    /// CPU time of the server's thread while counting.
    pub server_cpu: Duration,
}

impl Measured {
    /// Requests per second.
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Server CPU per request, in microseconds.
    pub fn cpu_us_per_request(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }
}

/// Drives `server` with `load.connections` keep-alive hyper client connections (on a
/// single-threaded runtime on the calling thread), each asking `GET /db/{id}` for ids from its
/// seeded generator, and counts the responses completed while counting. Panics on any response
/// that is not `200` with the row asked for.
pub fn measure(server: &Server, load: Load) -> Measured {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(drive(server, load))
}

async fn drive(server: &Server, load: Load) -> Measured {
    let addr = server.addr;
    let begin = Instant::now() + load.warm_up;
    let end = begin + load.measure;
    let counted = Arc::new(AtomicU64::new(0));
    let connections = load.connections.max(1);
    let mut clients = Vec::with_capacity(connections);
    for i in 0..connections {
        let counted = counted.clone();
        let quota = load
            .requests
            .map(|n| n / connections as u64 + u64::from((i as u64) < n % connections as u64));
        let mut ids = Ids::new(load.seed.wrapping_add(i as u64));
        clients.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .expect("connect to the server");
            let _ = stream.set_nodelay(true);
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
                    .await
                    .expect("an HTTP/1.1 connection");
            tokio::spawn(connection);
            let mut mine = 0;
            loop {
                if quota.is_some_and(|q| mine >= q) {
                    break;
                }
                let id = ids.next_id();
                let request = Request::get(format!("/db/{id}"))
                    .header("host", "127.0.0.1")
                    .body(Empty::new())
                    .expect("a valid request");
                let response = sender.send_request(request).await.expect("a response");
                let status = response.status();
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .expect("a whole body")
                    .to_bytes();
                let expected = format!("{{\"id\":{id},\"randomNumber\":");
                assert!(
                    status == StatusCode::OK && body.starts_with(expected.as_bytes()),
                    "unexpected answer to /db/{id}: {status} {body:?}"
                );
                if quota.is_some() {
                    mine += 1;
                    continue;
                }
                let now = Instant::now();
                if now >= end {
                    break;
                }
                if now >= begin {
                    mine += 1;
                }
            }
            counted.fetch_add(mine, Ordering::Relaxed);
        }));
    }
    if load.requests.is_some() {
        let started = Instant::now();
        let before = server.cpu().await;
        for client in clients {
            client.await.expect("a client task");
        }
        let server_cpu = server.cpu().await.saturating_sub(before);
        return Measured {
            requests: counted.load(Ordering::Relaxed),
            elapsed: started.elapsed(),
            server_cpu,
        };
    }
    tokio::time::sleep_until(begin.into()).await;
    let before = server.cpu().await;
    tokio::time::sleep_until(end.into()).await;
    let server_cpu = server.cpu().await.saturating_sub(before);
    for client in clients {
        client.await.expect("a client task");
    }
    Measured {
        requests: counted.load(Ordering::Relaxed),
        elapsed: load.measure,
        server_cpu,
    }
}
