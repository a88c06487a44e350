//! Request framing that HTTP/1.1 forbids, refused before routing: `Transfer-Encoding` applying
//! `chunked` more than once or not last, or together with `Content-Length` (RFC 9112 §6.1, §6.3).
//!
//! Two front ends that frame such a request differently (one by `Content-Length`, one by
//! `chunked`; one decoding `chunked` once, one twice) disagree on where it ends, and the bytes
//! one of them takes for the next request are how requests are smuggled past a proxy. hyper
//! refuses a coding list that does not end in `chunked`, but accepts `chunked` twice, and with
//! `Content-Length` it frames by `Transfer-Encoding` alone and drops the `Content-Length` before
//! the service sees the request. So the `Transfer-Encoding` list is checked here, on the parsed
//! head, and the `Content-Length` beside it is seen in the bytes themselves: [`Watched`] looks at
//! the start of each line hyper reads (one pass over the bytes, a few comparisons per header) and
//! flags a header block that has both.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::Exchanges;
use crate::http::Problem;

/// What is wrong with a request's framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ambiguous {
    /// `chunked` listed more than once.
    ChunkedTwice,
    /// `chunked` missing, or not the last coding.
    ChunkedNotLast,
    /// `Transfer-Encoding` and `Content-Length` together.
    BothLengths,
}

impl Ambiguous {
    fn detail(self) -> &'static str {
        match self {
            Ambiguous::ChunkedTwice => {
                "the request's Transfer-Encoding applies `chunked` more than once; it may be applied once, as the last coding (RFC 9112 §6.1)"
            }
            Ambiguous::ChunkedNotLast => {
                "the request's Transfer-Encoding does not end with `chunked`, so its body has no length; list `chunked` last (RFC 9112 §6.3)"
            }
            Ambiguous::BothLengths => {
                "the request has both Transfer-Encoding and Content-Length, so its length is ambiguous; send one of them (RFC 9112 §6.1)"
            }
        }
    }

    /// The `400` answered instead of routing the request; `Connection: close`, so hyper closes the
    /// connection after it without reading the body or a pipelined request.
    pub(super) fn response(self) -> axum::response::Response {
        use axum::response::IntoResponse;
        let mut response = Problem::new(StatusCode::BAD_REQUEST)
            .with_detail(self.detail())
            .into_response();
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        response
    }
}

/// Up to how many headers a request's are compared name by name rather than looked up (a lookup
/// hashes the name).
const SCAN_UP_TO: usize = 16;

/// Checks an HTTP/1.1 request's framing headers; `ambiguous` is what [`Watched`] saw in the
/// bytes of the connection (read and cleared only for requests with a `Transfer-Encoding`).
pub(super) fn check(headers: &HeaderMap, exchanges: &Exchanges) -> Result<(), Ambiguous> {
    let has_te = if headers.keys_len() > SCAN_UP_TO {
        headers.contains_key(TRANSFER_ENCODING)
    } else {
        headers.keys().any(|name| *name == TRANSFER_ENCODING)
    };
    if !has_te {
        return Ok(());
    }
    let flagged = exchanges.ambiguous_framing.swap(false, Ordering::Relaxed);
    codings(headers.get_all(TRANSFER_ENCODING).iter())?;
    if flagged || headers.contains_key(CONTENT_LENGTH) {
        return Err(Ambiguous::BothLengths);
    }
    Ok(())
}

/// Checks a `Transfer-Encoding` list (every line, comma-separated, case-insensitive, optional
/// whitespace, empty elements ignored): `chunked` exactly once, last.
fn codings<'a>(values: impl Iterator<Item = &'a HeaderValue>) -> Result<(), Ambiguous> {
    let mut chunked = 0;
    let mut last_is_chunked = false;
    for value in values {
        for element in value.as_bytes().split(|b| *b == b',') {
            // A coding's name, without its parameters.
            let name = element.split(|b| *b == b';').next().unwrap_or_default();
            let name = name.trim_ascii();
            if name.is_empty() && element.trim_ascii().is_empty() {
                continue;
            }
            last_is_chunked = name.eq_ignore_ascii_case(b"chunked");
            chunked += usize::from(last_is_chunked);
        }
    }
    match (chunked, last_is_chunked) {
        (2.., _) => Err(Ambiguous::ChunkedTwice),
        (_, false) => Err(Ambiguous::ChunkedNotLast),
        _ => Ok(()),
    }
}

/// The header names looked for at the start of a line, lowercase, with the colon (no whitespace
/// may come between a name and its colon, so hyper refuses any other spelling).
const TE: &[u8] = b"transfer-encoding:";
const CL: &[u8] = b"content-length:";

/// What the start of a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// The empty line that ends a header block.
    Blank,
    Te,
    Cl,
    Other,
    /// Too short to tell: the read ended within it.
    Unknown,
}

/// Classifies a line from its first bytes (at most [`TE`]'s length).
#[inline]
fn classify(start: &[u8]) -> Line {
    // Most lines are told apart by their first byte.
    let (name, line) = match start.first() {
        None => return Line::Unknown,
        Some(b'\r' | b'\n') => return Line::Blank,
        Some(b'T' | b't') => (TE, Line::Te),
        Some(b'C' | b'c') => (CL, Line::Cl),
        Some(_) => return Line::Other,
    };
    {
        let n = start.len().min(name.len());
        // `| 0x20` lowercases letters and leaves `-` and `:` as they are.
        if start[..n]
            .iter()
            .zip(&name[..n])
            .all(|(b, expected)| b | 0x20 == *expected)
        {
            return if n == name.len() { line } else { Line::Unknown };
        }
    }
    Line::Other
}

/// The header lines of the current block seen so far, and the start of a line a read cut off.
#[derive(Debug, Default)]
struct HeadScan {
    te: bool,
    cl: bool,
    /// The first bytes of the line the last read ended in, while they might still name one of the
    /// headers; `pending` says whether there is such a line.
    carry: [u8; TE.len()],
    carry_len: usize,
    pending: bool,
}

impl HeadScan {
    /// Looks at the lines that start in `bytes` (and the one the last read cut off); `true` when a
    /// header block has both headers.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        let mut ambiguous = false;
        if self.pending {
            let take = (TE.len() - self.carry_len).min(bytes.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&bytes[..take]);
            self.carry_len += take;
            // A newline among these bytes makes the line `Other`; the search below finds it.
            let line = classify(&self.carry[..self.carry_len]);
            if line != Line::Unknown {
                self.pending = false;
                ambiguous |= self.apply(line);
            }
        }
        // A plain loop: a head is a few dozen bytes to a few hundred, and memchr's searches cost
        // more to start on each line than this costs to finish it (measured:
        // docs/src/performance.md#operational-paths-and-the-framing-check-issue-16-parts-2-and-4).
        for newline in bytes
            .iter()
            .enumerate()
            .filter_map(|(i, b)| (*b == b'\n').then_some(i))
        {
            let rest = &bytes[newline + 1..];
            let start = &rest[..rest.len().min(TE.len())];
            match classify(start) {
                Line::Unknown => {
                    self.carry[..start.len()].copy_from_slice(start);
                    self.carry_len = start.len();
                    self.pending = true;
                }
                line => ambiguous |= self.apply(line),
            }
        }
        ambiguous
    }

    fn apply(&mut self, line: Line) -> bool {
        match line {
            Line::Blank => (self.te, self.cl) = (false, false),
            Line::Te => self.te = true,
            Line::Cl => self.cl = true,
            Line::Other | Line::Unknown => {}
        }
        self.te && self.cl
    }
}

/// An HTTP/1.1 connection's IO, scanning what hyper reads for a header block with both
/// `Transfer-Encoding` and `Content-Length`, which it reports in the connection's [`Exchanges`]
/// (hyper drops the `Content-Length` of such a request before the service sees it).
///
/// The scan cannot tell a head from a body: a body that contains such a block (a raw HTTP
/// message with both headers, uploaded as data) also sets the flag, and the next request on the
/// connection with a `Transfer-Encoding`, if any, is then refused too.
pub(super) struct Watched<IO> {
    io: IO,
    scan: HeadScan,
    exchanges: Arc<Exchanges>,
}

impl<IO> Watched<IO> {
    pub(super) fn new(io: IO, exchanges: Arc<Exchanges>) -> Self {
        Watched {
            io,
            scan: HeadScan::default(),
            exchanges,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll
            && self.scan.feed(&buf.filled()[before..])
        {
            self.exchanges
                .ambiguous_framing
                .store(true, Ordering::Relaxed);
        }
        poll
    }
}

write_through!(Watched);

#[cfg(test)]
mod tests {
    use super::*;

    fn te(values: &[&'static str]) -> Result<(), Ambiguous> {
        let values: Vec<HeaderValue> = values.iter().map(|v| HeaderValue::from_static(v)).collect();
        codings(values.iter())
    }

    #[test]
    fn chunked_once_and_last_is_accepted_with_other_codings_before_it() {
        assert_eq!(te(&["chunked"]), Ok(()));
        assert_eq!(te(&["gzip, chunked"]), Ok(()));
        assert_eq!(te(&["gzip", "chunked"]), Ok(()));
        assert_eq!(te(&[" , gzip ,\tChunked "]), Ok(()));
    }

    #[test]
    fn chunked_twice_is_refused_in_every_spelling() {
        for values in [
            &["chunked", "chunked"][..],
            &["chunked, chunked"],
            &["CHUNKED,chunked"],
            &["chunked ,\t Chunked"],
            &["chunked;x=1, chunked"],
            &["gzip, chunked", "chunked"],
        ] {
            assert_eq!(te(values), Err(Ambiguous::ChunkedTwice), "{values:?}");
        }
    }

    #[test]
    fn a_coding_list_not_ending_in_chunked_is_refused() {
        for values in [
            &["gzip"][..],
            &["chunked, gzip"],
            &["chunked", "gzip"],
            &[""],
        ] {
            assert_eq!(te(values), Err(Ambiguous::ChunkedNotLast), "{values:?}");
        }
    }

    fn scan_in_pieces(bytes: &[u8], piece: usize) -> bool {
        let mut scan = HeadScan::default();
        let mut found = false;
        for chunk in bytes.chunks(piece) {
            found |= scan.feed(chunk);
        }
        found
    }

    #[test]
    fn a_header_block_with_both_lengths_is_seen_however_the_reads_cut_it() {
        let heads: [&[u8]; 4] = [
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            b"POST / HTTP/1.1\r\ncontent-length: 5\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\nCONTENT-LENGTH:5\nTRANSFER-ENCODING:chunked\n\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nTransfer-encoding: chunked\r\nContent-length: 5\r\n\r\n",
        ];
        for head in heads {
            for piece in 1..=head.len() {
                assert!(
                    scan_in_pieces(head, piece),
                    "{} in pieces of {piece}",
                    String::from_utf8_lossy(head)
                );
            }
        }
    }

    #[test]
    fn separate_header_blocks_with_one_length_each_are_not_flagged() {
        let heads: [&[u8]; 3] = [
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nX-Content-Length: 5\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nContent-Length: 5\r\n0\r\n\r\n",
        ];
        for head in heads {
            for piece in 1..=head.len() {
                assert!(
                    !scan_in_pieces(head, piece),
                    "{} in pieces of {piece}",
                    String::from_utf8_lossy(head)
                );
            }
        }
    }
}
