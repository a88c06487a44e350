//! `cortex serve`: build the app, run it, and rebuild and restart it on every change without
//! refusing a connection.
//!
//! How it works:
//!
//! - **The CLI owns the listening socket.** It binds `[server] host:port` itself (`--host`/`--port`
//!   override; `SO_REUSEADDR`, a backlog of 1024) and hands the socket to each app process as fd 3
//!   with `LISTEN_FDS=1` (the systemd socket-activation protocol, which `Application::bind`
//!   speaks). The socket stays open the whole time, so a connection made while no app process is
//!   accepting (during a rebuild, a restart, or after a crash) waits in the backlog instead of
//!   being refused.
//! - **Readiness.** Each app gets `NOTIFY_SOCKET` pointing at a datagram socket the CLI owns and
//!   sends `READY=1` (with `MAINPID=`) once it serves and its on-ready hooks ran. Only then is the
//!   previous process told to stop (SIGTERM): it stops accepting and drains its in-flight requests
//!   in the background, without holding up the swap.
//! - **Reloads.** A change to `src/`, `templates/`, `Cargo.toml` or `build.rs` rebuilds while the
//!   previous build keeps serving; a failed build prints the compiler's errors and leaves the
//!   previous build serving. A change to `cortex*.toml` or `.env` only restarts (see
//!   [`crate::watch`]). Changes made during a build start another build right after it.
//! - **No orphans.** Each app, and each build, runs in its own process group: Ctrl-C reaches only
//!   the CLI, which stops a build under way and the app in order (SIGTERM, a bounded wait,
//!   SIGKILL). Apps get `CORTEX_PARENT_PID`, so they ask the kernel for a SIGTERM should the CLI
//!   die without cleaning up (Linux); a build under way then runs to its end on its own.
//!
//! Unix only: it relies on passing file descriptors to child processes and on Unix signals.

use crate::cli::ServeArgs;
use crate::error::Result;
use crate::ui::Ui;

/// Runs `cortex serve`.
pub fn run(args: ServeArgs, ui: &Ui) -> Result<()> {
    #[cfg(unix)]
    {
        imp::run(args, ui)
    }
    #[cfg(not(unix))]
    {
        let _ = (args, ui);
        Err(crate::error::CliError::new(
            "`cortex serve` needs a Unix system: it hands its socket to the app and uses Unix signals",
        )
        .hint("on Windows, run it in WSL"))
    }
}

#[cfg(unix)]
mod imp {
    use std::os::fd::OwnedFd;
    use std::path::{Path, PathBuf};
    use std::process::{ExitStatus, Stdio};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    use command_fds::{CommandFdExt, FdMapping};
    use cortex_core::config::{Config, Profile};
    use socket2::{Domain, Protocol, Socket, Type};
    use tokio::net::UnixDatagram;
    use tokio::process::{Child, Command};
    use tokio::signal::unix::{Signal, SignalKind, signal};
    use tokio::sync::mpsc;

    use crate::cargo::{self, BuildOptions};
    use crate::cli::ServeArgs;
    use crate::error::{CliError, Context, Result};
    use crate::project::Project;
    use crate::ui::Ui;
    use crate::watch::{Change, Watcher};

    /// How long a new app process may take to report `READY=1`.
    const READY_TIMEOUT: Duration = Duration::from_secs(60);
    /// How long a stopped app process may take to drain and exit before it is killed.
    const RETIRE_TIMEOUT: Duration = Duration::from_secs(60);
    /// How long the CLI waits for its app processes when it is stopped.
    const STOP_TIMEOUT: Duration = Duration::from_secs(10);
    /// How long a swap waits for the previous process to say it stops accepting.
    const SWAP_TIMEOUT: Duration = Duration::from_secs(2);
    /// The listening socket's backlog: connections that wait while no process accepts.
    const BACKLOG: i32 = 1024;

    /// Runs `cortex serve`.
    pub(super) fn run(args: ServeArgs, ui: &Ui) -> Result<()> {
        let project = Project::find(args.path.as_deref())?;
        let settings = Settings::resolve(&project, &args)?;
        let listener = listen(&settings)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let result = runtime.block_on(serve(project, settings, listener, *ui));
        // A build still running in the blocking pool is not waited for.
        runtime.shutdown_background();
        result
    }

    /// What `cortex serve` runs with, from the flags and the app's configuration.
    #[derive(Debug, Clone)]
    struct Settings {
        profile: String,
        host: Option<String>,
        port: Option<u16>,
        addr: std::net::SocketAddr,
        release: bool,
        watch: bool,
    }

    impl Settings {
        fn resolve(project: &Project, args: &ServeArgs) -> Result<Settings> {
            let profile = args
                .profile
                .clone()
                .or_else(|| std::env::var("CORTEX_PROFILE").ok())
                .unwrap_or_else(|| "dev".to_string());
            let checked = Profile::new(&profile).map_err(|e| {
                CliError::new(format!("invalid profile `{profile}`: {e}"))
                    .hint("profiles are names such as dev, test, prod or staging")
            })?;
            let config = Config::builder()
                .dir(project.dir())
                .profile(checked)
                .load()
                .map_err(|e| {
                    CliError::new(format!("cannot read the app's configuration: {e}")).hint(
                        "fix cortex.toml (or the profile's file), then run `cortex serve` again",
                    )
                })?;
            let mut server = config.server().map_err(|e| {
                CliError::new(format!("invalid [server] configuration: {e}"))
                    .hint("fix [server] in cortex.toml, or pass --host and --port")
            })?;
            if let Some(host) = &args.host {
                server.host = host.clone();
            }
            if let Some(port) = args.port {
                server.port = port;
            }
            let addr = server.addr().map_err(|e| {
                CliError::new(format!("cannot listen: {e}"))
                    .hint("pass an address such as --host 127.0.0.1, or fix `server.host`")
            })?;
            Ok(Settings {
                profile,
                host: args.host.clone(),
                port: args.port,
                addr,
                release: args.release,
                watch: !args.no_watch,
            })
        }
    }

    /// Binds the listening socket the app processes share.
    fn listen(settings: &Settings) -> Result<Socket> {
        let addr = settings.addr;
        let in_use = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                CliError::new(format!(
                    "cannot listen on {addr}: the address is already in use"
                ))
                .hint(format!(
                    "another process is using port {}: stop it, or pass --port N",
                    addr.port()
                ))
            } else {
                CliError::new(format!("cannot listen on {addr}: {e}"))
                    .hint("pass another address with --host and --port")
            }
        };
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .context("cannot open a socket")?;
        socket
            .set_reuse_address(true)
            .context("cannot set SO_REUSEADDR")?;
        socket.bind(&addr.into()).map_err(in_use)?;
        socket.listen(BACKLOG).map_err(in_use)?;
        Ok(socket)
    }

    /// One running app process.
    struct App {
        child: Child,
        pid: u32,
    }

    /// What came of starting an app process.
    enum Started {
        Ready(App),
        Failed,
        Interrupted(App),
    }

    /// SIGINT or SIGTERM to the CLI.
    struct Stop {
        interrupt: Signal,
        terminate: Signal,
    }

    impl Stop {
        fn new() -> Result<Stop> {
            Ok(Stop {
                interrupt: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
            })
        }

        async fn recv(&mut self) {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
    }

    /// Everything the loop shares.
    struct Server {
        project: Project,
        settings: Settings,
        listener: Socket,
        notify: UnixDatagram,
        notify_path: PathBuf,
        url: String,
        ui: Ui,
        /// Stopped processes still draining, reaped in the background.
        retiring: tokio::task::JoinSet<()>,
        /// The process group of the build under way (cargo's process id), 0 when none.
        build_group: Arc<AtomicU32>,
    }

    async fn serve(project: Project, settings: Settings, listener: Socket, ui: Ui) -> Result<()> {
        let mut stop = Stop::new()?;
        let dir = tempfile::Builder::new()
            .prefix("cortex-serve-")
            .tempdir()
            .context("cannot create a temporary folder")?;
        let notify_path = dir.path().join("notify");
        let notify =
            UnixDatagram::bind(&notify_path).context("cannot open the readiness socket")?;
        let local = listener
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or(settings.addr);
        let mut server = Server {
            url: format!("http://{local}"),
            project,
            settings,
            listener,
            notify,
            notify_path,
            ui,
            retiring: tokio::task::JoinSet::new(),
            build_group: Arc::default(),
        };
        let mut changes = if server.settings.watch {
            Some(watch(server.project.dir())?)
        } else {
            None
        };

        let mut current: Option<App> = None;
        let mut binary: Option<PathBuf> = None;
        // What to do next: build (and then start), or start the binary there is.
        let mut need_build = true;
        let mut need_start = false;
        let mut since = Instant::now();
        let result = loop {
            if need_build {
                need_build = false;
                let building = server.build();
                tokio::pin!(building);
                let built = loop {
                    tokio::select! {
                        built = &mut building => break Ok(built),
                        change = next(&mut changes) => match change {
                            Some(Ok(change)) => need_build |= change.rebuild,
                            Some(Err(e)) => break Err(Some(e)),
                            None => {}
                        },
                        status = exited(&mut current) => {
                            current = None;
                            server.crashed(status, "the build goes on");
                        }
                        _ = stop.recv() => break Err(None),
                    }
                };
                let built = match built {
                    Ok(built) => built,
                    // Stopped.
                    Err(None) => break Ok(()),
                    // The watcher failed.
                    Err(Some(e)) => break Err(e),
                };
                match built {
                    // Changed again while building: build again before starting anything.
                    _ if need_build => continue,
                    Ok(path) => {
                        binary = Some(path);
                        need_start = true;
                    }
                    Err(e) if changes.is_none() => break Err(e),
                    Err(e) => {
                        let still = if current.is_some() {
                            format!("the previous build is still serving on {}", server.url)
                        } else {
                            "nothing is serving yet".to_string()
                        };
                        server.ui.error(
                            &CliError::new(e.message().to_string())
                                .hint(format!("{still}; save a fix and it reloads")),
                        );
                    }
                }
            }

            if need_start && let Some(binary) = binary.clone() {
                need_start = false;
                let started = match server.start(&binary, &mut stop).await {
                    Ok(started) => started,
                    Err(e) if changes.is_none() => break Err(e),
                    Err(e) => {
                        server.ui.error(&e);
                        continue;
                    }
                };
                match started {
                    Started::Ready(app) => {
                        let reload = current.is_some();
                        if let Some(old) = current.replace(app) {
                            server.swap_out(old).await;
                        }
                        if reload {
                            server
                                .ui
                                .status("Reloaded", format!("in {}", took(since.elapsed())));
                        } else {
                            server.ui.status(
                                "Serving",
                                format!("{} on {}", server.project.name(), server.url),
                            );
                            if server.settings.watch {
                                server.ui.note(
                                    "Watching src/, templates/, Cargo.toml, build.rs, cortex*.toml and .env; Ctrl-C stops.",
                                );
                            }
                        }
                    }
                    Started::Failed => {
                        if changes.is_none() {
                            break Err(CliError::new(format!(
                                "`{}` did not start",
                                server.project.name()
                            ))
                            .hint("its output is above"));
                        }
                        let still = if current.is_some() {
                            "the previous build is still serving"
                        } else {
                            "waiting for a change"
                        };
                        server.ui.warn(still);
                    }
                    Started::Interrupted(app) => {
                        server.retire(app);
                        break Ok(());
                    }
                }
            }

            // Idle: wait for a change, a crash, or Ctrl-C.
            tokio::select! {
                change = next(&mut changes) => match change {
                    Some(Ok(change)) => {
                        since = Instant::now();
                        if change.rebuild || binary.is_none() {
                            server.ui.status("Changed", change.describe());
                            need_build = true;
                        } else {
                            server.ui.status("Restarting", format!("{} changed", change.describe()));
                            need_start = true;
                        }
                    }
                    Some(Err(e)) => break Err(e),
                    None => {}
                },
                status = exited(&mut current) => {
                    current = None;
                    if changes.is_none() {
                        break match status {
                            Ok(s) if s.success() => Ok(()),
                            Ok(s) => Err(CliError::new(format!("`{}` exited: {}", server.project.name(), describe(s)))
                                .hint("its output is above")),
                            Err(e) => Err(CliError::new(format!("cannot wait for the app: {e}"))),
                        };
                    }
                    server.crashed(status, "waiting for a change; requests wait until it serves again");
                }
                _ = stop.recv() => break Ok(()),
            }
        };

        // Stop everything, in order, bounded.
        server.stop_build();
        if let Some(app) = current.take() {
            server.retire(app);
        }
        server.finish().await;
        drop(dir);
        if result.is_ok() {
            server.ui.status("Stopped", server.project.name());
        }
        result
    }

    impl Server {
        /// Builds the app in the blocking pool, so the loop keeps watching and serving meanwhile.
        async fn build(&self) -> Result<PathBuf> {
            let project = self.project.clone();
            let ui = self.ui;
            let options = BuildOptions {
                release: self.settings.release,
            };
            let group = self.build_group.clone();
            tokio::task::spawn_blocking(move || {
                let built = cargo::build_in_group(&project, options, &ui, &|pid| {
                    group.store(pid, Ordering::SeqCst);
                });
                group.store(0, Ordering::SeqCst);
                built
            })
            .await
            .map_err(|e| CliError::new(format!("the build task failed: {e}")))?
        }

        /// Stops the build under way, if any: cargo and its compilers (its process group).
        fn stop_build(&self) {
            let pid = self.build_group.swap(0, Ordering::SeqCst);
            if let Ok(pid) = i32::try_from(pid)
                && pid > 0
            {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }

        /// Starts `binary` on the socket and waits for its `READY=1`.
        async fn start(&mut self, binary: &Path, stop: &mut Stop) -> Result<Started> {
            // Forget readiness messages of earlier processes.
            let mut buffer = [0u8; 1024];
            while self.notify.try_recv(&mut buffer).is_ok() {}

            let mut child = self.command(binary)?.spawn().map_err(|e| {
                CliError::new(format!("cannot run {}: {e}", binary.display()))
                    .hint("run `cortex build` to see whether the binary builds")
            })?;
            let pid = child.id().unwrap_or_default();
            let deadline = tokio::time::sleep(READY_TIMEOUT);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    received = self.notify.recv(&mut buffer) => {
                        let Ok(n) = received else { continue };
                        if is_ready(&String::from_utf8_lossy(&buffer[..n]), pid) {
                            return Ok(Started::Ready(App { child, pid }));
                        }
                    }
                    status = child.wait() => {
                        let status = status.map(describe).unwrap_or_else(|e| e.to_string());
                        self.ui.error(&CliError::new(format!(
                            "`{}` exited before it was ready: {status}",
                            self.project.name()
                        )).hint("its output is above"));
                        return Ok(Started::Failed);
                    }
                    _ = &mut deadline => {
                        self.ui.error(&CliError::new(format!(
                            "`{}` did not report ready within {}s; stopping it",
                            self.project.name(),
                            READY_TIMEOUT.as_secs()
                        )).hint("an app reports ready when it serves through App::run, Application::bind or serve_on"));
                        self.retire(App { child, pid });
                        return Ok(Started::Failed);
                    }
                    _ = stop.recv() => return Ok(Started::Interrupted(App { child, pid })),
                }
            }
        }

        /// The command that runs the app: fd 3 is the socket, `NOTIFY_SOCKET` the readiness socket.
        fn command(&self, binary: &Path) -> Result<Command> {
            let mut command = Command::new(binary);
            command
                .current_dir(self.project.dir())
                .env("CORTEX_PROFILE", &self.settings.profile)
                .env("LISTEN_FDS", "1")
                .env_remove("LISTEN_PID")
                .env_remove("LISTEN_FDNAMES")
                .env("NOTIFY_SOCKET", &self.notify_path)
                .env("CORTEX_PARENT_PID", std::process::id().to_string())
                .env_remove("CORTEX_INSPECT")
                .stdin(Stdio::null())
                // Its own process group: Ctrl-C reaches the CLI only, which stops the app in order.
                .process_group(0)
                .kill_on_drop(true);
            // No load balancer to warn here: the previous process stops accepting at once.
            if std::env::var_os("CORTEX_SERVER__SHUTDOWN_DELAY").is_none() {
                command.env("CORTEX_SERVER__SHUTDOWN_DELAY", "0s");
            }
            if self.settings.port.is_some() {
                let port = self
                    .listener
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_socket())
                    .map_or(self.settings.addr.port(), |a| a.port());
                command.env("CORTEX_PORT", port.to_string());
            }
            if let Some(host) = &self.settings.host {
                command.env("CORTEX_HOST", host);
            }
            let socket: OwnedFd = self
                .listener
                .try_clone()
                .context("cannot share the listening socket")?
                .into();
            command
                .fd_mappings(vec![FdMapping {
                    parent_fd: socket,
                    child_fd: 3,
                }])
                .map_err(|e| CliError::new(format!("cannot hand the socket over: {e}")))?;
            Ok(command)
        }

        /// Tells the previous process to stop and waits (briefly) until it says it stops accepting
        /// (`STOPPING=1`), so that new connections go to the new process from here on; it drains in
        /// the background.
        async fn swap_out(&mut self, app: App) {
            let pid = app.pid;
            self.retire(app);
            let mut buffer = [0u8; 1024];
            let stopping = async {
                loop {
                    let Ok(n) = self.notify.recv(&mut buffer).await else {
                        continue;
                    };
                    if is_state(&String::from_utf8_lossy(&buffer[..n]), "STOPPING", pid) {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(SWAP_TIMEOUT, stopping).await;
        }

        /// Tells `app` to stop (SIGTERM) and reaps it in the background; killed if it takes longer than
        /// [`RETIRE_TIMEOUT`].
        fn retire(&mut self, mut app: App) {
            terminate(app.pid);
            self.retiring.spawn(async move {
                if tokio::time::timeout(RETIRE_TIMEOUT, app.child.wait())
                    .await
                    .is_err()
                {
                    let _ = app.child.kill().await;
                }
            });
        }

        /// Waits for every stopped process (at most [`STOP_TIMEOUT`]), then kills what is left.
        async fn finish(&mut self) {
            let all = async { while self.retiring.join_next().await.is_some() {} };
            if tokio::time::timeout(STOP_TIMEOUT, all).await.is_err() {
                self.ui.warn(format!(
                    "the app did not stop within {}s; killing it",
                    STOP_TIMEOUT.as_secs()
                ));
                // Dropping the tasks drops their children, which are killed (`kill_on_drop`).
                self.retiring.abort_all();
                while self.retiring.join_next().await.is_some() {}
            }
        }

        fn crashed(&self, status: std::io::Result<ExitStatus>, then: &str) {
            let status = status.map(describe).unwrap_or_else(|e| e.to_string());
            self.ui.warn(format!(
                "`{}` exited: {status}; {then}",
                self.project.name()
            ));
        }
    }

    /// Whether a notification datagram says `READY=1` for the process `pid` (a message without
    /// `MAINPID=` counts: only one process is starting at a time).
    fn is_ready(message: &str, pid: u32) -> bool {
        is_state(message, "READY", pid)
    }

    /// Whether a notification datagram sets `{state}=1` for the process `pid` (or names none).
    fn is_state(message: &str, state: &str, pid: u32) -> bool {
        let mut set = false;
        let mut main_pid = None;
        for line in message.lines() {
            match line.split_once('=') {
                Some((name, "1")) if name == state => set = true,
                Some(("MAINPID", value)) => main_pid = value.trim().parse::<u32>().ok(),
                _ => {}
            }
        }
        set && main_pid.is_none_or(|p| p == pid)
    }

    /// `80ms`, `1.8s`.
    fn took(elapsed: Duration) -> String {
        if elapsed < Duration::from_secs(1) {
            format!("{}ms", elapsed.as_millis())
        } else {
            format!("{:.1}s", elapsed.as_secs_f64())
        }
    }

    fn describe(status: ExitStatus) -> String {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            _ => status.to_string(),
        }
    }

    fn terminate(pid: u32) {
        let Ok(pid) = i32::try_from(pid) else { return };
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }

    /// The next change, or never when not watching.
    async fn next(changes: &mut Option<mpsc::Receiver<Result<Change>>>) -> Option<Result<Change>> {
        match changes {
            Some(rx) => match rx.recv().await {
                Some(change) => Some(change),
                None => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }

    /// The current app's exit, or never when there is none.
    async fn exited(current: &mut Option<App>) -> std::io::Result<ExitStatus> {
        match current {
            Some(app) => app.child.wait().await,
            None => std::future::pending().await,
        }
    }

    /// Watches the app's folder on a thread of its own; changes arrive on the channel.
    fn watch(dir: &Path) -> Result<mpsc::Receiver<Result<Change>>> {
        let watcher = Watcher::new(dir)?;
        let (tx, rx) = mpsc::channel(16);
        std::thread::Builder::new()
            .name("cortex-watch".into())
            .spawn(move || {
                loop {
                    let change = watcher.next_change();
                    let failed = change.is_err();
                    if tx.blocking_send(change).is_err() || failed {
                        break;
                    }
                }
            })
            .context("cannot start the file watcher")?;
        Ok(rx)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn readiness_needs_ready_1_from_the_starting_process() {
            assert!(is_ready("READY=1\nMAINPID=42\n", 42));
            assert!(is_ready("READY=1\n", 42));
            assert!(!is_ready("READY=1\nMAINPID=41\n", 42));
            assert!(!is_ready("STOPPING=1\n", 42));
            assert!(!is_ready("", 42));
            assert!(is_state("STOPPING=1\nMAINPID=7\n", "STOPPING", 7));
            assert!(!is_state("STOPPING=1\nMAINPID=7\n", "STOPPING", 8));
        }

        #[test]
        fn reload_times_read_well() {
            assert_eq!(took(Duration::from_millis(83)), "83ms");
            assert_eq!(took(Duration::from_millis(1849)), "1.8s");
        }

        #[test]
        fn a_port_in_use_is_an_error_with_a_hint() {
            let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let settings = Settings {
                profile: "dev".into(),
                host: None,
                port: None,
                addr: taken.local_addr().unwrap(),
                release: false,
                watch: false,
            };
            let err = listen(&settings).unwrap_err();
            assert!(
                err.message().ends_with("the address is already in use"),
                "{err}"
            );
            assert!(err.hint_text().unwrap().contains("--port"));
        }
    }
}
