//! The HTTP API (axum): webhook intake, the dashboard API and page, health probes.

mod auth;
mod destinations;
mod error;
mod events;
mod extract;
mod hardening;
mod health;
mod intake;
mod metrics;
mod openapi;
mod rejections;
mod replay;
mod request_id;
mod sources;
mod stats;
mod ui;
mod webhook;

use std::{sync::Arc, time::Duration};

use application::{
    Destinations, EventStatistics, ListEvents, ListRejections, ReceiveWebhook, ReplayEvents,
    SourceOverview,
    ports::{EventStore, TokenVerifier},
};
use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
};
use tower::ServiceBuilder;
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

pub use self::{
    error::ApiError,
    intake::{BodyBudget, IntakeLimits, SourceIntake},
    metrics::MetricsEndpoint,
    ui::CONTENT_SECURITY_POLICY,
    webhook::DEFAULT_SOURCE,
};

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
    pub stats: Arc<EventStatistics>,
    pub metrics: Arc<MetricsEndpoint>,
    pub intake_metrics: Arc<crate::observability::IntakeMetrics>,
    /// Body limits and content types of the webhook routes, per source.
    pub intake: Arc<IntakeLimits>,
    /// Bytes of webhook bodies held at once before verification.
    pub body_budget: Arc<BodyBudget>,
    /// Delivery limits and circuit breakers, shared with the workers.
    pub destinations: Arc<Destinations>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Limits of the HTTP edge (the webhook routes' body limits are in [`IntakeLimits`]).
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    /// For JSON bodies of the dashboard API.
    pub max_body_bytes: usize,
    /// From the end of the headers to the response; then 408.
    pub request_timeout: Duration,
    /// Requests in flight beyond this get 503 + `Retry-After` at once.
    pub max_concurrent_requests: usize,
    /// Serve the dashboard page under `/ui/` (and redirect `/` there).
    pub ui: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 4096,
            ui: true,
        }
    }
}

/// Every route as (method, path template): the metrics' `route` label and
/// the OpenAPI coverage test read it. `router` must register exactly these.
pub const ROUTES: [(&str, &str); 14] = [
    ("POST", "/webhook"),
    ("POST", "/webhooks/{source}"),
    ("GET", "/events"),
    ("GET", "/events/{id}"),
    ("POST", "/events/{id}/replay"),
    ("POST", "/events/replay"),
    ("GET", "/rejections"),
    ("GET", "/sources"),
    ("GET", "/destinations"),
    ("GET", "/stats"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
];

pub fn router(state: AppState, settings: HttpSettings) -> Router {
    let api = Router::new()
        .route("/webhook", post(webhook::receive_default))
        .route("/webhooks/{source}", post(webhook::receive_for_source))
        .route("/events", get(events::list))
        .route("/events/{id}", get(events::show))
        .route("/events/{id}/replay", post(replay::one))
        .route("/events/replay", post(replay::matching))
        .route("/rejections", get(rejections::list))
        .route("/sources", get(sources::list))
        .route("/destinations", get(destinations::list))
        .route("/stats", get(stats::show));
    // The page is not part of the API (not in `ROUTES`, not in the OpenAPI
    // document), but goes through the same limits, metrics and tracing.
    let routes = if settings.ui {
        api.merge(ui::router())
    } else {
        api
    };
    // Each stack is applied as one layer: `Router::layer` boxes what it
    // wraps, and a boxed stack is cloned whole for every request, so layers
    // added one by one cost a clone per layer below each of them.
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn_with_state(
                    Arc::new(hardening::Guard::new(
                        settings.max_concurrent_requests,
                        settings.request_timeout,
                        state.clone(),
                    )),
                    hardening::guard,
                ))
                .layer(DefaultBodyLimit::max(settings.max_body_bytes)),
        )
        // Added after the guard, so probes are never shed.
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .route("/openapi.json", get(openapi::document))
        .layer(
            ServiceBuilder::new()
                // Outermost: the id exists before the span is made and is echoed back.
                .layer(middleware::from_fn_with_state(
                    request_id::SequentialRequestId::new(),
                    request_id::assign,
                ))
                .layer(TraceLayer::new_for_http().make_span_with(request_id::span))
                .layer(CatchPanicLayer::custom(hardening::panic_response))
                .layer(middleware::from_fn(metrics::observe)),
        )
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
