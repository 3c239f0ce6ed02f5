//! `POST /events/{id}/replay` and `POST /events/replay`: re-queue finished events.

use application::ports::{ReplayFilter, ReplayOutcome};
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use domain::{EventKey, EventStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    AppState,
    auth::{Authorized, EventsReplay, source_scope},
    error::ApiError,
    error::ErrorBody,
    extract::ApiJson,
};

/// Re-queues one processed or dead event.
#[utoipa::path(post, path = "/events/{id}/replay", tag = "dashboard",
    params(("id" = String, Path, description = "The event's key")),
    security(("bearer" = ["events:replay"])),
    responses((status = 202, description = "Re-queued", body = Object),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 409, description = "The event is not finished", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody), (status = 403, description = "The token lacks the scope or the source", body = ErrorBody), (status = 503, description = "Database unavailable or overloaded; see Retry-After", body = ErrorBody)))]
pub async fn one(
    Authorized(caller, _): Authorized<EventsReplay>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let key = id
        .parse::<EventKey>()
        .map_err(|_| ApiError::NotFound("no event has this id"))?;
    // Only restricted tokens pay for the extra read.
    if caller.sources.is_some() {
        let visible = state
            .events
            .one(key)
            .await?
            .is_some_and(|detail| caller.may_see(&detail.event.source));
        if !visible {
            return Err(ApiError::NotFound("no event has this id"));
        }
    }
    tracing::info!(caller = ?caller.subject, %key, "replay requested");
    match state.replay.one(key).await? {
        ReplayOutcome::Requeued => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "status": "requeued", "id": key.to_string() })),
        )),
        ReplayOutcome::NotFound => Err(ApiError::NotFound("no event has this id")),
        ReplayOutcome::NotReplayable(status) => Err(ApiError::NotReplayable(status)),
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterBody {
    #[schema(schema_with = replayable_status_schema)]
    status: Option<String>,
    source: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    received_after: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    received_before: Option<DateTime<Utc>>,
}

/// `processed`, `dead` or null (no status filter).
fn replayable_status_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some([
            Value::from(EventStatus::Processed.as_str()),
            Value::from(EventStatus::Dead.as_str()),
            Value::Null,
        ]))
        .build()
}

/// Re-queues every processed or dead event matching the filter.
#[utoipa::path(post, path = "/events/replay", tag = "dashboard", request_body = FilterBody,
    security(("bearer" = ["events:replay"])),
    responses((status = 200, description = "How many were re-queued", body = Object),
        (status = 400, description = "Bad JSON or filter", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Not `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "Unknown field or wrong type", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody), (status = 403, description = "The token lacks the scope or the source", body = ErrorBody), (status = 503, description = "Database unavailable or overloaded; see Retry-After", body = ErrorBody)))]
pub async fn matching(
    Authorized(caller, _): Authorized<EventsReplay>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<FilterBody>,
) -> Result<Json<Value>, ApiError> {
    let status = body
        .status
        .as_deref()
        .map(EventStatus::parse)
        .transpose()
        .map_err(|err| ApiError::InvalidFilter(err.to_string()))?;
    let sources = source_scope(&caller, body.source)?;
    let filter = ReplayFilter {
        status,
        source: sources.one,
        only_sources: sources.only,
        event_type: body.event_type,
        received_after: body.received_after,
        received_before: body.received_before,
    };
    tracing::info!(caller = ?caller.subject, ?filter, "bulk replay requested");
    let count = state.replay.matching(&filter).await?;
    Ok(Json(json!({ "requeued": count })))
}
