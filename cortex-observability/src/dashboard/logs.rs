//! The last `ERROR` log events, for the recent-errors panel: a `tracing` layer added once per
//! process to Cortex's subscriber (`cortex_core::logging::add_layer`), feeding a bounded ring,
//! every message and field masked on the way in.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use cortex_core::config::{MASK, is_secret_key};
use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// How many error events are kept.
pub(crate) const RECENT_LOG_ERRORS: usize = 50;
/// A longer message is cut to this many bytes.
const MAX_MESSAGE: usize = 1_000;

/// An `ERROR` event, masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LoggedError {
    /// When it was logged, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The event's target (its module path, usually).
    pub target: String,
    /// The message, then its other fields as `key=value`; secret-looking fields, bearer tokens
    /// and URL passwords masked.
    pub message: String,
}

/// The ring the layer writes to.
#[derive(Default)]
pub(crate) struct ErrorLog(Mutex<VecDeque<LoggedError>>);

impl ErrorLog {
    pub(crate) fn push(&self, error: LoggedError) {
        let mut ring = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if ring.len() == RECENT_LOG_ERRORS {
            ring.pop_back();
        }
        ring.push_front(error);
    }

    /// Newest first.
    pub(crate) fn recent(&self) -> Vec<LoggedError> {
        let ring = self.0.lock().unwrap_or_else(|e| e.into_inner());
        ring.iter().cloned().collect()
    }
}

/// The process's ring (the subscriber is global: one layer serves every app in the process).
static ERROR_LOG: OnceLock<Arc<ErrorLog>> = OnceLock::new();
/// Whether the layer feeding it was added to Cortex's subscriber.
static LAYER_ADDED: Mutex<bool> = Mutex::new(false);

/// The process's error ring, the layer feeding it added to Cortex's subscriber if it is not yet
/// (it is tried again on each call until the subscriber is installed).
pub(crate) fn error_log() -> Arc<ErrorLog> {
    let log = ERROR_LOG
        .get_or_init(|| Arc::new(ErrorLog::default()))
        .clone();
    let mut added = LAYER_ADDED.lock().unwrap_or_else(|e| e.into_inner());
    if !*added {
        *added = cortex_core::logging::add_layer(ErrorLayer(log.clone()));
    }
    log
}

/// Whether ERROR events reach the ring: `false` when Cortex's subscriber was not installed
/// (an app or test with a subscriber of its own, or none); the panel says so.
pub(crate) fn is_captured() -> bool {
    *LAYER_ADDED.lock().unwrap_or_else(|e| e.into_inner())
}

/// The layer: keeps `ERROR` events.
struct ErrorLayer(Arc<ErrorLog>);

impl<S: Subscriber> Layer<S> for ErrorLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        let mut visitor = Masking::default();
        event.record(&mut visitor);
        let mut message = visitor.message;
        if !visitor.fields.is_empty() {
            if !message.is_empty() {
                message.push(' ');
            }
            message.push_str(&visitor.fields);
        }
        truncate(&mut message, MAX_MESSAGE);
        self.0.push(LoggedError {
            time_ms: super::stats::unix_ms(),
            target: event.metadata().target().to_string(),
            message,
        });
    }
}

/// Writes the message and the fields, masked.
#[derive(Default)]
struct Masking {
    message: String,
    fields: String,
}

impl Visit for Masking {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let value = format!("{value:?}");
        self.record_str(field, &value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = mask_text(value);
            return;
        }
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
        let shown = if is_secret_key(field.name()) {
            MASK.to_string()
        } else {
            mask_text(value)
        };
        let _ = write!(self.fields, "{}={shown}", field.name());
    }
}

/// Masks what looks secret in free text: the credentials after `Bearer `/`Basic `, the password
/// of a URL (`scheme://user:password@host`), and the value of `key=value`/`key: value` pairs
/// whose key looks secret (`password=…`, `api_key: …`).
pub(crate) fn mask_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let words = text.split_inclusive(char::is_whitespace);
    // Whether the previous word asked for the next one to be masked (`Bearer`, `password:`).
    let mut mask_next = false;
    for word in words {
        let (body, space) = split_trailing_space(word);
        if body.eq_ignore_ascii_case("bearer") || body.eq_ignore_ascii_case("basic") {
            // `Authorization: Bearer <token>`: the scheme stays, the credentials go.
            mask_next = true;
            out.push_str(word);
            continue;
        }
        if mask_next && !body.is_empty() {
            out.push_str(MASK);
            out.push_str(space);
            mask_next = false;
            continue;
        }
        if let Some((key, _value)) = body.split_once(['=', ':']).filter(|(key, value)| {
            let key = key.trim_matches(|c: char| !c.is_alphanumeric() && c != '_');
            !key.is_empty() && is_secret_key(key) && !value.starts_with("//")
        }) {
            let separator = &body[key.len()..key.len() + 1];
            out.push_str(key);
            out.push_str(separator);
            if body.len() == key.len() + 1 {
                // `password: value`: the value is the next word.
                mask_next = true;
            } else {
                out.push_str(MASK);
            }
            out.push_str(space);
            continue;
        }
        out.push_str(&mask_url(body));
        out.push_str(space);
    }
    out
}

fn split_trailing_space(word: &str) -> (&str, &str) {
    let body = word.trim_end();
    (body, &word[body.len()..])
}

/// `scheme://user:password@host…` with the password masked.
fn mask_url(word: &str) -> String {
    let Some(scheme_end) = word.find("://") else {
        return word.to_string();
    };
    let rest = &word[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return word.to_string();
    };
    let Some(colon) = authority[..at].find(':') else {
        return word.to_string();
    };
    format!(
        "{}{}{MASK}{}",
        &word[..scheme_end + 3],
        &authority[..=colon],
        &rest[at..]
    )
}

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_free_text_are_masked() {
        assert_eq!(
            mask_text("login failed: Authorization: Bearer abc.def.ghi from 10.0.0.1"),
            "login failed: Authorization: Bearer ******** from 10.0.0.1"
        );
        assert_eq!(
            mask_text("cannot connect to postgres://app:hunter2@db:5432/app (refused)"),
            "cannot connect to postgres://app:********@db:5432/app (refused)"
        );
        assert_eq!(
            mask_text("bad request password=hunter2 user=ann"),
            "bad request password=******** user=ann"
        );
        assert_eq!(
            mask_text("api_key: k-123 rejected"),
            "api_key: ******** rejected"
        );
        assert_eq!(
            mask_text("timeout after 30 s on GET /users/{id}"),
            "timeout after 30 s on GET /users/{id}"
        );
        assert_eq!(
            mask_text("redis://cache:6379 down"),
            "redis://cache:6379 down"
        );
    }

    #[test]
    fn error_events_are_kept_masked_and_other_levels_ignored() {
        use tracing_subscriber::layer::SubscriberExt;
        let log = Arc::new(ErrorLog::default());
        let subscriber = tracing_subscriber::registry().with(ErrorLayer(log.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!("not kept");
            tracing::error!(
                password = "hunter2",
                user = "ann",
                "payment failed for token: t-1"
            );
        });
        let recent = log.recent();
        assert_eq!(recent.len(), 1);
        assert_eq!(
            recent[0].message,
            "payment failed for token: ******** password=******** user=ann"
        );
        assert!(recent[0].target.ends_with("logs::tests"));
    }

    #[test]
    fn the_ring_keeps_the_newest_and_long_messages_are_cut() {
        let log = ErrorLog::default();
        for i in 0..(RECENT_LOG_ERRORS + 5) {
            log.push(LoggedError {
                time_ms: i as u64,
                target: "t".into(),
                message: i.to_string(),
            });
        }
        let recent = log.recent();
        assert_eq!(recent.len(), RECENT_LOG_ERRORS);
        assert_eq!(recent[0].time_ms, RECENT_LOG_ERRORS as u64 + 4);
        let mut long = "é".repeat(MAX_MESSAGE);
        truncate(&mut long, MAX_MESSAGE);
        assert!(long.len() <= MAX_MESSAGE + '…'.len_utf8());
    }
}
