//! A small debounced file watcher for an app's folder, on the `notify` crate (inotify, FSEvents,
//! kqueue, ...): what `cortex serve` reloads on and `cortex test --watch` reruns on.
//!
//! ```no_run
//! use cortex_cli::watch::Watcher;
//!
//! let watcher = Watcher::new(std::path::Path::new("."))?;
//! loop {
//!     let change = watcher.next_change()?;
//!     if change.rebuild {
//!         println!("code changed: {}", change.describe());
//!     } else {
//!         println!("configuration changed: {}", change.describe());
//!     }
//! }
//! # Ok::<_, cortex_cli::error::CliError>(())
//! ```
//!
//! What is watched (each path relative to the app's folder):
//!
//! | path | a change means |
//! | --- | --- |
//! | `src/**`, `templates/**`, and every folder added with [`Watcher::also`] | code: rebuild |
//! | `Cargo.toml`, `build.rs` | code: rebuild |
//! | `cortex.toml`, `cortex.*.toml`, `.env` | configuration only: restart without a rebuild |
//!
//! Anything else is ignored, and so are `target/`, `.git/` and editors' temporary and backup files
//! (`*~`, `.#*`, `#*#`, `*.swp`, `*.swx`, `*.swo`, `4913`, `*.tmp`, JetBrains' `___jb_*___`),
//! and events that do not change a file (reads, access times). `Cargo.lock` is ignored on purpose:
//! cargo writes it during a build, which would otherwise trigger the next one.
//!
//! Editors write several events per save (a temporary file, a rename, a write, a close), so a
//! change is reported once the events have paused for [`Watcher::debounce`] (60 ms by default), or
//! at the latest one second after the first of them.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind, MetadataKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};

use crate::error::{CliError, Result};

/// Folders watched recursively by default.
const CODE_DIRS: [&str; 2] = ["src", "templates"];
/// The longest a burst of events is collected before it is reported.
const MAX_BURST: Duration = Duration::from_secs(1);

/// What changed, after a burst of events settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Whether code changed (a rebuild is needed); `false` when only configuration changed
    /// (`cortex*.toml`, `.env`): a restart is enough.
    pub rebuild: bool,
    /// The files that changed, relative to the app's folder, sorted, without duplicates; files
    /// that no longer exist are left out unless nothing else changed (a removal).
    pub paths: Vec<PathBuf>,
}

impl Change {
    /// The changed files for a status line: `src/lib.rs`, or `src/lib.rs and 2 more`.
    ///
    /// ```
    /// use cortex_cli::watch::Change;
    ///
    /// let change = Change { rebuild: true, paths: vec!["src/a.rs".into(), "src/b.rs".into()] };
    /// assert_eq!(change.describe(), "src/a.rs and 1 more");
    /// ```
    pub fn describe(&self) -> String {
        match self.paths.as_slice() {
            [] => "(nothing)".to_string(),
            [one] => one.display().to_string(),
            [first, rest @ ..] => format!("{} and {} more", first.display(), rest.len()),
        }
    }

    fn merge(&mut self, other: Change) {
        self.rebuild |= other.rebuild;
        let mut paths: BTreeSet<PathBuf> = self.paths.drain(..).collect();
        paths.extend(other.paths);
        self.paths = paths.into_iter().collect();
    }
}

/// What a changed path means (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Code: a rebuild is needed.
    Code,
    /// Configuration only: a restart is enough.
    Config,
}

/// Watches an app's folder; see the [module docs](self) for what counts as a change.
pub struct Watcher {
    root: PathBuf,
    dirs: Mutex<Vec<String>>,
    inner: Mutex<RecommendedWatcher>,
    events: Receiver<notify::Result<notify::Event>>,
    debounce: Duration,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("root", &self.root)
            .field("debounce", &self.debounce)
            .finish_non_exhaustive()
    }
}

impl Watcher {
    /// Starts watching the app in `dir`: `src/`, `templates/` (when it exists, or once it is
    /// created), and the configuration and manifest files at the top of `dir`.
    ///
    /// Fails when `dir` cannot be watched (it does not exist, or the system's limit on watches is
    /// reached), with a hint.
    pub fn new(dir: &Path) -> Result<Watcher> {
        let root = dir.canonicalize().map_err(|e| {
            CliError::new(format!("cannot watch `{}`: {e}", dir.display()))
                .hint("pass the app's folder with --path")
        })?;
        let (tx, events) = mpsc::channel();
        let inner = notify::recommended_watcher(move |event| {
            let _ = tx.send(event);
        })
        .map_err(|e| watch_error(&root, e))?;
        let watcher = Watcher {
            root,
            dirs: Mutex::new(CODE_DIRS.iter().map(|d| d.to_string()).collect()),
            inner: Mutex::new(inner),
            events,
            debounce: Duration::from_millis(60),
        };
        watcher.watch(&watcher.root, RecursiveMode::NonRecursive)?;
        for dir in CODE_DIRS {
            watcher.watch_dir(dir)?;
        }
        Ok(watcher)
    }

    /// Also watches the folder `name` (relative to the app's folder) recursively, as code:
    /// `tests` for `cortex test --watch`, for example.
    ///
    /// ```no_run
    /// # use cortex_cli::watch::Watcher;
    /// let watcher = Watcher::new(std::path::Path::new("."))?.also("tests")?;
    /// # Ok::<_, cortex_cli::error::CliError>(())
    /// ```
    pub fn also(self, name: &str) -> Result<Watcher> {
        self.lock_dirs().push(name.trim_matches('/').to_string());
        self.watch_dir(name)?;
        Ok(self)
    }

    /// Waits this long after the last event of a burst before reporting it (60 ms by default).
    pub fn debounce(mut self, quiet: Duration) -> Watcher {
        self.debounce = quiet;
        self
    }

    /// The app's folder (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Blocks until something relevant changes, then returns it once the burst of events settled.
    pub fn next_change(&self) -> Result<Change> {
        loop {
            if let Some(change) = self.next_change_timeout(Duration::from_secs(3600))? {
                return Ok(change);
            }
        }
    }

    /// Like [`next_change`](Self::next_change), but returns `Ok(None)` when nothing relevant
    /// started changing within `timeout`.
    pub fn next_change_timeout(&self, timeout: Duration) -> Result<Option<Change>> {
        let deadline = Instant::now() + timeout;
        let mut change = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    if let Some(change) = self.relevant(event) {
                        break change;
                    }
                }
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => return Err(stopped()),
            }
        };
        let burst_end = Instant::now() + MAX_BURST;
        loop {
            let left = burst_end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.events.recv_timeout(self.debounce.min(left)) {
                Ok(event) => {
                    if let Some(more) = self.relevant(event) {
                        change.merge(more);
                    }
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        // Temporary files written and renamed within the burst (`sed -i`, editors' atomic saves)
        // are not worth naming; removed files are, when nothing else changed.
        let existing: Vec<PathBuf> = change
            .paths
            .iter()
            .filter(|p| self.root.join(p).exists())
            .cloned()
            .collect();
        if !existing.is_empty() {
            change.paths = existing;
        }
        Ok(Some(change))
    }

    /// The change an event stands for, if it is one; starts watching `templates/` (or another
    /// code folder) when it appears.
    fn relevant(&self, event: notify::Result<notify::Event>) -> Option<Change> {
        // An error from the backend (a queue overflow, say) is reported as a change of
        // everything: rebuilding once too often is better than missing an edit.
        let event = match event {
            Ok(event) => event,
            Err(_) => {
                return Some(Change {
                    rebuild: true,
                    paths: Vec::new(),
                });
            }
        };
        if !changes_content(&event.kind) {
            return None;
        }
        let mut change: Option<Change> = None;
        for path in &event.paths {
            let Ok(relative) = path.strip_prefix(&self.root) else {
                continue;
            };
            if matches!(event.kind, EventKind::Create(_)) && path.is_dir() {
                let name = relative.to_string_lossy();
                if self.lock_dirs().iter().any(|d| *d == name) {
                    let _ = self.watch(path, RecursiveMode::Recursive);
                }
            }
            let Some(kind) = classify(relative, &self.lock_dirs()) else {
                continue;
            };
            let one = Change {
                rebuild: kind == Kind::Code,
                paths: vec![relative.to_path_buf()],
            };
            match &mut change {
                Some(c) => c.merge(one),
                None => change = Some(one),
            }
        }
        change
    }

    fn watch_dir(&self, name: &str) -> Result<()> {
        let path = self.root.join(name);
        if path.is_dir() {
            self.watch(&path, RecursiveMode::Recursive)?;
        }
        Ok(())
    }

    fn watch(&self, path: &Path, mode: RecursiveMode) -> Result<()> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .watch(path, mode)
            .map_err(|e| watch_error(path, e))
    }

    fn lock_dirs(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.dirs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn watch_error(path: &Path, e: notify::Error) -> CliError {
    CliError::new(format!("cannot watch `{}` for changes: {e}", path.display())).hint(
        "if the system's limit on watches is reached, raise fs.inotify.max_user_watches; or run without watching (--no-watch)",
    )
}

fn stopped() -> CliError {
    CliError::new("the file watcher stopped").hint("run the command again")
}

/// Whether an event can mean new content: creations, writes, renames and removals, not reads or
/// access-time updates.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime | MetadataKind::Ownership | MetadataKind::Permissions,
        )) => false,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any => true,
        EventKind::Other => false,
    }
}

/// What a change to `path` (relative to the app's folder) means, or `None` when it is ignored.
/// `code_dirs` are the folders whose files are code (`src`, `templates`, and any added).
///
/// ```
/// use std::path::Path;
/// use cortex_cli::watch::{classify, Kind};
///
/// let dirs = ["src".to_string(), "templates".to_string()];
/// assert_eq!(classify(Path::new("src/lib.rs"), &dirs), Some(Kind::Code));
/// assert_eq!(classify(Path::new("cortex.dev.toml"), &dirs), Some(Kind::Config));
/// assert_eq!(classify(Path::new("src/.lib.rs.swp"), &dirs), None);
/// assert_eq!(classify(Path::new("target/debug/app"), &dirs), None);
/// ```
pub fn classify(path: &Path, code_dirs: &[String]) -> Option<Kind> {
    let mut components = path.components();
    let first = match components.next()? {
        Component::Normal(first) => first.to_str()?,
        _ => return None,
    };
    let file_name = path.file_name()?.to_str()?;
    if is_editor_file(file_name) {
        return None;
    }
    let top_level = components.next().is_none();
    if top_level {
        return match first {
            "Cargo.toml" | "build.rs" => Some(Kind::Code),
            ".env" => Some(Kind::Config),
            name if name == "cortex.toml"
                || (name.starts_with("cortex.") && name.ends_with(".toml")) =>
            {
                Some(Kind::Config)
            }
            // A code folder itself (created, removed or renamed).
            name if code_dirs.iter().any(|d| d == name) => Some(Kind::Code),
            _ => None,
        };
    }
    if matches!(first, "target" | ".git") {
        return None;
    }
    let in_code_dir = code_dirs.iter().any(|dir| {
        Path::new(dir)
            .components()
            .zip(path.components())
            .all(|(a, b)| a == b)
            && path.components().count() > Path::new(dir).components().count()
    });
    in_code_dir.then_some(Kind::Code)
}

/// Editors' temporary, swap and backup files.
fn is_editor_file(name: &str) -> bool {
    name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || [".swp", ".swx", ".swo", ".tmp", ".bak", ".orig"]
            .iter()
            .any(|ext| name.ends_with(ext))
        || name == "4913"
        || name == ".DS_Store"
        || name.contains("___jb_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs() -> Vec<String> {
        vec!["src".into(), "templates".into(), "tests".into()]
    }

    #[test]
    fn code_config_and_ignored_paths_are_told_apart() {
        let cases = [
            ("src/lib.rs", Some(Kind::Code)),
            ("src/controllers/users.rs", Some(Kind::Code)),
            ("templates/index.html", Some(Kind::Code)),
            ("tests/api.rs", Some(Kind::Code)),
            ("Cargo.toml", Some(Kind::Code)),
            ("build.rs", Some(Kind::Code)),
            ("src", Some(Kind::Code)),
            ("cortex.toml", Some(Kind::Config)),
            ("cortex.prod.toml", Some(Kind::Config)),
            (".env", Some(Kind::Config)),
            ("Cargo.lock", None),
            ("README.md", None),
            ("cortex.toml~", None),
            ("src/.main.rs.swp", None),
            ("src/main.rs~", None),
            ("src/.#main.rs", None),
            ("src/#main.rs#", None),
            ("src/4913", None),
            ("src/main.rs___jb_tmp___", None),
            ("target/debug/app", None),
            (".git/index", None),
            ("docs/guide.md", None),
            ("srcs/lib.rs", None),
        ];
        for (path, expected) in cases {
            assert_eq!(classify(Path::new(path), &dirs()), expected, "{path}");
        }
    }

    #[test]
    fn reads_and_access_times_are_not_changes() {
        use notify::event::CreateKind;
        assert!(!changes_content(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!changes_content(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(!changes_content(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime
        ))));
        assert!(changes_content(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(changes_content(&EventKind::Create(CreateKind::File)));
        assert!(changes_content(&EventKind::Modify(ModifyKind::Any)));
    }

    #[test]
    fn a_burst_of_writes_is_one_change_and_config_alone_needs_no_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
        let watcher = Watcher::new(dir.path()).unwrap();
        let quiet = Duration::from_millis(300);
        assert_eq!(watcher.next_change_timeout(quiet).unwrap(), None);

        // An editor's save: a swap file, a backup, the write itself.
        std::fs::write(dir.path().join("src/.lib.rs.swp"), "x").unwrap();
        std::fs::write(dir.path().join("src/lib.rs~"), "").unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "// edited").unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "// edited twice").unwrap();
        let change = watcher
            .next_change_timeout(Duration::from_secs(10))
            .unwrap()
            .expect("a change");
        assert_eq!(
            change,
            Change {
                rebuild: true,
                paths: vec!["src/lib.rs".into()]
            }
        );
        assert_eq!(watcher.next_change_timeout(quiet).unwrap(), None);

        // An atomic save: a temporary file renamed over the original (`sed -i` does this).
        std::fs::write(dir.path().join("src/sedX1b2c3"), "// saved atomically").unwrap();
        std::fs::rename(
            dir.path().join("src/sedX1b2c3"),
            dir.path().join("src/lib.rs"),
        )
        .unwrap();
        let change = watcher
            .next_change_timeout(Duration::from_secs(10))
            .unwrap()
            .expect("a change");
        assert_eq!(change.paths, vec![PathBuf::from("src/lib.rs")]);

        std::fs::write(dir.path().join("cortex.dev.toml"), "[server]\nport = 1").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let change = watcher
            .next_change_timeout(Duration::from_secs(10))
            .unwrap()
            .expect("a change");
        assert_eq!(
            change,
            Change {
                rebuild: false,
                paths: vec!["cortex.dev.toml".into()]
            }
        );

        // A code folder created after the watcher started is watched too.
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        let _ = watcher
            .next_change_timeout(Duration::from_secs(10))
            .unwrap();
        std::fs::write(dir.path().join("templates/page.html"), "<p>").unwrap();
        let change = watcher
            .next_change_timeout(Duration::from_secs(10))
            .unwrap()
            .expect("a change");
        assert!(change.rebuild);
        assert!(
            change.paths.contains(&PathBuf::from("templates/page.html")),
            "{change:?}"
        );
    }

    #[test]
    fn a_missing_folder_cannot_be_watched() {
        let err = Watcher::new(Path::new("/no/such/folder")).unwrap_err();
        assert!(
            err.message().starts_with("cannot watch `/no/such/folder`"),
            "{err}"
        );
        assert!(err.hint_text().is_some());
    }
}
