//! `cortex new`: what it writes and prints, and every bad input with its message and hint. The
//! templates' contents are snapshot-tested, built and tested in `templates.rs`.

use std::process::{Command, Stdio};

use crate::support::{assert_error, cortex, run_in, stderr, workspace};

#[test]
fn new_writes_an_app_that_depends_on_this_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["new", "blog", "--template", "minimal"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    let app = dir.path().join("blog");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "src/main.rs",
        "src/lib.rs",
        "src/controllers/mod.rs",
        "src/controllers/hello.rs",
        "src/services/mod.rs",
        "src/services/greeter.rs",
        "tests/app.rs",
        "cortex.toml",
        "cortex.dev.toml",
        "cortex.test.toml",
        "cortex.prod.toml",
        ".env.example",
        ".gitignore",
        ".dockerignore",
        "Dockerfile",
        "README.md",
    ] {
        assert!(app.join(file).is_file(), "{file} is missing");
        assert!(err.contains(file), "{file} is not listed in:\n{err}");
    }
    assert!(
        err.contains("Created app `blog` at blog (minimal template, 18 files)"),
        "{err}"
    );
    assert!(err.contains("cd blog\n"), "the next steps:\n{err}");
    assert!(err.contains("cortex serve"), "the next steps:\n{err}");

    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    let cortex_dep = format!("cortex = {{ path = \"{}/cortex\" }}", workspace().display());
    assert!(manifest.contains(&cortex_dep), "{manifest}");
    assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
    assert!(
        manifest.contains("debug = \"line-tables-only\""),
        "{manifest}"
    );
    assert_eq!(
        std::fs::read(app.join("Cargo.lock")).unwrap(),
        std::fs::read(workspace().join("Cargo.lock")).unwrap(),
        "the lock starts as the checkout's"
    );

    let has_git = Command::new("git")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_git {
        assert!(app.join(".git").is_dir(), "git init ran:\n{err}");
        assert!(err.contains("Initialized a git repository"), "{err}");
    }
}

#[test]
fn new_with_path_no_git_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let output = run_in(
        dir.path(),
        &[
            "new", "shop", "--path", "empty", "--no-git", "--db", "postgres", "--quiet",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output), "", "--quiet prints nothing");
    let app = dir.path().join("empty");
    assert!(!app.join(".git").exists());
    let config = std::fs::read_to_string(app.join("cortex.toml")).unwrap();
    assert!(
        config.contains("url = \"postgres://127.0.0.1:5432/shop\""),
        "{config}"
    );
    let env = std::fs::read_to_string(app.join(".env.example")).unwrap();
    assert!(
        env.contains("CORTEX_DATABASE__URL=postgres://postgres:postgres@127.0.0.1:5432/shop"),
        "{env}"
    );
    // The default template is `api`.
    assert!(app.join("src/controllers/notes.rs").is_file());
}

#[test]
fn cortex_path_chooses_the_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let output = cortex()
        .current_dir(dir.path())
        .env("CORTEX_PATH", workspace())
        .args(["new", "blog", "--no-git"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "depends on the Cortex checkout at {}",
            workspace().display()
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_bad_cortex_path_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = cortex()
        .current_dir(dir.path())
        .env("CORTEX_PATH", dir.path())
        .args(["new", "blog", "--no-git"])
        .output()
        .unwrap();
    assert_error(
        &output,
        1,
        &format!(
            "CORTEX_PATH={} is not a Cortex checkout",
            dir.path().display()
        ),
        Some("point CORTEX_PATH at the folder that holds cortex/ and cortex-core/, or unset it"),
    );
    assert!(!dir.path().join("blog").exists(), "nothing was written");
}

#[test]
fn bad_names_are_refused_with_a_fixed_name() {
    let dir = tempfile::tempdir().unwrap();
    for (name, message, hint) in [
        (
            "9lives",
            "`9lives` is not a valid app name: it must start with a letter",
            "try `app-9lives`",
        ),
        (
            "my app",
            "`my app` is not a valid app name: only letters, digits, `-` and `_` are allowed",
            "try `my-app`",
        ),
        (
            "fn",
            "`fn` is not a valid app name: it is a Rust keyword",
            "try `fn-app`",
        ),
        (
            "self",
            "`self` is not a valid app name: it is a Rust keyword",
            "try `self-app`",
        ),
        (
            "test",
            "`test` is not a valid app name: the name is taken by a crate the app uses or by cargo",
            "try `test-app`",
        ),
        (
            "cortex",
            "`cortex` is not a valid app name: the name is taken by a crate the app uses or by cargo",
            "try `cortex-app`",
        ),
        (
            "std",
            "`std` is not a valid app name: the name is taken by a crate the app uses or by cargo",
            "try `std-app`",
        ),
        (
            "Blog",
            "`Blog` is not a valid app name: it must be lowercase",
            "try `blog`",
        ),
    ] {
        let output = run_in(dir.path(), &["new", name]);
        assert_error(&output, 2, message, Some(hint));
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing was written"
    );
}

#[test]
fn an_existing_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("blog")).unwrap();
    std::fs::write(dir.path().join("blog/notes.txt"), "mine").unwrap();
    let output = run_in(dir.path(), &["new", "blog"]);
    assert_error(
        &output,
        1,
        "blog` already exists and is not empty",
        Some("choose another name, or pass --path DIR for a new or empty folder"),
    );
    let output = run_in(dir.path(), &["new", "shop", "--path", "blog"]);
    assert_error(
        &output,
        1,
        "blog` already exists and is not empty",
        Some("choose a new or empty folder with --path"),
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("blog")).unwrap().count(),
        1,
        "the folder is untouched"
    );
}

#[test]
fn a_path_to_a_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "x").unwrap();
    let output = run_in(dir.path(), &["new", "blog", "--path", "file"]);
    assert_error(
        &output,
        1,
        "file` is a file, not a folder",
        Some("pass --path with a new or empty folder"),
    );
}

#[test]
fn unknown_templates_and_databases_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["new", "blog", "--template", "huge"]);
    let err = assert_error(
        &output,
        2,
        "invalid value 'huge' for '--template <TEMPLATE>'",
        None,
    );
    assert!(
        err.contains("[possible values: minimal, api, full]"),
        "{err}"
    );

    let output = run_in(dir.path(), &["new", "blog", "--db", "mysql"]);
    let err = assert_error(&output, 2, "invalid value 'mysql' for '--db <DB>'", None);
    assert!(err.contains("[possible values: sqlite, postgres]"), "{err}");

    let output = run_in(dir.path(), &["new", "blog", "--port", "8080"]);
    let err = assert_error(
        &output,
        2,
        "the following required arguments were not provided",
        None,
    );
    assert!(err.contains("--serve"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn without_a_name_and_a_terminal_new_asks_for_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = cortex()
        .current_dir(dir.path())
        .arg("new")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_error(
        &output,
        2,
        "missing the app's NAME",
        Some(
            "run `cortex new NAME` (e.g. `cortex new blog`), or run `cortex new` on a terminal to be asked",
        ),
    );
}

/// The wizard, on a pseudo-terminal made by `script` (util-linux): every keystroke is written at
/// once; the terminal buffers them until each question reads its answer.
#[test]
fn on_a_terminal_new_asks_the_questions() {
    use std::io::Write;
    use std::time::{Duration, Instant};

    let has_script = Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_script {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let command = format!("{} new", env!("CARGO_BIN_EXE_cortex"));
    let mut child = cortex_env(Command::new("script"))
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A refused name, then `blog`; the second template (minimal), which asks no database; no git
    // repository.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"9lives\r\x15blog\r\x1b[B\rn")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the wizard did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    assert!(
        screen.contains(
            "`9lives` is not a valid app name: it must start with a letter (try `app-9lives`)"
        ),
        "{screen}"
    );
    assert!(
        screen.contains("Created app `blog` at blog (minimal template, 18 files)"),
        "{screen}"
    );
    let app = dir.path().join("blog");
    assert!(app.join("src/controllers/hello.rs").is_file(), "{screen}");
    assert!(!app.join(".git").exists(), "git was declined:\n{screen}");
}

/// `command` with the environment `support::cortex()` gives the CLI: no colours, no `CORTEX_*`.
fn cortex_env(mut command: Command) -> Command {
    command.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CORTEX_") {
            command.env_remove(key);
        }
    }
    command
}
