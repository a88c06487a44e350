//! The production middleware stack: request ids, a tracing span per request, trusted proxies,
//! security headers, CORS, rate limiting, body limit, timeout, compression, ETags and static files,
//! on by default and configured by the `[http]` table of `cortex.toml` ([`HttpConfig`]).
//!
//! ```
//! use axum::{Router, routing::get};
//! use cortex_core::http::middleware::{HttpConfig, Stack};
//!
//! let config = HttpConfig::default();
//! let stack = Stack::new(&config)?;        // validates and builds shared state, once
//! let app: Router = stack.apply(Router::new().route("/", get(|| async { "hello" })));
//! // serve `app` with `into_make_service_with_connect_info::<SocketAddr>()` so that the client
//! // address (rate limiting, trusted proxies, `ClientIp`) is known.
//! # Ok::<(), cortex_core::http::middleware::HttpConfigError>(())
//! ```
//!
//! # Order
//!
//! The stack is one tower service ([`StackService`], one future per request): each concern is a
//! branch on state computed at startup, run in a fixed order. [`Stack::apply`] adds it to every
//! route with one `Router::layer` call; [`Stack::layer`] wraps a whole service instead. From the
//! outside in:
//!
//! | # | concern | why here |
//! | --- | --- | --- |
//! | 1 | **core**: trusted proxies, request id, span, security headers | sees every response, including every error answered further in; the span covers all the work; the client IP is known before anything needs it |
//! | 2 | **CORS** | preflights are answered before rate limiting (cheap, cached by browsers); every error answered further in (408, 413, 429) carries CORS headers, so browser code can read it |
//! | 3 | **rate limit**, then **body limit**, inside the **timeout** | refuses abusive or oversized requests before any work; the timeout also bounds a slow rate-limit store |
//! | 4 | **compression** | the final body |
//! | 5 | **ETag / conditional GET** | the uncompressed body, so one (weak) ETag fits every encoding |
//! | — | your routes, static files, their own layers | |
//!
//! Static directories (`[[http.static]]`) are mounted on the router before the stack, so they get
//! all of it.
//!
//! Request observers ([`RequestObserver`], added with
//! [`Stack::with_observer`] or by an app) are called from step 1: on the way in once the span is
//! open, before anything can refuse the request; on the way out last, once the response is final.
//!
//! # Why not a tower-http layer per concern
//!
//! A layer per concern costs a clone, a poll level and a move of the inner future per layer and
//! per request even with nothing to do; one service with one future does not (the figures are in
//! the guide's "HTTP performance" chapter, `docs/src/performance.md`, under "Why the stack is
//! shaped as it is"). tower-http still does the protocol work where it does it well: CORS
//! preflights (`CorsLayer`), the encoders (`CompressionLayer`, run only on responses that will be
//! compressed) and static files (`ServeDir`, with `Range`). Each module says what it does itself
//! and why: its timeout and body limit answer with problem details, arm the timer only when a
//! handler does not answer on its first poll, and wrap only bodies of unknown length; simple
//! CORS responses get headers computed at startup; tower-http has no ETag or rate-limit layer
//! (rate limiting runs GCRA in a store of its own, behind the [`RateLimitStore`] trait: see
//! [`InMemoryStore`] for why not `governor`).
//!
//! The fused service is this module's own: `service` (the one service and future), `core` and
//! each concern's module are private, and the rest of the crate reaches the stack only through
//! [`Stack`] (and, for an app, a crate-private handle that says *what* to wrap). Its behaviour
//! is pinned by `cortex-core/tests/http/middleware.rs`, which drives it only through this public
//! surface (HTTP requests through [`Stack::apply`], [`Stack::layer`] or an `App`): those tests
//! are the contract, and would pass unchanged against an ordinary stack of tower layers.
//!
//! # Defaults
//!
//! | concern | default |
//! | --- | --- |
//! | request id | on, `x-request-id`, incoming ids trusted |
//! | span | on, at `debug` |
//! | timeout | 30 s, answers 408 (the timer is armed only when the handler is still pending after its first poll) |
//! | body limit | 2 MiB, answers 413 |
//! | security headers | on; HSTS only over TLS |
//! | rate limit | on, per IP, 100/s, bursts of 200; never for operational endpoints ([`OperationalPaths`]: `/health/*`, `/metrics`) |
//! | compression | on, ≥ 1 KiB, zstd/br/gzip |
//! | ETag | on, bodies from 1 KiB to 256 KiB |
//! | CORS | off until `allow_origins` is set |
//!
//! [`HttpConfig::minimal`] switches off everything optional. What each concern and each stack
//! costs per request is measured in `docs/src/performance.md` ("What each concern costs" and the
//! latest results); figures are kept there only, so that they are re-measured in one place.
//! [`Stack::apply`] puts the stack on each route with `Router::layer`, which makes axum box every
//! route twice, in exchange for the matched route in the span; [`Stack::layer`] around the whole
//! router saves that box.
//!
//! # What the server provides
//!
//! - the peer address as `ConnectInfo<SocketAddr>` (serve with
//!   `into_make_service_with_connect_info::<SocketAddr>()`): without it, requests are not rate
//!   limited by IP and [`ClientIp`] is unavailable;
//! - the [`Secure`] marker in the extensions of requests that arrived over TLS: without it (or
//!   `https` from a trusted proxy), `Strict-Transport-Security` is not sent.
//!
//! The guide's "Middleware" chapter (`docs/src/middleware.md`) covers every key.

mod compression;
mod config;
mod core;
mod cors;
mod etag;
mod forwarded;
mod guard;
mod operational;
mod rate_limit;
mod request_id;
mod service;
mod static_files;

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, Route};
use http::{Extensions, HeaderMap};
use tower::{Layer, Service};

/// Kept here for existing imports; their home is [`crate::config::units`].
#[doc(no_inline)]
pub use crate::config::units::{IpCidr, parse_duration, parse_size};
pub use config::{
    CompressionAlgorithm, CompressionConfig, ConfigIssue, CorsConfig, EtagConfig, HttpConfig,
    HttpConfigError, RateLimitConfig, RateLimitKeyKind, RequestIdConfig, SecurityHeadersConfig,
    StaticFilesConfig, TraceConfig, TrustedProxiesConfig,
};
pub use core::LoggedUser;
pub use forwarded::{ClientIp, ForwardedInfo, Secure};
pub use operational::OperationalPaths;
#[allow(deprecated)]
pub use rate_limit::RateLimitError;
pub use rate_limit::{
    BoxedDecision, Decision, ErasedRateLimitStore, InMemoryStore, Principal, PrincipalResolver,
    RateLimitKey, RateLimitSetupError, RateLimitStore, principal_resolver, rate_limit_store,
};
pub use request_id::RequestId;
pub use service::{StackFuture, StackLayer, StackService};

use self::compression::CompressionShared;
use self::core::CoreShared;
use self::cors::CorsShared;
use self::etag::EtagSettings;
use self::guard::{GuardShared, RateLimiting};
use self::rate_limit::StoreHandle;
use self::service::{AppLayers, Shared};
use crate::http::observe::{ErasedRequestObserver, RequestObserver};

/// The middleware stack, built once from an [`HttpConfig`]: validated configuration, precomputed
/// headers, the CORS policy and the rate-limit store, shared by every route it is applied to.
///
/// ```
/// use axum::{Router, routing::get};
/// use cortex_core::http::middleware::{HttpConfig, Stack};
///
/// let mut config = HttpConfig::default();
/// config.cors.allow_origins = vec!["https://app.example.com".into()];
/// let stack = Stack::new(&config).unwrap();
/// let app: Router = stack.apply(Router::new().route("/health", get(|| async { "ok" })));
/// ```
#[derive(Clone)]
pub struct Stack {
    config: HttpConfig,
    store: Option<StoreHandle>,
    resolver: Option<Arc<dyn PrincipalResolver>>,
    operational: OperationalPaths,
    observers: Vec<Arc<dyn ErasedRequestObserver>>,
    /// Headers masked in the access log besides the built-in ones (`with_sensitive_header`).
    sensitive_headers: Vec<http::HeaderName>,
}

impl Stack {
    /// Validates `config` ([`HttpConfig::validate`], plus that static directories exist) and
    /// builds the shared state, including the in-memory rate-limit store.
    pub fn new(config: &HttpConfig) -> Result<Self, HttpConfigError> {
        config.validate()?;
        static_files::check(&config.static_files)?;
        let store = if config.rate_limit.enabled {
            let store = InMemoryStore::new(config.rate_limit.per_second, config.rate_limit.burst)
                .expect("validated: quotas are positive");
            Some(StoreHandle::InMemory(Arc::new(store)))
        } else {
            None
        };
        Ok(Stack {
            config: config.clone(),
            store,
            resolver: None,
            operational: OperationalPaths::default(),
            observers: Vec::new(),
            sensitive_headers: Vec::new(),
        })
    }

    /// Adds an operational endpoint's path (`/metrics`) or prefix (`/probes/*`): the rate limiter
    /// never refuses it. `/health/*` and `/metrics` are in the set from the start (see
    /// [`OperationalPaths`]). A pattern that is not a path is an error.
    ///
    /// ```
    /// use cortex_core::http::middleware::{HttpConfig, Stack};
    ///
    /// let stack = Stack::new(&HttpConfig::default())?.with_operational_path("/internal/status")?;
    /// assert!(stack.operational_paths().contains("/internal/status"));
    /// assert!(stack.operational_paths().contains("/health/live"));
    /// # Ok::<(), cortex_core::http::middleware::HttpConfigError>(())
    /// ```
    pub fn with_operational_path(mut self, pattern: &str) -> Result<Self, HttpConfigError> {
        self.operational.insert(pattern)?;
        Ok(self)
    }

    /// Marks a request header as a credential: `[http.trace] headers` writes it as `********` in
    /// the access log (`Authorization`, `Cookie`, `X-Api-Key` and names that look secret are
    /// masked already). A name that is not a header name is an error naming it.
    ///
    /// ```
    /// use cortex_core::http::middleware::{HttpConfig, Stack};
    ///
    /// let stack = Stack::new(&HttpConfig::default())?.with_sensitive_header("x-client-auth")?;
    /// assert!(Stack::new(&HttpConfig::default())?.with_sensitive_header("not a header").is_err());
    /// # Ok::<(), cortex_core::http::middleware::HttpConfigError>(())
    /// ```
    pub fn with_sensitive_header(mut self, name: &str) -> Result<Self, HttpConfigError> {
        let header = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            HttpConfigError::single(
                "App::sensitive_header",
                format!("{name:?} is not a valid header name"),
                Some("use letters, digits and '-', for example \"x-client-key\"".into()),
            )
        })?;
        self.sensitive_headers.push(header);
        Ok(self)
    }

    /// The operational endpoints' paths, which are never rate limited.
    pub fn operational_paths(&self) -> &OperationalPaths {
        &self.operational
    }

    /// Replaces the in-memory rate-limit store, for example with one on Redis so that several
    /// instances share quotas. Has no effect when `[http.rate_limit] enabled = false`.
    ///
    /// ```
    /// use cortex_core::http::middleware::{Decision, HttpConfig, RateLimitKey, RateLimitStore, Stack};
    /// use cortex_di::BoxError;
    ///
    /// struct Everyone;
    /// impl RateLimitStore for Everyone {
    ///     async fn check(&self, _: &RateLimitKey) -> Result<Decision, BoxError> {
    ///         Ok(Decision::allow(1, 1))
    ///     }
    /// }
    ///
    /// let stack = Stack::new(&HttpConfig::default()).unwrap().with_rate_limit_store(Everyone);
    /// assert!(stack.has_rate_limit_store());
    /// ```
    pub fn with_rate_limit_store<S: RateLimitStore>(mut self, store: S) -> Self {
        if self.config.rate_limit.enabled {
            self.store = Some(StoreHandle::of(store));
        }
        self
    }

    /// Derives the [`Principal`] for `key = "user"` rate limiting when no middleware inserted one
    /// (for example from an API key header). Requests it returns `None` for are keyed by IP.
    ///
    /// ```
    /// use cortex_core::http::middleware::{HttpConfig, Principal, Stack};
    ///
    /// let stack = Stack::new(&HttpConfig::default()).unwrap().with_principal_resolver(|headers, _extensions| {
    ///     let key = headers.get("x-api-key")?.to_str().ok()?;
    ///     Some(Principal::new(key))
    /// });
    /// ```
    pub fn with_principal_resolver<F>(mut self, resolver: F) -> Self
    where
        F: Fn(&HeaderMap, &Extensions) -> Option<Principal> + Send + Sync + 'static,
    {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// Takes the rate-limit store and the principal resolver from `container`, when it binds
    /// them (`dyn ErasedRateLimitStore`, `dyn PrincipalResolver`): what an app's stack does once
    /// its container is built. More than one of either is an error; a store bound while
    /// `[http.rate_limit] enabled = false` (or a resolver while `key` is not `"user"`) is not
    /// used, and a warning says so, once, at startup.
    pub(crate) fn with_container(
        mut self,
        container: &cortex_di::Container,
    ) -> Result<Self, crate::AppError> {
        let stores = container.get_all::<dyn ErasedRateLimitStore>()?;
        let resolvers = container.get_all::<dyn PrincipalResolver>()?;
        if stores.len() > 1 {
            return Err(RateLimitSetupError::SeveralStores {
                stores: stores.iter().map(|s| s.store_name().to_string()).collect(),
            }
            .into());
        }
        if resolvers.len() > 1 {
            let resolver_type = std::any::type_name::<dyn PrincipalResolver>();
            let resolvers = container
                .graph()
                .providers
                .into_iter()
                .filter(|p| p.type_name == resolver_type && p.scope != cortex_di::Scope::Request)
                .map(|p| p.declared_by)
                .collect();
            return Err(RateLimitSetupError::SeveralResolvers { resolvers }.into());
        }
        if let Some(store) = stores.into_iter().next() {
            let store = store.into_arc();
            if self.config.rate_limit.enabled {
                tracing::info!(
                    store = store.store_name(),
                    "rate limiting with the store from the container"
                );
                self.store = Some(StoreHandle::Custom(store));
            } else {
                tracing::warn!(
                    store = store.store_name(),
                    "the rate-limit store `{}` is registered, but `[http.rate_limit] enabled = false`: requests are not rate limited; hint: remove `enabled = false`, or do not register the store",
                    store.store_name()
                );
            }
        }
        if let Some(resolver) = resolvers.into_iter().next() {
            let limited_by_user = self.config.rate_limit.enabled
                && self.config.rate_limit.key == RateLimitKeyKind::User;
            if !limited_by_user {
                tracing::warn!(
                    "a principal resolver is registered, but requests are not rate limited by user (`[http.rate_limit] key = \"user\"`): it is not used"
                );
            }
            self.resolver = Some(resolver.into_arc());
        }
        Ok(self)
    }

    /// Whether requests are rate limited (`[http.rate_limit] enabled`), by the in-memory store or
    /// by the one given to [`with_rate_limit_store`](Self::with_rate_limit_store).
    ///
    /// ```
    /// use cortex_core::http::middleware::{HttpConfig, Stack};
    ///
    /// let mut config = HttpConfig::default();
    /// assert!(Stack::new(&config).unwrap().has_rate_limit_store());
    /// config.rate_limit.enabled = false;
    /// assert!(!Stack::new(&config).unwrap().has_rate_limit_store());
    /// ```
    pub fn has_rate_limit_store(&self) -> bool {
        self.store.is_some()
    }

    /// Adds a [`RequestObserver`], called for every request the stack sees, after the ones
    /// added before (an app's come from its container and
    /// [`App::observer`](crate::App::observer); see [`observe`](crate::http::observe)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use axum::{Router, body::Body, routing::get};
    /// use cortex_core::http::middleware::{HttpConfig, Stack};
    /// use cortex_core::http::observe::{ObservedRequest, ObservedResponse, RequestObserver};
    /// use tower::ServiceExt;
    ///
    /// #[derive(Clone, Default)]
    /// struct Count(Arc<AtomicU64>);
    /// impl RequestObserver for Count {
    ///     type State = ();
    ///     fn on_request(&self, _: &ObservedRequest<'_>) {}
    ///     fn on_response(&self, _: (), response: &ObservedResponse<'_>) {
    ///         assert_eq!(response.route(), Some("/users/{id}"));
    ///         self.0.fetch_add(1, Ordering::Relaxed);
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let count = Count::default();
    /// let stack = Stack::new(&HttpConfig::minimal())?.with_observer(count.clone());
    /// let app: Router = stack.apply(Router::new().route("/users/{id}", get(|| async { "hi" })));
    /// let request = http::Request::get("/users/7").body(Body::empty()).unwrap();
    /// assert_eq!(app.oneshot(request).await.unwrap().status(), 200);
    /// assert_eq!(count.0.load(Ordering::Relaxed), 1);
    /// # Ok::<(), cortex_core::http::middleware::HttpConfigError>(())
    /// # }).unwrap();
    /// ```
    pub fn with_observer<O: RequestObserver>(mut self, observer: O) -> Self {
        self.observers.push(Arc::new(observer));
        self
    }

    /// The configuration the stack was built from.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The stack as one tower layer, for wrapping a whole service (see [`StackLayer`]). Static
    /// directories are not included: they are mounted by [`Stack::apply`].
    pub fn layer(&self) -> StackLayer {
        StackLayer::new(self.shared(None))
    }

    fn shared(&self, app: Option<AppLayers>) -> Shared {
        self.shared_observed(app, self.observers.clone())
    }

    fn shared_observed(
        &self,
        app: Option<AppLayers>,
        observers: Vec<Arc<dyn ErasedRequestObserver>>,
    ) -> Shared {
        let config = &self.config;
        let rate = self.store.clone().map(|store| RateLimiting {
            store,
            key: config.rate_limit.key.clone(),
            headers: config.rate_limit.headers,
            resolver: self.resolver.clone(),
            exempt: self.operational.clone(),
        });
        Shared {
            core: CoreShared::new(config, &self.sensitive_headers),
            cors: CorsShared::new(&config.cors),
            guard: GuardShared::new(config, rate),
            compression: CompressionShared::new(&config.compression),
            etag: EtagSettings::new(&config.etag),
            observers: observers.into(),
            app,
        }
    }

    /// Mounts the static directories and wraps every route of `router` (and its fallback) in the
    /// stack, with one `Router::layer` call. Apply it last, after all routes are added (routes
    /// added later are not covered).
    pub fn apply<S>(&self, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        static_files::mount(router, &self.config.static_files).layer(self.layer())
    }

    /// [`apply`](Self::apply), with `inner` between the stack and each route, in the same
    /// `Router::layer` call. Each `Router::layer` call boxes every route once more, a cost paid
    /// on every request, so layers meant for every route go here rather than in calls of their
    /// own. A tuple `(outer, inner)` is a layer too.
    ///
    /// ```
    /// use axum::{Extension, Router, routing::get};
    /// use cortex_core::http::ProblemLayer;
    /// use cortex_core::http::middleware::{HttpConfig, Stack};
    ///
    /// let stack = Stack::new(&HttpConfig::default()).unwrap();
    /// let router: Router = Router::new().route("/", get(|| async { "hi" }));
    /// let app = stack.apply_with(router, (Extension(42_u32), ProblemLayer::new()));
    /// # let _ = app;
    /// ```
    pub fn apply_with<S, L>(&self, router: Router<S>, inner: L) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request, Response = Response, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        static_files::mount(router, &self.config.static_files).layer((self.layer(), inner))
    }
}

impl Stack {
    /// The stack as an app uses it ([`AppStack`]): it also does the work of
    /// `Extension(container)` and [`ProblemLayer`](crate::http::ProblemLayer) (the container in
    /// every request's extensions, the request id in scope, panics caught, error responses made
    /// problems) in its own service and future, instead of stacking two more layers. Its
    /// observers are this stack's, then the container's `dyn ErasedRequestObserver` bindings.
    pub(crate) fn for_app(
        &self,
        container: cortex_di::Container,
    ) -> Result<AppStack, cortex_di::Error> {
        let mut observers = self.observers.clone();
        // Inspection creates nothing, observers included (no request is served there).
        if !container.is_inspection() {
            for observer in container.get_all::<dyn ErasedRequestObserver>()? {
                observers.push(observer.into_arc());
            }
        }
        let mut shared = self.shared_observed(None, observers);
        let request_id_header = crate::http::ProblemLayer::new().header().clone();
        shared.app = Some(AppLayers {
            finish_scopes: container.has_scope_end_hooks(),
            container,
            id_from_core: shared.core.request_id_header() == Some(&request_id_header),
            request_id_header,
        });
        Ok(AppStack {
            layer: StackLayer::new(shared),
            static_files: self.config.static_files.clone(),
        })
    }
}

/// The stack an `App` serves its routes in, from [`Stack::for_app`]. The only way the rest of
/// the crate puts something in the stack: it says *what* to wrap, never how the stack is built.
#[derive(Clone)]
pub(crate) struct AppStack {
    layer: StackLayer,
    static_files: Vec<StaticFilesConfig>,
}

impl AppStack {
    /// This stack, for the handlers of the one route `template` (a path such as `/users/{id}`):
    /// observers get the template from it, with no lookup per request.
    pub(crate) fn for_route(&self, template: &str) -> AppStack {
        AppStack {
            layer: self.layer.for_route(template),
            static_files: Vec::new(),
        }
    }

    /// Serves `handler` for `filter` on `router`, inside the stack: the handler is wrapped before
    /// axum boxes it, so a request goes through one boxed service, as with a bare axum handler.
    pub(crate) fn route_handler<H, T>(
        &self,
        router: MethodRouter,
        filter: MethodFilter,
        handler: H,
    ) -> MethodRouter
    where
        H: axum::handler::Handler<T, ()>,
        T: 'static,
    {
        router.on_service(filter, self.layer.layer(H::with_state(handler, ())))
    }

    /// `router` with `handler`, inside the stack, answering the methods it has no route for.
    pub(crate) fn method_fallback<H, T>(&self, router: MethodRouter, handler: H) -> MethodRouter
    where
        H: axum::handler::Handler<T, ()>,
        T: 'static,
    {
        router.fallback_service(self.layer.layer(H::with_state(handler, ())))
    }

    /// Mounts the static directories and wraps every route of `router` (and its fallback) in the
    /// stack, with one `Router::layer` call (as [`Stack::apply`]).
    pub(crate) fn apply<S>(&self, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        static_files::mount(router, &self.static_files).layer(self.layer.clone())
    }

    /// Mounts the static directories only: for an app with layers of its own, which go into
    /// the same `Router::layer` call as [`layer`](Self::layer).
    pub(crate) fn mount_static<S>(&self, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        static_files::mount(router, &self.static_files)
    }

    /// The stack as a layer.
    pub(crate) fn layer(&self) -> StackLayer {
        self.layer.clone()
    }
}

impl fmt::Debug for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stack")
            .field("config", &self.config)
            .field("custom_principal_resolver", &self.resolver.is_some())
            .field("operational", &self.operational)
            .field("observers", &self.observers.len())
            .finish_non_exhaustive()
    }
}

/// Builds the stack from `config` and applies it to `router`: [`Stack::new`] then
/// [`Stack::apply`].
///
/// ```
/// use axum::{Router, routing::get};
/// use cortex_core::http::middleware::{HttpConfig, apply};
///
/// let app: Router = apply(Router::new().route("/", get(|| async { "hi" })), &HttpConfig::minimal()).unwrap();
/// ```
pub fn apply<S>(router: Router<S>, config: &HttpConfig) -> Result<Router<S>, HttpConfigError>
where
    S: Clone + Send + Sync + 'static,
{
    Ok(Stack::new(config)?.apply(router))
}
