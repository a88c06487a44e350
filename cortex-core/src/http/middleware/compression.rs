//! Compression: tower-http's encoders, applied only to responses worth compressing.
//!
//! tower-http's `Compression` service wraps every response body in its own body type, which the
//! router then boxes again, even when nothing is compressed (small JSON, or no
//! `Accept-Encoding`). This gate looks at the response first and hands only the responses it
//! will compress to tower-http (through a one-shot service that returns the response), so the
//! common small response passes untouched.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use futures_util::FutureExt;
use http::header::{
    ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, VARY,
};
use http::{HeaderValue, StatusCode};
use http_body::Body as _;
use pin_project_lite::pin_project;
use tower::{Layer, Service, ServiceExt};
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
        let status = response.status();
        if status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            return false;
        }
        let headers = response.headers();
        if headers.contains_key(CONTENT_ENCODING) || headers.contains_key(CONTENT_RANGE) {
            return false;
        }
        let size = response.body().size_hint().exact().or_else(|| {
            headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok())
        });
        if size.is_some_and(|size| size < self.min_size) {
            return false;
        }
        headers
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

#[derive(Clone)]
pub(crate) struct CompressionGateLayer(pub(crate) Option<Arc<CompressionShared>>);

impl<S> Layer<S> for CompressionGateLayer {
    type Service = CompressionGate<S>;

    fn layer(&self, inner: S) -> CompressionGate<S> {
        CompressionGate {
            inner,
            shared: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct CompressionGate<S> {
    inner: S,
    shared: Option<Arc<CompressionShared>>,
}

impl<S> Service<Request> for CompressionGate<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CompressionFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let accept = match &self.shared {
            Some(_) => req.headers().get(ACCEPT_ENCODING).cloned(),
            None => None,
        };
        let shared = self.shared.clone();
        CompressionFuture {
            inner: self.inner.call(req),
            shared,
            accept,
        }
    }
}

pin_project! {
    pub(crate) struct CompressionFuture<F> {
        #[pin]
        inner: F,
        shared: Option<Arc<CompressionShared>>,
        accept: Option<HeaderValue>,
    }
}

impl<F, E> Future for CompressionFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        let Some(shared) = this.shared.as_deref() else {
            return Poll::Ready(Ok(response));
        };
        if !shared.compressible(&response) {
            return Poll::Ready(Ok(response));
        }
        let Some(accept) = this.accept.take() else {
            // Nothing accepted, but a cache must not give this identity response's siblings away.
            response
                .headers_mut()
                .append(VARY, HeaderValue::from_static("accept-encoding"));
            return Poll::Ready(Ok(response));
        };
        Poll::Ready(Ok(compress(&shared.layer, accept, response)))
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
