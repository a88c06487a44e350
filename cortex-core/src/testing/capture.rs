//! Capturing what an app logs and the spans it makes, for tests that assert on them.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// Locks `mutex`, going on after a panic in another test thread (the data is plain text).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A writer that keeps what a `tracing` subscriber writes, for a test to read back: a
/// [`MakeWriter`] for [`logging::subscriber_from`](crate::logging::subscriber_from) (the
/// subscriber an app gets from its `[log]`) or `tracing_subscriber::fmt().with_writer(..)`.
///
/// Clones share the same buffer: hand one to the subscriber and keep one to read.
///
/// ```
/// use cortex_core::config::Config;
/// use cortex_core::logging::{self, LogConfig};
/// use cortex_core::testing::CapturedLogs;
///
/// let config = LogConfig::from_config(&Config::from_toml("[log]\nformat = 'json'")?)?;
/// let logs = CapturedLogs::new();
/// let dispatch = logging::subscriber_from(&config, logs.clone());
/// tracing::dispatcher::with_default(&dispatch, || {
///     tracing::warn!(user = 7, "quota almost used");
/// });
///
/// let lines = logs.lines();
/// assert_eq!(lines.len(), 1, "{}", logs.text());
/// let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
/// assert_eq!(line["level"], "WARN");
/// assert_eq!(line["fields"]["message"], "quota almost used");
/// assert_eq!(line["fields"]["user"], 7);
/// # Ok::<_, cortex_core::config::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// An empty capture.
    ///
    /// ```
    /// assert_eq!(cortex_core::testing::CapturedLogs::new().text(), "");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far (bytes that are not UTF-8 replaced by `�`).
    ///
    /// ```
    /// use std::io::Write as _;
    ///
    /// let logs = cortex_core::testing::CapturedLogs::new();
    /// logs.clone().write_all(b"one\ntwo\n").unwrap();
    /// assert_eq!(logs.text(), "one\ntwo\n");
    /// ```
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }

    /// The lines written so far, without their line ends (a JSON log has one event a line).
    ///
    /// ```
    /// use std::io::Write as _;
    ///
    /// let logs = cortex_core::testing::CapturedLogs::new();
    /// logs.clone().write_all(b"one\ntwo\n").unwrap();
    /// assert_eq!(logs.lines(), ["one", "two"]);
    /// ```
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }

    /// Forgets what was written so far (for each clone): the next [`text`](Self::text) has only
    /// what comes after.
    ///
    /// ```
    /// use std::io::Write as _;
    ///
    /// let logs = cortex_core::testing::CapturedLogs::new();
    /// logs.clone().write_all(b"before\n").unwrap();
    /// logs.clear();
    /// logs.clone().write_all(b"after\n").unwrap();
    /// assert_eq!(logs.lines(), ["after"]);
    /// ```
    pub fn clear(&self) {
        lock(&self.0).clear();
    }
}

impl fmt::Debug for CapturedLogs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CapturedLogs").field(&self.text()).finish()
    }
}

impl io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'w self) -> CapturedLogs {
        self.clone()
    }
}

/// One span as [`CapturedSpans`] saw it: where it was made and its fields, those given when it
/// was created and those recorded later (`Span::record`), a later value replacing an earlier one.
///
/// Field values are text: a string as it is, anything else as its `Debug` form (`200`, `true`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CapturedSpan {
    /// The span's name (`http.request`).
    pub name: &'static str,
    /// The span's target (by default the module that made it).
    pub target: &'static str,
    /// The span's level.
    pub level: Level,
    /// The span's fields, by name.
    pub fields: BTreeMap<String, String>,
    /// The name of the span's parent, if it has one (with a per-layer filter, the nearest parent
    /// that filter let through).
    pub parent: Option<&'static str>,
}

impl CapturedSpan {
    /// The value of the field `name`, if the span has it.
    ///
    /// ```
    /// use cortex_core::testing::CapturedSpans;
    ///
    /// let spans = CapturedSpans::new();
    /// tracing::dispatcher::with_default(&spans.dispatch(), || {
    ///     tracing::info_span!("job", id = 7).in_scope(|| {});
    /// });
    /// assert_eq!(spans.named("job")[0].field("id"), Some("7"));
    /// assert_eq!(spans.named("job")[0].field("owner"), None);
    /// ```
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// A `tracing_subscriber` [`Layer`] that records every span (or only the spans of one name) with
/// its name, target, level, fields — as given at creation and recorded later — and its parent's
/// name, for a test to read back with [`spans`](Self::spans) or [`named`](Self::named).
///
/// Clones share what was recorded: add one to a subscriber and keep one to read.
/// [`dispatch`](Self::dispatch) and [`dispatch_at`](Self::dispatch_at) make a subscriber of it
/// alone; to combine it with a filter or
/// other layers, use `tracing_subscriber` (`registry().with(spans.clone().with_filter(..))`).
///
/// ```
/// use cortex_core::testing::CapturedSpans;
///
/// let spans = CapturedSpans::only("db.query");
/// let _guard = tracing::dispatcher::set_default(&spans.dispatch());
///
/// let request = tracing::info_span!("http.request", route = "/notes");
/// let _entered = request.enter();
/// let query = tracing::info_span!("db.query", table = "notes", rows = tracing::field::Empty);
/// query.record("rows", 3);
///
/// let seen = spans.spans();
/// assert_eq!(seen.len(), 1, "only the spans named db.query: {seen:?}");
/// assert_eq!(seen[0].name, "db.query");
/// assert_eq!(seen[0].level, tracing::Level::INFO);
/// assert_eq!(seen[0].parent, Some("http.request"));
/// assert_eq!(seen[0].fields["table"], "notes");
/// assert_eq!(seen[0].fields["rows"], "3", "recorded after the span was made");
/// ```
#[derive(Clone, Default)]
pub struct CapturedSpans {
    /// Only spans of this name are recorded (all when `None`).
    only: Option<Arc<str>>,
    spans: Arc<Mutex<Vec<CapturedSpan>>>,
}

impl CapturedSpans {
    /// A layer recording every span it is shown.
    ///
    /// ```
    /// let spans = cortex_core::testing::CapturedSpans::new();
    /// tracing::dispatcher::with_default(&spans.dispatch(), || {
    ///     tracing::debug_span!("a").in_scope(|| tracing::trace_span!("b").in_scope(|| {}));
    /// });
    /// let names: Vec<_> = spans.spans().iter().map(|s| (s.name, s.parent)).collect();
    /// assert_eq!(names, [("a", None), ("b", Some("a"))]);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A layer recording only the spans named `name` (their parents are named all the same).
    ///
    /// ```
    /// let spans = cortex_core::testing::CapturedSpans::only("b");
    /// tracing::dispatcher::with_default(&spans.dispatch(), || {
    ///     tracing::info_span!("a").in_scope(|| tracing::info_span!("b").in_scope(|| {}));
    /// });
    /// let names: Vec<_> = spans.spans().iter().map(|s| (s.name, s.parent)).collect();
    /// assert_eq!(names, [("b", Some("a"))]);
    /// ```
    pub fn only(name: impl AsRef<str>) -> Self {
        Self {
            only: Some(name.as_ref().into()),
            ..Self::default()
        }
    }

    /// The spans recorded so far, in the order they were made.
    ///
    /// ```
    /// let spans = cortex_core::testing::CapturedSpans::new();
    /// assert!(spans.spans().is_empty());
    /// ```
    pub fn spans(&self) -> Vec<CapturedSpan> {
        lock(&self.spans).clone()
    }

    /// The spans named `name` recorded so far, in the order they were made.
    ///
    /// ```
    /// let spans = cortex_core::testing::CapturedSpans::new();
    /// tracing::dispatcher::with_default(&spans.dispatch(), || {
    ///     tracing::info_span!("a", n = 1).in_scope(|| {});
    ///     tracing::info_span!("b").in_scope(|| {});
    ///     tracing::info_span!("a", n = 2).in_scope(|| {});
    /// });
    /// let a: Vec<_> = spans.named("a").into_iter().map(|s| s.fields["n"].clone()).collect();
    /// assert_eq!(a, ["1", "2"]);
    /// ```
    pub fn named(&self, name: &str) -> Vec<CapturedSpan> {
        lock(&self.spans)
            .iter()
            .filter(|span| span.name == name)
            .cloned()
            .collect()
    }

    /// A subscriber of this layer alone on a registry, every level enabled: install it for a
    /// thread with `tracing::dispatcher::set_default` or `with_default`.
    ///
    /// ```
    /// let spans = cortex_core::testing::CapturedSpans::new();
    /// tracing::dispatcher::with_default(&spans.dispatch(), || {
    ///     tracing::trace_span!("fine").in_scope(|| {});
    /// });
    /// assert_eq!(spans.spans()[0].level, tracing::Level::TRACE);
    /// ```
    pub fn dispatch(&self) -> Dispatch {
        Dispatch::new(tracing_subscriber::registry().with(self.clone()))
    }

    /// A subscriber of this layer alone on a registry, with the levels up to `level` enabled:
    /// what passes an app's default filter is `dispatch_at(Level::INFO)`.
    ///
    /// ```
    /// use tracing::Level;
    ///
    /// let spans = cortex_core::testing::CapturedSpans::new();
    /// tracing::dispatcher::with_default(&spans.dispatch_at(Level::INFO), || {
    ///     tracing::debug_span!("detail").in_scope(|| {});
    ///     tracing::info_span!("job").in_scope(|| {});
    /// });
    /// let names: Vec<_> = spans.spans().iter().map(|s| s.name).collect();
    /// assert_eq!(names, ["job"]);
    /// ```
    pub fn dispatch_at(&self, level: Level) -> Dispatch {
        Dispatch::new(
            tracing_subscriber::registry()
                .with(self.clone().with_filter(LevelFilter::from_level(level))),
        )
    }

    /// What identifies this capture's recordings in a span's extensions (clones share it).
    fn key(&self) -> usize {
        Arc::as_ptr(&self.spans) as *const () as usize
    }
}

impl fmt::Debug for CapturedSpans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapturedSpans")
            .field("only", &self.only)
            .field("spans", &*lock(&self.spans))
            .finish()
    }
}

/// Where each capture on a subscriber keeps a span: `(capture key, index in its list)`. A span's
/// extensions hold one value per type, and a subscriber may carry several captures.
struct Slots(Vec<(usize, usize)>);

/// Records field values as text into a span's map.
struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S> Layer<S> for CapturedSpans
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let metadata = attrs.metadata();
        if self
            .only
            .as_deref()
            .is_some_and(|only| only != metadata.name())
        {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let index = {
            let mut spans = lock(&self.spans);
            spans.push(CapturedSpan {
                name: metadata.name(),
                target: metadata.target(),
                level: *metadata.level(),
                fields,
                parent: span.parent().map(|parent| parent.name()),
            });
            spans.len() - 1
        };
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<Slots>() {
            Some(slots) => slots.0.push((self.key(), index)),
            None => extensions.insert(Slots(vec![(self.key(), index)])),
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let key = self.key();
        let index = span.extensions().get::<Slots>().and_then(|slots| {
            slots
                .0
                .iter()
                .find(|(owner, _)| *owner == key)
                .map(|(_, index)| *index)
        });
        if let Some(index) = index {
            values.record(&mut Fields(&mut lock(&self.spans)[index].fields));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_captures_on_one_subscriber_each_record_their_spans_and_later_fields() {
        let all = CapturedSpans::new();
        let jobs = CapturedSpans::only("job");
        let subscriber = tracing_subscriber::registry()
            .with(all.clone().with_filter(LevelFilter::INFO))
            .with(jobs.clone());
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::debug_span!("outer");
            let _entered = outer.enter();
            let job = tracing::info_span!("job", state = tracing::field::Empty);
            job.record("state", "done");
            tracing::info_span!("other").in_scope(|| {});
        });

        let names: Vec<_> = all.spans().iter().map(|s| (s.name, s.parent)).collect();
        assert_eq!(
            names,
            [("job", None), ("other", None)],
            "not the debug span, nor as a parent, under the info filter"
        );
        assert_eq!(all.named("job")[0].field("state"), Some("done"));
        let job = &jobs.spans()[0];
        assert_eq!(jobs.spans().len(), 1);
        assert_eq!(
            (job.parent, job.field("state")),
            (Some("outer"), Some("done"))
        );
        assert_eq!(job.target, module_path!());
    }
}
