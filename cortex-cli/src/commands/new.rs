//! `cortex new`: writes an app from a template (`minimal`, `api` or `full`), sets its dependency
//! on Cortex, runs `git init`, and prints the next steps; `--serve` then serves it.
//!
//! The default template is `api`: a JSON CRUD API with validation, problem details, OpenAPI and
//! tests is the better first look at what Cortex does; `--template minimal` is one controller, one
//! service and one test.
//!
//! **The dependency on Cortex.** When this CLI runs from a Cortex source checkout (the folder
//! above `cortex-cli/` still holds `cortex/` and `cortex-core/`), or `CORTEX_PATH` names one, the
//! app depends on that checkout by path and its `Cargo.lock` starts as a copy of the checkout's:
//! the versions match, and `cortex serve`/`cortex test` build it in the checkout's `target/`, so
//! the dependencies compiled there are reused. Otherwise it depends on the published `cortex` of
//! this CLI's version.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::cli::{Database, NewArgs, ServeArgs, Template};
use crate::error::{CliError, Context, Result};
use crate::names::check_app_name;
use crate::template::{render_app, rustfmt, template_name};
use crate::ui::{self, Ui};

/// The template `cortex new` uses when none is given.
pub const DEFAULT_TEMPLATE: Template = Template::Api;

/// What the app depends on for Cortex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CortexDependency {
    /// A source checkout (the folder that holds `cortex/` and `cortex-core/`).
    Checkout(PathBuf),
    /// The published crate, this version.
    Published(String),
}

/// Whether `dir` is a Cortex source checkout.
fn is_checkout(dir: &Path) -> bool {
    dir.join("cortex").join("Cargo.toml").is_file()
        && dir.join("cortex-core").join("Cargo.toml").is_file()
}

/// The dependency a new app gets: `CORTEX_PATH` when set (it must name a checkout), else the
/// checkout this CLI was built from if it is still there, else the published version.
///
/// ```
/// use cortex_cli::commands::new::{CortexDependency, cortex_dependency};
///
/// let published = cortex_dependency(None, None).unwrap();
/// assert_eq!(published, CortexDependency::Published(env!("CARGO_PKG_VERSION").into()));
/// let e = cortex_dependency(Some("/no/such/folder".into()), None).unwrap_err();
/// assert!(e.to_string().starts_with("CORTEX_PATH=/no/such/folder is not a Cortex checkout"));
/// ```
pub fn cortex_dependency(
    cortex_path: Option<PathBuf>,
    built_from: Option<&Path>,
) -> Result<CortexDependency> {
    if let Some(path) = cortex_path {
        if !is_checkout(&path) {
            return Err(CliError::new(format!(
                "CORTEX_PATH={} is not a Cortex checkout (it has no cortex/Cargo.toml and cortex-core/Cargo.toml)",
                path.display()
            ))
            .hint("point CORTEX_PATH at the folder that holds cortex/ and cortex-core/, or unset it"));
        }
        let path = path.canonicalize().unwrap_or(path);
        return Ok(CortexDependency::Checkout(path));
    }
    match built_from {
        Some(dir) if is_checkout(dir) => Ok(CortexDependency::Checkout(
            dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
        )),
        _ => Ok(CortexDependency::Published(
            env!("CARGO_PKG_VERSION").to_string(),
        )),
    }
}

/// The variables the app templates use.
#[derive(Debug, Clone, Serialize)]
pub struct AppContext {
    /// The package name (`my-blog`).
    pub name: String,
    /// The name as a Rust identifier (`my_blog`).
    pub crate_name: String,
    /// `minimal`, `api` or `full`.
    pub template: String,
    /// `sqlite` or `postgres`.
    pub db: String,
    /// Whether the app depends on a checkout by path.
    pub path_dep: bool,
    /// The checkout's `cortex/` folder (empty unless `path_dep`), with `/` separators.
    pub cortex_path: String,
    /// The published version otherwise (and for the Dockerfile's note).
    pub cortex_version: String,
}

impl AppContext {
    /// The context for an app.
    pub fn new(
        name: &str,
        template: Template,
        db: Database,
        dependency: &CortexDependency,
    ) -> Self {
        let (path_dep, cortex_path) = match dependency {
            CortexDependency::Checkout(root) => (
                true,
                root.join("cortex").to_string_lossy().replace('\\', "/"),
            ),
            CortexDependency::Published(_) => (false, String::new()),
        };
        Self {
            name: name.to_string(),
            crate_name: name.replace('-', "_"),
            template: template_name(template).to_string(),
            db: match db {
                Database::Sqlite => "sqlite",
                Database::Postgres => "postgres",
            }
            .to_string(),
            path_dep,
            cortex_path,
            cortex_version: match dependency {
                CortexDependency::Published(v) => v.clone(),
                CortexDependency::Checkout(_) => env!("CARGO_PKG_VERSION").to_string(),
            },
        }
    }
}

/// The answers `cortex new` works from, from the arguments or the wizard.
#[derive(Debug, Clone)]
struct Answers {
    name: String,
    template: Template,
    db: Database,
    git: bool,
}

/// Runs `cortex new`.
pub fn run(args: NewArgs, ui: &Ui) -> Result<()> {
    let answers = match &args.name {
        Some(name) => Answers {
            name: name.clone(),
            template: args.template.unwrap_or(DEFAULT_TEMPLATE),
            db: args.db.unwrap_or(Database::Sqlite),
            git: !args.no_git,
        },
        None if ui::interactive() => wizard(&args)?,
        None => {
            return Err(CliError::new("missing the app's NAME")
                .hint("run `cortex new NAME` (e.g. `cortex new blog`), or run `cortex new` on a terminal to be asked")
                .with_code(2));
        }
    };
    check_app_name(&answers.name)?;

    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let dir = match &args.path {
        Some(path) => cwd.join(path),
        None => cwd.join(&answers.name),
    };
    check_target(&dir, args.path.is_some())?;

    let dependency = cortex_dependency(
        std::env::var_os("CORTEX_PATH")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from),
        Path::new(env!("CARGO_MANIFEST_DIR")).parent(),
    )?;
    let context = AppContext::new(&answers.name, answers.template, answers.db, &dependency);
    let files = render_app(answers.template, &context)?;

    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for file in &files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let formatted;
        let contents = if file.path.extension().is_some_and(|e| e == "rs") {
            formatted = rustfmt(&file.contents, &dir);
            &formatted
        } else {
            &file.contents
        };
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut written: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    if let CortexDependency::Checkout(root) = &dependency {
        // The checkout's lock: the same versions, so its compiled dependencies are reused.
        let lock = root.join("Cargo.lock");
        if lock.is_file() {
            std::fs::copy(&lock, dir.join("Cargo.lock"))
                .with_context(|| format!("cannot copy {}", lock.display()))?;
            written.push("Cargo.lock".into());
            written.sort();
        }
    }

    let shown = display_path(&dir, &cwd);
    ui.status(
        "Created",
        format!(
            "app `{}` at {shown} ({} template, {}{} files)",
            answers.name,
            context.template,
            match (answers.template, answers.db) {
                (Template::Minimal, _) => "",
                (_, Database::Sqlite) => "SQLite, ",
                (_, Database::Postgres) => "PostgreSQL, ",
            },
            written.len()
        ),
    );
    match &dependency {
        CortexDependency::Checkout(root) => ui.note(format!(
            "             depends on the Cortex checkout at {}",
            root.display()
        )),
        CortexDependency::Published(version) => ui.note(format!(
            "             depends on cortex {version} from crates.io"
        )),
    }
    for file in &written {
        ui.note(format!("             {file}"));
    }

    if answers.git {
        git_init(&dir, ui);
    }

    if args.serve {
        return super::serve::run(
            ServeArgs {
                port: args.port,
                host: None,
                profile: None,
                release: false,
                no_watch: false,
                path: Some(dir),
            },
            ui,
        );
    }
    if !ui.is_quiet() {
        ui.note("");
        ui.note("Next steps:");
        if shown != "." {
            ui.note(format!("  cd {shown}"));
        }
        ui.note(
            "  cortex serve          # build, serve on http://127.0.0.1:3000, reload on change",
        );
        ui.note("  cortex test           # run the tests in tests/");
        if answers.template == Template::Minimal {
            ui.note("  cortex g controller posts title:string body:text");
        } else {
            ui.note("  cortex g resource posts title:string body:text   # model, migration, controller, test");
        }
    }
    Ok(())
}

/// The target folder must not be a file, nor a folder with anything in it.
fn check_target(dir: &Path, from_path: bool) -> Result<()> {
    if dir.is_file() {
        return Err(
            CliError::new(format!("`{}` is a file, not a folder", dir.display()))
                .hint("pass --path with a new or empty folder"),
        );
    }
    if dir.is_dir() {
        let mut entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if entries.next().is_some() {
            let hint = if from_path {
                "choose a new or empty folder with --path"
            } else {
                "choose another name, or pass --path DIR for a new or empty folder"
            };
            return Err(CliError::new(format!(
                "the folder `{}` already exists and is not empty",
                dir.display()
            ))
            .hint(hint));
        }
    }
    Ok(())
}

/// `dir` relative to `cwd` when it is inside it (`blog`, `.`), else as it is.
fn display_path(dir: &Path, cwd: &Path) -> String {
    match dir.strip_prefix(cwd) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => dir.display().to_string(),
    }
}

/// `git init` in `dir`; a missing or failing git is a warning, not an error.
fn git_init(dir: &Path, ui: &Ui) {
    let outcome = Command::new("git")
        .args(["init", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    match outcome {
        Ok(out) if out.status.success() => ui.status("Initialized", "a git repository"),
        Ok(out) => ui.warn(format!(
            "`git init` failed; the app has no repository: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => ui.warn(format!(
            "git is not available ({e}); the app has no repository (install git and run `git init`)"
        )),
    }
}

/// The interactive questions: name (checked as it is typed), template, database, git.
fn wizard(args: &NewArgs) -> Result<Answers> {
    use dialoguer::{Confirm, Input, Select};
    let theme = dialoguer::theme::SimpleTheme;
    let name: String = Input::with_theme(&theme)
        .with_prompt("App name")
        .validate_with(|name: &String| check_app_name(name).map_err(wizard_message))
        .interact_text()
        .map_err(interrupted)?;
    let templates = [Template::Api, Template::Minimal, Template::Full];
    let labels = [
        "api      a JSON API on a database: CRUD with validation, pagination, OpenAPI, tests",
        "minimal  one controller, one service, one test (no database)",
        "full     the API plus a guard, a health check and per-profile settings",
    ];
    let default = templates
        .iter()
        .position(|t| Some(*t) == args.template)
        .unwrap_or(0);
    let template = Select::with_theme(&theme)
        .with_prompt("Template")
        .items(labels)
        .default(default)
        .interact()
        .map_err(interrupted)?;
    let template = templates[template];
    // A minimal app has no database to ask about.
    let db = if template == Template::Minimal {
        0
    } else {
        Select::with_theme(&theme)
            .with_prompt("Database")
            .items([
                "sqlite    a file under data/: nothing to install",
                "postgres  PostgreSQL (the tests still run on in-memory SQLite)",
            ])
            .default(usize::from(args.db == Some(Database::Postgres)))
            .interact()
            .map_err(interrupted)?
    };
    let git = Confirm::with_theme(&theme)
        .with_prompt("Create a git repository?")
        .default(!args.no_git)
        .interact()
        .map_err(interrupted)?;
    Ok(Answers {
        name,
        template,
        db: if db == 1 {
            Database::Postgres
        } else {
            Database::Sqlite
        },
        git,
    })
}

/// The wizard's message for a name it refuses: the error and its hint on one line.
fn wizard_message(error: CliError) -> String {
    match error.hint_text() {
        Some(hint) => format!("{error} ({hint})"),
        None => error.to_string(),
    }
}

fn interrupted(error: dialoguer::Error) -> CliError {
    CliError::new(format!("the questions were interrupted: {error}"))
        .hint("run `cortex new NAME` to create an app without questions")
        .with_code(130)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wizard_shows_why_a_name_is_refused() {
        let message = wizard_message(check_app_name("9lives").unwrap_err());
        assert_eq!(
            message,
            "`9lives` is not a valid app name: it must start with a letter (try `app-9lives`)"
        );
    }

    #[test]
    fn the_checkout_this_cli_was_built_from_is_used() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let dependency = cortex_dependency(None, Some(root)).unwrap();
        assert_eq!(
            dependency,
            CortexDependency::Checkout(root.canonicalize().unwrap())
        );
        let context = AppContext::new("my-blog", Template::Api, Database::Sqlite, &dependency);
        assert!(context.path_dep);
        assert_eq!(context.crate_name, "my_blog");
        assert!(
            context.cortex_path.ends_with("/cortex"),
            "{}",
            context.cortex_path
        );
    }

    #[test]
    fn a_folder_that_is_not_a_checkout_means_the_published_crate() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            cortex_dependency(None, Some(dir.path())).unwrap(),
            CortexDependency::Published(env!("CARGO_PKG_VERSION").into())
        );
        let e = cortex_dependency(Some(dir.path().into()), None).unwrap_err();
        assert_eq!(
            e.hint_text(),
            Some(
                "point CORTEX_PATH at the folder that holds cortex/ and cortex-core/, or unset it"
            )
        );
    }

    #[test]
    fn paths_are_shown_relative_to_the_current_folder() {
        assert_eq!(display_path(Path::new("/a/b"), Path::new("/a")), "b");
        assert_eq!(display_path(Path::new("/a"), Path::new("/a")), ".");
        assert_eq!(display_path(Path::new("/x/b"), Path::new("/a")), "/x/b");
    }
}
