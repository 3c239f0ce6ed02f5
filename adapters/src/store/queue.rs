//! The queue side of the events table: claiming due events under a lease,
//! renewing and releasing leases, and recording attempt outcomes, fenced by
//! the lease token (written together by the settler: `settle.rs`).

use std::time::Duration;

use application::ports::{
    ClaimedEvent, EventQueue, LeaseToken, LostLease, LostSettlement, QueueError, Settlement,
};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use domain::{EventKey, EventStatus};
use sea_orm::{
    ConnectionTrait, DbBackend, QueryResult,
    sea_query::{
        Alias, Condition, Expr, ExprTrait, LockBehavior, LockType, Order, Query, SelectStatement,
        UnionType,
    },
};
use uuid::Uuid;

use super::{
    OPERATION_TIMEOUT, SeaOrmStore,
    entity::events,
    error::{Failure, classify},
    time::{from_micros, to_micros},
};

/// Events not finished (for FIFO order). Written as literal SQL, not bound
/// parameters, so that both databases see it matches the partial index
/// `events_fifo` (`WHERE status IN (…)`) and use it.
const UNFINISHED: &str = "status IN ('pending', 'retrying', 'processing')";

/// Events a claim may pick up, literal for `events_due_by_source` likewise.
const WAITING: &str = "events.status IN ('pending', 'retrying')";

/// The events table again, as `alias`, inside a claim's subquery: the
/// unfinished events of the outer row's source (served by `events_fifo`).
fn unfinished_of_same_source(alias: &str) -> SelectStatement {
    let table = Alias::new(alias);
    Query::select()
        .from_as(events::Entity, table.clone())
        .and_where(
            Expr::col((table, events::Column::Source))
                .equals((events::Entity, events::Column::Source)),
        )
        .and_where(Expr::cust(format!("{alias}.{UNFINISHED}")))
        .to_owned()
}

/// A FIFO source only offers its first unfinished event in queue order
/// (`seq`), and only while none of its events is in flight: while one is
/// running or waiting for a retry, nothing after it is due. (Both lookups
/// use the `events_fifo` index.)
fn fifo_head() -> Condition {
    let head = unfinished_of_same_source("head")
        .column((Alias::new("head"), events::Column::Id))
        .order_by((Alias::new("head"), events::Column::Seq), Order::Asc)
        .order_by((Alias::new("head"), events::Column::Id), Order::Asc)
        .limit(1)
        .to_owned();
    let busy = unfinished_of_same_source("busy")
        .expr(Expr::val(1))
        .and_where(Expr::cust("busy.status = 'processing'"))
        .to_owned();
    Condition::all()
        .add(
            Expr::col((events::Entity, events::Column::Id))
                .eq(Expr::SubQuery(None, Box::new(head.into()))),
        )
        .add(Expr::exists(busy).not())
}

fn queue_error(failure: Failure) -> QueueError {
    match failure {
        Failure::Unavailable(err) => QueueError::Unavailable(err),
        Failure::Other(err) => QueueError::Unknown(err),
    }
}

/// Runs one queue operation under [`OPERATION_TIMEOUT`].
async fn bounded<T>(
    operation: impl Future<Output = Result<T, QueueError>>,
) -> Result<T, QueueError> {
    tokio::time::timeout(OPERATION_TIMEOUT, operation)
        .await
        .unwrap_or_else(|_| {
            Err(QueueError::Unavailable(anyhow::anyhow!(
                "no answer from the database within {}s",
                OPERATION_TIMEOUT.as_secs()
            )))
        })
}

/// The queue operations, each bounded by [`OPERATION_TIMEOUT`].
#[async_trait]
impl EventQueue for SeaOrmStore {
    async fn claim(
        &self,
        worker: &str,
        limit: u32,
        now: DateTime<Utc>,
        lease: Duration,
        skip: &[String],
    ) -> Result<Vec<ClaimedEvent>, QueueError> {
        bounded(self.claim_due(worker, limit, now, lease, skip)).await
    }

    async fn settle(
        &self,
        worker: &str,
        settlements: Vec<Settlement>,
    ) -> Result<usize, QueueError> {
        bounded(async {
            self.settler
                .settle(worker, settlements)
                .await
                .map_err(queue_error)
        })
        .await
    }

    async fn extend(
        &self,
        lease: LeaseToken,
        keys: Vec<EventKey>,
        until: DateTime<Utc>,
    ) -> Result<usize, QueueError> {
        let mut update = Query::update();
        update
            .table(events::Entity)
            .value(events::Column::NextAttemptAt, to_micros(until));
        bounded(self.update_leased(update, lease, keys)).await
    }

    async fn release(
        &self,
        lease: LeaseToken,
        keys: Vec<EventKey>,
        now: DateTime<Utc>,
    ) -> Result<usize, QueueError> {
        let mut update = Query::update();
        update
            .table(events::Entity)
            .value(events::Column::Status, EventStatus::Retrying.as_str())
            .value(events::Column::NextAttemptAt, to_micros(now))
            .value(events::Column::LeaseToken, Option::<Uuid>::None)
            .value(events::Column::LeasedBy, Option::<String>::None)
            .value(events::Column::LeaseOwner, Option::<i64>::None)
            .value(
                events::Column::LastError,
                "interrupted: hookd shut down before the handler finished",
            );
        bounded(self.update_leased(update, lease, keys)).await
    }

    async fn lost_leases(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<LostLease>, QueueError> {
        bounded(async {
            super::recovery::lost_leases(self, now, limit)
                .await
                .map_err(|err| queue_error(classify(err)))
        })
        .await
    }

    async fn settle_lost(&self, lost: Vec<LostSettlement>) -> Result<usize, QueueError> {
        bounded(async {
            super::recovery::settle_lost(&self.writer, lost)
                .await
                .map_err(|err| queue_error(classify(err)))
        })
        .await
    }
}

impl SeaOrmStore {
    async fn claim_due(
        &self,
        worker: &str,
        limit: u32,
        now: DateTime<Utc>,
        lease: Duration,
        skip: &[String],
    ) -> Result<Vec<ClaimedEvent>, QueueError> {
        if !self.liveness.is_alive() {
            return Err(QueueError::Unavailable(anyhow::anyhow!(
                "this instance does not hold its liveness lock (database connection lost)"
            )));
        }
        // Events claimed at intake first (no database work), the rest from
        // the database. Those of skipped destinations go back to the queue.
        // Once taken, handed-off events are this worker's: an error below
        // must not drop them (they would wait for their lease to expire).
        let handed = self.handoff.take(limit, skip, std::time::Instant::now());
        if let Err(err) = self.give_back(&handed.given_back, now).await {
            tracing::warn!(error = %format!("{err:#}"),
                "could not give events claimed at intake back to the queue; the next claim tries again");
            self.handoff.give_back_later(handed.given_back);
        }
        let mut claimed = handed.events;
        if handed.from_database > 0 {
            let asked = handed.from_database;
            match self
                .claim_from_database(worker, asked, now, lease, skip)
                .await
            {
                Ok(found) => {
                    self.handoff.database_looked(asked, found.len());
                    claimed.extend(found);
                }
                Err(err) if !claimed.is_empty() => tracing::warn!(error = %format!("{err:#}"),
                    "claiming from the database failed; running the events claimed at intake"),
                Err(err) => return Err(err),
            }
        }
        Ok(claimed)
    }

    async fn claim_from_database(
        &self,
        worker: &str,
        limit: u32,
        now: DateTime<Utc>,
        lease: Duration,
        skip: &[String],
    ) -> Result<Vec<ClaimedEvent>, QueueError> {
        let token = LeaseToken::generate();
        let lease_until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        // Events of a source that is no longer configured wait, visible,
        // instead of being handled by something they were not meant for;
        // paused or saturated destinations (`skip`) leave theirs in the
        // queue too.
        let claimable: Vec<&str> = self
            .claimable_sources
            .iter()
            .filter(|source| !skip.contains(source))
            .map(String::as_str)
            .collect();
        if claimable.is_empty() {
            return Ok(Vec::new());
        }
        let due = self.due_by_source(&claimable, limit, now);
        let claim = Query::update()
            .table(events::Entity)
            .value(events::Column::Status, EventStatus::Processing.as_str())
            .value(
                events::Column::Attempts,
                Expr::col(events::Column::Attempts).add(1),
            )
            // While processing, "next due" is when the lease expires.
            .value(events::Column::NextAttemptAt, to_micros(lease_until))
            .value(events::Column::LeaseToken, token.as_uuid())
            .value(events::Column::LeasedBy, worker)
            .value(events::Column::LeaseOwner, self.liveness.key())
            .value(events::Column::ClaimedAt, to_micros(now))
            .and_where(Expr::col(events::Column::Id).in_subquery(due))
            .returning(Query::returning().columns([
                events::Column::Id,
                events::Column::Source,
                events::Column::EventId,
                events::Column::EventType,
                events::Column::Payload,
                events::Column::ContentType,
                events::Column::ReceivedAt,
                events::Column::Attempts,
                events::Column::RequestId,
            ]))
            .to_owned();
        let rows = self
            .writer
            .query_all(&claim)
            .await
            .map_err(|err| queue_error(classify(err)))?;
        let mut claimed = rows
            .iter()
            .map(|row| claimed_event(row, token))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| queue_error(classify(err)))?;
        // RETURNING order is unspecified; hand events out oldest first.
        claimed.sort_by_key(|event| event.key);
        Ok(claimed)
    }

    /// The ids of up to `limit` due events of `sources`, oldest due first:
    /// each source's own oldest (a FIFO source's head only), one index range
    /// per source (`events_due_by_source`), so that what waits in other
    /// sources — a paused destination's backlog — is never read.
    fn due_by_source(&self, sources: &[&str], limit: u32, now: DateTime<Utc>) -> SelectStatement {
        let mut arms = sources.iter().enumerate().map(|(n, source)| {
            let fifo = self.fifo_sources.iter().any(|f| f == source);
            let mut of_source = self.due_query(if fifo { 1 } else { limit }, now);
            of_source
                .column(events::Column::NextAttemptAt)
                .and_where(Expr::col((events::Entity, events::Column::Source)).eq(*source));
            if fifo {
                of_source.cond_where(fifo_head());
            }
            Query::select()
                .columns([events::Column::Id, events::Column::NextAttemptAt])
                .from_subquery(of_source, Alias::new(format!("due_{n}")))
                .to_owned()
        });
        let mut union = arms.next().unwrap_or_else(Query::select);
        for arm in arms {
            union.union(UnionType::All, arm);
        }
        Query::select()
            .column(events::Column::Id)
            .from_subquery(union, Alias::new("due"))
            .order_by(events::Column::NextAttemptAt, Order::Asc)
            .order_by(events::Column::Id, Order::Asc)
            .limit(u64::from(limit))
            .to_owned()
    }

    /// Due waiting events, oldest due first, locked on PostgreSQL.
    fn due_query(&self, limit: u32, now: DateTime<Utc>) -> SelectStatement {
        let mut due = Query::select();
        due.column((events::Entity, events::Column::Id))
            .from(events::Entity)
            // A lease that expired is not claimed here: recovery records the
            // lost attempt first (and applies the attempt ceiling).
            .and_where(Expr::cust(WAITING))
            .and_where(Expr::col(events::Column::NextAttemptAt).lte(to_micros(now)))
            .order_by(events::Column::NextAttemptAt, Order::Asc)
            .order_by(events::Column::Id, Order::Asc)
            .limit(u64::from(limit));
        if self.backend() == DbBackend::Postgres {
            // Replicas never wait on, nor take, each other's claims.
            due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        due
    }
}

impl SeaOrmStore {
    /// Applies `update` to the events in `keys` still held under `lease`.
    async fn update_leased(
        &self,
        mut update: sea_orm::sea_query::UpdateStatement,
        lease: LeaseToken,
        keys: Vec<EventKey>,
    ) -> Result<usize, QueueError> {
        if keys.is_empty() {
            return Ok(0);
        }
        update
            .and_where(Expr::col(events::Column::LeaseToken).eq(lease.as_uuid()))
            .and_where(Expr::col(events::Column::Status).eq(EventStatus::Processing.as_str()))
            .and_where(Expr::col(events::Column::Id).is_in(keys.iter().map(EventKey::as_uuid)));
        let result = self
            .writer
            .execute(&update)
            .await
            .map_err(|err| queue_error(classify(err)))?;
        Ok(usize::try_from(result.rows_affected()).unwrap_or(usize::MAX))
    }
}

fn claimed_event(row: &QueryResult, lease: LeaseToken) -> Result<ClaimedEvent, sea_orm::DbErr> {
    let attempts: i32 = row.try_get("", "attempts")?;
    let payload: Vec<u8> = row.try_get("", "payload")?;
    Ok(ClaimedEvent {
        key: EventKey::from_uuid(row.try_get("", "id")?),
        source: row.try_get("", "source")?,
        event_id: row.try_get("", "event_id")?,
        event_type: row.try_get("", "event_type")?,
        body: Bytes::from(payload),
        content_type: row.try_get("", "content_type")?,
        received_at: from_micros(row.try_get("", "received_at")?),
        attempt: u32::try_from(attempts).unwrap_or(0),
        lease,
        request_id: row.try_get("", "request_id")?,
    })
}
