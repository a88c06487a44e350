//! The process-manager protocols an app speaks when it runs under `cortex serve` or systemd:
//!
//! - **socket activation**: when `LISTEN_FDS` is set, the listening socket is inherited as fd 3
//!   instead of bound (the `listenfd` crate reads the variables, checks `LISTEN_PID` when it is
//!   set, and removes both so the app's own children do not inherit them);
//! - **readiness notification** (`sd_notify`): when `NOTIFY_SOCKET` is set, `READY=1` (with
//!   `MAINPID=`) is sent once the app serves and its on-ready hooks ran, and `STOPPING=1` (with
//!   `MAINPID=`) once shutdown has begun and the server no longer accepts connections. The message is one datagram on a Unix socket; the address is a path, or on
//!   Linux an abstract name written `@name`. This is a few lines on std's `UnixDatagram`, so no
//!   crate: the `sd-notify` crate does not support abstract names.
//! - **parent watch**: when `CORTEX_PARENT_PID` is set (by `cortex serve`), the app asks the kernel
//!   (Linux `PR_SET_PDEATHSIG`, through `rustix`) for a SIGTERM when its parent dies, so a killed
//!   CLI leaves no app behind; it drains and exits like on any SIGTERM.

use std::io;

/// The variable naming the readiness socket.
const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
/// The variable `cortex serve` sets to its own process id.
const PARENT_PID: &str = "CORTEX_PARENT_PID";

/// Takes the listening socket handed over by a process manager (`LISTEN_FDS`, fd 3), if there is
/// one, as a non-blocking std listener.
pub(crate) fn inherited_listener() -> io::Result<Option<std::net::TcpListener>> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Ok(None);
    }
    let listener = fds.take_tcp_listener(0).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "LISTEN_FDS is set but fd 3 is not a listening TCP socket: {e}; hint: unset LISTEN_FDS, or hand over a TCP socket"
            ),
        )
    })?;
    if let Some(listener) = &listener {
        listener.set_nonblocking(true)?;
    }
    Ok(listener)
}

/// Sends `state` (`READY=1`, `STOPPING=1`, ...) to the socket in `NOTIFY_SOCKET`, if it is set.
/// Returns whether a message was sent.
pub(crate) fn notify(state: &str) -> io::Result<bool> {
    let Some(address) = std::env::var_os(NOTIFY_SOCKET) else {
        return Ok(false);
    };
    if address.is_empty() {
        return Ok(false);
    }
    send(&address, state)?;
    Ok(true)
}

#[cfg(unix)]
fn send(address: &std::ffi::OsStr, state: &str) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::UnixDatagram;

    let socket = UnixDatagram::unbound()?;
    let bytes = address.as_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            #[cfg(target_os = "android")]
            use std::os::android::net::SocketAddrExt;
            #[cfg(target_os = "linux")]
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(state.as_bytes(), &addr)?;
            return Ok(());
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = name;
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "abstract socket names (`@...`) exist on Linux only",
            ));
        }
    }
    socket.send_to(state.as_bytes(), std::path::Path::new(address))?;
    Ok(())
}

#[cfg(not(unix))]
fn send(_address: &std::ffi::OsStr, _state: &str) -> io::Result<()> {
    Ok(())
}

/// Tells the process manager the app is ready (`READY=1`, `MAINPID=`); a failure is logged, not
/// fatal (the app serves either way).
pub(crate) fn ready() {
    let message = format!("READY=1\nMAINPID={}\n", std::process::id());
    match notify(&message) {
        Ok(true) => tracing::debug!("readiness notified"),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "cannot notify readiness to NOTIFY_SOCKET"),
    }
}

/// Tells the process manager the app is stopping (`STOPPING=1`, `MAINPID=`).
pub(crate) fn stopping() {
    let message = format!("STOPPING=1\nMAINPID={}\n", std::process::id());
    if let Err(e) = notify(&message) {
        tracing::warn!(error = %e, "cannot notify stopping to NOTIFY_SOCKET");
    }
}

/// When `cortex serve` started the app (`CORTEX_PARENT_PID`), has it receive SIGTERM when the CLI
/// dies (Linux), so it drains and exits instead of serving on as an orphan.
pub(crate) fn watch_parent() {
    let Some(expected) = std::env::var(PARENT_PID)
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
    else {
        return;
    };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::process::{Signal, set_parent_process_death_signal};
        if let Err(e) = set_parent_process_death_signal(Some(Signal::TERM)) {
            tracing::warn!(error = %e, "cannot ask for a signal when the parent process exits");
            return;
        }
        // The parent may have died before the request: then this process has been re-parented.
        if std::os::unix::process::parent_id() != expected {
            tracing::warn!(
                parent = expected,
                "the parent process is gone: shutting down"
            );
            let _ = rustix::process::kill_process(rustix::process::getpid(), Signal::TERM);
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = expected;
}
