//! Masking the values of fields whose names look secret, in text and JSON lines.
//!
//! Both work only when a line is written: an event the filter turns away is never looked at.

use std::fmt;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{Format, Json, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::{MASK, is_secret_key};

/// Wraps a field formatter (the text format's `DefaultFields`) so that a field named like a
/// secret ([`is_secret_key`]) is written as `********`.
#[derive(Debug, Default)]
pub(crate) struct MaskSecrets<M>(pub(crate) M);

impl<T, M: MakeVisitor<T>> MakeVisitor<T> for MaskSecrets<M> {
    type Visitor = Masked<M::Visitor>;

    fn make_visitor(&self, target: T) -> Self::Visitor {
        Masked(self.0.make_visitor(target))
    }
}

/// A visitor that hands the inner one `********` for secret fields.
pub(crate) struct Masked<V>(V);

impl<V: Visit> Masked<V> {
    fn mask(&mut self, field: &Field) -> bool {
        let secret = is_secret_key(field.name());
        if secret {
            self.0.record_debug(field, &format_args!("{MASK}"));
        }
        secret
    }
}

impl<V: Visit> Visit for Masked<V> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.mask(field) {
            self.0.record_debug(field, value)
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.mask(field) {
            self.0.record_str(field, value)
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        if !self.mask(field) {
            self.0.record_i64(field, value)
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if !self.mask(field) {
            self.0.record_u64(field, value)
        }
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        if !self.mask(field) {
            self.0.record_i128(field, value)
        }
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        if !self.mask(field) {
            self.0.record_u128(field, value)
        }
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        if !self.mask(field) {
            self.0.record_f64(field, value)
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if !self.mask(field) {
            self.0.record_bool(field, value)
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if !self.mask(field) {
            self.0.record_error(field, value)
        }
    }
}

impl<V: VisitOutput<O>, O> VisitOutput<O> for Masked<V> {
    fn finish(self) -> O {
        self.0.finish()
    }
}

impl<V: VisitFmt> VisitFmt for Masked<V> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        self.0.writer()
    }
}

/// The JSON event format with secret fields masked. The JSON formatter records an event's fields
/// itself (not through a field formatter), so a line whose event or spans have a secret-looking
/// field is formatted to a buffer and masked there; any other line is written directly.
pub(crate) struct MaskedJson(pub(crate) Format<Json>);

impl<S, N> FormatEvent<S, N> for MaskedJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let secret =
            |fields: &tracing::field::FieldSet| fields.iter().any(|f| is_secret_key(f.name()));
        let in_spans = ctx
            .event_scope()
            .is_some_and(|mut scope| scope.any(|span| secret(span.metadata().fields())));
        // The trace ids of the current span, when an exporter registered how to read them.
        let ids = super::trace_ids();
        let masked = secret(event.metadata().fields()) || in_spans;
        if !masked && ids.is_none() {
            return self.0.format_event(ctx, writer, event);
        }
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        if masked {
            let mut value: Value = serde_json::from_str(line.trim_end()).map_err(|_| fmt::Error)?;
            for key in ["fields", "span"] {
                mask_object(value.get_mut(key));
            }
            if let Some(Value::Array(spans)) = value.get_mut("spans") {
                spans.iter_mut().for_each(|span| mask_object(Some(span)));
            }
            line = value.to_string();
        }
        let line = line.trim_end();
        match (ids, line.strip_suffix('}')) {
            // The ids go at the top level, last: `{…,"trace_id":"…","span_id":"…"}`.
            (Some(ids), Some(head)) => match crate::http::current_request_id() {
                // Next to the request id, which the request's span (not given to this layer
                // when traced) would otherwise carry.
                Some(request_id) if !head.contains(r#""request_id":"#) => writeln!(
                    writer,
                    r#"{head},"trace_id":"{:032x}","span_id":"{:016x}","request_id":{}}}"#,
                    ids.trace_id,
                    ids.span_id,
                    Value::String(request_id)
                ),
                _ => writeln!(
                    writer,
                    r#"{head},"trace_id":"{:032x}","span_id":"{:016x}"}}"#,
                    ids.trace_id, ids.span_id
                ),
            },
            _ => writeln!(writer, "{line}"),
        }
    }
}

fn mask_object(object: Option<&mut Value>) {
    if let Some(Value::Object(object)) = object {
        for (name, value) in object.iter_mut() {
            if is_secret_key(name) {
                *value = Value::String(MASK.to_string());
            }
        }
    }
}
