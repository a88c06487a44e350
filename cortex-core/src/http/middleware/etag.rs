//! ETags and conditional GET (RFC 9110 §13): `If-None-Match`, then `If-Modified-Since`.
//!
//! tower-http has no ETag layer. This one hashes small, fully buffered `GET`/`HEAD` `200` bodies
//! with foldhash (a fixed seed, so every instance of the same build agrees) into a weak ETag,
//! `W/"<length>-<hash>"`. Weak because the compression layer outside may encode the bytes
//! differently; the representation is the same. Responses that already carry a validator (their
//! own `ETag`, or `Last-Modified` as static files do) are not hashed, but their validators are
//! honoured.

use std::hash::BuildHasher;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{
    CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, TRANSFER_ENCODING,
};
use http::{HeaderValue, Method, StatusCode};
use http_body::Body as _;
use http_body_util::BodyExt;
use http_body_util::combinators::Collect;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::config::EtagConfig;
use crate::http::Problem;

/// The seed of the ETag hash; changing it changes every ETag.
const SEED: u64 = 0x636f_7274_6578_0001;

#[derive(Clone, Copy)]
pub(crate) struct EtagLayer {
    enabled: bool,
    max_size: u64,
}

impl EtagLayer {
    pub(crate) fn new(config: &EtagConfig) -> Self {
        EtagLayer {
            enabled: config.enabled,
            max_size: config.max_size,
        }
    }
}

impl<S> Layer<S> for EtagLayer {
    type Service = Etag<S>;

    fn layer(&self, inner: S) -> Etag<S> {
        Etag {
            inner,
            settings: *self,
        }
    }
}

#[derive(Clone)]
pub(crate) struct Etag<S> {
    inner: S,
    settings: EtagLayer,
}

impl<S> Service<Request> for Etag<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = EtagFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if !self.settings.enabled || !(req.method() == Method::GET || req.method() == Method::HEAD)
        {
            return EtagFuture {
                state: EtagState::Passthrough {
                    future: self.inner.call(req),
                },
            };
        }
        let if_none_match = req.headers().get(IF_NONE_MATCH).cloned();
        // `If-Modified-Since` is ignored when `If-None-Match` is present (RFC 9110 §13.1.3).
        let if_modified_since = if if_none_match.is_none() {
            req.headers().get(IF_MODIFIED_SINCE).cloned()
        } else {
            None
        };
        let conditions = Conditions {
            if_none_match,
            if_modified_since,
            max_size: self.settings.max_size,
        };
        EtagFuture {
            state: EtagState::Inner {
                future: self.inner.call(req),
                conditions: Some(conditions),
            },
        }
    }
}

struct Conditions {
    if_none_match: Option<HeaderValue>,
    if_modified_since: Option<HeaderValue>,
    max_size: u64,
}

pin_project! {
    pub(crate) struct EtagFuture<F> {
        #[pin]
        state: EtagState<F>,
    }
}

pin_project! {
    #[project = EtagStateProj]
    enum EtagState<F> {
        Passthrough { #[pin] future: F },
        Inner { #[pin] future: F, conditions: Option<Conditions> },
        Buffering { #[pin] collect: Collect<Body>, parts: Option<http::response::Parts>, conditions: Option<Conditions> },
    }
}

impl<F, E> Future for EtagFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                EtagStateProj::Passthrough { future } => return future.poll(cx),
                EtagStateProj::Inner { future, conditions } => {
                    let response = match future.poll(cx) {
                        Poll::Ready(Ok(response)) => response,
                        other => return other,
                    };
                    let conditions = conditions.take().expect("polled after completion");
                    if response.status() != StatusCode::OK {
                        return Poll::Ready(Ok(response));
                    }
                    if !should_hash(&response, conditions.max_size) {
                        return Poll::Ready(Ok(evaluate(response, &conditions)));
                    }
                    let (parts, body) = response.into_parts();
                    state.set(EtagState::Buffering {
                        collect: body.collect(),
                        parts: Some(parts),
                        conditions: Some(conditions),
                    });
                }
                EtagStateProj::Buffering {
                    collect,
                    parts,
                    conditions,
                } => {
                    let collected = match collect.poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(collected) => collected,
                    };
                    let mut parts = parts.take().expect("polled after completion");
                    let conditions = conditions.take().expect("polled after completion");
                    let bytes = match collected {
                        Ok(collected) => collected.to_bytes(),
                        Err(error) => {
                            tracing::warn!(%error, "failed to read a response body");
                            return Poll::Ready(Ok(Problem::new(
                                StatusCode::INTERNAL_SERVER_ERROR,
                            )
                            .into_response()));
                        }
                    };
                    parts.headers.insert(ETAG, etag_for(&bytes));
                    let response = Response::from_parts(parts, Body::from(bytes));
                    return Poll::Ready(Ok(evaluate(response, &conditions)));
                }
            }
        }
    }
}

/// Small, complete, unvalidated, unencoded bodies get an ETag.
fn should_hash(response: &Response, max_size: u64) -> bool {
    let headers = response.headers();
    !headers.contains_key(ETAG)
        && !headers.contains_key(LAST_MODIFIED)
        && !headers.contains_key(CONTENT_ENCODING)
        && response
            .body()
            .size_hint()
            .exact()
            .is_some_and(|size| size <= max_size)
}

/// `W/"<length in hex>-<64-bit hash in hex>"`.
fn etag_for(bytes: &[u8]) -> HeaderValue {
    let hash = foldhash::fast::FixedState::with_seed(SEED).hash_one(bytes);
    let value = format!("W/\"{:x}-{hash:016x}\"", bytes.len());
    HeaderValue::from_str(&value).expect("hex digits are a valid header value")
}

fn evaluate(response: Response, conditions: &Conditions) -> Response {
    let headers = response.headers();
    let fresh = if let Some(if_none_match) = &conditions.if_none_match {
        headers
            .get(ETAG)
            .is_some_and(|etag| none_match_hits(if_none_match.as_bytes(), etag.as_bytes()))
    } else if let Some(if_modified_since) = &conditions.if_modified_since {
        let parse = |v: &HeaderValue| {
            v.to_str()
                .ok()
                .and_then(|s| httpdate::parse_http_date(s).ok())
        };
        match (
            headers.get(LAST_MODIFIED).and_then(parse),
            parse(if_modified_since),
        ) {
            (Some(last_modified), Some(since)) => last_modified <= since,
            _ => false,
        }
    } else {
        false
    };
    if fresh {
        not_modified(response)
    } else {
        response
    }
}

/// A `304` keeping the validators and caching headers, without content or its metadata.
fn not_modified(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::NOT_MODIFIED;
    for name in [
        CONTENT_TYPE,
        CONTENT_LENGTH,
        CONTENT_ENCODING,
        CONTENT_LANGUAGE,
        CONTENT_RANGE,
        TRANSFER_ENCODING,
    ] {
        parts.headers.remove(name);
    }
    Response::from_parts(parts, Body::empty())
}

/// Weak comparison of `etag` with an `If-None-Match` list (`*`, `"a"`, `W/"b", "c"`).
fn none_match_hits(list: &[u8], etag: &[u8]) -> bool {
    let etag = etag.trim_ascii();
    let ours = etag.strip_prefix(b"W/").unwrap_or(etag);
    let list = list.trim_ascii();
    if list == b"*" {
        return true;
    }
    let mut rest = list;
    loop {
        rest = rest.trim_ascii_start();
        while let Some(after) = rest.strip_prefix(b",") {
            rest = after.trim_ascii_start();
        }
        if rest.is_empty() {
            return false;
        }
        let body = rest.strip_prefix(b"W/").unwrap_or(rest);
        let Some(after_quote) = body.strip_prefix(b"\"") else {
            return false;
        };
        let Some(end) = after_quote.iter().position(|&b| b == b'"') else {
            return false;
        };
        let tag = &body[..end + 2];
        if tag == ours {
            return true;
        }
        rest = &after_quote[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_are_compared_weakly() {
        assert!(none_match_hits(b"\"abc\"", b"W/\"abc\""));
        assert!(none_match_hits(b"W/\"x\", W/\"abc\"", b"W/\"abc\""));
        assert!(none_match_hits(b"*", b"\"anything\""));
        assert!(none_match_hits(b" \"a,b\" ,\"c\"", b"\"a,b\""));
        assert!(!none_match_hits(b"\"abd\"", b"W/\"abc\""));
        assert!(!none_match_hits(b"abc", b"\"abc\""));
        assert!(!none_match_hits(b"", b"\"abc\""));
    }

    #[test]
    fn etags_depend_on_content_only() {
        assert_eq!(etag_for(b"hello"), etag_for(b"hello"));
        assert_ne!(etag_for(b"hello"), etag_for(b"hellp"));
        assert!(etag_for(b"hello").to_str().unwrap().starts_with("W/\"5-"));
    }
}
