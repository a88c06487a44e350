//! Logging: a `tracing` subscriber configured from the environment.
//!
//! - the filter comes from `CORTEX_LOG`, else `RUST_LOG`, else `info` (e.g.
//!   `CORTEX_LOG=info,cortex_core=debug`);
//! - the format is human-readable on a terminal in the `dev` and `test` profiles, JSON lines in
//!   `prod` (or when `CORTEX_LOG_FORMAT=json`; `CORTEX_LOG_FORMAT=text` forces text);
//! - colours only on a terminal, never when `NO_COLOR` is set.
//!
//! At the default `info` a request costs the subscriber nothing: the per-request `http.request`
//! span and its closing event are `debug`, so the filter turns them away at their callsite and
//! nothing is formatted. `CORTEX_LOG=info,cortex_core::http=debug` turns them on; for one line
//! per request at `info`, set `[http.trace] access_log = true`.
//!
//! `#[cortex::main]` calls [`init`]; an app that installs its own subscriber first keeps it.

use std::io::IsTerminal;

use tracing::Dispatch;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter when neither `CORTEX_LOG` nor `RUST_LOG` is set.
pub const DEFAULT_FILTER: &str = "info";

/// Installs the subscriber unless one is already installed; returns whether it did.
///
/// The subscriber is [`subscriber`]`(std::io::stderr)`.
///
/// ```
/// cortex_core::logging::init();
/// assert!(!cortex_core::logging::init(), "the second call keeps the first subscriber");
/// ```
pub fn init() -> bool {
    subscriber(std::io::stderr).try_init().is_ok()
}

/// The subscriber [`init`] installs, configured from the environment the same way, writing to
/// `writer` instead of standard error; nothing is installed.
///
/// Benchmarks and tests use it to run an app with exactly the logging `#[cortex::main]` gives it,
/// for one thread (`tracing::dispatcher::set_default`) or with another sink.
///
/// ```
/// let dispatch = cortex_core::logging::subscriber(std::io::sink);
/// tracing::dispatcher::with_default(&dispatch, || {
///     tracing::info!("written to the sink");
///     // The request span's level is off at the default filter (unless CORTEX_LOG says otherwise).
///     if std::env::var_os("CORTEX_LOG").is_none() && std::env::var_os("RUST_LOG").is_none() {
///         assert!(!tracing::enabled!(tracing::Level::DEBUG));
///     }
/// });
/// ```
pub fn subscriber<W>(writer: W) -> Dispatch
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = std::env::var("CORTEX_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|spec| match EnvFilter::try_new(&spec) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!(
                    "warning: ignoring the log filter {spec:?}: {e}; using `{DEFAULT_FILTER}`"
                );
                None
            }
        })
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    let profile = std::env::var("CORTEX_PROFILE").unwrap_or_default();
    let json = match std::env::var("CORTEX_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => profile.eq_ignore_ascii_case("prod"),
    };
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    build(filter, json, ansi, writer)
}

/// The subscriber from its settings.
fn build<W>(filter: EnvFilter, json: bool, ansi: bool, writer: W) -> Dispatch
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if json {
        Dispatch::new(builder.json().with_current_span(true).finish())
    } else {
        Dispatch::new(builder.with_ansi(ansi).with_target(true).finish())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    use tracing::span::{Attributes, Id, Record};
    use tracing::subscriber::Interest;
    use tracing::{Event, Metadata, Subscriber};

    use super::*;
    use crate::App;
    use crate::http::middleware::HttpConfig;

    /// What the subscriber wrote.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Captured;
        fn make_writer(&'w self) -> Captured {
            self.clone()
        }
    }

    /// Wraps the real subscriber and counts the spans and events it is handed (only those its
    /// filter lets through reach it). `Dispatch` does not expose the subscriber's level hint, so
    /// every callsite is asked: the counts are the same, the filter only answers later.
    struct Counting {
        inner: Dispatch,
        spans: Arc<AtomicUsize>,
        events: Arc<AtomicUsize>,
    }

    impl Subscriber for Counting {
        fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
            self.inner.register_callsite(metadata)
        }
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            self.inner.enabled(metadata)
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            self.spans.fetch_add(1, Ordering::SeqCst);
            self.inner.new_span(span)
        }
        fn record(&self, span: &Id, values: &Record<'_>) {
            self.inner.record(span, values)
        }
        fn record_follows_from(&self, span: &Id, follows: &Id) {
            self.inner.record_follows_from(span, follows)
        }
        fn event(&self, event: &Event<'_>) {
            self.events.fetch_add(1, Ordering::SeqCst);
            self.inner.event(event)
        }
        fn enter(&self, span: &Id) {
            self.inner.enter(span)
        }
        fn exit(&self, span: &Id) {
            self.inner.exit(span)
        }
        fn clone_span(&self, id: &Id) -> Id {
            self.inner.clone_span(id)
        }
        fn try_close(&self, id: Id) -> bool {
            self.inner.try_close(id)
        }
    }

    /// What one `GET /json` through the default stack handed to and made the subscriber write.
    struct Seen {
        spans: usize,
        events: usize,
        output: String,
    }

    async fn json() -> axum::Json<serde_json::Value> {
        axum::Json(serde_json::json!({"message": "Hello, World!"}))
    }

    /// Builds the app first (its startup is not counted), then serves one request with the
    /// subscriber of [`subscriber`] made from `filter`, in text or JSON.
    fn one_request(filter: &str, json_format: bool, http: HttpConfig) -> Seen {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let router = runtime.block_on(async {
            App::new()
                .http_config(http)
                .router(axum::Router::new().route("/json", axum::routing::get(json)))
                .build()
                .await
                .expect("the app builds")
                .router()
        });
        let captured = Captured::default();
        let spans = Arc::new(AtomicUsize::new(0));
        let events = Arc::new(AtomicUsize::new(0));
        let dispatch = Dispatch::new(Counting {
            inner: build(EnvFilter::new(filter), json_format, false, captured.clone()),
            spans: spans.clone(),
            events: events.clone(),
        });
        let mut request = Request::get("/json").body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                40000,
            ))));
        tracing::dispatcher::with_default(&dispatch, || {
            // Under `cargo test` another thread may register a callsite while this subscriber is
            // being installed, leaving a stale interest (see the middleware tests): recompute.
            tracing::callsite::rebuild_interest_cache();
            runtime.block_on(async {
                let response = router.oneshot(request).await.unwrap();
                assert_eq!(response.status(), 200);
                response.into_body().collect().await.unwrap();
            })
        });
        Seen {
            spans: spans.load(Ordering::SeqCst),
            events: events.load(Ordering::SeqCst),
            output: captured.text(),
        }
    }

    #[test]
    fn at_the_default_filter_a_request_creates_no_span_and_writes_nothing() {
        for json_format in [false, true] {
            let seen = one_request(DEFAULT_FILTER, json_format, HttpConfig::default());
            assert_eq!(
                seen.spans, 0,
                "no span reaches the subscriber (json: {json_format})"
            );
            assert_eq!(
                seen.events, 0,
                "no event reaches the subscriber (json: {json_format})"
            );
            assert_eq!(
                seen.output, "",
                "nothing is formatted (json: {json_format})"
            );
        }
    }

    #[test]
    fn at_debug_for_cortex_core_http_the_request_span_and_its_end_are_written() {
        let seen = one_request("info,cortex_core::http=debug", false, HttpConfig::default());
        assert_eq!(seen.spans, 1, "{}", seen.output);
        assert_eq!(seen.events, 1, "{}", seen.output);
        let line = seen.output.trim_end();
        assert!(
            line.contains(r#"http.request{method=GET route="/json" path="/json""#)
                && line.contains("request_id=")
                && line.contains("status=200")
                && line.contains("request finished"),
            "{line}"
        );
    }

    #[test]
    fn the_access_log_writes_one_info_line_per_request_without_a_span() {
        let mut http = HttpConfig::default();
        http.trace.access_log = true;
        let seen = one_request(DEFAULT_FILTER, false, http.clone());
        assert_eq!(seen.spans, 0, "{}", seen.output);
        assert_eq!(seen.events, 1, "{}", seen.output);
        let line = seen.output.trim_end();
        assert_eq!(line.lines().count(), 1, "{line}");
        for part in [
            " INFO cortex::access: ",
            "method=GET",
            "path=/json",
            "route=/json",
            "status=200",
            "latency_us=",
            "request_id=",
            "client_ip=127.0.0.1",
        ] {
            assert!(line.contains(part), "{part:?} missing from {line}");
        }

        let json_line = one_request(DEFAULT_FILTER, true, http.clone()).output;
        let value: serde_json::Value = serde_json::from_str(json_line.trim_end()).unwrap();
        assert_eq!(value["target"], "cortex::access", "{json_line}");
        assert_eq!(value["fields"]["status"], 200, "{json_line}");

        // Off with the rest of `info`.
        let quiet = one_request("warn", false, http);
        assert_eq!((quiet.events, quiet.output.as_str()), (0, ""));
    }
}
