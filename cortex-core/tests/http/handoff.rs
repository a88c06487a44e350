//! The process-manager protocols with real processes: an app started as a child gets its
//! listening socket as fd 3 (`LISTEN_FDS`) and serves on it, tells `NOTIFY_SOCKET` `READY=1` then
//! `STOPPING=1`, and stops when its parent goes away (`CORTEX_PARENT_PID`).
//!
//! The app is this test binary itself, started again to run [`handoff_child_app`] (which does
//! nothing when run as an ordinary test): no other package has to be built first.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use command_fds::{CommandFdExt, FdMapping};
use cortex_core::App;

/// Set in the child's environment: run the app instead of returning.
const CHILD: &str = "CORTEX_TEST_HANDOFF_CHILD";
/// Set in the child's environment: its configuration, as TOML (none: the defaults).
const CHILD_CONFIG: &str = "CORTEX_TEST_HANDOFF_CONFIG";
/// The longest any single step may take before the test fails.
const BOUND: Duration = Duration::from_secs(20);

/// Not a test of its own: the app the tests below start as a child process.
#[test]
fn handoff_child_app() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let result = runtime.block_on(async {
        let router = Router::new()
            .route("/pid", get(|| async { std::process::id().to_string() }))
            .route(
                "/env",
                get(|| async {
                    format!(
                        "LISTEN_FDS={:?} LISTEN_PID={:?}",
                        std::env::var("LISTEN_FDS").ok(),
                        std::env::var("LISTEN_PID").ok()
                    )
                }),
            );
        let toml = std::env::var(CHILD_CONFIG).unwrap_or_default();
        let config = cortex_core::config::Config::from_toml(&toml)?;
        App::with_config(config)
            .router(router)
            .build()
            .await?
            .run()
            .await
    });
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    std::process::exit(0);
}

/// This test binary, started to run [`handoff_child_app`], with `listener` as fd 3.
fn child_command(listener: &TcpListener) -> Command {
    child_with_fd_3(listener.try_clone().expect("a second handle").into())
}

/// This test binary, started to run [`handoff_child_app`], with `fd` as fd 3 and `LISTEN_FDS=1`.
fn child_with_fd_3(fd: OwnedFd) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args(["handoff::handoff_child_app", "--exact", "--nocapture"])
        .env(CHILD, "1")
        .env_remove(CHILD_CONFIG)
        .env("LISTEN_FDS", "1")
        .env_remove("LISTEN_PID")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("CORTEX_PARENT_PID")
        .env_remove("CORTEX_INSPECT")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
        .fd_mappings(vec![FdMapping {
            parent_fd: fd,
            child_fd: 3,
        }])
        .expect("one mapping");
    command
}

fn fetch(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(BOUND)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("a response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

/// The next datagram on `socket` (at most [`BOUND`]).
fn receive(socket: &UnixDatagram, what: &str) -> String {
    socket.set_read_timeout(Some(BOUND)).unwrap();
    let mut buffer = [0u8; 512];
    let n = socket
        .recv(&mut buffer)
        .unwrap_or_else(|e| panic!("no {what} within {BOUND:?}: {e}"));
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

/// Waits (at most [`BOUND`]) for the child to exit and returns whether it exited with success.
fn wait_exit(child: &mut Child) -> bool {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.success();
        }
        if start.elapsed() > BOUND {
            let _ = child.kill();
            panic!("the child did not exit within {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn terminate(child: &Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
}

/// A child app on a fresh listening socket, notifying a fresh datagram socket, with `config`
/// (TOML) as its configuration.
struct Notified {
    _dir: tempfile::TempDir,
    notify: UnixDatagram,
    listener: TcpListener,
    addr: SocketAddr,
    child: Child,
}

fn notified_child(config: &str) -> Notified {
    let dir = tempfile::tempdir().unwrap();
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let child = child_command(&listener)
        .env("NOTIFY_SOCKET", &notify_path)
        .env(CHILD_CONFIG, config)
        .spawn()
        .expect("spawn");
    Notified {
        _dir: dir,
        notify,
        listener,
        addr,
        child,
    }
}

#[test]
fn a_child_serves_on_the_inherited_socket_and_notifies_ready_then_stopping() {
    let Notified {
        _dir,
        notify,
        listener: _listener,
        addr,
        mut child,
    } = notified_child("");
    let ready = receive(&notify, "READY=1");
    assert_eq!(ready, format!("READY=1\nMAINPID={}\n", child.id()));

    // Served by the child, on the socket this process opened.
    assert_eq!(fetch(addr, "/pid"), child.id().to_string());
    // The variables are gone once the socket is taken.
    assert_eq!(fetch(addr, "/env"), "LISTEN_FDS=None LISTEN_PID=None");

    terminate(&child);
    assert_eq!(
        receive(&notify, "STOPPING=1"),
        format!("STOPPING=1\nMAINPID={}\n", child.id())
    );
    assert!(wait_exit(&mut child), "the child failed");

    // The socket outlives the child: a new connection waits in the backlog, it is not refused.
    let waiting = TcpStream::connect(addr).expect("the socket still listens");
    drop(waiting);
}

#[test]
fn fd_3_that_is_not_a_listening_tcp_socket_is_an_error_naming_it() {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let output = child_with_fd_3(udp.into())
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("LISTEN_FDS is set but fd 3 is not a listening TCP socket"),
        "{stderr}"
    );
}

/// `cortex serve` sets `CORTEX_PARENT_PID`; the app then gets SIGTERM when its parent goes away
/// (Linux's parent-death signal fires when the thread that started the child ends, which is how
/// this test plays the parent's death). Also: an abstract `@name` notify socket.
#[cfg(target_os = "linux")]
#[test]
fn a_child_stops_when_its_parent_goes_away_and_notifies_an_abstract_socket() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr as UnixAddr;

    let name = format!("cortex-test-notify-{}", std::process::id());
    let notify =
        UnixDatagram::bind_addr(&UnixAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();

    let (release, released) = std::sync::mpsc::channel::<()>();
    let (pid_tx, pid_rx) = std::sync::mpsc::channel();
    let parent = std::thread::spawn(move || {
        let child = child_command(&listener)
            .env("NOTIFY_SOCKET", format!("@{name}"))
            .env("CORTEX_PARENT_PID", std::process::id().to_string())
            .spawn()
            .expect("spawn");
        pid_tx.send(child.id()).unwrap();
        let _ = released.recv();
        child
    });
    let pid = pid_rx.recv().unwrap();
    assert_eq!(
        receive(&notify, "READY=1"),
        format!("READY=1\nMAINPID={pid}\n")
    );
    assert_eq!(fetch(addr, "/pid"), pid.to_string());

    // The "parent" ends: the child is told to stop, drains and exits.
    release.send(()).unwrap();
    let mut child = parent.join().unwrap();
    assert_eq!(
        receive(&notify, "STOPPING=1"),
        format!("STOPPING=1\nMAINPID={pid}\n")
    );
    assert!(wait_exit(&mut child), "the child failed");
}

#[test]
fn stopping_is_notified_once_the_app_no_longer_accepts() {
    // The app keeps accepting for 300 ms after SIGTERM (`shutdown_delay`): `STOPPING=1` must wait
    // until it has stopped.
    let Notified {
        _dir,
        notify,
        listener,
        addr,
        mut child,
    } = notified_child("[server]\nshutdown_delay = \"300ms\"\n");
    receive(&notify, "READY=1");
    assert_eq!(fetch(addr, "/pid"), child.id().to_string());
    terminate(&child);
    assert_eq!(
        receive(&notify, "STOPPING=1"),
        format!("STOPPING=1\nMAINPID={}\n", child.id())
    );

    // From here on, a new connection is not the app's: once the app has exited, it is still
    // waiting in the backlog (had the app accepted it, it would have answered and closed it).
    let mut client = TcpStream::connect(addr).expect("the socket still listens");
    client
        .write_all(b"GET /pid HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(wait_exit(&mut child), "the child failed");
    listener.set_nonblocking(true).unwrap();
    let accepted = match listener.accept() {
        Ok((stream, _)) => stream,
        Err(e) => panic!("the connection made after STOPPING=1 was taken by the app ({e})"),
    };
    assert_eq!(accepted.peer_addr().unwrap(), client.local_addr().unwrap());
}
