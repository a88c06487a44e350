//! `cortex generate`: the files each generator writes (snapshots), module wiring, `--dry-run`,
//! `--force`, and every bad input with its message and hint. That generated code compiles and its
//! tests pass is checked in `templates.rs`.

use std::path::Path;

use crate::support::{assert_error, run_in, stderr, stdout, workspace};

/// A new `minimal` app in a temporary folder (not built).
fn app() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(
        dir.path(),
        &["new", "blog", "--template", "minimal", "--no-git", "-q"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let app = dir.path().join("blog");
    (dir, app)
}

fn read(app: &Path, file: &str) -> String {
    std::fs::read_to_string(app.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Runs a generator with `--dry-run` and snapshots what it would write.
fn dry_run_snapshot(app: &Path, snapshot: &str, args: &[&str]) {
    let before = listing(app);
    let mut all = vec!["g"];
    all.extend_from_slice(args);
    all.push("--dry-run");
    let output = run_in(app, &all);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("(a dry run: nothing was written)"),
        "{}",
        stderr(&output)
    );
    assert_eq!(listing(app), before, "a dry run writes nothing");
    insta::assert_snapshot!(snapshot, stdout(&output));
}

/// Every file under `dir` with its length, to see that nothing changed.
fn listing(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((
                    path.strip_prefix(dir).unwrap().display().to_string(),
                    entry.metadata().unwrap().len(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_generator_output_matches_its_snapshot() {
    let (_dir, app) = app();
    dry_run_snapshot(&app, "controller", &["controller", "posts"]);
    dry_run_snapshot(
        &app,
        "controller_with_fields",
        &[
            "controller",
            "BlogPost",
            "title:string",
            "body:text",
            "views:int",
            "reach:bigint?",
            "rating:float?",
            "published:bool",
            "meta:json?",
        ],
    );
    dry_run_snapshot(&app, "service", &["service", "mailer"]);
    dry_run_snapshot(&app, "middleware", &["middleware", "timing"]);
    dry_run_snapshot(&app, "plugin", &["plugin", "metrics"]);
}

#[test]
fn a_plugin_crate_matches_its_snapshot_and_depends_on_the_apps_cortex() {
    let (_dir, app) = app();
    let before = listing(&app);
    let output = run_in(&app, &["g", "plugin", "audit_log", "--crate", "--dry-run"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(listing(&app), before, "a dry run writes nothing");
    let root = workspace().display().to_string();
    insta::assert_snapshot!("plugin_crate", stdout(&output).replace(&root, "<CORTEX>"));

    let output = run_in(&app, &["g", "plugin", "audit-log", "--crate"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.starts_with(
            "     Created crates/audit-log/Cargo.toml\n     Created crates/audit-log/src/lib.rs\n     Created crates/audit-log/tests/plugin.rs\n     Updated Cargo.toml\n     Updated src/lib.rs\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("the app depends on it (Cargo.toml) and links it (`use audit_log as _;` in src/lib.rs), so `App::discover()` applies it"),
        "{err}"
    );
    // Wired into the app: a path dependency, a member of the app's workspace (so no workspace
    // of its own), and linked from the library that `#[cortex::main]` names.
    let app_manifest: toml::Table = read(&app, "Cargo.toml").parse().unwrap();
    assert_eq!(
        app_manifest["dependencies"]["audit-log"]["path"].as_str(),
        Some("crates/audit-log")
    );
    assert_eq!(
        app_manifest["workspace"]["members"].as_array().unwrap(),
        &[toml::Value::from("crates/audit-log")]
    );
    assert!(!read(&app, "crates/audit-log/Cargo.toml").contains("[workspace]"));
    assert!(read(&app, "src/lib.rs").ends_with("\nuse audit_log as _;\n"));

    // Malformed requests: one error line, a hint, exit status 2, nothing written.
    let before = listing(&app);
    let output = run_in(&app, &["g", "plugin", "audit-log", "--crate"]);
    assert_error(
        &output,
        2,
        "`crates/audit-log` already exists",
        Some("choose another name, or pass --force"),
    );
    for (name, why) in [
        ("blog", "it is the app's own package name"),
        (
            "serde",
            "the app has a dependency named `serde` in [dependencies]",
        ),
        (
            "cortex",
            "a crate of that name is part of Rust or of Cortex",
        ),
    ] {
        let output = run_in(&app, &["g", "plugin", name, "--crate"]);
        assert_error(
            &output,
            2,
            &format!("`{name}` cannot be the plugin crate's name: {why}"),
            Some(&format!("choose another name, e.g. `{name}-plugin`")),
        );
    }
    let output = run_in(&app, &["g", "plugin", "9lives", "--crate"]);
    assert_error(&output, 2, "`9lives` is not a valid name", None);
    assert_eq!(listing(&app), before, "a refused request writes nothing");
    // Regenerated with --force, the app is not wired twice.
    let output = run_in(&app, &["g", "plugin", "audit-log", "--crate", "--force"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        read(&app, "Cargo.toml").matches("crates/audit-log").count(),
        2
    );
    assert_eq!(
        read(&app, "src/lib.rs")
            .matches("use audit_log as _;")
            .count(),
        1
    );
    // The app depends on the checkout by absolute path: the crate uses the same one.
    let cortex_line = read(&app, "Cargo.toml")
        .lines()
        .find(|l| l.starts_with("cortex ="))
        .unwrap()
        .to_string();
    let crate_manifest = read(&app, "crates/audit-log/Cargo.toml");
    assert!(crate_manifest.contains(&cortex_line), "{crate_manifest}");

    // A relative path is rewritten from the crate's folder, two levels down.
    let manifest =
        read(&app, "Cargo.toml").replace(&cortex_line, "cortex = { path = \"../cortex\" }");
    std::fs::write(app.join("Cargo.toml"), manifest).unwrap();
    let output = run_in(&app, &["g", "plugin", "metrics", "--crate"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        read(&app, "crates/metrics/Cargo.toml")
            .contains("cortex = { path = \"../../../cortex\" }\n"),
        "{}",
        read(&app, "crates/metrics/Cargo.toml")
    );

    let output = run_in(&app, &["g", "service", "mailer", "--crate"]);
    assert_error(
        &output,
        2,
        "--crate generates a plugin crate; a `service` is generated into the app",
        Some("leave out --crate, or generate a plugin: `cortex g plugin NAME --crate`"),
    );
}

#[test]
fn generators_write_files_and_declare_modules() {
    let (_dir, app) = app();
    let output = run_in(&app, &["g", "controller", "blog-posts", "title:string"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert_eq!(
        err,
        "     Created src/controllers/blog_posts.rs\n     Updated src/controllers/mod.rs\n     Created src/services/blog_post_store.rs\n     Updated src/services/mod.rs\n     Created tests/blog_posts.rs\n"
    );
    assert_eq!(
        read(&app, "src/controllers/mod.rs"),
        "//! HTTP controllers: `#[controller]` structs and their `#[routes]`.\n\npub mod blog_posts;\npub mod hello;\n"
    );
    assert!(read(&app, "src/controllers/blog_posts.rs").contains("#[controller(\"/blog-posts\")]"));
    assert!(read(&app, "src/services/blog_post_store.rs").contains("pub struct BlogPostStore"));

    // A folder the app does not have yet: its mod.rs is created and declared in lib.rs.
    let output = run_in(&app, &["generate", "middleware", "Timing"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("     Created src/middleware/timing.rs\n     Created src/middleware/mod.rs\n     Updated src/lib.rs\n"), "{err}");
    assert!(err.contains("apply it with #[middleware(cortex::axum::middleware::from_fn(crate::middleware::timing::timing))]"), "{err}");
    assert!(
        read(&app, "src/lib.rs")
            .ends_with("pub mod controllers;\npub mod middleware;\npub mod services;\n")
    );
    assert_eq!(
        read(&app, "src/middleware/mod.rs"),
        "//! Middleware: functions and tower layers that controllers and routes apply with `#[middleware(..)]`.\n\npub mod timing;\n"
    );

    let output = run_in(&app, &["g", "plugin", "metrics"]);
    assert!(stderr(&output).contains("install it in src/main.rs: App::from_config()?.discover().plugin(blog::plugins::metrics::Metrics)"), "{}", stderr(&output));
    assert!(read(&app, "src/lib.rs").contains("pub mod plugins;\n"));

    // From a subfolder: the app is found upwards.
    let output = run_in(&app.join("src"), &["g", "service", "mailer"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(read(&app, "src/services/mod.rs").contains("pub mod mailer;\n"));
}

#[test]
fn existing_files_are_kept_unless_forced() {
    let (_dir, app) = app();
    assert!(run_in(&app, &["g", "service", "mailer"]).status.success());
    std::fs::write(app.join("src/services/mailer.rs"), "// mine\n").unwrap();
    let output = run_in(&app, &["g", "service", "mailer"]);
    assert_error(
        &output,
        1,
        "`src/services/mailer.rs` already exists",
        Some("pass --force to overwrite it, or choose another name"),
    );
    assert_eq!(read(&app, "src/services/mailer.rs"), "// mine\n");

    let output = run_in(&app, &["g", "service", "mailer", "--force"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert_eq!(
        err, "   Overwrote src/services/mailer.rs\n",
        "mod.rs already declares it"
    );
    assert!(read(&app, "src/services/mailer.rs").contains("pub struct Mailer;"));
    assert_eq!(
        read(&app, "src/services/mod.rs")
            .matches("pub mod mailer;")
            .count(),
        1
    );
}

#[test]
fn bad_kinds_names_and_fields_are_refused() {
    let (_dir, app) = app();
    let before = listing(&app);
    let cases: &[(&[&str], i32, &str, &str)] = &[
        (
            &["g", "controller", "posts", "title:varchar"],
            2,
            "the field `title:varchar` has an unknown type `varchar`",
            "the types are string, text, int, bigint, float, bool, json; add `?` for an optional field",
        ),
        (
            &["g", "controller", "posts", "title"],
            2,
            "the field `title` has no type: fields are `name:type`",
            "e.g. `title:string`; the types are string, text, int, bigint, float, bool, json",
        ),
        (
            &["g", "controller", "posts", "title:string", "title:text"],
            2,
            "the field `title` is given twice",
            "give each field once",
        ),
        (
            &["g", "controller", "posts", "id:int"],
            2,
            "the field `id:int` has a reserved name: `id` is assigned by the generated store",
            "choose another name, e.g. `id_value`",
        ),
        (
            &["g", "controller", "posts", "type:string"],
            2,
            "the field `type:string` has a reserved name: `type` is a Rust keyword",
            "choose another name, e.g. `type_value`",
        ),
        (
            &["g", "controller", "posts", "ref:uuid"],
            2,
            "the field `ref:uuid` has a reserved name",
            "choose another name",
        ),
        (
            &["g", "controller", "posts", "key:uuid"],
            2,
            "the field `key:uuid` has an unknown type `uuid`",
            "`uuid` comes with the data layer: generate a model or resource",
        ),
        (
            &["g", "controller", "9lives"],
            2,
            "`9lives` is not a valid name: it must start with a letter",
            "give a name such as `posts` or `BlogPost`",
        ),
        (
            &["g", "service", "fn"],
            2,
            "`fn` is not a valid name: `fn` is a Rust keyword or a reserved module name",
            "choose another name, e.g. `fn_item`",
        ),
        (
            &["g", "service", ""],
            2,
            "the name is empty",
            "give a name such as `posts` or `BlogPost`",
        ),
        (
            &["g", "service", "mailer", "to:string"],
            2,
            "only controllers, models and resources take fields; `to:string` was given with a `service`",
            "leave the fields out, or generate a controller",
        ),
    ];
    for (args, code, message, hint) in cases {
        let output = run_in(&app, args);
        assert_error(&output, *code, message, Some(hint));
    }
    assert_eq!(listing(&app), before, "nothing was written");

    let output = run_in(&app, &["g", "widget", "x"]);
    let err = assert_error(&output, 2, "invalid value 'widget' for '<KIND>'", None);
    assert!(
        err.contains(
            "possible values: controller, service, middleware, plugin, migration, model, resource, auth"
        ),
        "{err}"
    );
}

/// Kinds that need a capability Cortex does not have yet are not offered: each returns with its
/// capability.
#[test]
fn kinds_not_built_yet_are_not_offered() {
    let (_dir, app) = app();
    let before = listing(&app);
    for kind in ["actor", "queue-consumer"] {
        let output = run_in(&app, &["g", kind, "posts", "title:string"]);
        let err = assert_error(
            &output,
            2,
            &format!("invalid value '{kind}' for '<KIND>'"),
            None,
        );
        assert!(
            err.contains(
                "possible values: controller, service, middleware, plugin, migration, model, resource, auth, event-handler"
            ),
            "{err}"
        );
    }
    assert_eq!(listing(&app), before, "nothing was written");
    let help = stdout(&run_in(&app, &["g", "--help"]));
    assert!(
        help.contains("controller") && help.contains("plugin") && help.contains("event-handler"),
        "{help}"
    );
    for kind in ["actor", "queue-consumer"] {
        assert!(!help.contains(kind), "`{kind}` in the help:\n{help}");
    }
}

#[test]
fn an_event_handler_matches_its_snapshot_and_reuses_its_event() {
    let (_dir, app) = app();
    let before = listing(&app);
    let output = run_in(
        &app,
        &[
            "g",
            "event-handler",
            "send_welcome",
            "--event",
            "UserCreated",
            "--topic",
            "user.created",
            "--dry-run",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(listing(&app), before, "a dry run writes nothing");
    let root = workspace().display().to_string();
    insta::assert_snapshot!("event_handler", stdout(&output).replace(&root, "<CORTEX>"));
    let output = run_in(
        &app,
        &[
            "g",
            "event-handler",
            "SendWelcome",
            "--topic",
            "user.created",
        ],
    );
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.starts_with(
            "     Created src/events/user_created.rs\n     Created src/events/mod.rs\n     Created src/handlers/send_welcome.rs\n     Created src/handlers/mod.rs\n     Updated src/lib.rs\n     Updated Cargo.toml\n"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "publish the event with an `Inject<EventBus>`: `bus.publish(UserCreated { .. }).await?`"
        ),
        "{err}"
    );
    assert!(read(&app, "src/lib.rs").contains("pub mod events;\npub mod handlers;\n"));
    assert!(
        read(&app, "src/events/user_created.rs")
            .contains("#[event(topic = \"user.created\")]\npub struct UserCreated {")
    );
    let manifest: toml::Table = read(&app, "Cargo.toml").parse().unwrap();
    let features = manifest["dependencies"]["cortex"]["features"]
        .as_array()
        .unwrap();
    assert_eq!(features, &[toml::Value::from("events")]);

    // A second handler of the same event reuses it; its test does not build one (its fields are
    // the app's).
    let output = run_in(
        &app,
        &[
            "g",
            "event-handler",
            "audit_signup",
            "--event",
            "user_created",
        ],
    );
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.starts_with(
            "     Created src/handlers/audit_signup.rs\n     Updated src/handlers/mod.rs\n"
        ),
        "{err}"
    );
    assert!(
        !err.contains("Cargo.toml"),
        "the feature is there already: {err}"
    );
    let handler = read(&app, "src/handlers/audit_signup.rs");
    assert!(
        handler.contains("pub async fn audit_signup(event: Envelope<UserCreated>)"),
        "{handler}"
    );
    assert!(
        handler.contains("fn is_registered_for_the_events_topic()"),
        "{handler}"
    );
    assert!(!handler.contains("handles_an_event"), "{handler}");

    // Malformed requests: one line, a hint, exit status 2, nothing written.
    let before = listing(&app);
    for (args, message, hint) in [
        (
            &["g", "event-handler", "x", "--topic", "user.*"][..],
            "`--topic user.*` is not a topic: it contains `*`; segments are ASCII letters, digits, `_` and `-` (wildcards belong in a handler's pattern, not in an event's topic)",
            "cortex g event-handler send_welcome --event UserCreated --topic user.created",
        ),
        (
            &["g", "event-handler", "x", "--topic", "user..created"],
            "`--topic user..created` is not a topic: it has an empty segment",
            "--topic user.created",
        ),
        (
            &[
                "g",
                "event-handler",
                "x",
                "--event",
                "UserCreated",
                "--topic",
                "users.new",
            ],
            "`src/events/user_created.rs` exists: the event `UserCreated` has its topic already",
            "--event UserCreated",
        ),
        (
            &["g", "event-handler", "x", "title:string"],
            "an event handler takes no fields; `title:string` was given",
            "src/events/",
        ),
        (&["g", "event-handler", "x", "--event", "9lives"], "", ""),
        (
            &["g", "service", "mailer", "--topic", "user.created"],
            "--topic applies to an event handler; a `service` takes none",
            "cortex g event-handler",
        ),
        (
            &["g", "event-handler"],
            "an event-handler needs a name",
            "cortex g event-handler NAME",
        ),
    ] {
        let output = run_in(&app, args);
        if message.is_empty() {
            assert_eq!(
                output.status.code(),
                Some(2),
                "{args:?}: {}",
                stderr(&output)
            );
            continue;
        }
        assert_error(&output, 2, message, Some(hint));
    }
    // Like the other generators, an existing file is kept unless --force (exit status 1).
    let output = run_in(
        &app,
        &[
            "g",
            "event-handler",
            "send_welcome",
            "--event",
            "UserCreated",
        ],
    );
    assert_error(
        &output,
        1,
        "`src/handlers/send_welcome.rs` already exists",
        Some("pass --force"),
    );
    assert_eq!(listing(&app), before, "nothing was written");
}

#[test]
fn outside_an_app_generate_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["g", "service", "mailer"]);
    assert_error(
        &output,
        1,
        "no Cortex app in",
        Some(
            "run the command inside the app's folder, pass --path DIR, or create one with `cortex new NAME`",
        ),
    );
    let output = run_in(dir.path(), &["g", "service", "mailer", "--path", "nowhere"]);
    assert_error(
        &output,
        1,
        "`nowhere` is not a folder",
        Some("pass the app's folder with --path"),
    );
}

#[test]
fn an_app_without_a_library_is_refused_when_a_module_must_be_declared() {
    let (_dir, app) = app();
    std::fs::remove_file(app.join("src/lib.rs")).unwrap();
    let output = run_in(&app, &["g", "plugin", "metrics"]);
    assert_error(
        &output,
        1,
        "the app has no src/lib.rs to declare the new module in",
        Some("Cortex apps keep their code in a library (src/lib.rs) that src/main.rs links"),
    );
    assert!(!app.join("src/plugins").exists(), "nothing was written");
}

/// A new `api` app (on the data layer) in a temporary folder (not built).
fn data_app() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["new", "blog", "--no-git", "-q"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let app = dir.path().join("blog");
    (dir, app)
}

/// Every file a generator wrote into `app` (not in `before`), each under a `--- path ---` line,
/// with the migration version replaced by `<VERSION>`.
fn written(app: &Path, before: &[(String, u64)]) -> String {
    let mut out = String::new();
    for (file, _) in listing(app) {
        if before.iter().any(|(f, _)| *f == file) {
            continue;
        }
        let text = read(app, &file);
        // Each run of digits right before `_create_` is the migration's version.
        let version = |s: &str| {
            let mut out = String::new();
            let mut rest = s;
            while let Some(at) = rest.find("_create_") {
                let digits = rest[..at]
                    .trim_end_matches(|c: char| c.is_ascii_digit())
                    .len();
                out.push_str(&rest[..digits]);
                if digits < at {
                    out.push_str("<VERSION>");
                }
                out.push_str("_create_");
                rest = &rest[at + "_create_".len()..];
            }
            out.push_str(rest);
            out
        };
        out.push_str(&format!("--- {} ---\n{}", version(&file), version(&text)));
    }
    out
}

#[test]
fn a_resource_matches_its_snapshot_and_is_wired_into_the_app() {
    let (_dir, app) = data_app();
    let before = listing(&app);
    let output = run_in(
        &app,
        &[
            "g",
            "resource",
            "BlogPosts",
            "title:string",
            "body:text?",
            "views:int",
            "published:bool",
            "ref_id:uuid?",
            "due_at:datetime",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("`cortex test` runs the new tests"),
        "{}",
        stderr(&output)
    );
    insta::assert_snapshot!("resource", written(&app, &before));
    assert!(read(&app, "src/models/mod.rs").contains("pub mod blog_post;"));
    assert!(read(&app, "src/controllers/mod.rs").contains("pub mod blog_posts;"));
    // The api template embeds its migrations already: no second `app_migrations!`.
    assert_eq!(
        read(&app, "src/lib.rs").matches("app_migrations!").count(),
        1
    );

    // A model alone: the model and its migration, after the resource's.
    let before = listing(&app);
    let output = run_in(&app, &["g", "model", "comment", "blog_post_id:bigint"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let files: Vec<String> = listing(&app)
        .into_iter()
        .map(|(f, _)| f)
        .filter(|f| !before.iter().any(|(b, _)| b == f))
        .collect();
    assert_eq!(files.len(), 5, "{files:?}");
    assert!(
        files.contains(&"src/models/comment.rs".to_string()),
        "{files:?}"
    );
    assert!(
        files
            .iter()
            .all(|f| f.starts_with("src/models/") || f.contains("_create_comments.")),
        "{files:?}"
    );
    // The same table twice is refused.
    let output = run_in(&app, &["g", "model", "comments", "body:text"]);
    assert_error(
        &output,
        1,
        "a migration named `create_comments` exists already",
        None,
    );
}

#[test]
fn a_model_in_an_app_without_migrations_embeds_them_in_the_library() {
    let (_dir, app) = data_app();
    std::fs::write(
        app.join("src/lib.rs"),
        "pub mod controllers;\npub mod models;\n",
    )
    .unwrap();
    let output = run_in(&app, &["g", "model", "tag", "name:string"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lib = read(&app, "src/lib.rs");
    assert!(
        lib.ends_with("cortex::data::app_migrations!(\"migrations\");\n"),
        "{lib}"
    );
    assert!(read(&app, "src/models/tag.rs").contains("#[model(table = \"tags\")]"));
}

#[test]
fn bad_models_and_resources_are_refused() {
    let (_dir, app) = data_app();
    let before = listing(&app);
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["g", "resource", "posts", "title:varchar"],
            "the field `title:varchar` has an unknown type `varchar`",
            "the types are string, text, int, bigint, float, bool, json, uuid, datetime",
        ),
        (
            &["g", "model", "post", "title:string", "title:text"],
            "the field `title` is given twice",
            "give each field once",
        ),
        (
            &["g", "model", "post", "created_at:datetime"],
            "the field `created_at:datetime` has a reserved name: `created_at` is a column every generated model has",
            "choose another name",
        ),
        (
            &["g", "resource", "posts", "order:int"],
            "the field `order:int` has a reserved name: `order` is an SQL keyword",
            "choose another name, e.g. `order_value`",
        ),
        (
            &["g", "resource", "posts", "sort:string"],
            "the field `sort:string` has a reserved name: `sort` is a query-string parameter",
            "choose another name",
        ),
        (
            &["g", "model", "post", "9:string"],
            "the field `9:string` has an invalid name `9`",
            "field names start with a letter",
        ),
        (
            &["g", "model", "impl", "title:string"],
            "`impl` is not a valid name",
            "choose another name",
        ),
        (
            &["g", "model", "post"],
            "a model needs at least one field",
            "give its fields as `name:type`",
        ),
        (
            &["g", "resource", "posts", "title:string", "--crate"],
            "--crate generates a plugin crate; a `resource` is generated into the app",
            "leave out --crate",
        ),
    ];
    for (args, message, hint) in cases {
        let output = run_in(&app, args);
        assert_error(&output, 2, message, Some(hint));
    }
    assert_eq!(listing(&app), before, "nothing was written");

    // An app without the data layer is told how to add it.
    let (_dir, minimal) = self::app();
    let before = listing(&minimal);
    let output = run_in(&minimal, &["g", "resource", "posts", "title:string"]);
    assert_error(
        &output,
        2,
        "the app does not use Cortex's data layer",
        Some("add `features = [\"data\"]` to `cortex` in [dependencies]"),
    );
    assert_eq!(listing(&minimal), before, "nothing was written");
}

#[test]
fn auth_matches_its_snapshot_and_is_wired_into_the_app() {
    let (_dir, app) = data_app();
    let before = listing(&app);
    let output = run_in(&app, &["g", "auth"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("`cortex test` runs tests/auth.rs"), "{err}");
    assert!(err.contains("prod needs one: `[auth.jwt] secret`"), "{err}");
    insta::assert_snapshot!("auth", written(&app, &before));
    assert!(read(&app, "src/models/mod.rs").contains("pub mod user;"));
    assert!(read(&app, "src/controllers/mod.rs").contains("pub mod auth;"));
    // The facade's `auth` feature is added after the template's features, the other lines as
    // they were.
    let manifest = read(&app, "Cargo.toml");
    assert!(
        manifest.contains("features = [\"data\", \"observability\", \"events\", \"auth\"] }\n"),
        "{manifest}"
    );
    let config = read(&app, "cortex.toml");
    assert!(
        config.contains("\n[auth.jwt]\nenabled = true\n"),
        "{config}"
    );
    assert!(config.contains("CORTEX_AUTH__JWT__SECRET"), "{config}");
    assert_eq!(
        read(&app, "src/lib.rs").matches("app_migrations!").count(),
        1
    );

    // Again: refused, nothing written.
    let before = listing(&app);
    let output = run_in(&app, &["g", "auth"]);
    assert_error(
        &output,
        2,
        "the app has accounts already: `src/controllers/auth.rs` exists",
        Some("pass --force to write the generated files again"),
    );
    assert_eq!(listing(&app), before, "nothing was written");

    // With --force: the code is written again, the migration (maybe applied) kept, Cargo.toml and
    // cortex.toml not edited twice.
    std::fs::write(app.join("src/controllers/auth.rs"), "// mine\n").unwrap();
    let output = run_in(&app, &["g", "auth", "--force"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("Overwrote src/controllers/auth.rs"), "{err}");
    assert!(!err.contains("migrations/"), "{err}");
    assert!(
        !err.contains("Cargo.toml") && !err.contains("cortex.toml"),
        "{err}"
    );
    assert!(read(&app, "src/controllers/auth.rs").contains("pub struct AuthController"));
    assert_eq!(listing(&app).len(), before.len());
    assert_eq!(read(&app, "Cargo.toml"), manifest);
    assert_eq!(read(&app, "cortex.toml"), config);

    // Only the migration left (the code removed): still refused without --force.
    for file in [
        "src/controllers/auth.rs",
        "src/models/user.rs",
        "tests/auth.rs",
    ] {
        std::fs::remove_file(app.join(file)).unwrap();
    }
    let output = run_in(&app, &["g", "auth"]);
    assert_error(
        &output,
        2,
        "the app has accounts already: the migration `migrations/",
        Some("pass --force"),
    );
}

#[test]
fn bad_auth_generations_are_refused() {
    let (_dir, app) = data_app();
    let before = listing(&app);
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["g", "auth", "users"],
            "`auth` takes no name or fields; `users` was given",
            "run `cortex g auth`",
        ),
        (
            &["g", "auth", "users", "email:string"],
            "`auth` takes no name or fields; `users email:string` was given",
            "run `cortex g auth`",
        ),
        (
            &["g", "auth", "--crate"],
            "--crate generates a plugin crate; `auth` is generated into the app",
            "leave out --crate",
        ),
        (
            &["g", "service"],
            "a service needs a name",
            "give it after the kind: `cortex g service NAME`",
        ),
    ];
    for (args, message, hint) in cases {
        let output = run_in(&app, args);
        assert_error(&output, 2, message, Some(hint));
    }
    assert_eq!(listing(&app), before, "nothing was written");

    // A `cortex` dependency the generator cannot edit: told how to add the feature by hand.
    let manifest = read(&app, "Cargo.toml");
    let line = manifest
        .lines()
        .find(|l| l.starts_with("cortex = "))
        .unwrap()
        .to_string();
    let path = line.split('"').nth(1).unwrap().to_string();
    let table =
        format!("[dependencies.cortex]\npath = \"{path}\"\nfeatures = [\n    \"data\",\n]\n");
    let edited = manifest.replace(&format!("{line}\n"), "") + "\n" + &table;
    std::fs::write(app.join("Cargo.toml"), &edited).unwrap();
    let before = listing(&app);
    let output = run_in(&app, &["g", "auth"]);
    assert_error(
        &output,
        2,
        "cannot add the `auth` feature to `cortex` in Cargo.toml",
        Some("add \"auth\" to the features of `cortex` in [dependencies] by hand"),
    );
    assert_eq!(listing(&app), before, "nothing was written");

    // An app without the data layer is told how to add it.
    let (_dir, minimal) = self::app();
    let before = listing(&minimal);
    let output = run_in(&minimal, &["g", "auth"]);
    assert_error(
        &output,
        2,
        "the app does not use Cortex's data layer",
        Some("add `features = [\"data\"]` to `cortex` in [dependencies]"),
    );
    assert_eq!(listing(&minimal), before, "nothing was written");
}
