//! Liveness and readiness probes.

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use super::{
    AppState,
    error::{ApiError, ErrorBody},
};

/// `GET /healthz`: 200 while the process serves requests.
#[utoipa::path(get, path = "/healthz", tag = "probes", responses((status = 200, body = Object)))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 when the database answers, else 503.
#[utoipa::path(get, path = "/readyz", tag = "probes",
    responses((status = 200, body = Object), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<(StatusCode, Json<Value>), ApiError> {
    state.store.ping().await?;
    Ok((StatusCode::OK, Json(json!({ "status": "ready" }))))
}
