//! [`DatabaseDeadLetters`]: the dead letters in the app's database (`cortex_dead_letters`).

use std::sync::Arc;

use cortex_data::Db;
use cortex_data::sqlx::{self, AssertSqlSafe};
use cortex_di::BoxError;
use tokio::sync::OnceCell;

use super::{StoreError, from_micros, literal_prefix, micros, on_pool, on_tx, sql};
use crate::dead_letter::{DeadLetter, DeadLetterQuery, DeadLetterStore};
use crate::event::{EventId, WireEvent};
use crate::topic::Pattern;

/// Dead letters in the app's database, table `cortex_dead_letters` (one row per event and
/// handler): they survive restarts and are shared by the app's instances, so that any of them
/// lists and replays them. What `[events] dead_letters = "database"` uses.
///
/// ```
/// use cortex_data::{DatabaseConfig, Db};
/// use cortex_events::store::DatabaseDeadLetters;
/// use cortex_events::{DeadLetter, DeadLetterQuery, DeadLetterStore, Metadata, WireEvent};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cortex_di::BoxError> {
/// let db = Db::connect_lazy(&DatabaseConfig { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() })?;
/// let letters = DatabaseDeadLetters::new(db);
/// let event = WireEvent { metadata: Metadata::new("user.created"), payload: serde_json::json!({ "id": 7 }) };
/// letters.put(DeadLetter::new("send_welcome", event.clone(), "smtp refused", 4)).await?;
///
/// let listed = letters.list(&DeadLetterQuery::default().handler("send_welcome")).await?;
/// assert_eq!(listed[0].event, event);
/// assert_eq!(listed[0].attempts, 4);
/// assert!(letters.remove(event.metadata.id, "send_welcome").await?);
/// assert!(letters.get(event.metadata.id, "send_welcome").await?.is_none());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DatabaseDeadLetters {
    db: Db,
    ready: Arc<OnceCell<()>>,
}

impl std::fmt::Debug for DatabaseDeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseDeadLetters")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "id, handler, event_json, error, attempts, failed_at";

impl DatabaseDeadLetters {
    /// The store on `db` (its table is created before its first statement).
    pub fn new(db: Db) -> Self {
        Self::with_ready(db, Arc::default())
    }

    pub(crate) fn with_ready(db: Db, ready: Arc<OnceCell<()>>) -> Self {
        DatabaseDeadLetters { db, ready }
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.ready
            .get_or_try_init(|| super::ensure_schema(&self.db))
            .await?;
        Ok(())
    }

    async fn put_letter(&self, letter: DeadLetter) -> Result<(), StoreError> {
        self.ready().await?;
        let event = String::from_utf8(letter.event.to_bytes()).expect("JSON is UTF-8");
        let id = letter.event_id().to_string();
        let mut tx = self.db.begin().await?;
        on_tx!(&mut tx, |conn, backend| {
            sqlx::query(AssertSqlSafe(sql(
                backend,
                "DELETE FROM cortex_dead_letters WHERE event_id = ? AND handler = ?",
            )))
            .bind(id.as_str())
            .bind(letter.handler.as_str())
            .execute(&mut *conn)
            .await?;
            sqlx::query(AssertSqlSafe(sql(
                backend,
                "INSERT INTO cortex_dead_letters (event_id, handler, topic, event_json, error, attempts, failed_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )))
            .bind(id.as_str())
            .bind(letter.handler.as_str())
            .bind(letter.event.metadata.topic.as_str())
            .bind(event.as_str())
            .bind(letter.error.as_str())
            .bind(i64::from(letter.attempts))
            .bind(micros(letter.failed_at))
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    async fn list_letters(&self, query: &DeadLetterQuery) -> Result<Vec<DeadLetter>, StoreError> {
        self.ready().await?;
        let pattern = query.topic.as_deref().map(Pattern::parse).transpose()?;
        let mut out = Vec::new();
        let mut after = 0_i64;
        let page = query.limit.clamp(1, 1000);
        while out.len() < query.limit {
            let mut conditions = vec!["id > ?"];
            let mut texts = Vec::new();
            if let Some(handler) = &query.handler {
                conditions.push("handler = ?");
                texts.push(handler.clone());
            }
            if let Some(prefix) = pattern.as_ref().and_then(literal_prefix) {
                conditions.push("topic LIKE ?");
                texts.push(format!("{prefix}%"));
            }
            let text = format!(
                "SELECT {COLUMNS} FROM cortex_dead_letters WHERE {} ORDER BY id LIMIT {page}",
                conditions.join(" AND ")
            );
            let rows: Vec<(i64, String, String, String, i64, i64)> =
                on_pool!(&self.db, |conn, backend| {
                    let mut q = sqlx::query_as(AssertSqlSafe(sql(backend, &text))).bind(after);
                    for t in &texts {
                        q = q.bind(t.as_str());
                    }
                    q.fetch_all(&mut *conn).await?
                });
            let exhausted = rows.len() < page;
            for row in rows {
                after = row.0;
                let letter = decode(row)?;
                if pattern
                    .as_ref()
                    .is_none_or(|p| p.matches(&letter.event.metadata.topic))
                {
                    out.push(letter);
                    if out.len() == query.limit {
                        break;
                    }
                }
            }
            if exhausted {
                break;
            }
        }
        Ok(out)
    }

    async fn get_letter(
        &self,
        event: EventId,
        handler: &str,
    ) -> Result<Option<DeadLetter>, StoreError> {
        self.ready().await?;
        let text =
            format!("SELECT {COLUMNS} FROM cortex_dead_letters WHERE event_id = ? AND handler = ?");
        let id = event.to_string();
        let row: Option<(i64, String, String, String, i64, i64)> =
            on_pool!(&self.db, |conn, backend| {
                sqlx::query_as(AssertSqlSafe(sql(backend, &text)))
                    .bind(id.as_str())
                    .bind(handler)
                    .fetch_optional(&mut *conn)
                    .await?
            });
        row.map(decode).transpose()
    }

    async fn remove_letter(&self, event: EventId, handler: &str) -> Result<bool, StoreError> {
        self.ready().await?;
        let id = event.to_string();
        let removed = on_pool!(&self.db, |conn, backend| {
            sqlx::query(AssertSqlSafe(sql(
                backend,
                "DELETE FROM cortex_dead_letters WHERE event_id = ? AND handler = ?",
            )))
            .bind(id.as_str())
            .bind(handler)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(removed > 0)
    }
}

/// A row back.
fn decode(
    (id, handler, event, error, attempts, failed_at): (i64, String, String, String, i64, i64),
) -> Result<DeadLetter, StoreError> {
    let event = WireEvent::from_bytes(event.as_bytes()).map_err(|e| StoreError::Corrupt {
        table: "cortex_dead_letters",
        key: id.to_string(),
        reason: e.to_string(),
    })?;
    Ok(DeadLetter {
        handler,
        event,
        error,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        failed_at: from_micros(failed_at),
    })
}

impl DeadLetterStore for DatabaseDeadLetters {
    async fn put(&self, letter: DeadLetter) -> Result<(), BoxError> {
        Ok(self.put_letter(letter).await?)
    }

    async fn list(&self, query: &DeadLetterQuery) -> Result<Vec<DeadLetter>, BoxError> {
        Ok(self.list_letters(query).await?)
    }

    async fn get(&self, event: EventId, handler: &str) -> Result<Option<DeadLetter>, BoxError> {
        Ok(self.get_letter(event, handler).await?)
    }

    async fn remove(&self, event: EventId, handler: &str) -> Result<bool, BoxError> {
        Ok(self.remove_letter(event, handler).await?)
    }
}
