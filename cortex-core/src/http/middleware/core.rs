//! The outermost layer, fused: trusted proxies, request id, tracing span, security headers.
//!
//! These four run on every request and each is a few field accesses, so they share one service
//! and one future instead of four (each tower layer adds a clone per request and a poll level).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::response::Response;
use http::header::Entry;
use http::{HeaderName, HeaderValue};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::Span;
use tracing::field::Empty;

use super::config::HttpConfig;
use super::forwarded::{ForwardedInfo, Secure, TrustedProxies};
use super::request_id::RequestId;

pub(crate) struct CoreShared {
    request_id: Option<(HeaderName, bool)>,
    trace: bool,
    proxies: Option<TrustedProxies>,
    /// Headers for every response; `hsts` only for secure requests.
    security: Box<[(HeaderName, HeaderValue)]>,
    hsts: Option<HeaderValue>,
}

impl CoreShared {
    /// Built from a validated configuration.
    pub(crate) fn new(config: &HttpConfig) -> Self {
        let request_id = config.request_id.enabled.then(|| {
            (
                HeaderName::from_bytes(config.request_id.header.as_bytes()).expect("validated"),
                config.request_id.trust_incoming,
            )
        });
        let mut security = Vec::new();
        let mut hsts = None;
        if config.security_headers.enabled {
            for (field, name, value) in config.security_headers.fields() {
                if value.is_empty() {
                    continue;
                }
                let value = HeaderValue::from_str(value).expect("validated");
                if field == "hsts" {
                    hsts = Some(value);
                } else {
                    security.push((HeaderName::from_static(name), value));
                }
            }
        }
        CoreShared {
            request_id,
            trace: config.trace.enabled,
            proxies: TrustedProxies::new(&config.trusted_proxies.proxies),
            security: security.into(),
            hsts,
        }
    }
}

#[derive(Clone)]
pub(crate) struct CoreLayer(pub(crate) Arc<CoreShared>);

impl<S> Layer<S> for CoreLayer {
    type Service = Core<S>;

    fn layer(&self, inner: S) -> Core<S> {
        Core {
            inner,
            shared: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Core<S> {
    inner: S,
    shared: Arc<CoreShared>,
}

impl<S> Service<Request> for Core<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CoreFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let shared = &*self.shared;

        let mut secure = req.extensions().get::<Secure>().is_some();
        if let Some(proxies) = &shared.proxies
            && let Some(peer) = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
            && let Some(info) = proxies.resolve(req.headers(), peer)
        {
            secure |= info.scheme == http::uri::Scheme::HTTPS;
            req.extensions_mut().insert(info);
        }

        let id = shared.request_id.as_ref().map(|(header, trust)| {
            let id = RequestId::for_request(req.headers(), header, *trust);
            // Layers and handlers that read the header (the problem layer, proxies to other
            // services) see the id in force, not a distrusted or missing one.
            if req.headers().get(header) != Some(id.header_value()) {
                req.headers_mut().insert(header, id.header_value().clone());
            }
            req.extensions_mut().insert(id.clone());
            id
        });

        let span = if shared.trace {
            request_span(&req, id.as_ref())
        } else {
            Span::none()
        };
        let start = (!span.is_disabled()).then(Instant::now);
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        CoreFuture {
            inner,
            span,
            start,
            id,
            secure,
            shared: self.shared.clone(),
        }
    }
}

fn request_span(req: &Request, id: Option<&RequestId>) -> Span {
    // Field values are only evaluated when a subscriber is interested in the span.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    tracing::info_span!(
        "http.request",
        method = %req.method(),
        route = route.unwrap_or(""),
        path = req.uri().path(),
        client_ip = req.extensions().get::<ForwardedInfo>().map(|f| tracing::field::display(f.client_ip)),
        request_id = id.map(RequestId::as_str),
        status = Empty,
        latency_us = Empty,
    )
}

pin_project! {
    pub(crate) struct CoreFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        start: Option<Instant>,
        id: Option<RequestId>,
        secure: bool,
        shared: Arc<CoreShared>,
    }
}

impl<F, E> Future for CoreFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = {
            let _entered = this.span.enter();
            ready!(this.inner.poll(cx))?
        };

        let shared = &**this.shared;
        let headers = response.headers_mut();
        if let (Some(id), Some((name, _))) = (this.id.take(), &shared.request_id) {
            headers.insert(name, id.header_value().clone());
        }
        for (name, value) in shared.security.iter() {
            if let Entry::Vacant(slot) = headers.entry(name) {
                slot.insert(value.clone());
            }
        }
        if *this.secure
            && let Some(hsts) = &shared.hsts
            && let Entry::Vacant(slot) = headers.entry(http::header::STRICT_TRANSPORT_SECURITY)
        {
            slot.insert(hsts.clone());
        }

        if let Some(start) = this.start {
            let latency_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
            let status = response.status().as_u16();
            this.span.record("status", status);
            this.span.record("latency_us", latency_us);
            let _entered = this.span.enter();
            tracing::debug!(status, latency_us, "request finished");
        }
        Poll::Ready(Ok(response))
    }
}
