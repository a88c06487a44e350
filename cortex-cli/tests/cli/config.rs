//! `cortex config show`: files, profiles, `.env` and `CORTEX_*` variables resolved in-process,
//! secrets masked; broken files and bad profiles as one-line errors.

use std::path::Path;
use std::process::Output;

use crate::support::{assert_error, cortex, stderr, stdout};

/// A folder with a `Cargo.toml` (so it is an app) and these files.
pub fn app_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn show(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = cortex();
    command
        .args(["config", "show", "--path"])
        .arg(dir)
        .args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

const SHOP: &str = r#"
[server]
port = 4000

[database]
url = "postgres://shop:hunter2@db.internal/shop"
password = "hunter2"
pool_size = 5
"#;

#[test]
fn shows_the_resolved_configuration_with_secrets_masked_and_origins() {
    let app = app_with(&[
        ("cortex.toml", SHOP),
        ("cortex.dev.toml", "[mail]\nhost = 'localhost'\n"),
        (".env", "CORTEX_MAIL__API_KEY=sk-live-123\n"),
    ]);
    let output = show(app.path(), &[], &[("CORTEX_SERVER__PORT", "5000")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        !out.contains("hunter2") && !out.contains("sk-live-123"),
        "{out}"
    );
    let file = app.path().canonicalize().unwrap().join("cortex.toml");
    for expected in [
        "profile `dev`".to_string(),
        format!(
            "url = \"postgres://shop:********@db.internal/shop\"  # {}",
            file.display()
        ),
        format!("password = \"********\"  # {}", file.display()),
        format!("pool_size = 5  # {}", file.display()),
        "port = 5000  # environment variable CORTEX_SERVER__PORT".to_string(),
        "host = \"localhost\"  # ".to_string(),
        "api_key = \"********\"  # CORTEX_MAIL__API_KEY in ".to_string(),
    ] {
        assert!(out.contains(&expected), "no `{expected}` in:\n{out}");
    }
    let err = stderr(&output);
    assert!(
        err.contains("profile dev; read cortex.toml, cortex.dev.toml, .env"),
        "{err}"
    );
}

#[test]
fn shows_another_profile_as_json() {
    let app = app_with(&[
        ("cortex.toml", SHOP),
        ("cortex.prod.toml", "[server]\nhost = '0.0.0.0'\n"),
        (".env", "CORTEX_SERVER__PORT=9999\n"),
    ]);
    let output = show(app.path(), &["--profile", "prod", "--format", "json"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            // `.env` is read in dev only.
            "server": {"port": 4000, "host": "0.0.0.0"},
            "database": {
                "url": "postgres://shop:********@db.internal/shop",
                "password": "********",
                "pool_size": 5
            }
        })
    );

    // CORTEX_PROFILE chooses the profile when --profile does not.
    let output = show(app.path(), &[], &[("CORTEX_PROFILE", "prod")]);
    assert!(stdout(&output).contains("host = \"0.0.0.0\""));
}

#[test]
fn a_broken_file_is_one_line_naming_it_without_its_contents() {
    let app = app_with(&[(
        "cortex.toml",
        "[database]\npassword = \"hunter2\"\n[server\nport = 1\n",
    )]);
    let output = show(app.path(), &[], &[]);
    let err = assert_error(
        &output,
        1,
        "invalid syntax in ",
        Some("fix the syntax there (the line is not shown because it may hold a secret)"),
    );
    let line = err.lines().find(|l| l.starts_with("error:")).unwrap();
    assert!(line.contains("cortex.toml"), "{line}");
    assert!(line.contains("line 3"), "{line}");
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(stdout(&output), "");
}

#[test]
fn bad_profiles_and_folders_are_errors_with_hints() {
    let app = app_with(&[("cortex.toml", SHOP)]);
    let output = show(app.path(), &["--profile", "staging"], &[]);
    assert_error(
        &output,
        1,
        "invalid profile \"staging\": ",
        Some("create it (it may be empty), or use `dev`, `test` or `prod`"),
    );
    let output = show(app.path(), &["--profile", "prod env"], &[]);
    assert_error(
        &output,
        1,
        "invalid profile \"prod env\"",
        Some("a name made of ASCII letters, digits, `-` and `_`"),
    );
    let output = show(app.path(), &["--format", "yaml"], &[]);
    assert_error(
        &output,
        2,
        "invalid value 'yaml' for '--format <FORMAT>'",
        None,
    );

    let empty = tempfile::tempdir().unwrap();
    let output = show(empty.path(), &[], &[]);
    assert_error(&output, 1, "no Cortex app in", Some("--path DIR"));
}

#[test]
fn an_invalid_environment_variable_is_reported() {
    let app = app_with(&[("cortex.toml", SHOP)]);
    let output = show(app.path(), &[], &[("CORTEX_PORT", "eighty")]);
    // CORTEX_PORT is read as the string it is; `config show` shows it (the app would reject it).
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("port = \"eighty\"  # environment variable CORTEX_PORT"));

    let output = show(app.path(), &[], &[("CORTEX_SERVER____PORT", "1")]);
    assert_error(
        &output,
        1,
        "environment variable CORTEX_SERVER____PORT",
        None,
    );
}
