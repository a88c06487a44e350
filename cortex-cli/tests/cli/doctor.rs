//! `cortex doctor`: the toolchain, the configuration, and the services it names — the real
//! Postgres, Redis, RabbitMQ and NATS on their standard local ports, and ports nothing listens on.

use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use crate::config::app_with;
use crate::support::{assert_error, cortex, stderr, stdout};

fn doctor(dir: &Path, args: &[&str]) -> Output {
    cortex()
        .args(["doctor", "--path"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[track_caller]
fn assert_line(out: &str, mark: &str, text: &str) {
    assert!(
        out.lines().any(|l| l.starts_with(mark) && l.contains(text)),
        "no `{mark} …{text}…` line in:\n{out}"
    );
}

#[test]
fn reaches_the_services_the_configuration_names() {
    let app = app_with(&[(
        "cortex.toml",
        r#"
[server]
port = 0

[database]
url = "postgres://app:hunter2@127.0.0.1:5432/app"

[redis]
url = "redis://127.0.0.1"

[rabbitmq]
url = "amqp://guest:guest@localhost:5672/%2f"

[nats]
url = "nats://127.0.0.1:4222"
"#,
    )]);
    let output = doctor(app.path(), &[]);
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));
    assert_line(&out, "✓", "rustc ");
    assert_line(&out, "✓", "cargo ");
    assert_line(&out, "✓", "app `shop` in ");
    assert_line(&out, "✓", "configuration loads (profile dev: cortex.toml)");
    assert_line(
        &out,
        "✓",
        "[database] PostgreSQL at 127.0.0.1:5432 is reachable",
    );
    assert_line(&out, "✓", "[redis] Redis at 127.0.0.1:6379 is reachable");
    assert_line(
        &out,
        "✓",
        "[rabbitmq] RabbitMQ at localhost:5672 is reachable",
    );
    assert_line(&out, "✓", "[nats] NATS at 127.0.0.1:4222 is reachable");
    assert!(!out.contains("hunter2") && !out.contains("guest"), "{out}");
    assert!(out.contains("checks passed"), "{out}");
}

#[test]
fn a_closed_port_fails_with_a_hint_and_exit_1() {
    let (redis, kafka) = (closed_port(), closed_port());
    let app = app_with(&[(
        "cortex.toml",
        &format!(
            "[server]\nport = 0\n[redis]\nurl = \"redis://:s3cret@127.0.0.1:{redis}/0\"\n[kafka]\nbrokers = [\"127.0.0.1:{kafka}\"]\n"
        ),
    )]);
    let output = doctor(app.path(), &[]);
    let err = assert_error(
        &output,
        1,
        "2 of ",
        Some("fix the ✗ lines above, then run `cortex doctor` again"),
    );
    assert!(err.contains("checks failed"), "{err}");
    let out = stdout(&output);
    assert_line(
        &out,
        "✗",
        &format!("[redis] Redis at 127.0.0.1:{redis} is not reachable: "),
    );
    assert_line(
        &out,
        "✗",
        &format!("[kafka] Kafka at 127.0.0.1:{kafka} is not reachable: "),
    );
    assert!(
        out.contains("hint: start Redis, or fix `redis.url` (set by "),
        "{out}"
    );
    assert!(!out.contains("s3cret"), "{out}");

    // A variable overrides the file, and the hint names it.
    let output = cortex()
        .args(["doctor", "--path"])
        .arg(app.path())
        .env("CORTEX_KAFKA__BROKERS", format!("127.0.0.1:{kafka}"))
        .output()
        .unwrap();
    assert!(
        stdout(&output)
            .contains("or fix `kafka.brokers` (set by environment variable CORTEX_KAFKA__BROKERS)"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn the_configuration_of_every_profile_is_checked() {
    let app = app_with(&[
        ("cortex.toml", "[server]\nport = 0\n"),
        (
            "cortex.prod.toml",
            "[server]\nhost = \"0.0.0.0\"\nport = \n",
        ),
        ("cortex.test.toml", "[server]\nport = 0\n"),
    ]);
    let output = doctor(app.path(), &[]);
    assert_error(&output, 1, "1 of ", Some("fix the ✗ lines"));
    let out = stdout(&output);
    assert_line(&out, "✗", "invalid syntax in ");
    assert_line(&out, "✗", "cortex.prod.toml");
    assert_line(&out, "✓", "cortex.test.toml parses");

    // The active profile's configuration does not load: one ✗ naming the file.
    let output = doctor(app.path(), &["--profile", "prod"]);
    assert_error(&output, 1, "1 of ", None);
    assert_line(
        &stdout(&output),
        "✗",
        "the configuration does not load: invalid syntax in ",
    );

    // A section the app would reject.
    let app = app_with(&[("cortex.toml", "[server]\nport = 0\nmax_conections = 10\n")]);
    let output = doctor(app.path(), &[]);
    assert_error(&output, 1, "1 of ", None);
    assert_line(
        &stdout(&output),
        "✗",
        "[server] is invalid: config key `server.max_conections`",
    );
    let app = app_with(&[(
        "cortex.toml",
        "[server]\nport = 0\n[log]\nlevel = \"loud\"\n",
    )]);
    let output = doctor(app.path(), &[]);
    assert_error(&output, 1, "1 of ", None);
    assert_line(
        &stdout(&output),
        "✗",
        "[log] is invalid: config key `log.level`",
    );

    // An unknown profile.
    let output = doctor(app.path(), &["--profile", "staging"]);
    assert_error(&output, 1, "1 of ", None);
    assert_line(
        &stdout(&output),
        "✗",
        "the configuration does not load: invalid profile \"staging\"",
    );
}

#[test]
fn a_port_in_use_and_sqlite_folders_are_reported() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let app = app_with(&[(
        "cortex.toml",
        &format!("[server]\nport = {port}\n[database]\nurl = \"sqlite://data/app.db?mode=rwc\"\n"),
    )]);
    let output = doctor(app.path(), &[]);
    let out = stdout(&output);
    assert!(output.status.success(), "warnings do not fail:\n{out}");
    assert_line(&out, "!", &format!("[server] 127.0.0.1:{port} is in use"));
    assert_line(
        &out,
        "!",
        "[database] the folder of the SQLite file data/app.db does not exist",
    );
    assert!(out.contains("hint: create it (`mkdir -p data`)"), "{out}");

    std::fs::create_dir(app.path().join("data")).unwrap();
    let out = stdout(&doctor(app.path(), &[]));
    assert_line(
        &out,
        "✓",
        "[database] SQLite file data/app.db will be created",
    );
    std::fs::write(app.path().join("data/app.db"), "").unwrap();
    let out = stdout(&doctor(app.path(), &[]));
    assert_line(&out, "✓", "[database] SQLite file data/app.db is writable");
    drop(busy);
}

#[test]
fn outside_an_app_the_toolchain_is_still_checked() {
    let empty = tempfile::tempdir().unwrap();
    let output = doctor(empty.path(), &[]);
    assert_error(&output, 1, "1 of ", Some("fix the ✗ lines"));
    let out = stdout(&output);
    assert_line(&out, "✓", "rustc ");
    assert_line(&out, "✗", "no Cortex app in ");
}

#[test]
fn an_unknown_database_scheme_is_reported_without_the_url() {
    let app = app_with(&[(
        "cortex.toml",
        "[server]\nport = 0\n[database]\nurl = \"mongodb://app:hunter2@db/app\"\n",
    )]);
    let output = doctor(app.path(), &[]);
    assert_error(&output, 1, "1 of ", None);
    let out = stdout(&output);
    assert_line(
        &out,
        "✗",
        "[database] `database.url` has the scheme `mongodb://`; expected postgres://, postgresql://, mysql://, mariadb://",
    );
    assert!(!out.contains("hunter2"), "{out}");
}
