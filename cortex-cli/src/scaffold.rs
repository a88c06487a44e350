//! Writing generated files: a [`Plan`] of files to create and module declarations to add, checked
//! as a whole (nothing is overwritten without `--force`) before anything is written, and printed
//! instead of written for `--dry-run`.

use std::path::{Path, PathBuf};

use crate::error::{CliError, Context, Result};
use crate::ui::Ui;

/// What a change does to its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A new file.
    Create,
    /// A file that exists, replaced (only with `--force`).
    Overwrite,
    /// A file that exists, with lines added (`pub mod x;`).
    Update,
}

/// One file to write.
#[derive(Debug, Clone)]
pub struct Change {
    /// Relative to the app's folder.
    pub path: PathBuf,
    /// The whole new text of the file.
    pub contents: String,
    /// What happens to it.
    pub action: Action,
}

/// The changes one command makes to an app, in order.
///
/// ```
/// use cortex_cli::scaffold::Plan;
///
/// let dir = tempfile::tempdir().unwrap();
/// let mut plan = Plan::new(dir.path());
/// plan.create("src/services/mailer.rs", "pub struct Mailer;\n".into(), false).unwrap();
/// plan.add_module("src/services/mod.rs", "mailer", "//! Services.\n").unwrap();
/// plan.apply().unwrap();
/// assert_eq!(
///     std::fs::read_to_string(dir.path().join("src/services/mod.rs")).unwrap(),
///     "//! Services.\n\npub mod mailer;\n"
/// );
/// ```
#[derive(Debug)]
pub struct Plan {
    root: PathBuf,
    changes: Vec<Change>,
}

impl Plan {
    /// An empty plan for the app in `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            changes: Vec::new(),
        }
    }

    /// The app's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The changes so far.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    fn current(&self, path: &Path) -> Result<Option<String>> {
        if let Some(change) = self.changes.iter().rev().find(|c| c.path == path) {
            return Ok(Some(change.contents.clone()));
        }
        let full = self.root.join(path);
        if full.is_file() {
            std::fs::read_to_string(&full)
                .with_context(|| format!("cannot read {}", path.display()))
                .map(Some)
        } else {
            Ok(None)
        }
    }

    fn push(&mut self, change: Change) {
        self.changes.retain(|c| c.path != change.path);
        self.changes.push(change);
    }

    /// Adds a new file. A file that exists is an error naming it, unless `force`.
    pub fn create(
        &mut self,
        path: impl Into<PathBuf>,
        contents: String,
        force: bool,
    ) -> Result<()> {
        let path = path.into();
        let exists = self.root.join(&path).exists();
        if exists && !force {
            return Err(
                CliError::new(format!("`{}` already exists", path.display()))
                    .hint("pass --force to overwrite it, or choose another name"),
            );
        }
        let action = if exists {
            Action::Overwrite
        } else {
            Action::Create
        };
        self.push(Change {
            path,
            contents,
            action,
        });
        Ok(())
    }

    /// Declares `pub mod module;` in `mod_file` (after its last `mod` line), creating the file
    /// with `header` when it does not exist. Returns whether the file is new. A module declared
    /// already is left as it is.
    pub fn add_module(
        &mut self,
        mod_file: impl Into<PathBuf>,
        module: &str,
        header: &str,
    ) -> Result<bool> {
        let mod_file = mod_file.into();
        let (text, created) = match self.current(&mod_file)? {
            Some(text) => (text, false),
            None => (header.to_string(), true),
        };
        if declares(&text, module) {
            return Ok(created);
        }
        let contents = insert_module(&text, module);
        let action = if created
            || self
                .changes
                .iter()
                .any(|c| c.path == mod_file && c.action == Action::Create)
        {
            Action::Create
        } else {
            Action::Update
        };
        self.push(Change {
            path: mod_file,
            contents,
            action,
        });
        Ok(created)
    }

    /// Replaces the text of a file that exists (or that this plan creates) with `contents`: an
    /// edit such as a dependency added to `Cargo.toml`. A file that does not exist is an error.
    ///
    /// ```
    /// use cortex_cli::scaffold::Plan;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("Cargo.toml"), "[dependencies]\n").unwrap();
    /// let mut plan = Plan::new(dir.path());
    /// plan.update("Cargo.toml", "[dependencies]\nserde = \"1\"\n".into()).unwrap();
    /// assert!(plan.update("missing.toml", String::new()).is_err());
    /// ```
    pub fn update(&mut self, path: impl Into<PathBuf>, contents: String) -> Result<()> {
        let path = path.into();
        if self.current(&path)?.is_none() {
            return Err(CliError::new(format!(
                "`{}` does not exist",
                path.display()
            )));
        }
        let action = match self.changes.iter().find(|c| c.path == path) {
            Some(earlier) => earlier.action,
            None => Action::Update,
        };
        self.push(Change {
            path,
            contents,
            action,
        });
        Ok(())
    }

    /// The text a file will have: this plan's change to it, or what is on disk.
    pub(crate) fn text(&self, path: impl AsRef<Path>) -> Result<Option<String>> {
        self.current(path.as_ref())
    }

    /// Writes every change, creating folders as needed.
    pub fn apply(&self) -> Result<()> {
        for change in &self.changes {
            let full = self.root.join(&change.path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&full, &change.contents)
                .with_context(|| format!("cannot write {}", full.display()))?;
        }
        Ok(())
    }

    /// Prints one status line per change (`Created`, `Overwrote`, `Updated`), or for a dry run
    /// what would happen (`Would create`, ...) followed by each file's new text on stdout.
    pub fn report(&self, ui: &Ui, dry_run: bool) {
        for change in &self.changes {
            let verb = match (change.action, dry_run) {
                (Action::Create, false) => "Created",
                (Action::Overwrite, false) => "Overwrote",
                (Action::Update, false) => "Updated",
                (Action::Create, true) => "Would create",
                (Action::Overwrite, true) => "Would overwrite",
                (Action::Update, true) => "Would update",
            };
            ui.status(verb, change.path.display());
        }
        if dry_run {
            for change in &self.changes {
                println!("--- {} ---", change.path.display());
                print!("{}", change.contents);
            }
        }
    }
}

/// Whether `text` declares `mod module;` (public or not).
fn declares(text: &str, module: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        line.strip_prefix("mod ")
            .and_then(|rest| rest.strip_suffix(';'))
            .is_some_and(|name| name.trim() == module)
    })
}

/// `text` with `pub mod module;` among its last block of `mod` lines, in alphabetical order as
/// rustfmt keeps them, or at the end after a blank line when it has none.
fn insert_module(text: &str, module: &str) -> String {
    let declaration = format!("pub mod {module};");
    let mod_name = |line: &str| -> Option<String> {
        let line = line.trim_start();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        line.strip_prefix("mod ")
            .and_then(|rest| rest.strip_suffix(';'))
            .map(|name| name.trim().to_string())
    };
    let mut out: Vec<String> = text.lines().map(str::to_string).collect();
    match out.iter().rposition(|l| mod_name(l).is_some()) {
        Some(last) => {
            let mut first = last;
            while first > 0 && mod_name(&out[first - 1]).is_some() {
                first -= 1;
            }
            let at = (first..=last)
                .find(|&i| mod_name(&out[i]).is_some_and(|name| name.as_str() > module))
                .unwrap_or(last + 1);
            out.insert(at, declaration);
        }
        None => {
            while out.last().is_some_and(|l| l.trim().is_empty()) {
                out.pop();
            }
            if !out.is_empty() {
                out.push(String::new());
            }
            out.push(declaration);
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_go_after_the_last_mod_line() {
        assert_eq!(
            insert_module("//! Doc.\n\npub mod a;\npub mod c;\n\nfn x() {}\n", "b"),
            "//! Doc.\n\npub mod a;\npub mod b;\npub mod c;\n\nfn x() {}\n"
        );
        assert_eq!(
            insert_module("pub mod a;\n", "b"),
            "pub mod a;\npub mod b;\n"
        );
        assert_eq!(
            insert_module("//! Doc.\n\n", "a"),
            "//! Doc.\n\npub mod a;\n"
        );
        assert_eq!(insert_module("", "a"), "pub mod a;\n");
    }

    #[test]
    fn declared_modules_are_found() {
        assert!(declares("pub mod a;\n", "a"));
        assert!(declares("mod a;\n", "a"));
        assert!(!declares("pub mod ab;\n", "a"));
    }

    #[test]
    fn existing_files_are_not_overwritten_without_force() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.rs"), "old").unwrap();
        let mut plan = Plan::new(dir.path());
        let e = plan.create("a.rs", "new".into(), false).unwrap_err();
        assert_eq!(e.to_string(), "`a.rs` already exists");
        plan.create("a.rs", "new".into(), true).unwrap();
        assert_eq!(plan.changes()[0].action, Action::Overwrite);
    }
}
