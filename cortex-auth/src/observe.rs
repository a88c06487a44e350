//! What authentication records: `cortex_auth_attempts_total{mechanism, outcome}` (through
//! counter handles taken once, so that an attempt costs one increment) and, when spans are
//! exported, an `auth.authenticate` span per attempt (`enduser.id` once known, never a
//! credential).

use metrics::Counter;

use crate::authn::AuthOutcome;

/// The attempt counters of one mechanism (`bearer`, `api_key`, `session`, `password`, or an
/// app's own authenticator's name), by outcome.
///
/// The handles come from the recorder installed when they are made (the `Authentication`
/// singleton, a `PasswordLogin`): the `ObservabilityPlugin` installs its recorder while the app
/// is built, before either exists.
#[derive(Debug, Clone)]
pub(crate) struct Attempts {
    ok: Counter,
    refused: Counter,
    error: Counter,
}

impl Attempts {
    pub(crate) fn new(mechanism: &'static str) -> Attempts {
        let counter = |outcome: &'static str| {
            metrics::counter!(
                "cortex_auth_attempts_total",
                "mechanism" => mechanism,
                "outcome" => outcome,
            )
        };
        Attempts {
            ok: counter("ok"),
            refused: counter("refused"),
            error: counter("error"),
        }
    }

    /// A credential was accepted.
    pub(crate) fn ok(&self) {
        self.ok.increment(1);
    }

    /// A credential was refused (wrong, expired, revoked, throttled, a failed CSRF check).
    pub(crate) fn refused(&self) {
        self.refused.increment(1);
    }

    /// The attempt could not be checked (a credential store down, a hash that cannot be read).
    pub(crate) fn error(&self) {
        self.error.increment(1);
    }
}

/// The `auth.authenticate` span of one attempt when spans are exported (an OpenTelemetry
/// exporter is installed), else a disabled span: without an exporter, an attempt makes none.
pub(crate) fn span() -> tracing::Span {
    if cortex_core::logging::span_wanted() {
        tracing::info_span!(
            target: "cortex::auth",
            "auth.authenticate",
            auth.mechanism = tracing::field::Empty,
            enduser.id = tracing::field::Empty,
            auth.outcome = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
        )
    } else {
        tracing::Span::none()
    }
}

/// Records on `span` how the layer's attempt ended.
pub(crate) fn record(span: &tracing::Span, outcome: &AuthOutcome) {
    if span.is_disabled() {
        return;
    }
    match outcome {
        AuthOutcome::Anonymous => {
            span.record("auth.outcome", "anonymous");
        }
        AuthOutcome::User(user) => {
            span.record("auth.outcome", "ok");
            span.record("enduser.id", user.id());
        }
        AuthOutcome::Failed {
            code, unavailable, ..
        } => {
            span.record(
                "auth.outcome",
                if *unavailable { "error" } else { "refused" },
            );
            span.record("otel.status_code", "ERROR");
            span.record("error.type", *code);
        }
    }
}
