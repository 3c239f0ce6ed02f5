//! Counts for `GET /stats` and the metrics gauges, from the maintained
//! counters (a few rows per source) and, for the age of the queue, the first
//! entry of each waiting source in the claims' index: never a scan of the
//! events table, nor of the backlog.

use application::ports::{EventCounts, EventStats, MinuteCount, QueryError, QueueGauges};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::EventStatus;
use sea_orm::{ConnectionTrait as _, DbBackend};

use super::{
    SeaOrmStore,
    counters::{MICROS_PER_MINUTE, compact, only, statement},
    error::{Failure, classify},
    time::{from_micros, to_micros},
};

/// The most overdue waiting event of one source (SQLite): the first entry of
/// its range of `events_due_by_source (source, next_attempt_at, id) WHERE
/// status IN ('pending', 'retrying')`, whose condition this repeats word for
/// word so that SQLite uses the partial index too. A new event is due when
/// it arrives, a retry when its backoff ends.
fn first_due(placeholder: usize) -> String {
    format!(
        "SELECT (SELECT MIN(next_attempt_at) FROM events \
         WHERE source = ${placeholder} AND status IN ('pending', 'retrying')) AS due"
    )
}

/// [`first_due`] for every source of an array, on PostgreSQL.
const OLDEST_DUE_POSTGRES: &str = "\
SELECT MIN(head.due) AS oldest FROM UNNEST($1::text[]) AS waiting(source)
CROSS JOIN LATERAL (SELECT MIN(next_attempt_at) AS due FROM events
    WHERE source = waiting.source AND status IN ('pending', 'retrying')) AS head";

fn query_error(err: sea_orm::DbErr) -> QueryError {
    match classify(err) {
        Failure::Unavailable(err) => QueryError::Unavailable(err),
        Failure::Other(err) => QueryError::Unknown(err),
    }
}

impl SeaOrmStore {
    async fn by_source_and_status(
        &self,
        sources: Option<&[String]>,
    ) -> Result<Vec<(String, EventStatus, u64)>, QueryError> {
        let (restriction, values) = only(sources, 1);
        let sql = format!(
            "SELECT source, status, CAST(SUM(events) AS BIGINT) AS events FROM event_counters \
             WHERE TRUE{restriction} GROUP BY source, status HAVING SUM(events) <> 0"
        );
        let rows = self
            .reader
            .query_all_raw(statement(self.backend(), &sql, values))
            .await
            .map_err(query_error)?;
        rows.iter()
            .map(|row| {
                let source: String = row.try_get("", "source").map_err(query_error)?;
                let status: String = row.try_get("", "status").map_err(query_error)?;
                let count: i64 = row.try_get("", "events").map_err(query_error)?;
                let status =
                    EventStatus::parse(&status).map_err(|err| QueryError::Unknown(err.into()))?;
                Ok((source, status, u64::try_from(count).unwrap_or(0)))
            })
            .collect()
    }

    /// When the most overdue event of `waiting` (the sources with events
    /// waiting, from the counters) became due: one index probe per source.
    async fn oldest_due(&self, waiting: &[&str]) -> Result<Option<DateTime<Utc>>, QueryError> {
        if waiting.is_empty() {
            return Ok(None);
        }
        let query = if self.backend() == DbBackend::Postgres {
            // One text whatever the number of sources: prepared (and
            // planned) once per connection.
            let sources: Vec<String> = waiting.iter().map(|s| (*s).to_owned()).collect();
            statement(
                DbBackend::Postgres,
                OLDEST_DUE_POSTGRES,
                vec![sources.into()],
            )
        } else {
            let heads: Vec<String> = (1..=waiting.len()).map(first_due).collect();
            let sql = format!(
                "SELECT MIN(due) AS oldest FROM ({}) AS heads",
                heads.join(" UNION ALL ")
            );
            let values = waiting.iter().map(|source| (*source).into()).collect();
            statement(DbBackend::Sqlite, &sql, values)
        };
        let row = self
            .reader
            .query_one_raw(query)
            .await
            .map_err(query_error)?;
        let oldest: Option<i64> = match row {
            Some(row) => row.try_get("", "oldest").map_err(query_error)?,
            None => None,
        };
        Ok(oldest.map(from_micros))
    }
}

/// The sources that have events waiting (pending or retrying).
fn waiting_sources(counts: &[(String, EventStatus, u64)]) -> Vec<&str> {
    let mut sources: Vec<&str> = counts
        .iter()
        .filter(|(_, status, count)| {
            *count > 0 && matches!(status, EventStatus::Pending | EventStatus::Retrying)
        })
        .map(|(source, _, _)| source.as_str())
        .collect();
    sources.sort_unstable();
    sources.dedup();
    sources
}

#[async_trait]
impl EventStats for SeaOrmStore {
    async fn counts(&self, only_sources: Option<Vec<String>>) -> Result<EventCounts, QueryError> {
        let by_source_and_status = self.by_source_and_status(only_sources.as_deref()).await?;
        let oldest_due_since = self
            .oldest_due(&waiting_sources(&by_source_and_status))
            .await?;
        Ok(EventCounts {
            by_source_and_status,
            oldest_due_since,
        })
    }

    async fn queue_gauges(&self) -> Result<QueueGauges, QueryError> {
        let mut gauges = QueueGauges::default();
        let counts = self.by_source_and_status(None).await?;
        gauges.oldest_due_since = self.oldest_due(&waiting_sources(&counts)).await?;
        for (source, status, count) in counts {
            match status {
                EventStatus::Dead => gauges.dead += count,
                EventStatus::Pending | EventStatus::Retrying => {
                    gauges.waiting += count;
                    match gauges
                        .waiting_by_source
                        .iter_mut()
                        .find(|(s, _)| *s == source)
                    {
                        Some((_, waiting)) => *waiting += count,
                        None => gauges.waiting_by_source.push((source, count)),
                    }
                }
                EventStatus::Processing | EventStatus::Processed => {}
            }
        }
        Ok(gauges)
    }

    async fn per_minute(
        &self,
        since: DateTime<Utc>,
        only_sources: Option<Vec<String>>,
    ) -> Result<Vec<MinuteCount>, QueryError> {
        let first = to_micros(since) / MICROS_PER_MINUTE;
        let (restriction, mut values) = only(only_sources.as_deref(), 2);
        values.insert(0, first.into());
        let sql = format!(
            "SELECT minute, CAST(SUM(events) AS BIGINT) AS events FROM event_arrivals \
             WHERE minute >= $1{restriction} GROUP BY minute"
        );
        let rows = self
            .reader
            .query_all_raw(statement(self.backend(), &sql, values))
            .await
            .map_err(query_error)?;
        rows.iter()
            .map(|row| {
                let minute: i64 = row.try_get("", "minute").map_err(query_error)?;
                let events: i64 = row.try_get("", "events").map_err(query_error)?;
                Ok(MinuteCount {
                    minute: from_micros(minute * MICROS_PER_MINUTE),
                    events: u64::try_from(events).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn compact(&self, now: DateTime<Utc>) -> Result<(), QueryError> {
        compact(&self.writer, now).await.map_err(query_error)
    }
}
