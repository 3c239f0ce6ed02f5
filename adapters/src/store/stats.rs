//! Counts for `GET /stats` and the metrics gauges: grouped queries over the
//! events table, never per request on the intake path.

use application::ports::{EventCounts, EventStats, MinuteCount, QueryError, QueueGauges};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::EventStatus;
use sea_orm::{
    ColumnTrait as _, EntityTrait, QueryFilter as _, QuerySelect, Select,
    sea_query::{Expr, Func, SimpleExpr},
};

use super::{
    SeaOrmStore,
    entity::events,
    error::{Failure, classify},
    time::{from_micros, to_micros},
};

const MICROS_PER_MINUTE: i64 = 60_000_000;

fn query_error(err: sea_orm::DbErr) -> QueryError {
    match classify(err) {
        Failure::Unavailable(err) => QueryError::Unavailable(err),
        Failure::Other(err) => QueryError::Unknown(err),
    }
}

fn restricted(select: Select<events::Entity>, only: Option<Vec<String>>) -> Select<events::Entity> {
    match only {
        Some(sources) => select.filter(events::Column::Source.is_in(sources)),
        None => select,
    }
}

#[async_trait]
impl EventStats for SeaOrmStore {
    async fn counts(&self, only_sources: Option<Vec<String>>) -> Result<EventCounts, QueryError> {
        let rows: Vec<(String, String, i64)> =
            restricted(events::Entity::find(), only_sources.clone())
                .select_only()
                .column(events::Column::Source)
                .column(events::Column::Status)
                .column_as(
                    SimpleExpr::from(Func::count(Expr::col(events::Column::Id))),
                    "events",
                )
                .group_by(events::Column::Source)
                .group_by(events::Column::Status)
                .into_tuple()
                .all(&self.reader)
                .await
                .map_err(query_error)?;
        // The partial index on unfinished events serves this one.
        let oldest: Option<Option<i64>> = restricted(events::Entity::find(), only_sources)
            .select_only()
            .column_as(
                SimpleExpr::from(Func::min(Expr::col(events::Column::ReceivedAt))),
                "oldest",
            )
            .filter(events::Column::Status.is_in([
                EventStatus::Pending.as_str(),
                EventStatus::Retrying.as_str(),
            ]))
            .into_tuple()
            .one(&self.reader)
            .await
            .map_err(query_error)?;
        let by_source_and_status = rows
            .into_iter()
            .map(|(source, status, count)| {
                let status =
                    EventStatus::parse(&status).map_err(|err| QueryError::Unknown(err.into()))?;
                Ok((source, status, u64::try_from(count).unwrap_or(0)))
            })
            .collect::<Result<_, QueryError>>()?;
        Ok(EventCounts {
            by_source_and_status,
            oldest_waiting_since: oldest.flatten().map(from_micros),
        })
    }

    async fn queue_gauges(&self) -> Result<QueueGauges, QueryError> {
        let rows: Vec<(String, String, i64, Option<i64>)> = events::Entity::find()
            .select_only()
            .column(events::Column::Source)
            .column(events::Column::Status)
            .column_as(
                SimpleExpr::from(Func::count(Expr::col(events::Column::Id))),
                "events",
            )
            .column_as(
                SimpleExpr::from(Func::min(Expr::col(events::Column::ReceivedAt))),
                "oldest",
            )
            .filter(events::Column::Status.is_in([
                EventStatus::Pending.as_str(),
                EventStatus::Retrying.as_str(),
                EventStatus::Dead.as_str(),
            ]))
            .group_by(events::Column::Source)
            .group_by(events::Column::Status)
            .into_tuple()
            .all(&self.reader)
            .await
            .map_err(query_error)?;
        let mut gauges = QueueGauges::default();
        for (source, status, count, oldest) in rows {
            let count = u64::try_from(count).unwrap_or(0);
            if status == EventStatus::Dead.as_str() {
                gauges.dead += count;
            } else {
                gauges.waiting += count;
                gauges.waiting_by_source.push((source, count));
                let oldest = oldest.map(from_micros);
                gauges.oldest_waiting_since = match (gauges.oldest_waiting_since, oldest) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        Ok(gauges)
    }

    async fn per_minute(
        &self,
        since: DateTime<Utc>,
        only_sources: Option<Vec<String>>,
    ) -> Result<Vec<MinuteCount>, QueryError> {
        // Integer division on both backends: the minute's number since the
        // epoch. Inlined, not bound: PostgreSQL only matches the GROUP BY
        // expression to the selected one when they are textually the same.
        let minute = Expr::cust(format!("received_at / {MICROS_PER_MINUTE}"));
        let rows: Vec<(i64, i64)> = restricted(events::Entity::find(), only_sources)
            .select_only()
            .column_as(minute.clone(), "minute")
            .column_as(
                SimpleExpr::from(Func::count(Expr::col(events::Column::Id))),
                "events",
            )
            .filter(events::Column::ReceivedAt.gte(to_micros(since)))
            .group_by(minute)
            .into_tuple()
            .all(&self.reader)
            .await
            .map_err(query_error)?;
        Ok(rows
            .into_iter()
            .map(|(minute, events)| MinuteCount {
                minute: from_micros(minute * MICROS_PER_MINUTE),
                events: u64::try_from(events).unwrap_or(0),
            })
            .collect())
    }
}
