//! Request ids: generated from a per-thread generator seeded once, or taken from the request.

use std::cell::Cell;
use std::fmt;
use std::hash::{BuildHasher, Hasher};

use axum::extract::FromRequestParts;
use axum::extract::OptionalFromRequestParts;
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::http::Problem;

/// The default request id header; under another name the id is also kept in the extensions.
pub(crate) static DEFAULT_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request: taken from the configured header (`x-request-id`) when the
/// client or proxy sent a well-formed one and `trust_incoming` is on, generated otherwise.
///
/// The middleware puts it in the request header (replacing a missing, malformed or distrusted
/// one), echoes it in the response header and records it in the request's tracing span; under a
/// custom header name it is also kept in the request's extensions. With the middleware off, the
/// extractor reads a well-formed `x-request-id` as the client sent it. Generated ids are 32 lowercase hex digits (128 bits, the size of a W3C
/// trace id) from a per-thread generator seeded once: no system call per request.
///
/// Handlers take it as an extractor (`Option<RequestId>` when the middleware may be off):
///
/// ```
/// use cortex_core::http::middleware::RequestId;
///
/// async fn handler(id: RequestId) -> String {
///     format!("your request is {id}")
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::get(handler));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// A fresh id from this thread's generator.
    ///
    /// ```
    /// use cortex_core::http::middleware::RequestId;
    ///
    /// let (a, b) = (RequestId::generate(), RequestId::generate());
    /// assert_ne!(a, b);
    /// assert_eq!(a.as_str().len(), 32);
    /// ```
    pub fn generate() -> Self {
        let (hi, lo) = next_random();
        let mut buf = [0u8; 32];
        hex(hi, &mut buf[..16]);
        hex(lo, &mut buf[16..]);
        // `from_owner` keeps the bytes and a reference count in one allocation, so the clones
        // for the extensions and the response header are counter increments.
        let value = HeaderValue::from_maybe_shared(Bytes::from_owner(buf))
            .expect("hex digits are a valid header value");
        RequestId(value)
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        // Both constructors admit visible ASCII only.
        self.0.to_str().unwrap_or_default()
    }

    /// The id as a header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }

    /// The header value, by value.
    pub fn into_header_value(self) -> HeaderValue {
        self.0
    }

    /// The id of a request, as the middleware put it in force: from the extensions (when the
    /// header has a custom name), else from a well-formed `x-request-id` header.
    pub fn from_parts(extensions: &http::Extensions, headers: &HeaderMap) -> Option<Self> {
        if let Some(id) = extensions.get::<RequestId>() {
            return Some(id.clone());
        }
        headers
            .get(&DEFAULT_HEADER)
            .and_then(RequestId::from_header)
    }

    /// Accepts an incoming id: 1 to 128 visible ASCII characters (so it cannot forge log lines).
    ///
    /// ```
    /// use cortex_core::http::middleware::RequestId;
    /// use http::HeaderValue;
    ///
    /// assert!(RequestId::from_header(&HeaderValue::from_static("abc-123")).is_some());
    /// assert!(RequestId::from_header(&HeaderValue::from_static("")).is_none());
    /// assert!(RequestId::from_header(&HeaderValue::from_static("two words")).is_none());
    /// ```
    pub fn from_header(value: &HeaderValue) -> Option<Self> {
        let bytes = value.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= 128
            && bytes.iter().all(|b| (0x21..=0x7e).contains(b));
        ok.then(|| RequestId(value.clone()))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        RequestId::from_parts(&parts.extensions, &parts.headers).ok_or_else(|| {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR)
                .with_detail("no request id: the request id middleware is off (set [http.request_id] enabled = true, or extract Option<RequestId>)")
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(RequestId::from_parts(&parts.extensions, &parts.headers))
    }
}

thread_local! {
    /// A Weyl sequence per thread, seeded once from the standard library's per-thread random
    /// keys (one `getrandom` per thread, never per request); outputs go through splitmix64.
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    if let Ok(elapsed) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(elapsed.as_nanos());
    }
    hasher.finish()
}

fn next_random() -> (u64, u64) {
    const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
    STATE.with(|state| {
        let a = state.get().wrapping_add(GOLDEN);
        let b = a.wrapping_add(GOLDEN);
        state.set(b);
        (splitmix64(a), splitmix64(b))
    })
}

fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The two lowercase hex digits of every byte.
static HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        pairs[i] = [DIGITS[i >> 4], DIGITS[i & 0xf]];
        i += 1;
    }
    pairs
};

/// `value` as 16 hex digits into `out` (16 bytes), a byte at a time.
fn hex(value: u64, out: &mut [u8]) {
    for (pair, byte) in out.chunks_exact_mut(2).zip(value.to_be_bytes()) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(byte)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_ids_are_unique_hex() {
        let ids: HashSet<_> = (0..10_000)
            .map(|_| RequestId::generate().as_str().to_string())
            .collect();
        assert_eq!(ids.len(), 10_000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn threads_get_different_sequences() {
        let here = RequestId::generate();
        let there = std::thread::spawn(RequestId::generate).join().unwrap();
        assert_ne!(here, there);
    }

    #[test]
    fn the_extractor_reads_the_default_header_or_the_extension() {
        let mut headers = HeaderMap::new();
        headers.insert(&DEFAULT_HEADER, HeaderValue::from_static("from-proxy"));
        let mut extensions = http::Extensions::new();
        assert_eq!(
            RequestId::from_parts(&extensions, &headers)
                .unwrap()
                .as_str(),
            "from-proxy"
        );
        extensions.insert(RequestId::generate());
        assert_ne!(
            RequestId::from_parts(&extensions, &headers)
                .unwrap()
                .as_str(),
            "from-proxy"
        );
    }
}
