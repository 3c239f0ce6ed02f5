//! The HTTP API (axum): webhook intake, the dashboard, health probes.

mod auth;
mod error;
mod events;
mod health;
mod rejections;
mod replay;
mod sources;
mod webhook;

use std::sync::Arc;

use application::{
    ListEvents, ListRejections, ReceiveWebhook, ReplayEvents, SourceOverview,
    ports::{EventStore, TokenVerifier},
};
use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::StatusCode,
    routing::{get, post},
};
use tower_http::trace::TraceLayer;

pub use self::{error::ApiError, webhook::DEFAULT_SOURCE};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub receive: Arc<ReceiveWebhook>,
    pub events: Arc<ListEvents>,
    pub replay: Arc<ReplayEvents>,
    pub tokens: Arc<dyn TokenVerifier>,
    /// For readiness only.
    pub store: Arc<dyn EventStore>,
    pub rejections: Arc<ListRejections>,
    pub sources: Arc<SourceOverview>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Limits of the HTTP edge.
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
        }
    }
}

pub fn router(state: AppState, settings: HttpSettings) -> Router {
    Router::new()
        .route("/webhook", post(webhook::receive_default))
        .route("/webhooks/{source}", post(webhook::receive_for_source))
        .route("/events", get(events::list))
        .route("/events/{id}", get(events::show))
        .route("/events/{id}/replay", post(replay::one))
        .route("/events/replay", post(replay::matching))
        .route("/rejections", get(rejections::list))
        .route("/sources", get(sources::list))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::Rejected {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        detail: "this route does not accept this method".to_owned(),
    }
}
