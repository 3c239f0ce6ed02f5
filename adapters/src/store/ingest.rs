//! Group commit for new events.
//!
//! Every `insert_if_absent` call hands its event to a batcher task and waits
//! for its own answer. A batcher takes whatever has queued up meanwhile (up to
//! a limit) and writes it as one multi-row `INSERT … ON CONFLICT (source,
//! event_id) DO NOTHING RETURNING id` in one transaction: under load, one
//! commit (one fsync) serves hundreds of requests, and no request waits for a
//! timer. Each caller is answered only after the commit.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use application::ports::{EventStore, Insertion, StoreError};
use async_trait::async_trait;
use domain::{EventKey, EventStatus, NewEvent};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    DbErr, EntityTrait, QueryFilter, QuerySelect, Statement, TryInsertResult, sea_query::Expr,
};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use super::{
    SeaOrmStore,
    arrays::{bytes, column, optional_text},
    entity::events,
    error::{Failure, classify},
    time::to_micros,
};

/// How new events are batched into commits.
#[derive(Debug, Clone, Copy)]
pub struct IngestSettings {
    /// Most events in one commit.
    pub max_batch: usize,
    /// Most body bytes in one commit (a batch always takes at least one event).
    pub max_batch_bytes: usize,
    /// Concurrent batch writers on PostgreSQL (SQLite always has one writer).
    pub writers: usize,
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            max_batch: 512,
            max_batch_bytes: 8 << 20,
            writers: 4,
        }
    }
}

type Reply = oneshot::Sender<Result<Insertion, Failure>>;

struct Pending {
    event: NewEvent,
    reply: Reply,
}

pub(crate) struct Batcher {
    queue: mpsc::Sender<Pending>,
}

impl Batcher {
    pub(crate) fn start(db: DatabaseConnection, settings: IngestSettings) -> Self {
        let (queue, pending) = mpsc::channel(settings.max_batch * 4);
        let pending = Arc::new(Mutex::new(pending));
        let writers = match db.get_database_backend() {
            sea_orm::DbBackend::Sqlite => 1,
            _ => settings.writers.max(1),
        };
        for _ in 0..writers {
            tokio::spawn(write_batches(db.clone(), pending.clone(), settings));
        }
        Self { queue }
    }

    async fn submit(&self, event: NewEvent) -> Result<Insertion, Failure> {
        let (reply, answer) = oneshot::channel();
        let closed = || Failure::Other(anyhow::anyhow!("the event store is shutting down"));
        self.queue
            .send(Pending { event, reply })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// A batch writer: takes what has queued up, writes it, answers each caller.
/// Ends when the store (every sender) is dropped.
async fn write_batches(
    db: DatabaseConnection,
    pending: Arc<Mutex<mpsc::Receiver<Pending>>>,
    settings: IngestSettings,
) {
    loop {
        let batch = {
            let mut pending = pending.lock().await;
            let Some(first) = pending.recv().await else {
                tracing::debug!("event store closed; batch writer exits");
                return;
            };
            let mut bytes = first.event.body.len();
            let mut batch = vec![first];
            while batch.len() < settings.max_batch && bytes < settings.max_batch_bytes {
                let Ok(next) = pending.try_recv() else { break };
                bytes += next.event.body.len();
                batch.push(next);
            }
            batch
        };
        let (events, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|p| (p.event, p.reply)).unzip();
        answer(&db, events, replies).await;
    }
}

async fn answer(db: &DatabaseConnection, events: Vec<NewEvent>, replies: Vec<Reply>) {
    match insert_batch(db, &events).await {
        Ok(insertions) => {
            for (reply, insertion) in replies.into_iter().zip(insertions) {
                let _ = reply.send(Ok(insertion));
            }
        }
        // One bad row must not fail its neighbours: write them one by one.
        Err(Failure::Other(err)) if events.len() > 1 => {
            tracing::warn!(error = %format!("{err:#}"), size = events.len(), "batch insert failed; retrying its events one by one");
            for (event, reply) in events.into_iter().zip(replies) {
                let result = insert_batch(db, std::slice::from_ref(&event)).await;
                let _ = reply.send(result.map(|mut one| one.remove(0)));
            }
        }
        Err(failure) => {
            let unavailable = matches!(failure, Failure::Unavailable(_));
            let message = match &failure {
                Failure::Unavailable(err) | Failure::Other(err) => format!("{err:#}"),
            };
            for reply in replies {
                let err = anyhow::anyhow!("{message}");
                let _ = reply.send(Err(if unavailable {
                    Failure::Unavailable(err)
                } else {
                    Failure::Other(err)
                }));
            }
        }
    }
}

/// Inserts the events that are new and says for each whether it was
/// inserted or duplicates a stored one.
///
/// The insert is one statement, hence atomic on its own; duplicates are
/// looked up afterwards, when the rows they collided with are committed.
async fn insert_batch(
    db: &DatabaseConnection,
    events: &[NewEvent],
) -> Result<Vec<Insertion>, Failure> {
    let inserted = match db.get_database_backend() {
        DbBackend::Postgres => insert_unnest(db, events).await,
        _ => insert_values(db, events).await,
    }
    .map_err(classify)?;

    let duplicates: Vec<&NewEvent> = events
        .iter()
        .filter(|event| !inserted.contains(&event.key.as_uuid()))
        .collect();
    let mut stored = HashMap::new();
    if !duplicates.is_empty() {
        let wanted = duplicates.iter().fold(Condition::any(), |any, event| {
            any.add(
                Condition::all()
                    .add(events::Column::Source.eq(event.source.as_str()))
                    .add(events::Column::EventId.eq(event.event_id.as_str())),
            )
        });
        let rows: Vec<(Uuid, String, String, Vec<u8>)> = events::Entity::find()
            .select_only()
            .columns([
                events::Column::Id,
                events::Column::Source,
                events::Column::EventId,
                events::Column::PayloadSha256,
            ])
            .filter(wanted)
            .into_tuple()
            .all(db)
            .await
            .map_err(classify)?;
        stored = rows
            .into_iter()
            .map(|(id, source, event_id, digest)| ((source, event_id), (id, digest)))
            .collect();
        flag_conflicts(db, &duplicates, &stored).await?;
    }

    events
        .iter()
        .map(|event| {
            if inserted.contains(&event.key.as_uuid()) {
                return Ok(Insertion::Inserted(event.key));
            }
            let lookup = (
                event.source.as_str().to_owned(),
                event.event_id.as_str().to_owned(),
            );
            let (id, digest) = stored.get(&lookup).ok_or_else(|| {
                Failure::Other(anyhow::anyhow!(
                    "event neither inserted nor found: ({}, {})",
                    lookup.0,
                    lookup.1
                ))
            })?;
            Ok(Insertion::Duplicate {
                existing: EventKey::from_uuid(*id),
                same_body: digest.as_slice() == event.body_digest.as_bytes(),
            })
        })
        .collect()
}

/// Marks stored events whose id has just arrived again with another body.
async fn flag_conflicts(
    db: &DatabaseConnection,
    duplicates: &[&NewEvent],
    stored: &HashMap<(String, String), (Uuid, Vec<u8>)>,
) -> Result<(), Failure> {
    let conflicted: HashSet<Uuid> = duplicates
        .iter()
        .filter_map(|event| {
            let lookup = (
                event.source.as_str().to_owned(),
                event.event_id.as_str().to_owned(),
            );
            let (id, digest) = stored.get(&lookup)?;
            (digest.as_slice() != event.body_digest.as_bytes()).then_some(*id)
        })
        .collect();
    if conflicted.is_empty() {
        return Ok(());
    }
    events::Entity::update_many()
        .col_expr(events::Column::Conflict, Expr::value(true))
        .filter(events::Column::Id.is_in(conflicted))
        .exec(db)
        .await
        .map_err(classify)?;
    Ok(())
}

/// SQLite: one multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING id`.
async fn insert_values(
    db: &DatabaseConnection,
    events: &[NewEvent],
) -> Result<HashSet<Uuid>, DbErr> {
    let result = events::Entity::insert_many(events.iter().map(active_model))
        .on_conflict_do_nothing_on([events::Column::Source, events::Column::EventId])
        .exec_with_returning_keys(db)
        .await?;
    Ok(match result {
        TryInsertResult::Inserted(keys) => keys.into_iter().collect(),
        TryInsertResult::Conflicted | TryInsertResult::Empty => HashSet::new(),
    })
}

/// PostgreSQL: the whole batch as one array per column. The statement text
/// is the same for every batch size, so it is prepared once per connection;
/// and it notifies listening replicas, delivered at commit.
const INSERT_UNNEST: &str = "\
WITH inserted AS (
    INSERT INTO events (id, source, event_id, event_type, payload, payload_sha256, content_type,
                        received_at, status, attempts, next_attempt_at, secret_label, conflict,
                        request_id)
    SELECT id, source, event_id, NULLIF(event_type, ''), payload, payload_sha256,
           NULLIF(content_type, ''), received_at, 'pending', 0, received_at,
           NULLIF(secret_label, ''), FALSE, NULLIF(request_id, '')
    FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bytea[],
                $7::text[], $8::int8[], $9::text[], $10::text[])
         AS batch(id, source, event_id, event_type, payload, payload_sha256, content_type,
                  received_at, secret_label, request_id)
    ON CONFLICT (source, event_id) DO NOTHING
    RETURNING id
)
SELECT id, pg_notify('hookd_new_events', '')::text AS notified FROM inserted";

async fn insert_unnest(
    db: &DatabaseConnection,
    events: &[NewEvent],
) -> Result<HashSet<Uuid>, DbErr> {
    debug_assert_eq!(super::listen::CHANNEL, "hookd_new_events");
    let values = vec![
        column(events, |e| e.key.as_uuid()),
        column(events, |e| e.source.as_str().to_owned()),
        column(events, |e| e.event_id.as_str().to_owned()),
        optional_text(events, |e| e.event_type.as_deref()),
        bytes(events, |e| e.body.to_vec()),
        bytes(events, |e| e.body_digest.as_bytes().to_vec()),
        optional_text(events, |e| e.content_type.as_deref()),
        column(events, |e| to_micros(e.received_at)),
        optional_text(events, |e| e.secret_label.as_deref()),
        optional_text(events, |e| e.request_id.as_deref()),
    ];
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            INSERT_UNNEST,
            values,
        ))
        .await?;
    rows.iter()
        .map(|row| row.try_get::<Uuid>("", "id"))
        .collect()
}

fn active_model(event: &NewEvent) -> events::ActiveModel {
    let received_at = to_micros(event.received_at);
    events::ActiveModel {
        id: Set(event.key.as_uuid()),
        source: Set(event.source.as_str().to_owned()),
        event_id: Set(event.event_id.as_str().to_owned()),
        event_type: Set(event.event_type.clone()),
        payload: Set(event.body.to_vec()),
        payload_sha256: Set(event.body_digest.as_bytes().to_vec()),
        content_type: Set(event.content_type.clone()),
        received_at: Set(received_at),
        status: Set(EventStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(received_at),
        lease_token: Set(None),
        leased_by: Set(None),
        processed_at: Set(None),
        last_error: Set(None),
        secret_label: Set(event.secret_label.clone()),
        request_id: Set(event.request_id.clone()),
        conflict: Set(false),
    }
}

#[async_trait]
impl EventStore for SeaOrmStore {
    async fn insert_if_absent(&self, event: NewEvent) -> Result<Insertion, StoreError> {
        // Bounded: a database that does not answer yields "unavailable"
        // (503 + Retry-After), never a hung request.
        let limit = self.acquire_timeout * 2 + Duration::from_secs(1);
        match tokio::time::timeout(limit, self.batcher.submit(event)).await {
            Ok(Ok(insertion)) => Ok(insertion),
            Ok(Err(Failure::Unavailable(err))) => Err(StoreError::Unavailable(err)),
            Ok(Err(Failure::Other(err))) => Err(StoreError::Unknown(err)),
            Err(_elapsed) => Err(StoreError::Unavailable(anyhow::anyhow!(
                "no answer from the database within {}s",
                limit.as_secs()
            ))),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.ping_database().await.map_err(|failure| match failure {
            Failure::Unavailable(err) | Failure::Other(err) => StoreError::Unavailable(err),
        })
    }
}
