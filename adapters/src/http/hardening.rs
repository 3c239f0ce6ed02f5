//! Load shedding and the request timeout, in one middleware around the API
//! routes (not the probes: an orchestrator must see a busy instance as alive).
//!
//! Shedding answers `503` + `Retry-After` at once when every slot is taken,
//! so overload shows up as fast refusals instead of growing latency. A shed
//! or timed-out webhook is recorded in the quarantine like any refusal.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderName,
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::Semaphore;

use super::{
    AppState,
    error::ApiError,
    webhook::{record_edge_refusal, source_of_path},
};

/// Shared by every request of one router.
pub struct Guard {
    slots: Semaphore,
    request_timeout: Duration,
    /// For recording refused webhooks.
    state: AppState,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl Guard {
    pub fn new(max_concurrent_requests: usize, request_timeout: Duration, state: AppState) -> Self {
        Self {
            slots: Semaphore::new(max_concurrent_requests),
            request_timeout,
            state,
        }
    }
}

/// What a refusal record keeps of a request: its source, peer and header
/// names (never values).
struct Seen {
    source: String,
    peer: Option<SocketAddr>,
    header_names: Vec<HeaderName>,
}

impl domain::Headers for Seen {
    fn get(&self, _: &str) -> Option<&str> {
        None
    }

    fn names(&self) -> Vec<&str> {
        self.header_names.iter().map(HeaderName::as_str).collect()
    }
}

impl Seen {
    /// `None` for requests that are not webhooks.
    fn of(request: &Request) -> Option<Self> {
        let source = source_of_path(request.uri().path())?;
        Some(Self {
            source: source.to_owned(),
            peer: request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr),
            header_names: request.headers().keys().cloned().collect(),
        })
    }

    fn refused(&self, guard: &Guard, err: ApiError) -> Response {
        record_edge_refusal(&guard.state, &self.source, self.peer, self, &err);
        err.into_response()
    }
}

pub async fn guard(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let Ok(_slot) = guard.slots.try_acquire() else {
        return match Seen::of(&request) {
            Some(seen) => seen.refused(&guard, ApiError::Overloaded),
            None => ApiError::Overloaded.into_response(),
        };
    };
    // Only webhooks are recorded, so only they pay for remembering the request.
    let seen = Seen::of(&request);
    match tokio::time::timeout(guard.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => match seen {
            Some(seen) => seen.refused(&guard, ApiError::Timeout),
            None => ApiError::Timeout.into_response(),
        },
    }
}

/// A panicking handler still answers in the one error shape.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
}
