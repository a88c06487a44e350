//! `[[http.static]]`: directories served with tower-http's `ServeDir` (`Range`/`206`/`416`,
//! `If-Modified-Since`, `Last-Modified`, precompressed siblings), its error answers turned into
//! problem details.

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use tower::ServiceBuilder;
use tower_http::services::ServeDir;

use super::config::{HttpConfigError, StaticFilesConfig};
use crate::http::Problem;

/// A missing directory is a startup error, not a stream of 404s.
pub(crate) fn check(mounts: &[StaticFilesConfig]) -> Result<(), HttpConfigError> {
    for (i, mount) in mounts.iter().enumerate() {
        if !mount.dir.is_dir() {
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            return Err(HttpConfigError::single(
                format!("http.static[{i}].dir"),
                format!("{} is not a directory", mount.dir.display()),
                Some(format!(
                    "create it, or fix the path (relative paths start at the working directory, {cwd})"
                )),
            ));
        }
    }
    Ok(())
}

/// Mounts every configured directory on `router` (`"/"` becomes the fallback).
pub(crate) fn mount<S>(mut router: Router<S>, mounts: &[StaticFilesConfig]) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    for mount in mounts {
        let mut dir = ServeDir::new(&mount.dir).append_index_html_on_directories(mount.index);
        if mount.precompressed {
            dir = dir
                .precompressed_zstd()
                .precompressed_br()
                .precompressed_gzip();
        }
        let cache_control = mount
            .cache_control
            .as_deref()
            .map(|v| HeaderValue::from_str(v).expect("validated"));
        let service = ServiceBuilder::new()
            .map_response(move |response| finish(response, cache_control.as_ref()))
            .service(dir);
        router = if mount.path == "/" {
            router.fallback_service(service)
        } else {
            router.nest_service(&mount.path, service)
        };
    }
    router
}

fn finish<B>(response: http::Response<B>, cache_control: Option<&HeaderValue>) -> Response
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let detail = match status {
            StatusCode::NOT_FOUND => "no file at this path",
            StatusCode::RANGE_NOT_SATISFIABLE => "the requested range is not satisfiable",
            StatusCode::METHOD_NOT_ALLOWED => "static files answer GET and HEAD only",
            _ => "the file could not be served",
        };
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(CONTENT_LENGTH);
        parts.headers.remove(CONTENT_TYPE);
        let (problem, body) = Problem::new(status)
            .with_detail(detail)
            .into_response()
            .into_parts();
        parts.headers.extend(problem.headers);
        return Response::from_parts(parts, body);
    }
    let mut response = response.map(Body::new);
    if let Some(value) = cache_control {
        response
            .headers_mut()
            .entry(CACHE_CONTROL)
            .or_insert_with(|| value.clone());
    }
    response
}
