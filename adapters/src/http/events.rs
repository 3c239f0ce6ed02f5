//! `GET /events` and `GET /events/{id}`: the dashboard's view of stored events.

use application::MAX_PAGE_SIZE;
use application::ports::{Cursor, EventDetail, EventFilter};
use axum::{
    Json,
    extract::{Path, State},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, Utc};
use domain::{Event, EventKey, EventStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    AppState,
    auth::{Authorized, EventsRead, source_scope},
    error::ApiError,
    error::ErrorBody,
    extract::ApiQuery,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size; default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page; empty means the first page.
    #[param(schema_with = cursor_schema)]
    cursor: Option<String>,
    #[param(schema_with = status_schema)]
    status: Option<String>,
    source: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    event_id: Option<String>,
    /// RFC 3339; inclusive.
    #[param(value_type = Option<String>, format = DateTime)]
    received_after: Option<DateTime<Utc>>,
    /// RFC 3339; exclusive.
    #[param(value_type = Option<String>, format = DateTime)]
    received_before: Option<DateTime<Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventList {
    items: Vec<EventSummary>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    next_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventSummary {
    id: String,
    source: String,
    event_id: String,
    #[serde(rename = "type")]
    event_type: Option<String>,
    status: &'static str,
    attempts: u32,
    received_at: String,
    processed_at: Option<String>,
    last_error: Option<String>,
    /// The label of the source's secret that verified it.
    secret_label: Option<String>,
    /// Its id was later received with a different body.
    conflict: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventView {
    #[serde(flatten)]
    summary: EventSummary,
    content_type: Option<String>,
    payload_sha256: String,
    /// The `x-request-id` of the request that delivered it.
    request_id: Option<String>,
    /// The body as JSON when it is JSON...
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    payload: Option<serde_json::Value>,
    /// ...otherwise its bytes in standard base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_base64: Option<String>,
    /// Every attempt, oldest first.
    history: Vec<AttemptView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    attempt: u32,
    worker: String,
    started_at: String,
    finished_at: String,
    outcome: String,
    error: Option<String>,
}

/// Stored events, newest first, with keyset pagination.
#[utoipa::path(get, path = "/events", tag = "dashboard", params(ListParams),
    security(("bearer" = ["events:read"])),
    responses((status = 200, body = EventList),
        (status = 400, description = "Bad query or cursor", body = ErrorBody), (status = 401, description = "Missing or invalid token", body = ErrorBody), (status = 403, description = "The token lacks the scope or the source", body = ErrorBody), (status = 503, description = "Database unavailable or overloaded; see Retry-After", body = ErrorBody)))]
pub async fn list(
    Authorized(caller, _): Authorized<EventsRead>,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<EventList>, ApiError> {
    let status = params
        .status
        .as_deref()
        .map(EventStatus::parse)
        .transpose()
        .map_err(|err| ApiError::InvalidQuery(err.to_string()))?;
    let limit = page_size(params.limit)?;
    let after = cursor(params.cursor.as_deref())
        .map(decode_cursor)
        .transpose()?;
    let sources = source_scope(&caller, params.source)?;
    let filter = EventFilter {
        status,
        source: sources.one,
        only_sources: sources.only,
        event_type: params.event_type,
        event_id: params.event_id,
        received_after: params.received_after,
        received_before: params.received_before,
    };
    tracing::debug!(caller = ?caller.subject, ?filter, "listing events");
    let page = state.events.page(&filter, after, limit).await?;
    Ok(Json(EventList {
        items: page.events.into_iter().map(summary).collect(),
        next_cursor: page.next.map(encode_cursor),
    }))
}

/// One event with its payload and attempt history.
#[utoipa::path(get, path = "/events/{id}", tag = "dashboard",
    params(("id" = String, Path, description = "The event's key")),
    security(("bearer" = ["events:read"])),
    responses((status = 200, body = EventView),
        (status = 404, description = "No such event (or not visible to the token)", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody), (status = 403, description = "The token lacks the scope or the source", body = ErrorBody), (status = 503, description = "Database unavailable or overloaded; see Retry-After", body = ErrorBody)))]
pub async fn show(
    Authorized(caller, _): Authorized<EventsRead>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EventView>, ApiError> {
    tracing::debug!(caller = ?caller.subject, ?id, "showing an event");
    let key = id
        .parse::<EventKey>()
        .map_err(|_| ApiError::NotFound("no event has this id"))?;
    let detail = state
        .events
        .one(key)
        .await?
        // A token restricted to other sources cannot tell it exists.
        .filter(|detail| caller.may_see(&detail.event.source))
        .ok_or(ApiError::NotFound("no event has this id"))?;
    Ok(Json(view(detail)))
}

fn view(detail: EventDetail) -> EventView {
    let payload = serde_json::from_slice::<serde_json::Value>(&detail.body).ok();
    let payload_base64 = payload
        .is_none()
        .then(|| base64::engine::general_purpose::STANDARD.encode(&detail.body));
    EventView {
        summary: summary(detail.event),
        content_type: detail.content_type,
        payload_sha256: detail.body_digest.to_hex(),
        request_id: detail.request_id,
        payload,
        payload_base64,
        history: detail
            .history
            .into_iter()
            .map(|attempt| AttemptView {
                attempt: attempt.attempt,
                worker: attempt.worker,
                started_at: timestamp(attempt.started_at),
                finished_at: timestamp(attempt.finished_at),
                outcome: attempt.outcome,
                error: attempt.error,
            })
            .collect(),
    }
}

fn summary(event: Event) -> EventSummary {
    EventSummary {
        id: event.key.to_string(),
        source: event.source,
        event_id: event.event_id,
        event_type: event.event_type,
        status: event.status.as_str(),
        attempts: event.attempts,
        received_at: timestamp(event.received_at),
        processed_at: event.processed_at.map(timestamp),
        last_error: event.last_error,
        secret_label: event.secret_label,
        conflict: event.conflict,
    }
}

pub(super) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Cursors are opaque to clients: the key of the last event seen, in base64url.
fn encode_cursor(cursor: Cursor) -> String {
    encode_uuid_cursor(cursor.0.as_uuid())
}

fn decode_cursor(raw: &str) -> Result<Cursor, ApiError> {
    decode_uuid_cursor(raw).map(|uuid| Cursor(EventKey::from_uuid(uuid)))
}

pub(super) fn encode_uuid_cursor(uuid: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(uuid.as_bytes())
}

pub(super) fn decode_uuid_cursor(raw: &str) -> Result<Uuid, ApiError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| ApiError::InvalidCursor)?;
    Uuid::from_slice(&bytes).map_err(|_| ApiError::InvalidCursor)
}

/// A given cursor; `cursor=` (empty) asks for the first page, like none.
pub(super) fn cursor(raw: Option<&str>) -> Option<&str> {
    raw.filter(|raw| !raw.is_empty())
}

/// `limit` as documented: 1 to [`MAX_PAGE_SIZE`], else 400.
pub(super) fn page_size(limit: Option<u32>) -> Result<Option<u32>, ApiError> {
    match limit {
        Some(n) if !(1..=MAX_PAGE_SIZE).contains(&n) => Err(ApiError::InvalidQuery(format!(
            "limit must be 1 to {MAX_PAGE_SIZE}"
        ))),
        other => Ok(other),
    }
}

/// A string schema listing `values`, for filters that take known names.
pub(super) fn enum_schema(values: &[&'static str]) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// What [`encode_uuid_cursor`] produces (16 bytes in unpadded base64url,
/// whose last character carries 2 bits), or nothing.
pub(super) fn cursor_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some("^([A-Za-z0-9_-]{21}[AQgw])?$"))
        .build()
}

fn status_schema() -> utoipa::openapi::Object {
    enum_schema(&EventStatus::ALL.map(EventStatus::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cursor_matches_the_documented_pattern() {
        let pattern = "^([A-Za-z0-9_-]{21}[AQgw])?$";
        assert_eq!(
            cursor_schema().pattern.as_deref(),
            Some(pattern),
            "keep the test's copy in step"
        );
        for _ in 0..64 {
            let cursor = encode_cursor(Cursor(EventKey::generate()));
            let (body, last) = cursor.split_at(21);
            assert!(
                body.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert!("AQgw".contains(last), "{cursor}");
        }
        // And every string of that shape decodes.
        assert!(decode_uuid_cursor(&format!("{}w", "_".repeat(21))).is_ok());
        assert!(decode_uuid_cursor(&format!("{}A", "0".repeat(21))).is_ok());
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let key = EventKey::generate();
        let decoded = decode_cursor(&encode_cursor(Cursor(key))).unwrap();
        assert_eq!(decoded, Cursor(key));
        assert!(decode_cursor("not a cursor").is_err());
        assert!(decode_cursor("AAAA").is_err());
    }
}
