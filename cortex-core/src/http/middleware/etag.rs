//! ETags and conditional GET (RFC 9110 §13): `If-None-Match`, then `If-Modified-Since`.
//!
//! tower-http has no ETag layer. This one hashes fully buffered `GET`/`HEAD` `200` bodies from
//! `min_size` (1 KiB) to `max_size` (256 KiB) with foldhash (a fixed seed, so every instance of the same build agrees) into a weak ETag,
//! `W/"<length>-<hash>"`. Weak because compression, which runs after, may encode the bytes
//! differently; the representation is the same. Responses that already carry a validator (their
//! own `ETag`, or `Last-Modified` as static files do) are not hashed, but their validators are
//! honoured.

use std::hash::BuildHasher;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use http::header::{
    CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    LAST_MODIFIED, TRANSFER_ENCODING,
};
use http::{HeaderValue, Method, StatusCode};
use http_body::Body as _;

use super::config::EtagConfig;

/// The seed of the ETag hash; changing it changes every ETag.
const SEED: u64 = 0x636f_7274_6578_0001;

#[derive(Clone, Copy)]
pub(crate) struct EtagSettings {
    enabled: bool,
    min_size: u64,
    max_size: u64,
}

/// The conditional headers of a `GET` or `HEAD` request.
pub(crate) struct Conditions {
    if_none_match: Option<HeaderValue>,
    if_modified_since: Option<HeaderValue>,
}

impl Conditions {
    /// The conditions of a request with these headers, if it has any (boxed: most requests have
    /// none). `If-Modified-Since` counts only without `If-None-Match` (RFC 9110 §13.1.3).
    pub(crate) fn new(
        if_none_match: Option<&HeaderValue>,
        if_modified_since: Option<&HeaderValue>,
    ) -> Option<Box<Self>> {
        let conditions = match (if_none_match, if_modified_since) {
            (Some(if_none_match), _) => Conditions {
                if_none_match: Some(if_none_match.clone()),
                if_modified_since: None,
            },
            (None, Some(since)) => Conditions {
                if_none_match: None,
                if_modified_since: Some(since.clone()),
            },
            (None, None) => return None,
        };
        Some(Box::new(conditions))
    }
}

impl EtagSettings {
    pub(crate) fn new(config: &EtagConfig) -> Self {
        EtagSettings {
            enabled: config.enabled,
            min_size: config.min_size,
            max_size: config.max_size,
        }
    }

    /// Whether this request's response is ours to tag: a `GET` or `HEAD`, with ETags on.
    pub(crate) fn wants(&self, req: &Request) -> bool {
        self.enabled && (req.method() == Method::GET || req.method() == Method::HEAD)
    }

    /// Whether the body of this response should be buffered and hashed.
    pub(crate) fn should_hash(&self, response: &Response) -> bool {
        response.status() == StatusCode::OK && should_hash(response, self.min_size, self.max_size)
    }
}

/// Accumulates a response body to hash it: one data frame (the usual case, no copy) or several.
#[derive(Default)]
pub(crate) struct Buffer {
    first: Option<Bytes>,
    rest: Option<BytesMut>,
}

impl Buffer {
    /// Polls `body` to its end; `Err` if it fails.
    pub(crate) fn poll_fill(
        &mut self,
        body: &mut Body,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), axum::Error>> {
        loop {
            match std::task::ready!(Pin::new(&mut *body).poll_frame(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Err(error)) => return Poll::Ready(Err(error)),
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    match (&mut self.first, &mut self.rest) {
                        (None, _) => self.first = Some(data),
                        (Some(first), None) => {
                            let mut rest = BytesMut::with_capacity(first.len() + data.len());
                            rest.extend_from_slice(first);
                            rest.extend_from_slice(&data);
                            self.rest = Some(rest);
                        }
                        (Some(_), Some(rest)) => rest.extend_from_slice(&data),
                    }
                }
            }
        }
    }

    pub(crate) fn into_bytes(self) -> Bytes {
        match (self.first, self.rest) {
            (_, Some(rest)) => rest.freeze(),
            (Some(first), None) => first,
            (None, None) => Bytes::new(),
        }
    }
}

/// Adds the ETag of `bytes` to `parts` and rebuilds the response.
pub(crate) fn tagged(mut parts: http::response::Parts, bytes: Bytes) -> Response {
    parts.headers.insert(ETAG, etag_for(&bytes));
    Response::from_parts(parts, Body::from(bytes))
}

/// Complete, unvalidated, unencoded bodies of moderate size get an ETag.
fn should_hash(response: &Response, min_size: u64, max_size: u64) -> bool {
    let Some(size) = response.body().size_hint().exact() else {
        return false;
    };
    if size < min_size || size > max_size {
        return false;
    }
    // A response has a handful of headers: one pass over them is cheaper than three lookups.
    let mut stripped = false;
    for (name, value) in response.headers() {
        if name == ETAG || name == LAST_MODIFIED || name == CONTENT_ENCODING {
            return false;
        }
        // An empty body with a non-zero length: a `HEAD` answer whose body axum already dropped
        // (the stack wraps the whole router); its hash would not be the `GET` body's.
        stripped |= size == 0 && name == CONTENT_LENGTH && value != "0";
    }
    !stripped
}

/// `W/"<length in hex>-<64-bit hash in hex>"`.
fn etag_for(bytes: &[u8]) -> HeaderValue {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let hash = foldhash::fast::FixedState::with_seed(SEED).hash_one(bytes);
    let mut out = [0u8; 3 + 16 + 1 + 16 + 1];
    out[..3].copy_from_slice(b"W/\"");
    let mut at = 3;
    let len = bytes.len() as u64;
    let len_digits = (16 - len.leading_zeros() as usize / 4).max(1);
    for i in (0..len_digits).rev() {
        out[at] = DIGITS[((len >> (i * 4)) & 0xf) as usize];
        at += 1;
    }
    out[at] = b'-';
    at += 1;
    for i in (0..16).rev() {
        out[at] = DIGITS[((hash >> (i * 4)) & 0xf) as usize];
        at += 1;
    }
    out[at] = b'"';
    HeaderValue::from_bytes(&out[..=at]).expect("hex digits are a valid header value")
}

/// Answers `304` when the request's conditions say the client's copy is fresh.
pub(crate) fn evaluate(response: Response, conditions: &Conditions) -> Response {
    if response.status() != StatusCode::OK {
        return response;
    }
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
