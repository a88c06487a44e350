//! Header helpers for the hot path, shared by the middleware stack's parts. A leaf.
//!
//! A request or response usually has a handful of headers: comparing their names one by one is
//! cheaper than hashing the name for a lookup, so small maps are scanned.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Up to how many headers a request's are scanned rather than looked up.
pub(crate) const SCAN_UP_TO: usize = 16;

/// The first value of `name` in `headers`, compared name by name in a small map (see
/// `find_headers` in the middleware stack): for the request-id header and the response's `Content-Length`.
pub(crate) fn scan<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h HeaderValue> {
    if headers.keys_len() > SCAN_UP_TO {
        return headers.get(name);
    }
    headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// `Content-Length` as axum writes it: from a small per-thread cache of recent lengths, since an
/// endpoint's responses tend to repeat their sizes. Formatting a fresh value allocates; a cached
/// one is a reference count increment (docs/src/performance.md#changes-made-for-the-targets).
pub(crate) fn content_length(length: u64) -> HeaderValue {
    const SLOTS: usize = 64;
    std::thread_local! {
        static RECENT: std::cell::RefCell<[Option<(u64, HeaderValue)>; SLOTS]> =
            const { std::cell::RefCell::new([const { None }; SLOTS]) };
    }
    if length == 0 {
        return HeaderValue::from_static("0");
    }
    RECENT.with_borrow_mut(|recent| {
        let slot = &mut recent[(length % SLOTS as u64) as usize];
        match slot {
            Some((cached, value)) if *cached == length => value.clone(),
            _ => {
                let value = HeaderValue::from(length);
                *slot = Some((length, value.clone()));
                value
            }
        }
    })
}
