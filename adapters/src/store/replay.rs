//! Re-queueing finished events (`processed` or `dead`) for a new cycle.

use application::ports::{EventReplay, QueryError, ReplayFilter, ReplayOutcome};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{EventKey, EventStatus};
use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, QuerySelect, TransactionTrait,
    sea_query::{Condition, Expr, ExprTrait, OnConflict, Query, UpdateStatement},
};
use uuid::Uuid;

use super::{
    SeaOrmStore,
    entity::{event_attempts, events},
    error::{Failure, classify},
    time::to_micros,
};

const FINISHED: [EventStatus; 2] = [EventStatus::Processed, EventStatus::Dead];

fn query_error(err: sea_orm::DbErr) -> QueryError {
    match classify(err) {
        Failure::Unavailable(err) => QueryError::Unavailable(err),
        Failure::Other(err) => QueryError::Unknown(err),
    }
}

/// The update that puts a finished event back in the queue, due `now`, at
/// the back of its source's queue (`seq`: what FIFO sources go by). Events
/// replayed together share one position and keep their arrival order.
async fn requeue(store: &SeaOrmStore, now: DateTime<Utc>) -> Result<UpdateStatement, QueryError> {
    let seq = match store.backend() {
        DbBackend::Postgres => Expr::cust("(SELECT nextval('events_seq'))"),
        _ => Expr::val(
            store
                .sequence
                .reserve(&store.writer, 1)
                .await
                .map_err(query_error)?,
        ),
    };
    Ok(Query::update()
        .table(events::Entity)
        .value(events::Column::Status, EventStatus::Pending.as_str())
        .value(events::Column::Attempts, 0)
        .value(events::Column::NextAttemptAt, to_micros(now))
        .value(events::Column::ProcessedAt, Option::<i64>::None)
        .value(events::Column::LastError, Option::<String>::None)
        .value(events::Column::LeaseToken, Option::<Uuid>::None)
        .value(events::Column::LeasedBy, Option::<String>::None)
        .value(events::Column::SucceededBy, Option::<String>::None)
        .value(events::Column::Seq, seq)
        .and_where(Expr::col(events::Column::Status).is_in(FINISHED.map(EventStatus::as_str)))
        .to_owned())
}

/// Puts the finished events matching `which` back in the queue; returns how
/// many. A success recorded on its event moves into `event_attempts` first,
/// as a row like the other attempts', since the event's own columns start
/// over.
async fn replay(
    store: &SeaOrmStore,
    which: Condition,
    now: DateTime<Utc>,
) -> Result<u64, QueryError> {
    // Before the transaction: SQLite's queue position is taken on the writer.
    let mut requeue = requeue(store, now).await?;
    requeue.cond_where(which.clone());
    let success = Query::select()
        .columns([
            events::Column::Id,
            events::Column::Attempts,
            events::Column::SucceededBy,
            events::Column::ClaimedAt,
            events::Column::ProcessedAt,
        ])
        .expr(Expr::cust("'succeeded'"))
        .expr(Expr::cust("NULL"))
        .from(events::Entity)
        .cond_where(which)
        .and_where(Expr::col(events::Column::Status).eq(EventStatus::Processed.as_str()))
        .and_where(Expr::col(events::Column::SucceededBy).is_not_null())
        .to_owned();
    let keep_success = Query::insert()
        .into_table(event_attempts::Entity)
        .columns([
            event_attempts::Column::EventKey,
            event_attempts::Column::Attempt,
            event_attempts::Column::Worker,
            event_attempts::Column::StartedAt,
            event_attempts::Column::FinishedAt,
            event_attempts::Column::Outcome,
            event_attempts::Column::Error,
        ])
        .select_from(success)
        .map_err(|err| QueryError::Unknown(err.into()))?
        // A concurrent replay of the same event moved it already; this one
        // then finds the event unfinished and requeues nothing.
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    let txn = store.writer.begin().await.map_err(query_error)?;
    txn.execute(&keep_success).await.map_err(query_error)?;
    let requeued = txn.execute(&requeue).await.map_err(query_error)?;
    txn.commit().await.map_err(query_error)?;
    Ok(requeued.rows_affected())
}

#[async_trait]
impl EventReplay for SeaOrmStore {
    async fn replay_one(
        &self,
        key: EventKey,
        now: DateTime<Utc>,
    ) -> Result<ReplayOutcome, QueryError> {
        let one = Condition::all().add(Expr::col(events::Column::Id).eq(key.as_uuid()));
        if replay(self, one, now).await? == 1 {
            return Ok(ReplayOutcome::Requeued);
        }
        let status: Option<String> = events::Entity::find_by_id(key.as_uuid())
            .select_only()
            .column(events::Column::Status)
            .into_tuple()
            .one(&self.writer)
            .await
            .map_err(query_error)?;
        match status {
            None => Ok(ReplayOutcome::NotFound),
            Some(status) => EventStatus::parse(&status)
                .map(ReplayOutcome::NotReplayable)
                .map_err(|err| QueryError::Unknown(err.into())),
        }
    }

    async fn replay_matching(
        &self,
        filter: &ReplayFilter,
        now: DateTime<Utc>,
    ) -> Result<u64, QueryError> {
        let mut which = Condition::all();
        if let Some(status) = filter.status {
            which = which.add(Expr::col(events::Column::Status).eq(status.as_str()));
        }
        if let Some(source) = &filter.source {
            which = which.add(Expr::col(events::Column::Source).eq(source.as_str()));
        }
        if let Some(only) = &filter.only_sources {
            which =
                which.add(Expr::col(events::Column::Source).is_in(only.iter().map(String::as_str)));
        }
        if let Some(event_type) = &filter.event_type {
            which = which.add(Expr::col(events::Column::EventType).eq(event_type.as_str()));
        }
        if let Some(after) = filter.received_after {
            which = which.add(Expr::col(events::Column::ReceivedAt).gte(to_micros(after)));
        }
        if let Some(before) = filter.received_before {
            which = which.add(Expr::col(events::Column::ReceivedAt).lt(to_micros(before)));
        }
        replay(self, which, now).await
    }
}
