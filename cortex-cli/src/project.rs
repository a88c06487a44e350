//! The app a command works on: the nearest folder upwards with a `Cargo.toml` that has a
//! `[package]`, its package name and its binary.

use std::path::{Path, PathBuf};

use crate::error::{CliError, Context, Result};

/// A Cortex app on disk.
///
/// ```no_run
/// let app = cortex_cli::project::Project::find(None).unwrap();
/// println!("{} in {}", app.name(), app.dir().display());
/// ```
#[derive(Debug, Clone)]
pub struct Project {
    dir: PathBuf,
    name: String,
    bin: String,
    checkout: Option<PathBuf>,
}

impl Project {
    /// The app in `path`, or in the current folder or the nearest one above it with a
    /// `Cargo.toml` that has a `[package]`.
    pub fn find(path: Option<&Path>) -> Result<Self> {
        let start = match path {
            Some(path) => {
                if !path.is_dir() {
                    return Err(
                        CliError::new(format!("`{}` is not a folder", path.display())).hint(
                            "pass the app's folder with --path, or run the command inside it",
                        ),
                    );
                }
                path.to_path_buf()
            }
            None => std::env::current_dir().context("cannot read the current folder")?,
        };
        let start = start.canonicalize().unwrap_or(start);
        let mut dir = Some(start.as_path());
        while let Some(d) = dir {
            let manifest = d.join("Cargo.toml");
            if manifest.is_file() {
                let text = std::fs::read_to_string(&manifest)
                    .with_context(|| format!("cannot read {}", manifest.display()))?;
                let doc: toml::Table = toml::from_str(&text)
                    .with_context(|| format!("{} is not valid TOML", manifest.display()))?;
                if let Some(package) = doc.get("package").and_then(|p| p.as_table()) {
                    let name = package
                        .get("name")
                        .and_then(|n| n.as_str())
                        .ok_or_else(|| {
                            CliError::new(format!("{} has no `package.name`", manifest.display()))
                        })?
                        .to_string();
                    let bin = first_bin(&doc).unwrap_or_else(|| name.clone());
                    let checkout = cortex_checkout(&doc, d);
                    return Ok(Self {
                        dir: d.to_path_buf(),
                        name,
                        bin,
                        checkout,
                    });
                }
            }
            dir = d.parent();
        }
        Err(CliError::new(format!(
            "no Cortex app in `{}` or any folder above it (no Cargo.toml with a [package])",
            start.display()
        ))
        .hint("run the command inside the app's folder, pass --path DIR, or create one with `cortex new NAME`"))
    }

    /// The app's folder (where its `Cargo.toml` and `cortex.toml` are).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The package name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Cortex source checkout the app depends on by path, if it does (apps that `cortex new`
    /// made from a checkout, or with `CORTEX_PATH` set).
    pub fn cortex_checkout(&self) -> Option<&Path> {
        self.checkout.as_deref()
    }

    /// The binary `cortex serve` runs: the first `[[bin]]`, else the package name.
    pub fn bin(&self) -> &str {
        &self.bin
    }
}

/// The Cortex source checkout the app depends on by path (`cortex = { path = ".../cortex" }`
/// where the folder above holds the workspace), if it does.
fn cortex_checkout(doc: &toml::Table, dir: &Path) -> Option<PathBuf> {
    let path = doc
        .get("dependencies")?
        .get("cortex")?
        .get("path")?
        .as_str()?;
    let facade = dir.join(path);
    let root = facade.parent()?;
    root.join("cortex-core")
        .join("Cargo.toml")
        .is_file()
        .then(|| root.canonicalize().unwrap_or_else(|_| root.to_path_buf()))
}

fn first_bin(doc: &toml::Table) -> Option<String> {
    doc.get("bin")?
        .as_array()?
        .first()?
        .get("name")?
        .as_str()
        .map(str::to_string)
}
