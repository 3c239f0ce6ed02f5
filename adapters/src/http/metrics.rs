//! `GET /metrics` (Prometheus text format, optionally behind a bearer token)
//! and the middleware that times every request by route and status.

use std::time::Instant;

use application::ports::AuthError;
use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::PrometheusHandle;

use super::{
    AppState, ROUTES,
    auth::bearer_token,
    error::{ApiError, ErrorBody},
};
use crate::observability;

/// What `GET /metrics` serves, and who may read it.
#[derive(Clone)]
pub struct MetricsEndpoint {
    pub handle: PrometheusHandle,
    /// When set, scrapers must send `Authorization: Bearer <token>`.
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsEndpoint")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// Prometheus text; a bearer token when `metrics.token` is configured.
#[utoipa::path(get, path = "/metrics", tag = "probes",
    security((), ("metrics_token" = [])),
    responses((status = 200, content_type = "text/plain", body = String),
        (status = 401, description = "Missing or wrong metrics token", body = ErrorBody)))]
pub async fn render(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(expected) = &state.metrics.token {
        let sent = bearer_token(&headers)?;
        if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
            return Err(AuthError::Invalid("wrong metrics token".into()).into());
        }
    }
    super::destinations::publish_metrics(&state.destinations);
    let body = state.metrics.handle.render();
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Times the request; labels are static strings, so recording allocates nothing.
pub async fn observe(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| route_label(path.as_str()));
    let started = Instant::now();
    let response = next.run(request).await;
    observability::http_request(route, status_label(response.status()), started.elapsed());
    response
}

fn route_label(path: &str) -> &'static str {
    ROUTES
        .iter()
        .chain(&super::ui::ROUTES)
        .find(|(_, route)| *route == path)
        .map_or("unmatched", |(_, route)| route)
}

fn status_label(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200 => "200",
        202 => "202",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        409 => "409",
        413 => "413",
        415 => "415",
        422 => "422",
        500 => "500",
        503 => "503",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_route_templates_and_known_statuses() {
        assert_eq!(route_label("/events/{id}"), "/events/{id}");
        assert_eq!(route_label("/nope"), "unmatched");
        assert_eq!(route_label("/ui/events/{id}"), "/ui/events/{id}");
        assert_eq!(status_label(StatusCode::PAYLOAD_TOO_LARGE), "413");
        assert_eq!(status_label(StatusCode::IM_A_TEAPOT), "other");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
