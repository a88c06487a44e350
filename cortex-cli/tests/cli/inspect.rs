//! `cortex routes` and `cortex graph`: `examples/todo` in place (it builds into the workspace's
//! target directory), and a tiny crate that is not a Cortex app.

use std::path::PathBuf;

use crate::build::run_on;
use crate::support::{
    assert_error, assert_last_error, cortex, run_in, stderr, stdout, tiny_crate, workspace,
};

fn todo() -> PathBuf {
    workspace().join("examples/todo")
}

#[test]
fn routes_of_todo_as_a_table_and_as_json() {
    let output = run_on(&todo(), &["routes"], false);
    assert!(output.status.success(), "{}", stderr(&output));
    insta::assert_snapshot!("todo_routes_table", stdout(&output));

    let output = run_on(&todo(), &["routes", "--format", "json"], false);
    assert!(output.status.success(), "{}", stderr(&output));
    let routes: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let routes = routes.as_array().unwrap();
    // The controllers' six, then health (2) and OpenAPI (2).
    assert_eq!(routes.len(), 10, "{routes:?}");
    let origins: Vec<&str> = routes
        .iter()
        .map(|r| r["origin"].as_str().unwrap())
        .collect();
    assert_eq!(
        origins,
        [
            "app", "app", "app", "app", "app", "app", "health", "health", "openapi", "openapi"
        ]
    );
    let delete = routes
        .iter()
        .find(|r| r["method"] == "DELETE")
        .expect("DELETE /todos/{id}");
    assert_eq!(delete["path"], "/todos/{id}");
    assert_eq!(delete["handler"], "TodoController::remove");
    assert_eq!(delete["controller"], "TodoController");
    let guards = delete["guards"].as_array().unwrap();
    assert!(
        guards.len() == 1 && guards[0].as_str().unwrap().contains("ApiKeyGuard"),
        "{guards:?}"
    );
}

#[test]
fn routes_audit_of_todo_flags_the_routes_without_a_policy() {
    let output = run_on(&todo(), &["routes", "--audit"], false);
    assert!(output.status.success(), "{}", stderr(&output));
    insta::assert_snapshot!("todo_routes_audit", stdout(&output));

    let output = run_on(&todo(), &["routes", "--audit", "--format", "json"], false);
    assert!(output.status.success(), "{}", stderr(&output));
    let routes: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let flagged: Vec<&str> = routes
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["flagged"] == true)
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, ["GET", "POST", "GET", "PATCH", "PUT"]);
    assert!(
        stderr(&output).contains(
            "warning: 5 routes have no access policy: GET /todos (TodoController::list), "
        ),
        "{}",
        stderr(&output)
    );

    // In CI: the same report, then an error and status 1.
    let output = run_on(&todo(), &["routes", "--audit", "--deny-unguarded"], false);
    assert_eq!(stdout(&output), {
        let audit = run_on(&todo(), &["routes", "--audit"], false);
        stdout(&audit)
    });
    assert_last_error(
        &output,
        1,
        "error: 5 routes have no access policy: GET /todos (TodoController::list)",
        "add #[guard(Authenticated)]",
    );
}

#[test]
fn graph_of_todo_in_each_format() {
    let output = run_on(&todo(), &["graph"], false);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains(
            "todo::todos::TodoController (singleton)\n    store: todo::todos::TodoStore\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("todo::todos::RequestTime (request)\n"),
        "{text}"
    );

    let output = run_on(&todo(), &["graph", "--format", "json"], false);
    assert!(output.status.success(), "{}", stderr(&output));
    let graph: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let providers = graph["providers"].as_array().unwrap();
    assert!(
        providers
            .iter()
            .any(|p| p["type"] == "todo::todos::TodoStore" && p["scope"] == "singleton"),
        "{graph}"
    );

    let output = run_on(&todo(), &["graph", "--format", "mermaid"], false);
    assert!(output.status.success(), "{}", stderr(&output));
    let mermaid = stdout(&output);
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(mermaid.contains("-->|store|"), "{mermaid}");

    let output = run_on(&todo(), &["graph", "--format", "dot"], false);
    assert!(output.status.success(), "{}", stderr(&output));
    let dot = stdout(&output);
    assert!(dot.starts_with("digraph cortex {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");
}

#[test]
fn plugins_of_todo_as_a_table_and_as_json() {
    // The todo example adds no plugin: the table is its header, with a note saying so.
    let output = run_on(&todo(), &["plugins"], false);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "ORDER  NAME  VERSION  STATE  CONFIG  DEPENDS ON  ORIGIN\n"
    );
    assert!(
        stderr(&output).contains("`todo` has no plugins"),
        "{}",
        stderr(&output)
    );

    let output = run_on(&todo(), &["plugins", "--format", "json"], false);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "[]\n");
}

#[test]
fn bad_input_is_an_error_with_a_hint() {
    let empty = tempfile::tempdir().unwrap();
    for command in ["routes", "graph", "plugins"] {
        let output = run_in(empty.path(), &[command]);
        assert_error(
            &output,
            1,
            "no Cortex app in",
            Some("pass --path DIR, or create one with `cortex new NAME`"),
        );
    }
    let output = run_in(empty.path(), &["routes", "--format", "yaml"]);
    assert_error(
        &output,
        2,
        "invalid value 'yaml' for '--format <FORMAT>'",
        None,
    );
    let output = run_in(empty.path(), &["routes", "--audit", "--strict"]);
    assert_error(&output, 2, "unexpected argument '--strict' found", None);
    let output = run_in(empty.path(), &["routes", "--audit=yes"]);
    assert_error(&output, 2, "unexpected value 'yes' for '--audit'", None);
    let output = run_in(empty.path(), &["graph", "--format", "svg"]);
    assert_error(
        &output,
        2,
        "invalid value 'svg' for '--format <FORMAT>'",
        None,
    );
}

/// One crate whose binary misbehaves as `FIXTURE` says: built once, run in each way.
const NOT_CORTEX: &str = r##"fn main() {
    match std::env::var("FIXTURE").as_deref() {
        Ok("fail") => {
            eprintln!("error: config key `todo.api_key` is missing");
            std::process::exit(3);
        }
        Ok("serve") => {
            eprintln!("INFO listening on http://127.0.0.1:1");
            std::thread::sleep(std::time::Duration::from_secs(120));
        }
        Ok("hang") => std::thread::sleep(std::time::Duration::from_secs(120)),
        // What an app with two plugins, one disabled, prints for CORTEX_INSPECT=plugins.
        Ok("plugins") if std::env::var("CORTEX_INSPECT").as_deref() == Ok("plugins") => println!(
            r#"[{{"name":"metrics","version":"1.0.0","order":0,"state":"enabled","config_section":null,"dependencies":[],"origin":"discovered"}},{{"name":"data","version":"0.3.2","order":1,"state":"enabled","config_section":"database","dependencies":[{{"name":"metrics","requirement":">=1"}}],"origin":"app"}},{{"name":"mail","version":null,"order":null,"state":"disabled","config_section":null,"dependencies":[],"origin":"app"}}]"#
        ),
        _ => println!("hello, not a Cortex app"),
    }
}
"##;

#[test]
fn an_app_that_does_not_answer_inspection_is_an_error() {
    let app = tiny_crate("cortex-cli-fixture-plain", &[("src/main.rs", NOT_CORTEX)]);
    let run = |args: &[&str], fixture: &str, timeout: &str| {
        cortex()
            .args(args)
            .arg("--path")
            .arg(app.path())
            .env("CARGO_TARGET_DIR", app.path().join("target"))
            .env("FIXTURE", fixture)
            .env("CORTEX_INSPECT_TIMEOUT", timeout)
            .output()
            .unwrap()
    };

    // Prints something else and exits: not a Cortex app.
    for args in [
        &["routes"][..],
        &["graph"],
        &["graph", "--format", "dot"],
        &["plugins"],
    ] {
        let output = run(args, "plain", "30");
        assert_error(
            &output,
            1,
            "`cortex-cli-fixture-plain` did not answer CORTEX_INSPECT: it is not a Cortex app, or its Cortex is too old for inspection",
            Some("update its `cortex` dependency"),
        );
        assert_eq!(stdout(&output), "");
    }

    // Answers CORTEX_INSPECT=plugins: the table, in the order the app applies them.
    let output = run(&["plugins"], "plugins", "30");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "ORDER  NAME     VERSION  STATE     CONFIG      DEPENDS ON   ORIGIN\n\
         1      metrics  1.0.0    enabled   -           -            discovered\n\
         2      data     0.3.2    enabled   [database]  metrics >=1  app\n\
         -      mail     -        disabled  -           -            app\n"
    );

    // Fails: its stderr is shown, then the error.
    let output = run(&["routes"], "fail", "30");
    let err = assert_last_error(
        &output,
        1,
        "`cortex-cli-fixture-plain` exited with status 3 instead of printing its routes; its output is above",
        "`cortex doctor` checks the configuration",
    );
    assert!(
        err.contains("error: config key `todo.api_key` is missing"),
        "{err}"
    );

    // Starts serving (a Cortex too old for inspection): stopped at once, not after the timeout.
    let started = std::time::Instant::now();
    let output = run(&["graph"], "serve", "60");
    assert_error(
        &output,
        1,
        "`cortex-cli-fixture-plain` started serving instead of printing its dependency graph: its Cortex is too old for inspection",
        Some("update the app's `cortex` dependency"),
    );
    assert!(started.elapsed().as_secs() < 30, "waited for the timeout");

    // Prints nothing and does not exit: bounded by the timeout.
    let output = run(&["routes"], "hang", "1");
    assert_error(
        &output,
        1,
        "`cortex-cli-fixture-plain` did not print its routes within 1s",
        Some("CORTEX_INSPECT_TIMEOUT=SECONDS"),
    );
    let output = run(&["routes"], "hang", "soon");
    assert_error(
        &output,
        1,
        "CORTEX_INSPECT_TIMEOUT=\"soon\" is not a number of seconds",
        Some("set it to a positive number"),
    );
}
