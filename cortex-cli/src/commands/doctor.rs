//! `cortex doctor`: checks the toolchain, the app's configuration, and the services the
//! configuration names, printing one `✓` (fine), `!` (worth a look) or `✗` (broken) line per check
//! on stdout, each problem with a hint. It exits with status 1 when any check failed.
//!
//! | check | how |
//! | --- | --- |
//! | rustc, cargo | `rustc --version` (or `$RUSTC`) against the newest of Cortex's `rust-version` and the app's `package.rust-version`; `cargo --version` |
//! | cargo-nextest | `cargo nextest --version`; optional (`!`): `cortex test` falls back to `cargo test` |
//! | the app | the nearest `Cargo.toml` with a `[package]` (or `--path`) |
//! | configuration | loads for the profile as the app would (files, `.env` in dev, `CORTEX_*`); `[server]`, `[http]` and `[log]` are valid |
//! | other profiles | every other `cortex.{profile}.toml` in the folder parses |
//! | `[server]` | `host:port` is free (`!` when in use: the app may be running) |
//! | `[database] url` | `postgres://`, `postgresql://` (5432), `mysql://`, `mariadb://` (3306): a TCP connection; `sqlite:` files: the folder exists and is writable |
//! | `[redis] url` | `redis://`, `rediss://` (6379): a TCP connection |
//! | `[rabbitmq] url`, `[amqp] url` | `amqp://` (5672), `amqps://` (5671): a TCP connection |
//! | `[nats] url` | `nats://`, `tls://` (4222), one URL, a comma-separated list or an array: each reached |
//! | `[kafka] brokers` | `host:port` (9092), an array or a comma-separated list: each reached |
//!
//! A TCP check connects to each address the host resolves to, with a 2-second timeout, and sends
//! nothing. URLs are never printed (they may hold passwords): only the host and port.

use std::io::Write;
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use cortex_core::config::Config;

use crate::cargo;
use crate::cli::DoctorArgs;
use crate::error::{CliError, Result};
use crate::project::Project;
use crate::ui::Ui;

use super::config::{config_error, split_hint};

/// How long a TCP check waits for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

const OK: Style = AnsiColor::Green.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();
const FAIL: Style = AnsiColor::Red.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default().bold();

/// Runs `cortex doctor`.
pub fn run(args: DoctorArgs, ui: &Ui) -> Result<()> {
    let _ = ui;
    let mut report = Report::default();
    let project = Project::find(args.path.as_deref());
    let app_rust_version = project.as_ref().ok().and_then(app_rust_version);
    toolchain(&mut report, app_rust_version.as_deref());
    match project {
        Ok(project) => {
            report.ok(format!(
                "app `{}` in {}",
                project.name(),
                project.dir().display()
            ));
            app(&mut report, &project, args.profile.as_deref());
        }
        Err(e) => report.fail(e.message().to_string(), e.hint_text().map(str::to_string)),
    }
    report.finish()
}

/// The ✓/!/✗ lines, counted.
#[derive(Debug, Default)]
struct Report {
    failed: usize,
    warned: usize,
    passed: usize,
}

impl Report {
    fn ok(&mut self, message: impl std::fmt::Display) {
        self.passed += 1;
        line(OK, "✓", message, None);
    }

    fn warn(&mut self, message: impl std::fmt::Display, hint: Option<String>) {
        self.warned += 1;
        line(WARN, "!", message, hint);
    }

    fn fail(&mut self, message: impl std::fmt::Display, hint: Option<String>) {
        self.failed += 1;
        line(FAIL, "✗", message, hint);
    }

    fn finish(self) -> Result<()> {
        let warnings = match self.warned {
            0 => String::new(),
            1 => ", 1 warning".to_string(),
            n => format!(", {n} warnings"),
        };
        if self.failed == 0 {
            let mut out = anstream::stdout().lock();
            let _ = writeln!(out, "\n{} checks passed{warnings}", self.passed);
            return Ok(());
        }
        Err(CliError::new(format!(
            "{} of {} checks failed{warnings}",
            self.failed,
            self.failed + self.passed + self.warned
        ))
        .hint("fix the ✗ lines above, then run `cortex doctor` again"))
    }
}

fn line(style: Style, mark: &str, message: impl std::fmt::Display, hint: Option<String>) {
    let mut out = anstream::stdout().lock();
    let _ = writeln!(out, "{style}{mark}{style:#} {message}");
    if let Some(hint) = hint {
        let _ = writeln!(out, "    {HINT}hint{HINT:#}: {hint}");
    }
}

// ---------------------------------------------------------------------------------------------
// The toolchain

fn toolchain(report: &mut Report, app_rust_version: Option<&str>) {
    let cortex_min = env!("CARGO_PKG_RUST_VERSION");
    let needed = match app_rust_version.and_then(parse_version) {
        Some(app) if parse_version(cortex_min).is_some_and(|cortex| app > cortex) => {
            app_rust_version.unwrap_or(cortex_min)
        }
        _ => cortex_min,
    };
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    match version_of(Command::new(rustc).arg("--version")) {
        Ok(text) => match text.split_whitespace().nth(1).and_then(parse_version) {
            Some(found) if parse_version(needed).is_some_and(|n| found >= n) => {
                report.ok(format!("rustc {} (needs {needed} or newer)", show(found)));
            }
            Some(found) => report.fail(
                format!(
                    "rustc {} is older than {needed}, which this app needs",
                    show(found)
                ),
                Some("run `rustup update stable`".into()),
            ),
            None => report.warn(
                format!("cannot read the rustc version from `{text}`"),
                Some(format!("Cortex needs rustc {needed} or newer")),
            ),
        },
        Err(e) => report.fail(
            format!("rustc does not run: {e}"),
            Some("install Rust from https://rustup.rs".into()),
        ),
    }
    match version_of(cargo::cargo().arg("--version")) {
        Ok(text) => report.ok(text),
        Err(e) => report.fail(
            format!("cargo does not run: {e}"),
            Some("install Rust from https://rustup.rs".into()),
        ),
    }
    match version_of(cargo::cargo().args(["nextest", "--version"])) {
        Ok(text) => report.ok(text),
        Err(_) => report.warn(
            "cargo-nextest is not installed (optional: `cortex test` uses cargo test without it)",
            Some("cargo install cargo-nextest --locked".into()),
        ),
    }
}

/// The first line a `--version` command prints, or why it did not.
fn version_of(command: &mut Command) -> std::result::Result<String, String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("exit {}", output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string())
}

/// `1.88`, `1.88.0` or `1.90.0-nightly` as (major, minor, patch).
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let core = text.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    Some((major, minor, patch))
}

fn show((major, minor, patch): (u64, u64, u64)) -> String {
    format!("{major}.{minor}.{patch}")
}

/// The app's own `package.rust-version`, when it sets one (not inherited from a workspace).
fn app_rust_version(project: &Project) -> Option<String> {
    let text = std::fs::read_to_string(project.dir().join("Cargo.toml")).ok()?;
    let doc: toml::Table = toml::from_str(&text).ok()?;
    doc.get("package")?
        .get("rust-version")?
        .as_str()
        .map(str::to_string)
}

// ---------------------------------------------------------------------------------------------
// The app's configuration and services

fn app(report: &mut Report, project: &Project, profile: Option<&str>) {
    let config = match super::config::load(project.dir(), profile) {
        Ok(config) => config,
        Err(e) => {
            report.fail(
                format!("the configuration does not load: {}", e.message()),
                e.hint_text().map(str::to_string),
            );
            // The active profile's file was just reported; check the others.
            let active = profile
                .map(str::to_string)
                .or_else(|| std::env::var("CORTEX_PROFILE").ok())
                .unwrap_or_else(|| "dev".to_string())
                .to_lowercase();
            other_profiles(report, project.dir(), Some(&active));
            return;
        }
    };
    let files: Vec<String> = config
        .files()
        .iter()
        .map(|f| relative(f, project.dir()))
        .collect();
    report.ok(format!(
        "configuration loads (profile {}{})",
        config.profile(),
        if files.is_empty() {
            ", no files: built-in defaults".to_string()
        } else {
            format!(": {}", files.join(", "))
        }
    ));
    other_profiles(report, project.dir(), Some(config.profile().as_str()));
    sections(report, &config);
    server_port(report, &config);
    services(report, &config, project.dir());
}

/// Every `cortex.{profile}.toml` other than the active profile's parses.
fn other_profiles(report: &mut Report, dir: &Path, active: Option<&str>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("cortex.") && n.ends_with(".toml") && n != "cortex.toml")
        .collect();
    names.sort();
    for name in names {
        let profile = &name["cortex.".len()..name.len() - ".toml".len()];
        if Some(profile) == active {
            continue;
        }
        let loaded = cortex_core::config::Profile::new(profile).and_then(|p| {
            Config::builder()
                .dir(dir)
                .profile(p)
                .env_vars::<_, &str, &str>([])
                .dotenv(false)
                .load()
        });
        match loaded {
            Ok(_) => report.ok(format!("{name} parses")),
            Err(cortex_core::config::ConfigError::BadProfile { .. }) => report.warn(
                format!("{name} is not a profile's file (`{profile}` is not a profile name)"),
                Some("profile names are ASCII letters, digits, `-` and `_`; rename or remove the file".into()),
            ),
            Err(e) => {
                let e = config_error(e);
                report.fail(e.message(), e.hint_text().map(str::to_string));
            }
        }
    }
}

/// `[server]`, `[http]` and `[log]` are what the app accepts.
fn sections(report: &mut Report, config: &Config) {
    let server = config
        .server()
        .map_err(config_error)
        .and_then(|s| s.addr().map(drop).map_err(config_error));
    let http = config
        .get_or_default::<cortex_core::http::middleware::HttpConfig>("http")
        .map_err(config_error)
        .and_then(|http| {
            cortex_core::http::middleware::Stack::new(&http)
                .map(drop)
                .map_err(|e| split_hint(&format!("[http]: {e}")))
        });
    let log = cortex_core::logging::LogConfig::from_config(config)
        .map(drop)
        .map_err(config_error);
    for (section, result) in [("[server]", server), ("[http]", http), ("[log]", log)] {
        match result {
            Ok(()) => {}
            Err(e) => report.fail(
                format!("{section} is invalid: {}", e.message()),
                e.hint_text().map(str::to_string),
            ),
        }
    }
}

/// The port the app would listen on is free.
fn server_port(report: &mut Report, config: &Config) {
    let Ok(addr) = config.server().and_then(|s| s.addr()) else {
        return;
    };
    if addr.port() == 0 {
        report.ok("[server] port 0: the system picks a free port");
        return;
    }
    match TcpListener::bind(addr) {
        Ok(listener) => {
            drop(listener);
            report.ok(format!("[server] {addr} is free"));
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => report.warn(
            format!("[server] {addr} is in use (is the app running already?)"),
            Some("stop what listens there, or set `server.port` (CORTEX_PORT)".into()),
        ),
        Err(e) => report.warn(
            format!("[server] cannot listen on {addr}: {e}"),
            Some("set `server.host` to an address of this machine (CORTEX_HOST)".into()),
        ),
    }
}

/// A service the configuration names.
struct Service {
    /// `[database]`
    section: &'static str,
    /// `database.url`
    key: &'static str,
    /// `PostgreSQL`
    what: &'static str,
    host: String,
    port: u16,
}

fn services(report: &mut Report, config: &Config, dir: &Path) {
    let mut found = 0;
    let mut targets = Vec::new();

    if let Some(url) = string_at(report, config, "database.url") {
        found += 1;
        if url.starts_with("sqlite:") {
            sqlite(report, &url, dir);
        } else {
            match service_url(
                &url,
                "[database]",
                "database.url",
                &[
                    ("postgres", "PostgreSQL", 5432),
                    ("postgresql", "PostgreSQL", 5432),
                    ("mysql", "MySQL", 3306),
                    ("mariadb", "MariaDB", 3306),
                ],
            ) {
                Ok(service) => targets.push(service),
                Err(problem) => report.fail(problem, Some(origin_hint(config, "database.url"))),
            }
        }
    }
    if let Some(url) = string_at(report, config, "redis.url") {
        found += 1;
        match service_url(
            &url,
            "[redis]",
            "redis.url",
            &[("redis", "Redis", 6379), ("rediss", "Redis", 6379)],
        ) {
            Ok(service) => targets.push(service),
            Err(problem) => report.fail(problem, Some(origin_hint(config, "redis.url"))),
        }
    }
    for (section, key) in [("[rabbitmq]", "rabbitmq.url"), ("[amqp]", "amqp.url")] {
        if let Some(url) = string_at(report, config, key) {
            found += 1;
            match service_url(
                &url,
                section,
                key,
                &[("amqp", "RabbitMQ", 5672), ("amqps", "RabbitMQ", 5671)],
            ) {
                Ok(service) => targets.push(service),
                Err(problem) => report.fail(problem, Some(origin_hint(config, key))),
            }
        }
    }
    if let Some(urls) = list_at(report, config, "nats.url") {
        found += 1;
        for url in urls {
            match service_url(
                &url,
                "[nats]",
                "nats.url",
                &[("nats", "NATS", 4222), ("tls", "NATS", 4222)],
            ) {
                Ok(service) => targets.push(service),
                Err(problem) => report.fail(problem, Some(origin_hint(config, "nats.url"))),
            }
        }
    }
    if let Some(brokers) = list_at(report, config, "kafka.brokers") {
        found += 1;
        for broker in brokers {
            let url = if broker.contains("://") {
                broker
            } else {
                format!("kafka://{broker}")
            };
            match service_url(
                &url,
                "[kafka]",
                "kafka.brokers",
                &[("kafka", "Kafka", 9092)],
            ) {
                Ok(service) => targets.push(service),
                Err(problem) => report.fail(problem, Some(origin_hint(config, "kafka.brokers"))),
            }
        }
    }

    // Connect to all of them at once: a slow one costs its timeout once, not once per service.
    let results: Vec<(Service, std::result::Result<(), String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = targets
            .into_iter()
            .map(|service| {
                scope.spawn(move || {
                    let result = connect(&service.host, service.port);
                    (service, result)
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    for (service, result) in results {
        let at = format!("{}:{}", service.host, service.port);
        match result {
            Ok(()) => report.ok(format!(
                "{} {} at {at} is reachable",
                service.section, service.what
            )),
            Err(e) => report.fail(
                format!(
                    "{} {} at {at} is not reachable: {e}",
                    service.section, service.what
                ),
                Some(format!(
                    "start {}, or {}",
                    service.what,
                    origin_hint(config, service.key)
                )),
            ),
        }
    }
    if found == 0 {
        report.ok("no external services configured ([database], [redis], [rabbitmq], [amqp], [nats], [kafka])");
    }
}

/// The string at `key`, if set; a value of another type is reported.
fn string_at(report: &mut Report, config: &Config, key: &str) -> Option<String> {
    if !config.contains(key) {
        return None;
    }
    match config.get::<String>(key) {
        Ok(value) => Some(value),
        Err(e) => {
            let e = config_error(e);
            report.fail(e.message(), e.hint_text().map(str::to_string));
            None
        }
    }
}

/// A string holding a comma-separated list, or an array of strings, at `key`.
fn list_at(report: &mut Report, config: &Config, key: &str) -> Option<Vec<String>> {
    if !config.contains(key) {
        return None;
    }
    let list = match config.get::<Vec<String>>(key) {
        Ok(list) => list,
        Err(_) => string_at(report, config, key)?
            .split(',')
            .map(str::to_string)
            .collect(),
    };
    Some(
        list.into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

/// "fix `key` in FILE" (or the variable that set it).
fn origin_hint(config: &Config, key: &str) -> String {
    match config.origin(key) {
        Some(origin) => format!("fix `{key}` (set by {origin})"),
        None => format!("fix `{key}`"),
    }
}

/// The host and port of a service URL with one of `schemes` (scheme, what, default port). The
/// URL itself is never part of the message: it may hold a password.
fn service_url(
    url: &str,
    section: &'static str,
    key: &'static str,
    schemes: &[(&str, &'static str, u16)],
) -> std::result::Result<Service, String> {
    let parsed =
        url::Url::parse(url).map_err(|e| format!("{section} `{key}` is not a valid URL: {e}"))?;
    let scheme = parsed.scheme();
    let Some(&(_, what, default_port)) = schemes.iter().find(|(s, _, _)| *s == scheme) else {
        let known: Vec<String> = schemes.iter().map(|(s, _, _)| format!("{s}://")).collect();
        return Err(format!(
            "{section} `{key}` has the scheme `{scheme}://`; expected {}",
            known.join(", ")
        ));
    };
    let host = match parsed.host() {
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        Some(host) => host.to_string(),
        None => return Err(format!("{section} `{key}` names no host")),
    };
    Ok(Service {
        section,
        key,
        what,
        host,
        port: parsed.port().unwrap_or(default_port),
    })
}

/// A TCP connection to any address `host` resolves to, within [`CONNECT_TIMEOUT`].
fn connect(host: &str, port: u16) -> std::result::Result<(), String> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{host}`: {e}"))?
        .collect();
    let mut last = format!("`{host}` resolves to no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = format!("no answer within {}s", CONNECT_TIMEOUT.as_secs());
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// An SQLite URL: in memory, or a file whose folder must exist and be writable.
fn sqlite(report: &mut Report, url: &str, dir: &Path) {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.split('&').any(|q| q == "mode=memory") {
        report.ok("[database] SQLite in memory");
        return;
    }
    let file = dir.join(path);
    let shown = relative(&file, dir);
    let folder = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.to_path_buf());
    let shown_folder = relative(&folder, dir);
    if file.is_file() {
        match std::fs::OpenOptions::new().append(true).open(&file) {
            Ok(_) => report.ok(format!("[database] SQLite file {shown} is writable")),
            Err(e) => report.fail(
                format!("[database] SQLite file {shown} is not writable: {e}"),
                Some("fix its permissions, or point `database.url` at another file".into()),
            ),
        }
    } else if !folder.is_dir() {
        report.warn(
            format!("[database] the folder of the SQLite file {shown} does not exist"),
            Some(format!(
                "create it (`mkdir -p {shown_folder}`) before the app opens the database"
            )),
        );
    } else {
        match writable(&folder) {
            Ok(()) => report.ok(format!(
                "[database] SQLite file {shown} will be created (its folder is writable)"
            )),
            Err(e) => report.fail(
                format!("[database] cannot create the SQLite file {shown}: {e}"),
                Some(format!(
                    "make {shown_folder} writable, or point `database.url` at another file"
                )),
            ),
        }
    }
}

/// Creates and removes a probe file in `folder`.
fn writable(folder: &Path) -> std::io::Result<()> {
    let probe = folder.join(format!(".cortex-doctor-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

/// `path` relative to `dir` when it is inside it.
fn relative(path: &Path, dir: &Path) -> String {
    let path: PathBuf = path.components().collect();
    match path.strip_prefix(dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_with_and_without_patch_and_pre_release() {
        assert_eq!(parse_version("1.88"), Some((1, 88, 0)));
        assert_eq!(parse_version("1.95.0"), Some((1, 95, 0)));
        assert_eq!(parse_version("1.90.0-nightly"), Some((1, 90, 0)));
        assert_eq!(parse_version("one"), None);
        assert!(parse_version("1.88").unwrap() < parse_version("1.88.1").unwrap());
    }

    #[test]
    fn service_urls_give_host_and_default_port_and_never_the_password() {
        let schemes = [("postgres", "PostgreSQL", 5432)];
        let s = service_url(
            "postgres://app:hunter2@db.internal/app",
            "[database]",
            "database.url",
            &schemes,
        )
        .unwrap();
        assert_eq!((s.host.as_str(), s.port), ("db.internal", 5432));
        let s = service_url(
            "postgres://[::1]:6543/app",
            "[database]",
            "database.url",
            &schemes,
        )
        .unwrap();
        assert_eq!((s.host.as_str(), s.port), ("::1", 6543));
        let err = service_url(
            "mongodb://app:hunter2@db/app",
            "[database]",
            "database.url",
            &schemes,
        )
        .err()
        .unwrap();
        assert_eq!(
            err,
            "[database] `database.url` has the scheme `mongodb://`; expected postgres://"
        );
        let err = service_url("not a url hunter2", "[database]", "database.url", &schemes)
            .err()
            .unwrap();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
