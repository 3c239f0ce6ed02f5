//! The read side: listing and showing events for the dashboard API.

use application::ports::{AttemptRecord, Cursor, EventDetail, EventFilter, EventQuery, QueryError};
use async_trait::async_trait;
use bytes::Bytes;
use domain::{BodyDigest, Event, EventKey, EventStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, prelude::Uuid};

use super::{
    SeaOrmStore,
    entity::{attempt_history, events},
    error::{Failure, classify},
    listing,
    time::from_micros,
};

fn query_error(err: sea_orm::DbErr) -> QueryError {
    match classify(err) {
        Failure::Unavailable(err) => QueryError::Unavailable(err),
        Failure::Other(err) => QueryError::Unknown(err),
    }
}

/// The listed columns: everything but the payload.
type SummaryRow = (
    Uuid,
    String,
    String,
    Option<String>,
    String,
    i32,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    bool,
);

pub(super) const SUMMARY_COLUMNS: [events::Column; 11] = [
    events::Column::Id,
    events::Column::Source,
    events::Column::EventId,
    events::Column::EventType,
    events::Column::Status,
    events::Column::Attempts,
    events::Column::ReceivedAt,
    events::Column::ProcessedAt,
    events::Column::LastError,
    events::Column::SecretLabel,
    events::Column::Conflict,
];

#[async_trait]
impl EventQuery for SeaOrmStore {
    async fn list(
        &self,
        filter: &EventFilter,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<Event>, QueryError> {
        let select = listing::statement(filter, after, limit);
        let rows = self.reader.query_all(&select).await.map_err(query_error)?;
        rows.iter()
            .map(|row| {
                row.try_get_many_by_index::<SummaryRow>()
                    .map_err(query_error)
                    .and_then(summary)
            })
            .collect()
    }

    async fn get(&self, key: EventKey) -> Result<Option<EventDetail>, QueryError> {
        let Some(model) = events::Entity::find_by_id(key.as_uuid())
            .one(&self.reader)
            .await
            .map_err(query_error)?
        else {
            return Ok(None);
        };
        let digest: [u8; 32] =
            model.payload_sha256.as_slice().try_into().map_err(|_| {
                QueryError::Unknown(anyhow::anyhow!("stored digest is not 32 bytes"))
            })?;
        let event = summary((
            model.id,
            model.source,
            model.event_id,
            model.event_type,
            model.status,
            model.attempts,
            model.received_at,
            model.processed_at,
            model.last_error,
            model.secret_label,
            model.conflict,
        ))?;
        let history = attempt_history::Entity::find()
            .filter(attempt_history::Column::EventKey.eq(key.as_uuid()))
            .order_by_asc(attempt_history::Column::StartedAt)
            .all(&self.reader)
            .await
            .map_err(query_error)?
            .into_iter()
            .map(|row| AttemptRecord {
                attempt: u32::try_from(row.attempt).unwrap_or(0),
                worker: row.worker,
                started_at: from_micros(row.started_at),
                finished_at: from_micros(row.finished_at),
                outcome: row.outcome,
                error: row.error,
            })
            .collect();
        Ok(Some(EventDetail {
            event,
            body: Bytes::from(model.payload),
            body_digest: BodyDigest::from_bytes(digest),
            content_type: model.content_type,
            request_id: model.request_id,
            history,
        }))
    }
}

fn summary(row: SummaryRow) -> Result<Event, QueryError> {
    let (
        id,
        source,
        event_id,
        event_type,
        status,
        attempts,
        received_at,
        processed_at,
        last_error,
        secret_label,
        conflict,
    ) = row;
    Ok(Event {
        key: EventKey::from_uuid(id),
        source,
        event_id,
        event_type,
        status: EventStatus::parse(&status).map_err(|err| QueryError::Unknown(err.into()))?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        received_at: from_micros(received_at),
        processed_at: processed_at.map(from_micros),
        last_error,
        secret_label,
        conflict,
    })
}
