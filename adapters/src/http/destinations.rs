//! `GET /destinations`: each source's delivery limits and circuit breaker as
//! this process sees them (each replica keeps its own), and the same as
//! metrics gauges at every scrape.

use application::{DestinationReport, Destinations};
use axum::{Json, extract::State};
use domain::BreakerState;
use metrics::{counter, gauge};
use serde::Serialize;

use super::{
    AppState,
    auth::{Authorized, StatsRead},
    error::{ApiError, ErrorBody},
    events::timestamp,
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct DestinationList {
    items: Vec<DestinationView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DestinationView {
    source: String,
    /// `closed` (delivering), `open` (paused until `paused_until`) or
    /// `probing` (one attempt in flight decides).
    state: &'static str,
    paused_until: Option<String>,
    consecutive_failures: u32,
    /// Attempts running now.
    in_flight: usize,
    /// Claimed by this process and not finished (running or waiting for a slot).
    claimed: usize,
    max_in_flight: usize,
    rate_per_second: Option<f64>,
    /// Consecutive failures that pause the destination (0: never).
    breaker_failures: u32,
    times_opened: u64,
    /// Attempts given back uncharged while paused.
    deferred: u64,
}

/// Delivery limits and circuit breakers, per source, in this process.
#[utoipa::path(get, path = "/destinations", tag = "dashboard",
    security(("bearer" = ["stats:read"])),
    responses((status = 200, body = DestinationList), (status = 401, description = "Missing or invalid token", body = ErrorBody), (status = 403, description = "The token lacks the scope", body = ErrorBody)))]
pub async fn list(
    Authorized(caller, _): Authorized<StatsRead>,
    State(state): State<AppState>,
) -> Result<Json<DestinationList>, ApiError> {
    Ok(Json(DestinationList {
        items: state
            .destinations
            .report()
            .into_iter()
            .filter(|d| caller.may_see(&d.source))
            .map(view)
            .collect(),
    }))
}

fn view(report: DestinationReport) -> DestinationView {
    DestinationView {
        state: report.state.name(),
        paused_until: match report.state {
            BreakerState::Open { until } => Some(timestamp(until)),
            BreakerState::Closed | BreakerState::Probing => None,
        },
        source: report.source,
        consecutive_failures: report.consecutive_failures,
        in_flight: report.in_flight,
        claimed: report.claimed,
        max_in_flight: report.limits.max_in_flight,
        rate_per_second: report.limits.rate_per_second,
        breaker_failures: report.limits.breaker.failure_threshold,
        times_opened: report.times_opened,
        deferred: report.deferred,
    }
}

/// Sets the destination gauges (`hookd_destination_state`: 0 closed,
/// 1 open, 2 probing) and counters from the current state.
pub(super) fn publish_metrics(destinations: &Destinations) {
    for d in destinations.report() {
        let state = match d.state {
            BreakerState::Closed => 0.0,
            BreakerState::Open { .. } => 1.0,
            BreakerState::Probing => 2.0,
        };
        let source = d.source;
        gauge!("hookd_destination_state", "source" => source.clone()).set(state);
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        {
            gauge!("hookd_destination_in_flight", "source" => source.clone())
                .set(d.in_flight as f64);
            gauge!("hookd_destination_claimed", "source" => source.clone()).set(d.claimed as f64);
        }
        counter!("hookd_destination_opened_total", "source" => source.clone())
            .absolute(d.times_opened);
        counter!("hookd_destination_deferred_total", "source" => source).absolute(d.deferred);
    }
}
