//! `GET /rejections`: the quarantine, newest first, with keyset pagination
//! like `GET /events`.

use application::ports::RejectionFilter;
use axum::{Json, extract::State};
use domain::{Rejection, RejectionReason};
use serde::{Deserialize, Serialize};

use super::{
    AppState,
    auth::{Authorized, RejectionsRead, source_scope},
    error::{ApiError, ErrorBody},
    events::{
        cursor, cursor_schema, decode_uuid_cursor, encode_uuid_cursor, enum_schema, page_size,
        timestamp,
    },
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
    source: Option<String>,
    #[param(schema_with = reason_schema)]
    reason: Option<String>,
}

fn reason_schema() -> utoipa::openapi::Object {
    enum_schema(&RejectionReason::ALL.map(RejectionReason::as_str))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RejectionList {
    items: Vec<RejectionView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    next_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RejectionView {
    id: String,
    source: String,
    reason: &'static str,
    received_at: String,
    remote_addr: Option<String>,
    body_sha256: String,
    body_size: u64,
    header_names: Vec<String>,
}

/// Refused webhook requests (the quarantine), newest first.
#[utoipa::path(get, path = "/rejections", tag = "dashboard", params(ListParams),
    security(("bearer" = ["rejections:read"])),
    responses((status = 200, body = RejectionList),
        (status = 400, description = "Bad query or cursor", body = ErrorBody), (status = 401, description = "Missing or invalid token", body = ErrorBody), (status = 403, description = "The token lacks the scope or the source", body = ErrorBody), (status = 503, description = "Database unavailable or overloaded; see Retry-After", body = ErrorBody)))]
pub async fn list(
    Authorized(caller, _): Authorized<RejectionsRead>,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<RejectionList>, ApiError> {
    let reason = params
        .reason
        .as_deref()
        .map(RejectionReason::parse)
        .transpose()
        .map_err(|err| ApiError::InvalidQuery(err.to_string()))?;
    let limit = page_size(params.limit)?;
    let after = cursor(params.cursor.as_deref())
        .map(decode_uuid_cursor)
        .transpose()?;
    let sources = source_scope(&caller, params.source)?;
    let filter = RejectionFilter {
        source: sources.one,
        only_sources: sources.only,
        reason,
    };
    tracing::debug!(caller = ?caller.subject, ?filter, "listing rejections");
    let page = state.rejections.page(&filter, after, limit).await?;
    Ok(Json(RejectionList {
        items: page.rejections.into_iter().map(view).collect(),
        next_cursor: page.next.map(encode_uuid_cursor),
    }))
}

fn view(rejection: Rejection) -> RejectionView {
    RejectionView {
        id: rejection.id.to_string(),
        source: rejection.source,
        reason: rejection.reason.as_str(),
        received_at: timestamp(rejection.received_at),
        remote_addr: rejection.remote_addr,
        body_sha256: rejection.body_sha256.to_hex(),
        body_size: rejection.body_size,
        header_names: rejection.header_names,
    }
}
