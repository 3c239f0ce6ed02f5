//! The read side: listing and showing events for the dashboard API.

use application::ports::{AttemptRecord, Cursor, EventDetail, EventFilter, EventQuery, QueryError};
use async_trait::async_trait;
use bytes::Bytes;
use domain::{BodyDigest, Event, EventKey, EventStatus};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, prelude::Uuid};

use super::{
    SeaOrmStore,
    entity::{event_attempts, events},
    error::{Failure, classify},
    time::{from_micros, to_micros},
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

const SUMMARY_COLUMNS: [events::Column; 11] = [
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
        let mut select = events::Entity::find()
            .select_only()
            .columns(SUMMARY_COLUMNS)
            // Keys are UUIDv7: newest first is key order, and the key is a
            // stable keyset cursor that new arrivals never shift.
            .order_by_desc(events::Column::Id)
            .limit(u64::from(limit));
        if let Some(status) = filter.status {
            select = select.filter(events::Column::Status.eq(status.as_str()));
        }
        if let Some(source) = &filter.source {
            select = select.filter(events::Column::Source.eq(source.as_str()));
        }
        if let Some(only) = &filter.only_sources {
            select = select.filter(events::Column::Source.is_in(only.iter().map(String::as_str)));
        }
        if let Some(event_type) = &filter.event_type {
            select = select.filter(events::Column::EventType.eq(event_type.as_str()));
        }
        if let Some(event_id) = &filter.event_id {
            select = select.filter(events::Column::EventId.eq(event_id.as_str()));
        }
        if let Some(at) = filter.received_after {
            select = select.filter(events::Column::ReceivedAt.gte(to_micros(at)));
        }
        if let Some(at) = filter.received_before {
            select = select.filter(events::Column::ReceivedAt.lt(to_micros(at)));
        }
        if let Some(Cursor(key)) = after {
            select = select.filter(events::Column::Id.lt(key.as_uuid()));
        }
        let rows: Vec<SummaryRow> = select
            .into_tuple()
            .all(&self.reader)
            .await
            .map_err(query_error)?;
        rows.into_iter().map(summary).collect()
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
        let history = event_attempts::Entity::find()
            .filter(event_attempts::Column::EventKey.eq(key.as_uuid()))
            .order_by_asc(event_attempts::Column::StartedAt)
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
