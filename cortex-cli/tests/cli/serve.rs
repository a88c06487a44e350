//! `cortex serve` end to end, on a copy of `examples/hello` that depends on this checkout and
//! builds in the workspace's `target/` (so only the copy itself compiles).
//!
//! One test does every step that needs a build, in order: the first serve, a reload under a
//! steady trickle of requests (fresh connections, one every 20 ms) with zero failures, a broken
//! edit that keeps the old build serving, the fix, a configuration-only restart without a build, a
//! configuration the app refuses (the old process keeps serving), a crash (requests wait for the
//! next process), and SIGTERM to the CLI. The errors that need no build have tests of their own.
//!
//! Every wait polls for its condition with a bound; nothing sleeps a guessed amount.
#![cfg(unix)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::support::{assert_error, cortex, hello_fixture, run_in};

/// The first build of the fixture (the dependencies are already built by the workspace's tests).
const BUILD: Duration = Duration::from_secs(600);
/// A rebuild of the fixture, or a restart.
const RELOAD: Duration = Duration::from_secs(300);

/// What a running `cortex serve` printed, line by line, as it prints it.
#[derive(Clone, Default)]
struct Log(Arc<(Mutex<Vec<String>>, Condvar)>);

impl Log {
    fn follow(child: &mut Child) -> Log {
        let log = Log::default();
        let stderr = child.stderr.take().unwrap();
        let writer = log.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(|l| l.ok())
            {
                let (lines, changed) = &*writer.0;
                lines.lock().unwrap().push(line);
                changed.notify_all();
            }
        });
        log
    }

    fn lines(&self) -> Vec<String> {
        self.0.0.lock().unwrap().clone()
    }

    fn text(&self) -> String {
        self.lines().join("\n")
    }

    /// Waits until the `nth` (1-based) line containing `needle` was printed; returns its index.
    #[track_caller]
    fn wait_for(&self, needle: &str, nth: usize, bound: Duration) -> usize {
        let (lines, changed) = &*self.0;
        let deadline = Instant::now() + bound;
        let mut guard = lines.lock().unwrap();
        loop {
            let found = guard
                .iter()
                .enumerate()
                .filter(|(_, l)| l.contains(needle))
                .nth(nth - 1)
                .map(|(i, _)| i);
            if let Some(index) = found {
                return index;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "no line {nth} with `{needle}` within {bound:?}; the output:\n{}",
                    guard.join("\n")
                );
            }
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
    }
}

/// `GET path` on a fresh connection; the body, or what went wrong.
fn get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("read: {e}"))?;
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_string()),
        _ => Err(format!("unexpected response: {response:?}")),
    }
}

/// Waits (at most 5 s) until `GET /hello/Ada` answers `expected`. `Reloaded` comes once the
/// previous process has stopped accepting, or after the CLI's 2 s wait for that on a slow
/// machine: then a request can still reach the previous process.
#[track_caller]
fn serves_soon(addr: SocketAddr, expected: &str, log: &Log) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let body = get(addr, "/hello/Ada");
        if body.as_deref() == Ok(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {body:?} instead of {expected}:\n{}",
            log.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Requests every 20 ms until stopped (at most 10 000): how many, and the failures.
struct Trickle {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(usize, Vec<String>)>,
}

impl Trickle {
    fn start(addr: SocketAddr) -> Trickle {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut failures = Vec::new();
            let mut count = 0;
            while !flag.load(Ordering::Relaxed) && count < 10_000 {
                count += 1;
                if let Err(e) = get(addr, "/hello/Ada") {
                    failures.push(e);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (count, failures)
        });
        Trickle { stop, thread }
    }

    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "`{from}` not in {}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// The live (not zombie) children of `parent` (from /proc).
#[cfg(target_os = "linux")]
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // `pid (name) state ppid ...`; the name may hold spaces and parentheses.
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let mut fields = stat
                    .rsplit_once(')')
                    .map(|(_, rest)| rest.split_whitespace())
                    .into_iter()
                    .flatten();
                let state = fields.next();
                let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
                state != Some("Z") && ppid == Some(parent)
            })
        })
        .collect()
}

#[cfg(target_os = "linux")]
/// Stops the CLI if the test fails half-way: SIGTERM (it stops its build and its app), then
/// SIGKILL after 10 s.
struct KillOnDrop(Child);

#[cfg(target_os = "linux")]
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn serves_reloads_without_failing_a_request_keeps_a_broken_build_out_and_stops_cleanly() {
    let app = hello_fixture("serve_fixture");
    let dir = app.path().canonicalize().unwrap();
    let mut cli = cortex()
        .args(["serve", "--port", "0", "--path"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Log::follow(&mut cli);
    let mut cli = KillOnDrop(cli);

    // 1. The first serve.
    let line = log.wait_for("Serving serve_fixture on http://", 1, BUILD);
    let url = log.lines()[line].clone();
    let addr: SocketAddr = url
        .rsplit("http://")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("no address in `{url}`: {e}"));
    assert_eq!(
        get(addr, "/hello/Ada").unwrap(),
        r#"{"message":"Hello, Ada!"}"#
    );
    let trickle = Trickle::start(addr);

    // 2. An edited handler is served after the reload.
    let lib = dir.join("src/lib.rs");
    edit(&lib, r#""{}, {name}!""#, r#""{}, {name}! (v2)""#);
    log.wait_for("Changed src/lib.rs", 1, RELOAD);
    log.wait_for("Reloaded in ", 1, RELOAD);
    serves_soon(addr, r#"{"message":"Hello, Ada! (v2)"}"#, &log);

    // 3. A broken edit: the compiler's error is printed, the previous build keeps serving.
    edit(
        &lib,
        "let name = name.trim();",
        "let name = name.trim(); let broken: u32 = \"not a number\";",
    );
    log.wait_for("the previous build is still serving", 1, RELOAD);
    let text = log.text();
    assert!(text.contains("error[E0308]: mismatched types"), "{text}");
    assert!(text.contains("src/lib.rs"), "{text}");
    assert!(
        text.contains("error: the build of `serve_fixture` failed"),
        "{text}"
    );
    assert_eq!(
        get(addr, "/hello/Ada").unwrap(),
        r#"{"message":"Hello, Ada! (v2)"}"#
    );

    // 4. The fix recovers.
    // One write: two would be two reloads if the first build ends before the second write.
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        text.replacen(" let broken: u32 = \"not a number\";", "", 1)
            .replacen("(v2)", "(v3)", 1),
    )
    .unwrap();
    log.wait_for("Reloaded in ", 2, RELOAD);
    serves_soon(addr, r#"{"message":"Hello, Ada! (v3)"}"#, &log);

    // 5. A configuration-only change restarts without a build.
    let building_before = log.text().matches("Compiling serve_fixture").count();
    edit(
        &dir.join("cortex.toml"),
        "greeting = \"Hello\"",
        "greeting = \"Howdy\"",
    );
    log.wait_for("Restarting cortex.toml changed", 1, RELOAD);
    log.wait_for("Reloaded in ", 3, RELOAD);
    serves_soon(addr, r#"{"message":"Howdy, Ada! (v3)"}"#, &log);
    assert_eq!(
        log.text().matches("Compiling serve_fixture").count(),
        building_before,
        "a configuration change rebuilt:\n{}",
        log.text()
    );

    // 6. A configuration the app refuses: the new process exits, the previous one keeps serving.
    edit(&dir.join("cortex.toml"), "greeting = \"Howdy\"", "");
    log.wait_for("Restarting cortex.toml changed", 2, RELOAD);
    log.wait_for(
        "`serve_fixture` exited before it was ready: exit status 1",
        1,
        RELOAD,
    );
    log.wait_for("the previous build is still serving", 2, RELOAD);
    assert!(log.text().contains("hello.greeting"), "{}", log.text());
    assert_eq!(
        get(addr, "/hello/Ada").unwrap(),
        r#"{"message":"Howdy, Ada! (v3)"}"#
    );

    // 7. A crash: reported; the socket stays open, so a request made while no process runs waits
    //    in the backlog and is answered by the next one, which a change starts.
    for app in children_of(cli.0.id()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(app as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    log.wait_for("`serve_fixture` exited: killed by signal 9", 1, RELOAD);
    // Connected and sent while no process runs: the kernel completes the handshake and keeps the
    // connection in the backlog.
    let mut waiting = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        waiting,
        "GET /hello/Ada HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    edit(
        &dir.join("cortex.toml"),
        "[hello]\n",
        "[hello]\ngreeting = \"Back\"\n",
    );
    log.wait_for("Serving serve_fixture on http://", 2, RELOAD);
    let mut response = String::new();
    waiting.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.ends_with(r#"{"message":"Back, Ada! (v3)"}"#),
        "{response}"
    );

    // Not one request failed or was refused across the reloads and the crash.
    let (count, failures) = trickle.finish();
    assert!(count >= 10, "only {count} requests were made");
    assert!(
        failures.is_empty(),
        "{} of {count} requests failed: {failures:?}",
        failures.len()
    );

    // 8. SIGTERM to the CLI: the app stops, the CLI exits 0, no process is left.
    // The app, and maybe the previous one still finishing its drain.
    let apps = children_of(cli.0.id());
    assert!(!apps.is_empty(), "no app process");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(cli.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = cli.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the CLI did not exit:\n{}",
            log.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}:\n{}", log.text());
    log.wait_for("Stopped serve_fixture", 1, Duration::from_secs(10));
    for app in apps {
        assert!(
            !Path::new(&format!("/proc/{app}")).exists(),
            "the app ({app}) outlived the CLI:\n{}",
            log.text()
        );
    }
    // No process holds the socket any more.
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(5)).is_err());
}

#[test]
fn without_watching_an_app_that_does_not_start_is_an_error() {
    let app = hello_fixture("serve_once");
    // The app refuses to start without `hello.greeting`.
    edit(&app.path().join("cortex.toml"), "greeting = \"Hello\"", "");
    let output = cortex()
        .args(["serve", "--no-watch", "--port", "0", "--path"])
        .arg(app.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // The app's own `error:` line comes first; the CLI's are last.
    let err = crate::support::stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let tail: Vec<&str> = err.lines().rev().take(2).collect();
    assert_eq!(
        tail,
        [
            "  hint: its output is above",
            "error: `serve_once` did not start"
        ],
        "{err}"
    );
    assert!(
        err.contains("`serve_once` exited before it was ready: exit status 1"),
        "{err}"
    );
    assert!(err.contains("hello.greeting"), "{err}");
}

/// A folder with an app manifest and no build: enough for the errors found before building.
fn manifest_only(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"blog\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("cortex.toml"), config).unwrap();
    dir
}

#[test]
fn a_port_in_use_is_an_error_with_a_hint() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let app = manifest_only("");
    let output = run_in(app.path(), &["serve", "--port", &port]);
    assert_error(
        &output,
        1,
        &format!("cannot listen on 127.0.0.1:{port}: the address is already in use"),
        Some(&format!(
            "another process is using port {port}: stop it, or pass --port N"
        )),
    );
}

#[test]
fn bad_settings_are_errors_with_hints() {
    let app = manifest_only("");
    let output = run_in(app.path(), &["serve", "--host", ""]);
    assert_error(
        &output,
        1,
        "cannot listen: ",
        Some("pass an address such as --host 127.0.0.1"),
    );

    let output = run_in(app.path(), &["serve", "--profile", "not a profile"]);
    assert_error(
        &output,
        1,
        "invalid profile `not a profile`",
        Some("profiles are names such as dev"),
    );

    let broken = manifest_only("[server]\nport = \"eighty\"\n");
    let output = run_in(broken.path(), &["serve"]);
    assert_error(
        &output,
        1,
        "invalid [server] configuration: ",
        Some("fix [server] in cortex.toml"),
    );

    let broken = manifest_only("[server\n");
    let output = run_in(broken.path(), &["serve"]);
    assert_error(
        &output,
        1,
        "cannot read the app's configuration: ",
        Some("fix cortex.toml"),
    );

    let nowhere = tempfile::tempdir().unwrap();
    let output = run_in(nowhere.path(), &["serve", "--path", "no/such/folder"]);
    assert_error(
        &output,
        1,
        "`no/such/folder` is not a folder",
        Some("--path"),
    );
}
