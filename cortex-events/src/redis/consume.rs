//! The two consumers: shared (a consumer group: handlers, acknowledged, reclaimed) and
//! broadcast (every instance: streams).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{RedisError, Value};
use tokio::time::Instant;

use super::Inner;
use super::entry::{self, Decoded, Malformed, RawEntry, UnexpectedReply};
use crate::bridge::BridgeConsumer;
use crate::bus::Completion;
use crate::dead_letter::DeadLetter;
use crate::event::{Metadata, WireEvent};

/// The handler name of the dead letters the bridge writes for malformed entries.
pub(super) const DEAD_LETTER_HANDLER: &str = "bridge:redis";

/// After a failure, the first wait before trying again; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// At most this many `XAUTOCLAIM` pages per reclaim (the rest at the next one).
const RECLAIM_PAGES: usize = 16;

/// A consumer with nothing pending that has not read for this many times `claim_idle` (and at
/// least [`DEPARTED_MIN`]) has left: it is removed from the group.
const DEPARTED_FACTOR: u32 = 10;
const DEPARTED_MIN: Duration = Duration::from_secs(300);

/// KEYS[1]: the stream. ARGV[1]: the group; ARGV[2]: the idle time (ms) after which a consumer
/// with nothing pending has left; ARGV[3]: this consumer; ARGV[4]: `1` to remove only this
/// consumer (when it stops), `0` to remove the others that left. Never removes a consumer with
/// pending entries (that would drop them). Atomic: no read slips in between.
const REMOVE_CONSUMERS: &str = r"
local removed = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
  local me = info['name'] == ARGV[3]
  local leaving
  if ARGV[4] == '1' then
    leaving = me
  else
    leaving = (not me) and info['idle'] >= tonumber(ARGV[2])
  end
  if leaving and info['pending'] == 0 then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    removed = removed + 1
  end
end
return removed
";

static REMOVE_CONSUMERS_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(REMOVE_CONSUMERS));

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Redis(#[from] RedisError),
    #[error(transparent)]
    Reply(#[from] UnexpectedReply),
}

impl Failure {
    /// Redis lost the consumer group (it restarted without persistence, or someone removed it).
    fn is_no_group(&self) -> bool {
        matches!(self, Failure::Redis(e) if e.code() == Some("NOGROUP"))
    }
}

/// Waits that double after each failure.
struct Backoff {
    next: Duration,
}

impl Backoff {
    fn new() -> Self {
        Backoff { next: BACKOFF_MIN }
    }

    fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }

    /// Waits the next delay, or until the consumer is asked to stop.
    async fn wait(&mut self, consumer: &BridgeConsumer) {
        let delay = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = consumer.stopped() => {}
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Whether the consumer should stop: asked to, or its bus is closed (nothing could be handled).
fn stopping(consumer: &BridgeConsumer) -> bool {
    consumer.is_stopped() || consumer.bus.is_closed()
}

/// The shared consumer: one instance of the app handles each event.
pub(super) struct Shared {
    inner: Arc<Inner>,
    consumer: BridgeConsumer,
    connection: Option<MultiplexedConnection>,
    /// Entries handled whose `XACK` has not reached Redis yet (sent before anything else).
    unacked: Vec<String>,
    /// Whether the group was made sure of on this connection's Redis.
    group_ready: bool,
    /// Where a group created now starts: the stream's end at first (the history belongs to
    /// other apps); its start afterwards (Redis lost the group: everything in the stream is
    /// newer than the loss).
    group_from: &'static str,
    next_claim: Instant,
    backoff: Backoff,
}

impl Shared {
    pub(super) fn new(inner: Arc<Inner>, consumer: BridgeConsumer) -> Self {
        Shared {
            inner,
            consumer,
            connection: None,
            unacked: Vec::new(),
            group_ready: false,
            group_from: "$",
            // At once: what instances that died left pending is taken over when one starts.
            next_claim: Instant::now(),
            backoff: Backoff::new(),
        }
    }

    pub(super) async fn run(mut self) {
        tracing::debug!(
            target: "cortex::events",
            bridge = "redis",
            stream = %self.inner.config.stream,
            group = %self.consumer.group(),
            consumer = %self.consumer.instance(),
            "the shared consumer of the Redis event bridge starts"
        );
        while !stopping(&self.consumer) {
            match self.step().await {
                Ok(()) => {
                    self.inner.restored();
                    self.backoff.reset();
                }
                Err(failure) if failure.is_no_group() => {
                    tracing::warn!(
                        target: "cortex::events",
                        bridge = "redis",
                        stream = %self.inner.config.stream,
                        group = %self.consumer.group(),
                        "the consumer group is gone from Redis; it is created again, from the stream's start"
                    );
                    self.group_ready = false;
                    self.backoff.wait(&self.consumer).await;
                }
                Err(failure) => {
                    self.connection = None;
                    self.group_ready = false;
                    self.inner.lost("reading the stream", &failure);
                    self.backoff.wait(&self.consumer).await;
                }
            }
        }
        self.leave().await;
    }

    /// At the stop: acknowledges what was handled, and leaves the group if nothing it read is
    /// left pending.
    async fn leave(&mut self) {
        let connection = match self.connection.clone() {
            Some(connection) => Ok(connection),
            None => self.inner.connect(self.inner.config.timeout).await,
        };
        let mut connection = match connection {
            Ok(connection) => connection,
            Err(error) => return self.left_unacked(&error),
        };
        if let Err(error) = self.ack(&mut connection).await {
            return self.left_unacked(&error);
        }
        let removed: Result<i64, RedisError> = REMOVE_CONSUMERS_SCRIPT
            .key(&self.inner.config.stream)
            .arg(self.consumer.group())
            .arg(0)
            .arg(self.consumer.instance())
            .arg("1")
            .invoke_async(&mut connection)
            .await;
        if let Err(error) = removed {
            tracing::debug!(target: "cortex::events", bridge = "redis", %error, "the consumer could not leave its group");
        }
    }

    fn left_unacked(&self, error: &dyn std::fmt::Display) {
        if !self.unacked.is_empty() {
            tracing::warn!(
                target: "cortex::events",
                bridge = "redis",
                stream = %self.inner.config.stream,
                entries = self.unacked.len(),
                %error,
                "handled entries could not be acknowledged before stopping: another instance handles them again after `claim_idle`"
            );
        }
    }

    async fn connection(&mut self) -> Result<MultiplexedConnection, RedisError> {
        if let Some(connection) = &self.connection {
            return Ok(connection.clone());
        }
        let connection = self.inner.connect_consumer(&self.consumer).await?;
        self.connection = Some(connection.clone());
        Ok(connection)
    }

    async fn step(&mut self) -> Result<(), Failure> {
        let mut connection = self.connection().await?;
        if !self.group_ready {
            self.inner
                .create_group(&mut connection, self.consumer.group(), self.group_from)
                .await?;
            self.group_ready = true;
            // Made sure of again after a failure: if Redis lost it meanwhile (restarted without
            // persistence), everything in the stream is newer than the loss.
            self.group_from = "0";
        }
        if Instant::now() >= self.next_claim {
            self.reclaim(&mut connection).await?;
            self.next_claim = Instant::now() + self.inner.config.claim_interval;
        }
        if stopping(&self.consumer) {
            return self.ack(&mut connection).await;
        }
        let config = &self.inner.config;
        let block = config
            .block
            .min(self.next_claim.saturating_duration_since(Instant::now()));
        // The last batch's acknowledgements go with the next read: one round trip.
        let mut pipe = redis::pipe();
        if !self.unacked.is_empty() {
            pipe.cmd("XACK")
                .arg(&config.stream)
                .arg(self.consumer.group())
                .arg(&self.unacked)
                .ignore();
        }
        pipe.cmd("XREADGROUP")
            .arg("GROUP")
            .arg(self.consumer.group())
            .arg(self.consumer.instance())
            .arg("COUNT")
            .arg(config.batch)
            .arg("BLOCK")
            .arg(millis(block))
            .arg("STREAMS")
            .arg(&config.stream)
            .arg(">");
        let mut replies: Vec<Value> = pipe.query_async(&mut connection).await?;
        self.unacked.clear();
        let reply = replies.pop().ok_or(UnexpectedReply {
            command: "XREADGROUP",
        })?;
        let entries = entry::read_reply(&reply, "XREADGROUP")?;
        self.handle(&mut connection, entries).await
    }

    /// Takes over the entries idle longer than `claim_idle` (their consumer died, or lost
    /// Redis) and handles them; then removes the consumers that left.
    async fn reclaim(&mut self, connection: &mut MultiplexedConnection) -> Result<(), Failure> {
        let inner = Arc::clone(&self.inner);
        let config = &inner.config;
        let mut cursor = "0-0".to_string();
        for _ in 0..RECLAIM_PAGES {
            let reply: Value = redis::cmd("XAUTOCLAIM")
                .arg(&config.stream)
                .arg(self.consumer.group())
                .arg(self.consumer.instance())
                .arg(millis(config.claim_idle))
                .arg(&cursor)
                .arg("COUNT")
                .arg(config.batch)
                .query_async(connection)
                .await?;
            let claimed = entry::autoclaim_reply(&reply)?;
            if !claimed.deleted.is_empty() {
                tracing::error!(
                    target: "cortex::events",
                    bridge = "redis",
                    stream = %config.stream,
                    group = %self.consumer.group(),
                    entries = ?claimed.deleted,
                    "pending entries were trimmed from the stream before they were handled: they are lost (raise `[events.bridge.redis] max_len`)"
                );
            }
            if !claimed.entries.is_empty() {
                tracing::info!(
                    target: "cortex::events",
                    bridge = "redis",
                    stream = %config.stream,
                    group = %self.consumer.group(),
                    entries = claimed.entries.len(),
                    "took over entries another instance left unacknowledged; handling them"
                );
                self.handle(connection, claimed.entries).await?;
                self.ack(connection).await?;
            }
            if claimed.cursor == "0-0" || stopping(&self.consumer) {
                break;
            }
            cursor = claimed.cursor;
        }
        let departed = (self.inner.config.claim_idle * DEPARTED_FACTOR).max(DEPARTED_MIN);
        let _removed: i64 = REMOVE_CONSUMERS_SCRIPT
            .key(&self.inner.config.stream)
            .arg(self.consumer.group())
            .arg(millis(departed))
            .arg(self.consumer.instance())
            .arg("0")
            .invoke_async(connection)
            .await?;
        Ok(())
    }

    /// Hands a batch to the handlers, then notes every entry done with, to be acknowledged:
    /// handled (or dead-lettered by its handlers), on another topic, or malformed and
    /// dead-lettered.
    async fn handle(
        &mut self,
        connection: &mut MultiplexedConnection,
        entries: Vec<RawEntry>,
    ) -> Result<(), Failure> {
        let mut ids = Vec::new();
        let mut events = Vec::new();
        for entry in entries {
            if entry.fields.is_none() {
                // Only a read of the history lists these; never lost silently all the same.
                tracing::error!(
                    target: "cortex::events",
                    bridge = "redis",
                    stream = %self.inner.config.stream,
                    entry = %entry.id,
                    "a pending entry was trimmed from the stream before it was handled: it is lost"
                );
                self.unacked.push(entry.id);
                continue;
            }
            match entry.decode(|topic| self.consumer.wants(topic)) {
                Decoded::Event(event) => {
                    ids.push(entry.id);
                    events.push(event);
                }
                Decoded::Unwanted => self.unacked.push(entry.id),
                Decoded::Malformed(why) => {
                    if self.dead_letter(&entry, &why).await {
                        self.unacked.push(entry.id);
                    }
                }
            }
        }
        if !events.is_empty() {
            let completions = self.deliver(connection, &ids, events).await;
            // A closed bus handed nothing over: those stay pending, for another instance.
            let closed = self.consumer.bus.is_closed();
            for (id, completion) in ids.into_iter().zip(completions) {
                if !(closed && completion.outcomes.is_empty()) {
                    self.unacked.push(id);
                }
            }
        }
        Ok(())
    }

    /// Hands the events to the handlers and waits for them, meanwhile telling Redis that the
    /// entries are still in hand (`XCLAIM … JUSTID` resets their idle time), so that a slow
    /// handler's entries are not taken over by another instance.
    async fn deliver(
        &self,
        connection: &mut MultiplexedConnection,
        ids: &[String],
        events: Vec<WireEvent>,
    ) -> Vec<Completion> {
        let config = &self.inner.config;
        let period = (config.claim_idle / 3).max(Duration::from_millis(1));
        let delivered = self.consumer.deliver_all(events);
        tokio::pin!(delivered);
        let mut keep_fresh = tokio::time::interval_at(Instant::now() + period, period);
        loop {
            tokio::select! {
                completions = &mut delivered => return completions,
                _ = keep_fresh.tick() => {
                    let claimed: Result<Value, RedisError> = redis::cmd("XCLAIM")
                        .arg(&config.stream)
                        .arg(self.consumer.group())
                        .arg(self.consumer.instance())
                        .arg(0)
                        .arg(ids)
                        .arg("JUSTID")
                        .query_async(connection)
                        .await;
                    if let Err(error) = claimed {
                        tracing::debug!(target: "cortex::events", bridge = "redis", %error, "could not keep in-hand entries fresh");
                    }
                }
            }
        }
    }

    /// `XACK`s what was handled; what fails stays for the next attempt.
    async fn ack(&mut self, connection: &mut MultiplexedConnection) -> Result<(), Failure> {
        if self.unacked.is_empty() {
            return Ok(());
        }
        let _acked: i64 = redis::cmd("XACK")
            .arg(&self.inner.config.stream)
            .arg(self.consumer.group())
            .arg(&self.unacked)
            .query_async(connection)
            .await?;
        self.unacked.clear();
        Ok(())
    }

    /// Puts a malformed entry in the bus's dead letters; whether it is there (else it stays
    /// pending, to be tried again after `claim_idle`).
    async fn dead_letter(&self, entry: &RawEntry, why: &Malformed) -> bool {
        let stream = &self.inner.config.stream;
        let mut metadata = Metadata::new(entry.topic().unwrap_or("undecodable").to_owned());
        metadata
            .headers
            .insert("redis.stream".into(), stream.clone());
        metadata
            .headers
            .insert("redis.entry".into(), entry.id.clone());
        let letter = DeadLetter::new(
            DEAD_LETTER_HANDLER,
            WireEvent {
                metadata,
                payload: serde_json::json!({ "fields": entry.fields_json() }),
            },
            why.to_string(),
            1,
        );
        tracing::error!(
            target: "cortex::events",
            bridge = "redis",
            stream = %stream,
            entry = %entry.id,
            error = %why,
            "a malformed entry on the event stream: put in the dead letters (handler `{DEAD_LETTER_HANDLER}`) and acknowledged"
        );
        metrics::counter!("cortex_events_dead_lettered_total", "handler" => DEAD_LETTER_HANDLER)
            .increment(1);
        match self.consumer.bus.dead_letters().put(letter).await {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(
                    target: "cortex::events",
                    bridge = "redis",
                    stream = %stream,
                    entry = %entry.id,
                    %error,
                    "the dead-letter store refused a malformed entry: it stays pending, to be tried again"
                );
                false
            }
        }
    }
}

/// The broadcast consumer: every instance's streams get every event appended after it started.
pub(super) struct Broadcast {
    inner: Arc<Inner>,
    consumer: BridgeConsumer,
    connection: Option<MultiplexedConnection>,
    /// The last entry read; `None` before the first read (then: the stream's end).
    last: Option<String>,
    /// After a failure: check that the stream was not started over (Redis lost it).
    resync: bool,
    backoff: Backoff,
}

impl Broadcast {
    pub(super) fn new(inner: Arc<Inner>, consumer: BridgeConsumer) -> Self {
        Broadcast {
            inner,
            consumer,
            connection: None,
            last: None,
            resync: false,
            backoff: Backoff::new(),
        }
    }

    pub(super) async fn run(mut self) {
        while !stopping(&self.consumer) {
            match self.step().await {
                Ok(()) => {
                    self.inner.restored();
                    self.backoff.reset();
                }
                Err(failure) => {
                    self.connection = None;
                    self.resync = true;
                    self.inner.lost("reading the stream", &failure);
                    self.backoff.wait(&self.consumer).await;
                }
            }
        }
    }

    /// The id of the stream's newest entry (`0-0` when it is empty or absent).
    async fn newest(
        connection: &mut MultiplexedConnection,
        stream: &str,
    ) -> Result<String, Failure> {
        let reply: Value = redis::cmd("XREVRANGE")
            .arg(stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(connection)
            .await?;
        let newest = entry::entries(&reply).ok_or(UnexpectedReply {
            command: "XREVRANGE",
        })?;
        Ok(newest
            .into_iter()
            .next()
            .map_or_else(|| "0-0".into(), |e| e.id))
    }

    async fn step(&mut self) -> Result<(), Failure> {
        let config = &self.inner.config;
        let mut connection = match &self.connection {
            Some(connection) => connection.clone(),
            None => {
                let connection = self.inner.connect_consumer(&self.consumer).await?;
                self.connection = Some(connection.clone());
                connection
            }
        };
        match &self.last {
            None => self.last = Some(Self::newest(&mut connection, &config.stream).await?),
            Some(last) if self.resync => {
                let newest = Self::newest(&mut connection, &config.stream).await?;
                if entry::parse_id(&newest) < entry::parse_id(last) {
                    // Redis lost the stream and it started over: everything in it is new.
                    self.last = Some("0-0".into());
                }
            }
            Some(_) => {}
        }
        self.resync = false;
        let last = self.last.clone().unwrap_or_else(|| "$".into());
        let reply: Value = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(config.batch)
            .arg("BLOCK")
            .arg(millis(config.block))
            .arg("STREAMS")
            .arg(&config.stream)
            .arg(&last)
            .query_async(&mut connection)
            .await?;
        for entry in entry::read_reply(&reply, "XREAD")? {
            self.last = Some(entry.id.clone());
            match entry.decode(|topic| self.consumer.wants(topic)) {
                Decoded::Event(event) => {
                    self.consumer.enqueue(event).await;
                }
                Decoded::Unwanted => {}
                // The shared consumer dead-letters it (once per app, not once per instance).
                Decoded::Malformed(why) => tracing::debug!(
                    target: "cortex::events",
                    bridge = "redis",
                    stream = %config.stream,
                    entry = %entry.id,
                    error = %why,
                    "a malformed entry skipped by the broadcast consumer"
                ),
            }
        }
        Ok(())
    }
}
