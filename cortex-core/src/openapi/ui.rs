//! The `/docs` page: a few lines of HTML that make the browser load Swagger UI or RapiDoc from a
//! CDN (or `assets_url`) and point it at the document.

use super::{DocsUi, OpenApiConfig};

/// The pinned Swagger UI files on jsDelivr, with their subresource-integrity hashes.
const SWAGGER_ASSETS: &str = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0";
const SWAGGER_JS_INTEGRITY: &str =
    "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9";
const SWAGGER_CSS_INTEGRITY: &str =
    "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I";

/// The pinned RapiDoc file on jsDelivr, with its subresource-integrity hash.
const RAPIDOC_ASSETS: &str = "https://cdn.jsdelivr.net/npm/rapidoc@9.3.8/dist";
const RAPIDOC_JS_INTEGRITY: &str =
    "sha384-szzoYhqSJqZH8X90KwbBjYL1CMLEa3U7xl/oAZg4ViKpYEY5GVhM+peBQB4u7ANM";

/// Starts Swagger UI on the document named by the `data-url` of `#swagger-ui`. It never changes
/// with the configuration, so the page's CSP allows it by hash ([`SWAGGER_INIT_SHA256`]).
const SWAGGER_INIT: &str = r##"window.addEventListener("load",function(){var e=document.getElementById("swagger-ui");window.ui=SwaggerUIBundle({url:e.dataset.url,dom_id:"#swagger-ui",deepLinking:true,validatorUrl:null});});"##;
/// `base64(sha256(SWAGGER_INIT))`, checked by a test.
const SWAGGER_INIT_SHA256: &str = "95pWUxq29GCRS5+RsGnJoh23i4TPtSYHvVzV42FJZYQ=";

/// The page, and the `Content-Security-Policy` it needs (the default policy of the security
/// headers allows no CDN and no inline script).
pub(crate) struct DocsPage {
    pub(crate) html: String,
    pub(crate) csp: String,
}

/// Builds the page for `config` (its `docs_path` is not empty).
pub(crate) fn docs_page(config: &OpenApiConfig) -> DocsPage {
    let spec_url = relative_url(&config.docs_path, &config.path);
    let (default_assets, ui) = match config.ui {
        DocsUi::Swagger => (SWAGGER_ASSETS, DocsUi::Swagger),
        DocsUi::Rapidoc => (RAPIDOC_ASSETS, DocsUi::Rapidoc),
    };
    let assets = config
        .assets_url
        .as_deref()
        .unwrap_or(default_assets)
        .trim_end_matches('/');
    // Integrity only for the files it was computed from.
    let integrity = |hash: &str| {
        if assets == default_assets {
            format!(r#" integrity="{hash}" crossorigin="anonymous""#)
        } else {
            String::new()
        }
    };
    let source = asset_origin(assets);
    let title = escape(&config.title);
    let assets = escape(assets);
    let spec_url = escape(&spec_url);
    let (head, body, script_src) = match ui {
        DocsUi::Swagger => (
            format!(
                r#"<link rel="stylesheet" href="{assets}/swagger-ui.css"{}>"#,
                integrity(SWAGGER_CSS_INTEGRITY)
            ),
            format!(
                r#"<div id="swagger-ui" data-url="{spec_url}"></div>
<script src="{assets}/swagger-ui-bundle.js"{}></script>
<script>{SWAGGER_INIT}</script>"#,
                integrity(SWAGGER_JS_INTEGRITY)
            ),
            format!("{source} 'sha256-{SWAGGER_INIT_SHA256}'"),
        ),
        DocsUi::Rapidoc => (
            String::new(),
            format!(
                r#"<rapi-doc spec-url="{spec_url}" render-style="read" show-header="false"></rapi-doc>
<script src="{assets}/rapidoc-min.js"{}></script>"#,
                integrity(RAPIDOC_JS_INTEGRITY)
            ),
            source.clone(),
        ),
    };
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{head}
</head>
<body>
{body}
</body>
</html>
"#
    );
    let csp = format!(
        "default-src 'none'; script-src {script_src}; style-src {source} 'unsafe-inline'; \
         img-src 'self' data: {source}; font-src {source} data:; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    DocsPage { html, csp }
}

/// The CSP source for files under `assets`: its origin when absolute, `'self'` otherwise.
fn asset_origin(assets: &str) -> String {
    for scheme in ["https://", "http://"] {
        if let Some(rest) = assets.strip_prefix(scheme) {
            let host = rest.split('/').next().unwrap_or(rest);
            return format!("{scheme}{host}");
        }
    }
    "'self'".to_string()
}

/// `to` relative to the page at `from`, so the page works behind a proxy that adds a path
/// prefix: `("/docs", "/openapi.json")` → `openapi.json`, `("/api/docs", "/openapi.json")` →
/// `../openapi.json`.
fn relative_url(from: &str, to: &str) -> String {
    let from_dir: Vec<&str> = {
        let mut parts: Vec<&str> = from.split('/').skip(1).collect();
        parts.pop(); // the page itself
        parts
    };
    let target: Vec<&str> = to.split('/').skip(1).collect();
    let common = from_dir
        .iter()
        .zip(&target)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = "../".repeat(from_dir.len() - common);
    out.push_str(&target[common..].join("/"));
    if out.is_empty() { ".".to_string() } else { out }
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use sha2::Digest;

    use super::*;

    fn base64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn the_inline_script_matches_its_csp_hash() {
        let digest = sha2::Sha256::digest(SWAGGER_INIT.as_bytes());
        assert_eq!(base64(&digest), SWAGGER_INIT_SHA256);
    }

    #[test]
    fn the_document_is_referenced_relative_to_the_page() {
        assert_eq!(relative_url("/docs", "/openapi.json"), "openapi.json");
        assert_eq!(
            relative_url("/api/docs", "/openapi.json"),
            "../openapi.json"
        );
        assert_eq!(
            relative_url("/api/docs", "/api/openapi.json"),
            "openapi.json"
        );
        assert_eq!(
            relative_url("/docs", "/api/v1/spec.json"),
            "api/v1/spec.json"
        );
    }

    #[test]
    fn the_page_loads_the_pinned_ui_with_integrity_and_a_matching_policy() {
        let page = docs_page(&OpenApiConfig::default());
        assert!(
            page.html.contains(r#"data-url="openapi.json""#),
            "{}",
            page.html
        );
        assert!(
            page.html
                .contains("swagger-ui-dist@5.35.0/swagger-ui-bundle.js")
        );
        assert!(page.html.contains(SWAGGER_JS_INTEGRITY));
        assert!(
            page.csp
                .contains("script-src https://cdn.jsdelivr.net 'sha256-"),
            "{}",
            page.csp
        );
        assert!(page.csp.contains("connect-src 'self'"));
    }

    #[test]
    fn own_assets_drop_the_integrity_and_are_allowed_by_the_policy() {
        let config = OpenApiConfig {
            ui: DocsUi::Rapidoc,
            assets_url: Some("/static/rapidoc/".into()),
            title: "<Blog>".into(),
            ..OpenApiConfig::default()
        };
        let page = docs_page(&config);
        assert!(
            page.html
                .contains(r#"<script src="/static/rapidoc/rapidoc-min.js"></script>"#),
            "{}",
            page.html
        );
        assert!(page.html.contains("<title>&lt;Blog&gt;</title>"));
        assert!(page.csp.contains("script-src 'self';"), "{}", page.csp);
    }
}
