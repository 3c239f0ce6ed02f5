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

use application::ports::{ClaimedEvent, EventStore, Insertion, StoreError};
use async_trait::async_trait;
use domain::{EventKey, EventStatus, NewEvent};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QueryFilter, QuerySelect, RuntimeErr, Statement, TransactionTrait,
    sea_query::Expr,
    sqlx::{self, Row as _},
};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    SeaOrmStore, StatementObserver,
    arrays::{bytes, column, optional_text},
    entity::events,
    error::{Failure, classify},
    handoff::{Handoff, Reservation},
    listen::Announcer,
    liveness::Liveness,
    sequence::Sequence,
    time::to_micros,
    writers::Writers,
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

/// What a batch writer needs besides the database.
#[derive(Clone)]
struct Order {
    queue: QueueOrder,
    /// Sees the statements sent past SeaORM (which reports its own).
    observer: Option<StatementObserver>,
    /// PostgreSQL: tells the replicas about committed batches.
    announcer: Option<Announcer>,
}

impl Order {
    fn announce(&self, insertions: &[Insertion]) {
        if let Some(announcer) = &self.announcer
            && insertions
                .iter()
                .any(|insertion| matches!(insertion, Insertion::Inserted(_)))
        {
            announcer.announce();
        }
    }
}

/// What the queue order of new events needs, shared with the store's queue
/// side.
#[derive(Clone)]
pub(crate) struct QueueOrder {
    /// SQLite's queue positions.
    pub(crate) sequence: Arc<Sequence>,
    pub(crate) fifo_sources: Arc<[String]>,
    pub(crate) claimable_sources: Arc<[String]>,
    /// This process's workers, when they take new events at intake.
    pub(crate) handoff: Arc<Handoff>,
    pub(crate) liveness: Liveness,
}

impl QueueOrder {
    fn is_fifo(&self, event: &NewEvent) -> bool {
        self.fifo_sources
            .iter()
            .any(|fifo| fifo == event.source.as_str())
    }

    fn has_fifo(&self, events: &[NewEvent]) -> bool {
        !self.fifo_sources.is_empty() && events.iter().any(|event| self.is_fifo(event))
    }

    /// Which events of `events` are written claimed, for this process's
    /// workers (see [`super::handoff`]): those a claim could take, as many
    /// as there are free slots.
    fn claims_at_intake(&self, events: &[NewEvent]) -> AtIntake<'_> {
        let alive = self.liveness.is_alive();
        let skipped = self.handoff.skipped_sources();
        let is = |sources: &[String], event: &NewEvent| {
            sources.iter().any(|source| source == event.source.as_str())
        };
        let claimable: Vec<bool> = events
            .iter()
            .map(|event| {
                alive
                    && event.body.len() <= MAX_HANDED_OFF_BODY
                    && !self.is_fifo(event)
                    && !is(&skipped, event)
                    && is(&self.claimable_sources, event)
            })
            .collect();
        let wanted = claimable.iter().filter(|claimable| **claimable).count();
        let reservation = self.handoff.reserve(wanted, events.len());
        let mut free = reservation.slots();
        let claimed = claimable
            .into_iter()
            .map(|claimable| {
                let claim = claimable && free > 0;
                free -= usize::from(claim);
                claim
            })
            .collect();
        AtIntake {
            claimed,
            reservation,
            owner: self.liveness.key(),
        }
    }
}

/// Larger bodies are not handed off: what waits for a worker in memory stays
/// small (at most the workers' slots × this).
const MAX_HANDED_OFF_BODY: usize = 64 << 10;

/// The rows of one batch that are written already claimed.
struct AtIntake<'a> {
    /// One flag per event of the batch.
    claimed: Vec<bool>,
    reservation: Reservation<'a>,
    /// This instance's liveness key (`lease_owner`).
    owner: i64,
}

impl AtIntake<'_> {
    fn lease_micros(&self) -> i64 {
        i64::try_from(self.reservation.lease_for.as_micros()).unwrap_or(i64::MAX)
    }

    /// The batch committed: its claimed rows that were inserted (not
    /// duplicates) go to the workers.
    fn hand_over(self, events: &[NewEvent], inserted: &HashSet<Uuid>) {
        let lease = self.reservation.lease;
        let claimed = events
            .iter()
            .zip(&self.claimed)
            .filter(|(event, claimed)| **claimed && inserted.contains(&event.key.as_uuid()))
            .map(|(event, _)| ClaimedEvent {
                key: event.key,
                source: event.source.as_str().to_owned(),
                event_id: event.event_id.as_str().to_owned(),
                event_type: event.event_type.clone(),
                body: event.body.clone(),
                content_type: event.content_type.clone(),
                received_at: event.received_at,
                attempt: 1,
                lease,
                request_id: event.request_id.clone(),
            });
        self.reservation.fill(claimed);
    }

    /// The batch failed, perhaps after it committed (the reply lost with
    /// the connection): its claims are undone by the next claim instead of
    /// waiting for their lease.
    fn undo(self, events: &[NewEvent]) {
        let claimed = events
            .iter()
            .zip(&self.claimed)
            .filter(|(_, claimed)| **claimed)
            .map(|(event, _)| event.key);
        self.reservation.undo(claimed);
    }
}

struct Pending {
    event: NewEvent,
    reply: Reply,
}

pub(crate) struct Batcher {
    queue: mpsc::Sender<Pending>,
}

impl Batcher {
    pub(crate) fn start(
        db: DatabaseConnection,
        settings: IngestSettings,
        queue: QueueOrder,
        observer: Option<StatementObserver>,
        writers: &Writers,
    ) -> Self {
        let announcer = (db.get_database_backend() == sea_orm::DbBackend::Postgres).then(|| {
            let (announcer, task) = Announcer::start(
                db.get_postgres_connection_pool().clone(),
                writers.stop_token(),
            );
            writers.spawn("new-event announcer", task);
            announcer
        });
        let (sender, pending) = mpsc::channel(settings.max_batch * 4);
        let pending = Arc::new(Mutex::new(pending));
        let count = match db.get_database_backend() {
            sea_orm::DbBackend::Sqlite => 1,
            _ => settings.writers.max(1),
        };
        let order = Order {
            queue,
            observer,
            announcer,
        };
        for _ in 0..count {
            writers.spawn(
                "ingest batch writer",
                write_batches(
                    db.clone(),
                    pending.clone(),
                    settings,
                    order.clone(),
                    writers.stop_token(),
                ),
            );
        }
        Self { queue: sender }
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
    order: Order,
    stop: CancellationToken,
) {
    loop {
        let batch = {
            let mut pending = pending.lock().await;
            // Once stopped (the HTTP server has drained), what is queued is
            // still written; then the writer exits.
            let first = tokio::select! {
                biased;
                first = pending.recv() => first,
                () = stop.cancelled() => pending.try_recv().ok(),
            };
            let Some(first) = first else {
                tracing::debug!("batch writer stopped");
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
        answer(&db, &order, events, replies).await;
    }
}

async fn answer(
    db: &DatabaseConnection,
    order: &Order,
    events: Vec<NewEvent>,
    replies: Vec<Reply>,
) {
    match insert_batch(db, order, &events).await {
        Ok(insertions) => {
            order.announce(&insertions);
            for (reply, insertion) in replies.into_iter().zip(insertions) {
                let _ = reply.send(Ok(insertion));
            }
        }
        // One bad row must not fail its neighbours: write them one by one.
        Err(Failure::Other(err)) if events.len() > 1 => {
            tracing::warn!(error = %format!("{err:#}"), size = events.len(), "batch insert failed; retrying its events one by one");
            for (event, reply) in events.into_iter().zip(replies) {
                let result = insert_batch(db, order, std::slice::from_ref(&event)).await;
                if let Ok(insertions) = &result {
                    order.announce(insertions);
                }
                let _ = reply.send(result.map(|mut one| one.remove(0)));
            }
        }
        Err(failure) => {
            for reply in replies {
                let _ = reply.send(Err(failure.for_each_caller()));
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
    order: &Order,
    events: &[NewEvent],
) -> Result<Vec<Insertion>, Failure> {
    let claims = order.queue.claims_at_intake(events);
    let inserted = match db.get_database_backend() {
        DbBackend::Postgres if order.queue.has_fifo(events) => {
            insert_fifo_postgres(db, events, &claims).await
        }
        DbBackend::Postgres => {
            if let Some(StatementObserver(observer)) = &order.observer {
                observer(INSERT_UNNEST);
            }
            insert_unnest_borrowed(db.get_postgres_connection_pool(), events, &claims).await
        }
        _ => {
            if let Some(StatementObserver(observer)) = &order.observer {
                observer("INSERT INTO events … VALUES … ON CONFLICT DO NOTHING RETURNING id");
            }
            insert_values_borrowed(db, &order.queue.sequence, events, &claims).await
        }
    };
    let inserted = match inserted {
        Ok(inserted) => inserted,
        Err(err) => {
            claims.undo(events);
            return Err(classify(err));
        }
    };
    // Before any caller is answered (and wakes the workers).
    claims.hand_over(events, &inserted);

    let duplicates: Vec<&NewEvent> = events
        .iter()
        .filter(|event| !inserted.contains(&event.key.as_uuid()))
        .collect();
    let stored = if duplicates.is_empty() {
        Stored::default()
    } else {
        let stored = Stored::find(db, &duplicates).await?;
        flag_conflicts(db, &duplicates, &stored).await?;
        stored
    };

    events
        .iter()
        .map(|event| {
            if inserted.contains(&event.key.as_uuid()) {
                return Ok(Insertion::Inserted(event.key));
            }
            if let Some((id, digest)) = stored.by_id(event) {
                return Ok(Insertion::Duplicate {
                    existing: EventKey::from_uuid(id),
                    same_body: digest == event.body_digest.as_bytes(),
                });
            }
            if let Some(id) = stored.by_body(event) {
                return Ok(Insertion::Replayed {
                    existing: EventKey::from_uuid(id),
                });
            }
            Err(Failure::Other(anyhow::anyhow!(
                "event neither inserted nor found: ({}, {})",
                event.source,
                event.event_id
            )))
        })
        .collect()
}

/// The stored events that new ones collided with: by (source, event id),
/// and by (source, body digest) where the source deduplicates by body.
#[derive(Default)]
struct Stored {
    by_id: HashMap<(String, String), (Uuid, Vec<u8>)>,
    by_body: HashMap<(String, Vec<u8>), Uuid>,
}

impl Stored {
    async fn find(db: &DatabaseConnection, duplicates: &[&NewEvent]) -> Result<Self, Failure> {
        let wanted = duplicates.iter().fold(Condition::any(), |any, event| {
            let same_id = Condition::all()
                .add(events::Column::Source.eq(event.source.as_str()))
                .add(events::Column::EventId.eq(event.event_id.as_str()));
            let any = any.add(same_id);
            if !event.dedupe_by_body {
                return any;
            }
            any.add(
                Condition::all()
                    .add(events::Column::Source.eq(event.source.as_str()))
                    .add(events::Column::PayloadSha256.eq(event.body_digest.as_bytes().to_vec()))
                    .add(events::Column::DedupeBody.eq(true)),
            )
        });
        let rows: Vec<(Uuid, String, String, Vec<u8>, bool)> = events::Entity::find()
            .select_only()
            .columns([
                events::Column::Id,
                events::Column::Source,
                events::Column::EventId,
                events::Column::PayloadSha256,
                events::Column::DedupeBody,
            ])
            .filter(wanted)
            .into_tuple()
            .all(db)
            .await
            .map_err(classify)?;
        let mut stored = Self::default();
        for (id, source, event_id, digest, dedupe_body) in rows {
            if dedupe_body {
                stored.by_body.insert((source.clone(), digest.clone()), id);
            }
            stored.by_id.insert((source, event_id), (id, digest));
        }
        Ok(stored)
    }

    fn by_id(&self, event: &NewEvent) -> Option<(Uuid, &[u8])> {
        let lookup = (
            event.source.as_str().to_owned(),
            event.event_id.as_str().to_owned(),
        );
        self.by_id
            .get(&lookup)
            .map(|(id, digest)| (*id, digest.as_slice()))
    }

    fn by_body(&self, event: &NewEvent) -> Option<Uuid> {
        if !event.dedupe_by_body {
            return None;
        }
        let lookup = (
            event.source.as_str().to_owned(),
            event.body_digest.as_bytes().to_vec(),
        );
        self.by_body.get(&lookup).copied()
    }
}

/// Marks stored events whose id has just arrived again with another body,
/// or whose body has just arrived again under another id (a replay).
async fn flag_conflicts(
    db: &DatabaseConnection,
    duplicates: &[&NewEvent],
    stored: &Stored,
) -> Result<(), Failure> {
    let conflicted: HashSet<Uuid> = duplicates
        .iter()
        .filter_map(|event| match stored.by_id(event) {
            Some((id, digest)) => (digest != event.body_digest.as_bytes()).then_some(id),
            None => stored.by_body(event),
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

/// SQLite: one multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING id`,
/// through sqlx directly with borrowed values (SeaORM's `insert_many` builds
/// an active model per event, copying every body, and clones each parameter
/// again to bind it). The values are bound as SeaORM binds them (`Uuid` as a
/// 16-byte blob, `bool` as an integer), so both paths read each other's rows.
async fn insert_values_borrowed(
    db: &DatabaseConnection,
    sequence: &Sequence,
    events: &[NewEvent],
    claims: &AtIntake<'_>,
) -> Result<HashSet<Uuid>, DbErr> {
    let first = sequence.reserve(db, events.len()).await?;
    let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT INTO events (id, source, event_id, event_type, payload, payload_sha256, \
         content_type, received_at, status, attempts, next_attempt_at, secret_label, \
         request_id, conflict, seq, dedupe_body, lease_token, leased_by, lease_owner, \
         claimed_at) ",
    );
    let rows = events.iter().zip(first..).zip(&claims.claimed);
    insert.push_values(rows, |mut row, ((event, seq), &claimed)| {
        let received_at = to_micros(event.received_at);
        let (status, attempts, due) = if claimed {
            let until = received_at.saturating_add(claims.lease_micros());
            (EventStatus::Processing, 1_i32, until)
        } else {
            (EventStatus::Pending, 0, received_at)
        };
        let lease = &claims.reservation;
        row.push_bind(event.key.as_uuid())
            .push_bind(event.source.as_str())
            .push_bind(event.event_id.as_str())
            .push_bind(event.event_type.as_deref())
            .push_bind(event.body.as_ref())
            .push_bind(event.body_digest.as_bytes().as_slice())
            .push_bind(event.content_type.as_deref())
            .push_bind(received_at)
            .push_bind(status.as_str())
            .push_bind(attempts)
            .push_bind(due)
            .push_bind(event.secret_label.as_deref())
            .push_bind(event.request_id.as_deref())
            .push_bind(false)
            .push_bind(seq)
            .push_bind(event.dedupe_by_body)
            .push_bind(claimed.then(|| lease.lease.as_uuid()))
            .push_bind(claimed.then_some(&*lease.holder))
            .push_bind(claimed.then_some(claims.owner))
            .push_bind(claimed.then_some(received_at));
    });
    // No conflict target: an event id already stored, or (for sources that
    // deduplicate by body) a body already stored, both skip the row.
    insert.push(" ON CONFLICT DO NOTHING RETURNING id");
    let query_err = |err: sqlx::Error| DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)));
    let rows = insert
        .build()
        .fetch_all(db.get_sqlite_connection_pool())
        .await
        .map_err(query_err)?;
    rows.iter()
        .map(|row| row.try_get::<Uuid, _>("id").map_err(query_err))
        .collect()
}

/// PostgreSQL: the whole batch as one array per column. The statement text
/// is the same for every batch size, so it is prepared once per connection.
/// (Replicas are told by the [`Announcer`], after the commit.) Rows flagged
/// in `$12` are written claimed under the lease `$13` of `$14`/`$15` for
/// `$16` microseconds ([`super::handoff`]).
const INSERT_UNNEST: &str = "\
INSERT INTO events (id, source, event_id, event_type, payload, payload_sha256, content_type,
                    received_at, status, attempts, next_attempt_at, secret_label, conflict,
                    request_id, dedupe_body, lease_token, leased_by, lease_owner, claimed_at)
SELECT id, source, event_id, NULLIF(event_type, ''), payload, payload_sha256,
       NULLIF(content_type, ''), received_at,
       CASE WHEN claimed THEN 'processing' ELSE 'pending' END, claimed::int4,
       CASE WHEN claimed THEN received_at + $16::int8 ELSE received_at END,
       NULLIF(secret_label, ''), FALSE, NULLIF(request_id, ''), dedupe_body,
       CASE WHEN claimed THEN $13::uuid END, CASE WHEN claimed THEN $14::text END,
       CASE WHEN claimed THEN $15::int8 END, CASE WHEN claimed THEN received_at END
FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bytea[],
            $7::text[], $8::int8[], $9::text[], $10::text[], $11::bool[], $12::bool[])
     AS batch(id, source, event_id, event_type, payload, payload_sha256, content_type,
              received_at, secret_label, request_id, dedupe_body, claimed)
ON CONFLICT DO NOTHING
RETURNING id";

/// Key of the transaction lock that orders FIFO sources' inserts on
/// PostgreSQL ("hookdfif").
const FIFO_INSERT_LOCK: i64 = 0x686f_6f6b_6466_6966;

/// PostgreSQL, a batch with events of FIFO sources: the sequence numbers
/// (their queue order) are taken and committed under one transaction lock,
/// so they are in commit order — a claim never sees a later event of a
/// source before an earlier one is visible. Only such batches pay for it.
async fn insert_fifo_postgres(
    db: &DatabaseConnection,
    events: &[NewEvent],
    claims: &AtIntake<'_>,
) -> Result<HashSet<Uuid>, DbErr> {
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [FIFO_INSERT_LOCK.into()],
    ))
    .await?;
    let inserted = insert_unnest(&txn, events, claims).await?;
    txn.commit().await?;
    Ok(inserted)
}

async fn insert_unnest(
    db: &impl ConnectionTrait,
    events: &[NewEvent],
    claims: &AtIntake<'_>,
) -> Result<HashSet<Uuid>, DbErr> {
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
        column(events, |e| e.dedupe_by_body),
        claims.claimed.clone().into(),
        claims.reservation.lease.as_uuid().into(),
        claims.reservation.holder.to_string().into(),
        claims.owner.into(),
        claims.lease_micros().into(),
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

/// [`insert_unnest`] through sqlx directly, binding borrowed columns: SeaORM
/// clones every parameter of a raw statement to bind it (here every body of
/// the batch), and this runs once per batch on the intake path. Same
/// statement text, so the same prepared statement.
async fn insert_unnest_borrowed(
    pool: &sqlx::PgPool,
    events: &[NewEvent],
    claims: &AtIntake<'_>,
) -> Result<HashSet<Uuid>, DbErr> {
    fn text(events: &[NewEvent], f: impl Fn(&NewEvent) -> Option<&str>) -> Vec<&str> {
        events.iter().map(|e| f(e).unwrap_or_default()).collect()
    }
    let query_err = |err: sqlx::Error| DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)));
    let rows = sqlx::query(INSERT_UNNEST)
        .bind(
            events
                .iter()
                .map(|e| e.key.as_uuid())
                .collect::<Vec<Uuid>>(),
        )
        .bind(text(events, |e| Some(e.source.as_str())))
        .bind(text(events, |e| Some(e.event_id.as_str())))
        .bind(text(events, |e| e.event_type.as_deref()))
        .bind(
            events
                .iter()
                .map(|e| e.body.as_ref())
                .collect::<Vec<&[u8]>>(),
        )
        .bind(
            events
                .iter()
                .map(|e| e.body_digest.as_bytes().as_slice())
                .collect::<Vec<&[u8]>>(),
        )
        .bind(text(events, |e| e.content_type.as_deref()))
        .bind(
            events
                .iter()
                .map(|e| to_micros(e.received_at))
                .collect::<Vec<i64>>(),
        )
        .bind(text(events, |e| e.secret_label.as_deref()))
        .bind(text(events, |e| e.request_id.as_deref()))
        .bind(
            events
                .iter()
                .map(|e| e.dedupe_by_body)
                .collect::<Vec<bool>>(),
        )
        .bind(&claims.claimed)
        .bind(claims.reservation.lease.as_uuid())
        .bind(&*claims.reservation.holder)
        .bind(claims.owner)
        .bind(claims.lease_micros())
        .fetch_all(pool)
        .await
        .map_err(query_err)?;
    rows.iter()
        .map(|row| row.try_get::<Uuid, _>("id").map_err(query_err))
        .collect()
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
