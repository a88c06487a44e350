//! The outermost concerns: trusted proxies, request id, tracing span, security headers.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::response::Response;
use http::header::{STRICT_TRANSPORT_SECURITY, VARY};
use http::{HeaderMap, HeaderName, HeaderValue};
use tracing::Span;
use tracing::field::Empty;

use super::config::{HttpConfig, static_value};
use super::cors::VARY_ORIGIN;
use super::forwarded::{ForwardedInfo, Secure, TrustedProxies};
use super::request_id::{DEFAULT_HEADER, RequestId};

pub(crate) struct CoreShared {
    /// The request id header, and whether incoming ids are kept.
    request_id: Option<(HeaderName, bool)>,
    trace: bool,
    proxies: Option<TrustedProxies>,
    /// The headers every response starts from (security headers, `Vary: Origin` when CORS is
    /// on), and the same with HSTS for secure requests. Cloning a prepared map and merging the
    /// response's few headers into it costs a third of inserting each header into the response.
    template: HeaderMap,
    secure_template: HeaderMap,
    template_vary: bool,
}

/// What the response side needs to know about the request.
pub(crate) struct CoreState {
    pub(crate) span: Span,
    start: Option<Instant>,
    id: Option<HeaderValue>,
    secure: bool,
    /// CORS is on and the request had no `Origin`: the response varies on it.
    pub(crate) vary_origin: bool,
}

impl CoreShared {
    /// Built from a validated configuration.
    pub(crate) fn new(config: &HttpConfig) -> Self {
        let request_id = config.request_id.enabled.then(|| {
            let name = HeaderName::from_bytes(config.request_id.header.as_bytes()).expect("validated");
            (name, config.request_id.trust_incoming)
        });
        let mut template = HeaderMap::with_capacity(16);
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
                    template.insert(HeaderName::from_static(name), value);
                }
            }
        }
        let template_vary = config.cors.is_enabled();
        if template_vary {
            template.insert(VARY, VARY_ORIGIN.clone());
        }
        let mut secure_template = template.clone();
        if let Some(hsts) = hsts {
            secure_template.reserve(8);
            secure_template.insert(STRICT_TRANSPORT_SECURITY, hsts);
        }
        CoreShared {
            request_id,
            trace: config.trace.enabled,
            proxies: TrustedProxies::new(&config.trusted_proxies.proxies),
            template,
            secure_template,
            template_vary,
        }
    }

    /// Resolves the client, assigns the request id and opens the span.
    pub(crate) fn on_request(&self, req: &mut Request) -> CoreState {
        let mut secure = req.extensions().get::<Secure>().is_some();
        if let Some(proxies) = &self.proxies
            && let Some(peer) = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
            && let Some(info) = proxies.resolve(req.headers(), peer)
        {
            secure |= info.scheme == http::uri::Scheme::HTTPS;
            req.extensions_mut().insert(info);
        }

        let id = self.request_id.as_ref().map(|(header, trust)| {
            let id = RequestId::for_request(req.headers(), header, *trust);
            // The id in force is in the request header, where the problem layer, handlers and
            // outgoing calls read it; only a non-default header name needs an extension too.
            if req.headers().get(header) != Some(id.header_value()) {
                req.headers_mut().insert(header, id.header_value().clone());
            }
            if header != DEFAULT_HEADER {
                req.extensions_mut().insert(id.clone());
            }
            id.into_header_value()
        });

        let span = if self.trace { request_span(req, id.as_ref()) } else { Span::none() };
        let start = (!span.is_disabled()).then(Instant::now);
        CoreState { span, start, id, secure, vary_origin: false }
    }

    /// Echoes the request id, adds the security headers and closes the span's accounts. Headers
    /// the response already has win over the template's.
    pub(crate) fn on_response(&self, state: &mut CoreState, response: &mut Response) {
        let template = if state.secure { &self.secure_template } else { &self.template };
        if !template.is_empty() {
            let own = std::mem::replace(response.headers_mut(), template.clone());
            // A response with its own `Vary` replaces the template's: keep `Origin` in it.
            let fix_vary = self.template_vary && state.vary_origin && own.contains_key(VARY);
            let headers = response.headers_mut();
            headers.extend(own);
            if fix_vary {
                headers.append(VARY, VARY_ORIGIN.clone());
            }
        }
        if let (Some(id), Some((name, _))) = (state.id.take(), &self.request_id) {
            response.headers_mut().insert(name, id);
        }

        if let Some(start) = state.start {
            let latency_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
            let status = response.status().as_u16();
            state.span.record("status", status);
            state.span.record("latency_us", latency_us);
            let _entered = state.span.enter();
            tracing::debug!(status, latency_us, "request finished");
        }
    }
}

fn request_span(req: &Request, id: Option<&HeaderValue>) -> Span {
    // Field values are only evaluated when a subscriber is interested in the span.
    let route = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    tracing::info_span!(
        "http.request",
        method = %req.method(),
        route = route.unwrap_or(""),
        path = req.uri().path(),
        client_ip = req.extensions().get::<ForwardedInfo>().map(|f| tracing::field::display(f.client_ip)),
        request_id = id.and_then(|v| v.to_str().ok()),
        status = Empty,
        latency_us = Empty,
    )
}
