//! The HTTP server: HTTP/1.1 and HTTP/2 (h2c, and TLS with ALPN when a certificate is configured)
//! on hyper, with connection limits, slow-client timeouts, connection counting and graceful drain.
//!
//! [`Server::bind`] opens the listening socket; [`Server::serve`] runs an axum [`Router`] on it
//! until the shutdown signal, then stops accepting, lets in-flight requests finish (up to
//! [`ServeOptions::drain_timeout`]) and returns a [`ServeSummary`].
//!
//! Why not `axum::serve`: it has no TLS, no connection limit, no header-read timeout knob and no
//! drain deadline; Cortex needs all four, so it drives `hyper-util`'s connection builder itself.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "tls")]
pub use tls::TlsConfig;

/// How the server treats connections, read from `[server]` in `cortex.toml` (next to `host` and
/// `port`). The defaults are what a careful operator would set.
///
/// ```toml
/// [server]
/// port = 8080
/// http2 = true
/// header_read_timeout = "10s"
/// drain_timeout = "30s"
/// shutdown_delay = "0s"
/// max_connections = 10000
/// # tls = { cert = "certs/server.pem", key = "certs/server.key" }   (with the `tls` feature)
/// ```
///
/// ```
/// use cortex_core::server::ServeOptions;
/// use std::time::Duration;
/// let options = ServeOptions { drain_timeout: Duration::from_secs(5), ..ServeOptions::default() };
/// assert!(options.http2);
/// assert_eq!(options.header_read_timeout, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct ServeOptions {
    /// Serve HTTP/2 as well as HTTP/1.1 (prior-knowledge h2c in the clear, ALPN `h2` over TLS).
    pub http2: bool,
    /// How long a client may take to send a request's headers, and how long an idle keep-alive
    /// connection stays open (slow-loris protection).
    #[serde(deserialize_with = "de_duration")]
    pub header_read_timeout: Duration,
    /// How long a TLS handshake may take.
    #[serde(deserialize_with = "de_duration")]
    pub tls_handshake_timeout: Duration,
    /// After the shutdown signal, how long in-flight requests may take before their connections
    /// are closed.
    #[serde(deserialize_with = "de_duration")]
    pub drain_timeout: Duration,
    /// After the shutdown signal and before accepting stops, how long readiness reports "draining"
    /// while new connections are still served, so load balancers stop routing here first.
    #[serde(deserialize_with = "de_duration")]
    pub shutdown_delay: Duration,
    /// Connections served at once; further clients wait in the accept queue.
    pub max_connections: usize,
    /// Most headers in one HTTP/1.1 request.
    pub max_headers: usize,
    /// Largest HTTP/1.1 read buffer (bounds the request head).
    pub max_header_bytes: usize,
    /// Most concurrent HTTP/2 streams per connection.
    pub http2_max_concurrent_streams: u32,
    /// TLS, when a certificate is configured.
    #[cfg(feature = "tls")]
    pub tls: Option<TlsConfig>,
}

fn de_duration<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    crate::http::middleware::parse_duration(&text).map_err(serde::de::Error::custom)
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            http2: true,
            header_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
            shutdown_delay: Duration::ZERO,
            max_connections: 10_000,
            max_headers: 100,
            max_header_bytes: 64 * 1024,
            http2_max_concurrent_streams: 200,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

#[derive(Debug, Default)]
struct Stats {
    active: AtomicUsize,
    accepted: AtomicU64,
    draining: Arc<AtomicBool>,
}

/// A handle on a running server: its address, counters, and a way to stop it.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use cortex_core::server::{ServeOptions, Server};
/// let server = Server::bind("127.0.0.1:0".parse().unwrap(), ServeOptions::default()).await?;
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
    local_addr: SocketAddr,
}

impl ServerHandle {
    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Connections open right now.
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

    /// Starts a graceful shutdown, as the shutdown signal would.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }
}

/// What happened during shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeSummary {
    /// Connections open when accepting stopped.
    pub open_at_shutdown: usize,
    /// Connections closed because they outlived the drain timeout.
    pub forced_closed: usize,
}

/// A bound, not yet serving, HTTP server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    options: ServeOptions,
    handle: ServerHandle,
}

impl Server {
    /// Binds `addr`.
    pub async fn bind(addr: SocketAddr, options: ServeOptions) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}; hint: is another process using the port? set `server.port` or CORTEX_PORT"))
        })?;
        Server::from_listener(listener, options)
    }

    /// Serves on a listener the caller opened (or inherited from `cortex serve`).
    pub fn from_listener(listener: TcpListener, options: ServeOptions) -> std::io::Result<Server> {
        let local_addr = listener.local_addr()?;
        let (stop, _) = watch::channel(false);
        let handle = ServerHandle { stats: Arc::default(), stop: Arc::new(stop), local_addr };
        Ok(Server { listener, options, handle })
    }

    /// Shares `flag` as the draining flag: it is set when shutdown starts (the readiness probe
    /// reads it).
    pub fn with_draining_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        let stats = Stats { draining: flag, ..Stats::default() };
        self.handle.stats = Arc::new(stats);
        self
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
    /// drains.
    pub async fn serve(self, router: Router, signal: impl Future<Output = ()> + Send) -> std::io::Result<ServeSummary> {
        let Server { listener, options, handle } = self;
        #[cfg(feature = "tls")]
        let tls = match &options.tls {
            Some(cfg) => Some(cfg.acceptor(options.http2)?),
            None => None,
        };
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(options.header_read_timeout)
            .max_headers(options.max_headers)
            .max_buf_size(options.max_header_bytes.max(8192));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(options.http2_max_concurrent_streams)
            .keep_alive_interval(Some(Duration::from_secs(20)));
        let builder = if options.http2 { builder } else { builder.http1_only() };
        let builder = Arc::new(builder);

        let graceful = GracefulShutdown::new();
        let limit = Arc::new(Semaphore::new(options.max_connections.max(1)));
        let mut tasks = JoinSet::new();
        let mut stop = handle.stop.subscribe();
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        tokio::pin!(signal);
        tokio::pin!(stopped);

        loop {
            let permit = tokio::select! {
                biased;
                _ = &mut signal => break,
                _ = &mut stopped => break,
                permit = limit.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            };
            let (stream, peer) = tokio::select! {
                biased;
                _ = &mut signal => break,
                _ = &mut stopped => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            while tasks.try_join_next().is_some() {}
            let _ = stream.set_nodelay(true);
            handle.stats.accepted.fetch_add(1, Ordering::Relaxed);
            let guard = ConnectionGuard::new(handle.stats.clone(), permit);
            let conn = Connection { router: router.clone(), peer, builder: builder.clone(), watcher: graceful.watcher() };
            #[cfg(feature = "tls")]
            let tls = tls.clone();
            let handshake_timeout = options.tls_handshake_timeout;
            tasks.spawn(async move {
                let _guard = guard;
                #[cfg(feature = "tls")]
                if let Some(acceptor) = tls {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => conn.run(tls_stream, true).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                    return;
                }
                let _ = handshake_timeout;
                conn.run(stream, false).await;
            });
        }

        // Shutting down: report draining, optionally keep serving for the delay, then stop
        // accepting and let in-flight requests finish.
        handle.stats.draining.store(true, Ordering::Release);
        if !options.shutdown_delay.is_zero() {
            let delay = tokio::time::sleep(options.shutdown_delay);
            tokio::pin!(delay);
            loop {
                tokio::select! {
                    _ = &mut delay => break,
                    accepted = listener.accept() => if let Ok((stream, peer)) = accepted {
                        let permit = match limit.clone().try_acquire_owned() { Ok(p) => p, Err(_) => continue };
                        handle.stats.accepted.fetch_add(1, Ordering::Relaxed);
                        let guard = ConnectionGuard::new(handle.stats.clone(), permit);
                        let conn = Connection { router: router.clone(), peer, builder: builder.clone(), watcher: graceful.watcher() };
                        tasks.spawn(async move { let _guard = guard; conn.run(stream, false).await });
                    },
                }
            }
        }
        drop(listener);
        let open_at_shutdown = handle.active_connections();
        tracing::info!(connections = open_at_shutdown, timeout = ?options.drain_timeout, "draining");
        let drained = tokio::time::timeout(options.drain_timeout, graceful.shutdown()).await.is_ok();
        let mut forced_closed = 0;
        if !drained {
            forced_closed = handle.active_connections();
            tracing::warn!(connections = forced_closed, "drain timeout reached: closing the remaining connections");
            tasks.abort_all();
        }
        while tasks.join_next().await.is_some() {}
        Ok(ServeSummary { open_at_shutdown, forced_closed })
    }
}

struct ConnectionGuard {
    stats: Arc<Stats>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl ConnectionGuard {
    fn new(stats: Arc<Stats>, permit: tokio::sync::OwnedSemaphorePermit) -> Self {
        stats.active.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard { stats, _permit: permit }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.stats.active.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Connection {
    router: Router,
    peer: SocketAddr,
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: hyper_util::server::graceful::Watcher,
}

impl Connection {
    async fn run<IO>(self, io: IO, tls: bool)
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Connection { router, peer, builder, watcher } = self;
        let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
            let extensions = req.extensions_mut();
            extensions.insert(ConnectInfo(peer));
            if tls {
                // HSTS and the request's scheme (see the trusted-proxy middleware) depend on it.
                extensions.insert(crate::http::middleware::Secure);
            }
            let router = router.clone();
            async move { Ok::<_, Infallible>(router.oneshot(req.map(axum::body::Body::new)).await.unwrap_or_else(|e| match e {})) }
        });
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service).into_owned();
        if let Err(e) = watcher.watch(conn).await {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }
}

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

#[allow(dead_code)]
fn assert_stream_is_io(_: TcpStream) {}
