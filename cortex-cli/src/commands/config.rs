//! `cortex config show`: the app's configuration resolved as the app would resolve it —
//! `cortex.toml`, `cortex.{profile}.toml`, `.env` (in `dev`) and `CORTEX_*` variables — with
//! secrets masked. It runs in-process with `cortex_core::config::Config`; nothing is built.
//!
//! The TOML form comments each value with the file or variable that set it; the JSON form is the
//! plain tree.

use std::path::Path;

use cortex_core::config::{Config, ConfigError, Profile};

use crate::cli::{ConfigFormat, ConfigShowArgs};
use crate::error::{CliError, Result};
use crate::project::Project;
use crate::ui::Ui;

/// Runs `cortex config show`.
pub fn show(args: ConfigShowArgs, ui: &Ui) -> Result<()> {
    let project = Project::find(args.path.as_deref())?;
    let config = load(project.dir(), args.profile.as_deref())?;
    let files: Vec<String> = config
        .files()
        .iter()
        .map(|f| {
            f.strip_prefix(project.dir())
                .unwrap_or(f)
                .display()
                .to_string()
        })
        .collect();
    ui.note(format!(
        "profile {}; {}",
        config.profile(),
        if files.is_empty() {
            "no configuration files (built-in defaults and CORTEX_* variables)".to_string()
        } else {
            format!("read {}", files.join(", "))
        }
    ));
    let text = match args.format {
        ConfigFormat::Toml => config.to_toml_redacted(),
        ConfigFormat::Json => {
            let mut json = serde_json::to_string_pretty(&config.redacted())
                .map_err(|e| CliError::new(format!("cannot write the configuration: {e}")))?;
            json.push('\n');
            json
        }
    };
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::new(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// Loads the configuration of the app in `dir` for `profile` (else `CORTEX_PROFILE`, else `dev`)
/// from its files and the process environment, as the app itself would.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("cortex.toml"), "[server]\nport = 4000")?;
/// let config = cortex_cli::commands::config::load(dir.path(), Some("test"))?;
/// assert_eq!(config.profile().as_str(), "test");
/// assert!(cortex_cli::commands::config::load(dir.path(), Some("no such")).is_err());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
pub fn load(dir: &Path, profile: Option<&str>) -> Result<Config> {
    let mut builder = Config::builder().dir(dir);
    if let Some(name) = profile {
        builder = builder.profile(Profile::new(name).map_err(config_error)?);
    }
    builder.load().map_err(config_error)
}

/// A configuration error as one line and a hint: the error's own `; hint: ...` becomes the hint.
///
/// ```
/// use cortex_core::config::Config;
///
/// let err = Config::from_toml("[server").unwrap_err();
/// let err = cortex_cli::commands::config::config_error(err);
/// assert!(err.message().starts_with("invalid syntax in defaults"));
/// assert!(err.hint_text().unwrap().starts_with("fix the syntax there"));
/// ```
pub fn config_error(error: ConfigError) -> CliError {
    split_hint(&error.to_string())
}

/// `message; hint: hint` as a [`CliError`] with that hint.
pub(crate) fn split_hint(text: &str) -> CliError {
    match text.split_once("; hint: ") {
        Some((message, hint)) => CliError::new(message).hint(hint),
        None => CliError::new(text),
    }
}
