//! Testing an app: the whole app — container, routes, middleware, problem details — built from its
//! own configuration in the `test` profile, with requests sent in-process (no socket, no port) and
//! assertions that print the response body when they fail.
//!
//! ```
//! use cortex_core::App;
//! use cortex_core::axum::{Router, routing::get};
//! use cortex_core::testing::TestApp;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = TestApp::new(
//!     App::with_config(cortex_core::testing::config(env!("CARGO_MANIFEST_DIR")))
//!         .router(Router::new().route("/hello", get(|| async { "hello" }))),
//! )
//! .await;
//!
//! app.get("/hello").await.assert_status(200).assert_text("hello");
//! let problem = app.get("/nowhere").await.assert_problem(404);
//! assert_eq!(problem["status"], 404);
//! # }
//! ```
//!
//! In an app made by `cortex new`, `tests/app.rs` starts from the app's own `cortex.toml` and
//! everything `#[injectable]`/`#[controller]` declares:
//!
//! ```no_run
//! # use cortex_core as cortex;
//! use cortex::testing::TestApp;
//! // use blog as _; // links the app's library, so that discover() finds its controllers
//!
//! // #[tokio::test]
//! async fn greets() {
//!     let app = TestApp::discover(env!("CARGO_MANIFEST_DIR")).await;
//!     let body: serde_json::Value = app.get("/hello/Ada").await.assert_status(200).json();
//!     assert_eq!(body["message"], "Hello, Ada!");
//! }
//! ```
//!
//! Replace a service for a test with the container's overrides before building:
//! `TestApp::new(App::with_config(config(dir)).discover().container(|b| { b.override_value(..); }))`.
//!
//! To assert on what the app logs and the spans it makes, capture them: [`CapturedLogs`] is a
//! writer for the log subscriber, [`CapturedSpans`] a layer recording spans and their fields.

use std::fmt::Debug;
use std::future::{Future, IntoFuture};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::pin::Pin;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use cortex_di::Container;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::ConnectInfo;
use cortex_di::RequestScope;
use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::ServiceExt;

use crate::config::{Config, ConfigError, Profile};
use crate::http::PROBLEM_JSON;
use crate::{App, AppError, Application, Running};

mod capture;

pub use capture::{CapturedLogs, CapturedSpan, CapturedSpans};

/// The configuration of the app in `dir` as its tests should see it: `cortex.toml`, then
/// `cortex.test.toml`, in the `test` profile, **ignoring the process environment** (so a
/// `CORTEX_PORT` or `.env` on the developer's machine cannot change a test's outcome).
///
/// Panics, with the error, when a file is unreadable or malformed: a test cannot go on without
/// its configuration. [`try_config`] returns the error instead.
///
/// ```
/// let config = cortex_core::testing::config(env!("CARGO_MANIFEST_DIR"));
/// assert!(config.profile().is_test());
/// ```
#[track_caller]
pub fn config(dir: impl AsRef<Path>) -> Config {
    let dir = dir.as_ref();
    try_config(dir).unwrap_or_else(|e| {
        panic!(
            "the test configuration in {} does not load: {e}",
            dir.display()
        )
    })
}

/// [`config`], returning the error instead of panicking.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("cortex.toml"), "[server\nport = 1")?;
/// assert!(cortex_core::testing::try_config(dir.path()).is_err());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
pub fn try_config(dir: impl AsRef<Path>) -> Result<Config, ConfigError> {
    Config::builder()
        .dir(dir)
        .profile(Profile::TEST)
        .env_vars::<_, &str, &str>([])
        .load()
}

/// A built app that takes requests in-process: [`get`](Self::get), [`post`](Self::post), …
/// return a [`TestRequest`] to complete and `.await`.
///
/// ```
/// use cortex_core::App;
/// use cortex_core::axum::{Json, Router, routing::post};
/// use cortex_core::testing::TestApp;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let echo = Router::new().route("/echo", post(|Json(v): Json<serde_json::Value>| async { Json(v) }));
/// let app = TestApp::new(App::with_config(cortex_core::testing::config(".")).router(echo)).await;
///
/// let body: serde_json::Value = app
///     .post("/echo")
///     .json(&serde_json::json!({ "title": "milk" }))
///     .await
///     .assert_status(200)
///     .json();
/// assert_eq!(body["title"], "milk");
///
/// // Malformed JSON is a problem+json 400, as over a socket.
/// app.post("/echo").header("content-type", "application/json").body("{").await.assert_problem(400);
/// # }
/// ```
pub struct TestApp {
    app: Application,
    router: Router,
}

impl Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("routes", &self.app.routes().len())
            .finish_non_exhaustive()
    }
}

impl TestApp {
    /// Builds `app` (the container, its `OnStart` hooks, the routes and middleware), then runs its
    /// `OnReady` hooks and `on_ready` closures — so consumers and bridges that start there run
    /// in-process — as serving would, without a socket. Panics with
    /// the error when it does not build — a missing provider, a bad configuration value — since
    /// the test cannot go on; [`try_new`](Self::try_new) returns it instead.
    #[track_caller]
    pub fn new(app: App) -> impl Future<Output = Self> {
        let caller = std::panic::Location::caller();
        async move {
            match Self::try_new(app).await {
                Ok(app) => app,
                Err(e) => panic!("the app does not build (TestApp::new at {caller}): {e}"),
            }
        }
    }

    /// Builds `app`, returning the error when it does not build.
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::testing::{TestApp, config};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = App::with_config(config(".")).container(|b| {
    ///     b.add(cortex_di::Provider::<u32>::factory(|r| Ok(*r.get::<u64>()? as u32)).depends_on(cortex_di::Dependency::on::<u64>()));
    /// });
    /// let err = TestApp::try_new(app).await.unwrap_err();
    /// assert!(err.to_string().contains("u64"), "{err}");
    /// # }
    /// ```
    pub async fn try_new(app: App) -> Result<Self, AppError> {
        let app = app.build().await?;
        if let Err(e) = app.ready().await {
            // As a failed start does: nothing keeps running half-ready.
            app.shutdown_signal().trip();
            app.container().shutdown().await;
            return Err(e);
        }
        Ok(Self::from_application(app))
    }

    /// The app in `dir` (its `Cargo.toml` folder: pass `env!("CARGO_MANIFEST_DIR")`) with
    /// [`config`] and everything the linked crates declare (`App::discover`). Panics when the
    /// configuration or the app does not load.
    ///
    /// A test file links the app's library only when it names it: write `use my_app as _;` in a
    /// test that uses nothing else of it. When the test binary links no component at all, this
    /// prints a warning saying so, which the test runner shows if the test fails.
    #[track_caller]
    pub fn discover(dir: impl AsRef<Path>) -> impl Future<Output = Self> {
        if crate::app::nothing_to_discover() {
            eprintln!("warning: {}", crate::app::NOTHING_DISCOVERED);
        }
        let app = App::with_config(config(dir)).discover();
        Self::new(app)
    }

    /// Wraps an app built elsewhere (its `OnReady` hooks are not run: serve it, or call
    /// [`TestApp::new`] on the `App` instead).
    pub fn from_application(app: Application) -> Self {
        let router = app.router();
        Self { app, router }
    }

    /// A session: requests made through it keep the cookies the app sets (`Set-Cookie`) and send
    /// them back (`Cookie`), as a browser would — sign in, then act as that user. Cookies are
    /// kept by name, whatever their `Path` or `Domain`; one set with `Max-Age=0` or an empty value
    /// is forgotten. Each session has its own cookies; requests made on the `TestApp` itself keep
    /// none.
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::axum::{Router, http::HeaderMap, routing::{get, post}};
    /// use cortex_core::testing::{TestApp, config};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let routes = Router::new()
    ///     .route("/login", post(|| async { ([("set-cookie", "user=ada; Path=/; HttpOnly")], "hi") }))
    ///     .route("/me", get(|headers: HeaderMap| async move {
    ///         headers.get("cookie").map(|c| c.to_str().unwrap().to_string()).unwrap_or_default()
    ///     }));
    /// let app = TestApp::new(App::with_config(config(".")).router(routes)).await;
    ///
    /// let session = app.session();
    /// session.post("/login").await.assert_status(200);
    /// session.get("/me").await.assert_text("user=ada");
    /// app.get("/me").await.assert_text(""); // outside the session: no cookie
    /// # }
    /// ```
    pub fn session(&self) -> TestSession {
        TestSession {
            router: self.router.clone(),
            jar: Arc::default(),
        }
    }

    /// Opens a request scope on the app's container, as the HTTP layer does for each request:
    /// request-scoped services resolve once per scope. Close it with
    /// [`RequestScope::close`](cortex_di::RequestScope) to run their shutdown hooks, or drop it.
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::testing::{TestApp, config};
    /// use cortex_di::{Provider, Scope};
    ///
    /// struct Basket(Vec<String>);
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = TestApp::new(App::with_config(config(".")).provide(
    ///     Provider::factory(|_| Ok(Basket(Vec::new()))).scope(Scope::Request),
    /// ))
    /// .await;
    /// let scope = app.scope();
    /// assert!(scope.get::<Basket>().unwrap().0.is_empty());
    /// # }
    /// ```
    pub fn scope(&self) -> RequestScope {
        self.app.container().scope()
    }

    /// A `GET` request to `uri` (a path with an optional query: `/todos?done=true`).
    pub fn get(&self, uri: impl AsRef<str>) -> TestRequest {
        self.request(Method::GET, uri)
    }

    /// A `POST` request.
    pub fn post(&self, uri: impl AsRef<str>) -> TestRequest {
        self.request(Method::POST, uri)
    }

    /// A `PUT` request.
    pub fn put(&self, uri: impl AsRef<str>) -> TestRequest {
        self.request(Method::PUT, uri)
    }

    /// A `PATCH` request.
    pub fn patch(&self, uri: impl AsRef<str>) -> TestRequest {
        self.request(Method::PATCH, uri)
    }

    /// A `DELETE` request.
    pub fn delete(&self, uri: impl AsRef<str>) -> TestRequest {
        self.request(Method::DELETE, uri)
    }

    /// A request with any method.
    pub fn request(&self, method: Method, uri: impl AsRef<str>) -> TestRequest {
        TestRequest::new(self.router.clone(), method, uri, None)
    }

    /// The app's container, to resolve a service and look at its state.
    pub fn container(&self) -> &Container {
        self.app.container()
    }

    /// The built app: its routes, configuration and OpenAPI document.
    pub fn application(&self) -> &Application {
        &self.app
    }

    /// Serves the app on a free port of 127.0.0.1 (running its `OnReady` hooks), for tests that
    /// need a real socket; [`Running::local_addr`] tells where and [`Running::shutdown`] drains it.
    pub async fn serve(self) -> Result<Running, AppError> {
        self.app
            .bind_to(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
    }

    /// Stops the app as a drain does, without a server: trips its
    /// [`ShutdownSignal`](crate::ShutdownSignal), waits for the tasks spawned with
    /// [`spawn_tracked`](crate::ShutdownSignal::spawn_tracked) (up to `[server] drain_timeout`,
    /// aborting the rest), runs the app's `on_shutdown` closures, then the container's
    /// `OnShutdown` hooks (in reverse creation order). Panics, once everything ran, when an
    /// `on_shutdown` closure failed: the test should see it.
    pub async fn shutdown(self) {
        let signal = self.app.shutdown_signal();
        signal.trip();
        signal.wait_tracked(self.app.drain_timeout()).await;
        let closures = self.app.run_on_shutdown().await;
        self.app.container().shutdown().await;
        if let Err(e) = closures {
            panic!("TestApp::shutdown: {e}");
        }
    }
}

/// Requests that keep cookies (see [`TestApp::session`]): the same request methods as
/// [`TestApp`].
#[derive(Clone)]
pub struct TestSession {
    router: Router,
    jar: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Debug for TestSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestSession")
            .field("cookies", &self.cookies())
            .finish()
    }
}

impl TestSession {
    /// A `GET` request in this session.
    pub fn get(&self, uri: impl AsRef<str>) -> TestRequest {
        self.request(Method::GET, uri)
    }

    /// A `POST` request in this session.
    pub fn post(&self, uri: impl AsRef<str>) -> TestRequest {
        self.request(Method::POST, uri)
    }

    /// A `PUT` request in this session.
    pub fn put(&self, uri: impl AsRef<str>) -> TestRequest {
        self.request(Method::PUT, uri)
    }

    /// A `PATCH` request in this session.
    pub fn patch(&self, uri: impl AsRef<str>) -> TestRequest {
        self.request(Method::PATCH, uri)
    }

    /// A `DELETE` request in this session.
    pub fn delete(&self, uri: impl AsRef<str>) -> TestRequest {
        self.request(Method::DELETE, uri)
    }

    /// A request with any method in this session.
    pub fn request(&self, method: Method, uri: impl AsRef<str>) -> TestRequest {
        TestRequest::new(self.router.clone(), method, uri, Some(self.jar.clone()))
    }

    /// The cookies kept, by name.
    pub fn cookies(&self) -> BTreeMap<String, String> {
        self.jar
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sets a cookie, as if the app had (a session cookie made by the test).
    pub fn set_cookie(&self, name: impl Into<String>, value: impl Into<String>) {
        self.jar
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.into(), value.into());
    }
}

/// Keeps what the `Set-Cookie` headers of a response say: `name=value`, forgotten when the value is
/// empty or `Max-Age` is 0 or less.
fn keep_cookies(jar: &Mutex<BTreeMap<String, String>>, headers: &HeaderMap) {
    let mut jar = jar.lock().unwrap_or_else(PoisonError::into_inner);
    for header in headers.get_all(SET_COOKIE) {
        let Ok(header) = header.to_str() else {
            continue;
        };
        let mut attributes = header.split(';').map(str::trim);
        let Some((name, value)) = attributes.next().and_then(|pair| pair.split_once('=')) else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim().trim_matches('"'));
        let expired = attributes.any(|attribute| {
            attribute.split_once('=').is_some_and(|(key, age)| {
                key.trim().eq_ignore_ascii_case("max-age")
                    && age.trim().parse::<i64>().is_ok_and(|age| age <= 0)
            })
        });
        if value.is_empty() || expired {
            jar.remove(name);
        } else {
            jar.insert(name.to_string(), value.to_string());
        }
    }
}

/// A request being put together; `.await` (or [`send`](Self::send)) sends it.
///
/// Misuse — a header name or value that is not valid HTTP, a body that does not serialize — is
/// reported by a panic when the request is sent, naming the problem.
#[must_use = "a request does nothing until it is awaited"]
pub struct TestRequest {
    router: Router,
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Bytes,
    error: Option<String>,
    peer: Option<SocketAddr>,
    jar: Option<Arc<Mutex<BTreeMap<String, String>>>>,
}

impl Debug for TestRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestRequest")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish()
    }
}

impl TestRequest {
    fn new(
        router: Router,
        method: Method,
        uri: impl AsRef<str>,
        jar: Option<Arc<Mutex<BTreeMap<String, String>>>>,
    ) -> Self {
        TestRequest {
            router,
            method,
            uri: uri.as_ref().to_string(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            error: None,
            peer: None,
            jar,
        }
    }

    /// The client's address, as the server would see it on the connection
    /// (`ConnectInfo<SocketAddr>`): for rate limits per client, trusted proxies, logs. Without
    /// it, the request has no peer address, as with any in-process request.
    ///
    /// ```
    /// use cortex_core::App;
    /// use cortex_core::axum::{Router, extract::ConnectInfo, routing::get};
    /// use cortex_core::testing::{TestApp, config};
    /// use std::net::SocketAddr;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let routes = Router::new().route("/ip", get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
    ///     peer.ip().to_string()
    /// }));
    /// let app = TestApp::new(App::with_config(config(".")).router(routes)).await;
    /// app.get("/ip").peer("203.0.113.9:4000".parse().unwrap()).await.assert_text("203.0.113.9");
    /// # }
    /// ```
    pub fn peer(mut self, addr: SocketAddr) -> Self {
        self.peer = Some(addr);
        self
    }

    /// Adds a header (`Authorization`, `X-Api-Key`, `If-None-Match`, …); several calls with the
    /// same name add several values.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let (name, value) = (name.as_ref(), value.as_ref());
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => {
                self.error
                    .get_or_insert(format!("`{name}: {value}` is not a valid HTTP header"));
            }
        }
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: impl AsRef<str>) -> Self {
        let value = format!("Bearer {}", token.as_ref());
        self.header(AUTHORIZATION.as_str(), value)
    }

    /// A JSON body (`Content-Type: application/json` unless a content type was set).
    pub fn json(mut self, body: &impl Serialize) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body = bytes.into(),
            Err(e) => {
                self.error
                    .get_or_insert(format!("the JSON body does not serialize: {e}"));
            }
        }
        self.content_type_if_unset("application/json")
    }

    /// A form body (`Content-Type: application/x-www-form-urlencoded` unless one was set).
    pub fn form(mut self, body: &impl Serialize) -> Self {
        match serde_urlencoded::to_string(body) {
            Ok(text) => self.body = text.into(),
            Err(e) => {
                self.error
                    .get_or_insert(format!("the form body does not serialize: {e}"));
            }
        }
        self.content_type_if_unset("application/x-www-form-urlencoded")
    }

    /// A raw body, sent as it is (set the content type with [`header`](Self::header)).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    fn content_type_if_unset(mut self, value: &'static str) -> Self {
        if !self.headers.contains_key(CONTENT_TYPE) {
            self.headers
                .insert(CONTENT_TYPE, HeaderValue::from_static(value));
        }
        self
    }

    /// Sends the request through the app and reads the whole response.
    pub async fn send(self) -> TestResponse {
        let Self {
            router,
            method,
            uri,
            mut headers,
            body,
            error,
            peer,
            jar,
        } = self;
        if let Some(error) = error {
            panic!("{method} {uri}: {error}");
        }
        let mut request = match Request::builder()
            .method(method.clone())
            .uri(uri.as_str())
            .body(Body::from(body))
        {
            Ok(request) => request,
            Err(e) => panic!("{method} {uri}: not a valid request: {e}"),
        };
        if let Some(jar) = &jar {
            let cookies = jar.lock().unwrap_or_else(PoisonError::into_inner);
            let line: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if !line.is_empty() {
                match HeaderValue::try_from(line.join("; ")) {
                    Ok(value) => {
                        headers.append(COOKIE, value);
                    }
                    Err(_) => panic!("{method} {uri}: a kept cookie is not a valid header value"),
                }
            }
        }
        *request.headers_mut() = headers;
        if let Some(peer) = peer {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        let response = match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        if let Some(jar) = &jar {
            keep_cookies(jar, &parts.headers);
        }
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => panic!("{method} {uri}: the response body failed: {e}"),
        };
        TestResponse {
            method,
            uri,
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}

impl IntoFuture for TestRequest {
    type Output = TestResponse;
    type IntoFuture = Pin<Box<dyn Future<Output = TestResponse> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A response, read in full. The `assert_*` methods panic with the request, the status and the
/// body, so a failing test says what the app answered.
#[derive(Debug, Clone)]
pub struct TestResponse {
    method: Method,
    uri: String,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl TestResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header's value, when it is present and text.
    pub fn header(&self, name: impl AsRef<str>) -> Option<&str> {
        self.headers
            .get(name.as_ref())
            .and_then(|v| v.to_str().ok())
    }

    /// The body.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON of type `T`; panics, showing the body, when it is not.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        match serde_json::from_slice(&self.body) {
            Ok(value) => value,
            Err(e) => panic!(
                "{}: the body is not JSON of type {}: {e}\n{}",
                self.describe(),
                std::any::type_name::<T>(),
                self.text()
            ),
        }
    }

    /// Asserts the status (`200`, or `StatusCode::CREATED`); returns the response for more.
    #[track_caller]
    pub fn assert_status<S>(&self, expected: S) -> &Self
    where
        S: TryInto<StatusCode>,
        S::Error: Debug,
    {
        let expected = expected
            .try_into()
            .unwrap_or_else(|e| panic!("not an HTTP status: {e:?}"));
        assert!(
            self.status == expected,
            "{}: expected status {expected}, got {}\n{}",
            self.describe(),
            self.status,
            self.text()
        );
        self
    }

    /// Asserts the body is exactly `expected`.
    #[track_caller]
    pub fn assert_text(&self, expected: &str) -> &Self {
        assert!(
            self.body == expected.as_bytes(),
            "{}: expected the body {expected:?}, got {:?}",
            self.describe(),
            self.text()
        );
        self
    }

    /// Asserts an RFC 9457 problem response with this status (`Content-Type:
    /// application/problem+json`, a `status` member that matches) and returns its body.
    #[track_caller]
    pub fn assert_problem<S>(&self, expected: S) -> serde_json::Value
    where
        S: TryInto<StatusCode>,
        S::Error: Debug,
    {
        self.assert_status(expected);
        let content_type = self.header(CONTENT_TYPE.as_str()).unwrap_or("");
        assert!(
            content_type.starts_with(PROBLEM_JSON),
            "{}: expected {PROBLEM_JSON}, got content type {content_type:?}\n{}",
            self.describe(),
            self.text()
        );
        let body: serde_json::Value = self.json();
        assert_eq!(
            body["status"],
            self.status.as_u16(),
            "{}: the problem's `status` member does not match\n{body}",
            self.describe()
        );
        body
    }

    fn describe(&self) -> String {
        format!("{} {}", self.method, self.uri)
    }
}
