//! Events per (source, secret label), from the maintained counters (see
//! `counters`), so the numbers hold across restarts and replicas and cost a
//! few rows, not a scan of the events table.

use application::ports::{QueryError, SecretUsage, SecretUse};
use async_trait::async_trait;
use sea_orm::ConnectionTrait as _;

use super::{
    SeaOrmStore,
    counters::statement,
    error::{Failure, classify},
    time::from_micros,
};

/// `SUM` of a `BIGINT` is a `NUMERIC` on PostgreSQL: cast back.
const USAGE: &str = "\
SELECT source, secret_label, CAST(SUM(events) AS BIGINT) AS events,
       CAST(SUM(CASE WHEN conflict THEN events ELSE 0 END) AS BIGINT) AS conflicts,
       MAX(last_received_at) AS last
FROM event_counters GROUP BY source, secret_label HAVING SUM(events) > 0";

fn query_error(err: sea_orm::DbErr) -> QueryError {
    match classify(err) {
        Failure::Unavailable(err) => QueryError::Unavailable(err),
        Failure::Other(err) => QueryError::Unknown(err),
    }
}

#[async_trait]
impl SecretUsage for SeaOrmStore {
    async fn usage(&self) -> Result<Vec<SecretUse>, QueryError> {
        let rows = self
            .reader
            .query_all_raw(statement(self.backend(), USAGE, Vec::new()))
            .await
            .map_err(query_error)?;
        rows.iter()
            .map(|row| {
                let label: String = row.try_get("", "secret_label").map_err(query_error)?;
                let events: i64 = row.try_get("", "events").map_err(query_error)?;
                let conflicts: i64 = row.try_get("", "conflicts").map_err(query_error)?;
                let last: Option<i64> = row.try_get("", "last").map_err(query_error)?;
                Ok(SecretUse {
                    source: row.try_get("", "source").map_err(query_error)?,
                    // Stored as '' in the counters' key.
                    label: (!label.is_empty()).then_some(label),
                    events: u64::try_from(events).unwrap_or(0),
                    conflicts: u64::try_from(conflicts).unwrap_or(0),
                    last_received_at: from_micros(last.unwrap_or(0)),
                })
            })
            .collect()
    }
}
