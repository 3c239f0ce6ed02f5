//! `GET /sources`: each configured source, its scheme, its secrets' labels
//! (never their values) and how many stored events each label verified.

use application::{SecretReport, SourceReport};
use axum::{Json, extract::State};
use serde::Serialize;

use super::{
    AppState,
    auth::{Authorized, StatsRead},
    error::{ApiError, ErrorBody},
    events::timestamp,
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct SourceList {
    items: Vec<SourceView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SourceView {
    name: String,
    scheme: &'static str,
    conflicts: u64,
    secrets: Vec<SecretView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SecretView {
    label: Option<String>,
    configured: bool,
    not_after: Option<String>,
    expired: bool,
    events: u64,
    last_received_at: Option<String>,
}

/// Configured sources, their secrets' labels and usage.
#[utoipa::path(get, path = "/sources", tag = "dashboard",
    security(("bearer" = ["stats:read"])),
    responses((status = 200, body = SourceList), (status = 401, description = "Missing or invalid token", body = ErrorBody), (status = 403, description = "The token lacks the scope or the source", body = ErrorBody), (status = 503, description = "Database unavailable or overloaded; see Retry-After", body = ErrorBody)))]
pub async fn list(
    Authorized(caller, _): Authorized<StatsRead>,
    State(state): State<AppState>,
) -> Result<Json<SourceList>, ApiError> {
    tracing::debug!(caller = ?caller.subject, "listing sources");
    let report = state.sources.report().await?;
    Ok(Json(SourceList {
        items: report
            .into_iter()
            .filter(|source| caller.may_see(&source.name))
            .map(source_view)
            .collect(),
    }))
}

fn source_view(source: SourceReport) -> SourceView {
    SourceView {
        name: source.name,
        scheme: source.scheme,
        conflicts: source.conflicts,
        secrets: source.secrets.into_iter().map(secret_view).collect(),
    }
}

fn secret_view(secret: SecretReport) -> SecretView {
    SecretView {
        label: secret.label,
        configured: secret.configured,
        not_after: secret.not_after.map(timestamp),
        expired: secret.expired,
        events: secret.events,
        last_received_at: secret.last_received_at.map(timestamp),
    }
}
