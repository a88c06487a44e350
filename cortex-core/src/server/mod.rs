//! The HTTP server: HTTP/1.1 and HTTP/2 (h2c, and TLS with ALPN when a certificate is configured)
//! on hyper, with connection limits, slow-client timeouts, connection counting and graceful drain.
//!
//! [`Server::bind`] opens the listening socket; [`Server::serve`] runs an axum [`Router`] on it
//! until the shutdown signal, then stops accepting, lets in-flight requests finish (up to
//! [`ServerConfig::drain_timeout`]) and returns a [`ServeSummary`].
//!
//! Why not `axum::serve`: it has no TLS, no connection limit, no header-read timeout knob and no
//! drain deadline; Cortex needs all four, so it drives hyper's HTTP/1.1 and HTTP/2 connections
//! itself. It also tells the protocols apart itself rather than with `hyper-util`'s `auto`
//! builder, whose protocol sniffing waits for the client's first bytes without a deadline and
//! ignores `http1_only` on connections that can be upgraded.
//!
//! What every connection goes through:
//!
//! 1. accept, once fewer than [`ServerConfig::max_connections`] are open (otherwise the client
//!    waits in the kernel's accept queue);
//! 2. with TLS, the handshake within [`ServerConfig::tls_handshake_timeout`]; ALPN picks the
//!    protocol;
//! 3. without ALPN, the first bytes within [`ServerConfig::header_read_timeout`]: the HTTP/2
//!    connection preface means HTTP/2 (prior knowledge), anything else HTTP/1.1;
//! 4. HTTP/1.1: each request head within `header_read_timeout` of the connection's start or the
//!    previous response (so an idle keep-alive connection closes then too), at most
//!    [`ServerConfig::max_headers`] headers and [`ServerConfig::max_header_bytes`] bytes;
//!    HTTP/2: at most [`ServerConfig::http2_max_concurrent_streams`] streams, keep-alive pings,
//!    closed after [`ServerConfig::idle_timeout`] without a request.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use bytes::{Buf, Bytes};
use futures_util::task::AtomicWaker;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use crate::shutdown::ShutdownSignal;
use tower::ServiceExt;

/// `AsyncWrite` for a wrapper of a connection's socket that only watches or replays its reads:
/// every write goes straight to the wrapped `io`.
macro_rules! write_through {
    ($wrapper:ident) => {
        impl<IO: AsyncWrite + Unpin> AsyncWrite for $wrapper<IO> {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.io).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.io.is_write_vectored()
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.io).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.io).poll_shutdown(cx)
            }
        }
    };
}

mod framing;
#[cfg(feature = "tls")]
mod tls;

/// `[server]` and `[server.tls]`, read by one type each; their home is [`crate::config`].
pub use crate::config::{ServerConfig, TlsConfig};

/// The connection settings of `[server]`, now part of [`ServerConfig`] (which also holds `host`
/// and `port`): `ServeOptions { drain_timeout, ..ServeOptions::default() }` still compiles.
#[deprecated(
    since = "0.1.0",
    note = "`[server]` is read by one type: use `cortex_core::config::ServerConfig` (same fields, plus `host` and `port`)"
)]
pub type ServeOptions = ServerConfig;

#[derive(Debug, Default)]
struct Stats {
    active: AtomicUsize,
    accepted: AtomicU64,
    draining: Arc<AtomicBool>,
    /// Woken when the last connection closes while draining (upgraded ones outlive their task).
    all_closed: tokio::sync::Notify,
}

impl Stats {
    /// Completes once no connection is open.
    async fn all_closed(&self) {
        loop {
            let notified = self.all_closed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.active.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// A handle on a running server: its address, counters, and a way to stop it.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use cortex_core::server::{ServerConfig, Server};
/// let server = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).await?;
/// let handle = server.handle();
/// tokio::spawn(server.serve(axum::Router::new(), std::future::pending()));
/// println!("listening on {}", handle.local_addr());
/// handle.shutdown();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ServerHandle {
    stats: Arc<Stats>,
    stop: Arc<watch::Sender<bool>>,
    /// Set once the listener is closed (accepting stopped for good).
    closed: Arc<watch::Sender<bool>>,
    local_addr: SocketAddr,
}

impl ServerHandle {
    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Connections open right now: from accept until closed, including those still in their TLS
    /// handshake and those upgraded to another protocol (a WebSocket), until the upgraded
    /// connection is dropped.
    pub fn active_connections(&self) -> usize {
        self.stats.active.load(Ordering::Relaxed)
    }

    /// Connections accepted since start.
    pub fn accepted_connections(&self) -> u64 {
        self.stats.accepted.load(Ordering::Relaxed)
    }

    /// Whether the server is shutting down (readiness answers 503 from then on).
    pub fn is_draining(&self) -> bool {
        self.stats.draining.load(Ordering::Acquire)
    }

    /// Completes once the server has closed its listener: from then on it accepts no connection
    /// (with a socket shared with other processes, they get the new ones). That is after the
    /// shutdown signal and [`ServerConfig::shutdown_delay`].
    ///
    /// ```no_run
    /// # async fn demo(handle: cortex_core::server::ServerHandle) {
    /// handle.shutdown();
    /// handle.stopped_accepting().await;
    /// # }
    /// ```
    pub async fn stopped_accepting(&self) {
        let mut closed = self.closed.subscribe();
        // The sender lives as long as this handle: `wait_for` cannot fail here.
        let _ = closed.wait_for(|closed| *closed).await;
    }

    /// Starts a graceful shutdown, as the shutdown signal would: readiness reports draining from
    /// now on.
    pub fn shutdown(&self) {
        self.stats.draining.store(true, Ordering::Release);
        self.stop.send_replace(true);
    }
}

/// The addresses besides the main one that the app serves on (an admin port for `/metrics`, a
/// gRPC port), which the startup line lists: a plugin that opens a listener reports it here.
///
/// It is in the container from the start (`Inject<ListenAddresses>`, or
/// `container.get::<ListenAddresses>()`); report an address before the server listens, from an
/// `on_start` hook or a singleton's `OnStart`, for the startup line to show it.
///
/// ```
/// use cortex_core::server::ListenAddresses;
///
/// let addresses = ListenAddresses::default();
/// addresses.report("admin", "http://127.0.0.1:9090");
/// assert_eq!(addresses.list(), [("admin".to_string(), "http://127.0.0.1:9090".to_string())]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ListenAddresses(Arc<std::sync::Mutex<Vec<(String, String)>>>);

impl ListenAddresses {
    /// Adds an address: what it serves (`admin`) and where (`http://127.0.0.1:9090`).
    pub fn report(&self, name: impl Into<String>, url: impl Into<String>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name.into(), url.into()));
    }

    /// The addresses reported, in order.
    pub fn list(&self) -> Vec<(String, String)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// What happened during shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeSummary {
    /// Connections open when accepting stopped (upgraded ones included).
    pub open_at_shutdown: usize,
    /// Connections closed because they outlived the drain timeout (upgraded ones included).
    pub forced_closed: usize,
    /// Requests in flight when the drain started: their head was read, their response not yet
    /// written (an upgraded connection's traffic is not counted).
    pub in_flight_at_shutdown: usize,
    /// Tasks tracked with [`ShutdownSignal::spawn_tracked`] that finished during the drain.
    pub tasks_finished: usize,
    /// Tracked tasks still running at the drain timeout, and aborted.
    pub tasks_aborted: usize,
}

/// A bound, not yet serving, HTTP server.
pub struct Server {
    listener: TcpListener,
    options: ServerConfig,
    handle: ServerHandle,
    signal: ShutdownSignal,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.handle.local_addr)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `addr`.
    pub async fn bind(addr: SocketAddr, options: ServerConfig) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot listen on {addr}: {e}; hint: is another process using the port? set `server.port` or CORTEX_PORT"
                ),
            )
        })?;
        Server::from_listener(listener, options)
    }

    /// Serves on a listener the caller opened (or inherited from `cortex serve`).
    ///
    /// With TLS configured, the certificate and key are read here, so a missing or bad file is a
    /// startup error naming it.
    pub fn from_listener(listener: TcpListener, options: ServerConfig) -> io::Result<Server> {
        let local_addr = listener.local_addr()?;
        // Refuses TLS configured in a build without the feature, rather than serve in the clear.
        options
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        #[cfg(feature = "tls")]
        let tls = match &options.tls {
            Some(config) => Some(config.acceptor(options.http2)?),
            None => None,
        };
        let (stop, _) = watch::channel(false);
        let (closed, _) = watch::channel(false);
        let handle = ServerHandle {
            stats: Arc::default(),
            stop: Arc::new(stop),
            closed: Arc::new(closed),
            local_addr,
        };
        Ok(Server {
            listener,
            options,
            handle,
            signal: ShutdownSignal::new(),
            #[cfg(feature = "tls")]
            tls,
        })
    }

    /// Shares `flag` as the draining flag: it is set when shutdown starts (the readiness probe
    /// reads it).
    pub fn with_draining_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        let stats = Stats {
            draining: flag,
            ..Stats::default()
        };
        self.handle.stats = Arc::new(stats);
        self
    }

    /// Trips `signal` when the drain starts and waits for its tracked tasks (see
    /// [`ShutdownSignal::spawn_tracked`]) within the drain timeout; the app passes the signal of
    /// its container. Without it, the server has a signal of its own
    /// ([`shutdown_signal`](Self::shutdown_signal)).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use cortex_core::ShutdownSignal;
    /// use cortex_core::server::{Server, ServerConfig};
    ///
    /// let signal = ShutdownSignal::new();
    /// let server = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default())
    ///     .await?
    ///     .with_shutdown_signal(signal.clone());
    /// let stop = signal.clone();
    /// signal.spawn_tracked("ticker", async move { stop.tripped().await });
    /// # Ok(()) }
    /// ```
    pub fn with_shutdown_signal(mut self, signal: ShutdownSignal) -> Self {
        self.signal = signal;
        self
    }

    /// The signal this server trips when its drain starts.
    pub fn shutdown_signal(&self) -> &ShutdownSignal {
        &self.signal
    }

    /// A handle for counters and shutdown; valid before and while serving.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.handle.local_addr
    }

    /// Serves `router` until `signal` completes or [`ServerHandle::shutdown`] is called, then
    /// drains:
    ///
    /// 1. readiness reports draining at once, while new connections are still accepted for
    ///    [`ServerConfig::shutdown_delay`] (so load balancers stop sending traffic first);
    /// 2. the listener closes: new connections are refused;
    /// 3. open connections are asked to finish: idle ones close, HTTP/1.1 ones close after their
    ///    in-flight request, HTTP/2 ones get a `GOAWAY` and finish their streams. A connection
    ///    that has not sent its first request yet (accepted a moment before, its request still on
    ///    the way) gets [`FRESH_CONNECTION_GRACE`] to send it, and that request is answered (with
    ///    `Connection: close`) rather than the connection closed under it;
    ///    At the same moment the [`ShutdownSignal`] trips: background work and upgraded
    ///    connections (WebSockets) are asked to finish, and the drain waits for the tasks tracked
    ///    with [`ShutdownSignal::spawn_tracked`] and for the upgraded connections too;
    /// 4. those still open after [`ServerConfig::drain_timeout`] are closed
    ///    ([`ServeSummary::forced_closed`]): an upgraded connection's reads and writes fail from
    ///    then on, and tracked tasks still running are aborted (the log names them).
    pub async fn serve(
        self,
        router: Router,
        signal: impl Future<Output = ()> + Send,
    ) -> io::Result<ServeSummary> {
        let Server {
            listener,
            options,
            handle,
            signal: shutdown,
            #[cfg(feature = "tls")]
            tls,
        } = self;
        let shared = Arc::new(Shared::new(
            router,
            &options,
            #[cfg(feature = "tls")]
            tls,
        ));
        let limit = Arc::new(Semaphore::new(options.max_connections.max(1)));
        let server_metrics = ServerMetrics::new();
        let closer = Closer::default();
        let mut tasks = JoinSet::new();

        let stats = handle.stats.clone();
        let mut stop = handle.stop.subscribe();
        let delay = options.shutdown_delay;
        // Completes when accepting must stop: the signal, then the shutdown delay.
        let accept_until = async move {
            tokio::select! {
                _ = signal => {}
                _ = stop.wait_for(|stopped| *stopped) => {}
            }
            stats.draining.store(true, Ordering::Release);
            tracing::info!(?delay, "shutting down: readiness reports draining");
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        };
        tokio::pin!(accept_until);

        loop {
            let permit = tokio::select! {
                biased;
                _ = &mut accept_until => break,
                permit = limit.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            };
            let (stream, peer) = tokio::select! {
                biased;
                _ = &mut accept_until => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) if is_connection_error(&e) => continue,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_millis(50)) => continue,
                            _ = &mut accept_until => break,
                        }
                    }
                },
            };
            while tasks.try_join_next().is_some() {}
            handle.stats.accepted.fetch_add(1, Ordering::Relaxed);
            server_metrics.accepted.increment(1);
            let guard = ConnectionGuard::new(handle.stats.clone(), permit, &server_metrics.open);
            tasks.spawn(serve_connection(
                shared.clone(),
                stream,
                peer,
                closer.register(),
                guard,
            ));
        }

        drop(listener);
        handle.closed.send_replace(true);
        let open_at_shutdown = handle.active_connections();
        tracing::info!(connections = open_at_shutdown, timeout = ?options.drain_timeout, "draining");
        let deadline = tokio::time::Instant::now() + options.drain_timeout;
        let open = closer.close_all();
        let in_flight_at_shutdown = open.iter().map(|signal| signal.in_flight()).sum();
        shutdown.trip();
        let stats = handle.stats.clone();
        // Connection tasks end after their last response, or at an upgrade: an upgraded
        // connection stays counted (its guard lives in its IO) until its handler drops it.
        let drain = async {
            while tasks.join_next().await.is_some() {}
            stats.all_closed().await;
        };
        let (drained, tracked) = tokio::join!(
            tokio::time::timeout_at(deadline, drain),
            shutdown.wait_tracked_until(deadline),
        );
        let mut forced_closed = 0;
        if drained.is_err() {
            let running = tasks.len();
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
            // What is still open now is upgraded: fail its reads and writes.
            forced_closed = running + handle.active_connections();
            tracing::warn!(
                connections = forced_closed,
                "drain timeout reached: closing the remaining connections"
            );
            for signal in &open {
                signal.kill();
            }
        }
        ServerMetrics::drained(open_at_shutdown, forced_closed);
        Ok(ServeSummary {
            open_at_shutdown,
            forced_closed,
            in_flight_at_shutdown,
            tasks_finished: tracked.finished,
            tasks_aborted: tracked.aborted.len(),
        })
    }
}

/// Errors about one connection that `accept` reports; the listener itself is fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// What every connection of one server shares.
struct Shared {
    router: Router,
    http1: http1::Builder,
    /// `None` when HTTP/2 is off.
    http2: Option<http2::Builder<TokioExecutor>>,
    header_read_timeout: Duration,
    idle_timeout: Duration,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
    #[cfg(feature = "tls")]
    tls_handshake_timeout: Duration,
    /// `http_server_connections_rejected_total{reason="tls"}`.
    #[cfg(feature = "tls")]
    rejected_tls: metrics::Counter,
}

/// The server's connection metrics (names in the guide's metrics chapter), registered once per
/// server with the `metrics` facade's global recorder: no-ops when none is installed, and never
/// touched per request.
struct ServerMetrics {
    accepted: metrics::Counter,
    open: metrics::Gauge,
}

impl ServerMetrics {
    fn new() -> Self {
        ServerMetrics {
            accepted: metrics::counter!("http_server_connections_accepted_total"),
            open: metrics::gauge!("http_server_open_connections"),
        }
    }

    /// Counts the drain's outcome: connections that finished in time and those cut off.
    fn drained(open_at_shutdown: usize, forced_closed: usize) {
        let closed = open_at_shutdown.saturating_sub(forced_closed);
        metrics::counter!("http_server_drain_connections_total", "outcome" => "closed")
            .increment(closed as u64);
        metrics::counter!("http_server_drain_connections_total", "outcome" => "aborted")
            .increment(forced_closed as u64);
    }
}

/// hyper's own limit on the headers of an HTTP/1.1 request.
const HYPER_DEFAULT_MAX_HEADERS: usize = 100;

/// How long a connection that has not sent its first request when the drain starts may still send
/// it (at most the header-read timeout). Accepting and a client's first bytes race: a connection
/// accepted just before the drain usually has its request on the way, and closing it would fail
/// a request the server had taken on. Go's `http.Server.Shutdown` gives new connections 5 s; a
/// request on its way over a LAN or from a proxy arrives within milliseconds, and a TLS
/// handshake within a few round trips.
pub const FRESH_CONNECTION_GRACE: Duration = Duration::from_secs(2);

impl Shared {
    fn new(
        router: Router,
        options: &ServerConfig,
        #[cfg(feature = "tls")] tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Self {
        // The header-read timeout is kept by `drive`, not by hyper (see `Exchanges`). Responses
        // are written from one buffer: hyper's queue of buffers for vectored writes costs more
        // than copying a small body (docs/src/performance.md#changes-made-for-the-targets).
        let mut h1 = http1::Builder::new();
        h1.writev(false).max_header_size(options.max_header_bytes);
        // hyper parses up to 100 headers into arrays on the stack; any explicit limit, even 100,
        // makes it fill two buffers of that many entries on every request.
        if options.max_headers != HYPER_DEFAULT_MAX_HEADERS {
            h1.max_headers(options.max_headers);
        }
        let h2 = options.http2.then(|| {
            let mut h2 = http2::Builder::new(TokioExecutor::new());
            h2.timer(TokioTimer::new())
                .max_concurrent_streams(options.http2_max_concurrent_streams)
                .max_header_list_size(u32::try_from(options.max_header_bytes).unwrap_or(u32::MAX))
                .keep_alive_interval(Some(Duration::from_secs(20)))
                .keep_alive_timeout(Duration::from_secs(20));
            h2
        });
        Shared {
            router,
            http1: h1,
            http2: h2,
            header_read_timeout: options.header_read_timeout,
            idle_timeout: options.idle_timeout,
            #[cfg(feature = "tls")]
            tls,
            #[cfg(feature = "tls")]
            tls_handshake_timeout: options.tls_handshake_timeout,
            #[cfg(feature = "tls")]
            rejected_tls: metrics::counter!("http_server_connections_rejected_total", "reason" => "tls"),
        }
    }
}

/// Counts a connection as active and holds its `max_connections` permit until dropped.
struct ConnectionGuard {
    stats: Arc<Stats>,
    _permit: OwnedSemaphorePermit,
    /// `http_server_open_connections`.
    open: metrics::Gauge,
}

impl ConnectionGuard {
    fn new(stats: Arc<Stats>, permit: OwnedSemaphorePermit, open: &metrics::Gauge) -> Self {
        stats.active.fetch_add(1, Ordering::Relaxed);
        open.increment(1.0);
        ConnectionGuard {
            stats,
            _permit: permit,
            open: open.clone(),
        }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.open.decrement(1.0);
        let before = self.stats.active.fetch_sub(1, Ordering::AcqRel);
        if before == 1 && self.stats.draining.load(Ordering::Acquire) {
            self.stats.all_closed.notify_waiters();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    Http2,
}

/// The server's request to one connection to finish, with the connection task's waker. Checking
/// it costs the task an atomic load and a waker registration per wake; a `watch` receiver, polled
/// on every wake of the task, took a lock each time
/// (docs/src/performance.md#changes-made-for-the-targets).
#[derive(Default)]
struct CloseSignal {
    closing: AtomicBool,
    waker: AtomicWaker,
    /// Set at the drain timeout: the connection's IO fails from then on (see [`Counted`]), which
    /// ends an upgraded connection whose handler ignored the shutdown signal.
    killed: AtomicBool,
    /// The connection's request counters, once its protocol is known: the shutdown report counts
    /// the requests in flight when the drain starts.
    requests: std::sync::OnceLock<Requests>,
    read_waker: AtomicWaker,
    write_waker: AtomicWaker,
}

/// A connection's request counters (see [`CloseSignal::in_flight`]).
enum Requests {
    Http1(Arc<Exchanges>),
    Http2(Arc<Activity>),
}

impl CloseSignal {
    /// The connection's requests whose head was read and whose response is not written yet.
    fn in_flight(&self) -> usize {
        match self.requests.get() {
            Some(Requests::Http1(exchanges)) => {
                let (started, finished) = exchanges.snapshot();
                usize::try_from(started.saturating_sub(finished)).unwrap_or(usize::MAX)
            }
            Some(Requests::Http2(activity)) => activity.in_flight.load(Ordering::Relaxed),
            None => 0,
        }
    }

    fn is_set(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    /// Fails the connection's reads and writes, waking whoever waits on them.
    fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.read_waker.wake();
        self.write_waker.wake();
    }
}

/// Every open connection's [`CloseSignal`], to set them all when the drain starts.
#[derive(Default)]
struct Closer {
    signals: std::sync::Mutex<Vec<Weak<CloseSignal>>>,
}

impl Closer {
    /// A signal for a new connection.
    fn register(&self) -> Arc<CloseSignal> {
        let signal = Arc::new(CloseSignal::default());
        let mut signals = self.signals.lock().unwrap_or_else(PoisonError::into_inner);
        // Before the list grows, forget the connections that have ended (amortized O(1)).
        if signals.len() == signals.capacity() {
            signals.retain(|s| s.strong_count() > 0);
        }
        signals.push(Arc::downgrade(&signal));
        signal
    }

    /// Asks every open connection to finish; returns their signals, to kill those left at the
    /// drain timeout.
    fn close_all(&self) -> Vec<Arc<CloseSignal>> {
        let signals =
            std::mem::take(&mut *self.signals.lock().unwrap_or_else(PoisonError::into_inner));
        let open: Vec<Arc<CloseSignal>> = signals.iter().filter_map(Weak::upgrade).collect();
        for signal in &open {
            signal.closing.store(true, Ordering::Release);
            signal.waker.wake();
        }
        open
    }
}

/// Completes once the server asks the connection to close.
fn closing(signal: &CloseSignal) -> impl Future<Output = ()> + '_ {
    std::future::poll_fn(move |cx| {
        if signal.is_set() {
            return Poll::Ready(());
        }
        signal.waker.register(cx.waker());
        // Set between the check and the registration: the wake may have missed this waker.
        if signal.is_set() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

/// Completes [`FRESH_CONNECTION_GRACE`] (at most `head_timeout`) after the server asks
/// connections to close: how long a connection without a request yet may still send one.
async fn fresh_until(close: &CloseSignal, head_timeout: Duration) {
    closing(close).await;
    tokio::time::sleep(FRESH_CONNECTION_GRACE.min(head_timeout)).await;
}

/// A connection's socket, which counts the connection as open until dropped — after an upgrade,
/// when the upgraded connection's handler drops it — and fails once the drain times out.
struct Counted {
    io: TcpStream,
    close: Arc<CloseSignal>,
    _guard: ConnectionGuard,
}

/// The error of a connection's reads and writes after the drain timeout.
fn killed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the server closed the connection: the drain timeout ([server] drain_timeout) was reached",
    )
}

/// Polls `io` unless the drain timed out, registering `waker` when it waits so that the timeout
/// wakes the task (the kill is re-checked after registering, so one in between is not missed).
fn unless_killed<T>(
    close: &CloseSignal,
    waker: &AtomicWaker,
    cx: &mut Context<'_>,
    poll: impl FnOnce(&mut Context<'_>) -> Poll<io::Result<T>>,
) -> Poll<io::Result<T>> {
    if close.is_killed() {
        return Poll::Ready(Err(killed()));
    }
    match poll(cx) {
        Poll::Pending => {
            waker.register(cx.waker());
            if close.is_killed() {
                Poll::Ready(Err(killed()))
            } else {
                Poll::Pending
            }
        }
        ready => ready,
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        unless_killed(&this.close, &this.close.read_waker, cx, |cx| {
            Pin::new(&mut this.io).poll_read(cx, buf)
        })
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        unless_killed(&this.close, &this.close.write_waker, cx, |cx| {
            Pin::new(&mut this.io).poll_write(cx, buf)
        })
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        unless_killed(&this.close, &this.close.write_waker, cx, |cx| {
            Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
        })
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

async fn serve_connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    close: Arc<CloseSignal>,
    guard: ConnectionGuard,
) {
    let _ = stream.set_nodelay(true);
    let stream = Counted {
        io: stream,
        close: close.clone(),
        _guard: guard,
    };
    #[cfg(feature = "tls")]
    if let Some(acceptor) = &shared.tls {
        let handshake = tokio::time::timeout(shared.tls_handshake_timeout, acceptor.accept(stream));
        let stream = tokio::select! {
            done = handshake => match done {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    shared.rejected_tls.increment(1);
                    return tracing::debug!(%peer, error = %e, "TLS handshake failed");
                }
                Err(_) => {
                    shared.rejected_tls.increment(1);
                    return tracing::debug!(%peer, "TLS handshake timed out");
                }
            },
            _ = fresh_until(&close, shared.header_read_timeout) => return,
        };
        let protocol = match stream.get_ref().1.alpn_protocol() {
            Some(b"h2") => Some(Protocol::Http2),
            Some(_) => Some(Protocol::Http1),
            None => None,
        };
        return serve_io(&shared, stream, protocol, peer, true, close).await;
    }
    serve_io(&shared, stream, None, peer, false, close).await;
}

/// Serves HTTP on `io`, in `protocol` or, when `None`, the protocol the first bytes show.
async fn serve_io<IO>(
    shared: &Shared,
    io: IO,
    protocol: Option<Protocol>,
    peer: SocketAddr,
    secure: bool,
    close: Arc<CloseSignal>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (protocol, io) = match (protocol, &shared.http2) {
        (Some(protocol), _) => (protocol, Prefixed::new(Bytes::new(), io)),
        (None, None) => (Protocol::Http1, Prefixed::new(Bytes::new(), io)),
        (None, Some(_)) => {
            let sniffed = tokio::time::timeout(shared.header_read_timeout, sniff(io));
            let sniffed = tokio::select! {
                sniffed = sniffed => sniffed,
                _ = fresh_until(&close, shared.header_read_timeout) => return,
            };
            match sniffed {
                Ok(Ok(Some(found))) => found,
                Ok(Ok(None)) => return,
                Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "connection failed"),
                Err(_) => {
                    return tracing::debug!(%peer, "no request within the header read timeout");
                }
            }
        }
    };
    match (protocol, &shared.http2) {
        (Protocol::Http2, Some(h2)) => {
            let io = TokioIo::new(io);
            let activity = Arc::new(Activity::default());
            let service = service(
                shared.router.clone(),
                peer,
                secure,
                Some(activity.clone()),
                None,
            );
            let conn = h2.serve_connection(io, service);
            let _ = close.requests.set(Requests::Http2(activity.clone()));
            let idle = Watch::Idle(Idle {
                activity,
                timeout: shared.idle_timeout,
            });
            drive(conn, |c| c.graceful_shutdown(), close, idle, peer).await;
        }
        _ => {
            let exchanges = Arc::new(Exchanges::default());
            if close.is_set() {
                // The server started closing while the first bytes came in: answer the request
                // they begin, then close.
                exchanges.close_after_next.store(true, Ordering::SeqCst);
            }
            let service = service(
                shared.router.clone(),
                peer,
                secure,
                None,
                Some(exchanges.clone()),
            );
            let io = TokioIo::new(framing::Watched::new(io, exchanges.clone()));
            let conn = shared.http1.serve_connection(io, service).with_upgrades();
            let _ = close.requests.set(Requests::Http1(exchanges.clone()));
            let head = Watch::Head {
                exchanges,
                timeout: shared.header_read_timeout,
            };
            drive(conn, |c| c.graceful_shutdown(), close, head, peer).await;
        }
    }
}

/// The requests of one HTTP/1.1 connection, for its header-read timeout and its drain.
///
/// The header-read timeout is kept here, not by hyper: with a timeout, hyper asks its timer for
/// a sleep every time it starts waiting for a request head, reads the clock for its deadline, and
/// re-polls the connection's read side after every head to start the next one (the cost is in
/// docs/src/performance.md#changes-made-for-the-targets). Here the service counts the requests
/// it starts and the response bodies hyper is done with ([`Tracked`]); [`drive`] looks at the
/// two every quarter of the timeout, and a connection on which nothing was in flight and nothing
/// started for four looks in a row (so between 1 and 1.25 times the timeout) is closed, as hyper
/// would close it: a slow or incomplete head, or an idle keep-alive connection. A request whose
/// head is in, its body still uploading or its response still streaming, is in flight.
#[derive(Default)]
struct Exchanges {
    /// Requests whose head has been read (the service counts them).
    started: AtomicU64,
    /// Of those, the ones whose response hyper is done with (its body dropped).
    finished: AtomicU64,
    /// Set by [`drive`] when the server closes before the connection's first request: that
    /// request, when it comes, is answered with `Connection: close`.
    close_after_next: AtomicBool,
    /// Set when the bytes read had a header block with both `Transfer-Encoding` and
    /// `Content-Length` (see [`framing`]); cleared by the next request with a
    /// `Transfer-Encoding`, which is refused.
    ambiguous_framing: AtomicBool,
}

impl Exchanges {
    /// Started and finished requests, for [`drive`]'s looks.
    fn snapshot(&self) -> (u64, u64) {
        (
            self.started.load(Ordering::Relaxed),
            self.finished.load(Ordering::Relaxed),
        )
    }
}

/// How many looks in a row without a request make a head late (see [`Exchanges`]).
const HEAD_CHECKS: u32 = 4;

/// A response body that counts itself finished in its connection's [`Exchanges`] when hyper
/// drops it: once written, or when the connection ends.
struct Tracked {
    body: axum::body::Body,
    exchanges: Option<Arc<Exchanges>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(exchanges) = &self.exchanges {
            exchanges.finished.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    #[inline]
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The HTTP/2 client connection preface.
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Reads until the bytes either differ from the HTTP/2 preface (HTTP/1.1) or complete it; `None`
/// when the client closes first.
async fn sniff<IO: AsyncRead + Unpin>(mut io: IO) -> io::Result<Option<(Protocol, Prefixed<IO>)>> {
    let mut buf = [0u8; 24];
    let mut filled = 0;
    let protocol = loop {
        let n = io.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(None);
        }
        filled += n;
        if buf[..filled] != H2_PREFACE[..filled] {
            break Protocol::Http1;
        }
        if filled == H2_PREFACE.len() {
            break Protocol::Http2;
        }
    };
    let read = Bytes::copy_from_slice(&buf[..filled]);
    Ok(Some((protocol, Prefixed::new(read, io))))
}

/// Requests of one HTTP/2 connection: how many are running, and how many there were.
#[derive(Debug, Default)]
struct Activity {
    in_flight: AtomicUsize,
    requests: AtomicU64,
}

/// Counts one request as running until dropped (when its response is ready, or it is cancelled).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: Arc<Activity>) -> Self {
        activity.requests.fetch_add(1, Ordering::Relaxed);
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Idle {
    activity: Arc<Activity>,
    timeout: Duration,
}

/// What [`drive`] watches besides the server's shutdown.
enum Watch {
    /// An HTTP/2 connection's requests, to close it when idle.
    Idle(Idle),
    /// An HTTP/1.1 connection's [`Exchanges`], to close it when a head is late.
    Head {
        exchanges: Arc<Exchanges>,
        timeout: Duration,
    },
}

/// How many quiet checks in a row make a connection idle: it is checked every quarter of the idle
/// timeout, so it closes between 1 and 1.25 times the timeout after its last request.
const IDLE_CHECKS: u32 = 4;

/// Room in a request's extensions (see [`connection_extensions`]).
#[derive(Clone, Copy)]
struct Room<const N: usize>;

/// The extensions every request of a connection starts with: `ConnectInfo`, and `Secure` over
/// TLS. Prepared once per connection and cloned into each request, with room for four more
/// (axum adds three, the app one or two): inserting into empty extensions instead allocates a
/// table of four, which then grows (rehashing) when the router adds its own
/// (docs/src/performance.md#changes-made-for-the-targets).
fn connection_extensions(peer: SocketAddr, secure: bool) -> http::Extensions {
    let mut extensions = http::Extensions::new();
    extensions.insert(ConnectInfo(peer));
    if secure {
        // HSTS and the request's scheme (see the trusted-proxy middleware) depend on it.
        extensions.insert(crate::http::middleware::Secure);
    }
    extensions.insert(Room::<0>);
    extensions.insert(Room::<1>);
    extensions.insert(Room::<2>);
    extensions.insert(Room::<3>);
    extensions.remove::<Room<0>>();
    extensions.remove::<Room<1>>();
    extensions.remove::<Room<2>>();
    extensions.remove::<Room<3>>();
    extensions
}

fn service(
    router: Router,
    peer: SocketAddr,
    secure: bool,
    activity: Option<Arc<Activity>>,
    head: Option<Arc<Exchanges>>,
) -> impl hyper::service::Service<
    http::Request<Incoming>,
    Response = http::Response<Tracked>,
    Error = Infallible,
    Future = impl Future<Output = Result<http::Response<Tracked>, Infallible>> + Send + 'static,
> + Clone {
    let prepared = connection_extensions(peer, secure);
    hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
        let in_flight = activity.clone().map(InFlight::new);
        // With `drive`'s check of the two, in the opposite order (both sequentially consistent):
        // either `drive` sees this request and asks hyper to close after it, or this request
        // sees that the server closes and answers with `Connection: close`.
        let close_after = head.as_ref().is_some_and(|exchanges| {
            exchanges.started.fetch_add(1, Ordering::SeqCst);
            exchanges.close_after_next.load(Ordering::SeqCst)
        });
        // HTTP/1.1 framing that proxies may read differently is refused before routing.
        let refused = head
            .as_ref()
            .and_then(|exchanges| framing::check(req.headers(), exchanges).err());
        let exchanges = head.clone();
        let extensions = req.extensions_mut();
        if extensions.is_empty() {
            *extensions = prepared.clone();
        } else {
            extensions.extend(prepared.clone());
        }
        let router = router.clone();
        async move {
            let mut response = match refused {
                None => router
                    .oneshot(req.map(request_body))
                    .await
                    .unwrap_or_else(|e| match e {}),
                Some(ambiguous) => {
                    tracing::debug!(%peer, ?ambiguous, "refused a request with ambiguous framing");
                    ambiguous.response()
                }
            };
            drop(in_flight);
            if close_after {
                response.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
            }
            Ok::<_, Infallible>(response.map(|body| Tracked { body, exchanges }))
        }
    })
}

/// A request's body for axum: an empty one for a request that has none (most `GET`s), which
/// boxes nothing; boxing hyper's body costs an allocation and a `free` per request.
fn request_body(body: Incoming) -> axum::body::Body {
    use http_body::Body as _;
    if body.is_end_stream() {
        axum::body::Body::empty()
    } else {
        axum::body::Body::new(body)
    }
}

/// Drives a connection to its end: asks it to finish when the server closes (or, for HTTP/2, when
/// it has been idle too long), expires an HTTP/1.1 request head that is late, and keeps polling
/// the connection until it has finished.
async fn drive<C, E>(
    conn: C,
    graceful_shutdown: fn(Pin<&mut C>),
    close: Arc<CloseSignal>,
    watch: Watch,
    peer: SocketAddr,
) where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    tokio::pin!(conn);
    let check_every = match &watch {
        Watch::Idle(i) => (i.timeout / IDLE_CHECKS).max(Duration::from_millis(1)),
        Watch::Head { timeout, .. } => (*timeout / HEAD_CHECKS).max(Duration::from_millis(1)),
    };
    let check = tokio::time::sleep(check_every);
    tokio::pin!(check);
    let mut asked_to_close = false;
    let mut quiet_checks = 0;
    let mut seen_requests = 0;
    let mut seen_exchanges = (0, 0);
    // While the server closes: until when an HTTP/1.1 connection without a request yet may still
    // send its first one (`FRESH_CONNECTION_GRACE`).
    let mut fresh: Option<Pin<Box<tokio::time::Sleep>>> = None;
    loop {
        tokio::select! {
            // The connection first: it is what wakes the task nearly every time.
            biased;
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = closing(&close), if !asked_to_close => {
                asked_to_close = true;
                let grace = match &watch {
                    Watch::Head { exchanges, timeout } => {
                        // See `service` for the other side of this exchange.
                        exchanges.close_after_next.store(true, Ordering::SeqCst);
                        (exchanges.started.load(Ordering::SeqCst) == 0)
                            .then(|| FRESH_CONNECTION_GRACE.min(*timeout))
                    }
                    Watch::Idle(_) => None,
                };
                match grace {
                    // The first request, when it comes, is answered with `Connection: close`;
                    // hyper then ends the connection itself.
                    Some(grace) => fresh = Some(Box::pin(tokio::time::sleep(grace))),
                    None => graceful_shutdown(conn.as_mut()),
                }
            }
            _ = async {
                match fresh.as_mut() {
                    Some(sleep) => sleep.await,
                    None => std::future::pending().await,
                }
            }, if fresh.is_some() => {
                // No request came (or it is still running; hyper finishes it first).
                fresh = None;
                graceful_shutdown(conn.as_mut());
            }
            // HTTP/1.1: always (a late head ends the connection, also while draining);
            // HTTP/2: until asked to close.
            _ = &mut check, if matches!(watch, Watch::Head { .. }) || !asked_to_close => {
                match &watch {
                    Watch::Head { exchanges, .. } => {
                        // Nothing in flight and nothing started since the last look.
                        let now = exchanges.snapshot();
                        if now.0 == now.1 && now == seen_exchanges {
                            quiet_checks += 1;
                        } else {
                            quiet_checks = 0;
                            seen_exchanges = now;
                        }
                        if quiet_checks >= HEAD_CHECKS {
                            return tracing::debug!(%peer, "no request head within the header read timeout");
                        }
                        check.as_mut().reset(tokio::time::Instant::now() + check_every);
                    }
                    Watch::Idle(idle) => {
                        let requests = idle.activity.requests.load(Ordering::Relaxed);
                        let running = idle.activity.in_flight.load(Ordering::Relaxed);
                        if running == 0 && requests == seen_requests {
                            quiet_checks += 1;
                        } else {
                            quiet_checks = 0;
                            seen_requests = requests;
                        }
                        if quiet_checks >= IDLE_CHECKS {
                            tracing::debug!(%peer, "closing an idle HTTP/2 connection");
                            graceful_shutdown(conn.as_mut());
                            asked_to_close = true;
                        } else {
                            check.as_mut().reset(tokio::time::Instant::now() + check_every);
                        }
                    }
                }
            }
        }
    }
}

/// An IO whose first reads return bytes already read from it (while telling the protocols apart).
struct Prefixed<IO> {
    prefix: Bytes,
    io: IO,
}

impl<IO> Prefixed<IO> {
    fn new(prefix: Bytes, io: IO) -> Self {
        Prefixed { prefix, io }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Prefixed<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.prefix.has_remaining() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

write_through!(Prefixed);

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received: shutting down"),
        _ = term => tracing::info!("SIGTERM received: shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sniffing_tells_http2_from_http1_and_keeps_the_bytes() {
        let (mut client, server) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut client, b"GET / HTTP/1.1\r\n")
            .await
            .unwrap();
        let (protocol, mut io) = sniff(server).await.unwrap().unwrap();
        assert_eq!(protocol, Protocol::Http1);
        let mut first = [0u8; 3];
        io.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"GET");

        let (mut client, server) = tokio::io::duplex(64);
        // The preface in two writes: sniffing waits for all of it.
        tokio::io::AsyncWriteExt::write_all(&mut client, &H2_PREFACE[..5])
            .await
            .unwrap();
        let sniffing = tokio::spawn(sniff(server));
        tokio::io::AsyncWriteExt::write_all(&mut client, &H2_PREFACE[5..])
            .await
            .unwrap();
        let (protocol, mut io) = sniffing.await.unwrap().unwrap().unwrap();
        assert_eq!(protocol, Protocol::Http2);
        let mut preface = [0u8; 24];
        io.read_exact(&mut preface).await.unwrap();
        assert_eq!(&preface, H2_PREFACE);
    }

    #[tokio::test]
    async fn a_client_that_closes_before_sending_anything_is_not_served() {
        let (client, server) = tokio::io::duplex(64);
        drop(client);
        assert!(sniff(server).await.unwrap().is_none());
    }
}
