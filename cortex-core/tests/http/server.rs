//! The server on real sockets (127.0.0.1 only): HTTP/1.1 keep-alive, h2c, TLS with ALPN, slow and
//! idle clients, the connection limit and count, graceful drain, the `[server]` keys, and an app
//! whose injectable implements every lifecycle hook.
//!
//! Every wait is bounded, and the ones that wait for something to happen poll for it rather than
//! sleeping a guessed amount.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use cortex_core::config::{Config, ConfigError, ServerConfig};
use cortex_core::server::{ServeSummary, Server, ServerHandle};
use cortex_core::{App, AppError, ShutdownSignal};
use cortex_di::{
    BoxError, Container, Inject, LifecycleHook, OnReady, OnShutdown, OnStart, injectable,
};
use http::{Request, StatusCode, Version};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The longest any single step may take before the test fails.
const BOUND: Duration = Duration::from_secs(10);

async fn bounded<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(BOUND, f).await {
        Ok(out) => out,
        Err(_) => panic!("{what} did not happen within {BOUND:?}"),
    }
}

/// Polls `check` every 10 ms until it holds (at most [`BOUND`]).
async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    bounded(what, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

struct Serving {
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<ServeSummary>>,
}

impl Serving {
    fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    async fn stop(self) -> ServeSummary {
        self.handle.shutdown();
        bounded("the server's stop", self.task)
            .await
            .unwrap()
            .unwrap()
    }
}

async fn serve(options: ServerConfig, router: Router) -> Serving {
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap();
    let handle = server.handle();
    let task = tokio::spawn(server.serve(router, std::future::pending()));
    Serving { handle, task }
}

fn hello() -> Router {
    Router::new().route("/", get(|| async { "hello" }))
}

type H1 = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;
type H2 = hyper::client::conn::http2::SendRequest<Empty<Bytes>>;
type ConnTask = JoinHandle<Result<(), hyper::Error>>;

async fn h1_on<IO>(io: IO) -> (H1, ConnTask)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .unwrap();
    (sender, tokio::spawn(conn))
}

async fn h1(addr: SocketAddr) -> (H1, ConnTask) {
    h1_on(TcpStream::connect(addr).await.unwrap()).await
}

async fn h2_on<IO>(io: IO) -> (H2, ConnTask)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .unwrap();
    (sender, tokio::spawn(conn))
}

fn request(path: &str) -> Request<Empty<Bytes>> {
    Request::get(path)
        .header("host", "localhost")
        .body(Empty::new())
        .unwrap()
}

/// An absolute URI, as HTTP/2 needs for its `:scheme` and `:authority`.
fn request2(path: &str) -> Request<Empty<Bytes>> {
    Request::get(format!("http://localhost{path}"))
        .body(Empty::new())
        .unwrap()
}

struct Answer {
    status: StatusCode,
    version: Version,
    headers: http::HeaderMap,
    body: String,
}

async fn read(response: http::Response<hyper::body::Incoming>) -> Answer {
    let (parts, body) = response.into_parts();
    let bytes = bounded("the body", body.collect())
        .await
        .unwrap()
        .to_bytes();
    Answer {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get1(sender: &mut H1, path: &str) -> Answer {
    let response = bounded("a response", sender.send_request(request(path)))
        .await
        .unwrap();
    read(response).await
}

async fn get2(sender: &mut H2, path: &str) -> Answer {
    let response = bounded("a response", sender.send_request(request2(path)))
        .await
        .unwrap();
    read(response).await
}

// ---------------------------------------------------------------------------------------------
// Protocols

#[tokio::test]
async fn http1_keep_alive_serves_several_requests_on_one_connection() {
    let server = serve(ServerConfig::default(), hello()).await;
    let (mut sender, _conn) = h1(server.addr()).await;
    for _ in 0..3 {
        let answer = get1(&mut sender, "/").await;
        assert_eq!(
            (answer.status, answer.version),
            (StatusCode::OK, Version::HTTP_11)
        );
        assert_eq!(answer.body, "hello");
    }
    assert_eq!(server.handle.accepted_connections(), 1);
    assert_eq!(server.handle.active_connections(), 1);
    drop(sender);
    server.stop().await;
}

#[tokio::test]
async fn h2c_with_prior_knowledge_is_served_and_multiplexed() {
    let server = serve(ServerConfig::default(), hello()).await;
    let (sender, _conn) = h2_on(TcpStream::connect(server.addr()).await.unwrap()).await;
    let (mut a, mut b) = (sender.clone(), sender);
    let (a, b) = tokio::join!(get2(&mut a, "/"), get2(&mut b, "/"));
    for answer in [a, b] {
        assert_eq!(
            (answer.status, answer.version),
            (StatusCode::OK, Version::HTTP_2)
        );
        assert_eq!(answer.body, "hello");
    }
    assert_eq!(
        server.handle.accepted_connections(),
        1,
        "both streams on one connection"
    );
    server.stop().await;
}

#[tokio::test]
async fn with_http2_off_the_http2_preface_is_not_served() {
    let options = ServerConfig {
        http2: false,
        ..ServerConfig::default()
    };
    let server = serve(options, hello()).await;
    let stream = TcpStream::connect(server.addr()).await.unwrap();
    let handshake = hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
        TokioExecutor::new(),
        TokioIo::new(stream),
    )
    .await;
    // The handshake only sends the preface; the request is where the refusal shows.
    if let Ok((mut sender, conn)) = handshake {
        tokio::spawn(conn);
        let outcome = bounded("the refusal", sender.send_request(request2("/"))).await;
        assert!(
            outcome.is_err(),
            "an HTTP/1.1-only server answered HTTP/2: {outcome:?}"
        );
    }
    // HTTP/1.1 still works.
    let (mut h1, _conn) = h1(server.addr()).await;
    assert_eq!(get1(&mut h1, "/").await.status, StatusCode::OK);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Slow, idle and too many clients

/// Reads until the server closes the connection; what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = bounded(
        "the server closing the connection",
        stream.read_to_end(&mut out),
    )
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_slow_loris_sending_headers_byte_by_byte_is_disconnected_after_the_header_read_timeout() {
    let timeout = Duration::from_millis(400);
    let options = ServerConfig {
        header_read_timeout: timeout,
        ..ServerConfig::default()
    };
    let server = serve(options, hello()).await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    // One header byte every 50 ms, never finishing the head, until the server hangs up.
    let closed = bounded("the disconnection", async {
        for byte in b"X-Slow: ".iter().chain([b'a'; 10_000].iter()).cycle() {
            if stream.write_all(&[*byte]).await.is_err() {
                return;
            }
            let mut probe = [0u8; 512];
            match tokio::time::timeout(Duration::from_millis(50), stream.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(n)) => panic!("answered: {}", String::from_utf8_lossy(&probe[..n])),
                Err(_) => {}
            }
        }
    });
    closed.await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= timeout,
        "closed after {elapsed:?}, before the timeout"
    );
    wait_until("the connection to be counted as closed", || {
        server.handle.active_connections() == 0
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn clients_that_send_nothing_or_half_an_http2_preface_are_disconnected() {
    let timeout = Duration::from_millis(300);
    let options = ServerConfig {
        header_read_timeout: timeout,
        ..ServerConfig::default()
    };
    let server = serve(options, hello()).await;
    let mut silent = TcpStream::connect(server.addr()).await.unwrap();
    let mut half = TcpStream::connect(server.addr()).await.unwrap();
    half.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    let started = Instant::now();
    assert_eq!(read_until_closed(&mut silent).await, "");
    assert_eq!(read_until_closed(&mut half).await, "");
    assert!(started.elapsed() >= timeout - Duration::from_millis(50));
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_request_head_is_refused_with_431() {
    let options = ServerConfig {
        max_header_bytes: 4096,
        ..ServerConfig::default()
    };
    let server = serve(options, hello()).await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let big = "a".repeat(8192);
    let head = format!("GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: {big}\r\n\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // A head within the limit is served.
    let (mut sender, _conn) = h1(server.addr()).await;
    assert_eq!(get1(&mut sender, "/").await.status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn an_idle_http1_keep_alive_connection_is_closed_after_the_header_read_timeout() {
    let timeout = Duration::from_millis(300);
    let options = ServerConfig {
        header_read_timeout: timeout,
        ..ServerConfig::default()
    };
    let server = serve(options, hello()).await;
    let (mut sender, conn) = h1(server.addr()).await;
    assert_eq!(get1(&mut sender, "/").await.status, StatusCode::OK);
    let idle_since = Instant::now();
    let _ = bounded("the idle connection's end", conn).await;
    assert!(idle_since.elapsed() >= timeout - Duration::from_millis(50));
    wait_until("the count to drop", || {
        server.handle.active_connections() == 0
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_response_or_an_upload_slower_than_the_header_read_timeout_is_not_cut() {
    // The timeout covers request heads only: a response still streaming, or a request body
    // still uploading, keeps its connection however long it takes.
    let timeout = Duration::from_millis(300);
    let options = ServerConfig {
        header_read_timeout: timeout,
        ..ServerConfig::default()
    };
    let gap = Duration::from_millis(150);
    let slow_stream = move || async move {
        let chunks = futures_util::stream::unfold(0u8, move |i| async move {
            if i == 6 {
                return None;
            }
            tokio::time::sleep(gap).await;
            Some((
                Ok::<_, std::io::Error>(Bytes::from(format!("chunk{i};"))),
                i + 1,
            ))
        });
        axum::body::Body::from_stream(chunks)
    };
    let router = Router::new().route("/stream", get(slow_stream)).route(
        "/upload",
        axum::routing::post(|body: String| async move { format!("got {}", body.len()) }),
    );
    let server = serve(options, router).await;

    let (mut sender, _conn) = h1(server.addr()).await;
    let started = Instant::now();
    let answer = get1(&mut sender, "/stream").await;
    assert_eq!(answer.body, "chunk0;chunk1;chunk2;chunk3;chunk4;chunk5;");
    assert!(
        started.elapsed() >= 3 * timeout,
        "the stream outlasted the timeout"
    );
    // The same connection still serves the next request.
    assert_eq!(get1(&mut sender, "/stream").await.status, StatusCode::OK);

    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 60\r\n\r\n")
        .await
        .unwrap();
    for _ in 0..6 {
        tokio::time::sleep(gap).await;
        stream.write_all(&[b'x'; 10]).await.unwrap();
    }
    let mut answer = Vec::new();
    bounded("the upload's answer", async {
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&answer).ends_with("got 60") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    server.stop().await;
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_after_the_idle_timeout() {
    let timeout = Duration::from_millis(400);
    let options = ServerConfig {
        idle_timeout: timeout,
        ..ServerConfig::default()
    };
    let server = serve(options, hello()).await;
    let (mut sender, conn) = h2_on(TcpStream::connect(server.addr()).await.unwrap()).await;
    assert_eq!(get2(&mut sender, "/").await.status, StatusCode::OK);
    let idle_since = Instant::now();
    let _ = bounded("the idle connection's end", conn).await;
    assert!(idle_since.elapsed() >= timeout - Duration::from_millis(50));
    server.stop().await;
}

#[tokio::test]
async fn max_connections_makes_the_next_client_wait_until_one_closes() {
    let options = ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    };
    let server = serve(options, hello()).await;
    let (mut first, first_conn) = h1(server.addr()).await;
    assert_eq!(get1(&mut first, "/").await.status, StatusCode::OK);

    // The second connects (the kernel queues it) but is not served while the first is open.
    let (mut second, _conn) = h1(server.addr()).await;
    let waiting = tokio::spawn(async move { get1(&mut second, "/").await.status });
    let early = tokio::time::timeout(Duration::from_millis(300), async {
        while !waiting.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        early.is_err(),
        "the second connection was served while the first was open"
    );
    assert_eq!(server.handle.accepted_connections(), 1);

    drop(first);
    let _ = bounded("the first connection's end", first_conn).await;
    let status = bounded("the second's answer", waiting).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.handle.accepted_connections(), 2);
    server.stop().await;
}

#[tokio::test]
async fn active_connections_counts_open_connections() {
    let server = serve(ServerConfig::default(), hello()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let (mut sender, conn) = h1(server.addr()).await;
        assert_eq!(get1(&mut sender, "/").await.status, StatusCode::OK);
        clients.push((sender, conn));
    }
    assert_eq!(server.handle.active_connections(), 3);
    let (sender, conn) = clients.pop().unwrap();
    drop(sender);
    let _ = bounded("a client's close", conn).await;
    wait_until("two open connections", || {
        server.handle.active_connections() == 2
    })
    .await;
    assert_eq!(server.handle.accepted_connections(), 3);
    drop(clients);
    wait_until("no open connection", || {
        server.handle.active_connections() == 0
    })
    .await;
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Graceful drain

/// A route whose handler reports that it started, then waits for the test to release it.
struct Gate {
    entered: mpsc::UnboundedReceiver<()>,
    release: watch::Sender<bool>,
}

fn gated() -> (Router, Gate) {
    let (entered_tx, entered) = mpsc::unbounded_channel();
    let (release, release_rx) = watch::channel(false);
    let router = hello().route(
        "/slow",
        get(move || {
            let entered = entered_tx.clone();
            let mut release = release_rx.clone();
            async move {
                let _ = entered.send(());
                let _ = release.wait_for(|r| *r).await;
                "finished"
            }
        }),
    );
    (router, Gate { entered, release })
}

async fn refused(addr: SocketAddr) -> bool {
    TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn an_in_flight_request_completes_after_shutdown_starts_while_new_connections_are_refused() {
    let (router, mut gate) = gated();
    let server = serve(ServerConfig::default(), router).await;
    let addr = server.addr();
    let (mut sender, _conn) = h1(addr).await;
    let in_flight = tokio::spawn(async move { get1(&mut sender, "/slow").await });
    bounded("the handler to start", gate.entered.recv()).await;

    server.handle.shutdown();
    assert!(server.handle.is_draining());
    bounded("new connections to be refused", async {
        while !refused(addr).await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(!in_flight.is_finished());

    gate.release.send_replace(true);
    let answer = bounded("the in-flight answer", in_flight).await.unwrap();
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "finished")
    );
    assert_eq!(
        answer.headers["connection"], "close",
        "the client is told not to reuse it"
    );
    let summary = bounded("the drain", server.task).await.unwrap().unwrap();
    assert_eq!((summary.open_at_shutdown, summary.forced_closed), (1, 0));
}

/// A connection accepted before the drain, whose request is sent only after the drain started
/// (it was on its way): the request is answered, with `Connection: close`, not cut off.
async fn a_request_on_a_connection_accepted_before_the_drain_is_answered(http2: bool) {
    let options = ServerConfig {
        http2,
        ..ServerConfig::default()
    };
    let server = serve(options, hello()).await;
    let addr = server.addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    wait_until("the connection to be accepted", || {
        server.handle.accepted_connections() == 1
    })
    .await;

    server.handle.shutdown();
    bounded("new connections to be refused", async {
        while !refused(addr).await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let response = bounded("the answer", read_until_closed(&mut stream)).await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response:?}");
    assert!(response.ends_with("\r\n\r\nhello"), "{response:?}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{response:?}"
    );
    let summary = bounded("the drain", server.task).await.unwrap().unwrap();
    assert_eq!(summary.forced_closed, 0);
}

#[tokio::test]
async fn a_request_sent_after_the_drain_started_on_an_accepted_connection_is_answered() {
    a_request_on_a_connection_accepted_before_the_drain_is_answered(true).await;
}

#[tokio::test]
async fn a_request_sent_after_the_drain_started_is_answered_with_http2_off_too() {
    a_request_on_a_connection_accepted_before_the_drain_is_answered(false).await;
}

#[tokio::test]
async fn an_accepted_connection_that_sends_nothing_is_closed_after_the_fresh_connection_grace() {
    for http2 in [true, false] {
        let options = ServerConfig {
            http2,
            ..ServerConfig::default()
        };
        let server = serve(options, hello()).await;
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        wait_until("the connection to be accepted", || {
            server.handle.accepted_connections() == 1
        })
        .await;
        let started = Instant::now();
        server.handle.shutdown();
        let closed = bounded("the close", read_until_closed(&mut stream)).await;
        assert_eq!(closed, "", "http2 {http2}");
        let waited = started.elapsed();
        // At least the grace (no upper bound asserted: the machine may be busy).
        assert!(
            waited >= cortex_core::server::FRESH_CONNECTION_GRACE - Duration::from_millis(50),
            "closed after {waited:?} (http2 {http2})"
        );
        let summary = bounded("the drain", server.task).await.unwrap().unwrap();
        assert_eq!(summary.forced_closed, 0, "http2 {http2}");
    }
}

#[tokio::test]
async fn connections_still_open_after_the_drain_timeout_are_force_closed() {
    let (router, mut gate) = gated();
    let drain = Duration::from_millis(300);
    let options = ServerConfig {
        drain_timeout: drain,
        ..ServerConfig::default()
    };
    let server = serve(options, router).await;
    let (mut sender, _conn) = h1(server.addr()).await;
    let in_flight = tokio::spawn(async move { sender.send_request(request("/slow")).await });
    bounded("the handler to start", gate.entered.recv()).await;

    let started = Instant::now();
    let summary = server.stop().await;
    assert!(started.elapsed() >= drain - Duration::from_millis(50));
    assert_eq!((summary.open_at_shutdown, summary.forced_closed), (1, 1));
    let outcome = bounded("the client to see the close", in_flight)
        .await
        .unwrap();
    assert!(outcome.is_err(), "the request was cut off: {outcome:?}");
    drop(gate.release);
}

#[tokio::test]
async fn shutdown_delay_keeps_accepting_while_readiness_says_draining() {
    let delay = Duration::from_millis(1500);
    let app = App::new()
        .server_config(ServerConfig {
            shutdown_delay: delay,
            ..ServerConfig::default()
        })
        .build()
        .await
        .unwrap();
    let running = app.bind_to("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = running.local_addr();
    let (mut before, _conn) = h1(addr).await;
    assert_eq!(
        get1(&mut before, "/health/ready").await.status,
        StatusCode::OK
    );

    let started = Instant::now();
    running.handle().shutdown();
    // A connection opened during the delay is still served, and readiness says draining.
    let (mut during, _conn) = h1(addr).await;
    let ready = get1(&mut during, "/health/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.body.contains("\"draining\""), "{}", ready.body);
    assert_eq!(
        get1(&mut during, "/health/live").await.status,
        StatusCode::OK
    );
    assert!(
        started.elapsed() < delay,
        "the test was too slow to check the delay"
    );

    drop((before, during));
    let summary = bounded("the shutdown", running.shutdown()).await.unwrap();
    assert!(started.elapsed() >= delay - Duration::from_millis(50));
    assert_eq!(summary.forced_closed, 0);
    assert!(refused(addr).await);
}

// ---------------------------------------------------------------------------------------------
// The shutdown signal: background work and upgraded connections

/// A route that upgrades the connection to a line protocol of its own (as a WebSocket handler
/// would) and echoes what it reads; with `polite`, it says `bye` and closes when the shutdown
/// signal trips, otherwise it ignores the signal.
fn upgrading(signal: ShutdownSignal, polite: bool) -> Router {
    Router::new().route(
        "/upgrade",
        get(move |mut req: Request<axum::body::Body>| {
            let signal = signal.clone();
            async move {
                let on_upgrade = hyper::upgrade::on(&mut req);
                tokio::spawn(async move {
                    let mut io = TokioIo::new(on_upgrade.await.unwrap());
                    let mut buf = [0u8; 64];
                    loop {
                        tokio::select! {
                            _ = signal.tripped(), if polite => {
                                let _ = io.write_all(b"bye").await;
                                let _ = io.shutdown().await;
                                return;
                            }
                            read = io.read(&mut buf) => match read {
                                Ok(0) | Err(_) => return,
                                Ok(n) => {
                                    if io.write_all(&buf[..n]).await.is_err() {
                                        return;
                                    }
                                }
                            },
                        }
                    }
                });
                http::Response::builder()
                    .status(StatusCode::SWITCHING_PROTOCOLS)
                    .header("connection", "upgrade")
                    .header("upgrade", "echo")
                    .body(axum::body::Body::empty())
                    .unwrap()
            }
        }),
    )
}

/// Opens `/upgrade` on `addr` and checks that the upgraded connection echoes.
async fn upgraded(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"GET /upgrade HTTP/1.1\r\nHost: localhost\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        bounded("the upgrade response", stream.read_exact(&mut byte))
            .await
            .unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    stream.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    bounded("the echo", stream.read_exact(&mut echo))
        .await
        .unwrap();
    assert_eq!(&echo, b"ping");
    stream
}

async fn serve_with_signal(options: ServerConfig, polite: bool) -> (Serving, ShutdownSignal) {
    let signal = ShutdownSignal::new();
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap()
        .with_shutdown_signal(signal.clone());
    let handle = server.handle();
    let router = upgrading(signal.clone(), polite);
    let task = tokio::spawn(server.serve(router, std::future::pending()));
    (Serving { handle, task }, signal)
}

#[tokio::test]
async fn an_upgraded_connection_is_counted_gets_the_signal_and_is_waited_for() {
    // A drain timeout longer than any step may take: the drain must end because the handler
    // closed, not because the timeout struck.
    let options = ServerConfig {
        drain_timeout: BOUND * 3,
        ..ServerConfig::default()
    };
    let (server, signal) = serve_with_signal(options, true).await;
    let mut stream = upgraded(server.addr()).await;
    assert_eq!(
        server.handle.active_connections(),
        1,
        "an upgraded connection counts while open"
    );
    assert!(!signal.is_tripped());

    server.handle.shutdown();
    let said = bounded("the handler's goodbye", read_until_closed(&mut stream)).await;
    assert_eq!(said, "bye");
    assert!(signal.is_tripped());
    let summary = bounded("the drain", server.task).await.unwrap().unwrap();
    assert_eq!((summary.open_at_shutdown, summary.forced_closed), (1, 0));
}

#[tokio::test]
async fn an_upgraded_connection_that_ignores_the_signal_is_closed_at_the_drain_timeout() {
    let drain = Duration::from_millis(300);
    let options = ServerConfig {
        drain_timeout: drain,
        ..ServerConfig::default()
    };
    let (server, _signal) = serve_with_signal(options, false).await;
    let mut stream = upgraded(server.addr()).await;

    let started = Instant::now();
    let summary = server.stop().await;
    assert!(started.elapsed() >= drain - Duration::from_millis(50));
    assert_eq!((summary.open_at_shutdown, summary.forced_closed), (1, 1));
    // The handler's read failed, it dropped the connection: the client sees it close.
    let rest = bounded("the close", read_until_closed(&mut stream)).await;
    assert_eq!(rest, "");
}

/// A consumer started by `OnReady` that stops when the shutdown signal trips.
#[injectable(profile = "server-consumer")]
struct Consumer {
    signal: Inject<ShutdownSignal>,
    #[inject(default)]
    stopped: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl OnReady for Consumer {
    async fn on_ready(&self) -> Result<(), BoxError> {
        let signal = ShutdownSignal::clone(&self.signal);
        let stopped = self.stopped.clone();
        self.signal.spawn_tracked("orders consumer", async move {
            signal.tripped().await;
            // Acknowledging what it has in hand takes a moment.
            tokio::time::sleep(Duration::from_millis(100)).await;
            stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        Ok(())
    }
}

#[tokio::test]
async fn the_drain_waits_for_tracked_tasks_and_aborts_the_ones_past_the_timeout() {
    let drain = Duration::from_millis(500);
    let app = App::new()
        .server_config(ServerConfig {
            drain_timeout: drain,
            ..ServerConfig::default()
        })
        .container(|b| {
            b.profile("server-consumer");
        })
        .discover()
        .build()
        .await
        .unwrap();
    let consumer: Inject<Consumer> = app.container().get().unwrap();
    let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
    app.shutdown_signal()
        .spawn_tracked("stubborn poller", async move {
            let _dropped_on_abort = dropped_tx;
            std::future::pending::<()>().await;
        });
    let running = app.bind_to("127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert_eq!(
        running.shutdown_signal().tracked_names(),
        ["orders consumer", "stubborn poller"]
    );

    let started = Instant::now();
    let summary = bounded("the shutdown", running.shutdown()).await.unwrap();
    assert!(started.elapsed() >= drain - Duration::from_millis(50));
    assert_eq!(summary.forced_closed, 0, "no connection was open");
    assert!(
        consumer.stopped.load(std::sync::atomic::Ordering::SeqCst),
        "the consumer finished on the signal and was waited for"
    );
    assert!(
        bounded("the abort", dropped_rx).await.is_err(),
        "the stubborn task was aborted"
    );
}

// ---------------------------------------------------------------------------------------------
// TLS

#[cfg(feature = "tls")]
mod tls {
    use std::path::PathBuf;
    use std::sync::Arc;

    use cortex_core::server::TlsConfig;
    use tokio_rustls::TlsConnector;
    use tokio_rustls::client::TlsStream;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

    use super::*;

    /// A self-signed certificate for `localhost`, written to `dir`.
    fn self_signed(dir: &tempfile::TempDir) -> (TlsConfig, CertificateDer<'static>) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert = dir.path().join("server.pem");
        let key = dir.path().join("server.key");
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        (TlsConfig { cert, key }, made.cert.der().clone())
    }

    async fn connect(
        addr: SocketAddr,
        trusted: &CertificateDer<'static>,
        alpn: &[&[u8]],
    ) -> TlsStream<TcpStream> {
        let mut roots = RootCertStore::empty();
        roots.add(trusted.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        bounded(
            "the TLS handshake",
            TlsConnector::from(Arc::new(config)).connect(name, tcp),
        )
        .await
        .unwrap()
    }

    async fn app(options: ServerConfig) -> cortex_core::Running {
        App::new()
            .server_config(options)
            .build()
            .await
            .unwrap()
            .bind_to("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn tls_negotiates_http2_or_http1_by_alpn_and_only_tls_responses_carry_hsts() {
        let dir = tempfile::tempdir().unwrap();
        let (tls, trusted) = self_signed(&dir);
        let running = app(ServerConfig {
            tls: Some(tls),
            ..ServerConfig::default()
        })
        .await;
        let addr = running.local_addr();

        let stream = connect(addr, &trusted, &[b"h2", b"http/1.1"]).await;
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let (mut sender, _conn) = h2_on(stream).await;
        let answer = get2(&mut sender, "/health/live").await;
        assert_eq!(
            (answer.status, answer.version),
            (StatusCode::OK, Version::HTTP_2)
        );
        assert!(answer.headers.contains_key("strict-transport-security"));

        let stream = connect(addr, &trusted, &[b"http/1.1"]).await;
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        let (mut sender, _conn) = h1_on(stream).await;
        let answer = get1(&mut sender, "/health/live").await;
        assert_eq!(
            (answer.status, answer.version),
            (StatusCode::OK, Version::HTTP_11)
        );
        assert_eq!(
            answer.headers["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );

        // No ALPN at all: the first bytes tell.
        let stream = connect(addr, &trusted, &[]).await;
        assert_eq!(stream.get_ref().1.alpn_protocol(), None);
        let (mut sender, _conn) = h1_on(stream).await;
        assert_eq!(
            get1(&mut sender, "/health/live").await.status,
            StatusCode::OK
        );
        drop(sender);
        running.shutdown().await.unwrap();

        // The same app in the clear sends no HSTS.
        let running = app(ServerConfig::default()).await;
        let (mut sender, _conn) = h1(running.local_addr()).await;
        let answer = get1(&mut sender, "/health/live").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(!answer.headers.contains_key("strict-transport-security"));
        drop(sender);
        running.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn tls_without_http2_offers_only_http1() {
        let dir = tempfile::tempdir().unwrap();
        let (tls, trusted) = self_signed(&dir);
        let running = app(ServerConfig {
            tls: Some(tls),
            http2: false,
            ..ServerConfig::default()
        })
        .await;
        let stream = connect(running.local_addr(), &trusted, &[b"h2", b"http/1.1"]).await;
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        running.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn a_plaintext_client_on_the_tls_port_is_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let (tls, _) = self_signed(&dir);
        let running = app(ServerConfig {
            tls: Some(tls),
            ..ServerConfig::default()
        })
        .await;
        let mut stream = TcpStream::connect(running.local_addr()).await.unwrap();
        stream
            .write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut stream).await;
        assert!(!answer.contains("200 OK"), "{answer}");
        running.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn bad_certificate_or_key_paths_fail_at_startup_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (good, _) = self_signed(&dir);
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();

        let start = |tls: TlsConfig| async move {
            App::new()
                .server_config(ServerConfig {
                    tls: Some(tls),
                    ..ServerConfig::default()
                })
                .build()
                .await
                .unwrap()
                .bind_to("127.0.0.1:0".parse().unwrap())
                .await
                .expect_err("the start fails")
                .to_string()
        };
        let cases: [(TlsConfig, &PathBuf, &str); 4] = [
            (
                TlsConfig {
                    cert: missing.clone(),
                    ..good.clone()
                },
                &missing,
                "`server.tls.cert`",
            ),
            (
                TlsConfig {
                    key: missing.clone(),
                    ..good.clone()
                },
                &missing,
                "`server.tls.key`",
            ),
            (
                TlsConfig {
                    cert: garbage.clone(),
                    ..good.clone()
                },
                &garbage,
                "`server.tls.cert`",
            ),
            (
                TlsConfig {
                    key: garbage.clone(),
                    ..good.clone()
                },
                &garbage,
                "`server.tls.key`",
            ),
        ];
        for (tls, file, key) in cases {
            let message = start(tls).await;
            assert!(message.contains(&file.display().to_string()), "{message}");
            assert!(
                message.contains(key) && message.contains("hint:"),
                "{message}"
            );
        }
        // A key that does not belong to the certificate.
        let other = tempfile::tempdir().unwrap();
        let (other, _) = self_signed(&other);
        let message = start(TlsConfig {
            key: other.key,
            ..good
        })
        .await;
        assert!(message.contains("cannot be used together"), "{message}");
    }

    #[test]
    fn tls_is_read_from_the_server_section() {
        let config =
            Config::from_toml("[server]\ntls = { cert = 'a.pem', key = 'a.key' }").unwrap();
        let options: ServerConfig = config.get("server").unwrap();
        assert_eq!(
            options.tls,
            Some(TlsConfig {
                cert: "a.pem".into(),
                key: "a.key".into()
            })
        );
        // The startup log says `listening on https://…`.
        assert_eq!(options.scheme(), "https");
        let config = Config::from_toml("[server]\ntls = { cert = 'a.pem' }").unwrap();
        let err = config
            .get::<ServerConfig>("server")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`server.tls.key` is missing"), "{err}");
    }
}

#[cfg(not(feature = "tls"))]
#[tokio::test]
async fn tls_in_the_configuration_without_the_feature_stops_the_start_naming_it() {
    let config = Config::from_toml("[server]\ntls = { cert = 'a.pem', key = 'a.key' }").unwrap();
    // The section reads the same in every build (the CLI reads an app's `[server]` with its own).
    let server = config.server().unwrap();
    assert_eq!(server.scheme(), "https");
    let err = App::with_config(config)
        .build()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`server.tls`") && err.contains("the `tls` feature"),
        "{err}"
    );
    // A server made without an App refuses it too, rather than serve in the clear.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = Server::from_listener(listener, server)
        .unwrap_err()
        .to_string();
    assert!(err.contains("the `tls` feature"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// `[server]` in the configuration

fn server_options(toml: &str) -> Result<ServerConfig, ConfigError> {
    Config::from_toml(toml).unwrap().server()
}

#[test]
fn every_server_key_is_read_by_one_type() {
    let options = server_options(
        "[server]
host = '0.0.0.0'
port = 8080
http2 = false
header_read_timeout = '5s'
tls_handshake_timeout = '3s'
idle_timeout = '2m'
drain_timeout = '45s'
shutdown_delay = '500ms'
max_connections = 64
max_headers = 50
max_header_bytes = '32KiB'
http2_max_concurrent_streams = 16
",
    )
    .unwrap();
    assert_eq!((options.host.as_str(), options.port), ("0.0.0.0", 8080));
    assert!(!options.http2);
    assert_eq!(options.header_read_timeout, Duration::from_secs(5));
    assert_eq!(options.tls_handshake_timeout, Duration::from_secs(3));
    assert_eq!(options.idle_timeout, Duration::from_secs(120));
    assert_eq!(options.drain_timeout, Duration::from_secs(45));
    assert_eq!(options.shutdown_delay, Duration::from_millis(500));
    assert_eq!(
        (
            options.max_connections,
            options.max_headers,
            options.max_header_bytes
        ),
        (64, 50, 32 * 1024)
    );
    assert_eq!(options.http2_max_concurrent_streams, 16);
    assert_eq!(
        server_options("[server]\nmax_header_bytes = 4096")
            .unwrap()
            .max_header_bytes,
        4096
    );
    assert_eq!(
        server_options("").unwrap().drain_timeout,
        Duration::from_secs(30)
    );
}

#[tokio::test]
async fn server_config_set_in_code_replaces_the_section_address_included() {
    // Port 1 would need privileges: the address set in code is the one bound.
    let config = Config::from_toml("[server]\nport = 1").unwrap();
    let server = ServerConfig {
        port: 0,
        drain_timeout: Duration::from_millis(100),
        ..config.server().unwrap()
    };
    let running = App::with_config(config)
        .server_config(server)
        .build()
        .await
        .unwrap()
        .bind()
        .await
        .unwrap();
    assert_ne!(running.local_addr().port(), 1);
    running.shutdown().await.unwrap();
}

#[tokio::test]
#[allow(deprecated)]
async fn the_deprecated_serve_options_keep_the_configured_address() {
    use cortex_core::server::ServeOptions;
    let config = Config::from_toml("[server]\nhost = '127.0.0.1'\nport = 0").unwrap();
    // `ServeOptions::default()` says port 3000; the configuration's port 0 wins, as it did.
    let running = App::with_config(config)
        .serve_options(ServeOptions {
            drain_timeout: Duration::from_millis(100),
            ..ServeOptions::default()
        })
        .build()
        .await
        .unwrap()
        .bind()
        .await
        .unwrap();
    assert_ne!(running.local_addr().port(), 3000);
    running.shutdown().await.unwrap();
}

#[test]
fn a_misspelt_server_key_is_an_error_naming_it_and_the_known_keys() {
    let err = server_options("[server]\nport = 8080\ndrain_timout = '5s'").unwrap_err();
    let ConfigError::Unknown { key, expected, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(key, "server.drain_timout");
    assert!(
        expected.contains("`drain_timeout`") && expected.contains("`port`"),
        "{expected}"
    );
    assert!(err.to_string().contains("is not recognised"), "{err}");
}

#[test]
fn malformed_server_values_are_explained_without_showing_them() {
    let cases = [
        (
            "header_read_timeout = '30'",
            "server.header_read_timeout",
            "a duration above zero with a unit",
        ),
        (
            "drain_timeout = 30",
            "server.drain_timeout",
            "a duration with a unit",
        ),
        (
            "drain_timeout = '-5s'",
            "server.drain_timeout",
            "a duration with a unit",
        ),
        (
            "header_read_timeout = '0s'",
            "server.header_read_timeout",
            "a duration above zero",
        ),
        (
            "max_connections = -1",
            "server.max_connections",
            "a whole number of connections, at least 1",
        ),
        (
            "max_connections = 0",
            "server.max_connections",
            "a whole number of connections, at least 1",
        ),
        (
            "max_headers = 'many'",
            "server.max_headers",
            "a whole number of headers",
        ),
        (
            "max_header_bytes = '10'",
            "server.max_header_bytes",
            "a size from 1KiB to 16MiB",
        ),
        (
            "http2_max_concurrent_streams = 5000000000",
            "server.http2_max_concurrent_streams",
            "from 1 to 4294967295",
        ),
        ("http2 = 'yes'", "server.http2", "a boolean"),
    ];
    for (line, key, expected) in cases {
        let err = server_options(&format!("[server]\n{line}")).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(&err, ConfigError::Invalid { key: k, .. } if k == key),
            "{line}: {message}"
        );
        assert!(message.contains(expected), "{line}: {message}");
        let value = line.split(" = ").nth(1).unwrap().trim_matches('\'');
        assert!(
            !message.contains(&format!("\"{value}\"")),
            "{line} shows the value: {message}"
        );
    }
    // Zero is fine where it means "none".
    let options = server_options("[server]\ndrain_timeout = '0s'\nshutdown_delay = '0'").unwrap();
    assert_eq!(
        (options.drain_timeout, options.shutdown_delay),
        (Duration::ZERO, Duration::ZERO)
    );
}

#[tokio::test]
async fn an_app_with_a_bad_server_section_does_not_start() {
    let config = Config::from_toml("[server]\nmax_conections = 10").unwrap();
    let err = App::with_config(config).build().await.err().unwrap();
    assert!(
        matches!(err, AppError::Config(ConfigError::Unknown { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("`server.max_conections`"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// An app whose injectable implements every lifecycle hook

#[injectable(profile = "server-lifecycle")]
struct Lifecycle {
    #[inject(default)]
    events: Mutex<Vec<String>>,
}

impl Lifecycle {
    fn push(&self, event: impl Into<String>) {
        self.events.lock().unwrap().push(event.into());
    }
}

impl OnStart for Lifecycle {
    async fn on_start(&self) -> Result<(), BoxError> {
        self.push("OnStart");
        Ok(())
    }
}

impl OnReady for Lifecycle {
    async fn on_ready(&self) -> Result<(), BoxError> {
        self.push("OnReady");
        Ok(())
    }
}

impl OnShutdown for Lifecycle {
    async fn on_shutdown(&self) {
        self.push("OnShutdown");
    }
}

fn log_from(container: &Container, event: &'static str) -> Result<(), BoxError> {
    container.get::<Lifecycle>()?.push(event);
    Ok(())
}

#[tokio::test]
async fn an_apps_injectable_hooks_and_closures_run_in_the_documented_order() {
    let app = App::new()
        .container(|b| {
            b.profile("server-lifecycle");
        })
        .discover()
        .on_start(|c| async move { log_from(&c, "on_start") })
        .on_ready(|c| async move { log_from(&c, "on_ready") })
        .on_shutdown(|c| async move { log_from(&c, "on_shutdown") })
        .build()
        .await
        .unwrap();
    let lifecycle: Inject<Lifecycle> = app.container().get().unwrap();
    assert_eq!(*lifecycle.events.lock().unwrap(), ["OnStart", "on_start"]);

    let running = app.bind_to("127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert_eq!(
        lifecycle.events.lock().unwrap().len(),
        4,
        "ready before bind_to returns"
    );
    let (mut sender, _conn) = h1(running.local_addr()).await;
    assert_eq!(
        get1(&mut sender, "/health/live").await.status,
        StatusCode::OK
    );
    drop(sender);
    running.shutdown().await.unwrap();
    assert_eq!(
        *lifecycle.events.lock().unwrap(),
        [
            "OnStart",
            "on_start",
            "OnReady",
            "on_ready",
            "on_shutdown",
            "OnShutdown"
        ]
    );
}

#[injectable(profile = "server-start-fails")]
struct Unreachable {
    #[inject(default)]
    stopped: std::sync::atomic::AtomicBool,
}

impl OnStart for Unreachable {
    async fn on_start(&self) -> Result<(), BoxError> {
        Err("the broker is unreachable".into())
    }
}

impl OnShutdown for Unreachable {
    async fn on_shutdown(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_failing_on_start_hook_stops_the_build_naming_the_provider() {
    let err = App::new()
        .container(|b| {
            b.profile("server-start-fails");
        })
        .discover()
        .on_start(|_| async { panic!("closures run after the OnStart hooks, so not at all") })
        .build()
        .await
        .err()
        .unwrap();
    let AppError::Container(cortex_di::Error::Hook { hook, provider, .. }) = &err else {
        panic!("{err}")
    };
    assert_eq!(*hook, LifecycleHook::Start);
    assert!(provider.declared_by.ends_with("::Unreachable"), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("the `OnStart` hook of `")
            && message.ends_with("failed: the broker is unreachable"),
        "{message}"
    );
}

#[injectable(profile = "server-ready-fails")]
struct Announcer {
    #[inject(default)]
    stopped: std::sync::atomic::AtomicBool,
}

impl OnReady for Announcer {
    async fn on_ready(&self) -> Result<(), BoxError> {
        Err("the registry said no".into())
    }
}

impl OnShutdown for Announcer {
    async fn on_shutdown(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_failing_on_ready_hook_stops_the_server_and_shuts_the_app_down() {
    let app = App::new()
        .container(|b| {
            b.profile("server-ready-fails");
        })
        .discover()
        .build()
        .await
        .unwrap();
    let announcer: Inject<Announcer> = app.container().get().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let err = app.serve_on(listener).await.err().unwrap();
    assert!(
        matches!(
            &err,
            AppError::Container(cortex_di::Error::Hook {
                hook: LifecycleHook::Ready,
                ..
            })
        ),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("failed: the registry said no"),
        "{err}"
    );
    assert!(
        announcer.stopped.load(std::sync::atomic::Ordering::SeqCst),
        "OnShutdown ran"
    );
    assert!(refused(addr).await, "the server stopped");
}

// ---------------------------------------------------------------------------------------------
// Request framing (RFC 9112 §6.1, §6.3)

/// A router that counts the requests its handlers see: `POST /items` stores the body, `GET /next`
/// answers the pipelined request.
fn counting() -> (Router, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::routing::post;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let reached = Arc::new(AtomicUsize::new(0));
    let (on_post, on_get) = (reached.clone(), reached.clone());
    let router = Router::new()
        .route(
            "/items",
            post(move |body: Bytes| async move {
                on_post.fetch_add(1, Ordering::SeqCst);
                (StatusCode::CREATED, body)
            }),
        )
        .route(
            "/next",
            get(move || async move {
                on_get.fetch_add(1, Ordering::SeqCst);
                "next"
            }),
        );
    (router, reached)
}

/// Sends a `POST /items` with `headers` and the chunked body `hello`, and a pipelined `GET /next`
/// in the same write; everything the server sends until it closes the connection.
async fn post_framed(addr: SocketAddr, headers: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /items HTTP/1.1\r\nHost: x\r\n{headers}\r\n5\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    read_until_closed(&mut stream).await
}

#[tokio::test]
async fn ambiguous_transfer_encodings_are_refused_with_400_before_routing_and_the_connection_closed()
 {
    let (router, reached) = counting();
    let server = serve(ServerConfig::default(), router).await;
    let variants = [
        // `chunked` twice: header repeated, comma list, case and whitespace variations.
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked, chunked\r\n",
        "Transfer-Encoding: chunked,chunked\r\n",
        "transfer-encoding: Chunked\r\nTRANSFER-ENCODING:  CHUNKED \r\n",
        "Transfer-Encoding: gzip,\tchunked , ChUnKeD\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip, chunked\r\n",
        // each with a Content-Length, before or after
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        "Content-Length: 5\r\nTransfer-Encoding: chunked, chunked\r\n",
        "Transfer-Encoding: CHUNKED ,chunked\r\ncontent-length: 5\r\n",
        // both lengths, `chunked` once: hyper would frame by Transfer-Encoding alone
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "CONTENT-LENGTH: 5\r\ntransfer-encoding: gzip, chunked\r\n",
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    ];
    for headers in variants {
        let answer = post_framed(server.addr(), headers).await;
        let lower = answer.to_ascii_lowercase();
        assert!(answer.starts_with("HTTP/1.1 400 "), "{headers:?}: {answer}");
        assert!(
            lower.contains("content-type: application/problem+json"),
            "{headers:?}: {answer}"
        );
        assert!(lower.contains("connection: close"), "{headers:?}: {answer}");
        assert!(answer.contains("RFC 9112"), "{headers:?}: {answer}");
        // The pipelined request was not answered.
        assert_eq!(
            answer.matches("HTTP/1.1 ").count(),
            1,
            "{headers:?}: {answer}"
        );
    }
    assert_eq!(
        reached.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no handler may see these requests"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_transfer_encoding_not_ending_in_chunked_is_refused_with_400_and_the_connection_closed() {
    let (router, reached) = counting();
    let server = serve(ServerConfig::default(), router).await;
    for headers in [
        "Transfer-Encoding: chunked, gzip\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
        "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n",
    ] {
        let answer = post_framed(server.addr(), headers).await;
        // hyper's parser refuses these itself, before the service (no problem body).
        assert!(answer.starts_with("HTTP/1.1 400 "), "{headers:?}: {answer}");
        assert_eq!(
            answer.matches("HTTP/1.1 ").count(),
            1,
            "{headers:?}: {answer}"
        );
    }
    assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 0);
    server.stop().await;
}

#[tokio::test]
async fn chunked_once_and_last_is_served_and_the_connection_kept_alive() {
    let (router, reached) = counting();
    let server = serve(ServerConfig::default(), router).await;
    for headers in [
        "Transfer-Encoding: chunked\r\n",
        "transfer-encoding:  Chunked \r\n",
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
        // A Content-Length in another header's name, and one in the body after the head.
        "X-Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    ] {
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        let request = format!(
            "POST /items HTTP/1.1\r\nHost: x\r\n{headers}\r\n13\r\nContent-Length: 5\r\n\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let answer = read_until_closed(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 201 "), "{headers:?}: {answer}");
        assert!(
            answer.contains("Content-Length: 5\r\n"),
            "{headers:?}: {answer}"
        );
        // The connection stayed open for the pipelined request, which was answered.
        assert!(answer.contains("HTTP/1.1 200 "), "{headers:?}: {answer}");
        assert!(answer.ends_with("next"), "{headers:?}: {answer}");
    }
    assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 10);
    server.stop().await;
}
