//! Tests for the config area: real files in a temporary directory, variables passed to the
//! builder (the process environment is never read or changed).

use std::ffi::OsString;

use cortex_core::config::{Config, ConfigError, MASK, Origin, Profile, ServerConfig};
use cortex_di::{ConfigSource, ContainerBuilder, Inject, injectable};
use serde::Deserialize;
use serde_json::json;
use tempfile::TempDir;

/// A directory holding `files` (name, contents).
fn dir_with(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, contents) in files {
        std::fs::write(dir.path().join(name), contents).unwrap();
    }
    dir
}

/// Loads the configuration of `dir` with exactly these variables.
fn load(dir: &TempDir, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::builder()
        .dir(dir.path())
        .env_vars(env.iter().copied())
        .load()
}

const SECRET: &str = "hunter2-Sup3rS3cret";

#[test]
fn layers_apply_in_order_defaults_base_profile_dotenv_env() {
    let dir = dir_with(&[
        (
            "cortex.toml",
            "[layer]\nbase = 'cortex.toml'\nprofile = 'cortex.toml'\ndotenv = 'cortex.toml'\nenv = 'cortex.toml'",
        ),
        (
            "cortex.dev.toml",
            "[layer]\nprofile = 'cortex.dev.toml'\ndotenv = 'cortex.dev.toml'\nenv = 'cortex.dev.toml'",
        ),
        (
            ".env",
            "CORTEX_LAYER__DOTENV=.env\nCORTEX_LAYER__ENV=.env\n",
        ),
    ]);
    let config = Config::builder()
        .dir(dir.path())
        .defaults("[layer]\ndefaults = 'defaults'\nbase = 'defaults'")
        .env_vars([("CORTEX_LAYER__ENV", "env")])
        .load()
        .unwrap();
    let layer: serde_json::Value = config.get("layer").unwrap();
    assert_eq!(
        layer,
        json!({
            "defaults": "defaults",
            "base": "cortex.toml",
            "profile": "cortex.dev.toml",
            "dotenv": ".env",
            "env": "env",
        })
    );
    assert_eq!(config.origin("layer.defaults"), Some(&Origin::Defaults));
    assert_eq!(
        config.origin("layer.base"),
        Some(&Origin::File(dir.path().join("cortex.toml")))
    );
    assert_eq!(
        config.origin("layer.profile"),
        Some(&Origin::File(dir.path().join("cortex.dev.toml")))
    );
    assert_eq!(
        config.origin("layer.dotenv"),
        Some(&Origin::DotEnv {
            path: dir.path().join(".env"),
            var: "CORTEX_LAYER__DOTENV".into()
        })
    );
    assert_eq!(
        config.origin("layer.env"),
        Some(&Origin::Env {
            var: "CORTEX_LAYER__ENV".into()
        })
    );
    assert_eq!(
        config.files(),
        [
            dir.path().join("cortex.toml"),
            dir.path().join("cortex.dev.toml"),
            dir.path().join(".env")
        ]
    );
}

#[test]
fn tables_merge_key_by_key_and_arrays_are_replaced() {
    let dir = dir_with(&[
        ("cortex.toml", "[cors]\norigins = ['a', 'b']\nmax_age = 60"),
        ("cortex.prod.toml", "[cors]\norigins = ['c']"),
    ]);
    let config = load(&dir, &[("CORTEX_PROFILE", "prod")]).unwrap();
    assert_eq!(
        config.get::<serde_json::Value>("cors").unwrap(),
        json!({ "origins": ["c"], "max_age": 60 })
    );
}

#[test]
fn host_and_port_aliases_set_the_server_section_and_win_over_the_long_form() {
    let dir = dir_with(&[("cortex.toml", "[server]\nhost = '127.0.0.1'\nport = 3001")]);
    let config = load(
        &dir,
        &[
            ("CORTEX_SERVER__PORT", "4000"),
            ("CORTEX_PORT", "5000"),
            ("CORTEX_HOST", "0.0.0.0"),
        ],
    )
    .unwrap();
    let server = config.server().unwrap();
    assert_eq!((server.host.as_str(), server.port), ("0.0.0.0", 5000));
    assert_eq!(server.addr().unwrap().to_string(), "0.0.0.0:5000");
    assert_eq!(
        config.origin("server.port"),
        Some(&Origin::Env {
            var: "CORTEX_PORT".into()
        })
    );

    let config = load(&dir, &[("CORTEX_SERVER__PORT", "4000")]).unwrap();
    assert_eq!(config.server().unwrap().port, 4000);
}

#[test]
fn server_config_has_defaults_and_takes_overrides() {
    let empty = dir_with(&[]);
    let server = load(&empty, &[]).unwrap().server().unwrap();
    assert_eq!(server, ServerConfig::default());
    assert_eq!(server.addr().unwrap().to_string(), "127.0.0.1:3000");

    let dir = dir_with(&[("cortex.toml", "[server]\nhost = '::1'")]);
    let server = load(&dir, &[("CORTEX_PORT", "0")])
        .unwrap()
        .server()
        .unwrap();
    assert_eq!(server.addr().unwrap().to_string(), "[::1]:0");

    let err = load(&empty, &[("CORTEX_PORT", "70000")])
        .unwrap()
        .server()
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("`server.port`"), "{message}");
    assert!(
        message.contains("environment variable CORTEX_PORT"),
        "{message}"
    );
    assert!(
        message.contains("expected u16, found an integer"),
        "{message}"
    );
    assert!(!message.contains("70000"), "{message}");
}

#[test]
fn the_profile_comes_from_cortex_profile_in_the_given_variables() {
    let dir = dir_with(&[
        ("cortex.toml", "name = 'base'"),
        ("cortex.test.toml", "name = 'test'"),
        ("cortex.prod.toml", "name = 'prod'"),
        ("cortex.staging.toml", "name = 'staging'"),
    ]);
    for (profile, expected) in [
        (None, "base"),
        (Some(""), "base"),
        (Some("test"), "test"),
        (Some("PROD"), "prod"),
        (Some("staging"), "staging"),
    ] {
        let env: Vec<(&str, &str)> = profile.map(|p| ("CORTEX_PROFILE", p)).into_iter().collect();
        let config = load(&dir, &env).unwrap();
        assert_eq!(
            config.get::<String>("name").unwrap(),
            expected,
            "{profile:?}"
        );
    }
    assert_eq!(load(&dir, &[]).unwrap().profile(), &Profile::DEV);
    assert_eq!(
        load(&dir, &[("CORTEX_PROFILE", "prod")]).unwrap().profile(),
        &Profile::PROD
    );
    // The builder's profile wins over the variable.
    let config = Config::builder()
        .dir(dir.path())
        .profile(Profile::TEST)
        .env_vars([("CORTEX_PROFILE", "prod")])
        .load()
        .unwrap();
    assert_eq!(config.get::<String>("name").unwrap(), "test");
}

#[test]
fn bad_profile_names_are_rejected() {
    let dir = dir_with(&[]);
    for bad in ["prod env", "../etc", "a/b", "dev.local", "-x"] {
        let err = load(&dir, &[("CORTEX_PROFILE", bad)]).unwrap_err();
        assert!(
            matches!(err, ConfigError::BadProfile { .. }),
            "{bad}: {err}"
        );
        assert!(err.to_string().contains("hint: "), "{err}");
    }
}

#[test]
fn a_custom_profile_needs_its_own_file() {
    let dir = dir_with(&[]);
    let err = load(&dir, &[("CORTEX_PROFILE", "prdo")]).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ConfigError::BadProfile { .. }));
    assert!(
        message.contains("cortex.prdo.toml does not exist"),
        "{message}"
    );
}

#[test]
fn dotenv_is_read_in_dev_only_unless_asked() {
    let dir = dir_with(&[(".env", "CORTEX_FROM_DOTENV=yes\n")]);
    assert_eq!(
        load(&dir, &[])
            .unwrap()
            .get::<String>("from_dotenv")
            .unwrap(),
        "yes"
    );
    assert!(
        !load(&dir, &[("CORTEX_PROFILE", "test")])
            .unwrap()
            .contains("from_dotenv")
    );
    assert!(
        !load(&dir, &[("CORTEX_PROFILE", "prod")])
            .unwrap()
            .contains("from_dotenv")
    );
    let forced = Config::builder()
        .dir(dir.path())
        .profile(Profile::PROD)
        .dotenv(true)
        .env_vars::<_, &str, &str>([])
        .load();
    assert!(forced.unwrap().contains("from_dotenv"));
    let refused = Config::builder()
        .dir(dir.path())
        .dotenv(false)
        .env_vars::<_, &str, &str>([])
        .load();
    assert!(!refused.unwrap().contains("from_dotenv"));
}

#[test]
fn dotenv_never_overrides_real_variables_nor_changes_the_process_environment() {
    let dir = dir_with(&[(
        ".env",
        "# comment\nexport CORTEX_APP__NAME=\"from dotenv\"\nCORTEX_APP__MODE=dotenv\nOTHER_TOOL_SETTING=1\nCORTEX_PROFILE=prod\n",
    )]);
    let config = load(&dir, &[("CORTEX_APP__MODE", "real")]).unwrap();
    assert_eq!(config.get::<String>("app.name").unwrap(), "from dotenv");
    assert_eq!(config.get::<String>("app.mode").unwrap(), "real");
    // Only CORTEX_* variables are configuration, and CORTEX_PROFILE in .env is not used.
    assert!(!config.contains("other_tool_setting"));
    assert_eq!(config.profile(), &Profile::DEV);
    assert!(std::env::var_os("CORTEX_APP__NAME").is_none());
}

#[test]
fn a_missing_cortex_toml_is_fine() {
    let config = load(&dir_with(&[]), &[("CORTEX_APP__NAME", "blog")]).unwrap();
    assert_eq!(config.get::<String>("app.name").unwrap(), "blog");
    assert!(config.files().is_empty());
}

#[test]
fn an_unreadable_cortex_toml_is_an_error_naming_it() {
    let dir = dir_with(&[]);
    std::fs::create_dir(dir.path().join("cortex.toml")).unwrap();
    let err = load(&dir, &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Io { path, .. } if path.ends_with("cortex.toml")),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("cannot read config file "),
        "{err}"
    );

    let dir = dir_with(&[]);
    std::fs::write(dir.path().join("cortex.toml"), b"name = \"\xff\xfe\"").unwrap();
    let err = load(&dir, &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }), "{err}");
}

#[test]
fn an_explicit_file_is_layered_after_the_profile_and_must_exist() {
    let dir = dir_with(&[("cortex.toml", "a = 1\nb = 1"), ("extra.toml", "b = 2")]);
    let config = Config::builder()
        .dir(dir.path())
        .file(dir.path().join("extra.toml"))
        .env_vars([("CORTEX_A", "3")])
        .load()
        .unwrap();
    assert_eq!(
        (
            config.get::<i64>("a").unwrap(),
            config.get::<i64>("b").unwrap()
        ),
        (3, 2)
    );
    let err = Config::builder()
        .dir(dir.path())
        .file(dir.path().join("nope.toml"))
        .load()
        .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Io { path, .. } if path.ends_with("nope.toml")),
        "{err}"
    );
}

#[test]
fn toml_syntax_errors_name_the_file_and_line_but_never_show_it() {
    let dir = dir_with(&[(
        "cortex.prod.toml",
        &format!("[database]\nurl = \"x\"\npassword = {SECRET}\n"),
    )]);
    let err = load(&dir, &[("CORTEX_PROFILE", "prod")]).unwrap_err();
    let ConfigError::Parse { file, line, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(file.ends_with("cortex.prod.toml"), "{file}");
    assert_eq!(*line, Some(3));
    let message = err.to_string();
    assert!(
        message.contains("cortex.prod.toml at line 3, column 12"),
        "{message}"
    );
    assert!(!message.contains(SECRET), "{message}");
    assert!(!format!("{err:?}").contains(SECRET));
    assert_eq!(message.lines().count(), 1, "{message}");
}

#[test]
fn dotenv_syntax_errors_name_the_line_but_never_show_it() {
    let dir = dir_with(&[(
        ".env",
        &format!("CORTEX_A=1\nCORTEX_DB__PASSWORD=\"{SECRET}\n"),
    )]);
    let err = load(&dir, &[]).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, ConfigError::Parse { line: Some(2), .. }),
        "{message}"
    );
    assert!(message.contains(".env at line 2"), "{message}");
    assert!(!message.contains(SECRET), "{message}");
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Database {
    url: String,
    password: String,
    pool_size: u32,
}

#[test]
fn typed_errors_name_the_file_key_expected_type_and_kind_found_but_not_the_value() {
    let dir = dir_with(&[
        (
            "cortex.toml",
            "[database]\nurl = 'sqlite::memory:'\npassword = 'x'\npool_size = 5",
        ),
        (
            "cortex.prod.toml",
            &format!("[database]\npool_size = '{SECRET}'"),
        ),
    ]);
    let config = load(&dir, &[("CORTEX_PROFILE", "prod")]).unwrap();
    let err = config.get::<Database>("database").unwrap_err();
    let ConfigError::Invalid {
        key,
        origin,
        expected,
        found,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(key, "database.pool_size");
    assert_eq!(
        origin.as_ref(),
        Some(&Origin::File(dir.path().join("cortex.prod.toml")))
    );
    assert_eq!(expected, "u32");
    assert_eq!(*found, "a string");
    let message = err.to_string();
    assert!(message.contains("cortex.prod.toml"), "{message}");
    assert!(
        message.contains("hint: fix `database.pool_size` in"),
        "{message}"
    );
    assert!(!message.contains(SECRET), "{message}");
    assert!(!format!("{err:?}").contains(SECRET));
}

#[test]
fn errors_inside_arrays_name_the_item_and_the_file_that_set_the_array() {
    let dir = dir_with(&[("cortex.toml", "[cluster]\nports = [80, 'x']")]);
    let err = load(&dir, &[])
        .unwrap()
        .get::<Vec<u16>>("cluster.ports")
        .unwrap_err();
    let ConfigError::Invalid {
        key, origin, found, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(key, "cluster.ports.1");
    assert_eq!(
        origin.as_ref(),
        Some(&Origin::File(dir.path().join("cortex.toml")))
    );
    assert_eq!(*found, "a string");
}

#[test]
fn malformed_variables_in_dotenv_name_the_file() {
    let dir = dir_with(&[(".env", "CORTEX__BROKEN=1\n")]);
    let err = load(&dir, &[]).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ConfigError::BadEnv { .. }), "{message}");
    assert!(
        message.starts_with("environment variable CORTEX__BROKEN in "),
        "{message}"
    );
    assert!(message.contains(".env has a key segment"), "{message}");
}

#[test]
fn a_missing_field_is_reported_with_its_full_key() {
    let dir = dir_with(&[(
        "cortex.toml",
        &format!("[database]\nurl = 'x'\npassword = '{SECRET}'"),
    )]);
    let err = load(&dir, &[])
        .unwrap()
        .get::<Database>("database")
        .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Missing { key, .. } if key == "database.pool_size"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("CORTEX_DATABASE__POOL_SIZE"), "{message}");

    let err = load(&dir, &[]).unwrap().get::<Database>("db").unwrap_err();
    assert_eq!(
        err.to_string(),
        "config key `db` (expected Database) is missing; hint: set `db` in cortex.toml (or cortex.<profile>.toml), or set the environment variable CORTEX_DB"
    );
}

#[test]
fn unknown_keys_are_reported_when_the_type_denies_them() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Mail {
        host: String,
    }
    let dir = dir_with(&[("cortex.toml", "[mail]\nhost = 'h'\nhots = 'x'")]);
    let err = load(&dir, &[]).unwrap().get::<Mail>("mail").unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, ConfigError::Unknown { key, .. } if key == "mail.hots"),
        "{message}"
    );
    assert!(message.contains("expected `host`"), "{message}");
    assert!(message.contains("cortex.toml"), "{message}");
}

#[test]
fn enum_values_are_checked_without_echoing_them() {
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Level {
        Debug,
        Info,
    }
    let config = load(&dir_with(&[]), &[("CORTEX_LOG__LEVEL", SECRET)]).unwrap();
    let err = config.get::<Level>("log.level").unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("expected `debug` or `info`, found a string"),
        "{message}"
    );
    assert!(
        message.contains("environment variable CORTEX_LOG__LEVEL"),
        "{message}"
    );
    assert!(!message.contains(SECRET), "{message}");
    assert!(matches!(
        config.get::<Level>("missing.level"),
        Err(ConfigError::Missing { .. })
    ));
    let _ = (Level::Debug, Level::Info);
}

#[test]
fn a_variable_of_the_wrong_type_is_named_in_the_error() {
    let config = load(&dir_with(&[]), &[("CORTEX_SERVER__PORT", "notanumber")]).unwrap();
    let err = config.server().unwrap_err();
    assert_eq!(
        err.to_string(),
        "config key `server.port` (set by environment variable CORTEX_SERVER__PORT) has an invalid value: \
         expected u16, found a string; hint: fix or unset the environment variable CORTEX_SERVER__PORT"
    );
}

#[test]
fn variables_are_typed_when_they_look_like_toml_and_strings_when_a_string_is_wanted() {
    #[derive(Debug, Deserialize, PartialEq)]
    struct App {
        name: String,
        workers: u8,
        debug: bool,
        ratio: f64,
        tags: Vec<String>,
        pin: String,
    }
    let env = [
        ("CORTEX_APP__NAME", "1234"),
        ("CORTEX_APP__WORKERS", "4"),
        ("CORTEX_APP__DEBUG", "true"),
        ("CORTEX_APP__RATIO", "0.5"),
        ("CORTEX_APP__TAGS", r#"["a", "b"]"#),
        ("CORTEX_APP__PIN", r#""0042""#),
    ];
    let config = load(&dir_with(&[]), &env).unwrap();
    let app: App = config.get("app").unwrap();
    assert_eq!(
        app,
        App {
            name: "1234".into(),
            workers: 4,
            debug: true,
            ratio: 0.5,
            tags: vec!["a".into(), "b".into()],
            pin: "0042".into()
        }
    );
    assert_eq!(config.get::<String>("app.debug").unwrap(), "true");
    assert_eq!(config.value("app.workers"), Some(json!(4)));
}

/// Asserts that loading with `env` fails with a `BadEnv` naming `var` and saying `problem`.
fn assert_bad_env(env: &[(&str, &str)], var: &str, problem: &str) {
    let err = load(&dir_with(&[]), env).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, ConfigError::BadEnv { var: v, .. } if v == var),
        "{message}"
    );
    assert!(message.contains(problem), "{message}");
    assert!(message.contains("hint: "), "{message}");
}

#[test]
fn malformed_variables_are_errors_naming_them() {
    assert_bad_env(
        &[("CORTEX_SERVER____PORT", "1")],
        "CORTEX_SERVER____PORT",
        "empty key segment",
    );
    assert_bad_env(
        &[("CORTEX__SERVER", "1")],
        "CORTEX__SERVER",
        "starting or ending with `_`",
    );
    assert_bad_env(&[("CORTEX_", "1")], "CORTEX_", "names no key");
    assert_bad_env(
        &[("CORTEX_DB", "x"), ("CORTEX_DB__URL", "y")],
        "CORTEX_DB",
        "sets `db` to a value while CORTEX_DB__URL sets a key inside it",
    );
    assert_bad_env(
        &[("CORTEX_server__port", "1"), ("CORTEX_SERVER__PORT", "2")],
        "CORTEX_SERVER__PORT",
        "both set `server.port`",
    );
}

#[cfg(unix)]
#[test]
fn a_variable_that_is_not_utf8_is_an_error_without_its_value() {
    use std::os::unix::ffi::OsStringExt;
    let value = OsString::from_vec(b"s3cr\xffet".to_vec());
    let err = Config::builder()
        .dir(dir_with(&[]).path())
        .env_vars([(OsString::from("CORTEX_DB__PASSWORD"), value)])
        .load()
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, ConfigError::BadEnv { var, .. } if var == "CORTEX_DB__PASSWORD"),
        "{message}"
    );
    assert!(message.contains("not valid UTF-8"), "{message}");
    assert!(!message.contains("s3cr"), "{message}");
    // Variables outside CORTEX_* are none of our business, whatever they hold.
    let other = OsString::from_vec(b"\xff".to_vec());
    assert!(
        Config::builder()
            .dir(dir_with(&[]).path())
            .env_vars([(OsString::from("LANG"), other)])
            .load()
            .is_ok()
    );
}

#[test]
fn secrets_are_masked_in_debug_and_in_the_toml_rendering() {
    let dir = dir_with(&[(
        "cortex.toml",
        &format!(
            "[database]\nurl = 'postgres://app:{SECRET}@db:5432/app'\npassword = '{SECRET}'\n\n[auth]\njwt_secret = '{SECRET}'\napi_keys = ['{SECRET}']\nissuer = 'blog'\n"
        ),
    )]);
    let config = load(
        &dir,
        &[("CORTEX_STRIPE__API_KEY", SECRET), ("CORTEX_PORT", "8080")],
    )
    .unwrap();

    let debug = format!("{config:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(
        debug.contains("postgres://app:********@db:5432/app"),
        "{debug}"
    );
    assert!(debug.contains("blog"), "{debug}");

    let redacted = config.redacted();
    assert_eq!(redacted["database"]["password"], MASK);
    assert_eq!(redacted["stripe"]["api_key"], MASK);
    assert_eq!(redacted["auth"]["api_keys"], json!([MASK]));
    assert_eq!(redacted["server"]["port"], 8080);

    let shown = config.to_toml_redacted();
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(
        shown.contains("port = 8080  # environment variable CORTEX_PORT"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "issuer = \"blog\"  # {}",
            dir.path().join("cortex.toml").display()
        )),
        "{shown}"
    );
    assert!(
        shown.contains("api_key = \"********\"  # environment variable CORTEX_STRIPE__API_KEY"),
        "{shown}"
    );
    let reparsed: toml::Table = toml::from_str(&shown).expect("valid TOML");
    assert_eq!(serde_json::to_value(reparsed).unwrap(), redacted);

    let builder = Config::builder()
        .env_vars([("CORTEX_DB__PASSWORD", SECRET)])
        .defaults(&format!("key = '{SECRET}'"));
    let debug = format!("{builder:?}");
    assert!(
        debug.contains("CORTEX_DB__PASSWORD") && !debug.contains(SECRET),
        "{debug}"
    );

    // The values themselves are still there for the application.
    assert_eq!(config.get::<String>("database.password").unwrap(), SECRET);
}

#[test]
fn the_config_source_answers_dotted_keys() {
    let dir = dir_with(&[(
        "cortex.toml",
        "[server]\nport = 8080\n[cluster]\nnodes = ['a', 'b']",
    )]);
    let config = load(&dir, &[("CORTEX_HOST", "0.0.0.0")]).unwrap();
    let source: &dyn ConfigSource = &config;
    assert_eq!(source.value("server.port"), Some(json!(8080)));
    assert_eq!(source.value("server.host"), Some(json!("0.0.0.0")));
    assert_eq!(source.value("cluster.nodes.1"), Some(json!("b")));
    assert_eq!(
        source.value("server"),
        Some(json!({ "port": 8080, "host": "0.0.0.0" }))
    );
    assert_eq!(source.value("server.tls"), None);
    assert_eq!(source.value("server.port.x"), None);
}

#[injectable(profile = "config-tests")]
struct Listener {
    #[inject(config = "server.port")]
    port: u16,
    #[inject(config = "app.name")]
    name: String,
}

#[tokio::test]
async fn inject_config_fields_read_from_the_config() {
    let dir = dir_with(&[("cortex.toml", "[app]\nname = 'blog'")]);
    let config = load(&dir, &[("CORTEX_PORT", "8081")]).unwrap();
    let container = ContainerBuilder::new()
        .config(config.clone())
        .register::<Listener>()
        .profile("config-tests")
        .build()
        .await
        .unwrap();
    let listener: Inject<Listener> = container.get().unwrap();
    assert_eq!((listener.port, listener.name.as_str()), (8081, "blog"));
}

#[derive(Debug, Deserialize)]
struct MailSettings {
    host: String,
    #[serde(default)]
    port: Option<u16>,
}

// Its own profile keeps it out of the other modules' `discover()` in this test binary.
#[injectable(profile = "config-tests")]
struct Mailer {
    settings: Inject<MailSettings>,
}

#[tokio::test]
async fn a_section_provider_binds_a_typed_section_into_the_container() {
    let dir = dir_with(&[("cortex.toml", "[mail]\nhost = 'smtp.example.com'")]);
    let config = load(&dir, &[("CORTEX_MAIL__PORT", "2525")]).unwrap();
    let container = ContainerBuilder::new()
        .add(config.section_provider::<MailSettings>("mail"))
        .register::<Mailer>()
        .profile("config-tests")
        .build()
        .await
        .unwrap();
    let mailer: Inject<Mailer> = container.get().unwrap();
    assert_eq!(mailer.settings.host, "smtp.example.com");
    assert_eq!(mailer.settings.port, Some(2525));
    assert!(Inject::ptr_eq(
        &mailer.settings,
        &container.get::<MailSettings>().unwrap()
    ));
}

#[tokio::test]
async fn a_section_provider_fails_the_build_naming_the_missing_or_bad_key() {
    let config = load(&dir_with(&[]), &[]).unwrap();
    let err = ContainerBuilder::new()
        .add(config.section_provider::<MailSettings>("mail"))
        .register::<Mailer>()
        .profile("config-tests")
        .build()
        .await
        .err()
        .expect("the build fails");
    let message = err.to_string();
    assert!(
        message.contains("config key `mail` (expected MailSettings) is missing"),
        "{message}"
    );
    assert!(
        message.contains("Config::section_provider(\"mail\")"),
        "{message}"
    );
    assert!(message.contains("tests/http/config.rs"), "{message}");

    let config = load(
        &dir_with(&[]),
        &[("CORTEX_MAIL__HOST", "h"), ("CORTEX_MAIL__PORT", SECRET)],
    )
    .unwrap();
    let err = ContainerBuilder::new()
        .add(config.section_provider::<MailSettings>("mail"))
        .build()
        .await
        .err()
        .expect("the build fails");
    let message = err.to_string();
    assert!(
        message.contains("`mail.port` (set by environment variable CORTEX_MAIL__PORT)"),
        "{message}"
    );
    assert!(!message.contains(SECRET), "{message}");
}

#[test]
fn get_or_default_fills_in_a_missing_section_only() {
    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Cache {
        ttl_secs: u64,
    }
    let config = load(&dir_with(&[]), &[]).unwrap();
    assert_eq!(
        config.get_or_default::<Cache>("cache").unwrap(),
        Cache::default()
    );
    let config = load(&dir_with(&[]), &[("CORTEX_CACHE__TTL_SECS", "soon")]).unwrap();
    assert!(matches!(
        config.get_or_default::<Cache>("cache"),
        Err(ConfigError::Invalid { .. })
    ));
}

#[test]
fn the_config_is_cheap_to_share_between_threads() {
    fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
    assert_shareable::<Config>();
    let config = Config::from_toml("a = 1").unwrap();
    let copy = config.clone();
    std::thread::spawn(move || assert_eq!(copy.get::<i64>("a").unwrap(), 1))
        .join()
        .unwrap();
}
