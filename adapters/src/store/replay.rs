//! Re-queueing finished events (`processed` or `dead`) for a new cycle.

use application::ports::{EventReplay, QueryError, ReplayFilter, ReplayOutcome};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{EventKey, EventStatus};
use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, QuerySelect,
    sea_query::{Expr, ExprTrait, Query, UpdateStatement},
};
use uuid::Uuid;

use super::{
    SeaOrmStore,
    entity::events,
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
        .value(events::Column::Seq, seq)
        .and_where(Expr::col(events::Column::Status).is_in(FINISHED.map(EventStatus::as_str)))
        .to_owned())
}

#[async_trait]
impl EventReplay for SeaOrmStore {
    async fn replay_one(
        &self,
        key: EventKey,
        now: DateTime<Utc>,
    ) -> Result<ReplayOutcome, QueryError> {
        let mut update = requeue(self, now).await?;
        update.and_where(Expr::col(events::Column::Id).eq(key.as_uuid()));
        let result = self.writer.execute(&update).await.map_err(query_error)?;
        if result.rows_affected() == 1 {
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
        let mut update = requeue(self, now).await?;
        if let Some(status) = filter.status {
            update.and_where(Expr::col(events::Column::Status).eq(status.as_str()));
        }
        if let Some(source) = &filter.source {
            update.and_where(Expr::col(events::Column::Source).eq(source.as_str()));
        }
        if let Some(only) = &filter.only_sources {
            update.and_where(
                Expr::col(events::Column::Source).is_in(only.iter().map(String::as_str)),
            );
        }
        if let Some(event_type) = &filter.event_type {
            update.and_where(Expr::col(events::Column::EventType).eq(event_type.as_str()));
        }
        if let Some(after) = filter.received_after {
            update.and_where(Expr::col(events::Column::ReceivedAt).gte(to_micros(after)));
        }
        if let Some(before) = filter.received_before {
            update.and_where(Expr::col(events::Column::ReceivedAt).lt(to_micros(before)));
        }
        let result = self.writer.execute(&update).await.map_err(query_error)?;
        Ok(result.rows_affected())
    }
}
