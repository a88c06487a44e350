//! The templates of `cortex new` and `cortex generate`: this crate's `templates/` folder (inside
//! the crate, so that the published package carries it), embedded in the binary at compile time (so an installed `cortex` needs no files on disk) and
//! rendered with [minijinja](https://docs.rs/minijinja).
//!
//! Layout of `templates/`:
//!
//! | folder | what it holds |
//! | --- | --- |
//! | `new/common/` | the files every app gets (`Cargo.toml`, `src/main.rs`, config, Dockerfile, README) |
//! | `new/minimal/`, `new/api/`, `new/full/` | each template's own files; `full` is `api` plus `full` |
//! | `generate/` | one template per generated file |
//!
//! Every template file ends in `.j2` (so that no tool mistakes `Cargo.toml.j2` or `lib.rs.j2` for
//! a real manifest or source file); the suffix is dropped when rendering. A leading `_` in a
//! file name stands for a dot (`_gitignore` → `.gitignore`), so the templates' own dotfiles do not
//! affect this repository.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::cli::Template;
use crate::error::{CliError, Result};

/// The crate's `templates/` folder, as it was when the CLI was compiled.
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// One rendered file: where it goes, relative to the app's folder, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The path inside the app (`src/main.rs`).
    pub path: PathBuf,
    /// The text.
    pub contents: String,
}

/// The layers of an app template, the later ones overriding files of the same path.
fn layers(template: Template) -> &'static [&'static str] {
    match template {
        Template::Minimal => &["common", "minimal"],
        Template::Api => &["common", "api"],
        Template::Full => &["common", "api", "full"],
    }
}

/// The name a template is known by (`minimal`, `api`, `full`).
pub fn template_name(template: Template) -> &'static str {
    match template {
        Template::Minimal => "minimal",
        Template::Api => "api",
        Template::Full => "full",
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    if let Ok(syntax) = SyntaxConfig::builder().keep_trailing_newline(true).build() {
        env.set_syntax(syntax);
    }
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// Renders one template text; `name` is only for error messages.
fn render_text(name: &str, source: &str, context: &impl Serialize) -> Result<String> {
    let env = environment();
    env.render_str(source, Serde(context)).map_err(|e| {
        // A template that does not render is a bug in this build, not the user's doing.
        CliError::new(format!("cannot render the template `{name}`: {e:#}"))
            .hint("this is a bug in cortex; please report it")
    })
}

/// Renders every file of an app template with `context` (a serializable map of the variables the
/// templates use), in path order.
///
/// ```
/// use cortex_cli::cli::Template;
///
/// let context = serde_json::json!({
///     "name": "blog", "crate_name": "blog", "template": "minimal", "db": "sqlite",
///     "path_dep": false, "cortex_path": "", "cortex_version": "0.1.0",
/// });
/// let files = cortex_cli::template::render_app(Template::Minimal, &context).unwrap();
/// assert!(files.iter().any(|f| f.path.as_os_str() == "src/main.rs"));
/// assert!(files.iter().any(|f| f.path.as_os_str() == ".gitignore"));
/// ```
pub fn render_app(template: Template, context: &impl Serialize) -> Result<Vec<Rendered>> {
    let mut files: std::collections::BTreeMap<PathBuf, (&str, &str)> = Default::default();
    for layer in layers(template) {
        let dir = TEMPLATES.get_dir(format!("new/{layer}")).ok_or_else(|| {
            CliError::new(format!(
                "the `{layer}` templates are missing from this build"
            ))
        })?;
        collect(dir, &Path::new("new").join(layer), &mut files);
    }
    files
        .into_iter()
        .map(|(path, (name, source))| {
            Ok(Rendered {
                path,
                contents: render_text(name, source, context)?,
            })
        })
        .collect()
}

/// Adds every file under `dir` to `files`, keyed by its path inside the app.
fn collect<'a>(
    dir: &'a Dir<'a>,
    root: &Path,
    files: &mut std::collections::BTreeMap<PathBuf, (&'a str, &'a str)>,
) {
    for file in dir.files() {
        let (Some(source), Some(name)) = (file.contents_utf8(), file.path().to_str()) else {
            continue;
        };
        let Ok(inside) = file.path().strip_prefix(root) else {
            continue;
        };
        files.insert(output_path(inside), (name, source));
    }
    for sub in dir.dirs() {
        collect(sub, root, files);
    }
}

/// `src/lib.rs.j2` → `src/lib.rs`, `_gitignore.j2` → `.gitignore`.
fn output_path(template: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in template.iter() {
        let part = part.to_string_lossy();
        let part = part.strip_suffix(".j2").unwrap_or(&part);
        match part.strip_prefix('_') {
            Some(rest) => out.push(format!(".{rest}")),
            None => out.push(part),
        }
    }
    out
}

/// Renders `templates/generate/<name>.j2`.
///
/// ```
/// let context = serde_json::json!({ "pascal": "Mailer", "words": "mailer", "title": "Mailer" });
/// let text = cortex_cli::template::render_generator("service.rs", &context).unwrap();
/// assert!(text.contains("pub struct Mailer"));
/// ```
pub fn render_generator(name: &str, context: &impl Serialize) -> Result<String> {
    let path = format!("generate/{name}.j2");
    let source = TEMPLATES
        .get_file(&path)
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| {
            CliError::new(format!("the template `{path}` is missing from this build"))
        })?;
    render_text(&path, source, context)
}

/// `source` formatted by rustfmt (edition 2024, the configuration found from `dir` upwards), so
/// that generated code looks the same whatever the length of the names in it. When rustfmt is not
/// installed or fails, `source` as it is.
///
/// ```
/// let formatted = cortex_cli::template::rustfmt("fn  main( ) { }\n", std::path::Path::new("."));
/// assert!(formatted == "fn main() {}\n" || formatted == "fn  main( ) { }\n");
/// ```
pub fn rustfmt(source: &str, dir: &Path) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return source.to_string();
    };
    let wrote = child
        .stdin
        .take()
        .is_some_and(|mut stdin| stdin.write_all(source.as_bytes()).is_ok());
    match child.wait_with_output() {
        Ok(out) if wrote && out.status.success() && !out.stdout.is_empty() => {
            String::from_utf8(out.stdout).unwrap_or_else(|_| source.to_string())
        }
        _ => source.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_paths_become_app_paths() {
        assert_eq!(
            output_path(Path::new("src/lib.rs.j2")),
            Path::new("src/lib.rs")
        );
        assert_eq!(
            output_path(Path::new("_gitignore.j2")),
            Path::new(".gitignore")
        );
        assert_eq!(
            output_path(Path::new("_env.example.j2")),
            Path::new(".env.example")
        );
    }

    #[test]
    fn every_template_file_ends_in_j2() {
        fn walk(dir: &Dir<'_>) {
            for file in dir.files() {
                assert!(
                    file.path().extension().is_some_and(|e| e == "j2"),
                    "{} does not end in .j2",
                    file.path().display()
                );
            }
            dir.dirs().for_each(walk);
        }
        walk(&TEMPLATES);
    }
}
