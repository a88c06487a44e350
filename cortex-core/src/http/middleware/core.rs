//! The outermost concerns: trusted proxies, request id, tracing span, security headers.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::response::Response;
use http::header::{
    CONTENT_LENGTH, CONTENT_TYPE, ETAG, Entry, FORWARDED, STRICT_TRANSPORT_SECURITY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use http_body::Body as _;
use tracing::Span;
use tracing::field::Empty;

use super::config::{HttpConfig, static_value};
use super::forwarded::{ForwardedInfo, Secure, TrustedProxies, X_FORWARDED_FOR};
use super::request_id::{DEFAULT_HEADER, RequestId};
use crate::http::headers::{SCAN_UP_TO, content_length, scan};
use crate::http::observe::Template;
use crate::logging::{RequestHead, RequestSpan};

pub(crate) struct CoreShared {
    /// The request id header, and whether incoming ids are kept.
    request_id: Option<(HeaderName, bool)>,
    trace: bool,
    /// `[http.trace] access_log`: one `info` event per response.
    access_log: bool,
    /// `[http.trace] headers`: the request headers the access log line carries, and how each is
    /// masked.
    logged_headers: Box<[(HeaderName, Masking)]>,
    proxies: Option<TrustedProxies>,
    /// Set once a request from a peer that is not a trusted proxy carried forwarding headers:
    /// the warning about it is logged once per stack.
    forwarded_warned: AtomicBool,
    /// Headers for every response (unless the response has its own); `hsts` only for secure
    /// requests.
    security: Box<[(HeaderName, HeaderValue)]>,
    hsts: Option<HeaderValue>,
    /// The same headers as prepared maps (without and with HSTS), when there are enough of them:
    /// cloning a map and merging the response's few headers into it has a fixed cost, inserting
    /// costs per header: with the six default headers the map is cheaper, with one or two it is
    /// not.
    templates: Option<(HeaderMap, HeaderMap)>,
    /// Complete response header maps for the usual responses (see [`Layout`]), without and with
    /// HSTS; used with the templates.
    layouts: (Box<[Layout]>, Box<[Layout]>),
}

/// From how many headers the prepared maps are used.
const TEMPLATE_FROM: usize = 4;

/// The response's own headers that [`Layout`]s are prepared for, in the order they are set: most
/// responses carry a `Content-Type` and nothing else, large `GET` bodies an `ETag` too (added by
/// the stack). Each comes in two forms: without `Content-Length` (the stack on each route, where
/// axum sets it after the stack) and with it, second (the stack around a router).
const LAYOUTS: [&[HeaderName]; 6] = [
    &[CONTENT_TYPE],
    &[CONTENT_TYPE, CONTENT_LENGTH],
    &[CONTENT_TYPE, ETAG],
    &[CONTENT_TYPE, CONTENT_LENGTH, ETAG],
    &[],
    &[CONTENT_LENGTH],
];

/// A response's final header map, prepared: the security headers, placeholders for the
/// response's own headers (`own`, in order, one value each), for the request id and, when `own`
/// has none, for the `Content-Length` that axum would add next. A response whose headers are
/// exactly `own` gets a clone with the values moved in place: no hashing, no growing.
///
/// Why: the security headers and the request id take a response's map from one or two headers to
/// nine, and `HeaderMap` grows its entries to twelve or sixteen (1,248 or 1,664 bytes): over
/// glibc's 1,032-byte per-thread cache, so every response took `malloc`'s slow path. A clone has
/// exactly as many entries as the layout (936 bytes for nine) and comes from the cache
/// (docs/src/performance.md#changes-made-for-the-targets).
struct Layout {
    own: &'static [HeaderName],
    /// Where the placeholders start: the number of security headers.
    first: usize,
    /// Whether the map ends with a `Content-Length` placeholder.
    length: bool,
    map: HeaderMap,
}

impl Layout {
    fn new(
        template: &HeaderMap,
        own: &'static [HeaderName],
        request_id: Option<&HeaderName>,
    ) -> Self {
        let length = !own.contains(&CONTENT_LENGTH);
        let placeholder = HeaderValue::from_static("");
        let mut map = template.clone();
        let first = map.len();
        let tail = length.then_some(&CONTENT_LENGTH);
        for name in own.iter().chain(request_id).chain(tail) {
            map.append(name, placeholder.clone());
        }
        // A clone's entries are exactly its length.
        let map = map.clone();
        Layout {
            own,
            first,
            length,
            map,
        }
    }

    /// Whether `headers` are exactly the layout's own headers, in order, and `length` whether a
    /// `Content-Length` is to be added.
    fn fits(&self, headers: &HeaderMap, length: bool) -> bool {
        self.length == length
            && headers.len() == self.own.len()
            && headers.keys_len() == self.own.len()
            && headers.keys().zip(self.own).all(|(name, own)| name == own)
    }

    /// The final map: the layout's, with `own`'s values, the request id and the length in place.
    fn fill(&self, own: HeaderMap, id: Option<HeaderValue>, length: Option<u64>) -> HeaderMap {
        let mut map = self.map.clone();
        let mut slots = map.values_mut().skip(self.first);
        for ((_, value), slot) in own.into_iter().zip(&mut slots) {
            *slot = value;
        }
        if let (Some(id), Some(slot)) = (id, slots.next()) {
            *slot = id;
        }
        if let (Some(length), Some(slot)) = (length, slots.next()) {
            *slot = content_length(length);
        }
        map
    }
}

/// The target of the access log's events.
pub(crate) const ACCESS_TARGET: &str = "cortex::access";

/// What the access log line says about the request; only made when the line will be written.
struct Access {
    method: Method,
    uri: Uri,
    route: Option<Template>,
    client_ip: Option<IpAddr>,
    /// `[http.trace] headers` found in the request (empty, not allocated, without the option).
    headers: LoggedHeaders,
}

/// The user a request was made by, as the access log line writes it (`user_id`): an
/// authentication layer inserts it into the **response's** extensions once it has authenticated
/// the request (`cortex-auth`'s layer does), and the core middleware, outside every app layer,
/// reads it when it writes the line. Core knows nothing of authentication; any layer can set it.
///
/// Setting it costs an allocation or two per request: ask [`wanted`](Self::wanted) first, which
/// says whether the request's access log line will be written.
///
/// ```
/// use axum::response::{IntoResponse, Response};
/// use cortex_core::http::LoggedUser;
///
/// // In an authentication layer: before `next.run(request)`…
/// let request = http::Request::new(());
/// let wanted = LoggedUser::wanted(request.extensions());
/// // … and after it.
/// let mut response: Response = "hello".into_response();
/// if wanted {
///     response.extensions_mut().insert(LoggedUser::new("user-42"));
/// }
/// # response.extensions_mut().insert(LoggedUser::new("user-42"));
/// assert_eq!(response.extensions().get::<LoggedUser>().unwrap().id(), "user-42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoggedUser(Arc<str>);

/// In a request's extensions when its access log line will be written (see
/// [`LoggedUser::wanted`]).
#[derive(Clone, Copy)]
struct AccessLogged;

impl LoggedUser {
    /// Whether the request with these extensions gets an access log line (`[http.trace]
    /// access_log` on, and the `cortex::access` target enabled), so that a [`LoggedUser`] set
    /// on its response is read: one lookup in the extensions.
    pub fn wanted(request_extensions: &http::Extensions) -> bool {
        request_extensions.get::<AccessLogged>().is_some()
    }

    /// The user with this id (share the `Arc` with a `Principal` made for the same request to
    /// avoid a second allocation).
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        LoggedUser(id.into())
    }

    /// The user's id.
    pub fn id(&self) -> &str {
        &self.0
    }
}

/// How a logged header's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Masking {
    /// As it is.
    Shown,
    /// `********`.
    Hidden,
    /// The first word (the scheme: `Bearer`, `Basic`) kept, the rest `********`.
    KeepScheme,
}

/// Header names whose values are credentials, beyond what [`is_secret_key`] recognises by name.
const SENSITIVE_HEADERS: [&str; 6] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
];

impl Masking {
    /// How `name`'s value is written: `extra` are the app's own sensitive headers
    /// ([`App::sensitive_header`](crate::App::sensitive_header)).
    fn of(name: &HeaderName, extra: &[HeaderName]) -> Masking {
        let name_str = name.as_str();
        if name == http::header::AUTHORIZATION || name == http::header::PROXY_AUTHORIZATION {
            Masking::KeepScheme
        } else if SENSITIVE_HEADERS.contains(&name_str)
            || extra.contains(name)
            || crate::config::is_secret_key(name_str)
        {
            Masking::Hidden
        } else {
            Masking::Shown
        }
    }
}

/// The logged request headers, written as one field: `{"user-agent": "curl/8.5", "authorization":
/// "Bearer ********"}`, a header with several values once per value.
#[derive(Default)]
struct LoggedHeaders(Vec<(HeaderName, Masking, HeaderValue)>);

impl fmt::Display for LoggedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (name, masking, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{:?}: ", name.as_str())?;
            let value = String::from_utf8_lossy(value.as_bytes());
            match masking {
                Masking::Shown => write!(f, "{value:?}")?,
                Masking::Hidden => write!(f, "{:?}", crate::config::MASK)?,
                Masking::KeepScheme => match value.trim().split_once(' ') {
                    Some((scheme, _)) => write!(f, "\"{scheme} {}\"", crate::config::MASK)?,
                    None => write!(f, "{:?}", crate::config::MASK)?,
                },
            }
        }
        f.write_str("}")
    }
}

/// What the response side needs to know about the request.
pub(crate) struct CoreState {
    pub(crate) span: Span,
    /// When the request entered the stack: taken when the span, the access log or an observer
    /// needs it, once for all of them.
    pub(crate) start: Option<Instant>,
    /// Boxed: the stack's future carries this state, and most apps have no access log.
    access: Option<Box<Access>>,
    id: Option<HeaderValue>,
    secure: bool,
    /// A `CONNECT` request: its answer gets no `Content-Length`.
    connect: bool,
    /// The exporter's span of a traced request ([`crate::logging::set_request_tracer`]).
    traced: Option<Box<dyn RequestSpan>>,
}

impl CoreState {
    /// The request id, when the middleware assigns one.
    pub(crate) fn id(&self) -> Option<&HeaderValue> {
        self.id.as_ref()
    }

    /// Runs `f` (the request's start, or one of its polls) inside the traced request's span,
    /// or as it is when the request is not traced.
    #[inline(always)]
    pub(crate) fn in_trace<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.traced {
            None => f(),
            Some(span) => crate::logging::in_traced_request(&**span, f),
        }
    }

    /// Ends the traced request's span with the response's `status` (once the response is
    /// ready, after the request scope's end hooks).
    #[inline]
    pub(crate) fn end_trace(&mut self, status: http::StatusCode) {
        if let Some(span) = self.traced.take() {
            span.end(status);
        }
    }
}

impl CoreShared {
    /// Built from a validated configuration; `sensitive` are the app's own credential headers
    /// ([`App::sensitive_header`](crate::App::sensitive_header)), masked in the access log.
    pub(crate) fn new(config: &HttpConfig, sensitive: &[HeaderName]) -> Self {
        let request_id = config.request_id.enabled.then(|| {
            let name =
                HeaderName::from_bytes(config.request_id.header.as_bytes()).expect("validated");
            (name, config.request_id.trust_incoming)
        });
        let mut security = Vec::new();
        let mut hsts = None;
        if config.security_headers.enabled {
            for (field, name, value) in config.security_headers.fields() {
                if value.is_empty() {
                    continue;
                }
                let value = static_value(value);
                if field == "hsts" {
                    hsts = Some(value);
                } else {
                    security.push((HeaderName::from_static(name), value));
                }
            }
        }
        let templates = (security.len() >= TEMPLATE_FROM).then(|| {
            // Room for the response's own headers, so merging them does not grow the map.
            let mut plain = HeaderMap::with_capacity(security.len() + 8);
            plain.extend(security.iter().cloned());
            let mut secure = plain.clone();
            if let Some(hsts) = &hsts {
                secure.insert(STRICT_TRANSPORT_SECURITY, hsts.clone());
            }
            (plain, secure)
        });
        let layouts = match &templates {
            Some((plain, secure)) => {
                let id = request_id.as_ref().map(|(name, _)| name);
                let of = |template| {
                    LAYOUTS
                        .iter()
                        .map(|own| Layout::new(template, own, id))
                        .collect()
                };
                (of(plain), of(secure))
            }
            None => Default::default(),
        };
        CoreShared {
            request_id,
            trace: config.trace.enabled,
            access_log: config.trace.access_log,
            logged_headers: config
                .trace
                .headers
                .iter()
                .map(|name| {
                    let name = HeaderName::from_bytes(name.as_bytes()).expect("validated");
                    let masking = Masking::of(&name, sensitive);
                    (name, masking)
                })
                .collect(),
            proxies: TrustedProxies::new(&config.trusted_proxies.proxies),
            forwarded_warned: AtomicBool::new(false),
            security: security.into(),
            hsts,
            templates,
            layouts,
        }
    }

    /// The header the request id is put in, when the middleware assigns one.
    pub(crate) fn request_id_header(&self) -> Option<&HeaderName> {
        self.request_id.as_ref().map(|(name, _)| name)
    }

    /// Resolves the client, assigns the request id and opens the span. `route` is the route
    /// template when the stack wraps one route; `observed` whether observers want the start
    /// time.
    pub(crate) fn on_request(
        &self,
        req: &mut Request,
        route: Option<&'static str>,
        observed: bool,
    ) -> CoreState {
        let mut secure = req.extensions().get::<Secure>().is_some();
        let mut trusted = false;
        if let Some(proxies) = &self.proxies
            && let Some(peer) = peer_ip(req)
            && proxies.trusts(peer)
        {
            trusted = true;
            if let Some(info) = proxies.resolve_trusted(req.headers(), peer) {
                secure |= info.scheme == http::uri::Scheme::HTTPS;
                req.extensions_mut().insert(info);
            }
        }
        // Until the warning is out: a flag, then a look at the header names.
        if !trusted
            && !self.forwarded_warned.load(Ordering::Relaxed)
            && let Some(header) = forwarding_header(req.headers())
            && !self.forwarded_warned.swap(true, Ordering::Relaxed)
        {
            warn_untrusted_forwarding(header, peer_ip(req), self.proxies.is_some());
        }

        let id = self.request_id.as_ref().map(|(header, trust)| {
            // One lookup: keep a trusted, well-formed incoming id, else put a fresh one in the
            // request header, where the problem layer, handlers and outgoing calls read it.
            let id = match req.headers_mut().entry(header) {
                Entry::Occupied(mut slot) => {
                    match trust.then(|| RequestId::from_header(slot.get())).flatten() {
                        Some(id) => id,
                        None => {
                            let id = RequestId::generate();
                            slot.insert(id.header_value().clone());
                            id
                        }
                    }
                }
                Entry::Vacant(slot) => {
                    let id = RequestId::generate();
                    slot.insert(id.header_value().clone());
                    id
                }
            };
            // Only a non-default header name needs the extension (the extractor reads the header).
            if header != DEFAULT_HEADER {
                req.extensions_mut().insert(id.clone());
            }
            id.into_header_value()
        });

        let (span, traced) = if self.trace {
            // The exporter's span, when it traces the request (its head-sampling decision), is
            // its own, not a `tracing` span: the `debug` span costs nothing at the default
            // filter, traced or not.
            let traced = if crate::logging::spans_exported() {
                crate::logging::trace_request(&RequestHead::new(req, route, id.as_ref()))
            } else {
                None
            };
            // Made inside the traced request's span: where a filter lets it through to an
            // exporter's layer (`cortex_core::http=debug`), it is a child of the request's span,
            // and the spans made inside it stay in the request's trace.
            let span = match &traced {
                Some(traced) => crate::logging::in_traced_request(&**traced, || {
                    request_span(req, id.as_ref(), route)
                }),
                None => request_span(req, id.as_ref(), route),
            };
            (span, traced)
        } else {
            (Span::none(), None)
        };
        // Checked per request: the filter can change at run time (a reload layer).
        let access = (self.access_log
            && tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO))
        .then(|| {
            let forwarded = req.extensions().get::<ForwardedInfo>().map(|f| f.client_ip);
            let peer = || {
                req.extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip())
            };
            Box::new(Access {
                method: req.method().clone(),
                uri: req.uri().clone(),
                route: Template::of(route, req),
                client_ip: forwarded.or_else(peer),
                headers: LoggedHeaders(
                    self.logged_headers
                        .iter()
                        .flat_map(|(name, masking)| {
                            req.headers()
                                .get_all(name)
                                .iter()
                                .map(|value| (name.clone(), *masking, value.clone()))
                        })
                        .collect(),
                ),
            })
        });
        if access.is_some() {
            req.extensions_mut().insert(AccessLogged);
        }
        let start = (observed || !span.is_disabled() || access.is_some()).then(Instant::now);
        CoreState {
            span,
            start,
            access,
            id,
            secure,
            connect: req.method() == http::Method::CONNECT,
            traced,
        }
    }

    /// Echoes the request id, adds the security headers (a header the response already has
    /// wins) and closes the span's accounts.
    pub(crate) fn on_response(&self, state: &mut CoreState, response: &mut Response) {
        // Observers read the start time themselves (only when they ask for the latency).
        if let Some(start) = state.start
            && (!state.span.is_disabled() || state.access.is_some())
        {
            let latency_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
            let status = response.status().as_u16();
            if !state.span.is_disabled() {
                state.span.record("status", status);
                state.span.record("latency_us", latency_us);
                let _entered = state.span.enter();
                tracing::debug!(status, latency_us, "request finished");
            }
            if let Some(access) = state.access.take() {
                let user = response.extensions().get::<LoggedUser>();
                // The trace id is the traced request's: read inside its span (the line is
                // written between two polls).
                let trace = match &state.traced {
                    Some(span) if crate::logging::trace_ids_registered() => {
                        crate::logging::in_traced_request(&**span, crate::logging::trace_ids)
                    }
                    _ => None,
                };
                access_line(&access, status, latency_us, state.id.as_ref(), user, trace);
            }
        }
        let layouts = if state.secure {
            &self.layouts.1
        } else {
            &self.layouts.0
        };
        // What axum adds after the stack (`Content-Length` for a body of known size, but not to a
        // `CONNECT` answer) is added here, the same, from a cache of values (and, when a layout
        // fits, in the prepared map, so that it does not grow).
        let length = if state.connect {
            None
        } else {
            response.body().size_hint().exact()
        };
        let headers = response.headers_mut();
        let mut add_length = length.is_some() && scan(headers, &CONTENT_LENGTH).is_none();
        if let Some(layout) = layouts.iter().find(|l| l.fits(headers, add_length)) {
            let own = std::mem::take(headers);
            *headers = layout.fill(own, state.id.take(), length.filter(|_| add_length));
            add_length = false;
        } else if let Some((plain, secure)) = &self.templates {
            let template = if state.secure { secure } else { plain };
            let own = std::mem::replace(headers, template.clone());
            // The response's own headers replace the template's (all values kept, in order).
            headers.extend(own);
        } else {
            for (name, value) in self.security.iter() {
                if let Entry::Vacant(slot) = headers.entry(name) {
                    slot.insert(value.clone());
                }
            }
            if state.secure
                && let Some(hsts) = &self.hsts
                && let Entry::Vacant(slot) = headers.entry(STRICT_TRANSPORT_SECURITY)
            {
                slot.insert(hsts.clone());
            }
        }
        if let (Some(id), Some((name, _))) = (state.id.take(), &self.request_id) {
            response.headers_mut().insert(name, id);
        }
        if let (true, Some(length)) = (add_length, length) {
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, content_length(length));
        }
    }
}

fn peer_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
}

/// The first header that names a client behind a proxy (`X-Forwarded-For`, `Forwarded`).
fn forwarding_header(headers: &HeaderMap) -> Option<&'static str> {
    let found = |name: &HeaderName| {
        if *name == FORWARDED {
            Some("Forwarded")
        } else if *name == X_FORWARDED_FOR {
            Some("X-Forwarded-For")
        } else {
            None
        }
    };
    if headers.keys_len() > SCAN_UP_TO {
        return found(&FORWARDED)
            .filter(|_| headers.contains_key(FORWARDED))
            .or_else(|| {
                found(&X_FORWARDED_FOR).filter(|_| headers.contains_key(&X_FORWARDED_FOR))
            });
    }
    headers.keys().find_map(found)
}

/// Says, once, that forwarding headers are ignored and how to trust the proxy that sends them.
#[cold]
fn warn_untrusted_forwarding(header: &str, peer: Option<IpAddr>, some_trusted: bool) {
    let peer = peer.map_or_else(|| "the peer".to_string(), |ip| ip.to_string());
    let listed = if some_trusted {
        "is not in"
    } else {
        "is not a trusted proxy: no proxy is listed in"
    };
    tracing::warn!(
        header,
        peer = %peer,
        "a request from {peer} carries `{header}`, but {peer} {listed} `[http] trusted_proxies`, so the header is ignored: \
         the client is taken to be {peer}, and behind a proxy or load balancer every client then shares its address \
         (one rate limit, one `ClientIp`); if the app runs behind one, list its addresses in cortex.toml: \
         `[http.trusted_proxies]` `proxies = [\"10.0.0.0/8\"]` (logged once)"
    );
}

/// The access log's line for one response. Its values are printed as they are (`path=/users/7`):
/// none of them holds a space or a quote. (`display` inside the macro is tracing's own import.)
fn access_line(
    access: &Access,
    status: u16,
    latency_us: u64,
    id: Option<&HeaderValue>,
    user: Option<&LoggedUser>,
    trace: Option<crate::logging::TraceIds>,
) {
    tracing::info!(
        target: ACCESS_TARGET,
        method = %access.method,
        path = %access.uri.path(),
        route = access.route.as_ref().map(|r| display(r.as_str())),
        status,
        latency_us,
        request_id = id.and_then(|v| v.to_str().ok()).map(display),
        client_ip = access.client_ip.map(display),
        user_id = user.map(LoggedUser::id),
        headers = (!access.headers.0.is_empty()).then(|| display(&access.headers)),
        trace_id = trace.map(|ids| display(ids.trace_id_hex())),
        "request"
    );
}

fn request_span(req: &Request, id: Option<&HeaderValue>, route: Option<&'static str>) -> Span {
    // `debug`, not `info`: at the default `info` filter the span is turned away at its callsite
    // and its fields are never evaluated (the route's lookup included: it is in the macro),
    // whereas an enabled span is formatted on creation even when nothing inside it is ever
    // printed. The route is the stack's own template when it wraps one route (controller
    // routes: no lookup), else axum's `MatchedPath`.
    tracing::debug_span!(
        "http.request",
        method = %req.method(),
        route = route
            .or_else(|| req.extensions().get::<MatchedPath>().map(MatchedPath::as_str))
            .unwrap_or(""),
        path = req.uri().path(),
        client_ip = req.extensions().get::<ForwardedInfo>().map(|f| tracing::field::display(f.client_ip)),
        request_id = id.and_then(|v| v.to_str().ok()),
        status = Empty,
        latency_us = Empty,
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    /// The headers of a `hello` response with `own` headers, after `core`'s request and response
    /// steps, in order.
    fn headers_after(core: &CoreShared, secure: bool, own: &[HeaderName]) -> Vec<(String, String)> {
        let mut request = Request::get("/")
            .header("x-request-id", "id-1")
            .body(Body::empty())
            .unwrap();
        if secure {
            request.extensions_mut().insert(Secure);
        }
        let mut state = core.on_request(&mut request, None, false);
        let mut response = Response::new(Body::from("hello"));
        for name in own {
            let value = match *name {
                CONTENT_LENGTH => "5",
                CONTENT_TYPE => "text/plain",
                _ => "W/\"1\"",
            };
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        core.on_response(&mut state, &mut response);
        response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect()
    }

    #[test]
    fn a_logged_user_is_wanted_only_when_the_access_log_writes_the_line() {
        let wanted = |access_log: bool, filter: &str| {
            let mut config = HttpConfig::default();
            config.trace.access_log = access_log;
            let core = CoreShared::new(&config, &[]);
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::sink)
                .finish();
            tracing::subscriber::with_default(subscriber, || {
                tracing::callsite::rebuild_interest_cache();
                let mut request = Request::get("/").body(Body::empty()).unwrap();
                core.on_request(&mut request, None, false);
                LoggedUser::wanted(request.extensions())
            })
        };
        assert!(wanted(true, "info"));
        assert!(!wanted(false, "info"), "the access log is off");
        assert!(!wanted(true, "warn"), "the filter turns the line away");
    }

    #[test]
    fn logged_credential_headers_are_masked_and_an_authorization_keeps_its_scheme() {
        let extra = [HeaderName::from_static("x-client-id")];
        let headers = LoggedHeaders(
            [
                ("user-agent", "curl/8.5"),
                ("authorization", "Bearer abc.def"),
                ("proxy-authorization", "Basic dXNlcjpwdw=="),
                ("authorization", "opaque"),
                ("cookie", "sid=abc"),
                ("set-cookie", "sid=abc"),
                ("x-api-key", "ck_1"),
                ("api-key", "ck_2"),
                ("x-auth-token", "t"),
                ("x-client-id", "c"),
                ("referer", "https://a.example/\"x\""),
            ]
            .map(|(name, value)| {
                let name = HeaderName::from_static(name);
                let masking = Masking::of(&name, &extra);
                (name, masking, HeaderValue::from_static(value))
            })
            .into(),
        );
        assert_eq!(
            headers.to_string(),
            r#"{"user-agent": "curl/8.5", "authorization": "Bearer ********", "proxy-authorization": "Basic ********", "authorization": "********", "cookie": "********", "set-cookie": "********", "x-api-key": "********", "api-key": "********", "x-auth-token": "********", "x-client-id": "********", "referer": "https://a.example/\"x\""}"#
        );
    }

    #[test]
    fn prepared_header_maps_give_exactly_what_merging_into_the_template_gives() {
        let config = HttpConfig::default();
        let prepared = CoreShared::new(&config, &[]);
        assert_eq!(prepared.layouts.0.len(), LAYOUTS.len());
        let mut merged = CoreShared::new(&config, &[]);
        merged.layouts = Default::default();
        for secure in [false, true] {
            for own in LAYOUTS {
                let expected = headers_after(&merged, secure, own);
                assert_eq!(
                    headers_after(&prepared, secure, own),
                    expected,
                    "secure: {secure}, own: {own:?}"
                );
                // Security headers first, then the response's own, the request id and, when the
                // response had none, the length.
                let names: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
                let security = 6 + usize::from(secure);
                assert_eq!(names[security..security + own.len()], *own, "{names:?}");
                let tail: &[&str] = if own.contains(&CONTENT_LENGTH) {
                    &["x-request-id"]
                } else {
                    &["x-request-id", "content-length"]
                };
                assert_eq!(names[security + own.len()..], *tail, "{names:?}");
                assert!(expected.contains(&("content-length".into(), "5".into())));
            }
        }
    }
}
