//! The app templates: every rendered file as a snapshot, and one end-to-end test that creates an
//! app per template, generates code into one, and runs each app's own tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::support::{run_in, stderr, workspace};

/// `cortex new NAME ARGS` in a new temporary folder; returns the folder and the app's path.
pub fn new_app(name: &str, args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec!["new", name, "--no-git", "-q"];
    all.extend_from_slice(args);
    let output = run_in(dir.path(), &all);
    assert!(output.status.success(), "{}", stderr(&output));
    let app = dir.path().join(name);
    (dir, app)
}

/// Every file of the app but `Cargo.lock` (a copy of the checkout's), in path order, each under a
/// `--- path ---` line, with the checkout's path replaced by `<CORTEX>`.
fn rendered(app: &Path) -> String {
    let mut files = Vec::new();
    let mut stack = vec![app.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "Cargo.lock") {
                files.push(path);
            }
        }
    }
    files.sort();
    let root = workspace().display().to_string();
    let mut out = String::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        out.push_str(&format!(
            "--- {} ---\n{}",
            file.strip_prefix(app).unwrap().display(),
            text.replace(&root, "<CORTEX>")
        ));
    }
    out
}

#[test]
fn every_template_matches_its_snapshot() {
    for template in ["minimal", "api", "full"] {
        let (_dir, app) = new_app("blog", &["--template", template]);
        insta::assert_snapshot!(format!("template_{template}"), rendered(&app));
    }
    let (_dir, app) = new_app("blog", &["--template", "api", "--db", "postgres"]);
    let config = format!(
        "--- Cargo.toml ---\n{}--- cortex.toml ---\n{}--- .env.example ---\n{}",
        std::fs::read_to_string(app.join("Cargo.toml"))
            .unwrap()
            .replace(&workspace().display().to_string(), "<CORTEX>"),
        std::fs::read_to_string(app.join("cortex.toml")).unwrap(),
        std::fs::read_to_string(app.join(".env.example")).unwrap()
    );
    insta::assert_snapshot!("template_api_postgres_config", config);
}

/// `cargo ARGS` in `app`, building into the workspace's target directory (where the checkout's
/// dependencies are compiled already); fails the test with cargo's output if it fails.
fn cargo(app: &Path, args: &[&str]) {
    // The CLI under test is `<target>/debug/cortex`.
    let target = Path::new(env!("CARGO_BIN_EXE_cortex"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_path_buf();
    let started = Instant::now();
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(args)
        .current_dir(app)
        .env("CARGO_TARGET_DIR", target)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`cargo {}` failed in {}:\n{}\n{}",
        args.join(" "),
        app.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "`cargo {}` in {}: {:?}",
        args.join(" "),
        app.file_name().unwrap().display(),
        started.elapsed()
    );
}

/// The one test that compiles generated apps: `cortex new` for each template (the `full` one on
/// PostgreSQL, its tests on SQLite), every generator run in the `api` app (a resource on the data
/// layer, a model, a plugin crate, `g auth` and two event handlers too), then `cargo fmt --check`
/// and `cargo test` in each app and in the plugin crate. They share the workspace's target directory, so only the apps themselves (and, once,
/// the Cortex crates for the apps' feature set) are compiled.
#[test]
fn every_template_builds_and_its_tests_pass() {
    let started = Instant::now();
    let (_minimal_dir, minimal) = new_app("minimal-app", &["--template", "minimal"]);
    let (_api_dir, api) = new_app("api-app", &["--template", "api"]);
    let (_full_dir, full) = new_app("full-app", &["--template", "full", "--db", "postgres"]);

    for args in [
        &["g", "controller", "posts", "title:string", "body:text"][..],
        &[
            "g",
            "controller",
            "BlogStats",
            "count:bigint",
            "ratio:float?",
            "live:bool",
            "meta:json?",
            "n:int",
            "label:string?",
        ],
        // A resource on the data layer with every field type, and a model alone.
        &[
            "g",
            "resource",
            "articles",
            "title:string",
            "body:text?",
            "views:int",
            "reach:bigint?",
            "score:float",
            "published:bool",
            "meta:json?",
            "ref_id:uuid?",
            "due_at:datetime",
        ],
        &["g", "model", "comment", "article_id:bigint", "body:text"],
        &["g", "controller", "ping"],
        &["g", "service", "mailer"],
        &["g", "middleware", "timing"],
        &["g", "plugin", "metrics"],
        &["g", "plugin", "audit-log", "--crate"],
        // Accounts and /auth on cortex::auth: the `auth` feature is added to the app, so its
        // tests (tests/auth.rs: register, login, refresh, logout, me, change password) run too.
        &["g", "auth"],
        // An event handler and its event, and a second handler of the same event (its test does
        // not build one).
        &[
            "g",
            "event-handler",
            "send_welcome",
            "--event",
            "UserCreated",
            "--topic",
            "user.created",
        ],
        &[
            "g",
            "event-handler",
            "audit_signup",
            "--event",
            "UserCreated",
        ],
    ] {
        let output = run_in(&api, args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    }

    // The plugin crate is a member of the app's workspace (its Cargo.lock, its target/), and the
    // app depends on it and links it: the app's tests run with the plugin applied.
    let plugin_crate = api.join("crates/audit-log");

    for app in [&minimal, &api, &full, &plugin_crate] {
        cargo(app, &["fmt", "--check"]);
    }

    // Apply the generated middleware to the generated controller, and check its header.
    let controller = api.join("src/controllers/ping.rs");
    let source = std::fs::read_to_string(&controller).unwrap().replace(
        "#[controller(\"/pings\")]\n",
        "#[controller(\"/pings\")]\n#[middleware(cortex::axum::middleware::from_fn(crate::middleware::timing::timing))]\n",
    );
    assert!(source.contains("#[middleware("), "{source}");
    std::fs::write(&controller, source).unwrap();
    let test = api.join("tests/ping.rs");
    let source = std::fs::read_to_string(&test).unwrap().replace(
        "    res.assert_status(200);\n",
        "    res.assert_status(200);\n    assert!(res.header(\"server-timing\").unwrap().starts_with(\"timing;dur=\"));\n",
    );
    assert!(source.contains("server-timing"), "{source}");
    std::fs::write(&test, source).unwrap();

    for app in [&minimal, &api, &full, &plugin_crate] {
        cargo(app, &["test", "--quiet"]);
    }

    // The data plugin's tasks run in the app's binary: the generated migrations apply to the
    // app's SQLite file (data/api_app.db).
    for (command, expected) in [
        ("migrate", "applied "),
        ("status", "applied   create_articles"),
        ("status", "applied   create_users"),
    ] {
        let output = run_in(&api, &["db", command]);
        assert!(output.status.success(), "db {command}: {}", stderr(&output));
        let out = String::from_utf8_lossy(&output.stdout);
        assert!(out.contains(expected), "db {command}:\n{out}");
    }
    assert!(api.join("data/api_app.db").is_file());
    eprintln!(
        "three apps and a plugin crate created, generated into, built and tested in {:?}",
        started.elapsed()
    );
}
