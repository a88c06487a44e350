//! The `[openapi]` section.

use serde::Deserialize;

use crate::config::{Config, ConfigError};

/// The `[openapi]` section: the document's title and version, and where it and the interactive
/// UI are served.
///
/// ```toml
/// [openapi]
/// enabled = true                 # serve the document and the UI (default true)
/// title = "Blog API"             # default "API"
/// version = "1.2.0"              # default "0.1.0"
/// description = "Posts and comments."
/// path = "/openapi.json"         # the document (default)
/// docs_path = "/docs"            # the UI (default); "" serves the document alone
/// ui = "swagger"                 # "swagger" (default) or "rapidoc"
/// # assets_url = "https://cdn.example.com/swagger-ui-dist@5.35.0"   # where the browser loads the UI from
/// ```
///
/// The UI page is a few lines of HTML: the browser loads Swagger UI (or RapiDoc) from a CDN
/// (`cdn.jsdelivr.net`, pinned versions with subresource integrity), so nothing is bundled
/// into the binary. Point `assets_url` at your own copy of the npm package's files when
/// browsers cannot reach the CDN.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_core::openapi::{DocsUi, OpenApiConfig};
///
/// let config = Config::from_toml("[openapi]\ntitle = 'Blog'\nui = 'rapidoc'")?;
/// let openapi = OpenApiConfig::from_config(&config)?;
/// assert_eq!((openapi.title.as_str(), openapi.ui), ("Blog", DocsUi::Rapidoc));
/// assert_eq!(openapi.path, "/openapi.json");
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OpenApiConfig {
    /// Whether the document and the UI are built and served. Default `true`; set
    /// `enabled = false` in `cortex.prod.toml` to keep the API's shape private.
    pub enabled: bool,
    /// `info.title`. Default `"API"`.
    pub title: String,
    /// `info.version`: the version of your API, not of Cortex. Default `"0.1.0"`.
    pub version: String,
    /// `info.description` (Markdown).
    pub description: Option<String>,
    /// Where the document is served. Default `/openapi.json`.
    pub path: String,
    /// Where the UI is served; empty for no UI. Default `/docs`.
    pub docs_path: String,
    /// Which UI the page loads.
    pub ui: DocsUi,
    /// The base URL the browser loads the UI's files from (absolute, or a path on this server).
    /// Default: the pinned version on `cdn.jsdelivr.net`.
    pub assets_url: Option<String>,
}

/// The interactive UI served at `docs_path`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DocsUi {
    /// [Swagger UI](https://swagger.io/tools/swagger-ui/) (`swagger-ui-dist` on npm): browse and
    /// try every operation.
    #[default]
    Swagger,
    /// [RapiDoc](https://rapidocweb.com/) (`rapidoc` on npm): a single-script reader with a
    /// console.
    Rapidoc,
}

impl Default for OpenApiConfig {
    fn default() -> Self {
        OpenApiConfig {
            enabled: true,
            title: "API".to_string(),
            version: "0.1.0".to_string(),
            description: None,
            path: "/openapi.json".to_string(),
            docs_path: "/docs".to_string(),
            ui: DocsUi::Swagger,
            assets_url: None,
        }
    }
}

impl OpenApiConfig {
    /// Reads `[openapi]` (the defaults when it is absent) and checks the paths.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let openapi: OpenApiConfig = config.get_or_default("openapi")?;
        let invalid = |key: &str, expected: &str| ConfigError::Invalid {
            key: format!("openapi.{key}"),
            origin: config.origin(&format!("openapi.{key}")).cloned(),
            expected: expected.to_string(),
            found: "a string",
        };
        let plain_path = |p: &str| p.starts_with('/') && !p.contains(['{', '}', '*', ' ']);
        if !plain_path(&openapi.path) {
            return Err(invalid(
                "path",
                "a fixed path starting with `/`, such as \"/openapi.json\"",
            ));
        }
        if !openapi.docs_path.is_empty() && !plain_path(&openapi.docs_path) {
            return Err(invalid(
                "docs_path",
                "a fixed path starting with `/`, such as \"/docs\", or \"\" for no UI",
            ));
        }
        if openapi.docs_path == openapi.path {
            return Err(invalid("docs_path", "a path other than `openapi.path`"));
        }
        Ok(openapi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_the_document_and_swagger_ui() {
        let config = OpenApiConfig::from_config(&Config::from_toml("").unwrap()).unwrap();
        assert_eq!(config, OpenApiConfig::default());
        assert!(config.enabled);
        assert_eq!(config.docs_path, "/docs");
    }

    #[test]
    fn paths_are_checked() {
        let err = OpenApiConfig::from_config(&Config::from_toml("openapi.path = 'spec'").unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("openapi.path"), "{err}");
        assert!(err.contains("starting with `/`"), "{err}");
        let err = OpenApiConfig::from_config(
            &Config::from_toml("openapi.docs_path = '/openapi.json'").unwrap(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("other than"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = OpenApiConfig::from_config(&Config::from_toml("openapi.titel = 'x'").unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("titel"), "{err}");
    }
}
