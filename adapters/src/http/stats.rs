//! `GET /stats`: counts by status and source, the queue's depth and age, dead
//! events, and arrivals per minute over the last hour.

use std::collections::BTreeMap;

use axum::{Json, extract::State};
use serde::Serialize;

use super::{
    AppState,
    auth::{Authorized, StatsRead},
    error::{ApiError, ErrorBody},
    events::timestamp,
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct StatsView {
    by_status: BTreeMap<&'static str, u64>,
    by_source: BTreeMap<String, u64>,
    /// Pending and retrying events.
    queue_depth: u64,
    /// Seconds since the oldest pending or retrying event arrived; `null` when none waits.
    oldest_pending_age_seconds: Option<f64>,
    dead: u64,
    /// The last 60 minutes, oldest first.
    per_minute: Vec<MinuteView>,
    /// Unfinished events of sources that are no longer configured, per source:
    /// they are kept but not processed until the source is configured again.
    unconfigured_sources: BTreeMap<String, u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MinuteView {
    minute: String,
    events: u64,
}

/// Counts by status and source, queue depth and age, arrivals per minute.
#[utoipa::path(get, path = "/stats", tag = "dashboard",
    security(("bearer" = ["stats:read"])),
    responses((status = 200, body = StatsView), (status = 401, description = "Missing or invalid token", body = ErrorBody), (status = 403, description = "The token lacks the scope or the source", body = ErrorBody), (status = 503, description = "Database unavailable or overloaded; see Retry-After", body = ErrorBody)))]
pub async fn show(
    Authorized(caller, _): Authorized<StatsRead>,
    State(state): State<AppState>,
) -> Result<Json<StatsView>, ApiError> {
    tracing::debug!(caller = ?caller.subject, "reading stats");
    let report = state.stats.report(caller.sources.clone()).await?;
    Ok(Json(StatsView {
        by_status: report.by_status,
        by_source: report.by_source,
        queue_depth: report.queue_depth,
        oldest_pending_age_seconds: report.oldest_pending_age.map(|age| age.as_secs_f64()),
        dead: report.dead,
        unconfigured_sources: report.unconfigured_sources,
        per_minute: report
            .per_minute
            .into_iter()
            .map(|count| MinuteView {
                minute: timestamp(count.minute),
                events: count.events,
            })
            .collect(),
    }))
}
