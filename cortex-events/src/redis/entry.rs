//! The stream's entries: what the bridge writes, and reading Redis's replies without trusting
//! them.

use redis::Value;

use crate::event::{WireError, WireEvent};

/// The field that holds the event's topic (read first: entries of unwanted topics are
/// acknowledged without decoding the event).
pub(super) const TOPIC: &str = "topic";
/// The field that holds the event ([`WireEvent::to_bytes`]).
pub(super) const EVENT: &str = "event";

/// One entry as Redis returned it.
#[derive(Debug)]
pub(super) struct RawEntry {
    /// The entry's id (`1700000000000-0`).
    pub(super) id: String,
    /// Its fields; `None` when the entry was deleted from the stream (trimmed) while pending.
    pub(super) fields: Option<Vec<(Vec<u8>, Vec<u8>)>>,
}

/// What an entry holds, for a consumer.
pub(super) enum Decoded {
    /// An event on a topic the consumer wants.
    Event(WireEvent),
    /// An event on a topic the consumer does not take.
    Unwanted,
    /// Not an event: it goes to the dead letters.
    Malformed(Malformed),
}

/// Why an entry is not an event.
#[derive(Debug, thiserror::Error)]
pub(super) enum Malformed {
    /// The entry has no `event` field.
    #[error("the entry has no `event` field")]
    NoEvent,
    /// The `topic` field is not UTF-8.
    #[error("the entry's `topic` field is not UTF-8")]
    TopicNotUtf8,
    /// The `event` field is not a Cortex event.
    #[error("the entry's `event` field is {0}")]
    Undecodable(#[source] WireError),
}

/// A reply Redis should not have sent (a protocol mismatch, another client's data type).
#[derive(Debug, thiserror::Error)]
#[error("Redis answered {command} with an unexpected reply")]
pub(super) struct UnexpectedReply {
    pub(super) command: &'static str,
}

impl RawEntry {
    fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .as_ref()?
            .iter()
            .find(|(field, _)| field == name.as_bytes())
            .map(|(_, value)| value.as_slice())
    }

    /// Reads the entry for a consumer that takes the topics `wants` accepts.
    pub(super) fn decode(&self, wants: impl Fn(&str) -> bool) -> Decoded {
        if let Some(topic) = self.field(TOPIC) {
            match std::str::from_utf8(topic) {
                Ok(topic) if !wants(topic) => return Decoded::Unwanted,
                Ok(_) => {}
                Err(_) => return Decoded::Malformed(Malformed::TopicNotUtf8),
            }
        }
        let Some(bytes) = self.field(EVENT) else {
            return Decoded::Malformed(Malformed::NoEvent);
        };
        match WireEvent::from_bytes(bytes) {
            Ok(event) if wants(&event.metadata.topic) => Decoded::Event(event),
            Ok(_) => Decoded::Unwanted,
            Err(e) => Decoded::Malformed(Malformed::Undecodable(e)),
        }
    }

    /// The topic field, when it is text (for a dead letter's metadata).
    pub(super) fn topic(&self) -> Option<&str> {
        self.field(TOPIC).and_then(|t| std::str::from_utf8(t).ok())
    }

    /// The fields as JSON, for a dead letter: text as strings, other bytes in hexadecimal
    /// (`{"hex": "ff00"}`).
    pub(super) fn fields_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (name, value) in self.fields.iter().flatten() {
            let shown = match std::str::from_utf8(value) {
                Ok(text) => serde_json::Value::String(text.to_string()),
                Err(_) => serde_json::json!({ "hex": hex(value) }),
            };
            map.insert(String::from_utf8_lossy(name).into_owned(), shown);
        }
        serde_json::Value::Object(map)
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

fn bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes.clone()),
        Value::SimpleString(s) => Some(s.as_bytes().to_vec()),
        Value::VerbatimString { text, .. } => Some(text.as_bytes().to_vec()),
        Value::Int(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

fn items(value: &Value) -> Option<&[Value]> {
    match value {
        Value::Array(items) | Value::Set(items) => Some(items),
        _ => None,
    }
}

/// `[id, [field, value, …]]` (fields nil: deleted while pending).
fn entry(value: &Value) -> Option<RawEntry> {
    let [id, fields] = items(value)? else {
        return None;
    };
    let id = text(id)?;
    let fields = match fields {
        Value::Nil => None,
        Value::Map(pairs) => Some(
            pairs
                .iter()
                .map(|(f, v)| Some((bytes(f)?, bytes(v)?)))
                .collect::<Option<Vec<_>>>()?,
        ),
        fields => {
            let flat = items(fields)?;
            if flat.len() % 2 != 0 {
                return None;
            }
            Some(
                flat.chunks(2)
                    .map(|pair| Some((bytes(&pair[0])?, bytes(&pair[1])?)))
                    .collect::<Option<Vec<_>>>()?,
            )
        }
    };
    Some(RawEntry { id, fields })
}

/// A list of entries (`XRANGE`'s reply); nil is none.
pub(super) fn entries(value: &Value) -> Option<Vec<RawEntry>> {
    match value {
        Value::Nil => Some(Vec::new()),
        value => items(value)?.iter().map(entry).collect(),
    }
}

/// The reply of `XREAD`/`XREADGROUP` on one stream: nil when the block timed out, else
/// `[[key, entries]]` (a map `{key: entries}` in RESP3).
pub(super) fn read_reply(
    value: &Value,
    command: &'static str,
) -> Result<Vec<RawEntry>, UnexpectedReply> {
    let unexpected = || UnexpectedReply { command };
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::Map(streams) => {
            let mut all = Vec::new();
            for (_, stream) in streams {
                all.extend(entries(stream).ok_or_else(unexpected)?);
            }
            Ok(all)
        }
        value => {
            let mut all = Vec::new();
            for stream in items(value).ok_or_else(unexpected)? {
                let [_key, stream] = items(stream).ok_or_else(unexpected)? else {
                    return Err(unexpected());
                };
                all.extend(entries(stream).ok_or_else(unexpected)?);
            }
            Ok(all)
        }
    }
}

/// What `XAUTOCLAIM` answered.
pub(super) struct Claimed {
    /// Where to go on (`0-0`: the pending list was scanned to its end).
    pub(super) cursor: String,
    /// The entries now this consumer's.
    pub(super) entries: Vec<RawEntry>,
    /// Pending entries that were no longer in the stream (trimmed): Redis dropped them from the
    /// pending list.
    pub(super) deleted: Vec<String>,
}

/// The reply of `XAUTOCLAIM`: `[cursor, entries, deleted ids]` (no third item before Redis 7).
pub(super) fn autoclaim_reply(value: &Value) -> Result<Claimed, UnexpectedReply> {
    let unexpected = || UnexpectedReply {
        command: "XAUTOCLAIM",
    };
    let parts = items(value).ok_or_else(unexpected)?;
    let (cursor, claimed, deleted) = match parts {
        [cursor, claimed] => (cursor, claimed, None),
        [cursor, claimed, deleted] => (cursor, claimed, Some(deleted)),
        _ => return Err(unexpected()),
    };
    let deleted = match deleted {
        None => Vec::new(),
        Some(deleted) => items(deleted)
            .ok_or_else(unexpected)?
            .iter()
            .map(text)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(unexpected)?,
    };
    let entries = items(claimed)
        .ok_or_else(unexpected)?
        .iter()
        .filter_map(|entry| match entry {
            // Redis 6.2 lists deleted entries as nil among the claimed ones.
            Value::Nil => None,
            entry => Some(self::entry(entry).ok_or_else(unexpected)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Claimed {
        cursor: text(cursor).ok_or_else(unexpected)?,
        entries,
        deleted,
    })
}

/// A stream id (`ms-seq`) as a pair, for comparing; `None` when it is not one.
pub(super) fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &[u8]) -> Value {
        Value::BulkString(s.to_vec())
    }

    fn raw(fields: &[(&[u8], &[u8])]) -> RawEntry {
        RawEntry {
            id: "1-0".into(),
            fields: Some(
                fields
                    .iter()
                    .map(|(f, v)| (f.to_vec(), v.to_vec()))
                    .collect(),
            ),
        }
    }

    #[test]
    fn read_replies_parse_arrays_maps_and_nil() {
        let entry = Value::Array(vec![
            bulk(b"5-1"),
            Value::Array(vec![
                bulk(b"topic"),
                bulk(b"a.b"),
                bulk(b"event"),
                bulk(b"{}"),
            ]),
        ]);
        let resp2 = Value::Array(vec![Value::Array(vec![
            bulk(b"stream"),
            Value::Array(vec![entry.clone()]),
        ])]);
        let read = read_reply(&resp2, "XREAD").unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].id, "5-1");
        assert_eq!(read[0].topic(), Some("a.b"));
        let resp3 = Value::Map(vec![(bulk(b"stream"), Value::Array(vec![entry]))]);
        assert_eq!(read_reply(&resp3, "XREAD").unwrap().len(), 1);
        assert!(read_reply(&Value::Nil, "XREAD").unwrap().is_empty());
        assert!(read_reply(&Value::Int(3), "XREAD").is_err());
        // An odd number of field items is not an entry.
        let odd = Value::Array(vec![Value::Array(vec![
            bulk(b"stream"),
            Value::Array(vec![Value::Array(vec![
                bulk(b"1-0"),
                Value::Array(vec![bulk(b"topic")]),
            ])]),
        ])]);
        assert!(read_reply(&odd, "XREAD").is_err());
    }

    #[test]
    fn autoclaim_replies_list_claimed_and_deleted_entries() {
        let reply = Value::Array(vec![
            bulk(b"0-0"),
            Value::Array(vec![
                Value::Array(vec![
                    bulk(b"1-0"),
                    Value::Array(vec![bulk(b"event"), bulk(b"x")]),
                ]),
                Value::Nil,
            ]),
            Value::Array(vec![bulk(b"2-0")]),
        ]);
        let claimed = autoclaim_reply(&reply).unwrap();
        assert_eq!(claimed.cursor, "0-0");
        assert_eq!(claimed.entries.len(), 1);
        assert_eq!(claimed.deleted, vec!["2-0".to_string()]);
        assert!(autoclaim_reply(&Value::Array(vec![bulk(b"0-0")])).is_err());
    }

    #[test]
    fn entries_decode_into_events_or_say_why_not() {
        let wire = WireEvent {
            metadata: crate::Metadata::new("order.placed"),
            payload: serde_json::json!({ "total": 3 }),
        };
        let bytes = wire.to_bytes();
        let wants_orders = |t: &str| t.starts_with("order.");
        let ok = raw(&[(b"topic", b"order.placed"), (b"event", &bytes)]);
        assert!(matches!(ok.decode(wants_orders), Decoded::Event(e) if e == wire));
        let no_topic = raw(&[(b"event", &bytes)]);
        assert!(matches!(no_topic.decode(wants_orders), Decoded::Event(_)));
        assert!(matches!(no_topic.decode(|_| false), Decoded::Unwanted));
        // Unwanted topics are not decoded.
        let other = raw(&[(b"topic", b"user.created"), (b"event", b"\xff")]);
        assert!(matches!(other.decode(wants_orders), Decoded::Unwanted));
        let garbage = raw(&[(b"topic", b"order.placed"), (b"event", b"\xff\x00")]);
        assert!(matches!(
            garbage.decode(wants_orders),
            Decoded::Malformed(Malformed::Undecodable(_))
        ));
        let missing = raw(&[(b"topic", b"order.placed")]);
        assert!(matches!(
            missing.decode(wants_orders),
            Decoded::Malformed(Malformed::NoEvent)
        ));
        let bad_topic = raw(&[(b"topic", b"\xff"), (b"event", &bytes)]);
        assert!(matches!(
            bad_topic.decode(wants_orders),
            Decoded::Malformed(Malformed::TopicNotUtf8)
        ));
        assert_eq!(
            garbage.fields_json(),
            serde_json::json!({ "topic": "order.placed", "event": { "hex": "ff00" } })
        );
    }

    #[test]
    fn ids_compare_as_pairs() {
        assert_eq!(parse_id("1700000000000-12"), Some((1_700_000_000_000, 12)));
        assert_eq!(parse_id("0"), Some((0, 0)));
        assert!(parse_id("9-0") < parse_id("10-0"));
        assert_eq!(parse_id("x-1"), None);
    }
}
