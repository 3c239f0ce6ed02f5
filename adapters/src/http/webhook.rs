//! `POST /webhook` (the source `default`) and `POST /webhooks/{source}`.

use std::{convert::Infallible, net::SocketAddr};

use application::receive::{Delivery, EdgeRefusal};
use axum::{
    Json,
    body::Body,
    extract::{ConnectInfo, FromRequestParts, Path, State},
    http::{HeaderMap, StatusCode, request::Parts},
    response::{IntoResponse, Response},
};
use domain::Headers;
use serde::Serialize;

use super::{
    AppState,
    error::{ApiError, ErrorBody},
    intake::read_body,
};
use crate::observability::Received;
use application::Receipt;
use serde_json::json;

/// The source the seed's `POST /webhook` route receives for.
pub const DEFAULT_SOURCE: &str = "default";

/// Request headers as the domain reads them.
pub(super) struct HttpHeaders<'a>(pub &'a HeaderMap);

impl Headers for HttpHeaders<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|value| value.to_str().ok())
    }

    fn names(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// The peer's address when the server was started with connect info
/// (`into_make_service_with_connect_info`), else `None`: never a rejection.
pub struct PeerAddr(Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr);
        Ok(Self(addr))
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ReceiptBody<'a> {
    status: &'static str,
    id: String,
    event_id: &'a str,
}

/// A webhook for the source `default`.
#[utoipa::path(post, path = "/webhook", tag = "intake",
    request_body(content = String, content_type = "application/json",
        description = "The sender's raw bytes; the signature is checked over them exactly"),
    responses((status = 202, description = "Accepted: stored and queued", body = ReceiptBody),
        (status = 200, description = "Duplicate: already stored, not processed again; or, for a Slack source, the answer to a signed `url_verification` handshake (`{\"challenge\"}`)", body = ReceiptBody),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid signature, or too many signatures offered", body = ErrorBody),
        (status = 404, description = "Unknown source", body = ErrorBody),
        (status = 408, description = "Request timeout", body = ErrorBody),
        (status = 413, description = "Body over the source's limit", body = ErrorBody),
        (status = 415, description = "Non-JSON Content-Type for a JSON source", body = ErrorBody),
        (status = 422, description = "No usable event id", body = ErrorBody),
        (status = 503, description = "Database unavailable, too many requests or body bytes in flight; see Retry-After", body = ErrorBody)))]
pub async fn receive_default(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    receive(&state, DEFAULT_SOURCE, peer, &headers, body)
        .await
        .inspect_err(|err| state.intake_metrics.rejected(DEFAULT_SOURCE, err.code()))
}

/// A webhook for a configured source.
#[utoipa::path(post, path = "/webhooks/{source}", tag = "intake",
    params(("source" = String, Path, description = "A configured source's name")),
    request_body(content = String, content_type = "application/json",
        description = "The sender's raw bytes; the signature is checked over them exactly"),
    responses((status = 202, description = "Accepted: stored and queued", body = ReceiptBody),
        (status = 200, description = "Duplicate: already stored, not processed again; or, for a Slack source, the answer to a signed `url_verification` handshake (`{\"challenge\"}`)", body = ReceiptBody),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid signature, or too many signatures offered", body = ErrorBody),
        (status = 404, description = "Unknown source", body = ErrorBody),
        (status = 408, description = "Request timeout", body = ErrorBody),
        (status = 413, description = "Body over the source's limit", body = ErrorBody),
        (status = 415, description = "Non-JSON Content-Type for a JSON source", body = ErrorBody),
        (status = 422, description = "No usable event id", body = ErrorBody),
        (status = 503, description = "Database unavailable, too many requests or body bytes in flight; see Retry-After", body = ErrorBody)))]
pub async fn receive_for_source(
    State(state): State<AppState>,
    Path(source): Path<String>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    receive(&state, &source, peer, &headers, body)
        .await
        .inspect_err(|err| state.intake_metrics.rejected(&source, err.code()))
}

/// Records a webhook the HTTP edge refused before the receive use case
/// ran (which records its own refusals), e.g. 413, 415, 408, 503.
pub(super) fn record_edge_refusal(
    state: &AppState,
    source: &str,
    peer: Option<SocketAddr>,
    headers: &dyn domain::Headers,
    err: &ApiError,
) {
    if let Some(reason) = err.edge_rejection_reason() {
        state.receive.record_refusal(&EdgeRefusal {
            source,
            reason,
            headers,
            remote_addr: peer,
        });
    }
}

/// The source a webhook path names: `/webhook` is `default`.
pub(super) fn source_of_path(path: &str) -> Option<&str> {
    if path == "/webhook" {
        return Some(DEFAULT_SOURCE);
    }
    path.strip_prefix("/webhooks/")
        .filter(|name| !name.is_empty() && !name.contains('/'))
}

async fn receive(
    state: &AppState,
    source: &str,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Held until the answer: these bytes count against the budget until then.
    let (body, _reservation) = match read_body(
        state.intake.for_source(source),
        &state.body_budget,
        headers,
        body,
    )
    .await
    {
        Ok(read) => read,
        Err(err) => {
            record_edge_refusal(state, source, peer, &HttpHeaders(headers), &err);
            return Err(err);
        }
    };
    let receipt = state
        .receive
        .execute(Delivery {
            source,
            headers: &HttpHeaders(headers),
            body,
            remote_addr: peer,
        })
        .await?;
    let (status, label, key, event_id) = match &receipt {
        Receipt::Accepted {
            key,
            event_id,
            secret_label,
        } => {
            state
                .intake_metrics
                .secret_used(source, secret_label.as_deref());
            state.intake_metrics.received(source, Received::Accepted);
            (StatusCode::ACCEPTED, "accepted", key, event_id)
        }
        Receipt::Duplicate {
            key,
            event_id,
            conflict,
            secret_label,
        } => {
            state
                .intake_metrics
                .secret_used(source, secret_label.as_deref());
            let outcome = if *conflict {
                Received::Conflict
            } else {
                Received::Duplicate
            };
            state.intake_metrics.received(source, outcome);
            (StatusCode::OK, "duplicate", key, event_id)
        }
        // Slack's Events API handshake: echo the challenge, store nothing.
        Receipt::Challenge { challenge } => {
            return Ok((StatusCode::OK, Json(json!({ "challenge": challenge }))).into_response());
        }
    };
    let body = ReceiptBody {
        status: label,
        id: key.to_string(),
        event_id: event_id.as_str(),
    };
    Ok((status, Json(body)).into_response())
}
