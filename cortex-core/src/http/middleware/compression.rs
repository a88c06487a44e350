//! Compression: tower-http's encoders, applied only to responses worth compressing.
//!
//! tower-http's `Compression` service wraps every response body in its own body type, which the
//! router then boxes again, even when nothing is compressed (small JSON, or no
//! `Accept-Encoding`). Here the response is looked at first, and only the responses that will be
//! compressed are handed to tower-http (through a one-shot service that returns the response), so
//! the common small response passes untouched.

use std::convert::Infallible;

use axum::body::Body;
use axum::response::Response;
use futures_util::FutureExt;
use http::header::{
    ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, VARY,
};
use http::{HeaderValue, StatusCode};
use http_body::Body as _;
use tower::{Layer, ServiceExt};
use tower_http::compression::{CompressionLayer, Predicate};

use super::config::{CompressionAlgorithm, CompressionConfig};

/// tower-http's own predicate always passes: the gate has decided already.
#[derive(Clone, Copy)]
struct Decided;

impl Predicate for Decided {
    fn should_compress<B: http_body::Body>(&self, _: &http::Response<B>) -> bool {
        true
    }
}

pub(crate) struct CompressionShared {
    layer: CompressionLayer<Decided>,
    min_size: u64,
}

impl CompressionShared {
    pub(crate) fn new(config: &CompressionConfig) -> Option<Self> {
        if !config.enabled {
            return None;
        }
        let on = |a| config.algorithms.contains(&a);
        let layer = CompressionLayer::new()
            .zstd(on(CompressionAlgorithm::Zstd))
            .br(on(CompressionAlgorithm::Br))
            .gzip(on(CompressionAlgorithm::Gzip))
            .no_deflate()
            .compress_when(Decided);
        Some(CompressionShared {
            layer,
            min_size: config.min_size,
        })
    }

    /// Whether this response is worth compressing at all (regardless of what the client accepts).
    fn compressible(&self, response: &Response) -> bool {
        // Cheapest test first: most API responses are small.
        let headers = response.headers();
        let size = response.body().size_hint().exact().or_else(|| {
            headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok())
        });
        if size.is_some_and(|size| size < self.min_size) {
            return false;
        }
        let status = response.status();
        if status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            return false;
        }
        !headers.contains_key(CONTENT_ENCODING)
            && !headers.contains_key(CONTENT_RANGE)
            && headers
                .get(CONTENT_TYPE)
                .is_none_or(|ct| compressible_type(ct.as_bytes()))
    }
}

/// Media types that are already compressed, or must not be buffered (event streams, gRPC).
fn compressible_type(content_type: &[u8]) -> bool {
    let starts = |prefix: &[u8]| {
        content_type
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    if starts(b"image/") {
        return starts(b"image/svg+xml")
            || starts(b"image/bmp")
            || starts(b"image/x-icon")
            || starts(b"image/vnd.microsoft.icon");
    }
    !(starts(b"audio/")
        || starts(b"video/")
        || starts(b"font/woff")
        || starts(b"text/event-stream")
        || starts(b"application/grpc")
        || starts(b"application/zip")
        || starts(b"application/gzip")
        || starts(b"application/x-gzip")
        || starts(b"application/zstd")
        || starts(b"application/x-brotli")
        || starts(b"application/x-7z-compressed")
        || starts(b"application/x-rar-compressed")
        || starts(b"application/x-bzip2")
        || starts(b"application/x-xz")
        || starts(b"application/pdf")
        || starts(b"application/octet-stream"))
}

impl CompressionShared {
    /// Compresses `response` if it is worth it and the client accepts an encoding; otherwise
    /// passes it through (with `Vary: Accept-Encoding` when it would have been compressed).
    pub(crate) fn on_response(
        &self,
        accept: Option<HeaderValue>,
        mut response: Response,
    ) -> Response {
        if !self.compressible(&response) {
            return response;
        }
        match accept {
            Some(accept) => compress(&self.layer, accept, response),
            None => {
                // Nothing accepted: caches must still tell this identity response from the others.
                response
                    .headers_mut()
                    .append(VARY, HeaderValue::from_static("accept-encoding"));
                response
            }
        }
    }
}

/// Runs tower-http's `Compression` over a service that returns `response` at once.
fn compress(
    layer: &CompressionLayer<Decided>,
    accept: HeaderValue,
    response: Response,
) -> Response {
    let mut request = http::Request::new(());
    request.headers_mut().insert(ACCEPT_ENCODING, accept);
    let mut response = Some(response);
    let one_shot = tower::service_fn(move |_: http::Request<()>| {
        std::future::ready(Ok::<_, Infallible>(response.take().expect("called once")))
    });
    match layer.layer(one_shot).oneshot(request).now_or_never() {
        Some(Ok(compressed)) => compressed.map(Body::new),
        Some(Err(never)) => match never {},
        None => unreachable!(
            "the one-shot service and tower-http's compression future are ready at once"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn already_compressed_types_are_left_alone() {
        assert!(compressible_type(b"application/json"));
        assert!(compressible_type(b"text/html; charset=utf-8"));
        assert!(compressible_type(b"image/svg+xml"));
        assert!(!compressible_type(b"image/png"));
        assert!(!compressible_type(b"text/event-stream"));
        assert!(!compressible_type(b"application/zip"));
        assert!(!compressible_type(b"Video/MP4"));
    }
}
