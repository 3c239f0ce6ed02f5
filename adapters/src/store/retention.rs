//! Retention of finished events: bounded deletes of old processed and dead
//! events and their attempt history, one short transaction per batch.
//!
//! Processed events are found through the primary key: keys are UUIDv7 and
//! an event finishes after it arrives, so every processed event that finished
//! before the cutoff has a key below the cutoff's smallest key, and the scan
//! is an index range over the old end of the table (no extra index to keep up
//! on every settlement). Dead events are found through `events_dead`.

use application::ports::{Deleted, EventRetention, Finished, QueryError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::EventKey;
use sea_orm::{
    ConnectionTrait as _, TransactionTrait as _,
    sea_query::{Expr, ExprTrait as _, Order, Query},
};
use uuid::Uuid;

use super::{
    SeaOrmStore,
    entity::{event_attempts, events},
    error::{Failure, classify},
    time::to_micros,
};

fn query_error(err: sea_orm::DbErr) -> QueryError {
    match classify(err) {
        Failure::Unavailable(err) => QueryError::Unavailable(err),
        Failure::Other(err) => QueryError::Unknown(err),
    }
}

/// The smallest UUIDv7 of the millisecond `at`: every key generated before
/// that millisecond sorts below it.
pub(crate) fn smallest_key_at(at: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut bytes = [0_u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70; // version 7
    bytes[8] = 0x80; // RFC 4122 variant
    Uuid::from_bytes(bytes)
}

#[async_trait]
impl EventRetention for SeaOrmStore {
    async fn delete_finished(
        &self,
        state: Finished,
        before: DateTime<Utc>,
        after: Option<EventKey>,
        limit: u32,
    ) -> Result<Deleted, QueryError> {
        let cutoff = to_micros(before);
        // Literal status terms: SQLite only uses a partial index whose
        // condition appears as such in the query.
        let (status, finished) = match state {
            Finished::Processed => ("status = 'processed'", events::Column::ProcessedAt),
            Finished::Dead => ("status = 'dead'", events::Column::ClaimedAt),
        };
        let mut oldest = Query::select();
        oldest
            .column(events::Column::Id)
            .from(events::Entity)
            .and_where(Expr::cust(status))
            .and_where(Expr::col(finished).lt(cutoff))
            .limit(u64::from(limit));
        match state {
            Finished::Processed => {
                oldest
                    .and_where(Expr::col(events::Column::Id).lt(smallest_key_at(before)))
                    .order_by(events::Column::Id, Order::Asc);
                if let Some(after) = after {
                    oldest.and_where(Expr::col(events::Column::Id).gt(after.as_uuid()));
                }
            }
            Finished::Dead => {
                oldest.order_by(events::Column::ClaimedAt, Order::Asc);
            }
        }
        // The outer conditions are checked again on the row itself: an event
        // replayed meanwhile is not finished any more and stays.
        let delete = Query::delete()
            .from_table(events::Entity)
            .and_where(Expr::col(events::Column::Id).in_subquery(oldest))
            .and_where(Expr::cust(status))
            .and_where(Expr::col(finished).lt(cutoff))
            .returning_col(events::Column::Id)
            .to_owned();
        let txn = self.writer.begin().await.map_err(query_error)?;
        let rows = txn.query_all(&delete).await.map_err(query_error)?;
        let keys = rows
            .iter()
            .map(|row| row.try_get::<Uuid>("", "id"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(query_error)?;
        if !keys.is_empty() {
            // The foreign key cascades too; this keeps the history consistent
            // even on a SQLite connection without `foreign_keys`.
            let history = Query::delete()
                .from_table(event_attempts::Entity)
                .and_where(Expr::col(event_attempts::Column::EventKey).is_in(keys.iter().copied()))
                .to_owned();
            txn.execute(&history).await.map_err(query_error)?;
        }
        txn.commit().await.map_err(query_error)?;
        Ok(Deleted {
            events: keys.len() as u64,
            last: keys.iter().max().copied().map(EventKey::from_uuid),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_key_of_a_millisecond_sorts_between_its_neighbours() {
        let at = DateTime::from_timestamp_millis(1_800_000_000_123).unwrap();
        let floor = smallest_key_at(at);
        assert_eq!(floor.get_version_num(), 7);
        let earlier = Uuid::new_v7(uuid::Timestamp::from_unix_time(
            1_800_000_000,
            122_999_999,
            0,
            0,
        ));
        let same = Uuid::new_v7(uuid::Timestamp::from_unix_time(
            1_800_000_000,
            123_000_000,
            0,
            0,
        ));
        assert!(earlier < floor);
        assert!(floor <= same);
    }
}
